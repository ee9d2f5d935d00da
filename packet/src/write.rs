//! Writing packets: [`PacketBuilder`] assembles members, computes their SHA-256s into the
//! manifest, signs the manifest with the station key and zips everything.
//!
//! Output is byte-for-byte deterministic for the same input (fixed member order, fixed zip
//! timestamps), so a synthetic data set can be regenerated identically. The lower-level
//! [`build_members`](PacketBuilder::build_members) and [`zip_members`] exist so that tests and
//! the synthesizer can derive deliberately broken packets from a correct one.

use chrono::{DateTime, FixedOffset};
use ed25519_dalek::{Signer, SigningKey};
use reference::Nik;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::biodata::Biodata;
use crate::manifest::{
    Devices, Eye, Manifest, MissingEye, MissingFinger, MissingReason, FORMAT_VERSION,
};
use crate::members;

/// Why a packet could not be built (the builder refuses to write an invalid packet).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A required member was not supplied and not declared missing.
    #[error("member {0} was neither supplied nor declared missing")]
    Incomplete(String),
    /// A finger or eye was both supplied and declared missing, or a position is out of range.
    #[error("inconsistent content: {0}")]
    Inconsistent(String),
    /// JSON serialization failed.
    #[error("serialization failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The zip writer failed.
    #[error("zip writing failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Writing to the in-memory buffer failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// One member of a packet about to be zipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member name inside the zip.
    pub name: String,
    /// Member content.
    pub bytes: Vec<u8>,
    /// Whether to deflate it (JSON and finger records compress; images and iris codes don't).
    pub deflate: bool,
}

impl Member {
    /// A member with the compression the format recommends for its name.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Member {
        let name = name.into();
        let deflate = name.ends_with(".json") || name.ends_with(".fmr");
        Member {
            name,
            bytes,
            deflate,
        }
    }
}

/// The capture facts of a packet that go into its manifest besides the member hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketHeader {
    /// Packet id (1-64 of `[A-Za-z0-9_-]`, a UUID in practice).
    pub packet_id: String,
    /// Dotted district code of the site.
    pub site: String,
    /// Registry id of the signing station.
    pub station_id: String,
    /// NIK of the operator.
    pub operator_nik: Nik,
    /// Capture start.
    pub capture_started_at: DateTime<FixedOffset>,
    /// Capture end.
    pub capture_ended_at: DateTime<FixedOffset>,
    /// Device identifiers.
    pub devices: Devices,
}

/// Assembles a format-v1 packet. Supply every finger and eye or declare it missing.
#[derive(Debug, Clone)]
pub struct PacketBuilder {
    header: PacketHeader,
    biodata: Biodata,
    photo_jpg: Option<Vec<u8>>,
    signature_png: Option<Vec<u8>>,
    fingers: BTreeMap<u8, Vec<u8>>,
    missing_fingers: BTreeMap<u8, MissingReason>,
    irises: BTreeMap<Eye, Vec<u8>>,
    missing_eyes: BTreeMap<Eye, MissingReason>,
}

impl PacketBuilder {
    /// Starts a packet for this capture and biodata.
    pub fn new(header: PacketHeader, biodata: Biodata) -> PacketBuilder {
        PacketBuilder {
            header,
            biodata,
            photo_jpg: None,
            signature_png: None,
            fingers: BTreeMap::new(),
            missing_fingers: BTreeMap::new(),
            irises: BTreeMap::new(),
            missing_eyes: BTreeMap::new(),
        }
    }

    /// Sets the pass photo (JPEG bytes).
    pub fn photo(mut self, jpeg: Vec<u8>) -> Self {
        self.photo_jpg = Some(jpeg);
        self
    }

    /// Sets the signature-pad image (PNG bytes).
    pub fn signature_image(mut self, png: Vec<u8>) -> Self {
        self.signature_png = Some(png);
        self
    }

    /// Adds the ISO 19794-2:2005 record of the finger at an ISO position (1..=10).
    pub fn finger(mut self, position: u8, fmr: Vec<u8>) -> Self {
        self.fingers.insert(position, fmr);
        self
    }

    /// Declares the finger at an ISO position missing, with the reason.
    pub fn missing_finger(mut self, position: u8, reason: MissingReason) -> Self {
        self.missing_fingers.insert(position, reason);
        self
    }

    /// Adds an eye's IrisCode record.
    pub fn iris(mut self, eye: Eye, irc: Vec<u8>) -> Self {
        self.irises.insert(eye, irc);
        self
    }

