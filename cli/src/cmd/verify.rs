//! `tunggal verify`: the 1:1 check at card pickup. Prints `berhasil` or `gagal` with the
//! scores; exit 0 berhasil, 1 gagal, 2 bad input (with the reason), 3 `ulangi`: a live capture
//! is too poor to decide on (too few minutiae, low quality, too small an area; see
//! [`biometrics::finger::capture_quality`]) and the operator recaptures it. An `ulangi` is not
//! a failed attempt: nothing was matched. `ulangi` is also the answer when the two fingers
//! disagree (one alone passes, the other does not match at all: a misplaced press). A print
//! the device rates only below the counter's quality (NFIQ 4–5) is matched, and disagreeing
//! fingers are decided on, on the operator's `--last-try`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use biometrics::finger::capture_quality::PoorCapture;
use clap::Args;
use personalization_export::card::CardRecord;
use personalization_export::verify::PickupDecision;
use personalization_export::{keys, verify};

/// Flags of `tunggal verify`.
#[derive(Args, Debug)]
#[command(after_help = EXIT_CODES)]
pub struct VerifyArgs {
    /// The card record read from the chip (a `cards/<enrollment_id>.json` of a job).
    #[arg(long)]
    pub card: PathBuf,
    /// Live capture of the right index finger (ISO/IEC 19794-2:2005).
    #[arg(long)]
    pub right_index: PathBuf,
    /// Live capture of the left index finger (ISO/IEC 19794-2:2005).
    #[arg(long)]
    pub left_index: PathBuf,
    /// The keyring of trusted DC public keys (one 64-hex-digit key per line, mode 0600),
    /// received from the DC out of band; required. A key published in the store is never
    /// trusted by itself. `--public-key` is an old name of this flag.
    #[arg(long, env = keys::KEYRING_ENV, alias = "public-key")]
    pub keyring: Option<PathBuf>,
    /// Target false-match rate the threshold is set for.
    #[arg(long, default_value_t = verify::DEFAULT_TARGET_FMR)]
    pub target_fmr: f64,
    /// The operator's last try: a finger whose quality is only below the counter's threshold
    /// (NFIQ 4–5) is matched as it is instead of answered with `ulangi`. Use it after the
    /// citizen has pressed again (twice, as the counter procedure says) and the device still
    /// rates the print low; captures that cannot be matched at all are still refused. Two
    /// fingers that disagree (one matches, the other not at all) are then decided on as
    /// they are instead of answered with `ulangi`.
    #[arg(long)]
    pub last_try: bool,
}

/// The exit codes, as `tunggal verify --help` lists them.
const EXIT_CODES: &str = "Exit codes: 0 berhasil (the card holder); 1 gagal (not the card \
holder); 2 bad input (a tampered or unknown card, an unreadable capture); 3 ulangi (a live \
capture too poor to decide on: too few minutiae, low quality or too small an area; recapture \
that finger, it is not a failed attempt; also when one finger matched and the other not at \
all: press that finger again; with --last-try a quality only below the counter's threshold is \
matched anyway and disagreeing fingers are decided on).";

/// Exit code of a pass.
pub const BERHASIL: i32 = 0;
/// Exit code of a fail.
pub const GAGAL: i32 = 1;
/// Exit code of bad input.
pub const BAD_INPUT: i32 = 2;
/// Exit code of a live capture too poor to decide on: recapture (*ulangi*), not a fail.
pub const ULANGI: i32 = 3;

/// Indonesian and English names of an ISO finger position (1 right thumb … 10 left little).
fn finger_names(position: u8) -> (String, String) {
    let (jari, finger) = match (position.max(1) - 1) % 5 {
        0 => ("ibu jari", "thumb"),
        1 => ("jari telunjuk", "index finger"),
        2 => ("jari tengah", "middle finger"),
        3 => ("jari manis", "ring finger"),
        _ => ("jari kelingking", "little finger"),
    };
    let (sisi, side) = if position <= 5 {
        ("kanan", "right")
    } else {
        ("kiri", "left")
    };
    (format!("{jari} {sisi}"), format!("{side} {finger}"))
}

/// The `ulangi` report: per poor finger, its reasons in Bahasa Indonesia and in English.
fn recapture_text(poor: &[(u8, Vec<PoorCapture>)]) -> String {
    let mut out = String::from("ulangi");
    for (position, problems) in poor {
        let (jari, finger) = finger_names(*position);
        for p in problems {
            out += &format!(
                "\n  {jari}: {} — ulangi perekaman\n    {finger}: {p} — recapture",
                p.alasan()
            );
        }
    }
    out
}

/// The `ulangi` report of two fingers that disagree: which finger to press again (the one
/// below the threshold), then the scores.
fn disagree_text(outcome: &verify::VerifyOutcome) -> String {
    let mut out = String::from("ulangi");
    for f in outcome.fingers.iter().filter(|f| f.llr < outcome.threshold) {
        let (jari, finger) = finger_names(f.position);
        out += &format!(
            "\n  {jari}: tidak cocok, padahal jari lainnya cocok — tekan ulang\n    {finger}: \
             no match while the other finger matched — press again"
        );
    }
    let scores = outcome.to_string();
    for line in scores.lines().skip(1) {
        out += "\n";
        out += line;
    }
    out
}

/// Runs `tunggal verify` and returns the process exit code. The store is not consulted:
/// the card is trusted only through the keyring (`_store_location` is kept for the common
/// verb signature).
pub async fn run(_store_location: &str, args: &VerifyArgs) -> i32 {
    match decide(args) {
        Ok(PickupDecision::Matched(outcome)) => {
            println!("{outcome}");
            if outcome.passed {
                BERHASIL
            } else {
                GAGAL
            }
        }
        Ok(PickupDecision::Recapture(poor)) => {
            println!("{}", recapture_text(&poor));
            ULANGI
        }
        Ok(PickupDecision::FingersDisagree(outcome)) => {
            println!("{}", disagree_text(&outcome));
            ULANGI
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            BAD_INPUT
        }
    }
}

/// A card's key id as printed in an error: it comes from an untrusted file.
fn printable_key_id(id: &str) -> String {
    id.chars().take(32).flat_map(char::escape_default).collect()
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!("{what} {}: {e}", path.display()))
}

fn decide(args: &VerifyArgs) -> Result<PickupDecision> {
    if !(args.target_fmr > 0.0 && args.target_fmr < 1.0) {
        return Err(anyhow!("--target-fmr must be between 0 and 1"));
    }
    let keyring = keys::Keyring::resolve(args.keyring.as_deref())?;
    let record = CardRecord::parse(&read(&args.card, "card")?)
        .map_err(|e| anyhow!("{}: {e}", args.card.display()))?;
    let key = keyring.get(&record.seal.key_id).ok_or_else(|| {
        anyhow!(
            "{}: the card is sealed with key id {}, which is not in the keyring {}: not a card \
             of this DC",
            args.card.display(),
            printable_key_id(&record.seal.key_id),
            keyring.path.display()
        )
    })?;
    record
        .check_seal(key)
        .map_err(|e| anyhow!("{}: {e}", args.card.display()))?;
    let right = read(&args.right_index, "--right-index")?;
    let left = read(&args.left_index, "--left-index")?;
    Ok(verify::decide_pickup(
        &record.card,
        &right,
        &left,
        args.target_fmr,
        args.last_try,
    )?)
}
