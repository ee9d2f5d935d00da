//! Person-level score fusion: up to ten finger pairs (same ISO position only) and two iris
//! pairs (same eye), any of which may be missing, each turned into a log-likelihood ratio by a
//! per-modality [`Calibration`] and summed.
//!
//! Summing LLRs assumes the modalities' scores are independent given the truth (same person or
//! not). That is close for different fingers and eyes of one person, and it is what makes one
//! threshold on the fused LLR mean one false-match rate whatever mix of modalities a pair has.

mod calibration;
mod cross;
mod person;

pub use calibration::{Calibration, ImpostorTail, FINGER_QUALITY_BANDS, LLR_CLIP, PICKUP_LLR_CLIP};
pub use cross::{CrossPositionPolicy, SWAP_HYPOTHESES};
pub use person::{
    compare_persons, compare_persons_above, compare_persons_sequential, llr_threshold_for_fmr,
    Fusion, Modality, ModalityScore, PersonScore, PersonTemplate, PersonView,
};
