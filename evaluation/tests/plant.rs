//! Planting clusters from synth truth: every fraud duplicate synth planted becomes a `ganda`
//! cluster named as dedup names its clusters, and every other enrollment is `tunggal`.

use dedup::status::cluster_id_for;

#[tokio::test(flavor = "multi_thread")]
async fn planted_clusters_carry_dedup_cluster_ids_and_cover_every_enrollment() {
    let dir = tempfile::tempdir().unwrap();
    let store = lake::Store::open_folder(dir.path()).unwrap();
    let mut config = synth::SynthConfig::new(40, 11);
    config.duplicate_rate = 0.1;
    config.bad_rate = 0.0;
    config.progress = synth::ProgressMode::Quiet;
    let root = synth::object_store::path::Path::from("");
    synth::run(&config, store.objects().as_ref(), &root)
        .await
        .unwrap();
    let options = ingest::IngestOptions {
        progress_bar: false,
        ..Default::default()
    };
    ingest::ingest(&store, &options).await.unwrap();

    let planted = evaluation::plant::plant_from_synth_truth(&store)
        .await
        .unwrap();
    assert!(!planted.is_empty(), "synth planted no fraud duplicate");

    let ctx = lake::lake_context(&store).await.unwrap();
    let enrolled = dedup::load::enrollees(&ctx).await.unwrap();
    let statuses = dedup::load::statuses(&ctx).await.unwrap();
    let clusters = dedup::load::clusters(&ctx).await.unwrap();
    assert_eq!(statuses.len(), enrolled.len());
    for id in &planted {
        let members: Vec<&String> = clusters
            .iter()
            .filter(|(_, (c, _))| c == id)
            .map(|(m, _)| m)
            .collect();
        assert!(members.len() >= 2, "cluster {id}: {members:?}");
        assert!(
            members.iter().any(|m| cluster_id_for(m) == *id),
            "cluster {id} is not named after a member"
        );
        let ganda = members
            .iter()
            .filter(|m| statuses[m.as_str()].status == lake::vocabulary::IdentityStatus::Ganda)
            .count();
        assert_eq!(ganda, members.len() - 1, "cluster {id}");
    }
}
