//! Personalization: the step after *ketunggalan*. Every unique identity becomes a sealed card
//! record in a signed job for the regency/city office (Dinas Dukcapil Kab/Kota) that prints the
//! card and writes its chip; at pickup the resident's two index fingers are verified 1:1
//! against the chip.
//!
//! - [`export()`] with [`ExportOptions`]: the export run (`tunggal export`, and the last stage of
//!   `tunggal nightly`), returning an [`ExportSummary`]. Inside it: `plan` (the pure rules:
//!   which printable gets a card, in which regency's job), `queries` (the lake reads),
//!   `writer` (the `JobWriter` that seals cards and signs a job) and `recover` (what a run
//!   finds left by a killed run).
//! - [`job`]: the job folder, its manifest, and [`job::check_job`] (`tunggal export check`).
//! - [`card`]: the card record — face as printed, chip content, the DC's seal.
//! - [`verify`]: the pickup check (`tunggal verify`): *berhasil* or *gagal*.
//! - [`keys`]: the DC's Ed25519 key — where it lives, first-use creation, publication.
//! - [`feed`]: the per-site result files that go back to the service points.
//!
//! The format is specified for the offices in `docs/personalization-format.md`. No NIK, name
//! or biometric is ever written to a log line: logs name enrollment ids and regency codes.

#![warn(missing_docs)]

pub mod card;
mod error;
pub mod export;
pub mod feed;
pub mod job;
pub mod keys;
mod plan;
mod queries;
mod recover;
mod store_files;
mod summary;
pub mod verify;
mod writer;

pub use error::{ExportError, Result};
pub use export::{export, ExportOptions, ExportSummary, JobSummary};
