//! What the status reads: the `runs` table, the listing of `landing/`, the SLA, the cards
//! waiting, the case store. Each a DataFusion query over the lake (or one read-only SQLite
//! query), so nothing is loaded whole.

use super::*;

/// Whether a process holds the nightly lock at `path`: probed with a shared, non-blocking
/// lock released at once (a night starting in that instant would find it held and say so).
pub(super) fn lock_held(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Every stage's last run, last success and failures since, from `runs` (a few rows a night).
pub(super) async fn stages(ctx: &SessionContext) -> Result<Vec<StageStatus>, StatusError> {
    let rows = lake::query::rows(
        ctx,
        "SELECT * FROM runs ORDER BY started DESC",
        runs::from_batch,
    )
    .await
    .map_err(reading("reading runs"))?;
    Ok(Stage::ALL
        .iter()
        .map(|&stage| {
            let mine: Vec<&RunRecord> = rows.iter().filter(|r| r.stage == stage).collect();
            let last_ok = mine.iter().position(|r| r.status == RunStatus::Succeeded);
            let failures = mine[..last_ok.unwrap_or(mine.len())]
                .iter()
                .filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Interrupted))
                .map(|r| summary(r))
                .collect();
            StageStatus {
                stage,
                last: mine.first().map(|r| summary(r)),
                last_success: last_ok.map(|i| mine[i].finished.unwrap_or(mine[i].started)),
                failures_since_success: failures,
            }
        })
        .collect())
}

pub(super) fn summary(r: &RunRecord) -> RunSummary {
    let error = (r.status == RunStatus::Failed)
        .then(|| {
            r.detail
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
        })
        .flatten();
    RunSummary {
        run_id: r.run_id.clone(),
        status: r.status,
        started: r.started,
        finished: r.finished,
        duration_seconds: r
            .finished
            .map(|f| (f - r.started).num_milliseconds() as f64 / 1000.0),
        seen: r.seen,
        processed: r.processed,
        accepted: r.accepted,
        rejected: r.rejected,
        error,
    }
}

/// Lists `landing/` as ingest does by default (the day folders of the re-scan window,
/// `ingest::landing`) and counts, in DataFusion, the objects without a `packets` row.
pub(super) async fn landing_backlog(
    store: &lake::Store,
    ctx: &SessionContext,
) -> Result<Backlog, StatusError> {
    let clock = Instant::now();
    let scan =
        ingest::LandingScan::for_upload_delay(ingest::CaptureWindow::default().max_upload_delay);
    let listing = ingest::landing::list(store, ingest::LANDING, scan, Utc::now().date_naive())
        .await
        .map_err(reading("listing landing/"))?
        .objects;
    let listing_seconds = clock.elapsed().as_secs_f64();
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("landed_us", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                listing.iter().map(|m| m.location.as_ref()),
            )),
            Arc::new(Int64Array::from_iter_values(
                listing.iter().map(|m| m.last_modified.timestamp_micros()),
            )),
        ],
    )
    .map_err(|e| StatusError {
        what: "listing landing/",
        error: e.into(),
    })?;
    let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(df("listing landing/"))?;
    ctx.register_table("status_landed", Arc::new(table))
        .map_err(df("listing landing/"))?;
    let batches = lake::query::collect(
        ctx,
        "SELECT count(*) AS n, min(l.landed_us) AS oldest FROM status_landed l \
         WHERE NOT EXISTS (SELECT 1 FROM packets p WHERE p.object_path = l.path)",
    )
    .await
    .map_err(reading("counting packets not yet ingested"))?;
    let (n, oldest) = first_count_and_time(&batches, "n", "oldest")?;
    Ok(Backlog {
        landing_objects: listing.len() as u64,
        landed_not_ingested: n,
        oldest_not_ingested: oldest,
        listing_seconds,
        not_deduplicated: 0,
        cases: None,
        case_store_note: None,
    })
}

