//! The physical layout of a packet zip, checked before any member is read.
//!
//! Zip readers disagree about archives that are not laid out plainly: one reads the last
//! end-of-central-directory (EOCD) record, another the first; one trusts the central
//! directory, another walks the local headers. A packet that two readers see differently is a
//! way to hide a second `photo.jpg` from the DC's checks. So a packet must be *unambiguous*:
//!
//! - the file ends with exactly one EOCD record, without an archive comment and without any
//!   byte after it, on disk 0, with no zip64 field (packets are far below the zip64 limits);
//! - the central directory ends exactly where the EOCD starts (no zip64 locator, no second
//!   EOCD, nothing else in between) and holds exactly the EOCD's entry count, without zip64
//!   extra fields and without two entries of the same name;
//! - the local entries (header, data, optional data descriptor) tile the file from byte 0 to
//!   the central directory with no gap and no overlap, and each local header names the same
//!   member, with the same compressed size, as its central-directory entry.
//!
//! Anything else is `AMBIGUOUS_ZIP` (or `UNEXPECTED_MEMBER` for a repeated name, or
//! `CORRUPT_ZIP` when a record runs past the end of the file).

use std::collections::HashSet;

use crate::reason::{ReasonCode, Rejection};

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;
const CDH_SIG: &[u8; 4] = b"PK\x01\x02";
const CDH_LEN: usize = 46;
const LFH_SIG: &[u8; 4] = b"PK\x03\x04";
const LFH_LEN: usize = 30;
const ZIP64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const DESCRIPTOR_SIG: &[u8; 4] = b"PK\x07\x08";
/// Extra-field id of the zip64 extended information.
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// General-purpose flag: sizes and CRC follow the data in a data descriptor.
const FLAG_DESCRIPTOR: u16 = 1 << 3;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ambiguous(detail: impl Into<String>) -> Rejection {
    Rejection::new(ReasonCode::AmbiguousZip, detail)
}

fn truncated(what: &str) -> Rejection {
    Rejection::new(
        ReasonCode::CorruptZip,
        format!("{what} runs past the end of the file"),
    )
}

/// One central-directory entry, as far as the layout check needs it.
struct Entry {
    name: Vec<u8>,
    local_offset: usize,
    compressed: usize,
    flags: u16,
}

/// Checks the layout rules of the module documentation; `Ok` means every zip reader sees the
/// same members.
pub fn check(bytes: &[u8]) -> Result<(), Rejection> {
    let (cd_offset, cd_size, count) = end_record(bytes)?;
    let entries = central_directory(bytes, cd_offset, cd_size, count)?;
    local_entries(bytes, cd_offset, entries)
}

/// The EOCD: the last 22 bytes, nothing after it, no zip64 and no multi-disk values.
fn end_record(bytes: &[u8]) -> Result<(usize, usize, usize), Rejection> {
    let Some(at) = bytes.len().checked_sub(EOCD_LEN) else {
        return Err(truncated("the end-of-central-directory record"));
    };
    if &bytes[at..at + 4] != EOCD_SIG {
        return Err(ambiguous(
            "bytes follow the end-of-central-directory record (trailing data, a second record or an archive comment)",
        ));
    }
    let field = |off: usize| u16_at(bytes, at + off).unwrap_or(u16::MAX);
    let (disk, cd_disk, on_disk, total) = (field(4), field(6), field(8), field(10));
    let cd_size = u32_at(bytes, at + 12).unwrap_or(u32::MAX);
    let cd_offset = u32_at(bytes, at + 16).unwrap_or(u32::MAX);
    if field(20) != 0 {
        return Err(ambiguous(
            "the end-of-central-directory record is not the last bytes of the file",
        ));
    }
    if total == u16::MAX || on_disk == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX {
        return Err(ambiguous(
            "the archive uses zip64 records, which packets never need",
        ));
    }
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(ambiguous("the archive claims to span several disks"));
    }
    let (cd_offset, cd_size) = (cd_offset as usize, cd_size as usize);
    if cd_offset.checked_add(cd_size) != Some(at) {
        if at >= 20 && &bytes[at - 20..at - 16] == ZIP64_LOCATOR_SIG {
            return Err(ambiguous(
                "the archive uses zip64 records, which packets never need",
            ));
        }
        return Err(ambiguous(
            "the central directory does not end where the end-of-central-directory record starts",
        ));
    }
    Ok((cd_offset, cd_size, usize::from(total)))
}

/// Whether an extra-field block holds a zip64 record (malformed blocks count as such).
fn has_zip64_extra(mut extra: &[u8]) -> bool {
    while !extra.is_empty() {
        let (Some(id), Some(len)) = (u16_at(extra, 0), u16_at(extra, 2)) else {
            return true;
        };
        if id == ZIP64_EXTRA_ID {
            return true;
        }
        let Some(rest) = extra.get(4 + usize::from(len)..) else {
            return true;
        };
        extra = rest;
    }
    false
}

