//! One card record: the card face exactly as the e-KTP prints it and the data written to its
//! chip, sealed with the DC's Ed25519 key.
//!
//! The one idea to hold in mind: the seal covers the *parsed* card, re-serialized by this
//! module (`serde_json` of [`Card`], fields in declaration order), prefixed with
//! [`SEAL_CONTEXT`]. Whitespace in a record file may change; any change of a value, an added
//! or a missing field breaks either the parse (`deny_unknown_fields`) or the seal. Byte-level
//! integrity of the files is the job manifest's business (see [`crate::job`]).

use base64::Engine;
use chrono::NaiveDate;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{ExportError, Result};
use crate::keys::DcKey;

/// `format` of a card record file.
pub const CARD_FORMAT: &str = "tunggal-personalization-card";
/// `format_version` of a card record file.
pub const CARD_FORMAT_VERSION: &str = "1";
/// Bytes signed before the serialized card (domain separation from the job manifest).
pub const SEAL_CONTEXT: &[u8] = b"tunggal-card-v1\n";
/// What every e-KTP prints under "Berlaku Hingga" since 2014.
pub const VALID_FOR_LIFE: &str = "SEUMUR HIDUP";

/// Why a card is printed: [`REASON_NEW`] or [`REASON_REISSUE`].
pub const REASON_NEW: &str = "new";
/// A replacement card (lost or damaged card: the resident re-enrolled).
pub const REASON_REISSUE: &str = "reissue";

/// A card record file: the sealed card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardRecord {
    /// Always [`CARD_FORMAT`].
    pub format: String,
    /// Always [`CARD_FORMAT_VERSION`].
    pub format_version: String,
    /// The card.
    pub card: Card,
    /// The DC's signature over the card.
    pub seal: Seal,
}

/// Everything personalized onto one card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// The enrollment the card is made from.
    pub enrollment_id: String,
    /// The job (one per regency/city per export run).
    pub job_id: String,
    /// The export run.
    pub run_id: String,
    /// `new` or `reissue`.
    pub reason: String,
    /// Regency/city `PP.KK` whose Dukcapil office prints the card.
    pub regency_code: String,
    /// The printed face.
    pub face: CardFace,
    /// The chip content.
    pub chip: Chip,
}

/// The card face, one field per printed line, each holding exactly the printed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFace {
    /// Header line 1: `PROVINSI <NAME>`.
    pub provinsi: String,
    /// Header line 2: `KABUPATEN <NAME>` or `KOTA <NAME>`.
    pub kabupaten_kota: String,
    /// `NIK`: 16 digits.
    pub nik: String,
    /// `Nama`.
    pub nama: String,
    /// `Tempat/Tgl Lahir`: `<PLACE>, DD-MM-YYYY`.
    pub tempat_tgl_lahir: String,
    /// `Jenis Kelamin`: `LAKI-LAKI` or `PEREMPUAN`.
    pub jenis_kelamin: String,
    /// `Gol. Darah`: `A`, `B`, `AB`, `O` or `-`.
    pub gol_darah: String,
    /// `Alamat`.
    pub alamat: String,
    /// `RT/RW`: `NNN/NNN`.
    pub rt_rw: String,
    /// `Kel/Desa`.
    pub kel_desa: String,
    /// `Kecamatan`.
    pub kecamatan: String,
    /// `Agama`.
    pub agama: String,
    /// `Status Perkawinan`.
    pub status_perkawinan: String,
    /// `Pekerjaan`.
    pub pekerjaan: String,
    /// `Kewarganegaraan`: `WNI` or `WNA`.
    pub kewarganegaraan: String,
    /// `Berlaku Hingga`: [`VALID_FOR_LIFE`].
    pub berlaku_hingga: String,
    /// Place of issue printed beside the photo: the regency/city name without its
    /// `KABUPATEN`/`KOTA` prefix.
    pub tempat_terbit: String,
    /// Date of issue printed under it: `DD-MM-YYYY`.
    pub tanggal_terbit: String,
}

