//! The typed unit model.

pub mod cgroup;
pub mod directive;
pub mod exec;
pub mod kill;
