//! The enrollment-station registry: which station may sign packets, with which key, when.
//!
//! A station is one capture workstation at a site (a district office, kecamatan). Its Ed25519
//! public key verifies the `manifest.sig` of every packet it sends. In the object store the
//! registry lives under [`STORE_PREFIX`] (`reference/stations/`) as CSV files `<batch>.csv`
//! with [`COLUMNS`]; the union of the files is the registry.

use crate::csvio::{self, CsvError};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Folder (relative to the store root, with trailing slash) holding the station registry.
pub const STORE_PREFIX: &str = "reference/stations/";

/// The CSV columns of a registry file, in order (the field names of [`Station`]).
pub const COLUMNS: &[&str] = &[
    "station_id",
    "site",
    "public_key",
    "active_from",
    "active_to",
];

/// One registered enrollment station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    /// Registry-unique identifier, as written in a packet manifest's `station_id`.
    pub station_id: String,
    /// Dotted district code (`PP.KK.CC`) of the site where the station is installed.
    pub site: String,
    /// Ed25519 public key, 32 bytes as 64 lower-case hex digits.
    pub public_key: String,
    /// From when the station may sign packets (RFC 3339 with offset).
    pub active_from: DateTime<FixedOffset>,
    /// When the station was retired (empty while in service); packets captured after this
    /// are rejected.
    pub active_to: Option<DateTime<FixedOffset>>,
}

/// Whether a station could sign a capture made at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// In service at that time.
    Active,
    /// Capture is before the station's `active_from`.
    NotYetActive,
    /// Capture is at or after the station's `active_to`.
    Retired,
}

/// The registry's public key is not 32 bytes of hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("station public key must be 64 hex digits")]
pub struct BadPublicKey;

impl Station {
    /// The 32 raw bytes of the public key (for `ed25519_dalek::VerifyingKey::from_bytes`).
    pub fn public_key_bytes(&self) -> Result<[u8; 32], BadPublicKey> {
        let raw = hex::decode(&self.public_key).map_err(|_| BadPublicKey)?;
        raw.try_into().map_err(|_| BadPublicKey)
    }

    /// Whether the station was in service at `at` (a packet's capture start).
    pub fn activity_at(&self, at: DateTime<FixedOffset>) -> Activity {
        if at < self.active_from {
            Activity::NotYetActive
        } else if self.active_to.is_some_and(|to| at >= to) {
            Activity::Retired
        } else {
            Activity::Active
        }
    }
}

/// The object path of one registry file, relative to the store root.
pub fn object_path(batch: &str) -> String {
    format!("{STORE_PREFIX}{batch}.csv")
}

/// Reads one registry file (headed CSV with exactly [`COLUMNS`]).
pub fn read_csv<R: Read>(reader: R) -> Result<Vec<Station>, CsvError> {
    csvio::read_rows(reader, COLUMNS)
}

/// Writes stations as one registry file (headed CSV with [`COLUMNS`]).
pub fn write_csv<W: Write>(writer: W, stations: &[Station]) -> Result<(), CsvError> {
    csvio::write_rows(writer, stations, COLUMNS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn station(active_to: Option<&str>) -> Station {
        Station {
            station_id: "337401-a1b2c3-01".into(),
            site: "33.74.01".into(),
            public_key: "ab".repeat(32),
            active_from: ts("2025-01-01T00:00:00+07:00"),
            active_to: active_to.map(ts),
        }
    }

    #[test]
    fn csv_round_trip_with_and_without_retirement() {
        let rows = vec![station(None), station(Some("2026-06-30T17:00:00+07:00"))];
        let mut buf = Vec::new();
        write_csv(&mut buf, &rows).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with("station_id,site,public_key,active_from,active_to\n"));
        assert_eq!(read_csv(buf.as_slice()).unwrap(), rows);
        assert_eq!(object_path("b"), "reference/stations/b.csv");
    }

    #[test]
    fn activity_window() {
        let s = station(Some("2026-06-30T17:00:00+07:00"));
        assert_eq!(
            s.activity_at(ts("2024-12-31T23:00:00+07:00")),
            Activity::NotYetActive
        );
        assert_eq!(
            s.activity_at(ts("2026-03-01T09:00:00+07:00")),
            Activity::Active
        );
        assert_eq!(
            s.activity_at(ts("2026-06-30T17:00:00+07:00")),
            Activity::Retired
        );
        assert_eq!(
            station(None).activity_at(ts("2030-01-01T00:00:00Z")),
            Activity::Active
        );
    }

    #[test]
    fn public_key_must_be_32_bytes_of_hex() {
        assert_eq!(station(None).public_key_bytes().unwrap(), [0xab; 32]);
        let mut s = station(None);
        s.public_key = "abcd".into();
        assert_eq!(s.public_key_bytes(), Err(BadPublicKey));
        s.public_key = "zz".repeat(32);
        assert_eq!(s.public_key_bytes(), Err(BadPublicKey));
    }
}
