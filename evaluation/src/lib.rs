//! Evaluation and benchmarks of the pipeline over synthetic data with known truth.
//!
//! Everything here measures the production crates from outside; nothing here is ever used by
//! the nightly job. Keeping it apart is what lets `dedup`, `ingest`, `adjudication` and the
//! other production crates build without `synth`.
//!
//! - [`truth`]: the one reader of synth's ground truth in a store.
//! - [`eval_dedup`]: `tunggal eval dedup`, FNIR/FPIR of a store's dedup results against that
//!   truth; [`diagnose`]: why a planted duplicate was missed (matcher score or index rank).
//! - [`bench_dedup`]: `tunggal bench dedup`, the 1:N search over a synthesized gallery beside
//!   brute force.
//! - [`bench_cluster`]: `tunggal bench dedup --cluster`, the same search on one machine and
//!   on a Ballista cluster in one run.
//! - [`bench_ingest`]: `tunggal bench ingest`, ingest throughput beside merely reading the
//!   same bytes.
//! - [`pickup`]: `tunggal eval pickup`, card pickup (`tunggal verify`'s decision) as a citizen
//!   at the counter experiences it: FNMR at the first attempt and within three, FMR.
//! - [`plant`]: duplicate clusters written straight from the truth, for console tests and
//!   demonstrations without a dedup run.

pub mod bench_cluster;
pub mod bench_dedup;
pub mod bench_ingest;
pub mod diagnose;
mod error;
pub mod eval_dedup;
pub mod pickup;
pub mod plant;
pub mod truth;

pub use error::{EvalError, Result};
