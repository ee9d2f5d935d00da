//! The end-of-run summary: counts per status and per reason code, fitting one screen.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What one ingest run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestSummary {
    /// The run's id (also in `runs` and in every row it wrote).
    pub run_id: String,
    /// Objects found in `landing/`.
    pub seen: usize,
    /// Of those, already recorded in `packets` by earlier runs (skipped).
    pub already_recorded: usize,
    /// Objects recorded by this run.
    pub processed: usize,
    /// Of those, accepted.
    pub accepted: usize,
    /// Of those, rejected.
    pub rejected: usize,
    /// Rejections per reason code (stable strings).
    pub by_reason: BTreeMap<String, usize>,
    /// Enrollment ids whose rows an interrupted earlier run had left and this run removed.
    pub orphans_removed: usize,
    /// Bytes of the objects this run processed.
    pub bytes: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl lake::run::StageReport for IngestSummary {
    fn counts(&self) -> lake::run::RunCounts {
        lake::run::RunCounts {
            seen: self.seen as i64,
            processed: self.processed as i64,
            accepted: self.accepted as i64,
            rejected: self.rejected as i64,
        }
    }

    /// The per-reason counts, for the `runs.detail` column.
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "already_recorded": self.already_recorded,
            "orphans_removed": self.orphans_removed,
            "bytes": self.bytes,
            "rejected_by_reason": self.by_reason,
        })
    }
}

/// The widest a reason's meaning is shown in the summary (the full text is in
/// docs/packet-format.md and `packet::ReasonCode::meaning`).
const MEANING_WIDTH: usize = 72;

/// `text` if it fits in `width` characters, else cut at the last word boundary before that
/// and ended with "…", never in the middle of a word.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width - 1).collect();
    let head = match cut.rfind(' ') {
        Some(space) => &cut[..space],
        None => cut.as_str(),
    };
    format!("{}…", head.trim_end_matches([',', ';', ':', ' ']))
}

impl fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ingest run {}", self.run_id)?;
        writeln!(
            f,
            "  listed in landing/  {:>8}   already recorded {:>8}   new {:>8}",
            self.seen, self.already_recorded, self.processed
        )?;
        writeln!(f, "  accepted {:>8}", self.accepted)?;
        writeln!(f, "  rejected {:>8}", self.rejected)?;
        let code_width = self
            .by_reason
            .keys()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0);
        for (code, count) in &self.by_reason {
            let meaning = code
                .parse::<packet::ReasonCode>()
                .map(|c| c.meaning())
                .unwrap_or("");
            let meaning = shorten(meaning, MEANING_WIDTH);
            writeln!(f, "    {code:<code_width$} {count:>8}  {meaning}")?;
        }
        if self.orphans_removed > 0 {
            writeln!(
                f,
                "  recovered from an interrupted run: {} partial enrollments removed and redone",
                self.orphans_removed
            )?;
        }
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "  {:.1} MB in {:.1} s ({:.1} packets/s, {:.2} MB/s)",
            self.bytes as f64 / 1e6,
            secs,
            self.processed as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_each_reason_with_its_meaning() {
        let mut s = IngestSummary {
            run_id: "r1".into(),
            seen: 10,
            processed: 10,
            accepted: 7,
            rejected: 3,
            ..Default::default()
        };
        s.by_reason.insert("BAD_SIGNATURE".into(), 2);
        s.by_reason.insert("CORRUPT_ZIP".into(), 1);
        let text = s.to_string();
        assert!(text.contains("accepted        7"), "{text}");
        assert!(text.contains("BAD_SIGNATURE"), "{text}");
        assert!(text.contains("not a readable zip"), "{text}");
        assert!(text.lines().count() < 25);
        let detail = lake::run::StageReport::detail(&s);
        assert_eq!(detail["rejected_by_reason"]["BAD_SIGNATURE"], 2);
    }

    #[test]
    fn long_meanings_are_cut_between_words() {
        let mut s = IngestSummary::default();
        s.by_reason.insert("BIODATA_NIK_MISMATCH".into(), 2);
        s.by_reason.insert("UNSUPPORTED_FORMAT_VERSION".into(), 1);
        let text = s.to_string();
        let full = "BIODATA_NIK_MISMATCH"
            .parse::<packet::ReasonCode>()
            .unwrap()
            .meaning();
        let line = text
            .lines()
            .find(|l| l.contains("BIODATA_NIK_MISMATCH"))
            .unwrap();
        let shown = line.split("  ").last().unwrap().trim();
        let shown = shown.trim_end_matches('…');
        assert!(full.starts_with(shown), "{line}");
        // The cut falls before a space of the full text: no word is broken.
        assert!(
            full.len() == shown.len() || full[shown.len()..].starts_with([' ', ',', ';', ':']),
            "{line}"
        );
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four", 12), "one two…");
    }
}
