//! End to end: `tunggal verify` at card pickup — the right person's fresh captures give
//! `berhasil` (exit 0), another person's give `gagal` (exit 1), and a tampered or malformed
//! card or capture is bad input (exit 2) with the reason.
//!
//! The cards come from a real `tunggal export`; their chip fingers are replaced by captures of
//! synthetic fingers (`synth::biometric::Body`) and re-sealed with the store's DC key, so the
//! test knows whose fingers are on the chip and can capture them again.

mod common;
#[path = "support/personalization.rs"]
mod personalization;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{files_under, TestStore};
use personalization::{attacker_key_published_in, dc_keyring, prepared_store};
use personalization_export::card::{CardRecord, ChipFinger};
use personalization_export::keys;
use synth::biometric::{Body, Lineage};
use synth::capture::CaptureQuality;

/// Index fingers (positions 2 and 7) of person `seed`, capture `capture_seed`.
fn index_fingers(seed: u64, capture_seed: u64) -> (Vec<u8>, Vec<u8>) {
    let c =
        Body::of(Lineage::Own { seed }).capture(&[2, 7], &[], CaptureQuality::Good, capture_seed);
    (c.fingers[0].1.clone(), c.fingers[1].1.clone())
}

struct Pickup {
    store: TestStore,
    dir: tempfile::TempDir,
    card: PathBuf,
}

impl Pickup {
    /// An exported card re-sealed with person 7's enrollment captures on its chip.
    fn new() -> Pickup {
        let (store, _) = prepared_store(30, 3);
        store.ok(&["export"]);
        let exported = files_under(&store.path().join("exports/personalization"))
            .into_iter()
            .find(|f| {
                f.parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == "cards")
            })
            .expect("an exported card");
        let mut record = CardRecord::parse(&std::fs::read(&exported).unwrap()).unwrap();
        let (right, left) = index_fingers(7, 100);
        record.card.chip.right_finger = Some(ChipFinger {
            position: 2,
            iso19794_2: right,
        });
        record.card.chip.left_finger = Some(ChipFinger {
            position: 7,
            iso19794_2: left,
        });
        let key = keys::load(&store.path().join("keys/dc-signing.key")).unwrap();
        let sealed = record.card.seal(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let card = dir.path().join("card.json");
        std::fs::write(&card, sealed.to_bytes().unwrap()).unwrap();
        Pickup { store, dir, card }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn verify(&self, card: &Path, right: &Path, left: &Path) -> Output {
        let keyring = dc_keyring(&self.store);
        self.store.run(&[
            "verify",
            "--card",
            card.to_str().unwrap(),
            "--right-index",
            right.to_str().unwrap(),
            "--left-index",
            left.to_str().unwrap(),
            "--keyring",
            keyring.to_str().unwrap(),
        ])
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn fresh_captures_of_the_card_holder_pass_and_another_person_fails() {
    let pickup = Pickup::new();
    let (right, left) = index_fingers(7, 200);
    let (r, l) = (pickup.file("r.fmr", &right), pickup.file("l.fmr", &left));
    let out = pickup.verify(&pickup.card, &r, &l);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("berhasil"), "{stdout}");
    assert!(
        stdout.contains("fused LLR") && stdout.contains("similarity"),
        "{stdout}"
    );

    let (right, left) = index_fingers(8, 200);
    let (r, l) = (pickup.file("r8.fmr", &right), pickup.file("l8.fmr", &left));
    let out = pickup.verify(&pickup.card, &r, &l);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gagal"));
}

#[test]
fn a_tampered_or_malformed_card_or_capture_is_bad_input_with_the_reason() {
    let pickup = Pickup::new();
    let (right, left) = index_fingers(7, 300);
    let (r, l) = (pickup.file("r.fmr", &right), pickup.file("l.fmr", &left));
    let card_text = std::fs::read_to_string(&pickup.card).unwrap();

    // A changed face value: the seal no longer verifies.
    let mut value: serde_json::Value = serde_json::from_str(&card_text).unwrap();
    value["card"]["face"]["gol_darah"] = "AB".into();
    let tampered = pickup.file("tampered.json", value.to_string().as_bytes());
    let out = pickup.verify(&tampered, &r, &l);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("seal does not verify"),
        "{}",
        text(&out)
    );

    // Someone else's fingers swapped onto the chip, without the DC key.
    let mut value: serde_json::Value = serde_json::from_str(&card_text).unwrap();
    value["card"]["chip"]["right_finger"] = value["card"]["chip"]["left_finger"].clone();
    let swapped = pickup.file("swapped.json", value.to_string().as_bytes());
    assert_eq!(pickup.verify(&swapped, &r, &l).status.code(), Some(2));

    // Truncated JSON, not a card at all, a missing file.
    let truncated = pickup.file(
        "truncated.json",
        &card_text.as_bytes()[..card_text.len() / 2],
    );
    let out = pickup.verify(&truncated, &r, &l);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not valid JSON"), "{}", text(&out));
    let other = pickup.file("other.json", br#"{"format":"something else"}"#);
    let out = pickup.verify(&other, &r, &l);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("not a personalization card record"),
        "{}",
        text(&out)
    );
    let out = pickup.verify(&pickup.dir.path().join("absent.json"), &r, &l);
    assert_eq!(out.status.code(), Some(2));

    // A capture that is not an ISO/IEC 19794-2 record, and one of the wrong finger.
    let junk = pickup.file("junk.fmr", b"FMR\0 20\0garbage");
    let out = pickup.verify(&pickup.card, &junk, &l);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--right-index"), "{}", text(&out));
    let out = pickup.verify(&pickup.card, &l, &r);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("finger position 7"), "{}", text(&out));

    // The untouched card still passes (with the keyring given by its environment variable).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunggal"))
        .args(["verify", "--card"])
        .arg(&pickup.card)
        .arg("--right-index")
        .arg(&r)
        .arg("--left-index")
        .arg(&l)
        .env("TUNGGAL_KEYRING", dc_keyring(&pickup.store))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Issue 20's attack: a card re-sealed with an attacker's key, whose public key is published
/// in the store beside the DC's. `verify` used to fetch the key the card names from the store
/// and answered `berhasil` for the attacker's card; with the DC's keyring it is bad input, and
/// without a keyring it refuses to verify at all.
#[test]
fn a_card_sealed_with_a_key_published_in_the_store_is_not_trusted() {
    let pickup = Pickup::new();
    let (right, left) = index_fingers(7, 400);
    let (r, l) = (pickup.file("r.fmr", &right), pickup.file("l.fmr", &left));
    let outside = tempfile::tempdir().unwrap();
    let attacker = attacker_key_published_in(&pickup.store, outside.path());
    let mut record = CardRecord::parse(&std::fs::read(&pickup.card).unwrap()).unwrap();
    record.card.face.nama = "NAMA PALSU".into();
    let forged = record.card.seal(&attacker).unwrap();
    let forged = pickup.file("forged.json", &forged.to_bytes().unwrap());

    let out = pickup.verify(&forged, &r, &l);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not in the keyring"), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("berhasil"));

    let out = pickup.store.run(&[
        "verify",
        "--card",
        forged.to_str().unwrap(),
        "--right-index",
        r.to_str().unwrap(),
        "--left-index",
        l.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--keyring"), "{}", text(&out));
}
