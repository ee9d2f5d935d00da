//! Planting duplicate clusters in a lake without running dedup, for tests and demonstrations
//! of the console: given groups of packet ids known to be one person (synth's truth), writes
//! the `clusters`, `identity_status` and `match_candidates` rows dedup would write.
//!
//! Not used by any pipeline stage; the nightly job's own dedup writes these tables.

use chrono::Utc;
use lake::tables::{clusters, identity_status, match_candidates};
use lake::{Store, Table};

use crate::error::Result;
use crate::lakeview::{query, text};

/// A planted cluster: packets of one person and the status the later ones get.
#[derive(Clone, Debug)]
pub struct PlantedCluster {
    /// Packet ids, earliest enrollment first; the first one is `tunggal`, the others get
    /// `status`.
    pub packet_ids: Vec<String>,
    /// `ganda` or `nik_conflict`.
    pub status: String,
}

/// Writes `clusters` and `identity_status` (every other enrollment `tunggal`) in whole, and
/// appends one `match` candidate per later member; returns the cluster ids.
pub async fn plant_clusters(store: &Store, planted: &[PlantedCluster]) -> Result<Vec<String>> {
    let ctx = lake::lake_context(store).await?;
    let rows = query(&ctx, "SELECT enrollment_id, packet_id FROM enrollments").await?;
    let id_of: std::collections::HashMap<String, String> = rows
        .iter()
        .map(|r| (text(r, "packet_id"), text(r, "enrollment_id")))
        .collect();
    let now = Utc::now();
    let run_id = "fixture-run".to_string();
    let mut cluster_rows = Vec::new();
    let mut status_rows = Vec::new();
    let mut candidate_rows = Vec::new();
    let mut in_cluster = std::collections::HashSet::new();
    let mut cluster_ids = Vec::new();
    for p in planted {
        let members: Vec<String> = p
            .packet_ids
            .iter()
            .filter_map(|id| id_of.get(id).cloned())
            .collect();
        if members.len() < 2 {
            continue;
        }
        let cluster_id =
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, members[0].as_bytes()).to_string();
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
                    identity_status::TUNGGAL.to_string()
                } else {
                    p.status.clone()
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
                    candidate_source: "gallery".into(),
                    relation: if p.status == identity_status::NIK_CONFLICT {
                        "same_nik".into()
                    } else {
                        "different_nik".into()
                    },
                    llr: 40.0,
                    band: match_candidates::BAND_MATCH.into(),
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
    for r in &rows {
        let id = text(r, "enrollment_id");
        if !in_cluster.contains(&id) {
            status_rows.push(identity_status::IdentityStatusRecord {
                enrollment_id: id,
                status: identity_status::TUNGGAL.to_string(),
                cluster_id: None,
                since: now,
                run_id: run_id.clone(),
                first_run_id: run_id.clone(),
                first_result_time: now,
                detail: None,
            });
        }
    }
    lake::delta::overwrite(
        store,
        Table::Clusters,
        vec![clusters::to_batch(&cluster_rows)?],
    )
    .await?;
    lake::delta::overwrite(
        store,
        Table::IdentityStatus,
        vec![identity_status::to_batch(&status_rows)?],
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
    let mut by_person: std::collections::BTreeMap<String, Vec<(String, String, String)>> =
        Default::default();
    for object in store.list("synth-truth/enrollees/").await? {
        let bytes = store.get(object.location.as_ref()).await?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(p), Some(person), Some(nik), Some(case)) =
            (col("packet_id"), col("person_id"), col("nik"), col("case"))
        else {
            continue;
        };
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != header.len() || f[case].starts_with("bad:") {
                continue;
            }
            by_person.entry(f[person].to_string()).or_default().push((
                f[p].to_string(),
                f[nik].to_string(),
                f[case].to_string(),
            ));
        }
    }
    let planted: Vec<PlantedCluster> = by_person
        .into_values()
        .filter(|rows| {
            let niks: std::collections::HashSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
            rows.len() >= 2 && niks.len() >= 2
        })
        .map(|mut rows| {
            // The planted fraud copy goes last: it is the enrollment under question.
            rows.sort_by_key(|r| (r.2 == "fraud_duplicate", r.0.clone()));
            PlantedCluster {
                packet_ids: rows.into_iter().map(|r| r.0).collect(),
                status: identity_status::GANDA.to_string(),
            }
        })
        .collect();
    plant_clusters(store, &planted).await
}
