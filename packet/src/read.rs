//! Opening packets: [`open`] runs every check that needs only the packet bytes, in a fixed
//! order, and returns either a fully parsed [`Packet`] or the first [`Rejection`].
//!
//! Order: packet size → zip readable → zip laid out unambiguously ([`crate::layout`]) →
//! member names safe → member count, declared sizes →
//! inflate with hard caps → manifest and signature present → manifest schema and version →
//! member set against manifest → SHA-256s → biodata → images → templates. Nothing is ever
//! written to disk, so a hostile name can be rejected but never followed.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use crate::biodata::{schema_hint, Biodata};
use crate::layout;
use crate::limits::Limits;
use crate::manifest::{
    valid_packet_id, valid_site_code, valid_station_id, Eye, Manifest, FORMAT_VERSION,
    INDONESIAN_OFFSETS,
};
use crate::members;
use crate::reason::{ReasonCode, Rejection};
use crate::strict_json;
use crate::templates::{self, FingerTemplate, IrisTemplate};
use crate::write::sha256_hex;

/// A packet that passed every byte-level check, with its members parsed.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The exact `manifest.json` bytes (what the signature covers).
    pub manifest_bytes: Vec<u8>,
    /// The station's signature over `manifest_bytes` (not yet verified: see
    /// [`Packet::verify_signature`]).
    pub signature: Signature,
    /// The parsed biodata.
    pub biodata: Biodata,
    /// `photo.jpg` bytes.
    pub photo_jpg: Vec<u8>,
    /// `signature.png` bytes.
    pub signature_png: Vec<u8>,
    /// Finger records by ISO position (declared-missing fingers are absent).
    pub fingers: BTreeMap<u8, FingerTemplate>,
    /// Iris records by eye (declared-missing eyes are absent).
    pub irises: BTreeMap<Eye, IrisTemplate>,
    /// SHA-256 of the whole packet file, the identity used to spot re-uploads.
    pub sha256: [u8; 32],
}

impl Packet {
    /// Checks the station's signature over the manifest bytes (strict Ed25519 verification).
    /// Fails with `BAD_SIGNATURE`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), Rejection> {
        key.verify_strict(&self.manifest_bytes, &self.signature)
            .map_err(|_| {
                Rejection::new(
                    ReasonCode::BadSignature,
                    format!(
                        "manifest.sig does not verify against the registered key of station {}",
                        self.manifest.station_id
                    ),
                )
            })
    }

    /// Hex form of [`Packet::sha256`].
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// Shorthand for an `Err(Rejection)`.
fn reject<T>(code: ReasonCode, detail: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, detail))
}

