//! Test fixtures for ingest: a store with a station registry, a SIAK extract and landed
//! packets of every kind (valid, and one per rejection the registry checks can raise), built
//! with the real packet writer and real ISO 19794-2 / IrisCode encoders.
//!
//! Fixtures are made here rather than pasted: each packet is a real signed zip.

#![allow(dead_code)]

#[path = "../../../tests/support/s3_server.rs"]
pub mod s3;

use biometrics::iris::{Eye as IrisEye, IrisCode};
use biometrics::iso19794::{FingerRecord, FingerView, Minutia, MinutiaKind};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate};
use ed25519_dalek::SigningKey;
use packet::{Biodata, Devices, Eye, MissingReason, PacketBuilder, PacketHeader};
use reference::{
    BloodType, Citizenship, FamilyRelation, KkNumber, MaritalStatus, Nik, Religion, Resident, Sex,
    Station,
};

/// The site (district) of every fixture station.
pub const SITE: &str = "32.73.05";
/// The station in service.
pub const STATION: &str = "327305-st-01";
/// A station retired on 2025-01-01.
pub const RETIRED_STATION: &str = "327305-st-02";

/// Signing key of a fixture station.
pub fn key(station: &str) -> SigningKey {
    let seed = if station == STATION { 7 } else { 9 };
    SigningKey::from_bytes(&[seed; 32])
}

fn ts(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// A capture start inside ingest's default window for a packet landed now: yesterday
/// 09:15 WIB (the same all day, so a packet built twice is the same bytes).
pub fn recent_capture() -> DateTime<FixedOffset> {
    let wib = FixedOffset::east_opt(7 * 3600).unwrap();
    let yesterday = chrono::Utc::now().with_timezone(&wib).date_naive() - chrono::Duration::days(1);
    yesterday
        .and_hms_opt(9, 15, 0)
        .unwrap()
        .and_local_timezone(wib)
        .unwrap()
}

/// The station registry: one active, one retired.
pub fn stations() -> Vec<Station> {
    vec![
        Station {
            station_id: STATION.into(),
            site: SITE.into(),
            public_key: hex::encode(key(STATION).verifying_key().to_bytes()),
            active_from: ts("2024-01-01T00:00:00+07:00"),
            active_to: None,
        },
        Station {
            station_id: RETIRED_STATION.into(),
            site: SITE.into(),
            public_key: hex::encode(key(RETIRED_STATION).verifying_key().to_bytes()),
            active_from: ts("2020-01-01T00:00:00+07:00"),
            active_to: Some(ts("2025-01-01T00:00:00+07:00")),
        },
    ]
}

/// Resident number `i` (1-based): alternating sex, adult, in SITE.
pub fn resident(i: u16) -> Resident {
    let sex = if i.is_multiple_of(2) {
        Sex::Female
    } else {
        Sex::Male
    };
    let birth = NaiveDate::from_ymd_opt(
        1970 + i32::from(i % 30),
        1 + u32::from(i % 12),
        1 + u32::from(i % 28),
    )
    .unwrap();
    Resident {
        nik: Nik::new(SITE, birth, sex, i).unwrap(),
        kk_number: KkNumber::new(SITE, NaiveDate::from_ymd_opt(2015, 6, 20).unwrap(), i).unwrap(),
        name: format!("Warga {i}"),
        sex,
        birth_place: "Kota Bandung".into(),
        birth_date: birth,
        blood_type: BloodType::O,
        religion: Religion::Islam,
        marital_status: MaritalStatus::Kawin,
        occupation: "KARYAWAN SWASTA".into(),
        citizenship: Citizenship::Wni,
        address: "Jl. Cihampelas No. 10".into(),
        rt: 1,
        rw: 4,
        village_code: "32.73.05.1001".into(),
        district_code: SITE.into(),
        regency_code: "32.73".into(),
        province_code: "32".into(),
        mother_name: "Ibu".into(),
        father_name: "Bapak".into(),
        family_relation: FamilyRelation::Head,
    }
}

fn fmr(position: u8, seed: u16) -> Vec<u8> {
    FingerRecord {
        capture_equipment: 0,
        width: 400,
        height: 500,
        res_x: 197,
        res_y: 197,
        views: vec![FingerView {
            position,
            view_number: 0,
            impression_type: 0,
            quality: 80,
            minutiae: (0..30u16)
                .map(|i| Minutia {
                    kind: if i % 2 == 0 {
                        MinutiaKind::RidgeEnding
                    } else {
                        MinutiaKind::Bifurcation
                    },
                    x: 20 + i * 11 + seed % 7,
                    y: 30 + i * 13,
                    angle: (i * 7) as u8,
                    quality: 60,
                })
                .collect(),
            extended: vec![],
        }],
    }
    .to_bytes()
}

fn irc(eye: Eye, seed: u16) -> Vec<u8> {
    IrisCode {
        eye: match eye {
            Eye::Right => IrisEye::Right,
            Eye::Left => IrisEye::Left,
        },
        quality: 90,
        code: std::array::from_fn(|i| {
            0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1 + u64::from(seed))
        }),
        mask: [u64::MAX; 32],
    }
    .to_bytes()
}

/// A packet builder for resident `i` captured at `station`; finger 10 and the left eye are
/// declared missing for every fifth resident.
pub fn builder(i: u16, station: &str, biodata: Biodata) -> PacketBuilder {
    builder_captured(i, station, biodata, recent_capture())
}

