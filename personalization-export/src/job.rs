//! A personalization job: the card record files of one regency/city from one export run, and
//! the signed manifest that lists them.
//!
//! Layout of a job folder `exports/personalization/<PP.KK>/<run_id>/`:
//! - `cards/<enrollment_id>.json` — one [`crate::card::CardRecord`] per card;
//! - `manifest.json` — [`JobManifest`]: job, run, regency, software, key id, record count,
//!   counts per reason, and path, size and SHA-256 of every card file;
//! - `manifest.sig` — the 64-byte Ed25519 signature of the DC key over the exact
//!   `manifest.json` bytes, written *last*: a job folder without it is incomplete and no
//!   office may print from it.
//!
//! [`check_job`] verifies a job folder's files and names every defect it finds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::card::{CardRecord, REASON_NEW, REASON_REISSUE};

/// `format` of a job manifest.
pub const JOB_FORMAT: &str = "tunggal-personalization-job";
/// `format_version` of a job manifest.
pub const JOB_FORMAT_VERSION: &str = "1";
/// The manifest's file name in a job folder.
pub const MANIFEST: &str = "manifest.json";
/// The signature's file name in a job folder.
pub const MANIFEST_SIG: &str = "manifest.sig";
/// Folder of the card files in a job folder.
pub const CARDS_DIR: &str = "cards";
/// Root of the exported jobs, relative to the store root.
pub const JOBS_PREFIX: &str = "exports/personalization";

/// Store path of the job folder of `regency_code` in run `run_id` (no trailing slash).
pub fn job_dir(regency_code: &str, run_id: &str) -> String {
    format!("{JOBS_PREFIX}/{regency_code}/{run_id}")
}

/// Path of a card file inside its job folder.
pub fn card_file(enrollment_id: &str) -> String {
    format!("{CARDS_DIR}/{enrollment_id}.json")
}

/// The job id of `regency_code` in run `run_id`: a UUID v5, so a job id is a function of
/// its run and regency.
pub fn job_id(run_id: &str, regency_code: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x51e3_90a4_2b7c_4d1e_9f06_c8a2_7d3b_1e55);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{run_id}/{regency_code}").as_bytes()).to_string()
}

/// `manifest.json` of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobManifest {
    /// Always [`JOB_FORMAT`].
    pub format: String,
    /// Always [`JOB_FORMAT_VERSION`].
    pub format_version: String,
    /// The job.
    pub job_id: String,
    /// The export run that wrote it.
    pub run_id: String,
    /// Regency/city `PP.KK`.
    pub regency_code: String,
    /// Its name as printed (`KOTA SEMARANG`).
    pub regency_name: String,
    /// When the job was written.
    pub created: DateTime<Utc>,
    /// The software that wrote it (`tunggal <version>`).
    pub software: String,
    /// Id of the DC key that signed `manifest.sig` and every card seal.
    pub key_id: String,
    /// Number of card records in the job.
    pub record_count: usize,
    /// Cards per reason (`new`, `reissue`).
    pub reasons: BTreeMap<String, usize>,
    /// Every file of the job other than the manifest and its signature.
    pub files: Vec<FileEntry>,
}

/// One file listed in a job manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the job folder.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The outcome of [`check_job`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCheck {
    /// The job id from the manifest, when it could be read.
    pub job_id: Option<String>,
    /// The regency/city from the manifest.
    pub regency_code: Option<String>,
    /// Card records found and valid.
    pub valid_cards: usize,
    /// Every defect found, one sentence each, naming the file (never a personal value).
    pub problems: Vec<String>,
}

impl JobCheck {
    /// True when no defect was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl std::fmt::Display for JobCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let job = self.job_id.as_deref().unwrap_or("(unreadable manifest)");
        let regency = self.regency_code.as_deref().unwrap_or("?");
        if self.is_ok() {
            write!(
                f,
                "job {job} ({regency}): OK — signature, checksums and {} card records verified",
                self.valid_cards
            )
        } else {
            writeln!(
                f,
                "job {job} ({regency}): {} problem(s)",
                self.problems.len()
            )?;
            for p in &self.problems {
                writeln!(f, "  - {p}")?;
            }
            Ok(())
        }
    }
}

/// The key id named by a job's manifest, if the manifest is readable: the caller looks the
/// public key up by it before calling [`check_job`].
pub fn manifest_key_id(files: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    let manifest: JobManifest = serde_json::from_slice(files.get(MANIFEST)?).ok()?;
    Some(manifest.key_id)
}

