//! Enrollment packet format v1: the contract between service points and the data center.
//!
//! A packet is a zip holding `manifest.json` (signed by the station in `manifest.sig`),
//! `biodata.json`, `photo.jpg`, `signature.png`, up to ten `finger/<n>.fmr` ISO/IEC
//! 19794-2:2005 records and up to two `iris/<eye>.irc` IrisCodes; absent fingers and eyes are
//! declared with a reason. The full specification, including every reason code, is
//! `docs/packet-format.md`.
//!
//! - [`PacketBuilder`] writes packets (service-point side, and the synthesizer).
//! - [`open`] reads a packet and runs every check that needs only its bytes; the result is a
//!   [`Packet`] or a [`Rejection`] with a stable [`ReasonCode`].
//! - [`Packet::verify_signature`] and the registry checks (station, SIAK, duplicates) are run
//!   by ingest, which reports them with the same [`ReasonCode`] enum.

#![warn(missing_docs)]

pub mod biodata;
pub mod layout;
pub mod limits;
pub mod manifest;
pub mod members;
pub mod read;
pub mod reason;
pub mod strict_json;
pub mod templates;
pub mod write;

pub use biodata::Biodata;
pub use limits::Limits;
pub use manifest::{
    Devices, Eye, Manifest, MissingEye, MissingFinger, MissingReason, FORMAT_VERSION,
};
pub use read::{open, Packet};
pub use reason::{ReasonCode, Rejection, Stage};
pub use templates::{FingerTemplate, IrisTemplate};
pub use write::{sha256_hex, zip_members, BuildError, Member, PacketBuilder, PacketHeader};
