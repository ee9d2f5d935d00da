//! End to end: `tunggal verify` at card pickup — the right person's fresh captures give
//! `berhasil` (exit 0), another person's give `gagal` (exit 1), a tampered or malformed
//! card or capture is bad input (exit 2) with the reason, and a live capture too poor to
//! decide on, or one finger matching while the other does not at all, asks for a recapture
//! (`ulangi`, exit 3) instead of failing.
//!
//! The cards come from a real `tunggal export`; their chip fingers are replaced by captures of
//! synthetic fingers (`synth::biometric::Body`) and re-sealed with the store's DC key, so the
//! test knows whose fingers are on the chip and can capture them again.

mod common;
#[path = "support/personalization.rs"]
mod personalization;

use std::path::{Path, PathBuf};
use std::process::Output;

use biometrics::finger::capture_quality::{COUNTER_FINGER_QUALITY, MIN_MINUTIAE};
use biometrics::iso19794;
use common::{files_under, shared_data, TestStore};
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
        self.verify_with(card, right, left, &[])
    }

    /// `verify` with extra flags.
    fn verify_with(&self, card: &Path, right: &Path, left: &Path, extra: &[&str]) -> Output {
        let keyring = dc_keyring(&self.store);
        let mut args = vec![
            "verify",
            "--card",
            card.to_str().unwrap(),
            "--right-index",
            right.to_str().unwrap(),
            "--left-index",
            left.to_str().unwrap(),
            "--keyring",
            keyring.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.store.run(&args)
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

/// `capture` re-encoded with ISO finger quality `quality`: the same print, rated otherwise by
/// the device.
fn rated(capture: &[u8], quality: u8) -> Vec<u8> {
    let mut record = iso19794::parse(capture).unwrap();
    record.views[0].quality = quality;
    let bytes = record.to_bytes();
    assert_eq!(iso19794::parse(&bytes).unwrap(), record);
    bytes
}

/// Issue 21: a print the device rates below the counter's quality (NFIQ 4–5) is answered
/// `ulangi` with the reason, and on the operator's `--last-try` it is matched as it is: the card
/// holder passes, another person still fails, and a print that cannot be matched at all (too
/// few minutiae) is still refused.
#[test]
fn a_print_below_the_counter_quality_is_recaptured_then_matched_on_the_last_try() {
    let pickup = Pickup::new();
    let low = COUNTER_FINGER_QUALITY - 15;
    let (right, left) = index_fingers(7, 600);
    let r = pickup.file("r.fmr", &rated(&right, low));
    let l = pickup.file("l.fmr", &left);
    let out = pickup.verify(&pickup.card, &r, &l);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "right index finger: finger quality below the counter's ({low} < \
             {COUNTER_FINGER_QUALITY}); press again — recapture"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("LLR"), "{stdout}");

    let out = pickup.verify_with(&pickup.card, &r, &l, &["--last-try"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("berhasil"));

    let (right8, left8) = index_fingers(8, 600);
    let r8 = pickup.file("r8.fmr", &rated(&right8, low));
    let l8 = pickup.file("l8.fmr", &rated(&left8, low));
    let out = pickup.verify_with(&pickup.card, &r8, &l8, &["--last-try"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gagal"));

    let few = pickup.file("few.fmr", &with_few_minutiae(&rated(&right, low), 5, 2));
    let out = pickup.verify_with(&pickup.card, &few, &l, &["--last-try"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("too few minutiae (5 <"), "{stdout}");
    assert!(!stdout.contains("counter"), "{stdout}");
}

/// Issue 21: when one finger matches the card beyond doubt and the other finds no
/// correspondence at all (here: someone else's left index pressed with the holder's right),
/// `verify` answers `ulangi` naming the finger to press again, not `gagal`; on the operator's
/// `--last-try` the fused evidence is the verdict, and it fails. One matching finger never
/// passes alone: the attacker who holds a copy of only one of the holder's fingers is refused.
#[test]
fn one_finger_matching_and_the_other_not_at_all_is_pressed_again_not_failed() {
    let pickup = Pickup::new();
    let (right, _) = index_fingers(7, 700);
    let (_, other_left) = index_fingers(8, 700);
    let r = pickup.file("r.fmr", &right);
    let l = pickup.file("l8.fmr", &other_left);
    let out = pickup.verify(&pickup.card, &r, &l);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("jari telunjuk kiri: tidak cocok")
            && stdout.contains("left index finger: no match while the other finger matched"),
        "{stdout}"
    );
    assert!(!stdout.contains("right index finger: no match"), "{stdout}");
    assert!(stdout.contains("fused LLR"), "{stdout}");

    let out = pickup.verify_with(&pickup.card, &r, &l, &["--last-try"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gagal"));

    // The holder's own left index, pressed again: berhasil without --last-try.
    let (_, left) = index_fingers(7, 701);
    let l = pickup.file("l.fmr", &left);
    let out = pickup.verify(&pickup.card, &r, &l);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// `capture` (an ISO/IEC 19794-2 record) re-encoded with only its first `keep` minutiae and
/// finger position `position`: a dry or partial press that lost most of its minutiae.
fn with_few_minutiae(capture: &[u8], keep: usize, position: u8) -> Vec<u8> {
    let mut record = iso19794::parse(capture).unwrap();
    record.views.truncate(1);
    record.views[0].minutiae.truncate(keep);
    record.views[0].position = position;
    let bytes = record.to_bytes();
    assert_eq!(iso19794::parse(&bytes).unwrap(), record);
    bytes
}

/// Issue 21: a capture too poor to decide on is an `ulangi` (exit 3) with the reason per
/// finger, in Bahasa Indonesia and English, and is not counted as `gagal`; a good capture of
/// the card holder then passes and another person's still fails.
#[test]
fn a_live_capture_too_poor_to_decide_on_asks_for_a_recapture_not_a_fail() {
    let pickup = Pickup::new();
    let (right, left) = index_fingers(7, 500);
    let (r, l) = (pickup.file("r.fmr", &right), pickup.file("l.fmr", &left));

    // A real FVC2002 impression with most of its minutiae gone, as the right index finger.
    let fvc = std::fs::read(shared_data().join("fvc2002/DB1_B/101_1.iso")).unwrap();
    let poor_fvc = pickup.file("poor-fvc.fmr", &with_few_minutiae(&fvc, 7, 2));
    let started = std::time::Instant::now();
    let out = pickup.verify(&pickup.card, &poor_fvc, &l);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ulangi"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "jari telunjuk kanan: terlalu sedikit minutiae (7 < {MIN_MINUTIAE}) — ulangi perekaman"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "right index finger: too few minutiae (7 < {MIN_MINUTIAE}) — recapture"
        )),
        "{stdout}"
    );
    // Only the poor finger is named, and nothing was matched or judged.
    assert!(
        !stdout.contains("kiri") && !stdout.contains("left"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("gagal") && !stdout.contains("LLR"),
        "{stdout}"
    );
    eprintln!("verify (ulangi) took {elapsed:?} end to end, process start included");

    // The card holder's own capture, poor on both hands: both named, still no `gagal`.
    let poor_r = pickup.file("poor-r.fmr", &with_few_minutiae(&right, 5, 2));
    let poor_l = pickup.file("poor-l.fmr", &with_few_minutiae(&left, 0, 7));
    let out = pickup.verify(&pickup.card, &poor_r, &poor_l);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("jari telunjuk kanan: terlalu sedikit minutiae (5 <"));
    assert!(stdout.contains("jari telunjuk kiri: terlalu sedikit minutiae (0 <"));
    assert!(stdout.contains("left index finger: too few minutiae (0 <"));

    // Bad input wins over a recapture: the other hand's capture is of the wrong finger.
    let out = pickup.verify(&pickup.card, &poor_fvc, &r);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("finger position 2"), "{}", text(&out));

    // Recaptured well: the card holder passes, another person still fails.
    let started = std::time::Instant::now();
    let out = pickup.verify(&pickup.card, &r, &l);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("berhasil"));
    eprintln!("verify (berhasil) took {elapsed:?} end to end, process start included");
    let (right8, left8) = index_fingers(8, 500);
    let (r8, l8) = (
        pickup.file("r8.fmr", &right8),
        pickup.file("l8.fmr", &left8),
    );
    let out = pickup.verify(&pickup.card, &r8, &l8);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gagal"));
}

/// How the quality gate sorts synthetic pickups (docs/biometrics.md): per capture quality of
/// the pickup, the card holder's attempts answered `ulangi`, and of those matched, the ones that
/// pass; then the pass rate without the gate by the worse finger's ISO quality and minutiae.
/// Enrollment captures are Good. Run with `--ignored --nocapture`.
#[test]
#[ignore = "a measurement: cargo test --workspace --test verify_cli -- --ignored --nocapture"]
fn measure_the_quality_gate_on_synthetic_pickups() {
    use biometrics::finger::{capture_quality::capture_quality, compare, prepare};
    use biometrics::fusion::{llr_threshold_for_fmr, Calibration};
    use std::collections::BTreeMap;
    let cal = Calibration::finger_default();
    let threshold = llr_threshold_for_fmr(1e-4);
    let persons = 300u64;
    for quality in CaptureQuality::ALL {
        let (mut ulangi, mut ulangi_would_pass, mut matched, mut passed) = (0, 0, 0, 0);
        let mut by_quality = BTreeMap::<u8, (usize, usize)>::new();
        let mut by_minutiae = BTreeMap::<usize, (usize, usize)>::new();
        for seed in 0..persons {
            let body = Body::of(Lineage::Own { seed: 1000 + seed });
            let enrolled = body.capture(&[2, 7], &[], CaptureQuality::Good, 1);
            let live = body.capture(&[2, 7], &[], quality, 2);
            let (mut llr, mut acceptable) = (0.0, true);
            let (mut worst_quality, mut worst_minutiae) = (u8::MAX, usize::MAX);
            for i in 0..2 {
                let e = iso19794::parse(&enrolled.fingers[i].1).unwrap();
                let l = iso19794::parse(&live.fingers[i].1).unwrap();
                let (e, l) = (&e.views[0], &l.views[0]);
                acceptable &= capture_quality(l, 197, 197).is_acceptable();
                worst_quality = worst_quality.min(l.quality);
                worst_minutiae = worst_minutiae.min(l.minutiae.len());
                llr += cal.llr(compare(&prepare(l, 197, 197), &prepare(e, 197, 197)));
            }
            let pass = usize::from(llr >= threshold);
            if acceptable {
                matched += 1;
                passed += pass;
            } else {
                ulangi += 1;
                ulangi_would_pass += pass;
            }
            let b = by_quality.entry(worst_quality / 10 * 10).or_default();
            (b.0, b.1) = (b.0 + 1, b.1 + pass);
            let b = by_minutiae.entry(worst_minutiae / 4 * 4).or_default();
            (b.0, b.1) = (b.0 + 1, b.1 + pass);
        }
        println!(
            "{quality:?}: {persons} attempts; ulangi {ulangi} (of which {ulangi_would_pass} \
             would have passed); matched {matched}, of which {passed} pass"
        );
        println!("  ungated, by worse ISO finger quality: {by_quality:?} (attempts, pass)");
        println!("  ungated, by fewer minutiae: {by_minutiae:?} (attempts, pass)");
    }
}
