//! The one error type of the crate: why a template (ISO finger record, IrisCode or prepared
//! finger template) could not be read. Each variant names the exact defect so that ingest can
//! turn it into a precise reject reason; no reader in this crate panics on any input.

use thiserror::Error;

/// Why a biometric template could not be decoded.
///
/// Readers return the first defect found, with the byte offset where it applies, so an
/// operator can tell a truncated upload from a record written in another standard.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// The record does not start with the expected magic bytes (e.g. `FMR\0`, `IRC\0`).
    #[error("bad magic: expected {expected:?}, found {found:?}")]
    BadMagic {
        /// The magic this reader accepts.
        expected: &'static [u8],
        /// The first bytes actually found (up to the magic's length).
        found: Vec<u8>,
    },
    /// The record is a known format or version that this reader deliberately refuses.
    #[error("unsupported format/version {version:?}: {format} (only {supported} is accepted)")]
    UnsupportedVersion {
        /// The version bytes as text (e.g. `"030"`).
        version: String,
        /// The standard those bytes identify, as far as they can tell.
        format: &'static str,
        /// The one format this reader accepts.
        supported: &'static str,
    },
    /// The input ended before a field could be read.
    #[error("truncated at offset {offset}: {field} needs {needed} byte(s), {available} left")]
    Truncated {
        /// Byte offset where the field starts.
        offset: usize,
        /// Name of the field that could not be read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The length stated in the header does not match the bytes given or parsed.
    #[error("record length mismatch: header says {declared} bytes, input has {actual}, content ends at {parsed}")]
    LengthMismatch {
        /// Length from the record header.
        declared: usize,
        /// Length of the input slice.
        actual: usize,
        /// Offset where the parsed content ended.
        parsed: usize,
    },
    /// A minutia lies outside the image declared in the header.
    #[error("view {view}, minutia {index}: ({x}, {y}) lies outside the {width}x{height} image")]
    CoordinateOutsideImage {
        /// Index of the finger view.
        view: usize,
        /// Index of the minutia in the view.
        index: usize,
        /// Its x coordinate.
        x: u16,
        /// Its y coordinate.
        y: u16,
        /// Image width from the header.
        width: u16,
        /// Image height from the header.
        height: u16,
    },
    /// The header declares more finger views than the standard allows.
    #[error("too many finger views: {count} (at most {max})")]
    TooManyViews {
        /// Declared number of views.
        count: usize,
        /// Largest number accepted.
        max: usize,
    },
    /// A field holds a value the standard does not define.
    #[error("invalid {field} at offset {offset}: {value}")]
    InvalidField {
        /// Name of the field.
        field: &'static str,
        /// Byte offset of the field.
        offset: usize,
        /// The offending value.
        value: u32,
    },
    /// A value cannot be written in the record format (e.g. more than 255 minutiae in a view).
    #[error("cannot encode {field}: {value} exceeds {max}")]
    TooLarge {
        /// Name of the field.
        field: &'static str,
        /// The value that does not fit.
        value: usize,
        /// Largest value the format can hold.
        max: usize,
    },
}
