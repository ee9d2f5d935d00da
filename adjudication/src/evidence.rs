//! The evidence an adjudicator sees for a case: the members' records side by side with their
//! differences marked, the 10×10 finger score matrix and iris scores of each pair of members,
//! SVG overlays of the best finger pairs (both templates' minutiae, paired ones joined, from
//! the matcher's own explanation), and the history of each NIK.
//!
//! Everything here is computed from the lake rows of [`crate::lakeview::EvidenceRows`] with the
//! same matcher the nightly 1:N search uses, so what the adjudicator sees is what dedup saw.

use std::collections::HashMap;
use std::fmt::Write as _;

use biometrics::finger::{self, FingerTemplate};
use biometrics::iris::{self, IrisCode};
use biometrics::iso19794::{self, FingerView};
use serde::Serialize;

use crate::lakeview::{text, EvidenceRows, Row};

/// Biodata and capture columns shown side by side, with their labels.
pub const FIELDS: &[(&str, &str)] = &[
    ("nik", "NIK"),
    ("kk_number", "KK number"),
    ("name", "Name"),
    ("birth_place", "Place of birth"),
    ("birth_date", "Date of birth"),
    ("sex", "Sex"),
    ("blood_type", "Blood type"),
    ("address", "Address"),
    ("rt", "RT"),
    ("rw", "RW"),
    ("village_code", "Village"),
    ("district_code", "District"),
    ("regency_code", "Regency/city"),
    ("province_code", "Province"),
    ("religion", "Religion"),
    ("marital_status", "Marital status"),
    ("occupation", "Occupation"),
    ("citizenship", "Citizenship"),
    ("site", "Capture site"),
    ("station_id", "Station"),
    ("operator_nik", "Operator NIK"),
    ("started", "Capture started"),
    ("finished", "Capture finished"),
    ("finger_scanner", "Finger scanner"),
    ("camera", "Camera"),
];

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
    /// Label.
    pub label: String,
    /// Value per member.
    pub values: Vec<String>,
    /// Values differ between members.
    pub differs: bool,
}

