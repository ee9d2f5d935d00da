//! `manifest.json`: what a packet claims to contain, who captured it where and when, and the
//! SHA-256 of every other member. The station signs these exact bytes (`manifest.sig`).

use chrono::{DateTime, FixedOffset};
use reference::Nik;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The one packet format version this crate writes and reads.
pub const FORMAT_VERSION: &str = "1";

/// Which eye an iris member belongs to (member `iris/right.irc` or `iris/left.irc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eye {
    /// Right eye.
    Right,
    /// Left eye.
    Left,
}

impl Eye {
    /// Both eyes, right first (the ISO 19794-6 order).
    pub const BOTH: [Eye; 2] = [Eye::Right, Eye::Left];

    /// `"right"` or `"left"`, as in member names and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Eye::Right => "right",
            Eye::Left => "left",
        }
    }
}

impl fmt::Display for Eye {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a finger or eye could not be captured. Absence is always declared with one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingReason {
    /// The finger or eye is permanently missing.
    Amputated,
    /// Temporarily covered (injury, bandage); a later re-capture is expected.
    Bandaged,
    /// Present but no usable capture could be made (worn ridges, disease, prosthesis).
    Unusable,
}

/// A finger declared missing, with its ISO position (1 right thumb … 10 left little).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingFinger {
    /// ISO/IEC 19794-2 finger position, 1..=10.
    pub position: u8,
    /// Why it was not captured.
    pub reason: MissingReason,
}

/// An eye declared missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingEye {
    /// Which eye.
    pub eye: Eye,
    /// Why it was not captured.
    pub reason: MissingReason,
}

/// Identifiers of the capture devices attached to the station (make/model/serial as the
/// station reports them), kept for audit and device-quality statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Devices {
    /// Ten-print fingerprint scanner.
    pub finger_scanner: String,
    /// Iris camera.
    pub iris_camera: String,
    /// Face (photo) camera.
    pub camera: String,
    /// Signature pad.
    pub signature_pad: String,
}

/// The parsed `manifest.json` of format v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `"1"` for this format.
    pub format_version: String,
    /// Globally unique packet id chosen by the station: 1-64 characters `[A-Za-z0-9_-]`
    /// (a UUID in practice); it is also the landing file name.
    pub packet_id: String,
    /// Dotted district code `PP.KK.CC` of the enrollment site (kecamatan office).
    pub site: String,
    /// Registry id of the station that captured and signed the packet.
    pub station_id: String,
    /// NIK of the operator who confirmed the capture.
    pub operator_nik: Nik,
    /// When capture started (RFC 3339 with an Indonesian offset, see [`INDONESIAN_OFFSETS`]).
    pub capture_started_at: DateTime<FixedOffset>,
    /// When capture ended (RFC 3339 with offset), not before the start.
    pub capture_ended_at: DateTime<FixedOffset>,
    /// Capture device identifiers.
    pub devices: Devices,
    /// Lower-case hex SHA-256 of every member other than `manifest.json` and `manifest.sig`,
    /// keyed by member name.
    pub members: BTreeMap<String, String>,
    /// Fingers not captured, each with a reason (empty when all ten are present).
    pub missing_fingers: Vec<MissingFinger>,
    /// Eyes not captured, each with a reason (empty when both are present).
    pub missing_eyes: Vec<MissingEye>,
}

impl Manifest {
    /// Whether the finger at this ISO position was declared missing.
    pub fn finger_missing(&self, position: u8) -> Option<MissingReason> {
        self.missing_fingers
            .iter()
            .find(|m| m.position == position)
            .map(|m| m.reason)
    }

    /// Whether this eye was declared missing.
    pub fn eye_missing(&self, eye: Eye) -> Option<MissingReason> {
        self.missing_eyes
            .iter()
            .find(|m| m.eye == eye)
            .map(|m| m.reason)
    }
}

/// Whether a packet id is acceptable as an object-path component: 1-64 of `[A-Za-z0-9_-]`.
pub fn valid_packet_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a station id is acceptable: 1-64 of `[A-Za-z0-9._-]`. Station ids are shown in
/// rejection details and logs, so they can never carry control characters or markup.
pub fn valid_station_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The UTC offsets (seconds east) a capture time may carry: Indonesia's three zones, WIB
/// (+07:00), WITA (+08:00) and WIT (+09:00). A station's clock in any other zone is
/// misconfigured, and an offset is the easiest field to shift a capture time with.
pub const INDONESIAN_OFFSETS: [i32; 3] = [7 * 3600, 8 * 3600, 9 * 3600];

/// Whether a string has the shape of a dotted district code `PP.KK.CC`.
pub fn valid_site_code(site: &str) -> bool {
    let b = site.as_bytes();
    b.len() == 8
        && b[2] == b'.'
        && b[5] == b'.'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_and_site_shapes() {
        assert!(valid_packet_id("0b8e7c1e-2f3a-5b6c-8d9e-0a1b2c3d4e5f"));
        assert!(!valid_packet_id(""));
        assert!(!valid_packet_id("../x"));
        assert!(!valid_packet_id(&"a".repeat(65)));
        assert!(valid_site_code("33.74.01"));
        assert!(!valid_site_code("337401"));
        assert!(!valid_site_code("33.74.0a"));
        assert!(valid_station_id("337401-a1b2c3-01"));
        assert!(!valid_station_id("st\u{1b}[31m"));
        assert!(!valid_station_id("a\nb"));
        assert!(!valid_station_id(""));
    }

    #[test]
    fn reasons_serialize_lower_case() {
        let m = MissingFinger {
            position: 3,
            reason: MissingReason::Amputated,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"position":3,"reason":"amputated"}"#
        );
    }
}
