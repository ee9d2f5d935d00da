//! The evidence an adjudicator sees for a case: the members' records side by side with their
//! differences marked, the 10×10 finger score matrix and iris scores of each pair of members,
//! SVG overlays of the best finger pairs (both templates' minutiae, paired ones joined, from
//! the matcher's own explanation), and the history of each NIK.
//!
//! Everything here is computed from the lake records of [`crate::lakeview::EvidenceRecords`] with the
//! same matcher the nightly 1:N search uses, so what the adjudicator sees is what dedup saw.
//! Where the nightly search scored the pair, each finger cell and iris also shows the
//! log-likelihood ratio the fused score (and so the decision to flag) was made of, coloured by
//! [`LlrClass`]; the raw similarity stays beside it.

use std::collections::HashMap;

use biometrics::finger::{self, FingerTemplate};
use biometrics::iris::{self, IrisCode};
use biometrics::iso19794::{self, FingerView};
use chrono::{DateTime, Utc};
use lake::tables::enrollments::EnrollmentRecord;
use serde::Serialize;

use crate::lakeview::EvidenceRecords;
use crate::present;

mod overlay;

pub use overlay::overlay_svg;

/// Reads one biodata or capture value of an enrollment, as shown.
pub type FieldValue = fn(&EnrollmentRecord) -> String;

/// Biodata and capture values shown side by side: the key of each row (the console's message
/// `field-<key>` names it in the user's language), its English label (the API's), and how the
/// value reads. Region codes carry their names; capture times are in the site's zone and UTC.
pub const FIELDS: &[(&str, &str, FieldValue)] = &[
    ("nik", "NIK", |e| e.nik.clone()),
    ("kk", "KK number", |e| e.kk_number.clone()),
    ("name", "Name", |e| e.name.clone()),
    ("birth-place", "Place of birth", |e| e.birth_place.clone()),
    ("birth-date", "Date of birth", |e| e.birth_date.to_string()),
    ("sex", "Sex", |e| e.sex.clone()),
    ("blood-type", "Blood type", |e| e.blood_type.clone()),
    ("address", "Address", |e| e.address.clone()),
    ("rt", "RT", |e| e.rt.to_string()),
    ("rw", "RW", |e| e.rw.to_string()),
    ("village", "Village", |e| present::region(&e.village_code)),
    ("district", "District", |e| {
        present::region(&e.district_code)
    }),
    ("regency", "Regency/city", |e| {
        present::region(&e.regency_code)
    }),
    ("province", "Province", |e| {
        present::region(&e.province_code)
    }),
    ("religion", "Religion", |e| e.religion.clone()),
    ("marital", "Marital status", |e| e.marital_status.clone()),
    ("occupation", "Occupation", |e| e.occupation.clone()),
    ("citizenship", "Citizenship", |e| e.citizenship.clone()),
    ("site", "Capture site", |e| present::region(&e.site)),
    ("station", "Station", |e| e.station_id.clone()),
    ("operator", "Operator NIK", |e| e.operator_nik.clone()),
    ("capture-started", "Capture started", |e| {
        site_time(e.capture_started, &e.site)
    }),
    ("capture-finished", "Capture finished", |e| {
        site_time(e.capture_finished, &e.site)
    }),
    ("finger-scanner", "Finger scanner", |e| {
        e.finger_scanner.clone()
    }),
    ("camera", "Camera", |e| e.camera.clone()),
];

/// A capture time in the zone of its site (a district code) and in UTC.
fn site_time(time: DateTime<Utc>, site: &str) -> String {
    present::time_in(time, present::Zone::of_province(site))
}

/// A score as shown (shortest form that reads back the same, `12.0` for a whole number).
fn score_text(score: f64) -> String {
    format!("{score:?}")
}

/// Names of finger positions 1..=10 (ISO/IEC 19794-2).
pub const FINGER_NAMES: [&str; 10] = [
    "R thumb", "R index", "R middle", "R ring", "R little", "L thumb", "L index", "L middle",
    "L ring", "L little",
];

/// How many finger pairs get an overlay.
pub const OVERLAYS: usize = 3;

