//! Mislabeled fingers: a finger captured under the wrong ISO position (left/right index
//! swapped, index and middle swapped) would make a genuine duplicate look like strangers on
//! those two positions. When the same-position evidence is weak, the fusion also tries a
//! small fixed list of swap hypotheses and keeps the best, minus a penalty that bounds the
//! false-match cost of having tried several hypotheses.

/// Position pairs (ISO finger positions) whose labels are commonly swapped at capture:
/// right/left thumb, index and middle; index/middle on each hand.
pub const SWAP_HYPOTHESES: [(u8, u8); 5] = [(2, 7), (1, 6), (3, 8), (2, 3), (7, 8)];

/// When and at what price the cross-position check runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossPositionPolicy {
    /// Whether the check runs at all.
    pub enabled: bool,
    /// The check runs only when the same-position fused LLR is below this value.
    pub only_below_llr: f32,
    /// LLR subtracted from every swap hypothesis. With K hypotheses, each at FMR ≤ p·e^-penalty
    /// at a threshold where the same-position score has FMR p, the total FMR is at most
    /// p·(1 + K·e^-penalty); the default ln(K) = ln 5 caps the cost at doubling the FMR.
    pub penalty: f32,
}

impl Default for CrossPositionPolicy {
    fn default() -> Self {
        CrossPositionPolicy {
            enabled: true,
            only_below_llr: 0.0,
            penalty: (SWAP_HYPOTHESES.len() as f32).ln(),
        }
    }
}
