//! Validating one landed object: the byte-level checks of [`packet::open`], then the registry
//! checks that need the station registry and the SIAK extract.
//!
//! This is the CPU-bound part of ingest (unzip, SHA-256, Ed25519, template parsing) and is a
//! pure function of the object bytes and the registry, so it runs on the rayon pool and
//! gives the same verdict on every re-run. Duplicate detection is *not* here: it depends on
//! the order of packets and is done sequentially by the caller (see `chunk`).
//!
//! Registry check order: station known → signature → capture time inside the window around
//! the receipt (see [`crate::window`]) → station active at capture time and not retired longer
//! than the grace before the receipt → site (station's registered site, landing folder, which
//! must be a site code) → NIK in SIAK → biodata agrees with SIAK → resident is *wajib KTP* on
//! the capture date. Rejection sentences name fields, never values: they are logged and shown
//! to service points (the one value shown, a landing folder name, is escaped).

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use packet::{Limits, Packet, ReasonCode, Rejection};
use reference::stations::Activity;
use sha2::{Digest, Sha256};

use crate::registry::Registry;
use crate::window::CaptureWindow;

/// An object fetched from `landing/`.
#[derive(Clone, Debug)]
pub struct Landed {
    /// Path relative to the store root.
    pub path: String,
    /// Size in bytes (from the listing, or the bytes read when the object grew since).
    pub size: i64,
    /// Last-modified time in the store.
    pub received: DateTime<Utc>,
    /// The whole object; empty when `size` is over the packet size limit, because such an
    /// object is never read (see `pipeline`).
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

/// A landed object after the byte-level checks ([`open`]), before the registry checks
/// ([`finish`]): the registry of a chunk is read for the NIKs of its opened packets.
#[derive(Debug)]
pub struct Opened {
    /// Path relative to the store root.
    pub path: String,
    /// Size in bytes.
    pub size: i64,
    /// Last-modified time in the store.
    pub received: DateTime<Utc>,
    /// Lowercase hex SHA-256 of the whole object (empty when it was never read).
    pub sha256: String,
    /// The parsed packet, or why its bytes were refused.
    pub verdict: Result<Box<Packet>, Rejection>,
}

impl Opened {
    /// The NIK the packet's biodata names, when its bytes were accepted.
    pub fn nik(&self) -> Option<&str> {
        self.verdict.as_ref().ok().map(|p| p.biodata.nik.as_str())
    }
}

/// Runs every check on one landed object: [`open`], then [`finish`].
pub fn check(
    landed: Landed,
    registry: &Registry,
    limits: &Limits,
    window: &CaptureWindow,
) -> Checked {
    finish(open(landed, limits), registry, window)
}

/// The byte-level checks of one landed object ([`packet::open`]). An object over the packet
/// size limit is rejected `PACKET_TOO_LARGE` from its size alone; its `sha256` is empty since
/// it was never read. The bytes are dropped here.
pub fn open(landed: Landed, limits: &Limits) -> Opened {
    if landed.size as u64 > limits.max_packet_bytes {
        return Opened {
            verdict: Err(Rejection::new(
                ReasonCode::PacketTooLarge,
                format!(
                    "packet is {} bytes, the limit is {}; it was not read",
                    landed.size, limits.max_packet_bytes
                ),
            )),
            path: landed.path,
            size: landed.size,
            received: landed.received,
            sha256: String::new(),
        };
    }
    let verdict = packet::open(&landed.bytes, limits).map(Box::new);
    let sha256 = match &verdict {
        Ok(p) => p.sha256_hex(),
        Err(_) => hex::encode(Sha256::digest(&landed.bytes)),
    };
    Opened {
        path: landed.path,
        size: landed.size,
        received: landed.received,
        sha256,
        verdict,
    }
}

/// The registry checks of an opened object ([`registry_checks`]), then the matcher's prepared
/// form of each finger of an accepted packet. `registry` holds the residents of the object's
/// NIK (it may hold more).
pub fn finish(opened: Opened, registry: &Registry, window: &CaptureWindow) -> Checked {
    let Opened {
        path,
        size,
        received,
        sha256,
        verdict,
    } = opened;
    let verdict =
        verdict.and_then(|p| registry_checks(&p, &path, received, registry, window).map(|()| p));
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
        path,
        size,
        received,
        sha256,
        verdict,
        prepared,
    }
}

fn reject(code: ReasonCode, detail: impl Into<String>) -> Result<(), Rejection> {
    Err(Rejection::new(code, detail))
}

/// The checks that need the registries and the receipt time, in the documented order.
pub fn registry_checks(
    p: &Packet,
    path: &str,
    received: DateTime<Utc>,
    registry: &Registry,
    window: &CaptureWindow,
) -> Result<(), Rejection> {
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
    window.check(m, received)?;
    if let Some(active_to) = station.active_to {
        if window.received_after_retirement(active_to, received) {
            return reject(
                ReasonCode::StationRetired,
                format!(
                    "the packet was received more than {} days after station {} was retired",
                    window.retirement_grace.num_days(),
                    m.station_id
                ),
            );
        }
    }
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
    let folder = landing_site(path)?;
    if folder != m.site {
        return reject(
            ReasonCode::SiteMismatch,
            format!(
                "the manifest's site {} differs from the landing folder {folder}",
                m.site
            ),
        );
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

/// The `<site>` folder of `landing/<site>/…/<file>`, which must be a site code (`PP.KK.CC`):
/// a packet anywhere else in `landing/` is rejected `SITE_MISMATCH` rather than let past the
/// folder check.
pub fn landing_site(path: &str) -> Result<&str, Rejection> {
    let mut parts = path.split('/');
    let (Some("landing"), Some(site), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Rejection::new(
            ReasonCode::SiteMismatch,
            "the packet is not inside a landing/<site>/ folder",
        ));
    };
    if !packet::manifest::valid_site_code(site) {
        return Err(Rejection::new(
            ReasonCode::SiteMismatch,
            format!(
                "the landing folder {} is not a site code PP.KK.CC",
                printable(site)
            ),
        ));
    }
    Ok(site)
}

/// A bounded rendering of an untrusted name for a detail sentence: at most 64 characters,
/// quotes, backslashes, control and non-ASCII characters escaped.
pub fn printable(s: &str) -> String {
    let escaped: String = s.chars().take(64).flat_map(char::escape_default).collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_site_reads_only_the_documented_layout() {
        assert_eq!(
            landing_site("landing/33.74.01/2024-05-01/abc.zip"),
            Ok("33.74.01")
        );
        for bad in [
            "landing/anything/abc.zip",
            "landing/abc.zip",
            "elsewhere/33.74.01/x.zip",
        ] {
            let r = landing_site(bad).unwrap_err();
            assert_eq!(r.code, ReasonCode::SiteMismatch, "{bad}");
        }
        let r = landing_site("landing/\u{1b}[2J\nx/abc.zip").unwrap_err();
        assert!(!r.detail.chars().any(char::is_control), "{:?}", r.detail);
    }

    #[test]
    fn garbage_is_rejected_as_corrupt_zip_with_its_hash() {
        let landed = Landed {
            path: "landing/33.74.01/2024-05-01/x.zip".into(),
            size: 5,
            received: Utc::now(),
            bytes: Bytes::from_static(b"hello"),
        };
        let checked = check(
            landed,
            &Registry::default(),
            &Limits::default(),
            &CaptureWindow::default(),
        );
        let rejection = checked.verdict.unwrap_err();
        assert_eq!(rejection.code, ReasonCode::CorruptZip);
        assert_eq!(
            checked.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
