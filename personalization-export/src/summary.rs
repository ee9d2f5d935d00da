//! What an export run did: the counts and jobs `tunggal export` prints and `runs.detail`
//! records.
//!
//! The one idea to hold in mind: the summary names regency codes, job ids and counts only —
//! never a NIK or a name — so it may go to a terminal, a log or the `runs` table.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::feed;

/// Jobs listed one per line in the printed summary (the largest first); the rest are counted.
pub const JOBS_SHOWN: usize = 10;

/// One job written by a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    /// Regency/city `PP.KK`.
    pub regency_code: String,
    /// Its printed name.
    pub regency_name: String,
    /// The job id.
    pub job_id: String,
    /// Cards in the job.
    pub cards: usize,
    /// The job folder, relative to the store root.
    pub dir: String,
}

/// What one export run did.
#[derive(Clone, Debug, Default)]
pub struct ExportSummary {
    /// The run id.
    pub run_id: String,
    /// Id of the DC key that signed the jobs.
    pub key_id: String,
    /// Whether this run created the key (first use of the default).
    pub key_created: bool,
    /// Where the public key is published in the store.
    pub public_key_path: String,
    /// Personalizable enrollments not yet exported, found at the start among the enrollments
    /// the run looked at (every one on a first export; after that, the NIKs whose statuses
    /// changed since the last successful export and that run's `retry`).
    pub printables: usize,
    /// Of those, left out because a later personalizable enrollment of the same NIK exists
    /// (only the latest capture of a person gets a card).
    pub superseded: usize,
    /// Cards exported by this run.
    pub exported: usize,
    /// Of those, first cards.
    pub new_cards: usize,
    /// Of those, re-issues (re-enrollment of a lost or damaged card).
    pub reissues: usize,
    /// Jobs written, one per regency/city.
    pub jobs: Vec<JobSummary>,
    /// Enrollments that could not be exported, counted per reason (they stay printables).
    pub failed: BTreeMap<String, usize>,
    /// Their enrollment ids (`runs.detail.retry`): the next run tries them again even when
    /// nothing about them changed.
    pub retry: Vec<String>,
    /// The newest `status_history.recorded` (µs) the run had seen (`runs.detail`): where
    /// the next run's look at changed statuses begins.
    pub status_watermark: Option<i64>,
    /// Jobs of interrupted runs adopted (signed, checked, then recorded).
    pub adopted_jobs: usize,
    /// Cards in those jobs.
    pub adopted_cards: usize,
    /// Unsigned partial jobs of interrupted runs removed.
    pub removed_partial_jobs: usize,
    /// Site-result files written.
    pub feed_files: usize,
    /// Rows in them.
    pub feed_rows: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl ExportSummary {
    /// Enrollments that failed, in all.
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }
}

impl lake::run::StageReport for ExportSummary {
    fn counts(&self) -> lake::run::RunCounts {
        lake::run::RunCounts {
            seen: self.printables as i64,
            processed: (self.exported + self.failed_total()) as i64,
            accepted: self.exported as i64,
            rejected: self.failed_total() as i64,
        }
    }

    /// The per-job and per-reason counts, for `runs.detail`.
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "key_id": self.key_id,
            "superseded": self.superseded,
            "new": self.new_cards,
            "reissue": self.reissues,
            "jobs": self.jobs.len(),
            "failed_by_reason": self.failed,
            "retry": self.retry,
            "status_watermark": self.status_watermark,
            "adopted_jobs": self.adopted_jobs,
            "adopted_cards": self.adopted_cards,
            "removed_partial_jobs": self.removed_partial_jobs,
            "feed_files": self.feed_files,
            "feed_rows": self.feed_rows,
        })
    }
}

