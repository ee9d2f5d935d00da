//! The stored binary form of a [`FingerTemplate`], kept beside the ISO record.
//!
//! Layout (version 1, little-endian): magic `TFT` + version byte `1`, minutiae count (u16),
//! then per minutia x, y (i16, quarter pixels at 500 dpi, y up), direction (u16, 2π/65536)
//! and type (u8: 0 other, 1 ending, 2 bifurcation): 6 + 7·n bytes. Cylinders are not stored
//! (they would make the record ~30× larger, which matters at 2 billion fingers); they are
//! rebuilt deterministically on load, once per template, never per comparison.

use super::template::{from_quantised, FingerTemplate};
use crate::iso19794::MinutiaKind;
use crate::TemplateError;

/// Magic of a stored finger template.
pub const MAGIC: &[u8; 3] = b"TFT";
/// Current version of the stored form.
pub const VERSION: u8 = 1;
/// Largest number of minutiae in a stored template (an ISO view holds at most 255).
pub const MAX_MINUTIAE: usize = 255;

impl FingerTemplate {
    /// Encodes the template in its compact stored form (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 7 * self.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.len() as u16).to_le_bytes());
        for (x, y, t, k) in self.quantised() {
            out.extend_from_slice(&x.to_le_bytes());
            out.extend_from_slice(&y.to_le_bytes());
            out.extend_from_slice(&t.to_le_bytes());
            out.push(k.code() as u8);
        }
        out
    }

    /// Decodes a stored template and rebuilds its cylinders. Returns an error, never panics,
    /// on any malformed input.
    pub fn from_bytes(bytes: &[u8]) -> Result<FingerTemplate, TemplateError> {
        if bytes.len() < 4 || &bytes[..3] != MAGIC {
            return Err(TemplateError::BadMagic {
                expected: MAGIC,
                found: bytes[..bytes.len().min(3)].to_vec(),
            });
        }
        if bytes[3] != VERSION {
            return Err(TemplateError::UnsupportedVersion {
                version: bytes[3].to_string(),
                format: "finger template of an unknown version",
                supported: "finger template v1",
            });
        }
        if bytes.len() < 6 {
            return Err(TemplateError::Truncated {
                offset: 4,
                field: "minutiae count",
                needed: 2,
                available: bytes.len() - 4,
            });
        }
        let n = u16::from_le_bytes([bytes[4], bytes[5]]) as usize;
        if n > MAX_MINUTIAE {
            return Err(TemplateError::InvalidField {
                field: "minutiae count",
                offset: 4,
                value: n as u32,
            });
        }
        let expected = 6 + 7 * n;
        if bytes.len() != expected {
            if bytes.len() < expected {
                return Err(TemplateError::Truncated {
                    offset: bytes.len(),
                    field: "minutiae",
                    needed: expected - 6,
                    available: bytes.len() - 6,
                });
            }
            return Err(TemplateError::LengthMismatch {
                declared: expected,
                actual: bytes.len(),
                parsed: expected,
            });
        }
        let mut q = Vec::with_capacity(n);
        for (i, m) in bytes[6..].chunks_exact(7).enumerate() {
            let kind = MinutiaKind::from_code(m[6] as u16).ok_or(TemplateError::InvalidField {
                field: "minutia type",
                offset: 6 + 7 * i + 6,
                value: m[6] as u32,
            })?;
            q.push((
                i16::from_le_bytes([m[0], m[1]]),
                i16::from_le_bytes([m[2], m[3]]),
                u16::from_le_bytes([m[4], m[5]]),
                kind,
            ));
        }
        Ok(from_quantised(&q))
    }
}
