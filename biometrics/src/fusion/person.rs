//! Scoring a pair of persons: per-finger and per-eye similarities (each through its
//! [`Matcher`]), calibrated to LLRs and summed, with the optional cross-position check for
//! mislabeled fingers.

use super::calibration::Calibration;
use super::cross::{CrossPositionPolicy, SWAP_HYPOTHESES};
use crate::finger::FingerTemplate;
use crate::iris::{self, Eye, IrisCode};
use crate::matcher::{FingerMatcher, IrisMatcher, Matcher};

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
        self.irises[eye.slot()].as_ref()
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

impl Fusion {
    /// The iris matcher of this model (its rotation search).
    pub fn iris_matcher(&self) -> IrisMatcher {
        IrisMatcher {
            max_shift: self.iris_max_shift,
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

/// A person's templates as the fused comparison reads them: a [`PersonTemplate`] in memory,
/// or a gallery member whose fingers are rebuilt from their stored form only when the
/// comparison gets to them ([`compare_persons_above`] often stops before it needs them all).
pub trait PersonView {
    /// The finger at ISO position 1..=10, rebuilt if need be.
    fn finger(&self, position: u8) -> Option<&FingerTemplate>;
    /// Whether the person has a finger at that position (without rebuilding it).
    fn has_finger(&self, position: u8) -> bool;
    /// The iris of an eye.
    fn iris(&self, eye: Eye) -> Option<&IrisCode>;
}

impl PersonView for PersonTemplate {
    fn finger(&self, position: u8) -> Option<&FingerTemplate> {
        PersonTemplate::finger(self, position)
    }
    fn has_finger(&self, position: u8) -> bool {
        PersonTemplate::finger(self, position).is_some()
    }
    fn iris(&self, eye: Eye) -> Option<&IrisCode> {
        PersonTemplate::iris(self, eye)
    }
}

/// Scores persons `a` and `b`: same-position fingers and same-eye irises, missing ones
/// skipped, LLRs summed; then, if the policy allows and the evidence is weak, the best
/// penalised swap hypothesis.
pub fn compare_persons(a: &PersonTemplate, b: &PersonTemplate, fusion: &Fusion) -> PersonScore {
    compare_persons_above(a, b, fusion, f32::NEG_INFINITY)
        .expect("every score is above minus infinity")
}

/// Slack for the bound of [`compare_persons_above`]: the bound adds the same LLRs as the
/// score in another order, so the two may differ in the last bits.
const BOUND_SLACK: f32 = 1e-3;

/// [`compare_persons`] for a search that keeps only pairs scoring at least `min_llr`: the
/// same score, bit for bit, when it is at least `min_llr`, and `None` when it is below.
///
/// Why: in 1:N nearly every shortlisted pair is two different persons, and their score
/// settles early. The irises are compared first (microseconds, strongly negative for
/// different eyes), then the fingers; after each, the best the rest could still add — every
/// remaining finger and iris at its calibration's maximum LLR, plus the largest gain a swap
/// hypothesis could bring — is added to what is known, and the comparison stops as soon as
/// even that stays below `min_llr`. Swap hypotheses that cannot reach `min_llr` are not
/// compared. Members' fingers that are never reached are never rebuilt ([`PersonView`]).
pub fn compare_persons_above<B: PersonView + ?Sized>(
    a: &PersonTemplate,
    b: &B,
    fusion: &Fusion,
    min_llr: f32,
) -> Option<PersonScore> {
    compare_persons_sequential(a, b, fusion, min_llr, f32::NEG_INFINITY)
}

/// [`compare_persons_above`] that also gives up on a pair once the evidence gathered so far
/// is at or below `reject_llr` (negative): the 1:N search's sequential test.
///
/// Why: the exact bound of [`compare_persons_above`] must assume every finger not yet
/// compared could still score its maximum, so a pair of strangers is only settled after
/// seven or eight of its ten fingers — and each finger of a gallery member costs a rebuild
/// of its cylinders, the dearest step of the search. The LLR of the modalities compared so
/// far is itself a likelihood ratio: for the same person, `exp(−LLR)` after each further
/// modality is a martingale of mean 1, so (Ville's inequality) the chance that it *ever*
/// reaches `exp(−reject_llr)` is at most `exp(reject_llr)` — e^-20 ≈ 2·10⁻⁹ — as far as
/// the calibration and the independence of fingers and eyes hold. Strangers with irises
/// reach −20 after two or three fingers (about −13 from the irises, −3 to −4.5 a finger). The fingers are compared in the order of
/// `a`'s usable cylinders, most first, so a poor print (the likeliest cause of a low score
/// for the same person) comes late, when the other evidence has already spoken.
/// `reject_llr` of minus infinity turns the test off (then this is exactly
/// [`compare_persons_above`]).
pub fn compare_persons_sequential<B: PersonView + ?Sized>(
    a: &PersonTemplate,
    b: &B,
    fusion: &Fusion,
    min_llr: f32,
    reject_llr: f32,
) -> Option<PersonScore> {
    let finger_score = |pa: u8, pb: u8| -> Option<ModalityScore> {
        let s = FingerMatcher.score(a.finger(pa)?, b.finger(pb)?);
        Some(ModalityScore {
            what: Modality::Finger(pa, pb),
            similarity: s,
            llr: fusion.finger.llr(s),
        })
    };
    let policy = fusion.cross_position;
    let (finger_max, finger_min) = (fusion.finger.max_llr(), fusion.finger.min_llr());
    let both = |p: u8| a.finger(p).is_some() && b.has_finger(p);
    // The most a swap hypothesis can add over the same-position sum, given what is known of
    // the two same-position scores it replaces.
    let swap_gain = |fingers: &[Option<ModalityScore>; 10]| -> f32 {
        if !policy.enabled {
            return 0.0;
        }
        SWAP_HYPOTHESES
            .iter()
            .filter(|&&(p, q)| both(p) && both(q))
            .map(|&(p, q)| {
                let known = |x: u8| fingers[x as usize - 1].map_or(finger_min, |m| m.llr);
                2.0 * finger_max - policy.penalty - known(p) - known(q)
            })
            .fold(0.0, f32::max)
    };

    let mut irises: [Option<ModalityScore>; 2] = [None, None];
    for (slot, eye) in [Eye::Right, Eye::Left].into_iter().enumerate() {
        if let (Some(x), Some(y)) = (a.iris(eye), b.iris(eye)) {
            let s = fusion.iris_matcher().score(x, y);
            irises[slot] = Some(ModalityScore {
                what: Modality::Iris(eye),
                similarity: s,
                llr: fusion.iris.llr(s),
            });
        }
    }
    let mut known: f32 = irises.iter().flatten().map(|m| m.llr).sum();
    let mut fingers: [Option<ModalityScore>; 10] = [None; 10];
    let mut left = (1..=10u8).filter(|&p| both(p)).count() as f32;
    if min_llr > f32::NEG_INFINITY {
        if known <= reject_llr {
            return None;
        }
        for p in finger_order(a, reject_llr) {
            if !both(p) {
                continue;
            }
            let bound = known + left * finger_max + swap_gain(&fingers) + BOUND_SLACK;
            if bound < min_llr {
                return None;
            }
            fingers[p as usize - 1] = finger_score(p, p);
            known += fingers[p as usize - 1].map_or(0.0, |m| m.llr);
            left -= 1.0;
            if known <= reject_llr {
                return None;
            }
        }
    } else {
        for p in 1..=10u8 {
            fingers[p as usize - 1] = finger_score(p, p);
        }
    }
    // Summed in the order of `parts` (fingers by position, then irises), as always.
    let parts: Vec<ModalityScore> = fingers.iter().chain(&irises).flatten().copied().collect();
    let llr: f32 = parts.iter().map(|p| p.llr).sum();
    if !policy.enabled || llr >= policy.only_below_llr {
        return kept(llr, min_llr).then_some(PersonScore {
            llr,
            parts,
            swapped: None,
        });
    }
    if llr + swap_gain(&fingers) + BOUND_SLACK < min_llr {
        return None;
    }
    let mut best: Option<(f32, (u8, u8), Vec<ModalityScore>)> = None;
    for &(p, q) in &SWAP_HYPOTHESES {
        if both(p) && both(q) {
            let known = |x: u8| fingers[x as usize - 1].map_or(finger_min, |m| m.llr);
            let reach = llr + 2.0 * finger_max - policy.penalty - known(p) - known(q);
            // A hypothesis that cannot reach `min_llr` cannot decide a kept score.
            if reach + BOUND_SLACK < min_llr {
                continue;
            }
        }
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
    let score = match best {
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
    };
    kept(score.llr, min_llr).then_some(score)
}

/// The order in which [`compare_persons_sequential`] compares the fingers: by position
/// without a sequential test (the result does not depend on it), otherwise by `a`'s usable
/// cylinders, most first (ties by position).
fn finger_order(a: &PersonTemplate, reject_llr: f32) -> [u8; 10] {
    let mut order: [u8; 10] = std::array::from_fn(|i| i as u8 + 1);
    if reject_llr > f32::NEG_INFINITY {
        let usable = |p: u8| a.finger(p).map_or(0, |t| t.usable.len());
        order.sort_by_key(|&p| (std::cmp::Reverse(usable(p)), p));
    }
    order
}

/// Whether a score is kept: at least `min_llr`; every score when that is minus infinity.
fn kept(llr: f32, min_llr: f32) -> bool {
    llr >= min_llr || min_llr == f32::NEG_INFINITY
}
