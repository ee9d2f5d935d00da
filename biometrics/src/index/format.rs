//! The persisted form of a [`Partition`] (format version 1, little-endian).
//!
//! | field | size |
//! | --- | --- |
//! | magic `TGPX` | 4 |
//! | version (u16) = 1, flags (u16) = 0 | 4 |
//! | config: finger_hashes, finger_hash_bits, finger_min_ones, iris_beacon_bits, iris_spaces, iris_column_step, iris_max_shift, finger_pool (u8 each); iris_weight (u16); reserved 0 (u16); finger_core, max_bucket_share (f32); seed (u64) | 28 |
//! | members n (u32) | 4 |
//! | ids: per member length (u16) + UTF-8 | … |
//! | fingers: per member and ISO position 1..10 length (u16, 0 = none), then the stored templates (`TFT` v1) concatenated in the same order | 20·n + … |
//! | irises: per member a presence byte (bit 0 right, bit 1 left), then the present IrisCode records (528 bytes each, `IRC` v1) in member order, right before left | n + 528·k |
//! | postings: directory bits (u8), keys (u32), members (u32), mixed keys (u64 each, ascending), list starts (u32 each, keys + 1), member indices (u32 each) | … |
//! | checksum (u64) of everything before it | 8 |
//!
//! The checksum is a word-wise chain: `h = seed`; for each 8-byte little-endian word `w` (the
//! last one zero-padded) `h = mix(h ^ w)` with SplitMix64's finaliser; finally
//! `h = mix(h ^ length)`. Decoding checks it first, then every structural rule (finger and
//! iris records well formed, postings sorted and in range), so a decoded partition can be
//! searched without any further check and no input makes decoding panic.

use super::config::{mix, IndexConfig};
use super::partition::{Partition, NO_IRIS};
use super::postings::Postings;
use crate::iris::{IrisCode, IRIS_CODE_LEN};
use thiserror::Error;

/// Magic of a persisted partition.
pub const MAGIC: &[u8; 4] = b"TGPX";
/// Current version of the persisted form.
pub const VERSION: u16 = 1;
const CHECKSUM_SEED: u64 = 0x7475_6e67_6761_6c58;

