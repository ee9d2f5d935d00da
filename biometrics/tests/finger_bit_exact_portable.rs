//! The bit-exact guard of `finger_bit_exact` on the portable code only: the same recorded
//! digests with every AVX-512 / AVX2 / POPCNT path switched off in this process
//! ([`biometrics::cpu::use_portable_code`]), so that a machine without those instructions is
//! known to score exactly alike even where the tests run on one that has them. (Its own test
//! binary: the switch is process-wide.)

mod guard;

#[test]
fn all_pairs_scores_on_the_portable_code_are_bit_for_bit_unchanged() {
    biometrics::cpu::use_portable_code();
    guard::all_pairs();
}

#[test]
fn derived_edge_case_scores_on_the_portable_code_are_bit_for_bit_unchanged() {
    biometrics::cpu::use_portable_code();
    guard::derived_edge_cases();
}

#[test]
fn explanations_on_the_portable_code_are_bit_for_bit_unchanged() {
    biometrics::cpu::use_portable_code();
    guard::explanations();
}
