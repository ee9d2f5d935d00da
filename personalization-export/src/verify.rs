//! 1:1 verification at card pickup: the resident's two live index-finger captures against the
//! verification fingers on the card's chip.
//!
//! Rule: each hand's live capture is scored against that hand's chip finger with the
//! fingerprint matcher ([`biometrics::finger::compare`]); each similarity becomes a
//! log-likelihood ratio through the fusion calibration of the two captures' quality band
//! ([`biometrics::fusion::Calibration::finger_for_quality`]: the chip record's and the live
//! capture's ISO finger quality); the two LLRs are summed and the card
//! holder is accepted (*berhasil*) when the sum reaches
//! [`biometrics::fusion::llr_threshold_for_fmr`] of the target false-match rate
//! ([`DEFAULT_TARGET_FMR`] = 1 in 10 000 → threshold ln 10 000 ≈ 9.21). The bound
//! P(LR ≥ T | different persons) ≤ 1/T holds for any calibrated LR, so the rate is an upper
//! bound whatever the mix of fingers. A chip with only one finger (the other hand had none at
//! enrollment) is verified on that finger alone against the same threshold.

use biometrics::finger::capture_quality::{capture_quality, PoorCapture};
use biometrics::finger::{self, FingerTemplate};
use biometrics::fusion::{llr_threshold_for_fmr, Calibration};
use biometrics::iso19794;

use crate::card::{Card, ChipFinger};
use crate::error::{ExportError, Result};

/// Target false-match rate of pickup verification: 1 in 10 000 attempts by another person.
pub const DEFAULT_TARGET_FMR: f64 = 1e-4;

/// Which hand a verification finger is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hand {
    /// Right hand (`--right-index`).
    Right,
    /// Left hand (`--left-index`).
    Left,
}

impl Hand {
    /// `right` or `left`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hand::Right => "right",
            Hand::Left => "left",
        }
    }
}

/// One finger's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerResult {
    /// The hand.
    pub hand: Hand,
    /// ISO position of the chip finger compared.
    pub position: u8,
    /// Matcher similarity in [0, 1].
    pub similarity: f32,
    /// Its calibrated log-likelihood ratio.
    pub llr: f32,
}

/// The answer of a pickup verification.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOutcome {
    /// `true`: *berhasil*; `false`: *gagal*.
    pub passed: bool,
    /// Sum of the fingers' LLRs.
    pub llr: f32,
    /// The threshold the sum was compared with.
    pub threshold: f32,
    /// The target false-match rate the threshold stands for.
    pub target_fmr: f64,
    /// Per finger.
    pub fingers: Vec<FingerResult>,
}

impl VerifyOutcome {
    /// `berhasil` or `gagal`.
    pub fn verdict(&self) -> &'static str {
        if self.passed {
            "berhasil"
        } else {
            "gagal"
        }
    }
}

impl std::fmt::Display for VerifyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.verdict())?;
        for r in &self.fingers {
            writeln!(
                f,
                "  {} finger (position {:>2}): similarity {:.4}  LLR {:+.2}",
                r.hand.as_str(),
                r.position,
                r.similarity,
                r.llr
            )?;
        }
        write!(
            f,
            "  fused LLR {:+.2}, threshold {:.2} (target false-match rate {})",
            self.llr, self.threshold, self.target_fmr
        )
    }
}

/// Parses a live capture: a valid ISO/IEC 19794-2:2005 record whose first view is of the
/// chip finger's position (or of unknown position 0).
fn live_template(which: Hand, bytes: &[u8], chip: &ChipFinger) -> Result<(FingerTemplate, u8)> {
    let bad = |reason: String| ExportError::BadCapture {
        which: format!("--{}-index", which.as_str()),
        reason,
    };
    let record = iso19794::parse(bytes)
        .map_err(|e| bad(format!("not a valid ISO/IEC 19794-2:2005 record ({e})")))?;
    let view = record
        .views
        .first()
        .ok_or_else(|| bad("the record holds no finger view".into()))?;
    if view.position != 0 && view.position != chip.position {
        return Err(bad(format!(
            "the capture is of finger position {}, the chip holds position {} for this hand",
            view.position, chip.position
        )));
    }
    if view.minutiae.is_empty() {
        return Err(bad("the capture has no minutiae".into()));
    }
    Ok((
        finger::prepare(view, record.res_x, record.res_y),
        view.quality,
    ))
}

/// Prepares a chip finger, with the ISO finger quality its record reports (0: none); a chip
/// template that does not parse is a bad card.
fn chip_template(which: Hand, chip: &ChipFinger) -> Result<(FingerTemplate, u8)> {
    let record = iso19794::parse(&chip.iso19794_2).map_err(|e| {
        ExportError::BadCard(format!(
            "the chip's {} finger is not a valid ISO/IEC 19794-2 record ({e})",
            which.as_str()
        ))
    })?;
    let view = record.views.first().ok_or_else(|| {
        ExportError::BadCard(format!("the chip's {} finger has no view", which.as_str()))
    })?;
    Ok((
        finger::prepare(view, record.res_x, record.res_y),
        view.quality,
    ))
}