/// Why persisted partition bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndexError {
    /// Not a partition (wrong magic bytes).
    #[error("not a tunggal partition: bad magic {found:?}")]
    BadMagic {
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// A partition of a version this build cannot read.
    #[error("partition format version {version} is not supported (only {VERSION})")]
    UnsupportedVersion {
        /// The version found.
        version: u16,
    },
    /// The bytes end before a field.
    #[error("partition truncated at offset {offset}: {field} needs {needed} byte(s)")]
    Truncated {
        /// Offset of the field.
        offset: usize,
        /// The field.
        field: &'static str,
        /// Bytes it needs.
        needed: usize,
    },
    /// The checksum does not match: the bytes were damaged.
    #[error("partition checksum mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    Checksum {
        /// Checksum in the trailer.
        stored: u64,
        /// Checksum of the bytes.
        computed: u64,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid partition field {field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

/// The checksum of the format (see the module docs).
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut h = CHECKSUM_SEED;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h ^ u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    mix(h ^ bytes.len() as u64)
}

impl Partition {
    /// Encodes the partition in its persisted form (see [`super::format`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let c = &self.config;
        let mut out = Vec::with_capacity(self.memory_bytes());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&[
            c.finger_hashes,
            c.finger_hash_bits,
            c.finger_min_ones,
            c.iris_beacon_bits,
            c.iris_spaces,
            c.iris_column_step,
            c.iris_max_shift,
            c.finger_pool,
        ]);
        out.extend_from_slice(&c.iris_weight.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&c.finger_core.to_le_bytes());
        out.extend_from_slice(&c.max_bucket_share.to_le_bytes());
        out.extend_from_slice(&c.seed.to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        for id in &self.ids {
            out.extend_from_slice(&(id.len() as u16).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        for w in self.finger_offsets.windows(2) {
            out.extend_from_slice(&((w[1] - w[0]) as u16).to_le_bytes());
        }
        out.extend_from_slice(&self.finger_data);
        for slots in &self.iris_slots {
            out.push(u8::from(slots[0] != NO_IRIS) | u8::from(slots[1] != NO_IRIS) << 1);
        }
        for code in &self.iris_codes {
            out.extend_from_slice(&code.to_bytes());
        }
        let p = &self.postings;
        out.push(p.dir_bits);
        out.extend_from_slice(&(p.keys.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.members.len() as u32).to_le_bytes());
        for k in &p.keys {
            out.extend_from_slice(&k.to_le_bytes());
        }
        for s in &p.starts {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for m in &p.members {
            out.extend_from_slice(&m.to_le_bytes());
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes a persisted partition, checking the checksum and every structural rule; an
    /// error, never a panic, on any malformed input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Partition, IndexError> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(IndexError::BadMagic {
                found: bytes[..bytes.len().min(4)].to_vec(),
            });
        }
        let mut r = Reader { bytes, pos: 4 };
        let version = r.u16("version")?;
        if version != VERSION {
            return Err(IndexError::UnsupportedVersion { version });
        }
        if bytes.len() < 16 {
            return Err(IndexError::Truncated {
                offset: bytes.len(),
                field: "checksum",
                needed: 8,
            });
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
        let computed = checksum(body);
        if stored != computed {
            return Err(IndexError::Checksum { stored, computed });
        }
        let mut r = Reader {
            bytes: body,
            pos: 6,
        };
        let invalid = |field, why| IndexError::Invalid { field, why };
        if r.u16("flags")? != 0 {
            return Err(invalid("flags", "must be 0"));
        }
        let b = r.take(8, "config")?;
        let (fh, fb, fmin, ib, is, istep, ishift) = (b[0], b[1], b[2], b[3], b[4], b[5], b[6]);
        let finger_pool = b[7];
        let iris_weight = r.u16("config")?;
        r.u16("config")?;
        let config = IndexConfig {
            finger_hashes: fh,
            finger_hash_bits: fb,
            finger_min_ones: fmin,
            finger_pool,
            iris_beacon_bits: ib,
            iris_spaces: is,
            iris_column_step: istep,
            iris_max_shift: ishift,
            iris_weight,
            finger_core: f32::from_le_bytes(r.take(4, "config")?.try_into().expect("4")),
            max_bucket_share: f32::from_le_bytes(r.take(4, "config")?.try_into().expect("4")),
            seed: r.u64("config")?,
        };
        if !config.is_valid() {
            return Err(invalid("config", "parameters out of range"));
        }
        let n = r.u32("members")? as usize;
        // Every member takes at least 2 + 20 + 1 bytes: reject absurd counts before allocating.
        if n > body.len() / 23 {
            return Err(invalid("members", "more members than the bytes can hold"));
        }
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u16("id length")? as usize;
            let s =
                std::str::from_utf8(r.take(len, "id")?).map_err(|_| invalid("id", "not UTF-8"))?;
            ids.push(s.to_owned());
        }
        let mut finger_offsets = Vec::with_capacity(10 * n + 1);
        finger_offsets.push(0u64);
        let mut total = 0u64;
        for _ in 0..10 * n {
            total += r.u16("finger length")? as u64;
            finger_offsets.push(total);
        }
        let finger_data = r.take(total as usize, "finger templates")?.to_vec();
        for w in finger_offsets.windows(2) {
            let f = &finger_data[w[0] as usize..w[1] as usize];
            if !f.is_empty() && !stored_finger_ok(f) {
                return Err(invalid("finger template", "malformed stored template"));
            }
        }
        let presence = r.take(n, "iris presence")?.to_vec();
        let mut iris_slots = Vec::with_capacity(n);
        let mut iris_codes = Vec::new();
        for &bits in &presence {
            if bits > 3 {
                return Err(invalid("iris presence", "unknown bits"));
            }
            let mut slots = [NO_IRIS; 2];
            for (eye, slot) in slots.iter_mut().enumerate() {
                if bits >> eye & 1 == 1 {
                    let rec = r.take(IRIS_CODE_LEN, "iris code")?;
                    let code = IrisCode::from_bytes(rec)
                        .map_err(|_| invalid("iris code", "malformed IrisCode record"))?;
                    *slot = iris_codes.len() as u32;
                    iris_codes.push(code);
                }
            }
            iris_slots.push(slots);
        }
        let dir_bits = r.take(1, "postings")?[0];
        let nkeys = r.u32("postings")? as usize;
        let nmembers = r.u32("postings")? as usize;
        let left = body.len() - r.pos;
        if nkeys > left / 12 || nmembers > left / 4 {
            return Err(IndexError::Truncated {
                offset: r.pos,
                field: "postings",
                needed: 12 * nkeys + 4 + 4 * nmembers,
            });
        }
        let keys = r.u64s(nkeys, "keys")?;
        let starts = r.u32s(nkeys + 1, "list starts")?;
        let members = r.u32s(nmembers, "postings members")?;
        if r.pos != body.len() {
            return Err(invalid("trailer", "bytes after the postings"));
        }
        if dir_bits > 30 {
            return Err(invalid("postings", "directory too large"));
        }
        let mut postings = Postings {
            dir_bits,
            dir: Vec::new(),
            keys,
            starts,
            members,
        };
        postings.dir = super::postings::directory(&postings.keys, dir_bits);
        if !postings.lists_consistent(n) {
            return Err(invalid("postings", "lists unsorted or out of range"));
        }
        Ok(Partition {
            hf: config.hash_functions(),
            config,
            ids,
            finger_offsets,
            finger_data,
            iris_slots,
            iris_codes,
            postings,
        })
    }
}

/// Whether stored finger bytes are a well-formed `TFT` v1 template (the checks of
/// `FingerTemplate::from_bytes`, without rebuilding the cylinders).
fn stored_finger_ok(b: &[u8]) -> bool {
    if b.len() < 6 || &b[..3] != b"TFT" || b[3] != 1 {
        return false;
    }
    let n = u16::from_le_bytes([b[4], b[5]]) as usize;
    n <= 255 && b.len() == 6 + 7 * n && b[6..].chunks_exact(7).all(|m| m[6] <= 2)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], IndexError> {
        if self.bytes.len() - self.pos < n {
            return Err(IndexError::Truncated {
                offset: self.pos,
                field,
                needed: n,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, IndexError> {
        Ok(u16::from_le_bytes(
            self.take(2, field)?.try_into().expect("2"),
        ))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, IndexError> {
        Ok(u32::from_le_bytes(
            self.take(4, field)?.try_into().expect("4"),
        ))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, IndexError> {
        Ok(u64::from_le_bytes(
            self.take(8, field)?.try_into().expect("8"),
        ))
    }
    /// `n` little-endian u32 values (one bounds check for all).
    fn u32s(&mut self, n: usize, field: &'static str) -> Result<Vec<u32>, IndexError> {
        let b = self.take(n.saturating_mul(4), field)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
            .collect())
    }
    /// `n` little-endian u64 values (one bounds check for all).
    fn u64s(&mut self, n: usize, field: &'static str) -> Result<Vec<u64>, IndexError> {
        let b = self.take(n.saturating_mul(8), field)?;
        Ok(b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect())
    }
}
