//! Synthetic IrisCodes (being written).
