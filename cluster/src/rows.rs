//! The rows the jobs return, as Arrow batches: per unit one header row (no probe) with the
//! unit's size and the task's work, then for the rank job one row per probe with samples of
//! its evidence, for the gather job one row per probe with its members packed, for the
//! compare job one row per candidate. The driver reads them back into what
//! [`biometrics::index::Ranking::floors`], [`biometrics::index::Ranking::add_ranked`] and
//! the second pass take, and checks that every unit answered exactly once.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, StringArray, StringBuilder, UInt32Array,
    UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use biometrics::fusion::{Modality, ModalityScore, PersonScore};
use biometrics::index::{Candidate, Evidence, Ranked, Samples, SearchStats};
use biometrics::iris::Eye;
use serde::{Deserialize, Serialize};

use crate::{ClusterError, Result};

/// Rows per batch: far below the 16 MiB a Flight message may carry.
const CHUNK: usize = 65_536;

/// Bytes of one member's evidence in a rank row's `entries`: member, evidence (its bits),
/// votes, each a little-endian u32.
const ENTRY: usize = 12;

/// Rank rows per batch: each carries a probe's whole list (up to `iris_depth` entries), so
/// a batch stays within a few MiB.
const RANK_CHUNK: usize = 256;

/// Schema of the rank job's rows: per unit a header row (no probe: the unit's size in
/// `members`, the task's work in `stats`), then one row per probe with evidence, its
/// members packed in `entries` — one row per probe instead of one per member keeps what
/// crosses the shuffle and the driver's decoding to the bytes themselves.
pub fn rank_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit", DataType::UInt32, false),
        Field::new("probe", DataType::UInt32, true),
        Field::new("members", DataType::UInt32, false),
        Field::new("entries", DataType::Binary, true),
        Field::new("stats", DataType::Utf8, true),
    ]))
}

/// Schema of the compare job's rows.
pub fn compare_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit", DataType::UInt32, false),
        Field::new("probe", DataType::UInt32, true),
        Field::new("member", DataType::UInt32, false),
        Field::new("member_id", DataType::Utf8, true),
        Field::new("score", DataType::Binary, true),
        Field::new("stats", DataType::Utf8, true),
    ]))
}

/// Where a task's time went besides the search itself, as its header row reports it: the
/// driver sums them per job to show what the cluster costs beyond the search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskTimes {
    /// Tasks counted.
    #[serde(default)]
    pub tasks: u64,
    /// Time until the batch's probes were ready (read and prepared, or cached).
    #[serde(default)]
    pub probes_ns: u64,
    /// Time until the task's unit was ready (read and merged, or cached).
    #[serde(default)]
    pub unit_ns: u64,
    /// Units read from the store (the others were still held by the executor).
    #[serde(default)]
    pub units_read: u64,
    /// Time of the pass itself.
    #[serde(default)]
    pub work_ns: u64,
}

impl TaskTimes {
    /// Adds another task's times.
    pub fn add(&mut self, other: &TaskTimes) {
        self.tasks += other.tasks;
        self.probes_ns += other.probes_ns;
        self.unit_ns += other.unit_ns;
        self.units_read += other.units_read;
        self.work_ns += other.work_ns;
    }
}

/// [`SearchStats`] and [`TaskTimes`] as the header row carries them.
#[derive(Serialize, Deserialize)]
struct Work {
    gallery: u64,
    full_comparisons: u64,
    index_work: u64,
    iris_work: u64,
    iris_checks: u64,
    members_decoded: u64,
    index_ns: u64,
    match_ns: u64,
    #[serde(default)]
    times: TaskTimes,
}

fn work_json(s: &SearchStats, times: &TaskTimes) -> String {
    serde_json::to_string(&Work {
        gallery: s.gallery,
        full_comparisons: s.full_comparisons,
        index_work: s.index_work,
        iris_work: s.iris_work,
        iris_checks: s.iris_checks,
        members_decoded: s.members_decoded,
        index_ns: s.index_ns,
        match_ns: s.match_ns,
        times: *times,
    })
    .expect("numbers serialize")
}

