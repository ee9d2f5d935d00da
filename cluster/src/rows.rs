//! The rows the two jobs return, as Arrow batches: per unit one header row (no probe) with
//! the unit's size and the task's work, then one row per (probe, member). The driver reads
//! them back into what [`biometrics::index::Ranking::add_ranked`] and the second pass give,
//! and checks that every unit answered exactly once.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, Float32Array, Float32Builder, StringArray,
    StringBuilder, UInt32Array, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use biometrics::fusion::{Modality, ModalityScore, PersonScore};
use biometrics::index::{Candidate, Evidence, Ranked, SearchStats};
use biometrics::iris::Eye;
use serde::{Deserialize, Serialize};

use crate::{ClusterError, Result};

/// Rows per batch: far below the 16 MiB a Flight message may carry.
const CHUNK: usize = 65_536;

/// Schema of the rank job's rows.
pub fn rank_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit", DataType::UInt32, false),
        Field::new("probe", DataType::UInt32, true),
        Field::new("member", DataType::UInt32, false),
        Field::new("evidence", DataType::Float32, false),
        Field::new("votes", DataType::UInt32, false),
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

/// [`SearchStats`] as the header row carries it.
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
}

fn work_json(s: &SearchStats) -> String {
    serde_json::to_string(&Work {
        gallery: s.gallery,
        full_comparisons: s.full_comparisons,
        index_work: s.index_work,
        iris_work: s.iris_work,
        iris_checks: s.iris_checks,
        members_decoded: s.members_decoded,
        index_ns: s.index_ns,
        match_ns: s.match_ns,
    })
    .expect("numbers serialize")
}

fn stats_of(json: &str) -> Result<SearchStats> {
    let w: Work = serde_json::from_str(json).map_err(|e| bad(format!("work: {e}")))?;
    Ok(SearchStats {
        gallery: w.gallery,
        full_comparisons: w.full_comparisons,
        index_work: w.index_work,
        iris_work: w.iris_work,
        iris_checks: w.iris_checks,
        members_decoded: w.members_decoded,
        index_ns: w.index_ns,
        match_ns: w.match_ns,
        ..SearchStats::default()
    })
}

fn bad(reason: String) -> ClusterError {
    ClusterError::Ballista(format!("unexpected rows from the executors: {reason}"))
}

/// The rank job's rows of unit `unit`.
pub fn rank_rows(unit: u32, ranked: &Ranked) -> Result<Vec<RecordBatch>> {
    let rows = std::iter::once(None).chain(
        ranked
            .per_probe
            .iter()
            .enumerate()
            .flat_map(|(p, list)| list.iter().map(move |e| Some((p as u32, *e)))),
    );
    let header = work_json(&ranked.stats);
    let mut out = Vec::new();
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let (mut probe, mut member, mut evidence, mut votes, mut stats) = (
            UInt32Builder::new(),
            UInt32Builder::new(),
            Float32Builder::new(),
            UInt32Builder::new(),
            StringBuilder::new(),
        );
        let mut n = 0;
        for row in rows.by_ref().take(CHUNK) {
            n += 1;
            match row {
                None => {
                    probe.append_null();
                    member.append_value(ranked.members);
                    evidence.append_value(0.0);
                    votes.append_value(0);
                    stats.append_value(&header);
                }
                Some((p, e)) => {
                    probe.append_value(p);
                    member.append_value(e.member);
                    evidence.append_value(e.evidence);
                    votes.append_value(e.votes);
                    stats.append_null();
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(vec![unit; n])),
            Arc::new(probe.finish()),
            Arc::new(member.finish()),
            Arc::new(evidence.finish()),
            Arc::new(votes.finish()),
            Arc::new(stats.finish()),
        ];
        out.push(RecordBatch::try_new(rank_schema(), columns).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

/// The compare job's rows of unit `unit`: its candidates with their members' ids.
pub fn compare_rows(
    unit: u32,
    found: &[(Candidate, String)],
    stats: &SearchStats,
) -> Result<Vec<RecordBatch>> {
    let header = work_json(stats);
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

/// The rank job's rows as one [`Ranked`] per unit, for `probes` probes.
pub fn read_ranked(batches: &[RecordBatch], units: usize, probes: usize) -> Result<Vec<Ranked>> {
    let mut out: Vec<Ranked> = (0..units)
        .map(|_| Ranked {
            members: 0,
            per_probe: vec![Vec::new(); probes],
            stats: SearchStats::default(),
        })
        .collect();
    let mut seen = vec![0usize; units];
    for b in batches {
        let unit = column::<UInt32Array>(b, "unit")?;
        let probe = column::<UInt32Array>(b, "probe")?;
        let member = column::<UInt32Array>(b, "member")?;
        let evidence = column::<Float32Array>(b, "evidence")?;
        let votes = column::<UInt32Array>(b, "votes")?;
        let stats = column::<StringArray>(b, "stats")?;
        for r in 0..b.num_rows() {
            let k = unit.value(r) as usize;
            let target = out
                .get_mut(k)
                .ok_or_else(|| bad(format!("unit {k} of {units}")))?;
            if probe.is_null(r) {
                seen[k] += 1;
                target.members = member.value(r);
                target.stats = stats_of(stats.value(r))?;
            } else {
                let p = probe.value(r) as usize;
                target
                    .per_probe
                    .get_mut(p)
                    .ok_or_else(|| bad(format!("probe {p} of {probes}")))?
                    .push(Evidence {
                        evidence: evidence.value(r),
                        votes: votes.value(r),
                        member: member.value(r),
                    });
            }
        }
    }
    check_headers(&seen, "rank")?;
    for r in &out {
        if r.per_probe.iter().flatten().any(|e| e.member >= r.members) {
            return Err(bad("a member beyond its unit".into()));
        }
    }
    Ok(out)
}

/// Candidates with their member's enrollment id, and the work done, per unit.
pub type Compared = Vec<(Vec<(Candidate, String)>, SearchStats)>;

/// The compare job's rows per unit, each unit's candidates in the order the second pass
/// returns them (by probe, then LLR descending, then member).
pub fn read_compared(batches: &[RecordBatch], units: usize) -> Result<Compared> {
    let mut out: Compared = (0..units)
        .map(|_| (Vec::new(), SearchStats::default()))
        .collect();
    let mut seen = vec![0usize; units];
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
                target.1 = stats_of(stats.value(r))?;
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
    Ok(out)
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
        let rows = rank_rows(1, &ranked).unwrap();
        let empty = Ranked {
            members: 0,
            per_probe: vec![vec![], vec![]],
            stats: SearchStats::default(),
        };
        let mut all = rank_rows(0, &empty).unwrap();
        all.extend(rows.clone());
        let back = read_ranked(&all, 2, 2).unwrap();
        assert_eq!(back[1], ranked);
        all.extend(rows);
        assert!(read_ranked(&all, 2, 2).is_err());
        assert!(read_ranked(&all[..1], 2, 2).is_err(), "a unit missing");
    }
}
