//! The per-site result feed: what each service point learns about its enrollees (SOP: the
//! result of the 1:N check goes back to the place of capture).
//!
//! One CSV per site per export run, `exports/site-results/<site>/<run_id>.csv`, holding every
//! enrollee of that site whose identity status changed since the previous successful export
//! run started, or whose card was exported (or recovered from an interrupted run) by this run.
//! Delivery is at least once: a row may reappear in a later file (after an interrupted run);
//! a service point keys rows by `packet_id` and keeps the latest. No NIK, name or biometric is
//! in the feed — the packet id is the service point's own key.

use std::collections::BTreeMap;

use chrono::DateTime;
use lake::vocabulary::IdentityStatus;
use serde::Serialize;

/// Root of the feed, relative to the store root.
pub const FEED_PREFIX: &str = "exports/site-results";

/// Columns of a feed file.
pub const FEED_COLUMNS: [&str; 7] = [
    "packet_id",
    "enrollment_id",
    "result",
    "status",
    "status_since",
    "regency_code",
    "card_job_id",
];

/// Store path of a site's feed file of run `run_id`.
pub fn feed_path(site: &str, run_id: &str) -> String {
    format!("{FEED_PREFIX}/{site}/{run_id}.csv")
}

/// What a service point is told, from an identity status: `unique` (tunggal, re-enrollment,
/// cleared: a card will be printed), `pending_adjudication` (ganda, nik_conflict: an
/// adjudicator decides), `duplicate` (blocked), `referred` (the service point must clarify
/// with the resident).
pub fn result_of(identity_status: IdentityStatus) -> &'static str {
    match identity_status {
        IdentityStatus::Tunggal | IdentityStatus::Reenrollment | IdentityStatus::Cleared => {
            "unique"
        }
        IdentityStatus::Ganda | IdentityStatus::NikConflict => "pending_adjudication",
        IdentityStatus::Duplicate => "duplicate",
        IdentityStatus::Referred => "referred",
    }
}

/// One row of a feed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedRow {
    /// The packet the service point sent.
    pub packet_id: String,
    /// The enrollment made from it.
    pub enrollment_id: String,
    /// [`result_of`] the status.
    pub result: String,
    /// The identity status as in `identity_status`.
    pub status: IdentityStatus,
    /// When the status was set (RFC 3339, UTC).
    pub status_since: String,
    /// Regency/city that prints the card.
    pub regency_code: String,
    /// The personalization job of the card, when exported.
    pub card_job_id: String,
}

impl FeedRow {
    /// A row from its parts; `since_micros` is the status time in microseconds.
    pub fn new(
        packet_id: String,
        enrollment_id: String,
        identity_status: IdentityStatus,
        since_micros: i64,
        regency_code: String,
        card_job_id: Option<String>,
    ) -> FeedRow {
        FeedRow {
            packet_id,
            enrollment_id,
            result: result_of(identity_status).into(),
            status: identity_status,
            status_since: DateTime::from_timestamp_micros(since_micros)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            regency_code,
            card_job_id: card_job_id.unwrap_or_default(),
        }
    }
}

/// Serializes each site's rows as CSV with a header.
pub fn to_csv(rows: &[FeedRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(FEED_COLUMNS)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Groups rows by site (sorted).
pub fn by_site(rows: Vec<(String, FeedRow)>) -> BTreeMap<String, Vec<FeedRow>> {
    let mut out: BTreeMap<String, Vec<FeedRow>> = BTreeMap::new();
    for (site, row) in rows {
        out.entry(site).or_default().push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_result() {
        for s in IdentityStatus::ALL {
            assert!(!result_of(*s).is_empty(), "{s}");
        }
        assert_eq!(result_of(IdentityStatus::Ganda), "pending_adjudication");
        assert_eq!(result_of(IdentityStatus::Cleared), "unique");
    }
}
