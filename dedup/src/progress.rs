//! Progress of a run: a bar on a terminal, a log line per batch otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress over the probes of a run.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
}

impl Progress {
    /// Progress over `total` probes; a bar only when asked for and stderr is a terminal.
    pub fn new(total: u64, bar: bool) -> Progress {
        let bar = (bar && std::io::stderr().is_terminal() && total > 0).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "dedup {bar:40} {pos}/{len} probes  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            bar,
            total,
            done: 0,
        }
    }

    /// Marks `n` more probes searched.
    pub fn advance(&mut self, n: u64, candidates: usize) {
        self.done += n;
        match &self.bar {
            Some(b) => b.inc(n),
            None => tracing::debug!(
                searched = self.done,
                total = self.total,
                candidates,
                "dedup batch done"
            ),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
