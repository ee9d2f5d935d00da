//! Small helpers that turn row fields into Arrow columns, shared by the table modules.
//!
//! Timestamps are UTC microseconds (Delta's `timestamp` type); dates are days since the epoch
//! (Delta's `date`); unsigned values are stored signed because Delta has no unsigned types.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, Date32Array, Int16Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};

/// The Arrow type of every timestamp column: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// A non-null or nullable Utf8 field.
pub fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// A timestamp field.
pub fn timestamp(name: &str, nullable: bool) -> Field {
    Field::new(name, timestamp_type(), nullable)
}

/// `base`'s fields followed by `extra`: the schema of a history table that keeps every
/// column of the rows it versions and adds its own.
pub fn extended(
    base: &arrow::datatypes::Schema,
    extra: impl IntoIterator<Item = Field>,
) -> arrow::datatypes::SchemaRef {
    let fields: Vec<Field> = base
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .chain(extra)
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

/// Utf8 column from owned strings.
pub fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// Nullable Utf8 column.
pub fn opt_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// Int64 column.
pub fn longs(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values))
}

/// Int16 column.
pub fn shorts(values: impl Iterator<Item = i16>) -> ArrayRef {
    Arc::new(Int16Array::from_iter_values(values))
}

/// Nullable Int16 column.
pub fn opt_shorts(values: impl Iterator<Item = Option<i16>>) -> ArrayRef {
    Arc::new(values.collect::<Int16Array>())
}

/// Nullable binary column.
pub fn opt_binaries<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> ArrayRef {
    Arc::new(values.collect::<BinaryArray>())
}

/// Timestamp column (UTC microseconds).
pub fn timestamps(values: impl Iterator<Item = DateTime<Utc>>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter_values(values.map(|t| t.timestamp_micros()))
            .with_timezone("UTC"),
    )
}

/// Nullable timestamp column (UTC microseconds).
pub fn opt_timestamps(values: impl Iterator<Item = Option<DateTime<Utc>>>) -> ArrayRef {
    Arc::new(
        values
            .map(|t| t.map(|t| t.timestamp_micros()))
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    )
}

/// Int32 column.
pub fn ints(values: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Int32Array::from_iter_values(values))
}

/// Date column (days since 1970-01-01).
pub fn dates(values: impl Iterator<Item = NaiveDate>) -> ArrayRef {
    opt_dates(values.map(Some))
}

/// Nullable date column (days since 1970-01-01).
pub fn opt_dates(values: impl Iterator<Item = Option<NaiveDate>>) -> ArrayRef {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Arc::new(
        values
            .map(|d| d.map(|d| (d - epoch).num_days() as i32))
            .collect::<Date32Array>(),
    )
}

/// Float64 column.
pub fn doubles(values: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(arrow::array::Float64Array::from_iter_values(values))
}

/// Boolean column.
pub fn bools(values: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(arrow::array::BooleanArray::from_iter(values.map(Some)))
}
