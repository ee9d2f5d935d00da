//! Size limits applied while opening a packet, the guard against oversized uploads and zip
//! bombs. Both the sizes a zip *declares* and the bytes actually inflated are checked, so a
//! lying header cannot get more than one byte past a limit.

/// Bounds on a packet and its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted packet file (compressed), in bytes.
    pub max_packet_bytes: u64,
    /// Most entries a packet may hold (directory entries included).
    pub max_members: usize,
    /// Largest decompressed size of any single member, in bytes.
    pub max_member_bytes: u64,
    /// Largest decompressed size of all members together, in bytes.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    /// Generous for a real capture (a pass photo is ~50-500 KiB, a finger record < 2 KiB, an
    /// iris record 528 bytes) and small enough that a bomb cannot exhaust memory.
    fn default() -> Limits {
        Limits {
            max_packet_bytes: 16 * 1024 * 1024,
            max_members: 32,
            max_member_bytes: 4 * 1024 * 1024,
            max_total_bytes: 12 * 1024 * 1024,
        }
    }
}
