//! Unit names: validation, templates and instances, escaping.

/// A valid unit name such as `foo@bar.service`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitName(String);

impl UnitName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
