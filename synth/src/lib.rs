//! Synthetic country in miniature (placeholder header; replaced by the population module's author).
pub mod capture;
pub mod finger;
pub mod iris;