fn stats_of(json: &str) -> Result<(SearchStats, TaskTimes)> {
    let w: Work = serde_json::from_str(json).map_err(|e| bad(format!("work: {e}")))?;
    Ok((
        SearchStats {
            gallery: w.gallery,
            full_comparisons: w.full_comparisons,
            index_work: w.index_work,
            iris_work: w.iris_work,
            iris_checks: w.iris_checks,
            members_decoded: w.members_decoded,
            index_ns: w.index_ns,
            match_ns: w.match_ns,
            ..SearchStats::default()
        },
        w.times,
    ))
}

fn bad(reason: String) -> ClusterError {
    ClusterError::Ballista(format!("unexpected rows from the executors: {reason}"))
}

/// A probe's evidence list packed as [`ENTRY`]-byte records.
fn pack<'a>(list: impl Iterator<Item = &'a Evidence>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in list {
        out.extend_from_slice(&e.member.to_le_bytes());
        out.extend_from_slice(&e.evidence.to_bits().to_le_bytes());
        out.extend_from_slice(&e.votes.to_le_bytes());
    }
    out
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The evidence list of a packed `entries` value.
fn unpack(bytes: &[u8]) -> Result<Vec<Evidence>> {
    if !bytes.len().is_multiple_of(ENTRY) {
        return Err(bad("an evidence list cut short".into()));
    }
    Ok(bytes
        .chunks_exact(ENTRY)
        .map(|c| Evidence {
            member: le32(&c[0..4]),
            evidence: f32::from_bits(le32(&c[4..8])),
            votes: le32(&c[8..12]),
        })
        .collect())
}

/// A probe's samples packed as (rank, evidence bits) pairs of little-endian u32.
fn pack_samples(samples: &Samples) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 8);
    for (rank, value) in samples {
        out.extend_from_slice(&rank.to_le_bytes());
        out.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    out
}

fn unpack_samples(bytes: &[u8]) -> Result<Samples> {
    if !bytes.len().is_multiple_of(8) {
        return Err(bad("samples cut short".into()));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| (le32(&c[0..4]), f32::from_bits(le32(&c[4..8]))))
        .collect())
}

