//! Progress of packet writing: an `indicatif` bar on a terminal, `tracing` lines at every
//! ~5 % otherwise, or nothing.

use crate::config::ProgressMode;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};

/// Reports packets written out of a known total.
pub struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    total: u64,
    done: AtomicU64,
    last_logged: AtomicU64,
}

impl Progress {
    /// A reporter for `total` packets in the given mode.
    pub fn new(mode: ProgressMode, total: u64) -> Progress {
        let bar = crate::run::wants_bar(mode).then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} packets ({per_sec}, eta {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            log: bar.is_none() && mode != ProgressMode::Quiet,
            bar,
            total,
            done: AtomicU64::new(0),
            last_logged: AtomicU64::new(0),
        }
    }

    /// Records `n` more packets written.
    pub fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if self.log {
            let step = (self.total / 20).max(1);
            let last = self.last_logged.load(Ordering::Relaxed);
            if done - last >= step || done == self.total {
                self.last_logged.store(done, Ordering::Relaxed);
                tracing::info!(done, total = self.total, "synth packets written");
            }
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
