//! `tunggal export` and `tunggal export check DIR`: write the signed personalization jobs per
//! regency/city, and verify a job folder the way a regional office does before printing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use personalization_export::{job, keys};

/// Flags of `tunggal export`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    /// The DC's Ed25519 signing key file (64 hex digits). Default: the TUNGGAL_SIGNING_KEY
    /// file, else `<store>/keys/dc-signing.key` for a local store, created on first use.
    #[arg(long, env = keys::SIGNING_KEY_ENV)]
    pub signing_key: Option<PathBuf>,

    /// Packets fetched from the store at the same time.
    #[arg(long, default_value_t = 16)]
    pub fetch_concurrency: usize,

    #[command(flatten)]
    pub lock: super::lock::LockArgs,

    /// `tunggal export check DIR`.
    #[command(subcommand)]
    pub command: Option<ExportCommand>,
}

/// Sub-verbs of `tunggal export`.
#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Verify a job folder: signature, checksums, record count, every card's seal. Names every
    /// defect and exits non-zero when there is one.
    Check {
        /// The job folder (`…/exports/personalization/<PP.KK>/<run_id>`), or that path
        /// relative to the store root.
        dir: PathBuf,
        /// The keyring of trusted DC public keys (one 64-hex-digit key per line, mode 0600),
        /// received from the DC out of band; required. A key published in the store is never
        /// trusted by itself. `--public-key` is an old name of this flag.
        #[arg(long, env = keys::KEYRING_ENV, alias = "public-key")]
        keyring: Option<PathBuf>,
    },
}

impl ExportArgs {
    /// The library options these flags stand for.
    pub fn options(&self) -> personalization_export::ExportOptions {
        personalization_export::ExportOptions {
            signing_key: self.signing_key.clone(),
            fetch_concurrency: self.fetch_concurrency,
            ..Default::default()
        }
    }
}

/// Runs `tunggal export` or `tunggal export check`.
pub async fn run(store: &lake::Store, args: &ExportArgs) -> Result<()> {
    match &args.command {
        None => {
            let _lock = args.lock.hold(store)?;
            let summary = personalization_export::export(store, &args.options()).await?;
            println!("{summary}");
            Ok(())
        }
        Some(ExportCommand::Check { dir, keyring }) => check(store, dir, keyring.as_deref()).await,
    }
}

/// Reads every file below a local folder, by path relative to it.
fn read_local(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .context("path outside the job folder")?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                out.insert(rel, bytes);
            }
        }
    }
    Ok(out)
}

async fn check(store: &lake::Store, dir: &Path, keyring: Option<&Path>) -> Result<()> {
    let keyring = keys::Keyring::resolve(keyring)?;
    let files = if dir.is_dir() {
        read_local(dir)?
    } else {
        let rel = dir.to_string_lossy();
        let files = personalization_export::export::read_job_files(store, &rel).await?;
        if files.is_empty() {
            bail!(
                "{}: no such job folder (locally or in the store)",
                dir.display()
            );
        }
        files
    };
    let key = job::manifest_key_id(&files).and_then(|id| keyring.get(&id).cloned());
    let report = job::check_job(&files, key.as_ref());
    println!("{report}");
    if !report.is_ok() {
        bail!(
            "{}: the job failed its check ({} problem(s))",
            dir.display(),
            report.problems.len()
        );
    }
    Ok(())
}