/// One member of a case as shown.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    /// Enrollment id.
    pub enrollment_id: String,
    /// Current identity status in the lake.
    pub status: String,
    /// Short label (A, B, …).
    pub label: String,
}

/// One biodata row across members.
#[derive(Clone, Debug, Serialize)]
pub struct FieldRow {
    /// Key of the row (message `field-<key>`).
    pub key: String,
    /// Label (English).
    pub label: String,
    /// Value per member.
    pub values: Vec<String>,
    /// Values differ between members.
    pub differs: bool,
}

/// How strongly one comparison's log-likelihood ratio (natural log of P(score | same person)
/// / P(score | different persons), as calibrated for the nightly fusion) speaks for or
/// against the same person. Positive is evidence for, negative against; beyond
/// ±[`STRONG_LLR`] the comparison is at least twenty times likelier under one hypothesis
/// ("strong" on Kass and Raftery's scale of Bayes factors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LlrClass {
    /// LLR ≥ [`STRONG_LLR`].
    StrongFor,
    /// 0 < LLR < [`STRONG_LLR`].
    For,
    /// −[`STRONG_LLR`] < LLR ≤ 0.
    Against,
    /// LLR ≤ −[`STRONG_LLR`].
    StrongAgainst,
    /// The nightly search did not use this comparison (not scored, or not part of the pair).
    Unused,
}

/// The LLR beyond which a comparison counts as strong evidence: ln 20 ≈ 3.0.
pub const STRONG_LLR: f32 = 3.0;

impl LlrClass {
    /// The class of an LLR (none: [`LlrClass::Unused`]).
    pub fn of(llr: Option<f32>) -> LlrClass {
        match llr {
            None => LlrClass::Unused,
            Some(l) if l >= STRONG_LLR => LlrClass::StrongFor,
            Some(l) if l > 0.0 => LlrClass::For,
            Some(l) if l > -STRONG_LLR => LlrClass::Against,
            Some(_) => LlrClass::StrongAgainst,
        }
    }
}

/// One cell of the finger matrix.
#[derive(Clone, Debug, Serialize)]
pub struct FingerCell {
    /// The matcher's similarity now (null: a finger is missing).
    pub similarity: Option<f32>,
    /// The LLR this comparison contributed to the nightly fused score (null: not used).
    pub llr: Option<f32>,
    /// How the LLR is coloured.
    pub class: LlrClass,
}

/// An iris comparison.
#[derive(Clone, Debug, Serialize)]
pub struct IrisCell {
    /// Eye of the first member.
    pub eye: String,
    /// The LLR this eye contributed to the nightly fused score (null: not used).
    pub llr: Option<f32>,
    /// How the LLR is coloured.
    pub class: LlrClass,
    /// Daugman-normalised Hamming distance (what fusion's similarity is made of; below 0
    /// when many bits were compared).
    pub hd_norm: f32,
    /// Fractional Hamming distance at the best rotation: the share of the bits compared that
    /// differ (0 identical, about 0.5 for different eyes).
    pub hd: f32,
    /// The distance at or below which this comparison is strong evidence of the same eye
    /// ([`present::iris_strong_hd`]; depends on the bits compared).
    pub hd_threshold: Option<f32>,
    /// Similarity in [0, 1].
    pub similarity: f32,
    /// Bits compared.
    pub bits: u32,
}

/// An overlay of one finger pair.
#[derive(Clone, Debug, Serialize)]
pub struct Overlay {
    /// Finger position in the first member.
    pub position_a: u8,
    /// Finger position in the second member.
    pub position_b: u8,
    /// Finger name(s).
    pub title: String,
    /// Similarity.
    pub score: f32,
    /// Paired minutiae.
    pub pairs: usize,
    /// The SVG drawing (numbers only; safe to embed).
    pub svg: String,
}