/// An iris comparison.
#[derive(Clone, Debug, Serialize)]
pub struct IrisCell {
    /// Eye of the first member.
    pub eye: String,
    /// Normalised Hamming distance (0 identical, ≈0.5 unrelated).
    pub hd_norm: f32,
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
    /// `match` or `possible`.
    pub band: String,
    /// Fingers' share.
    pub finger_llr: String,
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
pub fn build(member_ids: &[String], rows: &EvidenceRows) -> Evidence {
    let labels: Vec<String> = (0..member_ids.len())
        .map(|i| ((b'A' + (i % 26) as u8) as char).to_string())
        .collect();
    let by_id: HashMap<String, &Row> = rows
        .enrollments
        .iter()
        .map(|r| (text(r, "enrollment_id"), r))
        .collect();
    let statuses: HashMap<String, String> = rows
        .statuses
        .iter()
        .map(|r| (text(r, "enrollment_id"), text(r, "status")))
        .collect();
    let members = member_ids
        .iter()
        .zip(&labels)
        .map(|(id, label)| MemberView {
            enrollment_id: id.clone(),
            status: statuses.get(id).cloned().unwrap_or_else(|| "—".into()),
            label: label.clone(),
        })
        .collect();
    let fields = FIELDS
        .iter()
        .map(|(column, label)| {
            let values: Vec<String> = member_ids
                .iter()
                .map(|id| by_id.get(id).map(|r| text(r, column)).unwrap_or_default())
                .collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            FieldRow {
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
        let mut irises = Vec::new();
        for eye in ["right", "left"] {
            if let (Some(x), Some(y)) = (iris_of(&member_ids[0], eye), iris_of(&member_ids[j], eye))
            {
                let score = iris::compare(&x, &y, iris::DEFAULT_MAX_SHIFT);
                irises.push(IrisCell {
                    eye: eye.to_string(),
                    hd_norm: (score.hd_norm * 1000.0).round() / 1000.0,
                    similarity: (score.similarity() * 1000.0).round() / 1000.0,
                    bits: score.bits_compared,
                });
            }
        }
        let candidate = rows
            .candidates
            .iter()
            .find(|r| {
                let (p, c) = (text(r, "probe_id"), text(r, "candidate_id"));
                (p == member_ids[0] && c == member_ids[j])
                    || (p == member_ids[j] && c == member_ids[0])
            })
            .map(|r| CandidateView {
                llr: text(r, "llr"),
                band: text(r, "band"),
                finger_llr: text(r, "finger_llr"),
                iris_llr: text(r, "iris_llr"),
                relation: text(r, "relation"),
                swapped: text(r, "swapped"),
            });
        pairs.push(PairView {
            a: labels[0].clone(),
            b: labels[j].clone(),
            matrix,
            irises,
            overlays,
            candidate,
        });
    }

    let history = rows
        .history
        .iter()
        .map(|r| {
            let id = text(r, "enrollment_id");
            HistoryRow {
                in_case: member_ids.contains(&id),
                nik: text(r, "nik"),
                enrollment_id: id,
                name: text(r, "name"),
                site: text(r, "site"),
                captured: text(r, "finished"),
                status: text(r, "status"),
                card_job: text(r, "card_job"),
            }
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

/// Panel size of one finger in the overlay, in SVG units.
const PANEL_W: f32 = 260.0;
const PANEL_H: f32 = 320.0;
const GAP: f32 = 60.0;

/// Draws two finger views side by side: every minutia as a dot with a direction tick (grey),
/// paired minutiae in colour, each pair joined by a line whose opacity follows its
/// contribution to the score.
pub fn overlay_svg(
    a: &(FingerView, u16, u16),
    b: &(FingerView, u16, u16),
    explanation: &finger::FingerExplanation,
    label_a: &str,
    label_b: &str,
) -> String {
    let place = |view: &(FingerView, u16, u16), dx: f32| {
        // Some records place minutiae beyond their declared image size: fit both.
        let max_x = view.0.minutiae.iter().map(|m| m.x).max().unwrap_or(0);
        let max_y = view.0.minutiae.iter().map(|m| m.y).max().unwrap_or(0);
        let w = view.1.max(max_x.saturating_add(8)).max(1) as f32;
        let h = view.2.max(max_y.saturating_add(8)).max(1) as f32;
        let scale = (PANEL_W / w).min(PANEL_H / h);
        move |x: u16, y: u16| (dx + x as f32 * scale, 20.0 + y as f32 * scale)
    };
    let pa = place(a, 0.0);
    let pb = place(b, PANEL_W + GAP);
    let total_w = 2.0 * PANEL_W + GAP;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="overlay" viewBox="0 0 {total_w} {h}" width="{total_w}" height="{h}" role="img" aria-label="minutiae overlay">"##,
        h = PANEL_H + 30.0
    );
    let _ = write!(
        svg,
        r##"<rect x="0" y="20" width="{PANEL_W}" height="{PANEL_H}" fill="#fafafa" stroke="#ccc"/><rect x="{bx}" y="20" width="{PANEL_W}" height="{PANEL_H}" fill="#fafafa" stroke="#ccc"/><text x="4" y="14" font-size="12">{label_a}</text><text x="{tx}" y="14" font-size="12">{label_b}</text>"##,
        bx = PANEL_W + GAP,
        tx = PANEL_W + GAP + 4.0,
        label_a = escape(label_a),
        label_b = escape(label_b),
    );
    let max_c = explanation
        .pairs
        .iter()
        .map(|p| p.contribution)
        .fold(f32::EPSILON, f32::max);
    let paired_a: std::collections::HashSet<usize> =
        explanation.pairs.iter().map(|p| p.a).collect();
    let paired_b: std::collections::HashSet<usize> =
        explanation.pairs.iter().map(|p| p.b).collect();
    let draw = |svg: &mut String,
                view: &FingerView,
                place: &dyn Fn(u16, u16) -> (f32, f32),
                paired: &std::collections::HashSet<usize>| {
        for (i, m) in view.minutiae.iter().enumerate() {
            let (x, y) = place(m.x, m.y);
            let theta = m.angle as f32 * std::f32::consts::TAU / 256.0;
            let (tx, ty) = (x + 8.0 * theta.cos(), y - 8.0 * theta.sin());
            let colour = if paired.contains(&i) {
                "#c0392b"
            } else {
                "#999"
            };
            let _ = write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="none" stroke="{colour}"/><line x1="{x:.1}" y1="{y:.1}" x2="{tx:.1}" y2="{ty:.1}" stroke="{colour}"/>"##
            );
        }
    };
    draw(&mut svg, &a.0, &pa, &paired_a);
    draw(&mut svg, &b.0, &pb, &paired_b);
    for p in &explanation.pairs {
        let (Some(ma), Some(mb)) = (a.0.minutiae.get(p.a), b.0.minutiae.get(p.b)) else {
            continue;
        };
        let (x1, y1) = pa(ma.x, ma.y);
        let (x2, y2) = pb(mb.x, mb.y);
        let opacity = 0.25 + 0.75 * (p.contribution / max_c).clamp(0.0, 1.0);
        let _ = write!(
            svg,
            r##"<line class="pair" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#2471a3" stroke-width="1" stroke-opacity="{opacity:.2}"/>"##
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