/// Reads the `count` central-directory entries, which must fill `cd_size` bytes exactly.
fn central_directory(
    bytes: &[u8],
    cd_offset: usize,
    cd_size: usize,
    count: usize,
) -> Result<Vec<Entry>, Rejection> {
    let end = cd_offset + cd_size;
    let mut pos = cd_offset;
    let mut names = HashSet::with_capacity(count);
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if pos + CDH_LEN > end {
            return Err(ambiguous(
                "the central directory holds fewer entries than its end record says",
            ));
        }
        if &bytes[pos..pos + 4] != CDH_SIG {
            return Err(ambiguous(
                "the central directory holds something other than entry headers",
            ));
        }
        let at16 = |off: usize| usize::from(u16_at(bytes, pos + off).unwrap_or(u16::MAX));
        let at32 = |off: usize| u32_at(bytes, pos + off).unwrap_or(u32::MAX);
        let flags = u16_at(bytes, pos + 8).unwrap_or(0);
        let (compressed, size, local) = (at32(20), at32(24), at32(42));
        let (name_len, extra_len, comment_len) = (at16(28), at16(30), at16(32));
        let name_end = pos + CDH_LEN + name_len;
        let next = name_end + extra_len + comment_len;
        if next > end {
            return Err(ambiguous(
                "a central-directory entry runs past the central directory",
            ));
        }
        let name = bytes[pos + CDH_LEN..name_end].to_vec();
        if compressed == u32::MAX
            || size == u32::MAX
            || local == u32::MAX
            || has_zip64_extra(&bytes[name_end..name_end + extra_len])
        {
            return Err(ambiguous(
                "the archive uses zip64 records, which packets never need",
            ));
        }
        if !names.insert(name.clone()) {
            return Err(Rejection::new(
                ReasonCode::UnexpectedMember,
                "the zip directory lists the same member name more than once",
            ));
        }
        entries.push(Entry {
            name,
            local_offset: local as usize,
            compressed: compressed as usize,
            flags,
        });
        pos = next;
    }
    if pos != end {
        return Err(ambiguous(
            "the central directory holds more bytes than its entries",
        ));
    }
    Ok(entries)
}

/// Walks the local entries in file order: they must tile `0..cd_offset` exactly and agree
/// with the central directory.
fn local_entries(bytes: &[u8], cd_offset: usize, mut entries: Vec<Entry>) -> Result<(), Rejection> {
    entries.sort_by_key(|e| e.local_offset);
    let mut pos = 0usize;
    for e in &entries {
        if e.local_offset != pos {
            return Err(ambiguous(
                "bytes before or between the members are not accounted for by the central directory",
            ));
        }
        let header = bytes
            .get(pos..pos + LFH_LEN)
            .ok_or_else(|| truncated("a local file header"))?;
        if &header[..4] != LFH_SIG {
            return Err(ambiguous(
                "a central-directory entry does not point at a local file header",
            ));
        }
        let flags = u16_at(header, 6).unwrap_or(0);
        let local_compressed = u32_at(header, 18).unwrap_or(0) as usize;
        let name_len = usize::from(u16_at(header, 26).unwrap_or(0));
        let extra_len = usize::from(u16_at(header, 28).unwrap_or(0));
        let name_end = pos + LFH_LEN + name_len;
        let data = name_end + extra_len;
        let name = bytes
            .get(pos + LFH_LEN..name_end)
            .ok_or_else(|| truncated("a local file header"))?;
        if name != e.name.as_slice() {
            return Err(ambiguous(
                "a local file header names another member than its central-directory entry",
            ));
        }
        let extra = bytes
            .get(name_end..data)
            .ok_or_else(|| truncated("a local file header"))?;
        if has_zip64_extra(extra) {
            return Err(ambiguous(
                "the archive uses zip64 records, which packets never need",
            ));
        }
        if (flags & FLAG_DESCRIPTOR) != (e.flags & FLAG_DESCRIPTOR) {
            return Err(ambiguous(
                "a local file header and its central-directory entry disagree on the data descriptor",
            ));
        }
        let mut next = data + e.compressed;
        if flags & FLAG_DESCRIPTOR != 0 {
            let signed = bytes.get(next..next + 4) == Some(DESCRIPTOR_SIG.as_slice());
            next += if signed { 16 } else { 12 };
        } else if local_compressed != e.compressed {
            return Err(ambiguous(
                "a local file header and its central-directory entry disagree on the member's size",
            ));
        }
        if next > cd_offset {
            return Err(ambiguous(
                "a member's data overlaps the next member or the central directory",
            ));
        }
        pos = next;
    }
    if pos != cd_offset {
        return Err(ambiguous(
            "bytes between the last member and the central directory are not accounted for",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{zip_members, Member};

    fn plain() -> Vec<u8> {
        zip_members(&[
            Member::new("a.txt", b"hello".to_vec()),
            Member::new("b.txt", vec![7; 300]),
        ])
        .unwrap()
    }

    #[test]
    fn a_plain_archive_passes() {
        check(&plain()).unwrap();
    }

    #[test]
    fn trailing_bytes_comments_and_prefixes_are_ambiguous() {
        let mut trailing = plain();
        trailing.extend_from_slice(b"x");
        assert_eq!(check(&trailing).unwrap_err().code, ReasonCode::AmbiguousZip);
        let mut prefixed = b"junk".to_vec();
        prefixed.extend_from_slice(&plain());
        assert_ne!(check(&prefixed).map_err(|r| r.code), Ok(()));
        let mut second_eocd = plain();
        let eocd = second_eocd[second_eocd.len() - EOCD_LEN..].to_vec();
        second_eocd.extend_from_slice(&eocd);
        assert_eq!(
            check(&second_eocd).unwrap_err().code,
            ReasonCode::AmbiguousZip
        );
    }

    #[test]
    fn zip64_markers_are_refused() {
        let mut z = plain();
        let at = z.len() - EOCD_LEN;
        z[at + 10..at + 12].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(check(&z).unwrap_err().code, ReasonCode::AmbiguousZip);
        assert!(has_zip64_extra(&[1, 0, 0, 0]));
        assert!(!has_zip64_extra(&[0x55, 0x54, 1, 0, 9]));
    }

    #[test]
    fn a_local_name_other_than_the_directory_name_is_ambiguous() {
        let mut z = plain();
        // The first local header's name starts at byte 30: rename `a.txt` to `c.txt` there only.
        assert_eq!(&z[30..35], b"a.txt");
        z[30] = b'c';
        assert_eq!(check(&z).unwrap_err().code, ReasonCode::AmbiguousZip);
    }
}