/// The nightly search's result for a pair, if it scored one.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateView {
    /// Fused log-likelihood ratio.
    pub llr: String,
    /// The same, as a number (the page shows it to one decimal).
    pub score: f64,
    /// The run's decision threshold: pairs at or above it were flagged as `match` (null: the
    /// run is not recorded).
    pub threshold: Option<f32>,
    /// The gallery size the threshold was set for.
    pub gallery: Option<u64>,
    /// `match` or `possible`.
    pub band: String,
    /// Fingers' share.
    pub finger_llr: String,
    /// Fingers' share, as a number.
    pub finger_score: f64,
    /// Irises' share, as a number.
    pub iris_score: f64,
    /// Irises' share.
    pub iris_llr: String,
    /// `same_nik` or `different_nik`.
    pub relation: String,
    /// Swapped finger positions found.
    pub swapped: String,
}

/// Comparison of two members.
#[derive(Clone, Debug, Serialize)]
pub struct PairView {
    /// Label of the first member.
    pub a: String,
    /// Label of the second member.
    pub b: String,
    /// `matrix[i][j]`: similarity of finger i+1 of `a` with finger j+1 of `b` (null: missing).
    pub matrix: Vec<Vec<Option<f32>>>,
    /// The same cells with the nightly search's LLR of each comparison it used.
    pub cells: Vec<Vec<FingerCell>>,
    /// Same-eye iris comparisons.
    pub irises: Vec<IrisCell>,
    /// Overlays of the best finger pairs.
    pub overlays: Vec<Overlay>,
    /// The nightly search's result.
    pub candidate: Option<CandidateView>,
}

/// One earlier or concurrent enrollment under a member's NIK.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryRow {
    /// NIK.
    pub nik: String,
    /// Enrollment id.
    pub enrollment_id: String,
    /// Name on that enrollment.
    pub name: String,
    /// Capture site.
    pub site: String,
    /// Capture time.
    pub captured: String,
    /// Identity status.
    pub status: String,
    /// When a card job was exported for it, if ever.
    pub card_job: String,
    /// Whether the enrollment is a member of this case.
    pub in_case: bool,
}

/// Everything shown for a case.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Members in display order.
    pub members: Vec<MemberView>,
    /// Biodata rows.
    pub fields: Vec<FieldRow>,
    /// Pairwise comparisons (the first member against each other one).
    pub pairs: Vec<PairView>,
    /// NIK history.
    pub history: Vec<HistoryRow>,
    /// Finger names for matrix headers.
    pub finger_names: Vec<&'static str>,
}

struct Finger {
    view: Option<(FingerView, u16, u16)>,
    prepared: FingerTemplate,
}

