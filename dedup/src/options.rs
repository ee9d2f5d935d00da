//! What a dedup run can be told: decision targets, batch size, progress display.

/// Options of a dedup run. Thresholds are not raw scores but target false-positive
/// identification rates, turned into fused-LLR thresholds by [`crate::thresholds`].
#[derive(Clone, Debug, PartialEq)]
pub struct DedupOptions {
    /// Target FPIR of the `match` band: the share of unique persons that may be flagged.
    pub match_fpir: f64,
    /// Target FPIR of the `possible` band (recorded for review, not acted upon).
    pub possible_fpir: f64,
    /// Probes searched together: one gallery partition per batch is persisted.
    pub batch_size: usize,
    /// Most members fully matched per probe and partition after the index stage.
    pub shortlist: usize,
    /// Members behind the shortlist whose irises are checked (see
    /// [`biometrics::index::SearchParams::iris_depth`]).
    pub iris_depth: usize,
    /// A shortlisted pair is given up once the evidence compared so far is at or below this
    /// LLR ([`biometrics::index::SearchParams::reject_llr`]; minus infinity: never, the exact
    /// comparison).
    pub reject_llr: f32,
    /// Gallery kept in memory between batches, counted in stored bytes of its partitions
    /// (in memory they take about as much, less once merged); the partitions beyond are read
    /// from the store twice per batch, once for each search pass. Results do not depend on
    /// it.
    pub resident_bytes: usize,
    /// Stored bytes of a gallery unit: a night's batches are saved as partitions of up to
    /// this, and the stored gallery is searched in units of up to this, each one task on a
    /// cluster (smaller: more tasks to spread over executors). Both a single-machine and a
    /// cluster run cut the same units, so results do not depend on where they run.
    pub unit_bytes: usize,
    /// Also run brute force on every batch, to report the index's recall (slow: testing and
    /// benchmarking only).
    pub compare_brute_force: bool,
    /// Draw a progress bar on a terminal (log lines otherwise).
    pub progress_bar: bool,
}

impl Default for DedupOptions {
    fn default() -> Self {
        DedupOptions {
            match_fpir: 1e-4,
            possible_fpir: 1e-2,
            batch_size: 5_000,
            shortlist: biometrics::index::SearchParams::default().shortlist,
            iris_depth: biometrics::index::SearchParams::default().iris_depth,
            reject_llr: biometrics::index::SearchParams::default().reject_llr,
            resident_bytes: DEFAULT_RESIDENT_BYTES,
            unit_bytes: crate::segments::MERGED_PARTITION_BYTES,
            compare_brute_force: false,
            progress_bar: true,
        }
    }
}

/// Default of [`DedupOptions::resident_bytes`]: 4 GiB.
pub const DEFAULT_RESIDENT_BYTES: usize = 4 << 30;
