//! The ingest attacks of issue 20, each performed on a real store with real signed packets:
//! capture times outside the window around the receipt, a retired station's key signing a
//! back-dated packet, an oversized object, a packet outside a site folder, a hostile station
//! id, and a station registered twice. Each test fails on the code before the fix.

mod support;

use bytes::Bytes;
use chrono::{Duration, FixedOffset, Utc};
use ingest::{ingest, CaptureWindow, IngestOptions};
use packet::Biodata;
use support::{
    builder_captured, count, key, landing_path, packet_id, populate, recent_capture, resident,
    RETIRED_STATION, SITE, STATION,
};

fn options() -> IngestOptions {
    IngestOptions {
        progress_bar: false,
        ..IngestOptions::default()
    }
}

fn store_in(dir: &tempfile::TempDir) -> lake::Store {
    lake::Store::open(dir.path().to_str().unwrap()).unwrap()
}

/// Lands resident `i`'s packet from `station`, captured at `started`, under `path`.
async fn land_captured(
    store: &lake::Store,
    i: u16,
    station: &str,
    started: chrono::DateTime<FixedOffset>,
    path: &str,
) {
    let bytes = builder_captured(i, station, Biodata::from_resident(&resident(i)), started)
        .build(&key(station))
        .unwrap();
    store.put(path, Bytes::from(bytes)).await.unwrap();
}

/// How many `packets` rows have this path and reason code.
async fn rows_with(store: &lake::Store, path: &str, code: &str) -> i64 {
    count(
        store,
        &format!(
            "SELECT count(*) FROM packets WHERE object_path = '{path}' AND reason_code = '{code}'"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_after_their_receipt_or_long_before_it_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let wib = FixedOffset::east_opt(7 * 3600).unwrap();
    let now = Utc::now().with_timezone(&wib);
    let cases = [
        // Dated 2031: would make an under-17 resident wajib KTP and be exported.
        (10, now + Duration::days(1500), "CAPTURE_IN_FUTURE"),
        (11, now + Duration::hours(2), "CAPTURE_IN_FUTURE"),
        (12, now - Duration::days(45), "CAPTURE_TOO_OLD"),
        // Inside the window at both ends: accepted.
        (13, now - Duration::days(29), ""),
        (14, now - Duration::minutes(20), ""),
    ];
    for (i, started, _) in cases {
        land_captured(&store, i, STATION, started, &landing_path(&packet_id(i))).await;
    }
    ingest(&store, &options()).await.unwrap();
    for (i, _, code) in cases {
        let path = landing_path(&packet_id(i));
        if code.is_empty() {
            let sql = format!(
                "SELECT count(*) FROM packets WHERE object_path = '{path}' AND status = 'accepted'"
            );
            assert_eq!(count(&store, &sql).await, 1, "resident {i} not accepted");
        } else {
            assert_eq!(
                rows_with(&store, &path, code).await,
                1,
                "resident {i}: {code}"
            );
        }
    }
}

/// The retired station's key (retired 2025-01-01) signs a packet back-dated into its active
/// period. Even with the upload-delay window widened to let the date pass, the packet is
/// rejected: it was received long after the retirement plus the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_station_cannot_sign_a_back_dated_packet() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let back_dated = chrono::DateTime::parse_from_rfc3339("2024-12-02T10:00:00+07:00").unwrap();
    let path = landing_path("back-dated");
    land_captured(&store, 10, RETIRED_STATION, back_dated, &path).await;
    let mut wide = options();
    wide.window = CaptureWindow {
        max_upload_delay: Duration::days(3650),
        ..CaptureWindow::default()
    };
    ingest(&store, &wide).await.unwrap();
    assert_eq!(rows_with(&store, &path, "STATION_RETIRED").await, 1);
    let detail = count(
        &store,
        &format!(
            "SELECT count(*) FROM packets WHERE object_path = '{path}' \
             AND reason_detail LIKE '%received more than 14 days after%'"
        ),
    )
    .await;
    assert_eq!(detail, 1);
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A 1.5 GiB object (sparse, so it costs no disk) used to be read whole before its size was
/// checked; now the listing's size rejects it and it is never read.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_over_the_size_limit_is_rejected_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let path = landing_path("huge");
    let file = dir.path().join(&path);
    let huge = 1536 * 1024 * 1024u64;
    std::fs::File::create(&file).unwrap().set_len(huge).unwrap();
    let summary = ingest(&store, &options()).await.unwrap();
    assert_eq!(summary.by_reason.get("PACKET_TOO_LARGE"), Some(&1));
    assert_eq!(rows_with(&store, &path, "PACKET_TOO_LARGE").await, 1);
    let sized =
        format!("SELECT count(*) FROM packets WHERE object_path = '{path}' AND size = {huge}");
    assert_eq!(count(&store, &sized).await, 1);
    let peak = peak_rss();
    assert!(
        peak < 1024 * 1024 * 1024,
        "ingest peaked at {} MiB: the object was read",
        peak >> 20
    );
}

/// A valid packet placed outside any `landing/<site>/` folder used to skip the folder check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_outside_a_site_folder_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let outside = format!("landing/uploads/{}.zip", packet_id(10));
    land_captured(&store, 10, STATION, recent_capture(), &outside).await;
    let flat = format!("landing/{}.zip", packet_id(11));
    land_captured(&store, 11, STATION, recent_capture(), &flat).await;
    let fine = format!("landing/{SITE}/any-date/{}.zip", packet_id(12));
    land_captured(&store, 12, STATION, recent_capture(), &fine).await;
    ingest(&store, &options()).await.unwrap();
    assert_eq!(rows_with(&store, &outside, "SITE_MISMATCH").await, 1);
    assert_eq!(rows_with(&store, &flat, "SITE_MISMATCH").await, 1);
    let sql = format!(
        "SELECT count(*) FROM packets WHERE object_path = '{fine}' AND status = 'accepted'"
    );
    assert_eq!(count(&store, &sql).await, 1);
}

