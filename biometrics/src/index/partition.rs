//! One gallery partition: the members' compact stored templates and the candidate index over
//! them.
//!
//! Fingers are kept in their stored form ([`FingerTemplate::to_bytes`], 7 bytes per minutia)
//! and rebuilt (cylinders included, ~0.3–0.5 ms per finger) only for members a search
//! shortlists; irises are kept decoded (512 bytes of code and mask: comparing them needs no
//! preparation). The postings hold u32 member indices.

use super::config::{HashFunctions, IndexConfig};
use super::keys::gallery_keys;
use super::postings::Postings;
use crate::finger::FingerTemplate;
use crate::fusion::{PersonTemplate, PersonView};
use crate::iris::{Eye, IrisCode};
use rayon::prelude::*;
use std::cell::OnceCell;

/// No iris in this slot.
pub(crate) const NO_IRIS: u32 = u32::MAX;

/// One gallery partition: compact templates plus candidate index; the unit that is
/// persisted ([`Partition::to_bytes`]), streamed when the gallery exceeds RAM, and shipped to
/// executors. Members are numbered 0.. in the order given to [`Partition::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub(crate) config: IndexConfig,
    pub(crate) hf: HashFunctions,
    pub(crate) ids: Vec<String>,
    /// Start of finger `10·member + position−1` in `finger_data`; `10·len + 1` entries (an
    /// empty range = no finger).
    pub(crate) finger_offsets: Vec<u64>,
    /// Stored finger templates, concatenated.
    pub(crate) finger_data: Vec<u8>,
    /// Index into `iris_codes` of each member's right and left iris, or [`NO_IRIS`].
    pub(crate) iris_slots: Vec<[u32; 2]>,
    pub(crate) iris_codes: Vec<IrisCode>,
    pub(crate) postings: Postings,
}

impl Partition {
    /// Builds a partition with the default [`IndexConfig`]: stores the templates compactly
    /// and files every member in the index (in parallel).
    pub fn build(members: Vec<(String, PersonTemplate)>) -> Partition {
        Partition::build_with(members, &IndexConfig::default())
    }

    /// Builds a partition with the given index configuration (see [`IndexConfig`]).
    ///
    /// # Panics
    /// If the configuration is out of range, an id is longer than 65 535 bytes, or the partition would exceed 2³² postings
    /// (several million members: split the gallery into more partitions).
    pub fn build_with(members: Vec<(String, PersonTemplate)>, config: &IndexConfig) -> Partition {
        assert!(config.is_valid(), "index configuration out of range");
        assert!(
            members.iter().all(|(id, _)| id.len() <= u16::MAX as usize),
            "enrollment ids are at most 65 535 bytes"
        );
        let hf = config.hash_functions();
        let per_member: Vec<(Vec<u64>, Vec<Vec<u8>>)> = members
            .par_iter()
            .map(|(_, p)| {
                let fingers = p
                    .fingers
                    .iter()
                    .map(|f| f.as_ref().map(FingerTemplate::to_bytes).unwrap_or_default())
                    .collect();
                (gallery_keys(p, config, &hf), fingers)
            })
            .collect();
        let max_list = ((config.max_bucket_share as f64 * members.len() as f64) as usize).max(64);
        let keys: Vec<Vec<u64>> = per_member.iter().map(|m| m.0.clone()).collect();
        let postings = Postings::build(&keys, max_list);
        drop(keys);
        let mut finger_offsets = Vec::with_capacity(10 * members.len() + 1);
        let mut finger_data = Vec::new();
        finger_offsets.push(0);
        for (_, fingers) in &per_member {
            for f in fingers {
                finger_data.extend_from_slice(f);
                finger_offsets.push(finger_data.len() as u64);
            }
        }
        finger_data.shrink_to_fit();
        let mut ids = Vec::with_capacity(members.len());
        let mut iris_slots = Vec::with_capacity(members.len());
        let mut iris_codes = Vec::new();
        for (id, p) in members {
            ids.push(id);
            let mut slots = [NO_IRIS; 2];
            for (s, c) in slots.iter_mut().zip(p.irises) {
                if let Some(c) = c {
                    *s = iris_codes.len() as u32;
                    iris_codes.push(c);
                }
            }
            iris_slots.push(slots);
        }
        iris_codes.shrink_to_fit();
        Partition {
            config: config.clone(),
            hf,
            ids,
            finger_offsets,
            finger_data,
            iris_slots,
            iris_codes,
            postings,
        }
    }

