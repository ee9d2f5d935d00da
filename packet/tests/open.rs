//! Round trip and every reason code that the packet bytes alone can trigger.

use biometrics::iris::{Eye as IrisEye, IrisCode};
use biometrics::iso19794::{FingerRecord, FingerView, Minutia, MinutiaKind};
use chrono::{DateTime, NaiveDate};
use ed25519_dalek::{Signer, SigningKey};
use packet::{
    members, open, zip_members, Biodata, Devices, Eye, Limits, Member, MissingReason,
    PacketBuilder, PacketHeader, ReasonCode, Stage,
};
use reference::{BloodType, Citizenship, KkNumber, MaritalStatus, Nik, Religion, Sex};
use std::collections::BTreeSet;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn fmr(position: u8) -> Vec<u8> {
    FingerRecord {
        capture_equipment: 0,
        width: 400,
        height: 500,
        res_x: 197,
        res_y: 197,
        views: vec![FingerView {
            position,
            view_number: 0,
            impression_type: 0,
            quality: 80,
            minutiae: (0..30)
                .map(|i| Minutia {
                    kind: if i % 2 == 0 {
                        MinutiaKind::RidgeEnding
                    } else {
                        MinutiaKind::Bifurcation
                    },
                    x: 20 + i * 11,
                    y: 30 + i * 13,
                    angle: (i * 7) as u8,
                    quality: 60,
                })
                .collect(),
            extended: vec![],
        }],
    }
    .to_bytes()
}

fn irc(eye: Eye) -> Vec<u8> {
    IrisCode {
        eye: match eye {
            Eye::Right => IrisEye::Right,
            Eye::Left => IrisEye::Left,
        },
        quality: 90,
        code: std::array::from_fn(|i| 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)),
        mask: [u64::MAX; 32],
    }
    .to_bytes()
}

fn biodata() -> Biodata {
    let birth = NaiveDate::from_ymd_opt(1988, 7, 9).unwrap();
    Biodata {
        nik: Nik::new("32.73.05", birth, Sex::Male, 41).unwrap(),
        kk_number: KkNumber::new("32.73.05", NaiveDate::from_ymd_opt(2014, 2, 3).unwrap(), 9)
            .unwrap(),
        name: "Asep Sunandar".into(),
        birth_place: "Kota Bandung".into(),
        birth_date: birth,
        sex: Sex::Male,
        blood_type: BloodType::B,
        address: "Jl. Cihampelas No. 10".into(),
        rt: 1,
        rw: 4,
        village_code: "32.73.05.1001".into(),
        district_code: "32.73.05".into(),
        regency_code: "32.73".into(),
        province_code: "32".into(),
        religion: Religion::Islam,
        marital_status: MaritalStatus::Kawin,
        occupation: "KARYAWAN SWASTA".into(),
        citizenship: Citizenship::Wni,
    }
}

fn builder() -> PacketBuilder {
    let header = PacketHeader {
        packet_id: "5f0c6f7e-1b7a-5d7e-9a43-0d1f2e3c4b5a".into(),
        site: "32.73.05".into(),
        station_id: "327305-abc123-01".into(),
        operator_nik: Nik::parse("3273051201800001").unwrap(),
        capture_started_at: DateTime::parse_from_rfc3339("2026-11-02T09:15:00+07:00").unwrap(),
        capture_ended_at: DateTime::parse_from_rfc3339("2026-11-02T09:22:30+07:00").unwrap(),
        devices: Devices {
            finger_scanner: "FS-1".into(),
            iris_camera: "IC-1".into(),
            camera: "CAM-1".into(),
            signature_pad: "SP-1".into(),
        },
    };
    let mut b = PacketBuilder::new(header, biodata())
        .photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
        .signature_image(b"\x89PNG\r\n\x1a\nrest".to_vec());
    for p in 1..=10 {
        b = b.finger(p, fmr(p));
    }
    b.iris(Eye::Right, irc(Eye::Right))
        .iris(Eye::Left, irc(Eye::Left))
}

fn good_members() -> Vec<Member> {
    builder().build_members(&key()).unwrap()
}

/// Replaces a member's bytes (hash left stale).
fn replace(mut ms: Vec<Member>, name: &str, bytes: Vec<u8>) -> Vec<Member> {
    ms.iter_mut().find(|m| m.name == name).unwrap().bytes = bytes;
    ms
}