/// Whether a raw member name is safe: relative, UTF-8, no `..`/`.`/empty components, no
/// backslash, drive letter or control character.
fn safe_name(raw: &[u8]) -> bool {
    let Ok(name) = std::str::from_utf8(raw) else {
        return false;
    };
    if name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains(':')
        || name.chars().any(char::is_control)
    {
        return false;
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    trimmed
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A printable, bounded rendering of a member name for details (names are not personal data,
/// but a hostile one could be huge or unprintable).
fn shown(raw: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(raw)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    format!("`{s}`")
}

/// Opens a packet and runs every check that needs only its bytes. Signature verification and
/// registry checks are left to the caller (see [`Packet::verify_signature`]).
pub fn open(bytes: &[u8], limits: &Limits) -> Result<Packet, Rejection> {
    if bytes.len() as u64 > limits.max_packet_bytes {
        return reject(
            ReasonCode::PacketTooLarge,
            format!(
                "packet is {} bytes, the limit is {}",
                bytes.len(),
                limits.max_packet_bytes
            ),
        );
    }
    let raw = read_members(bytes, limits)?;
    let Some(manifest_bytes) = raw.get(members::MANIFEST).cloned() else {
        return reject(ReasonCode::MissingMember, "manifest.json is absent");
    };
    let Some(sig_bytes) = raw.get(members::MANIFEST_SIG) else {
        return reject(ReasonCode::MissingSignature, "manifest.sig is absent");
    };
    let manifest = parse_manifest(&manifest_bytes)?;
    let signature = match <[u8; 64]>::try_from(sig_bytes.as_slice()) {
        Ok(b) => Signature::from_bytes(&b),
        Err(_) => {
            return reject(
                ReasonCode::BadSignature,
                format!(
                    "manifest.sig is {} bytes, an Ed25519 signature is 64",
                    sig_bytes.len()
                ),
            )
        }
    };
    check_member_set(&manifest, &raw)?;
    for (name, expected) in &manifest.members {
        let actual = sha256_hex(&raw[name]);
        if !actual.eq_ignore_ascii_case(expected) {
            return reject(
                ReasonCode::HashMismatch,
                format!("the SHA-256 of {name} differs from the manifest"),
            );
        }
    }
    let biodata = Biodata::from_json(&raw[members::BIODATA])?;
    let photo_jpg = raw[members::PHOTO].clone();
    if !photo_jpg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return reject(ReasonCode::MalformedImage, "photo.jpg is not a JPEG image");
    }
    let signature_png = raw[members::SIGNATURE_IMAGE].clone();
    if !signature_png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return reject(
            ReasonCode::MalformedImage,
            "signature.png is not a PNG image",
        );
    }
    let mut fingers = BTreeMap::new();
    let mut irises = BTreeMap::new();
    for (name, content) in &raw {
        if let Some(p) = members::finger_position(name) {
            fingers.insert(p, templates::parse_finger(p, content.clone())?);
        } else if let Some(eye) = members::iris_eye(name) {
            irises.insert(eye, templates::parse_iris(eye, content.clone())?);
        }
    }
    Ok(Packet {
        manifest,
        manifest_bytes,
        signature,
        biodata,
        photo_jpg,
        signature_png,
        fingers,
        irises,
        sha256: Sha256::digest(bytes).into(),
    })
}

/// Lists, size-checks and inflates every file member (directory entries are skipped).
fn read_members(bytes: &[u8], limits: &Limits) -> Result<BTreeMap<String, Vec<u8>>, Rejection> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        Rejection::new(
            ReasonCode::CorruptZip,
            format!("not a readable zip archive ({e})"),
        )
    })?;
    layout::check(bytes)?;
    if zip.len() > limits.max_members {
        return reject(
            ReasonCode::UnexpectedMember,
            format!(
                "packet has {} entries, at most {} are allowed",
                zip.len(),
                limits.max_members
            ),
        );
    }
    // Pass 1: names and declared sizes, without inflating anything.
    let mut declared_total: u64 = 0;
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| {
            Rejection::new(
                ReasonCode::CorruptZip,
                format!("entry {i} is unreadable ({e})"),
            )
        })?;
        let raw_name = entry.name_raw().to_vec();
        if !safe_name(&raw_name) || entry.is_symlink() {
            return reject(
                ReasonCode::UnsafePath,
                format!(
                    "member name {} is not a safe relative path",
                    shown(&raw_name)
                ),
            );
        }
        if entry.size() > limits.max_member_bytes {
            return reject(
                ReasonCode::MemberTooLarge,
                format!(
                    "member {} declares {} bytes, the limit is {}",
                    shown(&raw_name),
                    entry.size(),
                    limits.max_member_bytes
                ),
            );
        }
        declared_total = declared_total.saturating_add(entry.size());
        names.push((
            entry.is_dir(),
            String::from_utf8_lossy(&raw_name).into_owned(),
        ));
    }
    if declared_total > limits.max_total_bytes {
        return reject(
            ReasonCode::MemberTooLarge,
            format!(
                "members declare {declared_total} bytes together, the limit is {}",
                limits.max_total_bytes
            ),
        );
    }
    // Pass 2: inflate with hard caps (a header may lie about the size).
    let mut out = BTreeMap::new();
    let mut total: u64 = 0;
    for (i, (is_dir, name)) in names.into_iter().enumerate() {
        if is_dir {
            if !matches!(name.as_str(), "finger/" | "iris/") {
                return reject(
                    ReasonCode::UnexpectedMember,
                    format!(
                        "directory {} is not part of format v1",
                        shown(name.as_bytes())
                    ),
                );
            }
            continue;
        }
        let entry = zip.by_index(i).map_err(|e| {
            Rejection::new(
                ReasonCode::CorruptZip,
                format!("member {} cannot be read ({e})", shown(name.as_bytes())),
            )
        })?;
        let declared = entry.size();
        let cap = limits
            .max_member_bytes
            .min(limits.max_total_bytes.saturating_sub(total));
        let mut content = Vec::with_capacity(declared.min(cap) as usize);
        entry
            .take(cap.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|e| {
                Rejection::new(
                    ReasonCode::CorruptZip,
                    format!("member {} cannot be inflated ({e})", shown(name.as_bytes())),
                )
            })?;
        if content.len() as u64 > cap {
            return reject(
                ReasonCode::MemberTooLarge,
                format!(
                    "member {} inflates beyond the size limit",
                    shown(name.as_bytes())
                ),
            );
        }
        if content.len() as u64 != declared {
            return reject(
                ReasonCode::CorruptZip,
                format!(
                    "member {} inflates to a size other than declared",
                    shown(name.as_bytes())
                ),
            );
        }
        total += content.len() as u64;
        if out.insert(name.clone(), content).is_some() {
            return reject(
                ReasonCode::UnexpectedMember,
                format!("member {} appears twice", shown(name.as_bytes())),
            );
        }
    }
    Ok(out)
}