    /// One partition holding the members of `parts`, in order (part 0's members first):
    /// what [`Partition::build_with`] would give for all their members together, without
    /// decoding a template (lists a part dropped as too common stay dropped). Searching one
    /// merged partition costs one lookup per probe key instead of one per key and partition,
    /// which is what a gallery of many nightly partitions pays otherwise. Merged lists longer
    /// than [`super::MAX_LIST_SHARE`] of the members are dropped as well: the search does not
    /// read them by default, and they are a large share of the memory.
    ///
    /// # Panics
    /// If `parts` is empty, the parts were built with different index configurations (see
    /// [`Partition::config`]), or the merged partition would exceed 2³² postings.
    pub fn merge(parts: Vec<Partition>) -> Partition {
        assert!(!parts.is_empty(), "nothing to merge");
        assert!(
            parts.iter().all(|p| p.config == parts[0].config),
            "only partitions of one index configuration merge"
        );
        let config = parts[0].config.clone();
        let members: usize = parts.iter().map(Partition::len).sum();
        let max_list = super::list_cap(config.max_bucket_share.min(super::MAX_LIST_SHARE), members);
        let mut offsets = Vec::with_capacity(parts.len());
        let mut next = 0u32;
        for p in &parts {
            offsets.push(next);
            next += p.len() as u32;
        }
        let lists: Vec<(&Postings, u32)> = parts
            .iter()
            .zip(&offsets)
            .map(|(p, &o)| (&p.postings, o))
            .collect();
        let postings = Postings::merge(&lists, max_list);
        drop(lists);
        let mut merged = Partition {
            hf: parts[0].hf.clone(),
            config,
            ids: Vec::with_capacity(members),
            finger_offsets: Vec::with_capacity(10 * members + 1),
            finger_data: Vec::with_capacity(parts.iter().map(|p| p.finger_data.len()).sum()),
            iris_slots: Vec::with_capacity(members),
            iris_codes: Vec::with_capacity(parts.iter().map(|p| p.iris_codes.len()).sum()),
            postings,
        };
        merged.finger_offsets.push(0);
        for p in parts {
            let base = merged.finger_data.len() as u64;
            merged
                .finger_offsets
                .extend(p.finger_offsets[1..].iter().map(|&o| o + base));
            merged.finger_data.extend_from_slice(&p.finger_data);
            let iris_base = merged.iris_codes.len() as u32;
            merged.iris_slots.extend(
                p.iris_slots
                    .iter()
                    .map(|s| s.map(|i| if i == NO_IRIS { NO_IRIS } else { i + iris_base })),
            );
            merged.iris_codes.extend(p.iris_codes);
            merged.ids.extend(p.ids);
        }
        merged
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the partition has no members.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The enrollment id of member `member` (its index in the order built).
    ///
    /// # Panics
    /// If `member` is out of range.
    pub fn enrollment_id(&self, member: u32) -> &str {
        &self.ids[member as usize]
    }

    /// The index configuration the partition was built with.
    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// Number of postings (member entries over all hash lists): the index's size.
    pub fn postings(&self) -> usize {
        self.postings.members.len()
    }

    /// Heap bytes held (templates, ids and index), for memory reports.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Partition>()
            + self
                .ids
                .iter()
                .map(|s| s.capacity() + std::mem::size_of::<String>())
                .sum::<usize>()
            + 8 * self.finger_offsets.capacity()
            + self.finger_data.capacity()
            + 8 * self.iris_slots.capacity()
            + std::mem::size_of::<IrisCode>() * self.iris_codes.capacity()
            + self.postings.memory_bytes()
    }

    /// A member's iris code, if it has that eye.
    pub(crate) fn iris(&self, member: u32, eye: Eye) -> Option<&IrisCode> {
        let slot = self.iris_slots[member as usize][eye.slot()];
        (slot != NO_IRIS).then(|| &self.iris_codes[slot as usize])
    }

    /// Asks the memory for where a member's irises are kept ([`Partition::iris`]'s first
    /// step), ahead of use.
    pub(crate) fn prefetch_iris_slots(&self, member: u32) {
        super::postings::prefetch(&self.iris_slots[member as usize]);
    }

    /// Asks the memory for a member's iris code of `eye`, ahead of use: comparing the irises
    /// of thousands of members per probe, each in its own place in a large partition, waits
    /// on memory more than it counts bits.
    pub(crate) fn prefetch_iris(&self, member: u32, eye: Eye) {
        if let Some(code) = self.iris(member, eye) {
            for line in code.code.chunks(8).chain(code.mask.chunks(8)) {
                super::postings::prefetch(&line[0]);
            }
        }
    }

    /// The stored bytes of a member's finger at ISO position 1..=10 (empty = none).
    pub(crate) fn finger_bytes(&self, member: u32, position: u8) -> &[u8] {
        let i = 10 * member as usize + position as usize - 1;
        &self.finger_data[self.finger_offsets[i] as usize..self.finger_offsets[i + 1] as usize]
    }
}

/// A member as the fused comparison reads it ([`PersonView`]): irises straight from the
/// partition, fingers rebuilt from their stored form on first use (the costly step: the
/// cylinders) and kept for the member's other probes. A comparison that settles early never
/// rebuilds the fingers it did not reach.
pub(crate) struct LazyMember<'a> {
    partition: &'a Partition,
    member: u32,
    fingers: [OnceCell<Option<FingerTemplate>>; 10],
}

impl<'a> LazyMember<'a> {
    /// Member `member` of `partition`, nothing rebuilt yet.
    pub(crate) fn new(partition: &'a Partition, member: u32) -> LazyMember<'a> {
        LazyMember {
            partition,
            member,
            fingers: Default::default(),
        }
    }
}

impl PersonView for LazyMember<'_> {
    fn finger(&self, position: u8) -> Option<&FingerTemplate> {
        if !self.has_finger(position) {
            return None;
        }
        self.fingers[position as usize - 1]
            .get_or_init(|| {
                // Checked on build/decode of the partition, so this cannot fail.
                FingerTemplate::from_bytes(self.partition.finger_bytes(self.member, position)).ok()
            })
            .as_ref()
    }

    fn has_finger(&self, position: u8) -> bool {
        (1..=10).contains(&position)
            && !self
                .partition
                .finger_bytes(self.member, position)
                .is_empty()
    }

    fn iris(&self, eye: Eye) -> Option<&IrisCode> {
        self.partition.iris(self.member, eye)
    }
}