/// [`builder`] with the capture starting at `started` (and lasting 7.5 minutes).
pub fn builder_captured(
    i: u16,
    station: &str,
    biodata: Biodata,
    started: DateTime<FixedOffset>,
) -> PacketBuilder {
    let header = PacketHeader {
        packet_id: packet_id(i),
        site: SITE.into(),
        station_id: station.into(),
        operator_nik: Nik::parse("3273051201800001").unwrap(),
        capture_started_at: started,
        capture_ended_at: started + chrono::Duration::seconds(450),
        devices: Devices {
            finger_scanner: "FS-1".into(),
            iris_camera: "IC-1".into(),
            camera: "CAM-1".into(),
            signature_pad: "SP-1".into(),
        },
    };
    let mut b = PacketBuilder::new(header, biodata)
        .photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
        .signature_image(b"\x89PNG\r\n\x1a\nrest".to_vec());
    let partial = i.is_multiple_of(5);
    for p in 1..=10 {
        b = if partial && p == 10 {
            b.missing_finger(p, MissingReason::Amputated)
        } else {
            b.finger(p, fmr(p, i))
        };
    }
    b = b.iris(Eye::Right, irc(Eye::Right, i));
    if partial {
        b.missing_eye(Eye::Left, MissingReason::Unusable)
    } else {
        b.iris(Eye::Left, irc(Eye::Left, i))
    }
}

/// Packet id of resident `i`'s packet.
pub fn packet_id(i: u16) -> String {
    format!("pkt-{i:05}")
}

/// Landing path of a packet.
pub fn landing_path(id: &str) -> String {
    format!("landing/{SITE}/2026-11-02/{id}.zip")
}

/// A valid packet of resident `i`.
pub fn valid_packet(i: u16) -> Vec<u8> {
    builder(i, STATION, Biodata::from_resident(&resident(i)))
        .build(&key(STATION))
        .unwrap()
}

/// What a fixture store holds: how many objects should end accepted, and the expected
/// count per reason code.
#[derive(Debug, Default)]
pub struct Expected {
    /// Objects in landing/.
    pub objects: usize,
    /// Accepted packets.
    pub accepted: usize,
    /// Rejections by code.
    pub rejected: std::collections::BTreeMap<&'static str, usize>,
}

/// Writes the registries for residents `1..=residents` and lands `valid` valid packets plus
/// one packet for each rejection kind. Returns what ingest should conclude.
pub async fn populate(store: &lake::Store, residents: u16, valid: u16) -> Expected {
    assert!(
        valid + 5 <= residents,
        "need spare residents for the bad packets"
    );
    let mut csv = Vec::new();
    reference::stations::write_csv(&mut csv, &stations()).unwrap();
    store
        .put(
            &reference::stations::object_path("batch-1"),
            Bytes::from(csv),
        )
        .await
        .unwrap();
    // Resident `residents` is deliberately left out of SIAK.
    let siak: Vec<Resident> = (1..residents).map(resident).collect();
    let mut csv = Vec::new();
    reference::siak::write_csv(&mut csv, &siak).unwrap();
    store
        .put(&reference::siak::object_path("batch-1"), Bytes::from(csv))
        .await
        .unwrap();

    let mut expected = Expected::default();
    let land = |id: String, bytes: Vec<u8>| {
        let store = store.clone();
        async move {
            store
                .put(&landing_path(&id), Bytes::from(bytes))
                .await
                .unwrap();
        }
    };
    for i in 1..=valid {
        land(packet_id(i), valid_packet(i)).await;
    }
    expected.accepted = valid as usize;
    let mut reject = |code: &'static str| *expected.rejected.entry(code).or_default() += 1;

    // Same bytes as packet 1 at another path (sorting after it, so the copy is the duplicate).
    land("zz-copy-of-1".into(), valid_packet(1)).await;
    reject("DUPLICATE_PACKET");
    // Signed with the wrong key.
    let i = valid + 1;
    let bytes = builder(i, STATION, Biodata::from_resident(&resident(i)))
        .build(&key(RETIRED_STATION))
        .unwrap();
    land(packet_id(i), bytes).await;
    reject("BAD_SIGNATURE");
    // Station not in the registry.
    let i = valid + 2;
    let bytes = builder(i, "999999-none", Biodata::from_resident(&resident(i)))
        .build(&key(STATION))
        .unwrap();
    land(packet_id(i), bytes).await;
    reject("UNKNOWN_STATION");
    // Captured by a retired station.
    let i = valid + 3;
    let bytes = builder(i, RETIRED_STATION, Biodata::from_resident(&resident(i)))
        .build(&key(RETIRED_STATION))
        .unwrap();
    land(packet_id(i), bytes).await;
    reject("STATION_RETIRED");
    // Biodata sex contradicts the NIK.
    let i = valid + 4;
    let mut bio = Biodata::from_resident(&resident(i));
    bio.sex = if bio.sex == Sex::Male {
        Sex::Female
    } else {
        Sex::Male
    };
    let bytes = builder(i, STATION, bio).build(&key(STATION)).unwrap();
    land(packet_id(i), bytes).await;
    reject("BIODATA_NIK_MISMATCH");
    // NIK not in SIAK.
    let i = residents;
    let bytes = builder(i, STATION, Biodata::from_resident(&resident(i)))
        .build(&key(STATION))
        .unwrap();
    land(packet_id(i), bytes).await;
    reject("NIK_NOT_IN_SIAK");
    // Not a zip at all.
    land("garbage".into(), b"this is not a zip".to_vec()).await;
    reject("CORRUPT_ZIP");

    expected.objects = expected.accepted + expected.rejected.values().sum::<usize>();
    expected
}

/// `SELECT count(*)`-style scalar from a query over the lake.
pub async fn count(store: &lake::Store, sql: &str) -> i64 {
    let ctx = lake::sql_context(store).await.unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let batch = &batches[0];
    let column = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Int64).unwrap();
    column
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}
