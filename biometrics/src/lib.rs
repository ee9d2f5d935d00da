//! Biometric templates and matchers of tunggal: ISO/IEC 19794-2:2005 finger minutiae records,
//! IrisCodes, the fingerprint and iris 1:1 matchers, person-level score fusion and the FVC
//! evaluation protocol.
//!
//! The crate is pure: it reads and writes byte slices and never touches files, tables or the
//! network, so the same code runs in ingest, in the 1:N dedup on every executor, in the
//! adjudication console and at card pickup. See `docs/biometrics.md` for the algorithms, the
//! measured accuracy and speed, and the fusion calibration.

#![warn(missing_docs)]

pub mod cpu;
pub mod error;
pub mod eval;
pub mod finger;
pub mod fusion;
pub mod index;
pub mod iris;
pub mod iso19794;
pub mod matcher;

pub use error::TemplateError;