pub(super) fn first_count_and_time(
    batches: &[RecordBatch],
    count: &str,
    micros: &str,
) -> Result<(u64, Option<DateTime<Utc>>), StatusError> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok((0, None));
    };
    let c = Columns::new(batch);
    let n = c.longs(count).map_err(reading("reading a count"))?;
    let t = c.longs(micros).map_err(reading("reading a count"))?;
    Ok((
        n.value(0).max(0) as u64,
        (!t.is_null(0))
            .then(|| DateTime::from_timestamp_micros(t.value(0)))
            .flatten(),
    ))
}

/// Enrollments without a 1:N result: how many, and the SLA counts by province at `now`.
/// Also what the nightly job's `tunggal_sla_enrollments` gauge reports.
pub async fn sla(ctx: &SessionContext, now: DateTime<Utc>) -> Result<(u64, Sla), StatusError> {
    let now_us = now.timestamp_micros();
    let risk_us = now_us - AT_RISK_HOURS * 3_600_000_000;
    let breach_us = now_us - SLA_HOURS * 3_600_000_000;
    let sql = format!(
        "WITH pending AS ( \
            SELECT e.province_code, CAST(e.capture_finished AS BIGINT) AS captured \
            FROM enrollments e \
            WHERE NOT EXISTS (SELECT 1 FROM status_history s \
                              WHERE s.enrollment_id = e.enrollment_id)), \
         byp AS ( \
            SELECT province_code, count(*) AS pending, \
                   sum(CASE WHEN captured < {risk_us} AND captured >= {breach_us} \
                       THEN 1 ELSE 0 END) AS at_risk, \
                   sum(CASE WHEN captured < {breach_us} THEN 1 ELSE 0 END) AS breached, \
                   min(captured) AS oldest \
            FROM pending GROUP BY province_code) \
         SELECT b.province_code, g.name, b.pending, b.at_risk, b.breached, b.oldest \
         FROM byp b LEFT JOIN regions g ON g.code = b.province_code \
         ORDER BY b.breached DESC, b.at_risk DESC, b.province_code"
    );
    let batches = lake::query::collect(ctx, &sql)
        .await
        .map_err(reading("counting enrollments without a result"))?;
    let mut pending_total = 0;
    let mut sla = Sla::default();
    let bad = reading("reading the SLA counts");
    let read = |batch: &RecordBatch| -> lake::Result<Vec<(ProvinceSla, u64)>> {
        let c = Columns::new(batch);
        let (code, name) = (c.text("province_code")?, c.text("name")?);
        let (pending, risk, breached, oldest) = (
            c.longs("pending")?,
            c.longs("at_risk")?,
            c.longs("breached")?,
            c.longs("oldest")?,
        );
        Ok((0..c.len())
            .map(|i| {
                (
                    ProvinceSla {
                        code: code.string(i),
                        name: name.opt(i),
                        at_risk: risk.value(i).max(0) as u64,
                        breached: breached.value(i).max(0) as u64,
                        oldest_capture: (!oldest.is_null(i))
                            .then(|| DateTime::from_timestamp_micros(oldest.value(i)))
                            .flatten(),
                    },
                    pending.value(i).max(0) as u64,
                )
            })
            .collect())
    };
    let rows = lake::tables::read::from_batches(&batches, read).map_err(bad)?;
    for (p, pending) in rows {
        pending_total += pending;
        sla.at_risk += p.at_risk;
        sla.breached += p.breached;
        if p.at_risk + p.breached > 0 {
            sla.by_province.push(p);
        }
    }
    Ok((pending_total, sla))
}

