//! Printing query results: an aligned table for people, CSV (with a header row) and JSON (an
//! array of objects) for programs, Parquet for other tools. Binary columns (templates) print
//! as hex in the text formats.

use std::io::Write;

use arrow::array::RecordBatch;

use crate::SqlError;

/// Output format of `tunggal sql`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Aligned text table with a header.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array with one object per row.
    Json,
    /// One Parquet file (binary: write it to a file, not a terminal).
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!(
                "unknown format {other:?}: use table, csv, json or parquet"
            )),
        }
    }
}

/// Writes `batches` to `out` in `format`.
///
/// An empty result still prints its shape: the header row (table, CSV) or `[]` (JSON).
pub fn render(
    batches: &[RecordBatch],
    schema: &arrow::datatypes::SchemaRef,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), SqlError> {
    match format {
        Format::Table => {
            let text = if batches.iter().all(|b| b.num_rows() == 0) {
                arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(
                    schema.clone(),
                )])?
            } else {
                arrow::util::pretty::pretty_format_batches(batches)?
            };
            writeln!(out, "{text}")?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                writer.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            drop(writer);
            writeln!(out)?;
        }
        Format::Parquet => {
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(Vec::new(), schema.clone(), None)?;
            for batch in batches {
                writer.write(batch)?;
            }
            out.write_all(&writer.into_inner()?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("status", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
            Field::new("b", DataType::Binary, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["accepted", "rejected"])),
                Arc::new(Int64Array::from(vec![3, 1])),
                Arc::new(BinaryArray::from_opt_vec(vec![Some(b"\x01\xff"), None])),
            ],
        )
        .unwrap()
    }

    fn rendered(batches: &[RecordBatch], format: Format) -> String {
        let schema = sample().schema();
        let mut out = Vec::new();
        render(batches, &schema, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_has_a_header_row_then_one_line_per_row() {
        let text = rendered(&[sample()], Format::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["status,n,b", "accepted,3,01ff", "rejected,1,"]);
    }

    #[test]
    fn empty_csv_still_has_the_header() {
        assert_eq!(rendered(&[], Format::Csv).trim(), "status,n,b");
    }

    #[test]
    fn json_is_an_array_of_objects() {
        let value: serde_json::Value =
            serde_json::from_str(&rendered(&[sample()], Format::Json)).unwrap();
        assert_eq!(value[0]["status"], "accepted");
        assert_eq!(value[1]["n"], 1);
        let empty: serde_json::Value = serde_json::from_str(&rendered(&[], Format::Json)).unwrap();
        assert_eq!(empty, serde_json::json!([]));
    }

    #[test]
    fn table_shows_headers_and_values() {
        let text = rendered(&[sample()], Format::Table);
        assert!(text.contains("| status"), "{text}");
        assert!(text.contains("accepted"), "{text}");
        let empty = rendered(&[], Format::Table);
        assert!(empty.contains("status"), "{empty}");
    }

    #[test]
    fn parquet_reads_back_with_the_same_rows() {
        let mut out = Vec::new();
        render(&[sample()], &sample().schema(), Format::Parquet, &mut out).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            bytes::Bytes::from(out),
            1024,
        )
        .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        assert_eq!(batches, vec![sample()]);
    }

    #[test]
    fn format_parses_its_names() {
        assert_eq!("csv".parse::<Format>().unwrap(), Format::Csv);
        assert_eq!("parquet".parse::<Format>().unwrap(), Format::Parquet);
        assert!("xml".parse::<Format>().is_err());
    }
}