/// Verifies live captures against a card's chip fingers at `target_fmr`. The card's seal
/// must have been checked by the caller. A live capture given for a hand whose chip has no
/// finger is ignored; a chip with no finger at all cannot be verified (bad input).
pub fn verify_card(
    card: &Card,
    right: Option<&[u8]>,
    left: Option<&[u8]>,
    target_fmr: f64,
) -> Result<VerifyOutcome> {
    let threshold = llr_threshold_for_fmr(target_fmr);
    let mut fingers = Vec::new();
    for (hand, chip, live) in [
        (Hand::Right, &card.chip.right_finger, right),
        (Hand::Left, &card.chip.left_finger, left),
    ] {
        let Some(chip) = chip else { continue };
        let Some(live) = live else {
            return Err(ExportError::BadCapture {
                which: format!("--{}-index", hand.as_str()),
                reason: format!(
                    "missing: the chip holds a {} finger (position {})",
                    hand.as_str(),
                    chip.position
                ),
            });
        };
        let (enrolled, chip_quality) = chip_template(hand, chip)?;
        let (probe, live_quality) = live_template(hand, live, chip)?;
        let similarity = finger::compare(&probe, &enrolled);
        let calibration = Calibration::finger_for_quality(chip_quality, live_quality);
        fingers.push(FingerResult {
            hand,
            position: chip.position,
            similarity,
            llr: calibration.llr(similarity),
        });
    }
    if fingers.is_empty() {
        return Err(ExportError::BadCard(
            "the chip holds no finger template: verify the holder by other means".into(),
        ));
    }
    let llr: f32 = fingers.iter().map(|f| f.llr).sum();
    Ok(VerifyOutcome {
        passed: llr >= threshold,
        llr,
        threshold,
        target_fmr,
        fingers,
    })
}

/// What a pickup check concluded on one pair of live captures: a verdict, or a request to
/// recapture. The one decision `tunggal verify` answers with (exit 0/1 or 3) and
/// `tunggal eval pickup` measures, so the two cannot drift apart.
#[derive(Debug, Clone, PartialEq)]
pub enum PickupDecision {
    /// The captures were matched: *berhasil* or *gagal*.
    Matched(VerifyOutcome),
    /// At least one live capture is too poor to decide on (*ulangi*): per chip finger (ISO
    /// position), why. Nothing was matched; the operator recaptures, it is not a failed attempt.
    Recapture(Vec<(u8, Vec<PoorCapture>)>),
    /// The two fingers disagree (*ulangi*): one matched its chip finger strongly enough to
    /// pass at the target false-match rate on its own, the other found so little
    /// correspondence that the fused evidence falls short. A misplaced or wrong-finger press
    /// explains that far more often than an impostor who brings one matching finger (the
    /// outcome, with the fingers' scores, says which finger to press again). The operator
    /// recaptures; on the last try the outcome is the verdict.
    FingersDisagree(VerifyOutcome),
}

/// Assesses one live capture for the chip finger it is compared with: `None` when the capture
/// is not a readable record of that finger ([`verify_card`]'s checks then report the bad
/// input), else its problems (empty when it is good enough to match).
fn assess(chip: &ChipFinger, live: &[u8]) -> Option<Vec<PoorCapture>> {
    let record = iso19794::parse(live).ok()?;
    let view = record.views.first()?;
    if view.position != 0 && view.position != chip.position {
        return None;
    }
    Some(capture_quality(view, record.res_x, record.res_y).problems)
}

/// The pickup check on a card whose seal the caller has checked: each live capture of a chip
/// finger is first assessed with [`biometrics::finger::capture_quality`]; when every capture
/// is readable and one of them is too poor, the answer is [`PickupDecision::Recapture`]
/// (bad input wins over a recapture: an unreadable capture is reported by [`verify_card`] as
/// an error); otherwise the captures are matched with [`verify_card`] at `target_fmr`.
///
/// A failed match where one finger alone would have passed is answered with
/// [`PickupDecision::FingersDisagree`] (a recapture), not a verdict.
///
/// On the operator's `last_try` only blocking problems
/// ([`PoorCapture::is_blocking`]) ask for a recapture: a finger whose quality is merely below
/// the counter's threshold is matched as it is, and disagreeing fingers are decided on as
/// they are, so a citizen whose finger never gives a better print is decided on rather than
/// sent away.
pub fn decide_pickup(
    card: &Card,
    right: &[u8],
    left: &[u8],
    target_fmr: f64,
    last_try: bool,
) -> Result<PickupDecision> {
    let mut poor = Vec::new();
    let mut all_readable = true;
    for (chip, live) in [
        (&card.chip.right_finger, right),
        (&card.chip.left_finger, left),
    ] {
        let Some(chip) = chip else { continue };
        match assess(chip, live) {
            None => all_readable = false,
            Some(mut problems) => {
                if last_try {
                    problems.retain(PoorCapture::is_blocking);
                }
                if !problems.is_empty() {
                    poor.push((chip.position, problems));
                }
            }
        }
    }
    if all_readable && !poor.is_empty() {
        return Ok(PickupDecision::Recapture(poor));
    }
    let outcome = verify_card(card, Some(right), Some(left), target_fmr)?;
    if !outcome.passed && !last_try && outcome.fingers.iter().any(|f| f.llr >= outcome.threshold) {
        return Ok(PickupDecision::FingersDisagree(outcome));
    }
    Ok(PickupDecision::Matched(outcome))
}
