//! Capture quality (being written).