/// Parses `manifest.json`: version first (so a future schema is reported as such), then the
/// v1 schema, then consistency.
fn parse_manifest(bytes: &[u8]) -> Result<Manifest, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Rejection::new(
            ReasonCode::BadManifest,
            format!(
                "manifest.json is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if let Ok(Some(key)) = strict_json::repeated_key(bytes) {
        return reject(
            ReasonCode::BadManifest,
            format!("manifest.json gives the key {key} more than once"),
        );
    }
    match value.get("format_version") {
        Some(serde_json::Value::String(v)) if v == FORMAT_VERSION => {}
        Some(serde_json::Value::String(v)) => {
            let v: String = v
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            return reject(
                ReasonCode::UnsupportedFormatVersion,
                format!("format_version \"{v}\" is not supported; this system reads \"1\""),
            );
        }
        Some(_) => {
            return reject(
                ReasonCode::UnsupportedFormatVersion,
                "format_version is not a string; this system reads \"1\"",
            )
        }
        None => {
            return reject(
                ReasonCode::BadManifest,
                "manifest.json has no format_version",
            )
        }
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| {
        Rejection::new(
            ReasonCode::BadManifest,
            format!(
                "manifest.json does not match the v1 schema ({})",
                schema_hint(&e)
            ),
        )
    })?;
    let bad = |what: &str| reject(ReasonCode::BadManifest, format!("manifest.json: {what}"));
    if !valid_packet_id(&manifest.packet_id) {
        return bad("packet_id must be 1-64 characters of A-Z, a-z, 0-9, - and _");
    }
    if !valid_site_code(&manifest.site) {
        return bad("site must be a dotted district code PP.KK.CC");
    }
    if !valid_station_id(&manifest.station_id) {
        return bad("station_id must be 1-64 characters of A-Z, a-z, 0-9, '.', '-' and '_'");
    }
    for t in [manifest.capture_started_at, manifest.capture_ended_at] {
        if !INDONESIAN_OFFSETS.contains(&t.offset().local_minus_utc()) {
            return bad(
                "capture times must carry an Indonesian UTC offset: +07:00 (WIB), +08:00 (WITA) or +09:00 (WIT)",
            );
        }
    }
    if manifest.capture_ended_at < manifest.capture_started_at {
        return bad("capture_ended_at is before capture_started_at");
    }
    let mut seen = BTreeSet::new();
    for m in &manifest.missing_fingers {
        if !(members::FIRST_FINGER..=members::LAST_FINGER).contains(&m.position) {
            return bad("a missing finger position is not 1..10");
        }
        if !seen.insert(m.position) {
            return bad("a finger is declared missing twice");
        }
    }
    if manifest.missing_eyes.len() == 2
        && manifest.missing_eyes[0].eye == manifest.missing_eyes[1].eye
        || manifest.missing_eyes.len() > 2
    {
        return bad("an eye is declared missing twice");
    }
    for name in manifest.members.keys() {
        if let Some(p) = members::finger_position(name) {
            if manifest.finger_missing(p).is_some() {
                return bad("a finger is both listed as a member and declared missing");
            }
        }
        if let Some(eye) = members::iris_eye(name) {
            if manifest.eye_missing(eye).is_some() {
                return bad("an eye is both listed as a member and declared missing");
            }
        }
    }
    Ok(manifest)
}

/// The zip's members, the manifest's list and the format's requirements must agree.
fn check_member_set(manifest: &Manifest, raw: &BTreeMap<String, Vec<u8>>) -> Result<(), Rejection> {
    for name in raw.keys() {
        if name == members::MANIFEST || name == members::MANIFEST_SIG {
            continue;
        }
        if !members::is_content_member(name) {
            return reject(
                ReasonCode::UnexpectedMember,
                format!("member {} is not part of format v1", shown(name.as_bytes())),
            );
        }
        if !manifest.members.contains_key(name) {
            return reject(
                ReasonCode::UnexpectedMember,
                format!("member {name} is not listed in the manifest"),
            );
        }
    }
    for name in manifest.members.keys() {
        if !members::is_content_member(name) {
            return reject(
                ReasonCode::UnexpectedMember,
                format!(
                    "the manifest lists {}, which is not part of format v1",
                    shown(name.as_bytes())
                ),
            );
        }
        if !raw.contains_key(name) {
            return reject(
                ReasonCode::MissingMember,
                format!("member {name} is listed in the manifest but absent"),
            );
        }
    }
    for name in members::required_by(manifest) {
        if !manifest.members.contains_key(&name) {
            return reject(
                ReasonCode::MissingMember,
                format!("member {name} is neither present nor declared missing"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_safety() {
        for ok in ["manifest.json", "finger/1.fmr", "finger/"] {
            assert!(safe_name(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "../evil",
            "finger/../../x",
            "/etc/passwd",
            "C:evil",
            "a\\b",
            "a//b",
            "./a",
            "",
            "a\nb",
        ] {
            assert!(!safe_name(bad.as_bytes()), "{bad:?}");
        }
        assert!(!safe_name(&[0xff, 0xfe]));
    }
}
