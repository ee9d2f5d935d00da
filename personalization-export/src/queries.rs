//! The lake queries of an export run: printables, their NIKs' history, the feed's rows, the
//! cut-off of the last run, and the jobs a run already committed.
//!
//! The one idea to hold in mind: which statuses are personalizable is decided once, by
//! [`IdentityStatus::PERSONALIZABLE`] in the lake's vocabulary; the SQL here renders that list
//! (and every other stored value it compares with) from the vocabulary, never by hand.

use std::collections::{BTreeSet, HashSet};

use arrow::array::Array;
use datafusion::prelude::SessionContext;
use lake::delta::sql_literal;
use lake::vocabulary::{sql_list, IdentityStatus, PacketStatus, RunStatus, Stage};

use crate::error::Result;
use crate::feed::FeedRow;
use crate::plan::{Printable, Siblings};
use lake::query::collect;
use lake::tables::read::Columns;
use lake::Table;

/// When the last successful export did not record the history it had seen
/// ([`PreviousExport::status_watermark`]), how much earlier than its start a run looks for
/// status changes: the dedup and export hosts' clocks may differ by this much (looking
/// further back only adds enrollments the rules then find exported or superseded again).
pub const WINDOW_MARGIN_US: i64 = 3_600 * 1_000_000;

/// Name of the table [`register_scope`] registers: the enrollments a scoped run looks at.
const SCOPE_TABLE: &str = "export_scope";

/// Name of the table [`feed_rows`] registers: the enrollments whose feed rows it looks for.
const FEED_SCOPE_TABLE: &str = "export_feed_scope";

/// The current status and `since` of enrollments, as SQL usable in a FROM clause: the
/// `identity_status` view for every enrollment (`scope` none), else only the enrollments of
/// the query `scope` (one column), from their `status_history` rows: no aggregation over the
/// whole history.
fn current_states(scope: Option<&str>) -> String {
    match scope {
        None => "identity_status".to_string(),
        Some(ids) => format!(
            "(SELECT h.enrollment_id, first_value(h.status ORDER BY h.recorded DESC) AS status, \
                     first_value(h.since ORDER BY h.recorded DESC) AS since \
              FROM status_history h WHERE h.enrollment_id IN ({ids}) \
              GROUP BY h.enrollment_id)"
        ),
    }
}

/// `table` as SQL usable in a FROM clause: the whole table (`scope` none), else only its rows
/// whose `enrollment_id` is in the query `scope` (one column). Why every table of a scoped
/// query is restricted so, not only the first: a semi join against the scope's small
/// in-memory table hands its ids to that table's Parquet scan, which then reads only the row
/// groups whose bloom filters can hold them ([`lake::file_layout`]); a join between two
/// scanned tables (say `enrollments` with the scope's states) may take the country-sized
/// side as the one it collects and read it whole.
fn scoped_table(table: Table, scope: Option<&str>) -> String {
    match scope {
        None => table.name().to_string(),
        Some(ids) => format!(
            "(SELECT * FROM {table} WHERE enrollment_id IN ({ids}))",
            table = table.name()
        ),
    }
}

/// The CTEs every printable query starts with: `pers`, the personalizable enrollments with
/// their NIK and capture time, and `cand`, those of them not yet exported; with `scoped`,
/// only among the enrollments [`register_scope`] registered.
fn personalizable_ctes(scoped: bool) -> String {
    let scope = format!("SELECT id FROM {SCOPE_TABLE}");
    let scope = scoped.then_some(scope.as_str());
    format!(
        "WITH pers AS ( \
            SELECT s.enrollment_id, s.status, e.nik, \
                   CAST(e.capture_finished AS BIGINT) AS captured, e.regency_code \
            FROM {states} s JOIN {enrollments} e ON e.enrollment_id = s.enrollment_id \
            WHERE s.status IN {personalizable}), \
         cand AS (SELECT p.* FROM pers p WHERE NOT EXISTS \
            (SELECT 1 FROM {jobs} j WHERE j.enrollment_id = p.enrollment_id))",
        states = current_states(scope),
        enrollments = scoped_table(Table::Enrollments, scope),
        jobs = scoped_table(Table::PersonalizationJobs, scope),
        personalizable = sql_list(IdentityStatus::PERSONALIZABLE)
    )
}

