//! Fingerprint matcher: self-match, symmetry, explanation, stored form, and invariance to
//! rotation and translation (proptest).

use biometrics::finger::{compare, explain, prepare, FingerTemplate};
use biometrics::iso19794::{self, FingerView};
use biometrics::TemplateError;
use proptest::prelude::*;

fn view(name: &str) -> (FingerView, u16, u16) {
    let bytes = std::fs::read(format!("/work/shared/data/fvc2002/{name}.iso")).unwrap();
    let rec = iso19794::parse(&bytes).unwrap();
    (rec.views[0].clone(), rec.res_x, rec.res_y)
}

fn template(name: &str) -> FingerTemplate {
    let (v, rx, ry) = view(name);
    prepare(&v, rx, ry)
}

#[test]
fn self_match_is_top_and_symmetric() {
    let a = template("DB1_B/101_1");
    let b = template("DB1_B/101_2");
    let c = template("DB1_B/102_1");
    let self_score = compare(&a, &a);
    assert!(self_score > 0.5, "{self_score}");
    assert!(compare(&a, &b) < self_score && compare(&a, &c) < compare(&a, &b));
    assert_eq!(compare(&a, &b), compare(&b, &a));
    assert_eq!(compare(&a, &c), compare(&c, &a));
    for s in [compare(&a, &b), compare(&a, &c), self_score] {
        assert!((0.0..=1.0).contains(&s));
    }
}

#[test]
fn explanation_matches_score() {
    let a = template("DB1_B/101_1");
    let b = template("DB1_B/101_3");
    let e = explain(&a, &b);
    assert_eq!(e.score, compare(&a, &b));
    assert!(e.pairs.len() >= 5);
    let sum: f32 = e.pairs.iter().map(|p| p.contribution).sum();
    assert!((sum - e.score).abs() < 1e-4, "{sum} vs {}", e.score);
    let mut seen_a: Vec<usize> = e.pairs.iter().map(|p| p.a).collect();
    seen_a.sort();
    seen_a.dedup();
    assert_eq!(seen_a.len(), e.pairs.len(), "one-to-one pairing");
    // Swapped order gives the mirrored pairing.
    let back = explain(&b, &a);
    assert_eq!(back.score, e.score);
    assert!(back
        .pairs
        .iter()
        .all(|p| e.pairs.iter().any(|q| q.a == p.b && q.b == p.a)));
}

#[test]
fn stored_form_round_trips() {
    let a = template("DB2_B/105_4");
    let bytes = a.to_bytes();
    let back = FingerTemplate::from_bytes(&bytes).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.to_bytes(), bytes);
    for cut in [0, 3, 5, bytes.len() - 1] {
        assert!(FingerTemplate::from_bytes(&bytes[..cut]).is_err());
    }
    assert!(matches!(
        FingerTemplate::from_bytes(b"XYZ\x01\0\0"),
        Err(TemplateError::BadMagic { .. })
    ));
    assert!(matches!(
        FingerTemplate::from_bytes(b"TFT\x09\0\0"),
        Err(TemplateError::UnsupportedVersion { .. })
    ));
    let mut bad = bytes.clone();
    bad[12] = 3;
    assert!(matches!(
        FingerTemplate::from_bytes(&bad),
        Err(TemplateError::InvalidField { .. })
    ));
}

#[test]
fn empty_template_matches_nothing() {
    let (mut v, rx, ry) = view("DB1_B/101_1");
    v.minutiae.clear();
    let e = prepare(&v, rx, ry);
    assert_eq!(compare(&e, &template("DB1_B/101_1")), 0.0);
    assert_eq!(compare(&e, &e), 0.0);
}

/// Rotates and translates every minutia of a view about the image centre (ISO angles turn
/// counter-clockwise with y down, hence the sign).
fn moved(v: &FingerView, deg: f32, dx: f32, dy: f32) -> FingerView {
    let (s, c) = deg.to_radians().sin_cos();
    let mut out = v.clone();
    for m in &mut out.minutiae {
        let (x, y) = (m.x as f32 - 150.0, -(m.y as f32 - 200.0));
        let (rx, ry) = (c * x - s * y, s * x + c * y);
        m.x = (rx + 1000.0 + dx).round() as u16;
        m.y = (-ry + 1000.0 + dy).round() as u16;
        m.angle = (m.angle as f32 + deg * 256.0 / 360.0)
            .round()
            .rem_euclid(256.0) as u8;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rigid_motion_keeps_scores(deg in -60f32..60.0, dx in -300f32..300.0, dy in -300f32..300.0) {
        let (a, rx, ry) = view("DB1_B/103_1");
        let (b, _, _) = view("DB1_B/103_2");
        let ta = prepare(&a, rx, ry);
        let tm = prepare(&moved(&a, deg, dx, dy), rx, ry);
        let self_score = compare(&ta, &ta);
        let moved_self = compare(&ta, &tm);
        prop_assert!(moved_self > 0.8 * self_score, "{moved_self} vs {self_score}");
        let genuine = compare(&ta, &prepare(&b, rx, ry));
        let moved_genuine = compare(&tm, &prepare(&b, rx, ry));
        prop_assert!((moved_genuine - genuine).abs() < 0.35 * genuine + 0.02, "{moved_genuine} vs {genuine}");
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = iso19794::parse(&bytes);
        let _ = FingerTemplate::from_bytes(&bytes);
        let _ = biometrics::iris::IrisCode::from_bytes(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_records(pos in 0usize..180, val in any::<u8>(), cut in 0usize..200) {
        let mut bytes = std::fs::read("/work/shared/data/fvc2002/DB1_B/101_1.iso").unwrap();
        let p = pos % bytes.len();
        bytes[p] = val;
        bytes.truncate(cut.max(1));
        let _ = iso19794::parse(&bytes);
    }
}
