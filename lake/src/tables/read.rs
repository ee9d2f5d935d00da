//! The read side of the table modules: columns of a record batch found by name, with the type
//! their table gives them.
//!
//! Query results come back with whatever physical types DataFusion chose (`Utf8View` for
//! strings, timestamps without a zone after some expressions), so every column is cast to the
//! type the table module writes before it is read. A column that is missing or cannot be cast
//! is an error that names it ([`LakeError::Column`]), never an empty string or a zero: a
//! misspelled column name fails the first test that reads it.
//!
//! The one idea to hold in mind: `to_batch` and `from_batch` of a table module are mirror
//! images, and every reader of a lake table goes through them (or through [`Columns`] for a
//! query that selects only some columns).

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDate, Utc};

use super::columns::timestamp_type;
use crate::error::{LakeError, Result};

/// The columns of one record batch, looked up by name.
#[derive(Clone, Copy, Debug)]
pub struct Columns<'a> {
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    /// Reads `batch` (a table scan or a query result).
    pub fn new(batch: &'a RecordBatch) -> Self {
        Columns { batch }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether the batch holds no rows.
    pub fn is_empty(&self) -> bool {
        self.batch.num_rows() == 0
    }

    fn cast_to(&self, name: &str, to: &DataType) -> Result<ArrayRef> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| LakeError::Column {
                column: name.to_string(),
                reason: "not in the result".into(),
            })?;
        if column.data_type() == to {
            return Ok(column.clone());
        }
        // `safe: false`: a value that does not convert is an error, not a null
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        cast_with_options(column, to, &options).map_err(|e| LakeError::Column {
            column: name.to_string(),
            reason: format!("is {}, not readable as {to}: {e}", column.data_type()),
        })
    }

    fn typed<A: Array + Clone + 'static>(&self, name: &str, to: DataType) -> Result<A> {
        let array = self.cast_to(name, &to)?;
        array
            .as_any()
            .downcast_ref::<A>()
            .cloned()
            .ok_or_else(|| LakeError::Column {
                column: name.to_string(),
                reason: format!("cast to {to} gave another array type"),
            })
    }

    /// A string column.
    pub fn text(&self, name: &str) -> Result<Text> {
        Ok(Text(self.typed(name, DataType::Utf8)?))
    }

    /// A timestamp column (UTC microseconds).
    pub fn times(&self, name: &str) -> Result<Times> {
        Ok(Times(self.typed(name, timestamp_type())?))
    }

    /// A 64-bit integer column.
    pub fn longs(&self, name: &str) -> Result<Int64Array> {
        self.typed(name, DataType::Int64)
    }

    /// A 32-bit integer column.
    pub fn ints(&self, name: &str) -> Result<Int32Array> {
        self.typed(name, DataType::Int32)
    }

    /// A 16-bit integer column.
    pub fn shorts(&self, name: &str) -> Result<Int16Array> {
        self.typed(name, DataType::Int16)
    }

    /// A double column.
    pub fn doubles(&self, name: &str) -> Result<Float64Array> {
        self.typed(name, DataType::Float64)
    }

    /// A boolean column.
    pub fn bools(&self, name: &str) -> Result<BooleanArray> {
        self.typed(name, DataType::Boolean)
    }

    /// A binary column.
    pub fn binaries(&self, name: &str) -> Result<BinaryArray> {
        self.typed(name, DataType::Binary)
    }

    /// A date column.
    pub fn dates(&self, name: &str) -> Result<Dates> {
        Ok(Dates(self.typed(name, DataType::Date32)?))
    }
}

/// A string column read by [`Columns::text`].
#[derive(Clone, Debug)]
pub struct Text(StringArray);

impl Text {
    /// The value at `row` (`""` for a null, which a non-null column never holds).
    pub fn get(&self, row: usize) -> &str {
        if self.0.is_null(row) {
            ""
        } else {
            self.0.value(row)
        }
    }

    /// The value at `row` as an owned string.
    pub fn string(&self, row: usize) -> String {
        self.get(row).to_string()
    }

    /// The value at `row`, `None` for a null.
    pub fn opt(&self, row: usize) -> Option<String> {
        (!self.0.is_null(row)).then(|| self.0.value(row).to_string())
    }

    /// The value at `row` parsed into its vocabulary (or any `FromStr` type whose error is
    /// the lake's).
    pub fn parse<T: std::str::FromStr<Err = LakeError>>(&self, row: usize) -> Result<T> {
        self.get(row).parse()
    }
}

/// A timestamp column read by [`Columns::times`].
#[derive(Clone, Debug)]
pub struct Times(TimestampMicrosecondArray);

impl Times {
    /// The time at `row` (the epoch for a null, which a non-null column never holds).
    pub fn get(&self, row: usize) -> DateTime<Utc> {
        self.opt(row).unwrap_or_default()
    }

    /// The time at `row`, `None` for a null.
    pub fn opt(&self, row: usize) -> Option<DateTime<Utc>> {
        (!self.0.is_null(row))
            .then(|| DateTime::from_timestamp_micros(self.0.value(row)))
            .flatten()
    }
}

/// A date column read by [`Columns::dates`].
#[derive(Clone, Debug)]
pub struct Dates(Date32Array);

impl Dates {
    /// The date at `row`, `None` for a null.
    pub fn opt(&self, row: usize) -> Option<NaiveDate> {
        (!self.0.is_null(row))
            .then(|| self.0.value_as_date(row))
            .flatten()
    }

    /// The date at `row` (the epoch for a null, which a non-null column never holds).
    pub fn get(&self, row: usize) -> NaiveDate {
        self.opt(row).unwrap_or_default()
    }
}

/// Reads every row of every batch with `from_batch` (a table module's reader).
pub fn from_batches<T>(
    batches: &[RecordBatch],
    from_batch: impl Fn(&RecordBatch) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        rows.extend(from_batch(batch)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringViewArray;
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "status",
                DataType::Utf8View,
                true,
            )])),
            vec![Arc::new(StringViewArray::from(vec![
                Some("tunggal"),
                None,
                Some("tungal"),
            ]))],
        )
        .unwrap()
    }

    #[test]
    fn a_misspelled_column_is_an_error_that_names_it() {
        let b = batch();
        let err = Columns::new(&b).text("stauts").unwrap_err().to_string();
        assert!(err.contains("stauts"), "{err}");
    }

    #[test]
    fn string_views_are_read_as_text_and_nulls_stay_null() {
        let b = batch();
        let status = Columns::new(&b).text("status").unwrap();
        assert_eq!(status.get(0), "tunggal");
        assert_eq!(status.opt(1), None);
    }

    #[test]
    fn a_value_outside_its_vocabulary_is_an_error() {
        let b = batch();
        let status = Columns::new(&b).text("status").unwrap();
        let ok: crate::vocabulary::IdentityStatus = status.parse(0).unwrap();
        assert_eq!(ok, crate::vocabulary::IdentityStatus::Tunggal);
        assert!(status
            .parse::<crate::vocabulary::IdentityStatus>(2)
            .is_err());
    }

    #[test]
    fn a_column_of_another_type_is_an_error() {
        let b = batch();
        let err = Columns::new(&b).times("status").unwrap_err().to_string();
        assert!(err.contains("status"), "{err}");
    }
}
