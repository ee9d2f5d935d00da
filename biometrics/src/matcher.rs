//! One seam through which every comparison is scored: a [`Matcher`] compares two prepared
//! templates of one kind. The fingerprint and iris matchers score a similarity in [0, 1];
//! [`Fusion`] is the matcher of whole persons, scoring the fused log-likelihood ratio with
//! the per-modality evidence behind it.
//!
//! The fusion scores its fingers and irises through [`FingerMatcher`] and [`IrisMatcher`],
//! and the FVC protocol ([`crate::eval::genuine_impostor_scores`]) runs over any matcher of
//! similarities. Callers are generic over the trait, never `dyn`: the matchers run in the
//! hot loops of the 1:N search, where a virtual call per pair would stop inlining.

use crate::finger::{self, FingerTemplate};
use crate::fusion::{compare_persons, Fusion, PersonScore, PersonTemplate};
use crate::iris::{self, IrisCode};

/// A 1:1 matcher: compares two prepared templates.
///
/// ```
/// use biometrics::fusion::{Fusion, PersonTemplate};
/// use biometrics::matcher::Matcher;
///
/// // Two persons with no usable template share no evidence: the fused LLR is 0.
/// let nobody = PersonTemplate::default();
/// assert_eq!(Fusion::default().score(&nobody, &nobody).llr, 0.0);
/// ```
pub trait Matcher {
    /// The prepared template this matcher compares.
    type Template;
    /// What a comparison yields: a similarity in [0, 1] for one modality (higher means more
    /// likely the same source), a [`PersonScore`] for fused persons.
    type Score;
    /// Compares `a` with `b`.
    fn score(&self, a: &Self::Template, b: &Self::Template) -> Self::Score;
}

/// The fingerprint matcher ([`finger::compare`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct FingerMatcher;

impl Matcher for FingerMatcher {
    type Template = FingerTemplate;
    type Score = f32;
    #[inline]
    fn score(&self, a: &FingerTemplate, b: &FingerTemplate) -> f32 {
        finger::compare(a, b)
    }
}

/// The iris matcher ([`iris::compare`] with a rotation search of ±`max_shift` samples).
#[derive(Debug, Clone, Copy)]
pub struct IrisMatcher {
    /// Largest rotation searched, in angular samples.
    pub max_shift: u8,
}

impl Default for IrisMatcher {
    fn default() -> Self {
        IrisMatcher {
            max_shift: iris::DEFAULT_MAX_SHIFT,
        }
    }
}

impl Matcher for IrisMatcher {
    type Template = IrisCode;
    type Score = f32;
    #[inline]
    fn score(&self, a: &IrisCode, b: &IrisCode) -> f32 {
        iris::compare(a, b, self.max_shift).similarity()
    }
}

/// The person matcher: [`compare_persons`] under this fusion model.
impl Matcher for Fusion {
    type Template = PersonTemplate;
    type Score = PersonScore;
    fn score(&self, a: &PersonTemplate, b: &PersonTemplate) -> PersonScore {
        compare_persons(a, b, self)
    }
}
