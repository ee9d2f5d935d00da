//! Knobs of an ingest run. The defaults suit both a laptop folder and an S3 bucket.

use packet::Limits;

use crate::landing::LandingScan;
use crate::window::CaptureWindow;

/// How an ingest run is carried out. Only `limits` and `window` affect verdicts (they are
/// policy, documented in `docs/packet-format.md`); the rest is throughput.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Objects per chunk: one Delta commit per table per chunk. Larger chunks mean fewer,
    /// larger files; smaller chunks lose less work to a crash.
    pub chunk_size: usize,
    /// Objects fetched from the store at the same time.
    pub fetch_concurrency: usize,
    /// Size limits for packets and their members.
    pub limits: Limits,
    /// When a capture may have happened relative to its packet's receipt.
    pub window: CaptureWindow,
    /// How much of `landing/` to list; `None`: the day folders of the re-scan window that
    /// `window` implies ([`LandingScan::for_upload_delay`]).
    pub scan: Option<LandingScan>,
    /// Draw a progress bar when stderr is a terminal.
    pub progress_bar: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            chunk_size: 500,
            fetch_concurrency: 16,
            limits: Limits::default(),
            window: CaptureWindow::default(),
            scan: None,
            progress_bar: true,
        }
    }
}
