//! Why a packet is rejected: one enum of stable reason codes for every stage, and the
//! [`Rejection`] that pairs a code with a human sentence.
//!
//! The strings (`CORRUPT_ZIP`, …) are a contract: they are stored in the lake, counted by
//! analysts, shown to service points and listed in `docs/packet-format.md`. Never rename one;
//! add new codes at the end. A detail sentence names members, fields and sizes but never
//! personal data (no NIK, name, date of birth, biometric bytes), so it can be logged.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which part of the system can raise a reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Decided by [`crate::open`] from the packet bytes alone.
    Bytes,
    /// Decided by ingest: needs the station registry, the SIAK extract or earlier packets
    /// (signature verification needs the station's key from the registry).
    Registry,
}

/// Defines [`ReasonCode`] with its stable string, stage and meaning in one table.
macro_rules! reason_codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal, $stage:ident, $meaning:literal;)+) => {
        /// The reason a packet was rejected. Serialized as its stable SCREAMING_SNAKE string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ReasonCode {
            $($(#[$doc])* #[serde(rename = $text)] $variant,)+
        }

        impl ReasonCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant),+];

            /// The stable string stored in tables and shown to service points.
            pub fn as_str(self) -> &'static str {
                match self { $(ReasonCode::$variant => $text),+ }
            }

            /// Which part of the system raises this code.
            pub fn stage(self) -> Stage {
                match self { $(ReasonCode::$variant => Stage::$stage),+ }
            }

            /// One-line meaning, as documented in `docs/packet-format.md`.
            pub fn meaning(self) -> &'static str {
                match self { $(ReasonCode::$variant => $meaning),+ }
            }
        }

        impl std::str::FromStr for ReasonCode {
            type Err = UnknownReasonCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(ReasonCode::$variant),)+
                    _ => Err(UnknownReasonCode),
                }
            }
        }
    };
}