/// Builds the evidence of a case whose members are `member_ids` (in display order).
pub fn build(member_ids: &[String], rows: &EvidenceRecords) -> Evidence {
    let labels: Vec<String> = (0..member_ids.len())
        .map(|i| ((b'A' + (i % 26) as u8) as char).to_string())
        .collect();
    let by_id: HashMap<&str, &EnrollmentRecord> = rows
        .enrollments
        .iter()
        .map(|e| (e.enrollment_id.as_str(), e))
        .collect();
    let statuses: HashMap<&str, &str> = rows
        .statuses
        .iter()
        .map(|s| (s.enrollment_id.as_str(), s.status.as_str()))
        .collect();
    let members = member_ids
        .iter()
        .zip(&labels)
        .map(|(id, label)| MemberView {
            enrollment_id: id.clone(),
            status: statuses.get(id.as_str()).map_or("—", |s| s).to_string(),
            label: label.clone(),
        })
        .collect();
    let fields = FIELDS
        .iter()
        .map(|(key, label, value)| {
            let values: Vec<String> = member_ids
                .iter()
                .map(|id| by_id.get(id.as_str()).map(|e| value(e)).unwrap_or_default())
                .collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            FieldRow {
                key: key.to_string(),
                label: label.to_string(),
                values,
                differs,
            }
        })
        .collect();

    // Decode each member's fingers once.
    let finger_bytes = rows.finger_bytes();
    let fingers: Vec<Vec<Option<Finger>>> = member_ids
        .iter()
        .map(|id| {
            (1..=10u8)
                .map(|pos| {
                    let (iso, prepared) = finger_bytes.get(&(id.clone(), pos))?;
                    let prepared = FingerTemplate::from_bytes(prepared.as_deref()?).ok()?;
                    let view = iso
                        .as_deref()
                        .and_then(|b| iso19794::parse(b).ok())
                        .and_then(|rec| {
                            let (w, h) = (rec.width, rec.height);
                            rec.views.into_iter().next().map(|v| (v, w, h))
                        });
                    Some(Finger { view, prepared })
                })
                .collect()
        })
        .collect();
    let iris_bytes = rows.iris_bytes();
    let iris_of = |id: &str, eye: &str| {
        iris_bytes
            .get(&(id.to_string(), eye.to_string()))
            .and_then(|b| IrisCode::from_bytes(b).ok())
    };

    let mut pairs = Vec::new();
    for j in 1..member_ids.len() {
        let (a, b) = (&fingers[0], &fingers[j]);
        let mut matrix = vec![vec![None; 10]; 10];
        let mut cells = Vec::new();
        for (p, fa) in a.iter().enumerate() {
            for (q, fb) in b.iter().enumerate() {
                if let (Some(fa), Some(fb)) = (fa, fb) {
                    let s = finger::compare(&fa.prepared, &fb.prepared);
                    matrix[p][q] = Some((s * 1000.0).round() / 1000.0);
                    cells.push((s, p, q));
                }
            }
        }
        cells.sort_by(|x, y| y.0.total_cmp(&x.0));
        let overlays = cells
            .iter()
            .take(OVERLAYS)
            .filter_map(|&(s, p, q)| {
                let (fa, fb) = (a[p].as_ref()?, b[q].as_ref()?);
                let explanation = finger::explain(&fa.prepared, &fb.prepared);
                let svg = overlay_svg(
                    fa.view.as_ref()?,
                    fb.view.as_ref()?,
                    &explanation,
                    &labels[0],
                    &labels[j],
                );
                Some(Overlay {
                    position_a: p as u8 + 1,
                    position_b: q as u8 + 1,
                    title: if p == q {
                        FINGER_NAMES[p].to_string()
                    } else {
                        format!("{} ↔ {}", FINGER_NAMES[p], FINGER_NAMES[q])
                    },
                    score: (s * 1000.0).round() / 1000.0,
                    pairs: explanation.pairs.len(),
                    svg,
                })
            })
            .collect();
        let candidate_row = rows.candidates.iter().find(|m| {
            let (p, c) = (&m.probe_id, &m.candidate_id);
            (*p == member_ids[0] && *c == member_ids[j])
                || (*p == member_ids[j] && *c == member_ids[0])
        });
        let llrs = candidate_row
            .map(|m| part_llrs(&m.parts, m.probe_id == member_ids[0]))
            .unwrap_or_default();
        let cells = matrix
            .iter()
            .enumerate()
            .map(|(p, row)| {
                row.iter()
                    .enumerate()
                    .map(|(q, &similarity)| {
                        let llr = llrs.fingers.get(&(p as u8 + 1, q as u8 + 1)).copied();
                        FingerCell {
                            similarity,
                            llr,
                            class: LlrClass::of(llr),
                        }
                    })
                    .collect()
            })
            .collect();
        let mut irises = Vec::new();
        for eye in ["right", "left"] {
            if let (Some(x), Some(y)) = (iris_of(&member_ids[0], eye), iris_of(&member_ids[j], eye))
            {
                let score = iris::compare(&x, &y, iris::DEFAULT_MAX_SHIFT);
                let llr = llrs.irises.get(eye).copied();
                irises.push(IrisCell {
                    eye: eye.to_string(),
                    llr,
                    class: LlrClass::of(llr),
                    hd_norm: (score.hd_norm * 1000.0).round() / 1000.0,
                    hd: (score.hd_raw * 1000.0).round() / 1000.0,
                    hd_threshold: present::iris_strong_hd(score.bits_compared)
                        .map(|t| (t * 1000.0).round() / 1000.0),
                    similarity: (score.similarity() * 1000.0).round() / 1000.0,
                    bits: score.bits_compared,
                });
            }
        }
        let candidate = candidate_row.map(|m| CandidateView {
            llr: score_text(m.llr),
            score: m.llr,
            threshold: rows.thresholds.get(&m.run_id).map(|t| t.match_llr),
            gallery: rows.thresholds.get(&m.run_id).map(|t| t.gallery as u64),
            band: m.band.to_string(),
            finger_llr: score_text(m.finger_llr),
            finger_score: m.finger_llr,
            iris_score: m.iris_llr,
            iris_llr: score_text(m.iris_llr),
            relation: m.relation.to_string(),
            swapped: m.swapped.clone().unwrap_or_default(),
        });
        pairs.push(PairView {
            a: labels[0].clone(),
            b: labels[j].clone(),
            matrix,
            cells,
            irises,
            overlays,
            candidate,
        });
    }

    let history = rows
        .history
        .iter()
        .map(|h| HistoryRow {
            in_case: member_ids.contains(&h.enrollment_id),
            nik: h.nik.clone(),
            enrollment_id: h.enrollment_id.clone(),
            name: h.name.clone(),
            site: h.site.clone(),
            captured: site_time(h.captured, &h.site),
            status: h.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            card_job: h
                .card_job
                .map(|t| present::time_in(t, present::Zone::DATA_CENTER))
                .unwrap_or_default(),
        })
        .collect();

    Evidence {
        members,
        fields,
        pairs,
        history,
        finger_names: FINGER_NAMES.to_vec(),
    }
}

