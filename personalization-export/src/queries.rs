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

/// The CTEs every printable query starts with: `pers`, the personalizable enrollments with
/// their NIK and capture time, and `cand`, those of them not yet exported.
fn personalizable_ctes() -> String {
    format!(
        "WITH pers AS ( \
            SELECT s.enrollment_id, s.status, e.nik, \
                   CAST(e.capture_finished AS BIGINT) AS captured, e.regency_code \
            FROM identity_status s JOIN enrollments e ON e.enrollment_id = s.enrollment_id \
            WHERE s.status IN {}), \
         cand AS (SELECT p.* FROM pers p WHERE NOT EXISTS \
            (SELECT 1 FROM personalization_jobs j WHERE j.enrollment_id = p.enrollment_id))",
        sql_list(IdentityStatus::PERSONALIZABLE)
    )
}

/// Personalizable enrollments with no `personalization_jobs` row, with their packet, by
/// regency then enrollment id (each enrollment once).
pub async fn printables(ctx: &SessionContext) -> Result<Vec<Printable>> {
    let sql = format!(
        "{ctes} SELECT c.enrollment_id, c.status, c.nik, c.captured, c.regency_code, \
                k.object_path, k.sha256 \
         FROM pers c LEFT JOIN packets k \
           ON k.enrollment_id = c.enrollment_id AND k.status = {accepted} \
         WHERE NOT EXISTS (SELECT 1 FROM personalization_jobs j \
                           WHERE j.enrollment_id = c.enrollment_id) \
         ORDER BY c.regency_code, c.enrollment_id",
        ctes = personalizable_ctes(),
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
/// and the NIKs that already have an exported card.
pub async fn nik_context(ctx: &SessionContext) -> Result<(Siblings, HashSet<String>)> {
    let ctes = personalizable_ctes();
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
    let sql = format!(
        "{ctes} SELECT DISTINCT e.nik FROM personalization_jobs j \
         JOIN enrollments e ON e.enrollment_id = j.enrollment_id \
         WHERE e.nik IN (SELECT nik FROM cand)"
    );
    let exported = lake::query::texts(ctx, &sql, "nik").await?;
    Ok((siblings, exported.into_iter().collect()))
}

/// Start time (µs) of the last successful export run, the feed's cut-off.
pub async fn previous_export_start(ctx: &SessionContext) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT CAST(max(started) AS BIGINT) AS started_us FROM runs \
         WHERE stage = {} AND status = {}",
        sql_literal(Stage::Export.as_str()),
        sql_literal(RunStatus::Succeeded.as_str())
    );
    let batches = collect(ctx, &sql).await?;
    let Some(batch) = batches.first().filter(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let started = Columns::new(batch).longs("started_us")?;
    Ok(started.is_valid(0).then(|| started.value(0)))
}

/// The feed's rows, each with its site: every status that changed after `cutoff` (µs) and
/// every card exported by one of `exported_runs`, by site then packet.
pub async fn feed_rows(
    ctx: &SessionContext,
    cutoff: Option<i64>,
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
    let sql = format!(
        "SELECT e.site, e.packet_id, s.enrollment_id, s.status, CAST(s.since AS BIGINT) AS since_us, \
                e.regency_code, j.job_id \
         FROM identity_status s JOIN enrollments e ON e.enrollment_id = s.enrollment_id \
         LEFT JOIN personalization_jobs j ON j.enrollment_id = s.enrollment_id \
         WHERE CAST(s.since AS BIGINT) > {cutoff} OR j.run_id IN ({runs}) \
         ORDER BY e.site, e.packet_id",
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
        assert!(personalizable_ctes()
            .contains("WHERE s.status IN ('tunggal', 'reenrollment', 'cleared')"));
    }
}