/// Cards waiting for export by regency (the export's rule: personalizable, no job row, the
/// latest personalizable capture of its NIK), with each regency's last export.
///
/// Planned for a big lake: the ids without a job first (two id columns), then the few NIKs
/// behind them, and only their enrollments joined and ranked; joining every status with its
/// enrollment first took 6.6 s instead of 3.9 s on the 1M lake.
pub(super) async fn personalization(ctx: &SessionContext) -> Result<Personalization, StatusError> {
    let sql = format!(
        "WITH cand_ids AS ( \
            SELECT s.enrollment_id FROM identity_status s \
            WHERE s.status IN {personalizable} AND NOT EXISTS \
                (SELECT 1 FROM personalization_jobs j WHERE j.enrollment_id = s.enrollment_id)), \
         cand AS ( \
            SELECT e.nik FROM cand_ids c JOIN enrollments e ON e.enrollment_id = c.enrollment_id), \
         sib AS ( \
            SELECT e.enrollment_id, e.nik, e.regency_code, \
                   CAST(e.capture_finished AS BIGINT) AS captured \
            FROM (SELECT DISTINCT nik FROM cand) n \
            JOIN enrollments e ON e.nik = n.nik \
            JOIN identity_status s ON s.enrollment_id = e.enrollment_id \
            WHERE s.status IN {personalizable}), \
         ranked AS ( \
            SELECT enrollment_id, regency_code, row_number() OVER ( \
                PARTITION BY nik ORDER BY captured DESC, enrollment_id DESC) AS latest \
            FROM sib), \
         waiting AS ( \
            SELECT r.regency_code, count(*) AS waiting \
            FROM ranked r JOIN cand_ids c ON c.enrollment_id = r.enrollment_id \
            WHERE r.latest = 1 GROUP BY r.regency_code), \
         last_export AS ( \
            SELECT regency_code, max(CAST(exported_time AS BIGINT)) AS last_us \
            FROM personalization_jobs \
            WHERE regency_code IN (SELECT regency_code FROM waiting) \
            GROUP BY regency_code) \
         SELECT w.regency_code, g.name, w.waiting, x.last_us \
         FROM waiting w \
         LEFT JOIN last_export x ON x.regency_code = w.regency_code \
         LEFT JOIN regions g ON g.code = w.regency_code \
         ORDER BY w.waiting DESC, w.regency_code",
        personalizable = sql_list(IdentityStatus::PERSONALIZABLE)
    );
    let batches = lake::query::collect(ctx, &sql)
        .await
        .map_err(reading("counting cards waiting for export"))?;
    let read = |batch: &RecordBatch| -> lake::Result<Vec<RegencyWaiting>> {
        let c = Columns::new(batch);
        let (code, name) = (c.text("regency_code")?, c.text("name")?);
        let (waiting, last) = (c.longs("waiting")?, c.longs("last_us")?);
        Ok((0..c.len())
            .map(|i| RegencyWaiting {
                code: code.string(i),
                name: name.opt(i),
                waiting: waiting.value(i).max(0) as u64,
                last_export: (!last.is_null(i))
                    .then(|| DateTime::from_timestamp_micros(last.value(i)))
                    .flatten(),
            })
            .collect())
    };
    let regencies = lake::tables::read::from_batches(&batches, read)
        .map_err(reading("reading the cards waiting"))?;
    Ok(Personalization {
        cards_waiting: regencies.iter().map(|r| r.waiting).sum(),
        regencies,
    })
}

/// Open cases from the case store, opened read-only; `Ok(None)` when there is no case store
/// file (the first night creates it).
pub(super) fn read_cases(path: &Path) -> Result<Option<CaseBacklog>, rusqlite::Error> {
    use adjudication::store::CaseState;
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return Ok(None);
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (open, pending) = (
        CaseState::Open.as_str(),
        CaseState::PendingConfirmation.as_str(),
    );
    let mut stmt = conn.prepare(
        "SELECT state, count(*), min(created_at) FROM cases WHERE state IN (?1, ?2) GROUP BY state",
    )?;
    let mut out = CaseBacklog {
        path: path.display().to_string(),
        ..Default::default()
    };
    let rows = stmt.query_map([open, pending], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    for row in rows {
        let (state, n, oldest) = row?;
        if state == open {
            out.open = n.max(0) as u64;
        } else {
            out.pending_confirmation = n.max(0) as u64;
        }
        let oldest = oldest.and_then(|s| DateTime::from_timestamp(s, 0));
        out.oldest_created = match (out.oldest_created, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(Some(out))
}
