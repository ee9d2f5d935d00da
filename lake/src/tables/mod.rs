//! The lake tables: their names, Arrow schemas and row types.
//!
//! One module per table, each with a doc line per column; `docs/tables.md` is the same
//! contract written for analysts. The one idea to hold in mind: a table's schema is fixed
//! here, in code, and every writer builds its record batches through the row type of that
//! module, so a column cannot drift between writers.

pub mod enrollments;
pub mod fingerprints;
pub mod irises;
pub mod packets;
pub mod runs;

pub(crate) mod columns;

use arrow::datatypes::SchemaRef;

/// A Delta table of the lake, stored under `lake/<name>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// Every landed object, exactly once: accepted or rejected with a reason.
    Packets,
    /// One row per accepted packet: the resident's biodata and capture metadata.
    Enrollments,
    /// One row per finger position (1..=10) of each enrollment.
    Fingerprints,
    /// One row per eye of each enrollment.
    Irises,
    /// One row per run of a pipeline stage.
    Runs,
}

impl Table {
    /// Every lake table, in the order ingest commits them (children first, `packets` last).
    pub const ALL: [Table; 5] = [
        Table::Enrollments,
        Table::Fingerprints,
        Table::Irises,
        Table::Packets,
        Table::Runs,
    ];

    /// The table's name: its SQL name and its folder under `lake/`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Packets => packets::NAME,
            Table::Enrollments => enrollments::NAME,
            Table::Fingerprints => fingerprints::NAME,
            Table::Irises => irises::NAME,
            Table::Runs => runs::NAME,
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Packets => packets::schema(),
            Table::Enrollments => enrollments::schema(),
            Table::Fingerprints => fingerprints::schema(),
            Table::Irises => irises::schema(),
            Table::Runs => runs::schema(),
        }
    }

    /// The folder of the table relative to the store root.
    pub fn folder(self) -> String {
        format!("lake/{}", self.name())
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
