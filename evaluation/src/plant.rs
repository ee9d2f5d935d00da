//! Planting duplicate clusters in a lake without running dedup, for tests and demonstrations
//! of the console: given groups of packet ids known to be one person (synth's truth), writes
//! the `clusters`, `identity_status` and `match_candidates` rows dedup would write, with the
//! cluster ids dedup would give them ([`dedup::status::cluster_id_for`]).
//!
//! Not used by any pipeline stage; the nightly job's own dedup writes these tables.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use dedup::status::cluster_id_for;
use lake::tables::enrollments::enrollment_id_for;
use lake::tables::{clusters, identity_status, match_candidates, status_history};
use lake::vocabulary::{Band, CandidateSource, IdentityStatus, Relation};
use lake::{Store, Table};
use synth::truth::TruthRow;

use crate::error::Result;

/// A planted cluster: packets of one person and the status the later ones get.
#[derive(Clone, Debug)]
pub struct PlantedCluster {
    /// Packet ids, earliest enrollment first; the first one is `tunggal`, the others get
    /// `status`.
    pub packet_ids: Vec<String>,
    /// `ganda` or `nik_conflict`.
    pub status: IdentityStatus,
}

/// Writes `clusters` and `identity_status` (every other enrollment `tunggal`) in whole, and
/// appends one `match` candidate per later member; returns the cluster ids.
pub async fn plant_clusters(store: &Store, planted: &[PlantedCluster]) -> Result<Vec<String>> {
    let ctx = lake::lake_context(store).await?;
    let enrolled: Vec<String> = dedup::load::enrollees(&ctx)
        .await?
        .into_iter()
        .map(|e| e.enrollment_id)
        .collect();
    let accepted: HashSet<&str> = enrolled.iter().map(String::as_str).collect();
    let now = Utc::now();
    let run_id = "fixture-run".to_string();
    let mut cluster_rows = Vec::new();
    let mut status_rows = Vec::new();
    let mut candidate_rows = Vec::new();
    let mut in_cluster = HashSet::new();
    let mut cluster_ids = Vec::new();
    for p in planted {
        let members: Vec<String> = p
            .packet_ids
            .iter()
            .map(|packet_id| enrollment_id_for(packet_id))
            .filter(|id| accepted.contains(id.as_str()))
            .collect();
        if members.len() < 2 {
            continue;
        }
        let cluster_id = cluster_id_for(&members[0]);
        cluster_ids.push(cluster_id.clone());
        for (i, m) in members.iter().enumerate() {
            in_cluster.insert(m.clone());
            cluster_rows.push(clusters::ClusterRecord {
                cluster_id: cluster_id.clone(),
                enrollment_id: m.clone(),
                cluster_size: members.len() as i32,
                created: now,
                run_id: run_id.clone(),
            });
            status_rows.push(identity_status::IdentityStatusRecord {
                enrollment_id: m.clone(),
                status: if i == 0 {
                    IdentityStatus::Tunggal
                } else {
                    p.status
                },
                cluster_id: Some(cluster_id.clone()),
                since: now,
                run_id: run_id.clone(),
                first_run_id: run_id.clone(),
                first_result_time: now,
                detail: None,
            });
            if i > 0 {
                candidate_rows.push(match_candidates::MatchCandidateRecord {
                    run_id: run_id.clone(),
                    probe_id: m.clone(),
                    candidate_id: members[0].clone(),
                    candidate_source: CandidateSource::Gallery,
                    relation: if p.status == IdentityStatus::NikConflict {
                        Relation::SameNik
                    } else {
                        Relation::DifferentNik
                    },
                    llr: 40.0,
                    band: Band::Match,
                    finger_llr: 30.0,
                    iris_llr: 10.0,
                    fingers_compared: 10,
                    irises_compared: 2,
                    swapped: None,
                    parts: "{}".into(),
                    created: now,
                });
            }
        }
    }
    for id in enrolled {
        if !in_cluster.contains(&id) {
            status_rows.push(identity_status::IdentityStatusRecord {
                enrollment_id: id,
                status: IdentityStatus::Tunggal,
                cluster_id: None,
                since: now,
                run_id: run_id.clone(),
                first_run_id: run_id.clone(),
                first_result_time: now,
                detail: None,
            });
        }
    }
    let history = status_history::rows_for(&status_rows, &cluster_rows, |_| None, now, &run_id);
    lake::delta::overwrite(
        store,
        Table::StatusHistory,
        vec![status_history::to_batch(&history)?],
    )
    .await?;
    lake::delta::append(
        store,
        Table::MatchCandidates,
        vec![match_candidates::to_batch(&candidate_rows)?],
        None,
    )
    .await?;
    Ok(cluster_ids)
}

/// Plants one `ganda` cluster per person that synth enrolled under two or more NIKs (its
/// planted fraud duplicates), read from `synth-truth/enrollees/*.csv`; returns the cluster ids.
pub async fn plant_from_synth_truth(store: &Store) -> Result<Vec<String>> {
    let truth = crate::truth::enrollees(store).await?;
    plant_clusters(store, &fraud_clusters(truth)).await
}

/// One `ganda` cluster per person with accepted packets under two or more NIKs, the planted
/// fraud copies last (they are the enrollments under question), persons in id order.
fn fraud_clusters(truth: Vec<TruthRow>) -> Vec<PlantedCluster> {
    let mut by_person: BTreeMap<String, Vec<TruthRow>> = BTreeMap::new();
    for row in truth.into_iter().filter(|r| !r.case.starts_with("bad:")) {
        by_person
            .entry(row.person_id.clone())
            .or_default()
            .push(row);
    }
    by_person
        .into_values()
        .filter(|rows| {
            let niks: HashSet<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
            rows.len() >= 2 && niks.len() >= 2
        })
        .map(|mut rows| {
            rows.sort_by_key(|r| (r.case == "fraud_duplicate", r.packet_id.clone()));
            PlantedCluster {
                packet_ids: rows.into_iter().map(|r| r.packet_id).collect(),
                status: IdentityStatus::Ganda,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(packet: &str, person: &str, nik: &str, case: &str) -> TruthRow {
        TruthRow {
            object_path: format!("landing/{packet}.zip"),
            packet_id: packet.into(),
            person_id: person.into(),
            nik: nik.into(),
            case: case.into(),
        }
    }

    #[test]
    fn a_person_under_two_niks_is_one_cluster_with_the_fraud_copy_last() {
        let planted = fraud_clusters(vec![
            row("p3", "a", "n2", "fraud_duplicate"),
            row("p1", "a", "n1", "unique"),
            row("p2", "b", "n3", "unique"),
            row("p4", "b", "n3", "reenrollment"),
            row("p5", "c", "n4", "unique"),
            row("p6", "c", "", "bad:ZIP_CORRUPT"),
        ]);
        assert_eq!(planted.len(), 1, "{planted:?}");
        assert_eq!(planted[0].packet_ids, ["p1", "p3"]);
        assert_eq!(planted[0].status, IdentityStatus::Ganda);
    }
}
