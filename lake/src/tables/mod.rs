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
pub mod reference_loads;
pub mod resident_history;
pub mod runs;
pub mod station_history;
pub mod status_history;

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
    /// Every state of every deduplicated enrollment's identity status and cluster; the
    /// current ones are the views `identity_status` and `clusters` ([`VIEWS`]).
    StatusHistory,
    /// Adjudicators' final decisions.
    Decisions,
    /// Enrollments sent for card personalization.
    PersonalizationJobs,
    /// The adjudication console's audit trail.
    Audit,
    /// Every version of every SIAK resident row loaded; the current ones are the view
    /// `residents` ([`VIEWS`]).
    ResidentHistory,
    /// Every version of every station registry row loaded; the current ones are the view
    /// `stations` ([`VIEWS`]).
    StationHistory,
    /// The reference files loaded into the two tables above, by path and SHA-256.
    ReferenceLoads,
}

impl Table {
    /// Every lake table: ingest's in the order it commits them (children first, `packets`
    /// last), then those of dedup, adjudication and export, then the console's audit trail.
    pub const ALL: [Table; 13] = [
        Table::Enrollments,
        Table::Fingerprints,
        Table::Irises,
        Table::Packets,
        Table::Runs,
        Table::MatchCandidates,
        Table::StatusHistory,
        Table::Decisions,
        Table::PersonalizationJobs,
        Table::Audit,
        Table::ResidentHistory,
        Table::StationHistory,
        Table::ReferenceLoads,
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
            Table::StatusHistory => status_history::NAME,
            Table::Decisions => decisions::NAME,
            Table::PersonalizationJobs => personalization_jobs::NAME,
            Table::Audit => audit::NAME,
            Table::ResidentHistory => resident_history::NAME,
            Table::StationHistory => station_history::NAME,
            Table::ReferenceLoads => reference_loads::NAME,
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
            Table::StatusHistory => status_history::schema(),
            Table::Decisions => decisions::schema(),
            Table::PersonalizationJobs => personalization_jobs::schema(),
            Table::Audit => audit::schema(),
            Table::ResidentHistory => resident_history::schema(),
            Table::StationHistory => station_history::schema(),
            Table::ReferenceLoads => reference_loads::schema(),
        }
    }

    /// The folder of the table relative to the store root.
    pub fn folder(self) -> String {
        format!("lake/{}", self.name())
    }
}

/// The views every session registers over the lake tables, `(name, SQL)`: the current
/// identity status of each enrollment and the current clusters, both read from
/// `status_history` (see [`status_history`] for why the lake keeps history, not state); and
/// the current SIAK residents and station registry, read from `resident_history` and
/// `station_history` (see [`resident_history`]).
pub const VIEWS: [(&str, &str); 4] = [
    (identity_status::NAME, status_history::IDENTITY_STATUS_VIEW),
    (clusters::NAME, status_history::CLUSTERS_VIEW),
    (
        crate::reference::RESIDENTS,
        resident_history::RESIDENTS_VIEW,
    ),
    (crate::reference::STATIONS, station_history::STATIONS_VIEW),
];

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
