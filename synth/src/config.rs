//! What to generate: the knobs of `tunggal synth` and the batch name they determine.

use crate::SynthError;
use chrono::{DateTime, Duration, DurationRound, FixedOffset, NaiveDate, Offset, Utc};
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
    /// First capture day; `None`: the `days` days that end on the day of [`Self::until`]
    /// (in WIB), so that a fresh batch lies inside ingest's capture-time window. An older
    /// start gives history whose packets ingest rejects `CAPTURE_TOO_OLD` unless its window
    /// is widened.
    pub start: Option<NaiveDate>,
    /// "Now" for this batch: no capture ends after it (a capture planned later on the last
    /// day is moved back whole days), since ingest rejects captures later than their upload.
    /// [`SynthConfig::new`] sets the current time rounded down to the hour, so the same
    /// arguments within the hour write the same bytes.
    pub until: DateTime<Utc>,
    /// Share of packets that are the same person again (fraud under another NIK); half as
    /// many more are re-enrollments under the same NIK (all within `people`).
    pub duplicate_rate: f64,
    /// Share of packets that are bad, spread evenly over the planted reasons.
    pub bad_rate: f64,
    /// Share of packets that are persons enrolled in an earlier batch of the store enrolling
    /// again under a new NIK of this batch (same fingers, new capture): must end `ganda`
    /// against the gallery. 0 (the default) plants none; limited by the earlier enrollees.
    pub cross_batch_duplicate_rate: f64,
    /// Share of packets that are another person (new biometrics) enrolling under the NIK and
    /// biodata of a resident an earlier batch enrolled: must end `nik_conflict`. 0 (default)
    /// plants none; limited by the earlier enrollees.
    pub hijack_rate: f64,
    /// Progress reporting.
    pub progress: ProgressMode,
    /// Uploads in flight at once.
    pub upload_concurrency: usize,
}

impl SynthConfig {
    /// A config with the documented defaults: the 7 days ending today, 1 % duplicates, 1 % bad.
    pub fn new(people: usize, seed: u64) -> SynthConfig {
        let now = Utc::now();
        SynthConfig {
            people,
            seed,
            days: 7,
            start: None,
            until: now.duration_trunc(Duration::hours(1)).unwrap_or(now),
            duplicate_rate: 0.01,
            bad_rate: 0.01,
            cross_batch_duplicate_rate: 0.0,
            hijack_rate: 0.0,
            progress: ProgressMode::Auto,
            upload_concurrency: 32,
        }
    }

    /// The first capture day: [`Self::start`], else `days - 1` days before the WIB date of
    /// [`Self::until`].
    pub fn first_day(&self) -> NaiveDate {
        self.start.unwrap_or_else(|| {
            let wib = FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix());
            self.until.with_timezone(&wib).date_naive()
                - Duration::days(i64::from(self.days.max(1)) - 1)
        })
    }

    /// Whether this batch plants anything against earlier batches of the store.
    pub fn plants_across_batches(&self) -> bool {
        self.cross_batch_duplicate_rate > 0.0 || self.hijack_rate > 0.0
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
            (
                "--cross-batch-duplicate-rate",
                self.cross_batch_duplicate_rate,
            ),
            ("--hijack-rate", self.hijack_rate),
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
            self.first_day().format("%Y%m%d"),
            self.days,
            self.people,
            &self.tag()
        )
    }

    /// Six hex digits identifying the batch, used in station ids and person ids.
    pub fn tag(&self) -> String {
        let mut key = format!(
            "{}|{}|{}|{}|{}|{}",
            self.seed,
            self.first_day(),
            self.days,
            self.people,
            self.duplicate_rate,
            self.bad_rate
        );
        // Cross-batch plants enter the key only when asked for, so batches without them keep
        // the names (and bytes) they always had.
        if self.plants_across_batches() {
            key.push_str(&format!(
                "|x{}|h{}",
                self.cross_batch_duplicate_rate, self.hijack_rate
            ));
        }
        hex::encode(&Sha256::digest(key.as_bytes())[..3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_days_end_on_the_day_of_until() {
        let mut c = SynthConfig::new(10, 1);
        c.until = "2026-12-01T20:30:00Z".parse().unwrap();
        c.days = 3;
        // 20:30 UTC is 03:30 WIB on 2 December.
        assert_eq!(
            c.first_day(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert!(c.batch_id().starts_with("s1-20261130-d3-"));
    }

    #[test]
    fn batch_id_is_stable_and_sensitive() {
        let mut a = SynthConfig::new(100, 7);
        a.start = NaiveDate::from_ymd_opt(2026, 11, 1);
        let mut same = SynthConfig::new(100, 7);
        same.start = a.start;
        assert_eq!(a.batch_id(), same.batch_id());
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
