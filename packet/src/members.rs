//! Member names of a format-v1 packet and the rule that says which members a manifest
//! requires.

use crate::manifest::{Eye, Manifest};
use std::collections::BTreeSet;

/// The manifest member (signed).
pub const MANIFEST: &str = "manifest.json";
/// The station's Ed25519 signature over the exact bytes of [`MANIFEST`]: 64 raw bytes.
pub const MANIFEST_SIG: &str = "manifest.sig";
/// The biodata member.
pub const BIODATA: &str = "biodata.json";
/// The pass photo (JPEG).
pub const PHOTO: &str = "photo.jpg";
/// The signature image from the signature pad (PNG).
pub const SIGNATURE_IMAGE: &str = "signature.png";
/// Lowest ISO finger position (right thumb).
pub const FIRST_FINGER: u8 = 1;
/// Highest ISO finger position (left little finger).
pub const LAST_FINGER: u8 = 10;

/// Member name of the finger record at an ISO position: `finger/<1..10>.fmr`.
pub fn finger(position: u8) -> String {
    format!("finger/{position}.fmr")
}

/// Member name of an iris record: `iris/right.irc` or `iris/left.irc`.
pub fn iris(eye: Eye) -> String {
    format!("iris/{}.irc", eye.as_str())
}

/// The ISO finger position of a finger member name, if it is one.
pub fn finger_position(name: &str) -> Option<u8> {
    let n = name.strip_prefix("finger/")?.strip_suffix(".fmr")?;
    if n.starts_with('0') {
        return None;
    }
    n.parse::<u8>()
        .ok()
        .filter(|p| (FIRST_FINGER..=LAST_FINGER).contains(p))
}

/// The eye of an iris member name, if it is one.
pub fn iris_eye(name: &str) -> Option<Eye> {
    match name {
        "iris/right.irc" => Some(Eye::Right),
        "iris/left.irc" => Some(Eye::Left),
        _ => None,
    }
}

/// Whether a name is one the format defines (other than the manifest and its signature).
pub fn is_content_member(name: &str) -> bool {
    matches!(name, BIODATA | PHOTO | SIGNATURE_IMAGE)
        || finger_position(name).is_some()
        || iris_eye(name).is_some()
}

/// The content members a manifest requires: biodata, photo, signature image, every finger
/// and eye not declared missing.
pub fn required_by(manifest: &Manifest) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = [BIODATA, PHOTO, SIGNATURE_IMAGE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in FIRST_FINGER..=LAST_FINGER {
        if manifest.finger_missing(p).is_none() {
            out.insert(finger(p));
        }
    }
    for eye in Eye::BOTH {
        if manifest.eye_missing(eye).is_none() {
            out.insert(iris(eye));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finger_names_round_trip_and_reject_lookalikes() {
        for p in 1..=10 {
            assert_eq!(finger_position(&finger(p)), Some(p));
        }
        assert_eq!(finger_position("finger/0.fmr"), None);
        assert_eq!(finger_position("finger/11.fmr"), None);
        assert_eq!(finger_position("finger/01.fmr"), None);
        assert_eq!(finger_position("finger/1.FMR"), None);
        assert_eq!(iris_eye(&iris(Eye::Left)), Some(Eye::Left));
        assert!(is_content_member("photo.jpg"));
        assert!(!is_content_member("notes.txt"));
    }
}
