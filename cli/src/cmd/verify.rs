//! `tunggal verify`: the 1:1 check at card pickup. Prints `berhasil` or `gagal` with the
//! scores; exit 0 berhasil, 1 gagal, 2 bad input (with the reason).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::Args;
use personalization_export::card::CardRecord;
use personalization_export::{keys, verify};

/// Flags of `tunggal verify`.
#[derive(Args, Debug)]
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
    /// The DC public key file (64 hex digits). Default: the key the card names, as published
    /// in the store under exports/personalization/keys/.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Target false-match rate the threshold is set for.
    #[arg(long, default_value_t = verify::DEFAULT_TARGET_FMR)]
    pub target_fmr: f64,
}

/// Exit code of a pass.
pub const BERHASIL: i32 = 0;
/// Exit code of a fail.
pub const GAGAL: i32 = 1;
/// Exit code of bad input.
pub const BAD_INPUT: i32 = 2;

/// Runs `tunggal verify` and returns the process exit code.
pub async fn run(store_location: &str, args: &VerifyArgs) -> i32 {
    match decide(store_location, args).await {
        Ok(outcome) => {
            println!("{outcome}");
            if outcome.passed {
                BERHASIL
            } else {
                GAGAL
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            BAD_INPUT
        }
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!("{what} {}: {e}", path.display()))
}

async fn decide(store_location: &str, args: &VerifyArgs) -> Result<verify::VerifyOutcome> {
    if !(args.target_fmr > 0.0 && args.target_fmr < 1.0) {
        return Err(anyhow!("--target-fmr must be between 0 and 1"));
    }
    let record = CardRecord::parse(&read(&args.card, "card")?)
        .map_err(|e| anyhow!("{}: {e}", args.card.display()))?;
    let key = match &args.public_key {
        Some(path) => keys::read_public_key(path)?,
        None => {
            let store = lake::Store::open(store_location)?;
            keys::published(&store, &record.seal.key_id)
                .await?
                .ok_or_else(|| {
                    anyhow!(
                        "no published DC public key for the card's key id in the store; give --public-key FILE"
                    )
                })?
        }
    };
    record
        .check_seal(&key)
        .map_err(|e| anyhow!("{}: {e}", args.card.display()))?;
    let right = read(&args.right_index, "--right-index")?;
    let left = read(&args.left_index, "--left-index")?;
    Ok(verify::verify_card(
        &record.card,
        Some(&right),
        Some(&left),
        args.target_fmr,
    )?)
}
