//! The lake tables: their names, Arrow schemas and row types.
//!
//! One module per table, each with a doc line per column; `docs/tables.md` is the same
//! contract written for analysts. The one idea to hold in mind: a table's schema is fixed
//! here, in code; every writer builds its record batches through the row type of that module
//! (`to_batch`) and every reader gets them back through it (`from_batch`, or [`read::Columns`]
//! for a query that selects some columns), so a column cannot drift between writers and
//! readers.

pub mod audit;
pub mod clusters;
pub mod decisions;
pub mod enrollments;
pub mod fingerprints;
pub mod identity_status;
pub mod irises;
pub mod match_candidates;
pub mod packets;
pub mod personalization_jobs;
pub mod runs;

pub(crate) mod columns;
pub mod read;

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
    /// Pairs scored by the nightly 1:N search.
    MatchCandidates,
    /// Current duplicate clusters.
    Clusters,
    /// Current identity status of every deduplicated enrollment.
    IdentityStatus,
    /// Adjudicators' final decisions.
    Decisions,
    /// Enrollments sent for card personalization.
    PersonalizationJobs,
    /// The adjudication console's audit trail.
    Audit,
}

impl Table {
    /// Every lake table: ingest's in the order it commits them (children first, `packets`
    /// last), then those of dedup, adjudication and export, then the console's audit trail.
    pub const ALL: [Table; 11] = [
        Table::Enrollments,
        Table::Fingerprints,
        Table::Irises,
        Table::Packets,
        Table::Runs,
        Table::MatchCandidates,
        Table::Clusters,
        Table::IdentityStatus,
        Table::Decisions,
        Table::PersonalizationJobs,
        Table::Audit,
    ];

    /// The table's name: its SQL name and its folder under `lake/`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Packets => packets::NAME,
            Table::Enrollments => enrollments::NAME,
            Table::Fingerprints => fingerprints::NAME,
            Table::Irises => irises::NAME,
            Table::Runs => runs::NAME,
            Table::MatchCandidates => match_candidates::NAME,
            Table::Clusters => clusters::NAME,
            Table::IdentityStatus => identity_status::NAME,
            Table::Decisions => decisions::NAME,
            Table::PersonalizationJobs => personalization_jobs::NAME,
            Table::Audit => audit::NAME,
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
            Table::MatchCandidates => match_candidates::schema(),
            Table::Clusters => clusters::schema(),
            Table::IdentityStatus => identity_status::schema(),
            Table::Decisions => decisions::schema(),
            Table::PersonalizationJobs => personalization_jobs::schema(),
            Table::Audit => audit::schema(),
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
