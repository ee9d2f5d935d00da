//! The night's own metric families, recorded from the stage summaries into the process's one
//! Prometheus recorder ([`lake::metrics`]), beside the stage runner's families
//! (`tunggal_stage_*`); `tunggal nightly --metrics-file PATH` writes them all to a
//! node-exporter textfile after every stage.
//!
//! | family | type | labels | what |
//! | --- | --- | --- | --- |
//! | `tunggal_ingest_rejected_total` | counter | `reason` (reject code) | packets rejected by this night's ingest |
//! | `tunggal_dedup_probes_total` | counter | | new enrollments searched 1:N |
//! | `tunggal_dedup_comparisons_total` | counter | | full person comparisons behind the index |
//! | `tunggal_dedup_candidates_total` | counter | `band` (`match`, `possible`) | candidate pairs found |
//! | `tunggal_personalization_jobs_total` | counter | | personalization job files written |
//! | `tunggal_personalization_cards_total` | counter | `reason` (`new`, `reissue`) | cards in them |
//! | `tunggal_adjudication_cases_created_total` | counter | | adjudication cases opened |
//! | `tunggal_adjudication_decisions_synced_total` | counter | | final decisions taken into the lake |
//! | `tunggal_sla_enrollments` | gauge | `state` (`at_risk`, `breached`) | enrollments without a 1:N result past 20 h / 24 h after capture |
//!
//! Counters count what this process (one night) did; a textfile is rewritten by each night, so
//! Prometheus sees a reset per night, which `increase()` handles. Labels are small
//! vocabularies only: never a NIK, a name, an enrollment, packet or run id.

use std::sync::Once;

use chrono::Utc;

/// Describes the families once (HELP and TYPE lines of the exposition).
fn describe() {
    static ONCE: Once = Once::new();
    lake::metrics::handle();
    ONCE.call_once(|| {
        metrics::describe_counter!(
            "tunggal_ingest_rejected_total",
            "Packets rejected by ingest, by reject reason code."
        );
        metrics::describe_counter!(
            "tunggal_dedup_probes_total",
            "New enrollments searched 1:N against the gallery."
        );
        metrics::describe_counter!(
            "tunggal_dedup_comparisons_total",
            "Full person comparisons run behind the index shortlist."
        );
        metrics::describe_counter!(
            "tunggal_dedup_candidates_total",
            "Candidate pairs found by dedup, by score band (match, possible)."
        );
        metrics::describe_counter!(
            "tunggal_personalization_jobs_total",
            "Personalization job files written (one per regency/city and export run)."
        );
        metrics::describe_counter!(
            "tunggal_personalization_cards_total",
            "Cards in the personalization jobs written, by reason (new, reissue)."
        );
        metrics::describe_counter!(
            "tunggal_adjudication_cases_created_total",
            "Adjudication cases opened for suspected duplicates and NIK conflicts."
        );
        metrics::describe_counter!(
            "tunggal_adjudication_decisions_synced_total",
            "Adjudicators' final decisions taken into the lake."
        );
        metrics::describe_gauge!(
            "tunggal_sla_enrollments",
            "Enrollments still without a 1:N result, by SLA state: at_risk (captured more than \
             20 h ago) and breached (more than 24 h)."
        );
        metrics::describe_gauge!(
            "tunggal_sla_measured_timestamp_seconds",
            metrics::Unit::Seconds,
            "Unix time at which tunggal_sla_enrollments was measured."
        );
    });
}

/// Records ingest's rejects by reason code.
pub fn record_ingest(summary: &ingest::IngestSummary) {
    describe();
    for (reason, n) in &summary.by_reason {
        metrics::counter!("tunggal_ingest_rejected_total", "reason" => reason.clone())
            .increment(*n as u64);
    }
}

/// Records dedup's probes, comparisons and candidates.
pub fn record_dedup(summary: &dedup::DedupSummary) {
    describe();
    metrics::counter!("tunggal_dedup_probes_total").increment(summary.probes);
    metrics::counter!("tunggal_dedup_comparisons_total").increment(summary.full_comparisons);
    metrics::counter!("tunggal_dedup_candidates_total", "band" => "match")
        .increment(summary.matches);
    metrics::counter!("tunggal_dedup_candidates_total", "band" => "possible")
        .increment(summary.possible);
}

/// Records an adjudication sync: cases opened and decisions taken into the lake.
pub fn record_sync(summary: &adjudication::SyncSummary) {
    describe();
    metrics::counter!("tunggal_adjudication_cases_created_total")
        .increment(summary.cases.created as u64);
    metrics::counter!("tunggal_adjudication_decisions_synced_total")
        .increment(summary.decisions_exported as u64);
}

/// Records the export's jobs and cards.
pub fn record_export(summary: &personalization_export::ExportSummary) {
    describe();
    metrics::counter!("tunggal_personalization_jobs_total").increment(summary.jobs.len() as u64);
    metrics::counter!("tunggal_personalization_cards_total", "reason" => "new")
        .increment(summary.new_cards as u64);
    metrics::counter!("tunggal_personalization_cards_total", "reason" => "reissue")
        .increment(summary.reissues as u64);
}

/// Measures the SLA gauge now (the query of `tunggal status`, [`crate::status::sla`]).
pub async fn record_sla(store: &lake::Store) -> Result<(), crate::status::StatusError> {
    describe();
    let ctx = lake::sql_context(store)
        .await
        .map_err(|error| crate::status::StatusError {
            what: "opening the lake",
            error,
        })?;
    let now = Utc::now();
    let (_, sla) = crate::status::sla(&ctx, now).await?;
    metrics::gauge!("tunggal_sla_enrollments", "state" => "at_risk").set(sla.at_risk as f64);
    metrics::gauge!("tunggal_sla_enrollments", "state" => "breached").set(sla.breached as f64);
    metrics::gauge!("tunggal_sla_measured_timestamp_seconds").set(now.timestamp() as f64);
    Ok(())
}