/// Replaces a content member and fixes its manifest hash and the signature.
fn replace_and_rehash(ms: Vec<Member>, name: &str, bytes: Vec<u8>) -> Vec<Member> {
    let hash = packet::sha256_hex(&bytes);
    let ms = replace(ms, name, bytes);
    edit_manifest(ms, |v| v["members"][name] = hash.into())
}

/// Edits the manifest JSON and re-signs it.
fn edit_manifest(ms: Vec<Member>, f: impl FnOnce(&mut serde_json::Value)) -> Vec<Member> {
    let mut v: serde_json::Value = serde_json::from_slice(&ms[0].bytes).unwrap();
    f(&mut v);
    let bytes = serde_json::to_vec(&v).unwrap();
    let sig = key().sign(&bytes).to_bytes().to_vec();
    let ms = replace(ms, members::MANIFEST, bytes);
    replace(ms, members::MANIFEST_SIG, sig)
}

fn without(ms: Vec<Member>, name: &str) -> Vec<Member> {
    ms.into_iter().filter(|m| m.name != name).collect()
}

fn with(mut ms: Vec<Member>, name: &str, bytes: Vec<u8>) -> Vec<Member> {
    ms.push(Member::new(name, bytes));
    ms
}

/// Replaces every occurrence of a same-length name in zip bytes (headers only; CRCs cover
/// content, so the archive stays readable).
fn rename_in_place(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
    bytes
}

fn code_of(ms: &[Member]) -> ReasonCode {
    code_of_bytes(&zip_members(ms).unwrap())
}

fn code_of_bytes(bytes: &[u8]) -> ReasonCode {
    match open(bytes, &Limits::default()) {
        Ok(_) => panic!("packet unexpectedly accepted"),
        Err(r) => r.code,
    }
}

#[test]
fn a_built_packet_opens_and_verifies() {
    let bytes = builder().build(&key()).unwrap();
    let p = open(&bytes, &Limits::default()).unwrap();
    assert_eq!(p.biodata, biodata());
    assert_eq!(p.fingers.len(), 10);
    assert_eq!(p.irises.len(), 2);
    assert_eq!(p.fingers[&3].record.views[0].position, 3);
    p.verify_signature(&key().verifying_key()).unwrap();
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert_eq!(
        p.verify_signature(&other).unwrap_err().code,
        ReasonCode::BadSignature
    );
    assert_eq!(builder().build(&key()).unwrap(), bytes, "deterministic");
}

#[test]
fn declared_missing_fingers_and_eyes_are_accepted() {
    let mut b = builder();
    // Rebuild without finger 2 and the left eye.
    b = b.missing_finger(2, MissingReason::Amputated);
    assert!(b.build(&key()).is_err(), "finger both present and missing");
    let ms = good_members();
    let ms = without(without(ms, "finger/2.fmr"), "iris/left.irc");
    let ms = edit_manifest(ms, |v| {
        v["members"].as_object_mut().unwrap().remove("finger/2.fmr");
        v["members"]
            .as_object_mut()
            .unwrap()
            .remove("iris/left.irc");
        v["missing_fingers"] = serde_json::json!([{"position": 2, "reason": "amputated"}]);
        v["missing_eyes"] = serde_json::json!([{"eye": "left", "reason": "unusable"}]);
    });
    let p = open(&zip_members(&ms).unwrap(), &Limits::default()).unwrap();
    assert_eq!(p.manifest.finger_missing(2), Some(MissingReason::Amputated));
    assert_eq!(p.fingers.len(), 9);
    assert_eq!(p.irises.len(), 1);
}

