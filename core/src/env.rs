//! Environment variables: names, assignments, environment files and `$VAR` substitution.
//!
//! Mirrors systemd 248's `src/basic/env-util.c` and `src/basic/env-file.c`.

/// Whether `name` is a valid environment variable name, as systemd's `env_name_is_valid`:
/// non-empty, only ASCII letters, digits and `_`, not starting with a digit.
pub fn env_name_is_valid(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether `assignment` is a valid `NAME=VALUE` assignment, as systemd's
/// `env_assignment_is_valid`: a valid name, `=`, and a value without control characters
/// other than newline and tab that is valid UTF-8.
pub fn env_assignment_is_valid(assignment: &str) -> bool {
    let Some((name, value)) = assignment.split_once('=') else {
        return false;
    };
    env_name_is_valid(name)
        && value
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t')
}
