//! os-release (being written).
