//! Guard of the fingerprint matcher's speed work: every score on the real FVC2002 templates
//! must stay bit for bit what it was before (the dedup thresholds, the fusion calibration and
//! the accuracy figures in `docs/biometrics.md` all rest on these exact values).
//!
//! The recorded digests were computed with the matcher as it stood before the speed rewrite
//! (issue 21), and re-recorded once since, deliberately, when the distortion round (issue 21:
//! warp refit after the rigid consolidation, relaxation distance midpoint 6 px) moved the
//! scores; the accuracy figures in `docs/biometrics.md` were measured with that matcher. All 320 DB1–DB4 templates are compared with each other (51,040 pairs, across
//! databases too, which adds impostor pairs of very different sizes), plus derived templates
//! that reach the edge cases the real ones rarely do: every other minutia dropped (small and
//! sparse prints), only the first 3–12 minutiae kept (degenerate hulls, no usable cylinder),
//! and other resolutions (non-square pixels). A changed digest means some score moved: find
//! the first differing pair with `GUARD_PRINT=1 cargo test --workspace --test
//! finger_bit_exact -- --nocapture` on both versions.

mod guard;

#[test]
fn all_pairs_scores_on_fvc2002_are_bit_for_bit_unchanged() {
    guard::all_pairs();
}

#[test]
fn derived_edge_case_scores_are_bit_for_bit_unchanged() {
    guard::derived_edge_cases();
}

#[test]
fn explanations_on_fvc2002_are_bit_for_bit_unchanged() {
    guard::explanations();
}
