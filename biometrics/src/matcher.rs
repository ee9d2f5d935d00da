//! One seam through which every modality is scored: a [`Matcher`] turns two prepared templates
//! into a similarity in [0, 1], which fusion then calibrates into a log-likelihood ratio.

use crate::finger::{self, FingerTemplate};
use crate::iris::{self, IrisCode};

/// A 1:1 matcher of one modality.
pub trait Matcher {
    /// The prepared template this matcher compares.
    type Template;
    /// Similarity in [0, 1]; higher means more likely the same source.
    fn similarity(&self, a: &Self::Template, b: &Self::Template) -> f32;
}

/// The fingerprint matcher ([`finger::compare`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct FingerMatcher;

impl Matcher for FingerMatcher {
    type Template = FingerTemplate;
    fn similarity(&self, a: &FingerTemplate, b: &FingerTemplate) -> f32 {
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
    fn similarity(&self, a: &IrisCode, b: &IrisCode) -> f32 {
        iris::compare(a, b, self.max_shift).similarity()
    }
}