/// One hostile packet per byte-level reason, and a check that the table covers them all.
#[test]
fn every_byte_level_reason_code_is_triggered() {
    let mut cases: Vec<(ReasonCode, ReasonCode)> = Vec::new();
    let mut check = |expected: ReasonCode, got: ReasonCode| cases.push((expected, got));
    let good = zip_members(&good_members()).unwrap();

    let small = Limits {
        max_packet_bytes: 100,
        ..Limits::default()
    };
    check(
        ReasonCode::PacketTooLarge,
        open(&good, &small).unwrap_err().code,
    );
    check(
        ReasonCode::CorruptZip,
        code_of_bytes(&good[..good.len() / 2]),
    );
    check(ReasonCode::CorruptZip, code_of_bytes(b"PK\x03\x04 garbage"));
    let mut flipped = good.clone();
    // Corrupt a byte inside the stored photo (CRC error) — find its content.
    let pos = flipped
        .windows(4)
        .position(|w| w == [0xFF, 0xD8, 0xFF, 0xE0])
        .unwrap();
    flipped[pos + 4] ^= 0xFF;
    check(ReasonCode::CorruptZip, code_of_bytes(&flipped));
    check(
        ReasonCode::UnsafePath,
        code_of(&with(good_members(), "../evil.sh", b"x".to_vec())),
    );
    check(
        ReasonCode::UnsafePath,
        code_of(&with(good_members(), "/etc/cron.d/x", b"x".to_vec())),
    );
    let bomb = Member {
        name: "photo.jpg".into(),
        bytes: vec![0u8; 5 * 1024 * 1024],
        deflate: true,
    };
    let mut ms = good_members();
    *ms.iter_mut().find(|m| m.name == "photo.jpg").unwrap() = bomb;
    let bomb_zip = zip_members(&ms).unwrap();
    assert!(bomb_zip.len() < 100_000, "compressed bomb stays small");
    check(ReasonCode::MemberTooLarge, code_of_bytes(&bomb_zip));
    let tight_total = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    check(
        ReasonCode::MemberTooLarge,
        open(&good, &tight_total).unwrap_err().code,
    );
    check(
        ReasonCode::MissingMember,
        code_of(&without(good_members(), members::MANIFEST)),
    );
    check(
        ReasonCode::MissingMember,
        code_of(&without(good_members(), "finger/4.fmr")),
    );
    let silently_absent = edit_manifest(without(good_members(), "finger/4.fmr"), |v| {
        v["members"].as_object_mut().unwrap().remove("finger/4.fmr");
    });
    check(ReasonCode::MissingMember, code_of(&silently_absent));
    check(
        ReasonCode::UnexpectedMember,
        code_of(&with(good_members(), "notes.txt", b"hi".to_vec())),
    );
    // A second `photo.jpg` entry: written under another name, then renamed in place.
    let twice = zip_members(&with(good_members(), "photo.jpX", vec![0xFF, 0xD8, 0xFF])).unwrap();
    let twice = rename_in_place(twice, b"photo.jpX", b"photo.jpg");
    check(ReasonCode::UnexpectedMember, code_of_bytes(&twice));
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"\0");
    check(ReasonCode::AmbiguousZip, code_of_bytes(&trailing));
    check(
        ReasonCode::BadManifest,
        code_of(&replace(good_members(), members::MANIFEST, b"{".to_vec())),
    );
    check(
        ReasonCode::BadManifest,
        code_of(&edit_manifest(good_members(), |v| {
            v["packet_id"] = "../../x".into()
        })),
    );
    check(
        ReasonCode::BadManifest,
        code_of(&edit_manifest(good_members(), |v| {
            v["operator_nik"] = "123".into()
        })),
    );
    check(
        ReasonCode::UnsupportedFormatVersion,
        code_of(&edit_manifest(good_members(), |v| {
            v["format_version"] = "2".into()
        })),
    );
    check(
        ReasonCode::HashMismatch,
        code_of(&replace(
            good_members(),
            "photo.jpg",
            vec![0xFF, 0xD8, 0xFF, 0xE1],
        )),
    );
    check(
        ReasonCode::MissingSignature,
        code_of(&without(good_members(), members::MANIFEST_SIG)),
    );
    check(
        ReasonCode::BadSignature,
        code_of(&replace(good_members(), members::MANIFEST_SIG, vec![1; 63])),
    );
    let truncated = fmr(5)[..40].to_vec();
    check(
        ReasonCode::MalformedTemplate,
        code_of(&replace_and_rehash(
            good_members(),
            "finger/5.fmr",
            truncated,
        )),
    );
    check(
        ReasonCode::MalformedTemplate,
        code_of(&replace_and_rehash(good_members(), "finger/5.fmr", fmr(6))),
    );
    check(
        ReasonCode::MalformedTemplate,
        code_of(&replace_and_rehash(
            good_members(),
            "iris/left.irc",
            irc(Eye::Right),
        )),
    );
    check(
        ReasonCode::MalformedImage,
        code_of(&replace_and_rehash(
            good_members(),
            "photo.jpg",
            b"GIF89a".to_vec(),
        )),
    );
    check(
        ReasonCode::MalformedImage,
        code_of(&replace_and_rehash(
            good_members(),
            "signature.png",
            vec![0xFF, 0xD8, 0xFF],
        )),
    );
    let mut bio: serde_json::Value = serde_json::to_value(biodata()).unwrap();
    bio["religion"] = "JEDI".into();
    check(
        ReasonCode::BadBiodata,
        code_of(&replace_and_rehash(
            good_members(),
            "biodata.json",
            serde_json::to_vec(&bio).unwrap(),
        )),
    );
    let mut bio: serde_json::Value = serde_json::to_value(biodata()).unwrap();
    bio["nik"] = "3273051307880041".into(); // month 07 ok, day 13 ok… make month invalid:
    bio["nik"] = "3273050913880041".into();
    check(
        ReasonCode::NikInvalid,
        code_of(&replace_and_rehash(
            good_members(),
            "biodata.json",
            serde_json::to_vec(&bio).unwrap(),
        )),
    );
    let mut b = biodata();
    b.sex = Sex::Female;
    check(
        ReasonCode::BiodataNikMismatch,
        code_of(&replace_and_rehash(
            good_members(),
            "biodata.json",
            serde_json::to_vec(&b).unwrap(),
        )),
    );

    for (expected, got) in &cases {
        assert_eq!(expected, got);
    }
    let covered: BTreeSet<ReasonCode> = cases.iter().map(|c| c.0).collect();
    for code in ReasonCode::ALL {
        if code.stage() == Stage::Bytes {
            assert!(covered.contains(code), "{code} has no test case");
        }
    }
}

