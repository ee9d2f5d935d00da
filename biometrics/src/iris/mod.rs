//! Iris: the IrisCode record (`docs/iris-code-format.md`) and the Hamming-distance matcher
//! with Daugman's score normalisation and rotation search.

mod code;
mod compare;
mod shift;

pub use code::{Eye, IrisCode, IRIS_CODE_LEN};
pub use compare::{compare, IrisScore, DEFAULT_MAX_SHIFT, HD_NORM_BITS};
pub use shift::ShiftedIris;