/// Registers the enrollments a run after an earlier successful one has to look at: every
/// enrollment of a NIK of which some enrollment's status changed after `since_us` (µs) or
/// is in `retry`. Why that is enough: whether an enrollment gets a card depends only on its
/// status and on the statuses and capture times of its NIK's enrollments (the rules in
/// [`crate::plan`]), and every change of those is a `status_history` row (a new enrollment
/// of the NIK gets one too); an enrollment the last run left unexported for another reason
/// (a card that could not be made) is in that run's `retry`. So a night reads the NIKs the
/// night changed, not every enrollment ever made personalizable. Returns how many
/// enrollments are in scope.
///
/// Each step's keys are collected and joined as a small in-memory table
/// ([`lake::query::collect_with_keys`]) against the country-sized table: the join's keys reach
/// the Parquet scan and its bloom filters ([`lake::file_layout`]), so only the row groups
/// that can hold the night's ids and NIKs are read. (As `IN (subquery)` the big table was
/// the join's build side and read whole.)
pub async fn register_scope(
    ctx: &SessionContext,
    since_us: i64,
    retry: &[String],
) -> Result<usize> {
    let mut changed = lake::query::texts(
        ctx,
        &format!(
            "SELECT DISTINCT h.enrollment_id FROM status_history h \
             WHERE h.recorded > to_timestamp_micros({since_us})"
        ),
        "enrollment_id",
    )
    .await?;
    changed.extend(retry.iter().cloned());
    changed.sort_unstable();
    changed.dedup();
    let niks = lake::query::niks_of_enrollments(ctx, &changed).await?;
    let ids = lake::query::texts_of_keys(
        ctx,
        "SELECT DISTINCT e.enrollment_id FROM enrollments e JOIN {keys} k ON e.nik = k.id",
        &niks,
        "enrollment_id",
    )
    .await?;
    lake::query::register_texts(ctx, SCOPE_TABLE, "id", &ids)?;
    Ok(ids.len())
}

/// Personalizable enrollments with no `personalization_jobs` row, with their packet, by
/// regency then enrollment id (each enrollment once).
/// `scoped`: only among the enrollments [`register_scope`] registered.
pub async fn printables(ctx: &SessionContext, scoped: bool) -> Result<Vec<Printable>> {
    let scope = format!("SELECT id FROM {SCOPE_TABLE}");
    let scope = scoped.then_some(scope.as_str());
    let sql = format!(
        "{ctes} SELECT c.enrollment_id, c.status, c.nik, c.captured, c.regency_code, \
                k.object_path, k.sha256 \
         FROM pers c LEFT JOIN {packets} k \
           ON k.enrollment_id = c.enrollment_id AND k.status = {accepted} \
         WHERE NOT EXISTS (SELECT 1 FROM {jobs} j \
                           WHERE j.enrollment_id = c.enrollment_id) \
         ORDER BY c.regency_code, c.enrollment_id",
        ctes = personalizable_ctes(scoped),
        packets = scoped_table(Table::Packets, scope),
        jobs = scoped_table(Table::PersonalizationJobs, scope),
        accepted = sql_literal(PacketStatus::Accepted.as_str()),
    );
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for batch in collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let (ids, status, nik) = (c.text("enrollment_id")?, c.text("status")?, c.text("nik")?);
        let (captured, regency) = (c.longs("captured")?, c.text("regency_code")?);
        let (object, sha) = (c.text("object_path")?, c.text("sha256")?);
        for i in 0..c.len() {
            let Some(id) = ids.opt(i) else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            out.push(Printable {
                enrollment_id: id,
                status: status.parse(i)?,
                nik: nik.string(i),
                captured: captured.value(i),
                regency_code: regency.string(i),
                object_path: object.opt(i),
                packet_sha256: sha.opt(i),
            });
        }
    }
    Ok(out)
}