    /// Declares an eye missing, with the reason.
    pub fn missing_eye(mut self, eye: Eye, reason: MissingReason) -> Self {
        self.missing_eyes.insert(eye, reason);
        self
    }

    /// The content members (everything but manifest and signature), in packet order, after
    /// checking completeness.
    fn content_members(&self) -> Result<Vec<Member>, BuildError> {
        let mut out = vec![Member::new(
            members::BIODATA,
            serde_json::to_vec_pretty(&self.biodata)?,
        )];
        let photo = self
            .photo_jpg
            .clone()
            .ok_or_else(|| BuildError::Incomplete(members::PHOTO.into()))?;
        out.push(Member::new(members::PHOTO, photo));
        let sig = self
            .signature_png
            .clone()
            .ok_or_else(|| BuildError::Incomplete(members::SIGNATURE_IMAGE.into()))?;
        out.push(Member::new(members::SIGNATURE_IMAGE, sig));
        for &p in self.fingers.keys().chain(self.missing_fingers.keys()) {
            if !(members::FIRST_FINGER..=members::LAST_FINGER).contains(&p) {
                return Err(BuildError::Inconsistent(format!(
                    "finger position {p} is not 1..=10"
                )));
            }
        }
        for p in members::FIRST_FINGER..=members::LAST_FINGER {
            match (self.fingers.get(&p), self.missing_fingers.contains_key(&p)) {
                (Some(fmr), false) => out.push(Member::new(members::finger(p), fmr.clone())),
                (None, true) => {}
                (Some(_), true) => {
                    return Err(BuildError::Inconsistent(format!(
                        "finger {p} both supplied and declared missing"
                    )))
                }
                (None, false) => return Err(BuildError::Incomplete(members::finger(p))),
            }
        }
        for eye in Eye::BOTH {
            match (self.irises.get(&eye), self.missing_eyes.contains_key(&eye)) {
                (Some(irc), false) => out.push(Member::new(members::iris(eye), irc.clone())),
                (None, true) => {}
                (Some(_), true) => {
                    return Err(BuildError::Inconsistent(format!(
                        "{eye} eye both supplied and declared missing"
                    )))
                }
                (None, false) => return Err(BuildError::Incomplete(members::iris(eye))),
            }
        }
        Ok(out)
    }

    /// The manifest for these content members.
    fn manifest_for(&self, content: &[Member]) -> Manifest {
        let h = &self.header;
        Manifest {
            format_version: FORMAT_VERSION.to_string(),
            packet_id: h.packet_id.clone(),
            site: h.site.clone(),
            station_id: h.station_id.clone(),
            operator_nik: h.operator_nik,
            capture_started_at: h.capture_started_at,
            capture_ended_at: h.capture_ended_at,
            devices: h.devices.clone(),
            members: content
                .iter()
                .map(|m| (m.name.clone(), sha256_hex(&m.bytes)))
                .collect(),
            missing_fingers: self
                .missing_fingers
                .iter()
                .map(|(&position, &reason)| MissingFinger { position, reason })
                .collect(),
            missing_eyes: self
                .missing_eyes
                .iter()
                .map(|(&eye, &reason)| MissingEye { eye, reason })
                .collect(),
        }
    }

    /// All members in packet order — `manifest.json`, `manifest.sig`, then content — with the
    /// manifest signed by `key`.
    pub fn build_members(&self, key: &SigningKey) -> Result<Vec<Member>, BuildError> {
        let content = self.content_members()?;
        let manifest = serde_json::to_vec_pretty(&self.manifest_for(&content))?;
        let signature = key.sign(&manifest).to_bytes().to_vec();
        let mut out = Vec::with_capacity(content.len() + 2);
        out.push(Member::new(members::MANIFEST, manifest));
        out.push(Member::new(members::MANIFEST_SIG, signature));
        out.extend(content);
        Ok(out)
    }

    /// The finished packet: zip bytes signed by `key`.
    pub fn build(&self, key: &SigningKey) -> Result<Vec<u8>, BuildError> {
        zip_members(&self.build_members(key)?)
    }
}

/// Lower-case hex SHA-256, the digest form used in manifests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Zips members in the given order with fixed timestamps (deterministic output). Names are
/// written as given, unchecked, so that tests can build hostile packets.
pub fn zip_members(members: &[Member]) -> Result<Vec<u8>, BuildError> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for m in members {
        let method = if m.deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(zip::DateTime::default())
            .large_file(m.bytes.len() as u64 >= u32::MAX as u64);
        zip.start_file(m.name.as_str(), options)?;
        zip.write_all(&m.bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
