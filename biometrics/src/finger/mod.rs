//! Fingerprint 1:1 matching on minutiae only.
//!
//! Pipeline: [`prepare`] turns an ISO finger view into a [`FingerTemplate`] once (coordinates
//! normalised to 500 dpi, one Minutia Cylinder-Code descriptor per minutia); [`compare`] then
//! computes the local similarity of every minutia pair from the cylinders, relaxes the best
//! pairs by their geometric compatibility (LSS-R) and consolidates them into one similarity in
//! [0, 1]; [`explain`] returns the same score with the minutia pairing it came from.

pub mod capture_quality;
mod codec;
mod consolidate;
mod cylinder;
mod explain;
mod geometry;
mod local;
pub mod params;
mod relax;
mod score;
mod template;
mod warp;

pub use explain::{explain, FingerExplanation, PairedMinutiae};
pub use score::StageTrace;
pub use template::{prepare, FingerTemplate};

/// Similarity of two prepared fingers in [0, 1] (0 = nothing in common, 1 = identical).
///
/// The same on every database (coordinates are normalised to 500 dpi) and exactly symmetric:
/// `compare(a, b) == compare(b, a)`.
pub fn compare(a: &FingerTemplate, b: &FingerTemplate) -> f32 {
    score::score(a, b)
}

/// The stages behind [`compare`]'s score (LSS-R, consolidation seeds and their rigid scores),
/// for diagnosing why a pair scores as it does; slower than [`compare`], not for matching.
pub fn trace(a: &FingerTemplate, b: &FingerTemplate) -> StageTrace {
    score::trace(a, b)
}
