//! Kernel command line (being written).