impl CardFace {
    /// Composes the face from the packet's biodata, the embedded region names and the date
    /// of issue. Fails (naming the level, not the value) when a region code is not in the
    /// embedded table.
    pub fn compose(biodata: &packet::Biodata, issued: NaiveDate) -> Result<CardFace> {
        let regions = reference::regions::regions();
        let unknown = |level: &str| {
            ExportError::BadCard(format!("{level} code is not in the embedded region table"))
        };
        let province = regions
            .province(&biodata.province_code)
            .ok_or_else(|| unknown("province"))?;
        let regency = regions
            .regency(&biodata.regency_code)
            .ok_or_else(|| unknown("regency"))?;
        let district = regions
            .district(&biodata.district_code)
            .ok_or_else(|| unknown("district"))?;
        let village = reference::regions::villages()
            .get(&biodata.village_code)
            .ok_or_else(|| unknown("village"))?;
        let date = |d: NaiveDate| d.format("%d-%m-%Y").to_string();
        Ok(CardFace {
            provinsi: format!("PROVINSI {}", upper(&province.name)),
            kabupaten_kota: upper(&regency.name),
            nik: biodata.nik.as_str().to_string(),
            nama: upper(&biodata.name),
            tempat_tgl_lahir: format!(
                "{}, {}",
                upper(&biodata.birth_place),
                date(biodata.birth_date)
            ),
            jenis_kelamin: biodata.sex.as_str().into(),
            gol_darah: biodata.blood_type.as_str().into(),
            alamat: upper(&biodata.address),
            rt_rw: format!("{:03}/{:03}", biodata.rt, biodata.rw),
            kel_desa: upper(&village.name),
            kecamatan: upper(&district.name),
            agama: biodata.religion.as_str().into(),
            status_perkawinan: biodata.marital_status.as_str().into(),
            pekerjaan: upper(&biodata.occupation),
            kewarganegaraan: biodata.citizenship.as_str().into(),
            berlaku_hingga: VALID_FOR_LIFE.into(),
            tempat_terbit: place_of_issue(&regency.name),
            tanggal_terbit: date(issued),
        })
    }
}

/// Upper case as printed on the card.
fn upper(s: &str) -> String {
    s.trim().to_uppercase()
}

/// `Kota Semarang` → `SEMARANG`, `Kabupaten Aceh Selatan` → `ACEH SELATAN`.
fn place_of_issue(regency_name: &str) -> String {
    let name = upper(regency_name);
    for prefix in ["KABUPATEN ", "KAB. ", "KOTA ADM. ", "KOTA "] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    name
}

/// The chip content: machine-readable biodata, photo, signature and the two verification
/// fingers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chip {
    /// The biodata as captured (`biodata.json` of the packet: SIAK field names and spelling).
    pub biodata: packet::Biodata,
    /// The pass photo (JPEG), base64.
    #[serde(with = "b64")]
    pub photo_jpg: Vec<u8>,
    /// The signature image (PNG), base64.
    #[serde(with = "b64")]
    pub signature_png: Vec<u8>,
    /// Right-hand verification finger: the right index (ISO position 2), or, when the index
    /// is missing or its enrollment capture too poor to verify against, the first good one
    /// of right thumb (1), middle (3), ring (4), little (5) ([`choose_finger`]); `null` when
    /// none was captured. Its `position` says which finger the counter must capture.
    pub right_finger: Option<ChipFinger>,
    /// Left-hand verification finger: the left index (7), or left thumb (6), middle (8), ring
    /// (9), little (10), chosen the same way; `null` when none was captured.
    pub left_finger: Option<ChipFinger>,
}

/// A finger template on the chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipFinger {
    /// ISO/IEC 19794-2 finger position.
    pub position: u8,
    /// The ISO/IEC 19794-2:2005 record as captured at enrollment, base64.
    #[serde(with = "b64")]
    pub iso19794_2: Vec<u8>,
}

