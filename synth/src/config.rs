//! What to generate: the knobs of `tunggal synth` and the batch name they determine.

use crate::SynthError;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// How progress is reported while packets are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, log lines otherwise.
    #[default]
    Auto,
    /// Always an `indicatif` bar.
    Bar,
    /// `tracing` info lines at every ~5 %.
    Log,
    /// Nothing but the final summary.
    Quiet,
}

/// One synthesis run. Equal configs produce byte-identical output.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of packets to land (people enrolling, counting re-enrollments, fraud attempts
    /// and bad uploads).
    pub people: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Number of capture days.
    pub days: u32,
    /// First capture day.
    pub start: NaiveDate,
    /// Share of packets that are the same person again (fraud under another NIK); half as
    /// many more are re-enrollments under the same NIK (all within `people`).
    pub duplicate_rate: f64,
    /// Share of packets that are bad, spread evenly over the planted reasons.
    pub bad_rate: f64,
    /// Progress reporting.
    pub progress: ProgressMode,
    /// Uploads in flight at once.
    pub upload_concurrency: usize,
}

impl SynthConfig {
    /// A config with the documented defaults: 7 days from 2026-11-01, 1 % duplicates, 1 % bad.
    pub fn new(people: usize, seed: u64) -> SynthConfig {
        SynthConfig {
            people,
            seed,
            days: 7,
            start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            duplicate_rate: 0.01,
            bad_rate: 0.01,
            progress: ProgressMode::Auto,
            upload_concurrency: 32,
        }
    }

    /// Rejects values that cannot produce a sensible batch.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: &str| Err(SynthError::Config(m.to_string()));
        if self.people == 0 {
            return bad("--people must be at least 1");
        }
        if self.people > 10_000_000 {
            return bad("--people is limited to 10 000 000 per batch");
        }
        if self.days == 0 || self.days > 366 {
            return bad("--days must be 1..=366");
        }
        for (name, r) in [
            ("--duplicate-rate", self.duplicate_rate),
            ("--bad-rate", self.bad_rate),
        ] {
            if !(0.0..=0.5).contains(&r) || r.is_nan() {
                return Err(SynthError::Config(format!(
                    "{name} must be between 0 and 0.5"
                )));
            }
        }
        if self.upload_concurrency == 0 {
            return bad("upload concurrency must be at least 1");
        }
        Ok(())
    }

    /// The batch name: readable parameters plus a hash of all of them, so that different
    /// runs never overwrite each other and the same run always rewrites the same files.
    pub fn batch_id(&self) -> String {
        format!(
            "s{}-{}-d{}-n{}-{}",
            self.seed,
            self.start.format("%Y%m%d"),
            self.days,
            self.people,
            &self.tag()
        )
    }

    /// Six hex digits identifying the batch, used in station ids and person ids.
    pub fn tag(&self) -> String {
        let key = format!(
            "{}|{}|{}|{}|{}|{}",
            self.seed, self.start, self.days, self.people, self.duplicate_rate, self.bad_rate
        );
        hex::encode(&Sha256::digest(key.as_bytes())[..3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_id_is_stable_and_sensitive() {
        let a = SynthConfig::new(100, 7);
        assert_eq!(a.batch_id(), SynthConfig::new(100, 7).batch_id());
        assert!(a.batch_id().starts_with("s7-20261101-d7-n100-"));
        let mut b = a.clone();
        b.bad_rate = 0.02;
        assert_ne!(a.batch_id(), b.batch_id());
        assert!(a.validate().is_ok());
        b.people = 0;
        assert!(b.validate().is_err());
        let mut c = a.clone();
        c.bad_rate = f64::NAN;
        assert!(c.validate().is_err());
    }
}
