//! The status on one screen: the `Display` of [`Status`] and the number, duration and time
//! formats people read.

use super::*;

impl Status {
    /// The screen, with colour on the headline when `colour` (a terminal, no `NO_COLOR`).
    pub fn render(&self, colour: bool) -> String {
        let mut out = String::new();
        let paint = |text: &str, code: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let headline = if self.attention.is_empty() {
            paint("HEALTHY", "1;32")
        } else {
            paint(
                &format!("NEEDS ATTENTION ({})", self.attention.len()),
                "1;31",
            )
        };
        let running = if self.night_running {
            "  (a night is running now)"
        } else {
            ""
        };
        out.push_str(&format!(
            "tunggal status of {} at {}: {headline}{running}\n",
            self.store,
            when(self.generated)
        ));
        for reason in &self.attention {
            out.push_str(&format!("  ! {reason}\n"));
        }

        out.push_str(&format!(
            "\n{:<8} {:<16} {:<11} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
            "stage",
            "last run (UTC)",
            "outcome",
            "duration",
            "seen",
            "processed",
            "accepted",
            "rejected"
        ));
        for s in &self.stages {
            match &s.last {
                None => out.push_str(&format!("{:<8} never run\n", s.stage.as_str())),
                Some(r) => out.push_str(&format!(
                    "{:<8} {:<16} {:<11} {:>8} {:>9} {:>9} {:>9} {:>9}\n",
                    s.stage.as_str(),
                    r.started.format("%Y-%m-%d %H:%M").to_string(),
                    r.status.as_str(),
                    r.duration_seconds
                        .map(duration)
                        .unwrap_or_else(|| "-".into()),
                    thousands(r.seen.max(0) as u64),
                    thousands(r.processed.max(0) as u64),
                    thousands(r.accepted.max(0) as u64),
                    thousands(r.rejected.max(0) as u64),
                )),
            }
        }
        for s in &self.stages {
            if s.failures_since_success.is_empty() {
                continue;
            }
            let since = s
                .last_success
                .map(|t| format!("its last success at {}", when(t)))
                .unwrap_or_else(|| "it never succeeded".into());
            out.push_str(&format!(
                "  {}: {} failed or interrupted run(s) since {since}\n",
                s.stage,
                s.failures_since_success.len()
            ));
        }
        out.push_str("  (adjudication sync is not recorded in runs: see the night's summary)\n");

        let b = &self.backlog;
        out.push_str("\nbacklog\n");
        let oldest = b
            .oldest_not_ingested
            .map(|t| format!(", oldest landed {}", when(t)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  landed, not yet ingested     {:>10}  of {} objects listed in landing/{oldest}\n",
            thousands(b.landed_not_ingested),
            thousands(b.landing_objects)
        ));
        out.push_str(&format!(
            "  enrolled, not deduplicated   {:>10}\n",
            thousands(b.not_deduplicated)
        ));
        match (&b.cases, &b.case_store_note) {
            (Some(c), _) => {
                let oldest = c
                    .oldest_created
                    .map(|t| {
                        format!(
                            ", oldest opened {} ({} ago)",
                            when(t),
                            age(self.generated - t)
                        )
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  adjudication cases open      {:>10}  ({} awaiting confirmation){oldest}\n",
                    thousands(c.open + c.pending_confirmation),
                    thousands(c.pending_confirmation)
                ));
            }
            (None, Some(note)) => out.push_str(&format!("  adjudication cases: {note}\n")),
            (None, None) => {}
        }

        let sla = &self.sla;
        out.push_str(&format!(
            "\n{SLA_HOURS}-hour SLA, enrollments without a 1:N result: at risk (> {AT_RISK_HOURS} h) {}, breached (> {SLA_HOURS} h) {}\n",
            thousands(sla.at_risk),
            thousands(sla.breached)
        ));
        if !sla.by_province.is_empty() {
            out.push_str(&format!(
                "  {:<32} {:>9} {:>9}  oldest capture\n",
                "province", "at risk", "breached"
            ));
            for p in sla.by_province.iter().take(SHOWN) {
                out.push_str(&format!(
                    "  {:<32} {:>9} {:>9}  {}\n",
                    region_label(&p.code, p.name.as_deref(), 32),
                    thousands(p.at_risk),
                    thousands(p.breached),
                    p.oldest_capture.map(when).unwrap_or_default()
                ));
            }
            more(&mut out, sla.by_province.len(), "provinces");
        }

        let p = &self.personalization;
        out.push_str(&format!(
            "\npersonalization: {} waiting for export in {} regencies/cities\n",
            cards(p.cards_waiting),
            thousands(p.regencies.len() as u64)
        ));
        if !p.regencies.is_empty() {
            out.push_str(&format!(
                "  {:<32} {:>9}  last export\n",
                "regency/city", "waiting"
            ));
            for r in p.regencies.iter().take(SHOWN) {
                out.push_str(&format!(
                    "  {:<32} {:>9}  {}\n",
                    region_label(&r.code, r.name.as_deref(), 32),
                    thousands(r.waiting),
                    r.last_export.map(when).unwrap_or_else(|| "never".into())
                ));
            }
            more(&mut out, p.regencies.len(), "regencies/cities");
        }
        out.push_str(&format!(
            "\n(status read in {}; all rows: tunggal status --format json)",
            duration(self.elapsed_seconds)
        ));
        out
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

pub(super) fn more(out: &mut String, total: usize, what: &str) {
    if total > SHOWN {
        out.push_str(&format!(
            "  and {} more {what} (see --format json)\n",
            thousands((total - SHOWN) as u64)
        ));
    }
}

/// `33 Jawa Tengah`, cut on a character boundary to `width` with `…`.
pub(super) fn region_label(code: &str, name: Option<&str>, width: usize) -> String {
    let label = match name {
        Some(n) => format!("{code} {n}"),
        None => code.to_string(),
    };
    shorten(&label, width)
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(super) fn shorten(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `1 card`, `1,234 cards`.
pub(super) fn cards(n: u64) -> String {
    if n == 1 {
        "1 card".into()
    } else {
        format!("{} cards", thousands(n))
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people: `0.4s`, `12s`, `3m 12s`, `2h 05m`, `3d 4h`.
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub(super) fn age(d: chrono::TimeDelta) -> String {
    duration(d.num_seconds().max(0) as f64)
}

/// A time for people: `2026-12-02 01:13 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
