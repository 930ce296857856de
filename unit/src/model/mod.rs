//! The typed unit model.

pub mod directive;