/// The per-comparison LLRs of a nightly match candidate.
#[derive(Debug, Default, PartialEq)]
struct PartLlrs {
    /// By (finger position of the first member, finger position of the other).
    fingers: HashMap<(u8, u8), f32>,
    /// By eye (`right`, `left`).
    irises: HashMap<String, f32>,
}

/// Reads `match_candidates.parts` (keys `f3` for finger 3 of both, `f3-f4` for a swap: finger
/// 3 of the probe with finger 4 of the candidate, `right` and `left` for the eyes; each value
/// `{"similarity", "llr"}`), oriented so the first position is the first member's
/// (`a_is_probe`). Unreadable parts give none: the matrix then shows similarities only.
fn part_llrs(parts: &str, a_is_probe: bool) -> PartLlrs {
    let mut out = PartLlrs::default();
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(parts)
    else {
        return out;
    };
    let position = |s: &str| s.strip_prefix('f').and_then(|n| n.parse::<u8>().ok());
    for (key, value) in map {
        let Some(llr) = value.get("llr").and_then(|v| v.as_f64()) else {
            continue;
        };
        let llr = llr as f32;
        if key == "right" || key == "left" {
            out.irises.insert(key, llr);
            continue;
        }
        let pair = match key.split_once('-') {
            Some((p, c)) => position(p).zip(position(c)),
            None => position(&key).map(|p| (p, p)),
        };
        if let Some((probe, candidate)) = pair {
            let cell = if a_is_probe {
                (probe, candidate)
            } else {
                (candidate, probe)
            };
            out.fingers.insert(cell, llr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llr_classes_split_at_zero_and_at_the_strong_threshold() {
        assert_eq!(LlrClass::of(None), LlrClass::Unused);
        assert_eq!(LlrClass::of(Some(STRONG_LLR)), LlrClass::StrongFor);
        assert_eq!(LlrClass::of(Some(0.5)), LlrClass::For);
        assert_eq!(LlrClass::of(Some(0.0)), LlrClass::Against);
        assert_eq!(LlrClass::of(Some(-2.9)), LlrClass::Against);
        assert_eq!(LlrClass::of(Some(-STRONG_LLR)), LlrClass::StrongAgainst);
    }

    #[test]
    fn parts_are_read_and_oriented_to_the_first_member() {
        let parts = r#"{"f1":{"similarity":0.2,"llr":5.5},"f3-f4":{"similarity":0.1,"llr":2.0},"right":{"similarity":0.7,"llr":-1.5}}"#;
        let as_probe = part_llrs(parts, true);
        assert_eq!(as_probe.fingers.get(&(1, 1)), Some(&5.5));
        assert_eq!(as_probe.fingers.get(&(3, 4)), Some(&2.0));
        assert_eq!(as_probe.irises.get("right"), Some(&-1.5));
        let as_candidate = part_llrs(parts, false);
        assert_eq!(as_candidate.fingers.get(&(4, 3)), Some(&2.0));
        assert_eq!(part_llrs("", true), PartLlrs::default());
    }
}
