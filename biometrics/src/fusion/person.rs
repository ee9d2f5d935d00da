//! Scoring a pair of persons: per-finger and per-eye similarities, calibrated to LLRs and
//! summed, with the optional cross-position check for mislabeled fingers.

use super::calibration::Calibration;
use super::cross::{CrossPositionPolicy, SWAP_HYPOTHESES};
use crate::finger::{self, FingerTemplate};
use crate::iris::{self, Eye, IrisCode};

/// The biometric templates of one person; `None` = missing or declared unusable.
#[derive(Debug, Clone, Default)]
pub struct PersonTemplate {
    /// Fingers by ISO position: index 0 = position 1 (right thumb) … index 9 = position 10.
    pub fingers: [Option<FingerTemplate>; 10],
    /// Irises: index 0 = right eye, index 1 = left eye.
    pub irises: [Option<IrisCode>; 2],
}

impl PersonTemplate {
    /// The template of a finger by ISO position 1..=10.
    pub fn finger(&self, position: u8) -> Option<&FingerTemplate> {
        self.fingers
            .get((position as usize).wrapping_sub(1))?
            .as_ref()
    }

    /// The iris of an eye.
    pub fn iris(&self, eye: Eye) -> Option<&IrisCode> {
        self.irises[match eye {
            Eye::Right => 0,
            Eye::Left => 1,
        }]
        .as_ref()
    }
}

/// The fusion model: one calibration per modality, the iris rotation search and the
/// mislabeled-finger policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Fusion {
    /// Finger similarity → LLR.
    pub finger: Calibration,
    /// Iris similarity → LLR.
    pub iris: Calibration,
    /// Iris rotation search, in angular samples.
    pub iris_max_shift: u8,
    /// Cross-position check for swapped finger labels.
    pub cross_position: CrossPositionPolicy,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion {
            finger: Calibration::finger_default(),
            iris: Calibration::iris_default(),
            iris_max_shift: iris::DEFAULT_MAX_SHIFT,
            cross_position: CrossPositionPolicy::default(),
        }
    }
}

/// One modality comparison inside a person comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModalityScore {
    /// `Finger(position_a, position_b)` or `Iris(eye)`.
    pub what: Modality,
    /// Similarity in [0, 1].
    pub similarity: f32,
    /// Its calibrated log-likelihood ratio.
    pub llr: f32,
}

/// Which pair of templates a [`ModalityScore`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// Finger at ISO position `.0` of person A against position `.1` of person B.
    Finger(u8, u8),
    /// The same eye of both persons.
    Iris(Eye),
}

/// Result of a person comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonScore {
    /// Fused log-likelihood ratio (sum over the modalities used); compare with one threshold,
    /// e.g. [`llr_threshold_for_fmr`].
    pub llr: f32,
    /// The comparisons the fused LLR is the sum of (swap-hypothesis pairs included when
    /// one was taken).
    pub parts: Vec<ModalityScore>,
    /// The swap hypothesis taken, if the cross-position check raised the score.
    pub swapped: Option<(u8, u8)>,
}

/// A conservative LLR threshold for a target false-match rate: for a true likelihood ratio,
/// P(LR ≥ T | different persons) ≤ 1/T, so accepting at `ln(1/fmr)` keeps the FMR at or below
/// `fmr` whatever the modality mix. For a tighter empirical threshold use
/// [`crate::eval::threshold_for_fmr`] on fused impostor samples.
pub fn llr_threshold_for_fmr(fmr: f64) -> f32 {
    (-(fmr.max(f64::MIN_POSITIVE)).ln()) as f32
}

/// Scores persons `a` and `b`: same-position fingers and same-eye irises, missing ones
/// skipped, LLRs summed; then, if the policy allows and the evidence is weak, the best
/// penalised swap hypothesis.
pub fn compare_persons(a: &PersonTemplate, b: &PersonTemplate, fusion: &Fusion) -> PersonScore {
    let finger_score = |pa: u8, pb: u8| -> Option<ModalityScore> {
        let s = finger::compare(a.finger(pa)?, b.finger(pb)?);
        Some(ModalityScore {
            what: Modality::Finger(pa, pb),
            similarity: s,
            llr: fusion.finger.llr(s),
        })
    };
    let mut parts: Vec<ModalityScore> = (1..=10u8).filter_map(|p| finger_score(p, p)).collect();
    for eye in [Eye::Right, Eye::Left] {
        if let (Some(x), Some(y)) = (a.iris(eye), b.iris(eye)) {
            let s = iris::compare(x, y, fusion.iris_max_shift).similarity();
            parts.push(ModalityScore {
                what: Modality::Iris(eye),
                similarity: s,
                llr: fusion.iris.llr(s),
            });
        }
    }
    let llr: f32 = parts.iter().map(|p| p.llr).sum();
    let policy = fusion.cross_position;
    if !policy.enabled || llr >= policy.only_below_llr {
        return PersonScore {
            llr,
            parts,
            swapped: None,
        };
    }
    let mut best: Option<(f32, (u8, u8), Vec<ModalityScore>)> = None;
    for &(p, q) in &SWAP_HYPOTHESES {
        let (Some(pq), Some(qp)) = (finger_score(p, q), finger_score(q, p)) else {
            continue;
        };
        let replaced: f32 = parts
            .iter()
            .filter(|m| matches!(m.what, Modality::Finger(x, _) if x == p || x == q))
            .map(|m| m.llr)
            .sum();
        let alt = llr - replaced + pq.llr + qp.llr - policy.penalty;
        if alt > best.as_ref().map_or(llr, |b| b.0) {
            best = Some((alt, (p, q), vec![pq, qp]));
        }
    }
    match best {
        Some((alt, swap, extra)) => {
            let mut parts: Vec<ModalityScore> = parts
                .into_iter()
                .filter(|m| !matches!(m.what, Modality::Finger(x, _) if x == swap.0 || x == swap.1))
                .collect();
            parts.extend(extra);
            PersonScore {
                llr: alt,
                parts,
                swapped: Some(swap),
            }
        }
        None => PersonScore {
            llr,
            parts,
            swapped: None,
        },
    }
}
