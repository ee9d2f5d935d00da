//! Validating one landed object: the byte-level checks of [`packet::open`], then the registry
//! checks that need the station registry and the SIAK extract.
//!
//! This is the CPU-bound part of ingest (unzip, SHA-256, Ed25519, template parsing) and is a
//! pure function of the object bytes and the registry, so it runs on the rayon pool and
//! gives the same verdict on every re-run. Duplicate detection is *not* here: it depends on
//! the order of packets and is done sequentially by the caller (see `chunk`).
//!
//! Registry check order: station known → signature → station active at capture time → site
//! (station's registered site, landing folder) → NIK in SIAK → biodata agrees with SIAK →
//! resident is *wajib KTP* on the capture date. Rejection sentences name fields, never
//! values: they are logged and shown to service points.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use packet::{Limits, Packet, ReasonCode, Rejection};
use reference::stations::Activity;
use sha2::{Digest, Sha256};

use crate::registry::Registry;

/// An object fetched from `landing/`.
#[derive(Clone, Debug)]
pub struct Landed {
    /// Path relative to the store root.
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// Last-modified time in the store.
    pub received: DateTime<Utc>,
    /// The whole object.
    pub bytes: Bytes,
}

/// The outcome of validating one object.
#[derive(Debug)]
pub struct Checked {
    /// The object that was checked (bytes dropped once checked, to bound memory).
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// Last-modified time in the store.
    pub received: DateTime<Utc>,
    /// Lowercase hex SHA-256 of the whole object.
    pub sha256: String,
    /// The parsed packet, or why it was refused.
    pub verdict: Result<Box<Packet>, Rejection>,
    /// The matcher's prepared form of each captured finger (by ISO position), computed here
    /// on the rayon pool because it is the costliest step of extraction.
    pub prepared: BTreeMap<u8, Vec<u8>>,
}

/// Runs every check on one landed object.
pub fn check(landed: Landed, registry: &Registry, limits: &Limits) -> Checked {
    let verdict = packet::open(&landed.bytes, limits)
        .and_then(|p| registry_checks(&p, &landed.path, registry).map(|()| Box::new(p)));
    let sha256 = match &verdict {
        Ok(p) => p.sha256_hex(),
        Err(_) => hex::encode(Sha256::digest(&landed.bytes)),
    };
    let prepared = match &verdict {
        Ok(p) => p
            .fingers
            .iter()
            .filter_map(|(&position, t)| {
                let view = t.record.views.first()?;
                let prepared = biometrics::finger::prepare(view, t.record.res_x, t.record.res_y);
                Some((position, prepared.to_bytes()))
            })
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    Checked {
        path: landed.path,
        size: landed.size,
        received: landed.received,
        sha256,
        verdict,
        prepared,
    }
}

fn reject(code: ReasonCode, detail: impl Into<String>) -> Result<(), Rejection> {
    Err(Rejection::new(code, detail))
}

/// The checks that need the registries, in the documented order.
pub fn registry_checks(p: &Packet, path: &str, registry: &Registry) -> Result<(), Rejection> {
    let m = &p.manifest;
    let Some(station) = registry.station(&m.station_id) else {
        return reject(
            ReasonCode::UnknownStation,
            format!("station {} is not in the station registry", m.station_id),
        );
    };
    let key = station
        .public_key_bytes()
        .ok()
        .and_then(|b| VerifyingKey::from_bytes(&b).ok());
    let Some(key) = key else {
        return reject(
            ReasonCode::BadSignature,
            format!(
                "the registered key of station {} is not a valid Ed25519 public key",
                m.station_id
            ),
        );
    };
    p.verify_signature(&key)?;
    match station.activity_at(m.capture_started_at) {
        Activity::Active => {}
        Activity::NotYetActive => {
            return reject(
                ReasonCode::StationNotYetActive,
                format!(
                    "the capture started before station {} entered service",
                    m.station_id
                ),
            )
        }
        Activity::Retired => {
            return reject(
                ReasonCode::StationRetired,
                format!(
                    "the capture started after station {} was retired",
                    m.station_id
                ),
            )
        }
    }
    if station.site != m.site {
        return reject(
            ReasonCode::SiteMismatch,
            format!(
                "the manifest's site {} is not the registered site {} of station {}",
                m.site, station.site, m.station_id
            ),
        );
    }
    if let Some(folder) = landing_site(path) {
        if folder != m.site {
            return reject(
                ReasonCode::SiteMismatch,
                format!(
                    "the manifest's site {} differs from the landing folder {folder}",
                    m.site
                ),
            );
        }
    }
    let b = &p.biodata;
    let Some(resident) = registry.resident(b.nik.as_str()) else {
        return reject(
            ReasonCode::NikNotInSiak,
            "no resident with the biodata's NIK is in the SIAK extract",
        );
    };
    let mut differing = Vec::new();
    if b.name != resident.name {
        differing.push("name");
    }
    if b.birth_date != resident.birth_date {
        differing.push("birth_date");
    }
    if b.sex != resident.sex {
        differing.push("sex");
    }
    if b.kk_number != resident.kk_number {
        differing.push("kk_number");
    }
    if !differing.is_empty() {
        return reject(
            ReasonCode::BiodataSiakMismatch,
            format!(
                "biodata.json differs from the SIAK record in: {}",
                differing.join(", ")
            ),
        );
    }
    if !resident.is_wajib_ktp(m.capture_started_at.date_naive()) {
        return reject(
            ReasonCode::NotWajibKtp,
            "the resident is under 17 and has never married on the capture date",
        );
    }
    Ok(())
}

/// The `<site>` folder of `landing/<site>/<date>/<file>` when it has the shape of a site code
/// (`PP.KK.CC`); `None` for any other layout.
pub fn landing_site(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    if parts.next()? != "landing" {
        return None;
    }
    let site = parts.next()?;
    packet::manifest::valid_site_code(site).then_some(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_site_reads_only_the_documented_layout() {
        assert_eq!(
            landing_site("landing/33.74.01/2024-05-01/abc.zip"),
            Some("33.74.01")
        );
        assert_eq!(landing_site("landing/anything/abc.zip"), None);
        assert_eq!(landing_site("elsewhere/33.74.01/x.zip"), None);
    }

    #[test]
    fn garbage_is_rejected_as_corrupt_zip_with_its_hash() {
        let landed = Landed {
            path: "landing/33.74.01/2024-05-01/x.zip".into(),
            size: 5,
            received: Utc::now(),
            bytes: Bytes::from_static(b"hello"),
        };
        let checked = check(landed, &Registry::default(), &Limits::default());
        let rejection = checked.verdict.unwrap_err();
        assert_eq!(rejection.code, ReasonCode::CorruptZip);
        assert_eq!(
            checked.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
