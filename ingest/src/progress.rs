//! Progress reporting: a bar on a terminal, a log line per chunk otherwise (CI, cron, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports how many of the pending objects are done.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    /// Starts reporting on `total` objects; draws a bar only when `bar` is allowed and stderr
    /// is a terminal.
    pub fn new(total: u64, bar: bool) -> Progress {
        let bar = (bar && total > 0 && std::io::stderr().is_terminal()).then(|| {
            let pb = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} ingest [{bar:40}] {pos}/{len} packets ({per_sec}, eta {eta})",
            ) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb
        });
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    /// Records `n` more objects done.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => tracing::debug!(done = self.done, total = self.total, "ingest progress"),
        }
    }

    /// Removes the bar (the summary follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
