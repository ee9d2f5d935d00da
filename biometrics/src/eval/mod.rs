//! Evaluation: the FVC verification protocol over in-memory templates and the error rates it
//! reports (EER, FNMR at fixed FMR). Pure functions, and one reader of an FVC folder's
//! records ([`read_fvc_folder`]) for the tools and tests that score them.

mod fvc;
mod rates;

pub use fvc::{fvc_protocol, fvc_scores, genuine_impostor_scores, read_fvc_folder, FvcScores};
pub use rates::{error_rates, fnmr_at_fmr, threshold_for_fmr, FvcReport};

use crate::TemplateError;
use thiserror::Error;

/// Why an evaluation could not run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// A template name is not of the form `<finger>_<impression>[.ext]`.
    #[error("template name {0:?} is not <finger>_<impression>")]
    BadName(String),
    /// A template could not be parsed.
    #[error("template {name}: {source}")]
    Template {
        /// Template name.
        name: String,
        /// The parse error.
        #[source]
        source: TemplateError,
    },
    /// A record holds no finger view.
    #[error("template {0}: record has no finger view")]
    NoView(String),
    /// Not enough templates for both genuine and impostor pairs.
    #[error("need at least two fingers with two impressions each")]
    TooFew,
}