#[test]
fn rejection_details_carry_no_personal_data() {
    let bio = biodata();
    let mut b = bio.clone();
    b.sex = Sex::Female;
    let ms = replace_and_rehash(
        good_members(),
        "biodata.json",
        serde_json::to_vec(&b).unwrap(),
    );
    let r = open(&zip_members(&ms).unwrap(), &Limits::default()).unwrap_err();
    assert!(!r.detail.contains(bio.nik.as_str()));
    assert!(!r.detail.contains(&bio.name));
    assert!(!r.detail.contains("1988"));
}

/// Random corruptions of a valid packet are rejected or accepted, never a panic.
#[test]
fn mutated_packets_never_panic() {
    let good = builder().build(&key()).unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut bytes = good.clone();
        let flips = 1 + next() % 8;
        for _ in 0..flips {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] = next() as u8;
        }
        if next() % 5 == 0 {
            let cut = (next() % bytes.len() as u64) as usize;
            bytes.truncate(cut);
        }
        let _ = open(&bytes, &Limits::default());
    }
}

/// Zip bytes of `ms` with a decoy `photo.jpg` entry *before* the real one: written as
/// `photo.jpX` and renamed in place, so both headers say `photo.jpg`.
fn with_hidden_decoy_photo() -> Vec<u8> {
    let mut ms = good_members();
    let real = ms.iter().position(|m| m.name == "photo.jpg").unwrap();
    ms.insert(
        real,
        Member::new("photo.jpX", vec![0xFF, 0xD8, 0xFF, 0xE0, 6, 6, 6]),
    );
    rename_in_place(zip_members(&ms).unwrap(), b"photo.jpX", b"photo.jpg")
}

/// The attack of issue 20: two `photo.jpg` entries, and a bogus EOCD appended after the real
/// one whose entry count (0xFFFF, "see zip64") hid the duplicate from the old count check. The
/// zip reader falls back to the real EOCD and keeps the last `photo.jpg` (the one the manifest
/// hashes), so the packet was accepted while other readers show the decoy.
#[test]
fn a_second_photo_hidden_by_a_bogus_trailing_eocd_is_rejected() {
    let mut bytes = with_hidden_decoy_photo();
    let mut fake = bytes[bytes.len() - 22..].to_vec();
    fake[8..12].copy_from_slice(&[0xFF; 4]);
    bytes.extend_from_slice(&fake);
    let r = open(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::AmbiguousZip, "{}", r.detail);

    // The same decoy hidden behind an archive comment that holds the bogus record.
    let mut bytes = with_hidden_decoy_photo();
    let at = bytes.len() - 22;
    bytes[at + 20..at + 22].copy_from_slice(&22u16.to_le_bytes());
    bytes.extend_from_slice(&fake);
    let r = open(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::AmbiguousZip, "{}", r.detail);

    // Without any hiding, the repeated name is named as such.
    let r = open(&with_hidden_decoy_photo(), &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::UnexpectedMember, "{}", r.detail);
}

