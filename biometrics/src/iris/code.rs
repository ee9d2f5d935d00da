//! The IrisCode record format v1: 528 bytes holding 2048 code bits and 2048 mask bits as 32
//! little-endian 64-bit words each (8 rings × 4 words). See `docs/iris-code-format.md`.

use crate::TemplateError;

/// Size of an IrisCode record in bytes.
pub const IRIS_CODE_LEN: usize = 528;
/// Magic bytes at the start of an IrisCode record.
pub const MAGIC: &[u8; 4] = b"IRC\0";
/// Number of 64-bit words of code (and of mask).
pub const WORDS: usize = 32;
/// Number of rings (radial samples).
pub const RINGS: usize = 8;
/// Words per ring: 128 angular samples × 2 bits = 256 bits.
pub const WORDS_PER_RING: usize = 4;

/// Which eye an IrisCode comes from (ISO/IEC 19794-6 labels: 1 right, 2 left).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Eye {
    /// Right eye (code 1).
    Right,
    /// Left eye (code 2).
    Left,
}

impl Eye {
    /// Where this eye sits in a person's two-eye arrays: right first, then left.
    pub fn slot(self) -> usize {
        match self {
            Eye::Right => 0,
            Eye::Left => 1,
        }
    }
}

/// One iris template: code bits and the mask of valid bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrisCode {
    /// Which eye.
    pub eye: Eye,
    /// Capture quality 0..100 (0 = not computed).
    pub quality: u8,
    /// 2048 code bits: bit `i` is bit `i % 64` of word `i / 64`; ring `r` is words `4r..4r+4`.
    pub code: [u64; 32],
    /// 2048 mask bits, same layout; `1` = the code bit is valid.
    pub mask: [u64; 32],
}

impl IrisCode {
    /// Decodes a 528-byte IrisCode record, checking every header field.
    pub fn from_bytes(bytes: &[u8]) -> Result<IrisCode, TemplateError> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(TemplateError::BadMagic {
                expected: MAGIC,
                found: bytes[..bytes.len().min(4)].to_vec(),
            });
        }
        if bytes.len() != IRIS_CODE_LEN {
            if bytes.len() < IRIS_CODE_LEN {
                return Err(TemplateError::Truncated {
                    offset: bytes.len(),
                    field: "iris code record",
                    needed: IRIS_CODE_LEN,
                    available: bytes.len(),
                });
            }
            return Err(TemplateError::LengthMismatch {
                declared: IRIS_CODE_LEN,
                actual: bytes.len(),
                parsed: IRIS_CODE_LEN,
            });
        }
        if bytes[4] != 1 {
            return Err(TemplateError::UnsupportedVersion {
                version: bytes[4].to_string(),
                format: "IrisCode record of an unknown version",
                supported: "IrisCode format v1",
            });
        }
        let eye = match bytes[5] {
            1 => Eye::Right,
            2 => Eye::Left,
            v => return Err(invalid("eye", 5, v as u32)),
        };
        let be16 = |o: usize| u16::from_be_bytes([bytes[o], bytes[o + 1]]);
        for (offset, field, want) in [
            (6, "rings", 8),
            (8, "angular samples", 128),
            (10, "bits per sample", 2),
        ] {
            let v = be16(offset);
            if v != want {
                return Err(invalid(field, offset, v as u32));
            }
        }
        let quality = bytes[12];
        if quality > 100 {
            return Err(invalid("quality", 12, quality as u32));
        }
        if let Some(i) = (13..16).find(|&i| bytes[i] != 0) {
            return Err(invalid("reserved", i, bytes[i] as u32));
        }
        let word = |o: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[o..o + 8]);
            u64::from_le_bytes(w)
        };
        let code = std::array::from_fn(|w| word(16 + 8 * w));
        let mask = std::array::from_fn(|w| word(272 + 8 * w));
        Ok(IrisCode {
            eye,
            quality,
            code,
            mask,
        })
    }

    /// Encodes the record as its 528 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(IRIS_CODE_LEN);
        out.extend_from_slice(MAGIC);
        out.push(1);
        out.push(match self.eye {
            Eye::Right => 1,
            Eye::Left => 2,
        });
        out.extend_from_slice(&8u16.to_be_bytes());
        out.extend_from_slice(&128u16.to_be_bytes());
        out.extend_from_slice(&2u16.to_be_bytes());
        out.push(self.quality);
        out.extend_from_slice(&[0, 0, 0]);
        for w in self.code.iter().chain(self.mask.iter()) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Number of valid (unmasked) bits.
    pub fn valid_bits(&self) -> u32 {
        self.mask.iter().map(|w| w.count_ones()).sum()
    }
}

fn invalid(field: &'static str, offset: usize, value: u32) -> TemplateError {
    TemplateError::InvalidField {
        field,
        offset,
        value,
    }
}