/// Preference order of the right-hand verification finger (index first).
pub const RIGHT_FINGER_ORDER: [u8; 5] = [2, 1, 3, 4, 5];
/// Preference order of the left-hand verification finger (index first).
pub const LEFT_FINGER_ORDER: [u8; 5] = [7, 6, 8, 9, 10];

/// The verification finger of one hand: the first finger of `order` whose enrollment capture
/// is good enough to verify against (the same gate the pickup counter applies to a live
/// capture, `biometrics::finger::capture_quality`: a card whose finger would itself be
/// refused as too poor would send its holder back every time); when none is, the first
/// captured one; `None` when the hand has no finger.
pub fn choose_finger(
    fingers: &std::collections::BTreeMap<u8, packet::FingerTemplate>,
    order: &[u8],
) -> Option<ChipFinger> {
    let good = |t: &packet::FingerTemplate| {
        t.record.views.first().is_some_and(|view| {
            biometrics::finger::capture_quality::capture_quality(
                view,
                t.record.res_x,
                t.record.res_y,
            )
            .is_acceptable()
        })
    };
    let captured = || order.iter().filter_map(|p| fingers.get(p).map(|t| (*p, t)));
    let (position, template) = captured()
        .find(|(_, t)| good(t))
        .or_else(|| captured().next())?;
    Some(ChipFinger {
        position,
        iso19794_2: template.bytes.clone(),
    })
}

impl Chip {
    /// The chip content of a packet.
    pub fn from_packet(packet: &packet::Packet) -> Chip {
        Chip {
            biodata: packet.biodata.clone(),
            photo_jpg: packet.photo_jpg.clone(),
            signature_png: packet.signature_png.clone(),
            right_finger: choose_finger(&packet.fingers, &RIGHT_FINGER_ORDER),
            left_finger: choose_finger(&packet.fingers, &LEFT_FINGER_ORDER),
        }
    }
}

/// The DC's signature over a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// Id of the signing key (see [`crate::keys::key_id`]).
    pub key_id: String,
    /// Ed25519 signature over [`SEAL_CONTEXT`] ‖ the serialized card, base64.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

impl Card {
    /// The bytes the seal signs.
    fn sealed_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = SEAL_CONTEXT.to_vec();
        bytes.extend(serde_json::to_vec(self)?);
        Ok(bytes)
    }

    /// Seals the card with the DC key.
    pub fn seal(self, key: &DcKey) -> Result<CardRecord> {
        let signature = key.sign(&self.sealed_bytes()?).to_bytes().to_vec();
        Ok(CardRecord {
            format: CARD_FORMAT.into(),
            format_version: CARD_FORMAT_VERSION.into(),
            card: self,
            seal: Seal {
                algorithm: "Ed25519".into(),
                key_id: key.key_id().into(),
                signature,
            },
        })
    }
}

impl CardRecord {
    /// The record file's bytes (pretty JSON, newline-terminated).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses a record file, checking its format and version; the seal is not checked here
    /// (see [`CardRecord::check_seal`]). Errors name the defect, never a value.
    pub fn parse(bytes: &[u8]) -> Result<CardRecord> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            ExportError::BadCard(format!(
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        match value.get("format").and_then(|v| v.as_str()) {
            Some(CARD_FORMAT) => {}
            _ => {
                return Err(ExportError::BadCard(format!(
                    "not a personalization card record (format is not \"{CARD_FORMAT}\")"
                )))
            }
        }
        match value.get("format_version").and_then(|v| v.as_str()) {
            Some(CARD_FORMAT_VERSION) => {}
            _ => {
                return Err(ExportError::BadCard(format!(
                    "unsupported format_version; this system reads \"{CARD_FORMAT_VERSION}\""
                )))
            }
        }
        serde_json::from_value(value).map_err(|e| {
            ExportError::BadCard(format!(
                "does not match the card schema ({})",
                schema_hint(&e)
            ))
        })
    }

    /// Checks the seal against the DC public key `key`: algorithm, key id, signature.
    pub fn check_seal(&self, key: &VerifyingKey) -> Result<()> {
        if self.seal.algorithm != "Ed25519" {
            return Err(ExportError::BadCard("seal algorithm is not Ed25519".into()));
        }
        if self.seal.key_id != crate::keys::key_id(key) {
            return Err(ExportError::BadCard(format!(
                "sealed with key {}, not with the given DC key {}",
                shown(&self.seal.key_id),
                crate::keys::key_id(key)
            )));
        }
        let signature = <[u8; 64]>::try_from(self.seal.signature.as_slice())
            .map(|b| Signature::from_bytes(&b))
            .map_err(|_| ExportError::BadCard("seal signature is not 64 bytes".into()))?;
        key.verify_strict(&self.card.sealed_bytes()?, &signature)
            .map_err(|_| {
                ExportError::BadCard(
                    "seal does not verify: the card was altered after the DC signed it".into(),
                )
            })
    }
}

/// A bounded, printable rendering of an untrusted short string (key ids).
fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect()
}

