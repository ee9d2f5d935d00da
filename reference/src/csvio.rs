//! CSV reading and writing shared by the reference extracts (SIAK residents, stations).
//!
//! Errors say where a row went wrong (line and column) but never what it contained: extract
//! rows carry NIKs and names, and error messages end up in logs.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};

/// A reference extract could not be read or written. Carries position, never row content.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// A row does not fit the expected columns or a value is invalid.
    #[error("invalid row at line {line:?}, column {column:?}")]
    InvalidRow {
        /// 1-based line of the offending row, when known.
        line: Option<u64>,
        /// 0-based column of the offending value, when known.
        column: Option<u64>,
    },
    /// The header row does not name the expected columns.
    #[error("header does not match the expected columns")]
    BadHeader,
    /// Reading from or writing to the underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl CsvError {
    fn from_csv(err: csv::Error) -> CsvError {
        let line = err.position().map(|p| p.line());
        match err.into_kind() {
            csv::ErrorKind::Io(e) => CsvError::Io(e),
            csv::ErrorKind::Deserialize { pos, err } => CsvError::InvalidRow {
                line: pos.map(|p| p.line()).or(line),
                column: err.field(),
            },
            _ => CsvError::InvalidRow { line, column: None },
        }
    }
}

/// Reads every row of a headed CSV into `T`, checking that the header has exactly the
/// expected column names in order.
pub(crate) fn read_rows<T: DeserializeOwned, R: Read>(
    reader: R,
    expected_header: &[&str],
) -> Result<Vec<T>, CsvError> {
    rows(reader, expected_header)?.collect()
}

/// The rows of a headed CSV one at a time, after checking that the header has exactly the
/// expected column names in order: a file of any size is read in the memory of one row (and
/// the reader's buffer). A row that does not parse is an error carrying its line, as with
/// [`read_rows`]; reading may go on after it.
pub(crate) fn rows<T: DeserializeOwned, R: Read>(
    reader: R,
    expected_header: &[&str],
) -> Result<impl Iterator<Item = Result<T, CsvError>>, CsvError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let header = rdr.headers().map_err(CsvError::from_csv)?;
    if !header.iter().eq(expected_header.iter().copied()) {
        return Err(CsvError::BadHeader);
    }
    Ok(rdr
        .into_deserialize()
        .map(|r: Result<T, csv::Error>| r.map_err(CsvError::from_csv)))
}

/// Writes rows as a headed CSV (the header comes from the field names of `T`; with no rows the
/// given header is written so that an empty extract is still well-formed).
pub(crate) fn write_rows<T: Serialize, W: Write>(
    writer: W,
    rows: &[T],
    header: &[&str],
) -> Result<(), CsvError> {
    let mut wtr = csv::WriterBuilder::new()
        .has_headers(!rows.is_empty())
        .from_writer(writer);
    if rows.is_empty() {
        wtr.write_record(header).map_err(CsvError::from_csv)?;
    }
    for row in rows {
        wtr.serialize(row).map_err(CsvError::from_csv)?;
    }
    wtr.flush()?;
    Ok(())
}