/// Rows of the rank schema: the unit's header, then one row per probe with a packed list.
fn packed_rows(
    unit: u32,
    members: u32,
    header: String,
    lists: impl Iterator<Item = (u32, Vec<u8>)>,
) -> Result<Vec<RecordBatch>> {
    let rows = std::iter::once(None).chain(lists.map(Some));
    let mut out = Vec::new();
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let (mut probe, mut entries, mut stats) = (
            UInt32Builder::new(),
            BinaryBuilder::new(),
            StringBuilder::new(),
        );
        let mut n = 0;
        for row in rows.by_ref().take(RANK_CHUNK) {
            n += 1;
            match row {
                None => {
                    probe.append_null();
                    entries.append_null();
                    stats.append_value(&header);
                }
                Some((p, list)) => {
                    probe.append_value(p);
                    entries.append_value(list);
                    stats.append_null();
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(vec![unit; n])),
            Arc::new(probe.finish()),
            Arc::new(UInt32Array::from(vec![members; n])),
            Arc::new(entries.finish()),
            Arc::new(stats.finish()),
        ];
        out.push(RecordBatch::try_new(rank_schema(), columns).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

/// The gather job's rows of unit `unit`: per probe the members of `ranked` at or above its
/// floor or with `always_votes` (`above`), or all of them (`None`). The header carries no
/// search work (the rank job counted it), only the task's times.
pub fn rank_rows(
    unit: u32,
    ranked: &Ranked,
    above: Option<(&[f32], u32)>,
    times: &TaskTimes,
) -> Result<Vec<RecordBatch>> {
    let lists = ranked
        .per_probe
        .iter()
        .enumerate()
        .filter_map(move |(p, list)| {
            let floor = above.map_or(f32::NEG_INFINITY, |(f, _)| f[p]);
            let always = above.map_or(0, |(_, a)| a);
            let bytes = pack(
                list.iter()
                    .filter(|e| e.evidence >= floor || e.votes >= always),
            );
            (!bytes.is_empty()).then_some((p as u32, bytes))
        });
    let stats = if above.is_some() {
        SearchStats::default()
    } else {
        ranked.stats
    };
    packed_rows(unit, ranked.members, work_json(&stats, times), lists)
}

/// The rank job's rows of unit `unit`: its size, its search work and, per probe, samples of
/// its evidence.
pub fn sample_rows(
    unit: u32,
    ranked: &Ranked,
    samples: &[Samples],
    times: &TaskTimes,
) -> Result<Vec<RecordBatch>> {
    let lists = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(p, s)| (p as u32, pack_samples(s)));
    packed_rows(unit, ranked.members, work_json(&ranked.stats, times), lists)
}

/// The compare job's rows of unit `unit`: its candidates with their members' ids.
pub fn compare_rows(
    unit: u32,
    found: &[(Candidate, String)],
    stats: &SearchStats,
    times: &TaskTimes,
) -> Result<Vec<RecordBatch>> {
    let header = work_json(stats, times);
    let mut out = Vec::new();
    let rows: Vec<Option<&(Candidate, String)>> = std::iter::once(None)
        .chain(found.iter().map(Some))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let (mut probe, mut member, mut ids, mut score, mut work) = (
            UInt32Builder::new(),
            UInt32Builder::new(),
            StringBuilder::new(),
            BinaryBuilder::new(),
            StringBuilder::new(),
        );
        for row in chunk {
            match row {
                None => {
                    probe.append_null();
                    member.append_value(0);
                    ids.append_null();
                    score.append_null();
                    work.append_value(&header);
                }
                Some((c, id)) => {
                    probe.append_value(c.probe);
                    member.append_value(c.member);
                    ids.append_value(id);
                    score.append_value(encode_score(&c.score));
                    work.append_null();
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(vec![unit; chunk.len()])),
            Arc::new(probe.finish()),
            Arc::new(member.finish()),
            Arc::new(ids.finish()),
            Arc::new(score.finish()),
            Arc::new(work.finish()),
        ];
        out.push(RecordBatch::try_new(compare_schema(), columns).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| bad(format!("column {name} missing or mistyped")))
}

/// Checks that each of `units` answered exactly once (one header row each).
fn check_headers(seen: &[usize], job: &str) -> Result<()> {
    if let Some(k) = seen.iter().position(|&n| n != 1) {
        return Err(bad(format!(
            "unit {k} answered {} times in the {job} job",
            seen[k]
        )));
    }
    Ok(())
}

/// One unit's answer in the rank schema: its size, its work and a list per probe.
struct Packed<T> {
    members: u32,
    stats: SearchStats,
    per_probe: Vec<T>,
}

/// Rows of the rank schema read back, per unit, each probe's list decoded by `decode`;
/// checks that every unit answered exactly once and every probe at most once.
fn read_packed<T: Default + Clone>(
    batches: &[RecordBatch],
    units: usize,
    probes: usize,
    job: &str,
    decode: impl Fn(&[u8]) -> Result<T>,
) -> Result<(Vec<Packed<T>>, TaskTimes)> {
    let mut out: Vec<Packed<T>> = (0..units)
        .map(|_| Packed {
            members: 0,
            stats: SearchStats::default(),
            per_probe: vec![T::default(); probes],
        })
        .collect();
    let mut answered = vec![vec![false; probes]; units];
    let mut seen = vec![0usize; units];
    let mut times = TaskTimes::default();
    for b in batches {
        let unit = column::<UInt32Array>(b, "unit")?;
        let probe = column::<UInt32Array>(b, "probe")?;
        let members = column::<UInt32Array>(b, "members")?;
        let entries = column::<BinaryArray>(b, "entries")?;
        let stats = column::<StringArray>(b, "stats")?;
        for r in 0..b.num_rows() {
            let k = unit.value(r) as usize;
            let target = out
                .get_mut(k)
                .ok_or_else(|| bad(format!("unit {k} of {units}")))?;
            if probe.is_null(r) {
                seen[k] += 1;
                target.members = members.value(r);
                let (s, t) = stats_of(stats.value(r))?;
                target.stats = s;
                times.add(&t);
            } else {
                let p = probe.value(r) as usize;
                if p >= probes || std::mem::replace(&mut answered[k][p], true) {
                    return Err(bad(format!(
                        "probe {p} of {probes} answered twice or beyond the batch by unit {k}"
                    )));
                }
                target.per_probe[p] = decode(entries.value(r))?;
            }
        }
    }
    check_headers(&seen, job)?;
    Ok((out, times))
}

/// The gather job's rows as one [`Ranked`] per unit, for `probes` probes, and the tasks'
/// times summed.
pub fn read_ranked(
    batches: &[RecordBatch],
    units: usize,
    probes: usize,
) -> Result<(Vec<Ranked>, TaskTimes)> {
    let (packed, times) = read_packed(batches, units, probes, "gather", unpack)?;
    let out: Vec<Ranked> = packed
        .into_iter()
        .map(|p| Ranked {
            members: p.members,
            per_probe: p.per_probe,
            stats: p.stats,
        })
        .collect();
    for r in &out {
        if r.per_probe.iter().flatten().any(|e| e.member >= r.members) {
            return Err(bad("a member beyond its unit".into()));
        }
    }
    Ok((out, times))
}

/// What a unit answered in the rank job: its size, its search work and its samples.
pub struct Sampled {
    /// Members of the unit.
    pub members: u32,
    /// The unit's first pass's work.
    pub stats: SearchStats,
    /// Per probe, samples of its evidence.
    pub samples: Vec<Samples>,
}

/// The rank job's rows, one [`Sampled`] per unit, and the tasks' times summed.
pub fn read_samples(
    batches: &[RecordBatch],
    units: usize,
    probes: usize,
) -> Result<(Vec<Sampled>, TaskTimes)> {
    let (packed, times) = read_packed(batches, units, probes, "rank", unpack_samples)?;
    Ok((
        packed
            .into_iter()
            .map(|p| Sampled {
                members: p.members,
                stats: p.stats,
                samples: p.per_probe,
            })
            .collect(),
        times,
    ))
}

/// Candidates with their member's enrollment id, and the work done, per unit.
pub type Compared = Vec<(Vec<(Candidate, String)>, SearchStats)>;

/// The compare job's rows per unit, each unit's candidates in the order the second pass
/// returns them (by probe, then LLR descending, then member).
pub fn read_compared(batches: &[RecordBatch], units: usize) -> Result<(Compared, TaskTimes)> {
    let mut out: Compared = (0..units)
        .map(|_| (Vec::new(), SearchStats::default()))
        .collect();
    let mut seen = vec![0usize; units];
    let mut times = TaskTimes::default();
    for b in batches {
        let unit = column::<UInt32Array>(b, "unit")?;
        let probe = column::<UInt32Array>(b, "probe")?;
        let member = column::<UInt32Array>(b, "member")?;
        let ids = column::<StringArray>(b, "member_id")?;
        let score = column::<BinaryArray>(b, "score")?;
        let stats = column::<StringArray>(b, "stats")?;
        for r in 0..b.num_rows() {
            let k = unit.value(r) as usize;
            let target = out
                .get_mut(k)
                .ok_or_else(|| bad(format!("unit {k} of {units}")))?;
            if probe.is_null(r) {
                seen[k] += 1;
                let (s, t) = stats_of(stats.value(r))?;
                target.1 = s;
                times.add(&t);
            } else {
                target.0.push((
                    Candidate {
                        probe: probe.value(r),
                        member: member.value(r),
                        score: decode_score(score.value(r))?,
                    },
                    ids.value(r).to_string(),
                ));
            }
        }
    }
    check_headers(&seen, "compare")?;
    for (found, _) in &mut out {
        found.sort_by(|(a, _), (b, _)| {
            a.probe
                .cmp(&b.probe)
                .then(b.score.llr.total_cmp(&a.score.llr))
                .then(a.member.cmp(&b.member))
        });
    }
    Ok((out, times))
}

/// A fused score as bytes: LLR, the swap taken (flag and two positions), then each part
/// (kind, two positions or the eye, similarity, LLR); floats as their bits, exactly.
pub fn encode_score(s: &PersonScore) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 11 * s.parts.len());
    out.extend_from_slice(&s.llr.to_bits().to_le_bytes());
    let (flag, a, b) = s.swapped.map_or((0, 0, 0), |(a, b)| (1, a, b));
    out.extend_from_slice(&[flag, a, b]);
    out.push(s.parts.len() as u8);
    for p in &s.parts {
        let (kind, a, b) = match p.what {
            Modality::Finger(a, b) => (0, a, b),
            Modality::Iris(eye) => (1, eye.slot() as u8, 0),
        };
        out.extend_from_slice(&[kind, a, b]);
        out.extend_from_slice(&p.similarity.to_bits().to_le_bytes());
        out.extend_from_slice(&p.llr.to_bits().to_le_bytes());
    }
    out
}

/// The fused score again.
pub fn decode_score(bytes: &[u8]) -> Result<PersonScore> {
    let short = || bad("a score cut short".into());
    let f = |b: &[u8]| f32::from_bits(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if bytes.len() < 8 {
        return Err(short());
    }
    let n = bytes[7] as usize;
    if bytes.len() != 8 + 11 * n {
        return Err(short());
    }
    let parts = bytes[8..]
        .chunks_exact(11)
        .map(|c| {
            let what = match (c[0], c[1]) {
                (0, a) => Modality::Finger(a, c[2]),
                (1, 0) => Modality::Iris(Eye::Right),
                (1, 1) => Modality::Iris(Eye::Left),
                _ => return Err(bad("a score part of no known kind".into())),
            };
            Ok(ModalityScore {
                what,
                similarity: f(&c[3..7]),
                llr: f(&c[7..11]),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PersonScore {
        llr: f(&bytes[0..4]),
        parts,
        swapped: (bytes[4] == 1).then_some((bytes[5], bytes[6])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_cross_exactly() {
        let s = PersonScore {
            llr: 31.25,
            parts: vec![
                ModalityScore {
                    what: Modality::Finger(2, 7),
                    similarity: 0.123_456_7,
                    llr: -1.5,
                },
                ModalityScore {
                    what: Modality::Iris(Eye::Left),
                    similarity: 0.9,
                    llr: f32::NEG_INFINITY,
                },
            ],
            swapped: Some((2, 7)),
        };
        assert_eq!(decode_score(&encode_score(&s)).unwrap(), s);
        assert!(decode_score(&encode_score(&s)[..12]).is_err());
    }

    #[test]
    fn ranked_rows_read_back_and_a_unit_answering_twice_is_refused() {
        let ranked = Ranked {
            members: 9,
            per_probe: vec![
                vec![Evidence {
                    evidence: 3.5,
                    votes: 4,
                    member: 8,
                }],
                vec![],
            ],
            stats: SearchStats {
                index_work: 77,
                ..SearchStats::default()
            },
        };
        let times = TaskTimes {
            tasks: 1,
            units_read: 1,
            ..TaskTimes::default()
        };
        let rows = rank_rows(1, &ranked, None, &times).unwrap();
        let empty = Ranked {
            members: 0,
            per_probe: vec![vec![], vec![]],
            stats: SearchStats::default(),
        };
        let mut all = rank_rows(0, &empty, None, &times).unwrap();
        all.extend(rows.clone());
        let (back, summed) = read_ranked(&all, 2, 2).unwrap();
        assert_eq!(back[1], ranked);
        assert_eq!((summed.tasks, summed.units_read), (2, 2));
        all.extend(rows);
        assert!(read_ranked(&all, 2, 2).is_err());
        assert!(read_ranked(&all[..1], 2, 2).is_err(), "a unit missing");
    }

    #[test]
    fn a_gather_sends_only_what_is_at_or_above_the_floor_and_samples_cross_exactly() {
        let e = |evidence: f32, votes: u32, member: u32| Evidence {
            evidence,
            votes,
            member,
        };
        let ranked = Ranked {
            members: 10,
            per_probe: vec![
                vec![e(9.0, 2, 1), e(4.0, 2, 2), e(1.0, 50, 3), e(0.5, 1, 4)],
                vec![e(3.0, 1, 5)],
            ],
            stats: SearchStats {
                index_work: 5,
                ..SearchStats::default()
            },
        };
        let t = TaskTimes::default();
        let rows = rank_rows(0, &ranked, Some((&[4.0, 3.5], 40)), &t).unwrap();
        let (back, _) = read_ranked(&rows, 1, 2).unwrap();
        // At or above 4.0, and the member with `always_votes` whatever its evidence.
        assert_eq!(
            back[0].per_probe,
            vec![vec![e(9.0, 2, 1), e(4.0, 2, 2), e(1.0, 50, 3)], vec![]]
        );
        assert_eq!(back[0].stats, SearchStats::default(), "work counted once");
        let samples = vec![vec![(1, 9.0), (3, f32::NEG_INFINITY)], vec![]];
        let rows = sample_rows(0, &ranked, &samples, &t).unwrap();
        let (back, _) = read_samples(&rows, 1, 2).unwrap();
        assert_eq!(back[0].samples, samples);
        assert_eq!((back[0].members, back[0].stats), (10, ranked.stats));
    }
}