/// "card" or "cards" after a count.
fn cards(n: usize) -> &'static str {
    if n == 1 {
        "card"
    } else {
        "cards"
    }
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "export run {}", self.run_id)?;
        writeln!(
            f,
            "  signing key {}{}; public key at {}",
            self.key_id,
            if self.key_created {
                " (created now)"
            } else {
                ""
            },
            self.public_key_path
        )?;
        if self.adopted_jobs + self.removed_partial_jobs > 0 {
            writeln!(
                f,
                "  interrupted run recovered: {} signed job(s) adopted ({} cards), {} partial job(s) removed",
                self.adopted_jobs, self.adopted_cards, self.removed_partial_jobs
            )?;
        }
        writeln!(
            f,
            "  to personalize {:>7}   superseded {:>6}   failed {:>6}",
            self.printables,
            self.superseded,
            self.failed_total()
        )?;
        writeln!(
            f,
            "  exported {:>7} {} ({} new, {} reissue) in {} job(s)",
            self.exported,
            cards(self.exported),
            self.new_cards,
            self.reissues,
            self.jobs.len()
        )?;
        // The largest jobs only, so that a night fits one screen at any scale; the rest are
        // one query (or one folder listing) away.
        let mut largest: Vec<&JobSummary> = self.jobs.iter().collect();
        largest.sort_by(|a, b| {
            b.cards
                .cmp(&a.cards)
                .then_with(|| a.regency_code.cmp(&b.regency_code))
        });
        // Columns as wide as the longest name shown (KOTA ADMINISTRASI JAKARTA SELATAN is 33
        // characters), so that a long name never pushes its row out of line.
        let shown = &largest[..largest.len().min(JOBS_SHOWN)];
        let name_width = shown
            .iter()
            .map(|j| j.regency_name.chars().count())
            .max()
            .unwrap_or(0);
        for j in shown {
            writeln!(
                f,
                "    {:<6} {:<name_width$} {:>6} {:<5}  {}/",
                j.regency_code,
                j.regency_name,
                j.cards,
                cards(j.cards),
                j.dir
            )?;
        }
        if largest.len() > JOBS_SHOWN {
            writeln!(
                f,
                "    and {} more job(s) (see `tunggal sql \"SELECT regency_code, job_id, count(*) AS cards \
                 FROM personalization_jobs WHERE run_id = '{}' GROUP BY regency_code, job_id\"` \
                 or {}/)",
                largest.len() - JOBS_SHOWN,
                self.run_id,
                crate::job::JOBS_PREFIX
            )?;
        }
        for (reason, n) in &self.failed {
            writeln!(f, "  not exported: {reason}: {n}")?;
        }
        writeln!(
            f,
            "  site results: {} row(s) in {} file(s) under {}/",
            self.feed_rows,
            self.feed_files,
            feed::FEED_PREFIX
        )?;
        write!(f, "  elapsed {:.1?}", self.elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_the_largest_jobs_and_counts_the_rest() {
        let jobs = (0..40)
            .map(|i| JobSummary {
                regency_code: format!("{:02}.{:02}", 11 + i / 10, i % 10),
                regency_name: format!("Regency {i}"),
                job_id: format!("job-{i}"),
                cards: i,
                dir: format!("exports/personalization/job-{i}"),
            })
            .collect();
        let s = ExportSummary {
            run_id: "r1".into(),
            jobs,
            ..Default::default()
        };
        let text = s.to_string();
        assert!(text.contains("Regency 39"), "{text}");
        assert!(!text.contains("Regency 0 "), "{text}");
        assert!(text.contains("and 30 more job(s)"), "{text}");
        assert!(text.contains("run_id = 'r1'"), "{text}");
        assert!(text.lines().count() < 25, "{text}");
    }

    #[test]
    fn long_regency_names_keep_the_columns_in_line_and_one_card_is_singular() {
        let job = |code: &str, name: &str, cards| JobSummary {
            regency_code: code.into(),
            regency_name: name.into(),
            job_id: format!("job-{code}"),
            cards,
            dir: format!("exports/personalization/{code}/r1"),
        };
        let s = ExportSummary {
            run_id: "r1".into(),
            exported: 1,
            jobs: vec![
                job("31.74", "KOTA ADMINISTRASI JAKARTA SELATAN", 20),
                job("32.11", "KABUPATEN SUMEDANG", 1),
            ],
            ..Default::default()
        };
        let text = s.to_string();
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("exports/personalization/3"))
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        let column = |row: &str| row.find("exports/").unwrap();
        assert_eq!(column(rows[0]), column(rows[1]), "{text}");
        assert!(rows[1].contains(" 1 card "), "{text}");
        assert!(rows[0].contains(" 20 cards "), "{text}");
        assert!(text.contains("exported       1 card ("), "{text}");
    }
}