/// A station id carrying terminal escapes and a line break is rejected at the manifest, and
/// nothing of it reaches `reason_detail`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_station_id_never_reaches_reason_detail() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let hostile = "327305\u{1b}[2K\rFORGED\nok";
    let path = landing_path("hostile-station");
    let bytes = builder_captured(
        10,
        hostile,
        Biodata::from_resident(&resident(10)),
        recent_capture(),
    )
    .build(&key(STATION))
    .unwrap();
    store.put(&path, Bytes::from(bytes)).await.unwrap();
    ingest(&store, &options()).await.unwrap();
    assert_eq!(rows_with(&store, &path, "BAD_MANIFEST").await, 1);
    let leaked = count(
        &store,
        "SELECT count(*) FROM packets WHERE reason_detail LIKE '%FORGED%' \
         OR strpos(reason_detail, chr(27)) > 0 OR strpos(reason_detail, chr(10)) > 0",
    )
    .await;
    assert_eq!(leaked, 0);
}

/// A second registry file re-registering the active station with another key (and so the
/// power to sign its packets) used to win silently; now the run stops with a registry error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_registered_in_two_files_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    populate(&store, 20, 2).await;
    let mut rogue = support::stations();
    rogue.truncate(1);
    rogue[0].public_key = hex::encode(key(RETIRED_STATION).verifying_key().to_bytes());
    let mut csv = Vec::new();
    reference::stations::write_csv(&mut csv, &rogue).unwrap();
    store
        .put(
            &reference::stations::object_path("zz-rogue"),
            Bytes::from(csv),
        )
        .await
        .unwrap();
    let err = ingest(&store, &options()).await.unwrap_err().to_string();
    assert!(err.contains(STATION), "{err}");
    assert!(
        err.contains("batch-1.csv") && err.contains("zz-rogue.csv"),
        "{err}"
    );
}