/// Where a schema error is, without the offending value.
fn schema_hint(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = msg.split(prefix).nth(1) {
            let name: String = rest.chars().take_while(|c| *c != '`').collect();
            if name.len() <= 40 && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return format!("{}field `{name}`", &prefix[..prefix.len() - 1]);
            }
        }
    }
    "a field has an invalid value".into()
}

/// Serde helpers: bytes as standard base64 strings.
mod b64 {
    use super::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("invalid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fvc(name: &str) -> Vec<u8> {
        let root = match std::env::var_os("TUNGGAL_SHARED_DATA") {
            Some(p) => std::path::PathBuf::from(p),
            None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        };
        std::fs::read(root.join("fvc2002/DB1_B").join(name)).unwrap()
    }

    fn template(bytes: Vec<u8>, keep: Option<usize>) -> packet::FingerTemplate {
        let mut record = biometrics::iso19794::parse(&bytes).unwrap();
        if let Some(keep) = keep {
            record.views[0].minutiae.truncate(keep);
        }
        packet::FingerTemplate {
            bytes: record.to_bytes(),
            record,
        }
    }

    #[test]
    fn a_poor_or_missing_index_gives_way_to_the_first_good_finger_of_the_hand() {
        use std::collections::BTreeMap;
        let good = || template(fvc("101_1.iso"), None);
        let poor = || template(fvc("102_1.iso"), Some(6));
        let pos = |f: &BTreeMap<u8, packet::FingerTemplate>| {
            choose_finger(f, &RIGHT_FINGER_ORDER).map(|c| c.position)
        };
        // The index when it is good.
        let fingers = BTreeMap::from([(2, good()), (1, good())]);
        assert_eq!(pos(&fingers), Some(2));
        // A poor index: the thumb; a missing index and a poor thumb: the middle finger.
        let fingers = BTreeMap::from([(2, poor()), (1, good()), (3, good())]);
        assert_eq!(pos(&fingers), Some(1));
        let fingers = BTreeMap::from([(1, poor()), (3, good())]);
        assert_eq!(pos(&fingers), Some(3));
        // Only poor ones: the first captured (a card must carry some finger if it can).
        let fingers = BTreeMap::from([(4, poor()), (2, poor())]);
        assert_eq!(pos(&fingers), Some(2));
        assert_eq!(pos(&BTreeMap::new()), None);
        // The chip carries the chosen finger's bytes as captured.
        let fingers = BTreeMap::from([(2, poor()), (1, good())]);
        let chosen = choose_finger(&fingers, &RIGHT_FINGER_ORDER).unwrap();
        assert_eq!(chosen.iso19794_2, fingers[&1].bytes);
    }

    #[test]
    fn place_of_issue_drops_the_regency_prefix() {
        assert_eq!(place_of_issue("Kota Semarang"), "SEMARANG");
        assert_eq!(place_of_issue("Kabupaten Aceh Selatan"), "ACEH SELATAN");
    }
}
