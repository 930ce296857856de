//! systemd recovery keys: 32 random bytes as 64 "modhex" characters in 8 dash-separated groups.

use zeroize::Zeroizing;

/// The modhex alphabet, index = nibble value.
const MODHEX: &[u8; 16] = b"cbdefghijklnrtuv";
/// Length of the dashed form.
pub const RECOVERY_KEY_LEN: usize = 71;

/// A recovery key in its canonical form (lowercase, dashed); wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey(Zeroizing<String>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

/// Why text is not a recovery key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseRecoveryKeyError {
    /// Neither 64 (undashed) nor 71 (dashed) characters.
    #[error("recovery key has {len} characters, expected 64 or 71")]
    BadLength {
        /// Length found, in bytes.
        len: usize,
    },
    /// A character outside the modhex alphabet.
    #[error("recovery key has an invalid character at position {position}")]
    BadCharacter {
        /// Byte position.
        position: usize,
    },
    /// A dash is missing where the dashed form needs one.
    #[error("recovery key lacks a dash at position {position}")]
    MissingDash {
        /// Byte position.
        position: usize,
    },
}

impl RecoveryKey {
    /// Formats 32 bytes as a recovery key (high nibble first, a dash every 8 characters).
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mut s = Zeroizing::new(String::with_capacity(RECOVERY_KEY_LEN));
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push('-');
            }
            s.push(char::from(MODHEX[usize::from(b >> 4)]));
            s.push(char::from(MODHEX[usize::from(b & 0xf)]));
        }
        Self(s)
    }

    /// Generates a new key from the kernel RNG.
    ///
    /// # Errors
    /// When the RNG fails.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut_slice())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Parses typed input: case-insensitive, with or without dashes.
    ///
    /// # Errors
    /// [`ParseRecoveryKeyError`] with the offending position.
    pub fn normalize(input: &str) -> Result<Self, ParseRecoveryKeyError> {
        let raw = input.as_bytes();
        let dashed = match raw.len() {
            RECOVERY_KEY_LEN => true,
            64 => false,
            len => return Err(ParseRecoveryKeyError::BadLength { len }),
        };
        let mut s = Zeroizing::new(String::with_capacity(RECOVERY_KEY_LEN));
        let stride = if dashed { 9 } else { 8 };
        for group in 0..8 {
            let base = group * stride;
            if group > 0 {
                s.push('-');
            }
            for j in 0..8 {
                let c = raw[base + j].to_ascii_lowercase();
                if !MODHEX.contains(&c) {
                    return Err(ParseRecoveryKeyError::BadCharacter { position: base + j });
                }
                s.push(char::from(c));
            }
            if dashed && group < 7 && raw[base + 8] != b'-' {
                return Err(ParseRecoveryKeyError::MissingDash { position: base + 8 });
            }
        }
        Ok(Self(s))
    }

    /// The canonical text (what is used as the keyslot passphrase).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "iefgcelh-biduvkjv-cjvuncnk-vlfchdid-jhtuhhde-urkllkeg-ilkjgbrt-hjkbgktj";

    #[test]
    fn formats_and_normalizes() {
        let k = RecoveryKey::from_bytes(&[0u8; 32]);
        assert_eq!(
            k.as_str(),
            "cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc-cccccccc"
        );
        let mut b = [0u8; 32];
        b[0] = 0x0f;
        b[31] = 0xf0;
        let k = RecoveryKey::from_bytes(&b);
        assert!(k.as_str().starts_with("cv") && k.as_str().ends_with("vc"));
        assert_eq!(RecoveryKey::normalize(EXAMPLE).unwrap().as_str(), EXAMPLE);
        assert_eq!(
            RecoveryKey::normalize(&EXAMPLE.to_uppercase())
                .unwrap()
                .as_str(),
            EXAMPLE
        );
        assert_eq!(
            RecoveryKey::normalize(&EXAMPLE.replace('-', ""))
                .unwrap()
                .as_str(),
            EXAMPLE
        );
        let g = RecoveryKey::generate().unwrap();
        assert_eq!(RecoveryKey::normalize(g.as_str()).unwrap(), g);
        assert_eq!(g.as_str().len(), RECOVERY_KEY_LEN);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            RecoveryKey::normalize("abc"),
            Err(ParseRecoveryKeyError::BadLength { len: 3 })
        );
        let bad = EXAMPLE.replacen('i', "a", 1);
        assert_eq!(
            RecoveryKey::normalize(&bad),
            Err(ParseRecoveryKeyError::BadCharacter { position: 0 })
        );
        let bad = EXAMPLE.replacen('-', "c", 1);
        assert_eq!(
            RecoveryKey::normalize(&bad),
            Err(ParseRecoveryKeyError::MissingDash { position: 8 })
        );
        // Multi-byte input of the right byte length must not panic.
        let bad = "é".repeat(32);
        assert!(RecoveryKey::normalize(&bad).is_err());
        assert!(format!("{:?}", RecoveryKey::from_bytes(&[1; 32])).contains(".."));
    }
}