#[test]
fn a_local_header_naming_another_member_or_a_zip64_record_is_rejected() {
    let good = zip_members(&good_members()).unwrap();
    // Rename `photo.jpg` in its local header only: the central directory still says photo.jpg.
    let at = (30..good.len() - 9)
        .find(|&i| &good[i..i + 9] == b"photo.jpg" && &good[i - 30..i - 26] == b"PK\x03\x04")
        .expect("the local header of photo.jpg");
    let mut renamed = good.clone();
    renamed[at + 8] = b'X';
    let r = open(&renamed, &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::AmbiguousZip, "{}", r.detail);

    // A zip64 locator and record inserted before the EOCD (central directory offsets kept).
    let eocd = good.len() - 22;
    let mut z64 = good[..eocd].to_vec();
    z64.extend_from_slice(b"PK\x06\x07");
    z64.extend_from_slice(&[0; 16]);
    z64.extend_from_slice(&good[eocd..]);
    let r = open(&z64, &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::AmbiguousZip, "{}", r.detail);
    assert!(r.detail.contains("zip64"), "{}", r.detail);
}

/// `serde_json` keeps the last of two equal keys: a manifest listing `photo.jpg` twice (a
/// decoy hash first, the real one last) was accepted although other JSON readers take the
/// decoy.
#[test]
fn a_manifest_repeating_a_key_is_rejected() {
    let ms = good_members();
    let text = String::from_utf8(ms[0].bytes.clone()).unwrap();
    let decoy = format!("\"photo.jpg\":\"{}\",", "0".repeat(64));
    let doubled = text.replacen("\"members\": {", &format!("\"members\": {{{decoy}"), 1);
    assert_ne!(doubled, text);
    let sig = key().sign(doubled.as_bytes()).to_bytes().to_vec();
    let ms = replace(ms, members::MANIFEST, doubled.into_bytes());
    let ms = replace(ms, members::MANIFEST_SIG, sig);
    let r = open(&zip_members(&ms).unwrap(), &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::BadManifest, "{}", r.detail);
    assert!(r.detail.contains("photo.jpg"), "{}", r.detail);

    // The same in biodata.json: a second `nik`.
    let bio = String::from_utf8(serde_json::to_vec(&biodata()).unwrap()).unwrap();
    let doubled = bio.replacen('{', "{\"nik\":\"3273050907880041\",", 1);
    let ms = replace_and_rehash(good_members(), "biodata.json", doubled.into_bytes());
    let r = open(&zip_members(&ms).unwrap(), &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::BadBiodata, "{}", r.detail);
    assert!(!r.detail.contains("3273050907880041"));
}

/// A station id with terminal escapes and a line break would flow into `reason_detail` and
/// the logs; it is refused at the manifest, before any registry lookup names it.
#[test]
fn control_characters_in_the_station_id_are_rejected_and_never_echoed() {
    let hostile = "327305\u{1b}[2J\nFORGED ACCEPTED";
    let ms = edit_manifest(good_members(), |v| v["station_id"] = hostile.into());
    let r = open(&zip_members(&ms).unwrap(), &Limits::default()).unwrap_err();
    assert_eq!(r.code, ReasonCode::BadManifest, "{}", r.detail);
    assert!(!r.detail.chars().any(char::is_control), "{:?}", r.detail);
    assert!(!r.detail.contains("FORGED"));
}

#[test]
fn capture_times_must_carry_an_indonesian_offset() {
    for (offset, ok) in [
        ("+07:00", true),
        ("+08:00", true),
        ("+09:00", true),
        ("+00:00", false),
        ("-05:00", false),
        ("+14:00", false),
    ] {
        let ms = edit_manifest(good_members(), |v| {
            v["capture_started_at"] = format!("2026-11-02T09:15:00{offset}").into();
            v["capture_ended_at"] = format!("2026-11-02T09:22:30{offset}").into();
        });
        let got = open(&zip_members(&ms).unwrap(), &Limits::default());
        match (ok, got) {
            (true, Ok(_)) => {}
            (false, Err(r)) => {
                assert_eq!(r.code, ReasonCode::BadManifest, "{offset}: {}", r.detail);
                assert!(r.detail.contains("offset"), "{}", r.detail);
            }
            (ok, got) => panic!("{offset}: expected ok={ok}, got {:?}", got.map(|_| ())),
        }
    }
}