reason_codes! {
    /// The whole packet exceeds the size limit.
    PacketTooLarge => "PACKET_TOO_LARGE", Bytes,
        "the packet file is larger than the accepted maximum";
    /// Not a readable zip archive (truncated, bad central directory, CRC error, encrypted…).
    CorruptZip => "CORRUPT_ZIP", Bytes,
        "not a readable zip archive: truncated, damaged, checksum error, encrypted or unsupported compression";
    /// A member name could escape the packet (`../`, absolute, backslash, drive letter) or is
    /// a symbolic link.
    UnsafePath => "UNSAFE_PATH", Bytes,
        "a member name is absolute, contains `..`, a backslash, a drive letter or control characters, or is a symbolic link";
    /// A member is (declared or found to be) larger than allowed, or all members together are
    /// (zip bomb).
    MemberTooLarge => "MEMBER_TOO_LARGE", Bytes,
        "a member, or all members together, decompress to more than the allowed size (zip bomb guard)";
    /// A required member is absent.
    MissingMember => "MISSING_MEMBER", Bytes,
        "a required member is absent: manifest.json, biodata.json, photo.jpg, signature.png, or a finger or eye that is neither present nor declared missing";
    /// A member is present that the format or the manifest does not allow (or a duplicate).
    UnexpectedMember => "UNEXPECTED_MEMBER", Bytes,
        "a member is not part of format v1, is not listed in the manifest, appears twice, or there are too many members";
    /// `manifest.json` is not valid JSON of the v1 schema, or is inconsistent.
    BadManifest => "BAD_MANIFEST", Bytes,
        "manifest.json is not valid v1 JSON or is inconsistent (bad id, site, times, operator NIK, finger position, a member both present and declared missing)";
    /// The manifest declares a format version other than `1`.
    UnsupportedFormatVersion => "UNSUPPORTED_FORMAT_VERSION", Bytes,
        "manifest.json declares a format_version this system does not read";
    /// A member's SHA-256 differs from the manifest.
    HashMismatch => "HASH_MISMATCH", Bytes,
        "a member's SHA-256 differs from the one in the manifest";
    /// `manifest.sig` is absent.
    MissingSignature => "MISSING_SIGNATURE", Bytes,
        "manifest.sig is absent";
    /// `manifest.sig` is not 64 bytes, or does not verify with the station's key.
    BadSignature => "BAD_SIGNATURE", Registry,
        "manifest.sig is not a 64-byte Ed25519 signature, or does not verify against the registered key of the station";
    /// A fingerprint or iris template does not parse, or its header contradicts its name.
    MalformedTemplate => "MALFORMED_TEMPLATE", Bytes,
        "a finger record is not a valid ISO/IEC 19794-2:2005 record or an iris record not a valid IrisCode v1, or its finger position/eye contradicts its member name";
    /// `photo.jpg` is not a JPEG or `signature.png` not a PNG.
    MalformedImage => "MALFORMED_IMAGE", Bytes,
        "photo.jpg does not start like a JPEG or signature.png like a PNG";
    /// `biodata.json` is not valid JSON of the v1 schema.
    BadBiodata => "BAD_BIODATA", Bytes,
        "biodata.json is not valid v1 JSON (missing field, unknown value, bad KK number or region code shape)";
    /// The biodata NIK is not a structurally valid NIK.
    NikInvalid => "NIK_INVALID", Bytes,
        "the NIK in biodata.json is not 16 digits of the form PPKKCC DDMMYY SSSS with a real date and serial";
    /// The biodata birth date or sex contradicts what the NIK encodes.
    BiodataNikMismatch => "BIODATA_NIK_MISMATCH", Bytes,
        "the birth date or sex in biodata.json contradicts what the NIK encodes (DDMMYY, +40 for women)";
    /// The station is not in the registry.
    UnknownStation => "UNKNOWN_STATION", Registry,
        "the manifest's station_id is not in the station registry";
    /// The station was retired before the capture.
    StationRetired => "STATION_RETIRED", Registry,
        "the capture started at or after the station's active_to, or the packet was received more than the grace period after it";
    /// The station was not yet in service at capture time.
    StationNotYetActive => "STATION_NOT_YET_ACTIVE", Registry,
        "the capture started before the station's active_from";
    /// The manifest's site is not the station's registered site (or not the landing folder).
    SiteMismatch => "SITE_MISMATCH", Registry,
        "the manifest's site differs from the station's registered site or from the landing folder it arrived in";
    /// The NIK is not in the SIAK extract.
    NikNotInSiak => "NIK_NOT_IN_SIAK", Registry,
        "the NIK is structurally valid but no resident with it is in the SIAK extract";
    /// The biodata differs from the SIAK record of that NIK.
    BiodataSiakMismatch => "BIODATA_SIAK_MISMATCH", Registry,
        "biodata.json differs from the SIAK record of the NIK (name, birth date, sex, KK number)";
    /// The resident is not (yet) required to hold an e-KTP.
    NotWajibKtp => "NOT_WAJIB_KTP", Registry,
        "the resident is under 17 and has never married on the capture date";
    /// The same packet was uploaded before.
    DuplicatePacket => "DUPLICATE_PACKET", Registry,
        "a packet with the same bytes or the same packet_id was already received at another object path";
    /// The zip is laid out so that zip readers could disagree about its members.
    AmbiguousZip => "AMBIGUOUS_ZIP", Bytes,
        "the zip is not laid out plainly: bytes after the end-of-central-directory record (trailing data, a second record, an archive comment), bytes outside the members, zip64 records, several disks, or a local header that disagrees with the central directory";
    /// The capture ended after the packet was received (plus the allowed clock skew).
    CaptureInFuture => "CAPTURE_IN_FUTURE", Registry,
        "the capture ended later than the time the packet was received plus the allowed clock skew";
    /// The capture started longer before the packet was received than uploads may take.
    CaptureTooOld => "CAPTURE_TOO_OLD", Registry,
        "the capture started earlier than the time the packet was received minus the maximum upload delay";
}

/// A string that is not one of the reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code")]
pub struct UnknownReasonCode;

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A packet was refused: the code for machines and a sentence for people. The detail never
/// contains personal data, so a rejection may be logged and shown to a service point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Rejection {
    /// The stable reason.
    pub code: ReasonCode,
    /// What exactly was wrong, in one sentence without personal data.
    pub detail: String,
}

impl Rejection {
    /// A rejection with a code and a detail sentence.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Rejection {
        Rejection {
            code,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_unique_screaming_snake_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ReasonCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert_eq!(s.parse::<ReasonCode>().unwrap(), *code);
            assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{s}\""));
            assert!(!code.meaning().is_empty());
        }
        assert!("NOPE".parse::<ReasonCode>().is_err());
    }

    #[test]
    fn documentation_lists_every_code() {
        let doc = include_str!("../../docs/packet-format.md");
        for code in ReasonCode::ALL {
            assert!(
                doc.contains(&format!("`{}`", code.as_str())),
                "{code} not documented"
            );
        }
    }

    #[test]
    fn rejection_display_has_code_and_detail() {
        let r = Rejection::new(ReasonCode::HashMismatch, "photo.jpg differs");
        assert_eq!(r.to_string(), "HASH_MISMATCH: photo.jpg differs");
    }
}
