//! How the lake's Parquet data files are laid out: row-group size and which key columns carry
//! Parquet bloom filters, per table.
//!
//! Why: a night looks up its own keys (the night's enrollment ids, the NIKs it brings, the
//! packets it lists) in tables that hold the whole country. Those keys are random (UUIDs,
//! NIKs), so min/max statistics never rule a row group out, and every row group of every file
//! was read. A bloom filter per row group on the key columns lets the Parquet scan skip the
//! row groups that hold none of the night's keys (DataFusion turns `col = lit`,
//! `col IN (lits)` and a hash join's dynamic IN-list filter into bloom-filter probes; see
//! [`crate::query::lake_context`] for the settings that let a join's keys reach the scan).
//!
//! The one idea to hold in mind: the layout is defined once, in `lake/file-layout.json`,
//! read here at compile time and by `scripts/scale-lake.py` (the benchmark's stores), and
//! every path that writes a lake table's data files (the writes in [`crate::delta`],
//! [`crate::delta::Appender`], deletes and updates, `tunggal maintain`'s compaction) takes its
//! [`writer_properties`] from here.

use std::collections::HashMap;
use std::sync::LazyLock;

use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::tables::Table;

/// The layout file's text (`lake/file-layout.json`).
const LAYOUT_JSON: &str = include_str!("../file-layout.json");

/// The parsed layout file.
#[derive(Debug, serde::Deserialize)]
struct Layout {
    row_group_rows: usize,
    bloom_filter_fpp: f64,
    bloom_filter_columns: HashMap<String, Vec<String>>,
}

static LAYOUT: LazyLock<Layout> = LazyLock::new(|| {
    serde_json::from_str(LAYOUT_JSON).expect("lake/file-layout.json is valid (tested)")
});

/// Rows per Parquet row group of every lake table's data files: small enough that the
/// night's keys leave most row groups of a national table out (a row group is the unit a
/// bloom filter skips).
pub fn row_group_rows() -> usize {
    LAYOUT.row_group_rows
}

/// The false-positive rate each bloom filter is sized for (per key looked up; the writer
/// folds a filter down to the smallest size that keeps it). A lookup of k keys reads a row
/// group that holds none of them with probability about k times this.
pub fn bloom_filter_fpp() -> f64 {
    LAYOUT.bloom_filter_fpp
}

/// The columns of `table` whose data files carry a bloom filter per row group: the keys the
/// nightly stages look the night's rows up by. Empty for tables looked up otherwise.
pub fn bloom_filter_columns(table: Table) -> &'static [String] {
    LAYOUT
        .bloom_filter_columns
        .get(table.name())
        .map_or(&[], Vec::as_slice)
}

/// The Parquet writer properties of `table`'s data files: deltalake's defaults (Snappy
/// compression) with [`row_group_rows`] rows per row group and a bloom filter on each of
/// [`bloom_filter_columns`], sized for a full row group at [`bloom_filter_fpp`].
pub fn writer_properties(table: Table) -> WriterProperties {
    let rows = row_group_rows();
    let mut builder = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(rows));
    for column in bloom_filter_columns(table) {
        let path = ColumnPath::from(column.as_str());
        builder = builder
            .set_column_bloom_filter_enabled(path.clone(), true)
            .set_column_bloom_filter_fpp(path.clone(), bloom_filter_fpp())
            .set_column_bloom_filter_max_ndv(path, rows as u64);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bloom_filter_column_is_a_column_of_its_table() {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        for (table, columns) in &LAYOUT.bloom_filter_columns {
            let t = Table::ALL
                .into_iter()
                .find(|t| t.name() == table)
                .unwrap_or_else(|| panic!("{table} is not a lake table ({names:?})"));
            for column in columns {
                assert!(
                    t.schema().field_with_name(column).is_ok(),
                    "{table}.{column} is not a column"
                );
            }
        }
        assert!(row_group_rows() >= 1024);
        assert!(bloom_filter_fpp() > 0.0 && bloom_filter_fpp() < 0.01);
        assert_eq!(
            bloom_filter_columns(Table::Enrollments),
            ["enrollment_id", "nik"]
        );
        assert!(bloom_filter_columns(Table::Runs).is_empty());
    }

    #[test]
    fn writer_properties_enable_the_bloom_filters_of_the_table() {
        let props = writer_properties(Table::StatusHistory);
        assert_eq!(props.max_row_group_row_count(), Some(row_group_rows()));
        let bloom = props.bloom_filter_properties(&ColumnPath::from("enrollment_id"));
        assert_eq!(bloom.map(|b| b.fpp()), Some(bloom_filter_fpp()));
        assert!(props
            .bloom_filter_properties(&ColumnPath::from("status"))
            .is_none());
    }
}