/// For the printables' NIKs: every personalizable enrollment of the NIK (id, capture time),
/// and the NIKs that already have an exported card (`scoped` as [`printables`]; the scope
/// holds every enrollment of its NIKs, so the siblings are complete).
pub async fn nik_context(
    ctx: &SessionContext,
    scoped: bool,
) -> Result<(Siblings, HashSet<String>)> {
    let ctes = personalizable_ctes(scoped);
    let mut siblings = Siblings::new();
    let sql = format!(
        "{ctes} SELECT p.nik, p.enrollment_id, p.captured FROM pers p \
         WHERE p.nik IN (SELECT nik FROM cand)"
    );
    for batch in collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let (nik, id, t) = (
            c.text("nik")?,
            c.text("enrollment_id")?,
            c.longs("captured")?,
        );
        for i in 0..c.len() {
            if let (Some(n), Some(e)) = (nik.opt(i), id.opt(i)) {
                siblings.entry(n).or_default().push((e, t.value(i)));
            }
        }
    }
    // The scope holds every enrollment of the candidates' NIKs, so their jobs too.
    let scope = format!("SELECT id FROM {SCOPE_TABLE}");
    let scope = scoped.then_some(scope.as_str());
    let sql = format!(
        "{ctes} SELECT DISTINCT e.nik FROM {jobs} j \
         JOIN {enrollments} e ON e.enrollment_id = j.enrollment_id \
         WHERE e.nik IN (SELECT nik FROM cand)",
        jobs = scoped_table(Table::PersonalizationJobs, scope),
        enrollments = scoped_table(Table::Enrollments, scope),
    );
    let exported = lake::query::texts(ctx, &sql, "nik").await?;
    Ok((siblings, exported.into_iter().collect()))
}

/// What the last successful export run leaves the next one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreviousExport {
    /// Its start time (µs): the feed's cut-off and the start of the next run's window.
    pub started: i64,
    /// The enrollments it could not make a card for (its `runs.detail.retry`).
    pub retry: Vec<String>,
    /// The newest `status_history.recorded` (µs) it had seen (`runs.detail.status_watermark`):
    /// every row recorded later is new to the next run. Exact whatever the hosts' clocks,
    /// since both sides are times the dedup runs wrote.
    pub status_watermark: Option<i64>,
}

impl PreviousExport {
    /// Status rows recorded after this time (µs) are what changed since this run.
    pub fn window(&self) -> i64 {
        self.status_watermark
            .unwrap_or(self.started - WINDOW_MARGIN_US)
    }
}

/// The newest `status_history.recorded` (µs), if the table has rows: recorded by a run so
/// the next one knows where the changes it has not seen begin.
pub async fn status_watermark(ctx: &SessionContext) -> Result<Option<i64>> {
    let batches = collect(
        ctx,
        "SELECT CAST(max(recorded) AS BIGINT) AS newest FROM status_history",
    )
    .await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let newest = Columns::new(batch).longs("newest")?;
    Ok(newest.is_valid(0).then(|| newest.value(0)))
}

/// The last successful export run, if any.
pub async fn previous_export(ctx: &SessionContext) -> Result<Option<PreviousExport>> {
    let sql = format!(
        "SELECT CAST(started AS BIGINT) AS started_us, detail FROM runs \
         WHERE stage = {} AND status = {} ORDER BY started DESC LIMIT 1",
        sql_literal(Stage::Export.as_str()),
        sql_literal(RunStatus::Succeeded.as_str())
    );
    let batches = collect(ctx, &sql).await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let c = Columns::new(batch);
    let started = c.longs("started_us")?;
    let detail = c.text("detail")?.opt(0).unwrap_or_default();
    let detail = serde_json::from_str::<serde_json::Value>(&detail).unwrap_or_default();
    let retry = detail
        .get("retry")
        .and_then(|ids| ids.as_array())
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(started.is_valid(0).then(|| PreviousExport {
        started: started.value(0),
        retry,
        status_watermark: detail.get("status_watermark").and_then(|w| w.as_i64()),
    }))
}

