//! ISO/IEC 19794-2:2005 reader/writer against the real FVC2002 templates, the truncated
//! records and the one-sample-per-format oracle in /work/shared/data.

use biometrics::iso19794::{parse, MinutiaKind};
use biometrics::TemplateError;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    std::env::var_os("TUNGGAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data"))
}

fn iso_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .collect();
    files.sort();
    files
}

#[test]
fn parses_and_round_trips_all_fvc2002_records() {
    let mut n = 0;
    for db in ["DB1_B", "DB2_B", "DB3_B", "DB4_B"] {
        for path in iso_files(&data().join("fvc2002").join(db)) {
            let bytes = std::fs::read(&path).unwrap();
            let rec = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(rec.views.len(), 1);
            assert_eq!((rec.res_x, rec.res_y), (197, 197));
            let m = rec.views[0].minutiae.len();
            assert!((6..=81).contains(&m), "{}: {m} minutiae", path.display());
            assert_eq!(rec.to_bytes(), bytes, "{}", path.display());
            n += 1;
        }
    }
    assert_eq!(n, 320);
}

#[test]
fn rejects_truncated_records() {
    for name in [
        "101_1_truncate_1_byte.iso",
        "101_1_truncate_2_bytes.iso",
        "101_1_truncate_3_bytes.iso",
    ] {
        let bytes = std::fs::read(data().join("fvc-invalid").join(name)).unwrap();
        let err = parse(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                TemplateError::Truncated { .. } | TemplateError::LengthMismatch { .. }
            ),
            "{name}: {err}"
        );
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn iso2005_sample_matches_oracle() {
    let dir = data().join("template-formats").join("iso19794p2v2005");
    let bytes = std::fs::read(dir.join("iso19794p2v2005-sample.dat")).unwrap();
    let json = std::fs::read_to_string(dir.join("iso19794p2v2005-sample.json")).unwrap();
    let rec = parse(&bytes).unwrap();
    assert_eq!(rec.capture_equipment & 0x0FFF, 181);
    assert_eq!(rec.capture_equipment >> 12, 0, "sensorCertified false");
    assert_eq!(
        (rec.width, rec.height, rec.res_x, rec.res_y),
        (512, 512, 197, 197)
    );
    assert_eq!(rec.views.len(), 2);
    let v0 = &rec.views[0];
    assert_eq!(
        (v0.position, v0.view_number, v0.impression_type, v0.quality),
        (7, 0, 0, 90)
    );
    assert_eq!(v0.minutiae.len(), 27);
    let v1 = &rec.views[1];
    assert_eq!((v1.position, v1.quality), (2, 70));
    assert_eq!(v1.minutiae.len(), 22);
    // Extension area: type 545 (0x0221), data length 6, data base64 "AUS8NiFD".
    assert_eq!(
        v1.extended,
        vec![0x02, 0x21, 0x00, 0x06, 0x01, 0x44, 0xBC, 0x36, 0x21, 0x43]
    );
    // Every minutia against the JSON oracle (a tiny field scanner, no JSON crate needed).
    let oracle = oracle_minutiae(&json);
    let ours: Vec<_> = rec.views.iter().flat_map(|v| v.minutiae.iter()).collect();
    assert_eq!(oracle.len(), ours.len(), "{:?}", &oracle[..3]);
    for (o, m) in oracle.iter().zip(ours) {
        let kind = match o.0.as_str() {
            "ENDING" => MinutiaKind::RidgeEnding,
            "BIFURCATION" => MinutiaKind::Bifurcation,
            _ => MinutiaKind::Other,
        };
        assert_eq!(
            (kind, m.x, m.y, m.angle, m.quality),
            (kind, o.1, o.2, o.3, o.4)
        );
        assert_eq!(m.kind, kind);
    }
    assert_eq!(rec.to_bytes(), bytes);
}

/// (type, x, y, angle, quality) of every minutia in the oracle JSON, in order.
fn oracle_minutiae(json: &str) -> Vec<(String, u16, u16, u8, u8)> {
    let field = |s: &str, key: &str| -> String {
        let i = s.find(&format!("\"{key}\"")).unwrap();
        let rest = &s[i + key.len() + 2..];
        let rest = rest[rest.find(':').unwrap() + 1..].trim_start();
        rest.chars()
            .take_while(|c| *c != ',' && *c != '}' && *c != '\n')
            .collect::<String>()
            .trim()
            .trim_matches('"')
            .to_string()
    };
    json.split("\"type\"")
        .skip(1)
        .filter_map(|chunk| {
            let chunk = format!("\"type\"{chunk}");
            if !chunk.contains("\"positionX\"") {
                return None;
            }
            Some((
                field(&chunk, "type"),
                field(&chunk, "positionX").parse().ok()?,
                field(&chunk, "positionY").parse().ok()?,
                field(&chunk, "angle").parse().ok()?,
                field(&chunk, "quality").parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn other_formats_are_refused_by_name() {
    for (dir, file, expect) in [
        (
            "ansi378v2004",
            "ansi378v2004-sample.dat",
            "ANSI INCITS 378-2004",
        ),
        ("ansi378v2009", "ansi378v2009-sample.dat", "378-2009"),
        ("ansi378v2009am1", "ansi378v2009am1-sample.dat", "AM1"),
        (
            "iso19794p2v2011",
            "iso19794p2v2011-sample.dat",
            "19794-2:2011",
        ),
    ] {
        let bytes = std::fs::read(data().join("template-formats").join(dir).join(file)).unwrap();
        let err = parse(&bytes).unwrap_err();
        assert!(
            matches!(err, TemplateError::UnsupportedVersion { .. }),
            "{dir}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("unsupported format/version") && msg.contains(expect),
            "{msg}"
        );
    }
}

#[test]
fn rejects_bad_magic_and_garbage() {
    assert!(matches!(parse(b""), Err(TemplateError::BadMagic { .. })));
    assert!(matches!(
        parse(b"IRC\0 20\0"),
        Err(TemplateError::BadMagic { .. })
    ));
    assert!(matches!(
        parse(b"FMR\0 20\0\0\0"),
        Err(TemplateError::Truncated { offset: 8, .. })
    ));
}

#[test]
fn rejects_minutia_outside_image() {
    let bytes = std::fs::read(data().join("fvc2002/DB1_B/101_1.iso")).unwrap();
    let mut rec = parse(&bytes).unwrap();
    rec.views[0].minutiae[3].x = rec.width;
    let err = parse(&rec.to_bytes()).unwrap_err();
    assert!(
        matches!(err, TemplateError::CoordinateOutsideImage { index: 3, .. }),
        "{err}"
    );
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = std::fs::read(data().join("fvc2002/DB1_B/101_1.iso")).unwrap();
    bytes.push(0);
    assert!(matches!(
        parse(&bytes),
        Err(TemplateError::LengthMismatch { .. })
    ));
}
