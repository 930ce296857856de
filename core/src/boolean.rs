//! systemd's booleans (`parse_boolean` of `src/basic/parse-util.c`).

/// A value that is not one of systemd's boolean words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a boolean: {0:?} (expected yes/no, true/false, on/off, 1/0)")]
pub struct ParseBooleanError(pub String);

/// Parses a boolean as systemd does, ignoring ASCII case: `1 yes y true t on` are true,
/// `0 no n false f off` are false.
///
/// ```
/// assert_eq!(keel_core::boolean::parse_boolean("On"), Ok(true));
/// assert!(keel_core::boolean::parse_boolean("maybe").is_err());
/// ```
pub fn parse_boolean(s: &str) -> Result<bool, ParseBooleanError> {
    const TRUE: [&str; 6] = ["1", "yes", "y", "true", "t", "on"];
    const FALSE: [&str; 6] = ["0", "no", "n", "false", "f", "off"];
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Ok(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Ok(false)
    } else {
        Err(ParseBooleanError(s.to_owned()))
    }
}

/// `"yes"` or `"no"`, as systemd prints booleans in dumps.
pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        for w in ["1", "yes", "YES", "y", "Y", "true", "TRUE", "t", "on", "ON"] {
            assert_eq!(parse_boolean(w), Ok(true), "{w}");
        }
        for w in [
            "0", "no", "NO", "n", "false", "FALSE", "f", "F", "off", "OFF",
        ] {
            assert_eq!(parse_boolean(w), Ok(false), "{w}");
        }
        for w in ["", "garbage", "2", "yess", " yes", "of"] {
            assert!(parse_boolean(w).is_err(), "{w}");
        }
        assert_eq!(yes_no(true), "yes");
    }
}