/// The feed's rows, each with its site: every status that changed after `cutoff` (µs) and
/// every card exported by one of `exported_runs`, by site then packet.
/// `window`: status rows recorded after it (µs) hold every status whose `since` is after
/// `cutoff` ([`PreviousExport::window`]); none reads every current status.
pub async fn feed_rows(
    ctx: &SessionContext,
    cutoff: Option<i64>,
    window: Option<i64>,
    exported_runs: &BTreeSet<String>,
) -> Result<Vec<(String, FeedRow)>> {
    let runs = if exported_runs.is_empty() {
        "NULL".to_string()
    } else {
        exported_runs
            .iter()
            .map(|r| sql_literal(r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Every status that changed after the cut-off has a history row recorded after it: the
    // enrollments of those rows and of the runs' jobs are collected first (files selected by
    // `recorded` statistics, the jobs by `run_id`), then looked up in the tables by id.
    if let Some(window) = window {
        let ids = lake::query::texts(
            ctx,
            &format!(
                "SELECT h.enrollment_id FROM status_history h \
                 WHERE h.recorded > to_timestamp_micros({window}) \
                 UNION SELECT enrollment_id FROM personalization_jobs WHERE run_id IN ({runs})"
            ),
            "enrollment_id",
        )
        .await?;
        lake::query::register_texts(ctx, FEED_SCOPE_TABLE, "id", &ids)?;
    }
    let scope = format!("SELECT id FROM {FEED_SCOPE_TABLE}");
    let scope = window.is_some().then_some(scope.as_str());
    let sql = format!(
        "SELECT e.site, e.packet_id, s.enrollment_id, s.status, CAST(s.since AS BIGINT) AS since_us, \
                e.regency_code, j.job_id \
         FROM {states} s JOIN {enrollments} e ON e.enrollment_id = s.enrollment_id \
         LEFT JOIN {jobs} j ON j.enrollment_id = s.enrollment_id \
         WHERE CAST(s.since AS BIGINT) > {cutoff} OR j.run_id IN ({runs}) \
         ORDER BY e.site, e.packet_id",
        states = current_states(scope),
        enrollments = scoped_table(Table::Enrollments, scope),
        jobs = scoped_table(Table::PersonalizationJobs, scope),
        cutoff = cutoff.unwrap_or(i64::MIN)
    );
    let mut rows = Vec::new();
    for batch in collect(ctx, &sql).await? {
        let c = Columns::new(&batch);
        let (site, packet, id) = (
            c.text("site")?,
            c.text("packet_id")?,
            c.text("enrollment_id")?,
        );
        let (status, since) = (c.text("status")?, c.longs("since_us")?);
        let (regency, job) = (c.text("regency_code")?, c.text("job_id")?);
        for i in 0..c.len() {
            rows.push((
                site.string(i),
                FeedRow::new(
                    packet.string(i),
                    id.string(i),
                    status.parse(i)?,
                    since.value(i),
                    regency.string(i),
                    job.opt(i),
                ),
            ));
        }
    }
    Ok(rows)
}

/// The job ids that `run_id` has committed to `personalization_jobs`.
pub async fn committed_jobs(ctx: &SessionContext, run_id: &str) -> Result<HashSet<String>> {
    let sql = format!(
        "SELECT DISTINCT job_id FROM personalization_jobs WHERE run_id = {}",
        sql_literal(run_id)
    );
    Ok(lake::query::texts(ctx, &sql, "job_id")
        .await?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_personalizable_statuses_of_the_vocabulary() {
        for scoped in [false, true] {
            assert!(personalizable_ctes(scoped)
                .contains("WHERE s.status IN ('tunggal', 'reenrollment', 'cleared')"));
        }
        assert!(personalizable_ctes(true).contains(SCOPE_TABLE));
        assert!(!personalizable_ctes(false).contains(SCOPE_TABLE));
    }
}