/// Checks a job folder's files (`path relative to the job folder → bytes`) against the DC
/// public key: the manifest's signature, the presence, size and SHA-256 of every listed file,
/// that nothing unlisted is there, the record count and reasons, and every card record's
/// format, job, regency and seal. Every defect is reported, not just the first.
pub fn check_job(files: &BTreeMap<String, Vec<u8>>, key: Option<&VerifyingKey>) -> JobCheck {
    let mut check = JobCheck::default();
    let Some(manifest_bytes) = files.get(MANIFEST) else {
        check.problems.push(format!(
            "{MANIFEST} is missing: not a job folder, or an incomplete job"
        ));
        return check;
    };
    let manifest: JobManifest = match serde_json::from_slice(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            check.problems.push(format!(
                "{MANIFEST} is not a valid job manifest (line {}, column {})",
                e.line(),
                e.column()
            ));
            return check;
        }
    };
    check.job_id = Some(manifest.job_id.clone());
    check.regency_code = Some(manifest.regency_code.clone());
    let problems = &mut check.problems;
    if manifest.format != JOB_FORMAT || manifest.format_version != JOB_FORMAT_VERSION {
        problems.push(format!(
            "{MANIFEST}: format is not {JOB_FORMAT} version {JOB_FORMAT_VERSION}"
        ));
    }

    // Signature over the exact manifest bytes.
    match (files.get(MANIFEST_SIG), key) {
        (None, _) => problems.push(format!(
            "{MANIFEST_SIG} is missing: the job is unsigned (incomplete export?)"
        )),
        (Some(_), None) => problems.push(format!(
            "key id {} is not a trusted DC key (not in the keyring), so {MANIFEST_SIG} cannot be trusted",
            manifest.key_id
        )),
        (Some(sig), Some(key)) => {
            if crate::keys::key_id(key) != manifest.key_id {
                problems.push(format!(
                    "{MANIFEST} names key {}, but the given public key is {}",
                    manifest.key_id,
                    crate::keys::key_id(key)
                ));
            }
            match <[u8; 64]>::try_from(sig.as_slice()) {
                Err(_) => problems.push(format!(
                    "{MANIFEST_SIG} is {} bytes, an Ed25519 signature is 64",
                    sig.len()
                )),
                Ok(b) => {
                    if key
                        .verify_strict(manifest_bytes, &Signature::from_bytes(&b))
                        .is_err()
                    {
                        problems.push(format!(
                            "{MANIFEST_SIG} does not verify: {MANIFEST} was altered or signed by another key"
                        ));
                    }
                }
            }
        }
    }

    // Listed files: present, same size, same hash.
    let mut listed = BTreeSet::new();
    for entry in &manifest.files {
        if !listed.insert(entry.path.as_str()) {
            problems.push(format!("{MANIFEST} lists {} twice", entry.path));
            continue;
        }
        match files.get(&entry.path) {
            None => problems.push(format!(
                "{} is listed in {MANIFEST} but missing",
                entry.path
            )),
            Some(bytes) => {
                if bytes.len() as u64 != entry.bytes {
                    problems.push(format!(
                        "{} is {} bytes, {MANIFEST} says {}",
                        entry.path,
                        bytes.len(),
                        entry.bytes
                    ));
                }
                if sha256_hex(bytes) != entry.sha256.to_ascii_lowercase() {
                    problems.push(format!(
                        "{}: SHA-256 differs from {MANIFEST} (the file was altered)",
                        entry.path
                    ));
                }
            }
        }
    }
    for path in files.keys() {
        if path != MANIFEST && path != MANIFEST_SIG && !listed.contains(path.as_str()) {
            problems.push(format!("{path} is not listed in {MANIFEST}"));
        }
    }

    // Records: count, reasons, and each card's own content and seal.
    let card_paths: Vec<&str> = manifest
        .files
        .iter()
        .map(|e| e.path.as_str())
        .filter(|p| p.starts_with(&format!("{CARDS_DIR}/")))
        .collect();
    if card_paths.len() != manifest.record_count {
        problems.push(format!(
            "{MANIFEST} says record_count {}, but lists {} card files",
            manifest.record_count,
            card_paths.len()
        ));
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut enrollments = BTreeSet::new();
    let mut valid_cards = 0;
    for path in card_paths {
        let Some(bytes) = files.get(path) else {
            continue;
        };
        let record = match CardRecord::parse(bytes) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{path}: {e}"));
                continue;
            }
        };
        let card = &record.card;
        let mut ok = true;
        if path != card_file(&card.enrollment_id) {
            problems.push(format!("{path}: holds the card of another enrollment"));
            ok = false;
        }
        if !enrollments.insert(card.enrollment_id.clone()) {
            problems.push(format!(
                "{path}: the enrollment has a second card in this job"
            ));
            ok = false;
        }
        if card.job_id != manifest.job_id || card.run_id != manifest.run_id {
            problems.push(format!("{path}: belongs to another job or run"));
            ok = false;
        }
        if card.regency_code != manifest.regency_code {
            problems.push(format!("{path}: is for another regency/city"));
            ok = false;
        }
        if card.reason != REASON_NEW && card.reason != REASON_REISSUE {
            problems.push(format!("{path}: reason is neither new nor reissue"));
            ok = false;
        }
        if let Some(key) = key {
            if let Err(e) = record.check_seal(key) {
                problems.push(format!("{path}: {e}"));
                ok = false;
            }
        }
        *reasons.entry(card.reason.clone()).or_default() += 1;
        if ok {
            valid_cards += 1;
        }
    }
    let mut declared = manifest.reasons.clone();
    declared.retain(|_, n| *n > 0);
    if declared != reasons {
        problems.push(format!(
            "{MANIFEST}: cards per reason {declared:?} differ from the cards present {reasons:?}"
        ));
    }
    check.valid_cards = valid_cards;
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_is_a_function_of_run_and_regency() {
        assert_eq!(job_id("r", "33.74"), job_id("r", "33.74"));
        assert_ne!(job_id("r", "33.74"), job_id("r", "33.75"));
    }

    #[test]
    fn missing_manifest_is_named() {
        let check = check_job(&BTreeMap::new(), None);
        assert!(!check.is_ok());
        assert!(check.problems[0].contains("manifest.json is missing"));
    }
}
