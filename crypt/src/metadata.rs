//! The LUKS2 JSON metadata model.
//!
//! Every object keeps fields it does not know in `extra`, and tokens keep their type-specific
//! content raw, so that a parse/emit cycle preserves what other tools wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Map of unknown JSON fields kept for round-tripping.
pub type Extra = Map<String, Value>;

/// The whole JSON area.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// Keyslots by id (decimal string).
    pub keyslots: BTreeMap<String, Keyslot>,
    /// Tokens by id.
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
    /// Segments by id.
    pub segments: BTreeMap<String, Segment>,
    /// Digests by id.
    pub digests: BTreeMap<String, Digest>,
    /// Global configuration.
    pub config: Config,
    /// Unknown top-level fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A keyslot object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Keyslot {
    /// Keyslot type, normally `luks2`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Size of the volume key it stores, in bytes.
    pub key_size: u64,
    /// Anti-forensic splitter parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub af: Option<Af>,
    /// Where the encrypted key material lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<Area>,
    /// How the passphrase becomes the area key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<Kdf>,
    /// Unknown fields (e.g. `priority`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Anti-forensic splitter parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Af {
    /// Splitter type, normally `luks1`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Number of stripes (4000 for cryptsetup).
    pub stripes: u32,
    /// Diffusion hash.
    pub hash: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Keyslot area.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Area {
    /// Area type, normally `raw`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Byte offset on the device.
    #[serde(with = "u64_string")]
    pub offset: u64,
    /// Size in bytes.
    #[serde(with = "u64_string")]
    pub size: u64,
    /// Cipher spec, e.g. `aes-xts-plain64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// Area key size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u64>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Key derivation function parameters (`pbkdf2`, `argon2i`, `argon2id`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Kdf {
    /// KDF type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hash for pbkdf2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Iterations for pbkdf2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
    /// Time cost for argon2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u32>,
    /// Memory cost in KiB for argon2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Parallelism for argon2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Salt, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A token object. All type-specific fields stay raw in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Token {
    /// Token type, e.g. `systemd-tpm2`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Keyslots this token unlocks.
    #[serde(default)]
    pub keyslots: Vec<String>,
    /// Type-specific and unknown fields, unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A data segment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// Segment type, normally `crypt`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Byte offset of the data.
    #[serde(with = "u64_string")]
    pub offset: u64,
    /// Size in bytes, or `dynamic`.
    pub size: String,
    /// IV tweak (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv_tweak: Option<String>,
    /// Cipher spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// Sector size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_size: Option<u32>,
    /// Unknown fields (integrity, flags, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Segment {
    /// The size in bytes, or `None` for `dynamic` (or an unparsable value).
    #[must_use]
    pub fn size_bytes(&self) -> Option<u64> {
        self.size.parse().ok()
    }
}

/// A volume key digest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Digest {
    /// Digest type, normally `pbkdf2`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Keyslots whose key this digest verifies.
    pub keyslots: Vec<String>,
    /// Segments it covers.
    pub segments: Vec<String>,
    /// Hash for pbkdf2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
    /// Salt, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Digest, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `config` object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Config {
    /// JSON area size in bytes.
    #[serde(with = "u64_string")]
    pub json_size: u64,
    /// Size of the keyslots area in bytes.
    #[serde(with = "u64_string")]
    pub keyslots_size: u64,
    /// Unknown fields (flags, requirements).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Metadata {
    /// Digests that list keyslot `slot`.
    pub fn digests_for_keyslot<'a>(
        &'a self,
        slot: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Digest)> + 'a {
        self.digests
            .iter()
            .filter(move |(_, d)| d.keyslots.iter().any(|k| k == slot))
    }

    /// Adds `token` under the lowest free id below 32 (the LUKS2 limit); returns the id,
    /// or `None` when all 32 ids are taken.
    pub fn add_token(&mut self, token: Token) -> Option<u32> {
        let id = (0..32u32).find(|i| !self.tokens.contains_key(&i.to_string()))?;
        self.tokens.insert(id.to_string(), token);
        Some(id)
    }

    /// Removes token `id`, returning it.
    pub fn remove_token(&mut self, id: u32) -> Option<Token> {
        self.tokens.remove(&id.to_string())
    }

    /// The `config.requirements.mandatory` entries (empty when there are none).
    #[must_use]
    pub fn mandatory_requirements(&self) -> Vec<String> {
        self.config
            .extra
            .get("requirements")
            .and_then(|r| r.get("mandatory"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Serializes to compact JSON text.
    ///
    /// # Errors
    /// Only if a value in `extra` cannot be serialized (never for parsed input).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Why parsed metadata is inconsistent with its header (the checks cryptsetup's
/// `LUKS2_hdr_validate` makes on areas and sizes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateMetadataError {
    /// `config.json_size` is not `hdr_size - 4096`.
    #[error("config.json_size {json_size} does not match header size {hdr_size}")]
    JsonSize {
        /// The `json_size` found.
        json_size: u64,
        /// The binary header's `hdr_size`.
        hdr_size: u64,
    },
    /// `config.keyslots_size` is not a multiple of 4096 or overflows.
    #[error("config.keyslots_size {keyslots_size} is invalid")]
    KeyslotsSize {
        /// The size found.
        keyslots_size: u64,
    },
    /// A keyslot area overflows or lies outside the keyslots area.
    #[error("keyslot {slot} area {offset}+{size} lies outside the keyslots area")]
    AreaOutside {
        /// Keyslot id.
        slot: String,
        /// Area offset.
        offset: u64,
        /// Area size.
        size: u64,
    },
    /// Two keyslot areas overlap.
    #[error("keyslot {first} and keyslot {second} areas overlap")]
    AreasOverlap {
        /// One keyslot id.
        first: String,
        /// The other.
        second: String,
    },
    /// A segment's offset plus size overflows.
    #[error("segment {segment} offset and size overflow")]
    SegmentOverflow {
        /// Segment id.
        segment: String,
    },
}

impl Metadata {
    /// Checks sizes and areas against the binary header's `hdr_size`: `json_size`, the
    /// keyslots area, every keyslot area inside it (no overflow, no overlap), segment bounds.
    ///
    /// # Errors
    /// [`ValidateMetadataError`] naming the first inconsistency.
    pub fn validate(&self, hdr_size: u64) -> Result<(), ValidateMetadataError> {
        if hdr_size.checked_sub(4096) != Some(self.config.json_size) {
            return Err(ValidateMetadataError::JsonSize {
                json_size: self.config.json_size,
                hdr_size,
            });
        }
        let ks_size = self.config.keyslots_size;
        let start = hdr_size.saturating_mul(2);
        let end = start
            .checked_add(ks_size)
            .filter(|_| ks_size % 4096 == 0)
            .ok_or(ValidateMetadataError::KeyslotsSize {
                keyslots_size: ks_size,
            })?;
        let mut areas: Vec<(u64, u64, &String)> = Vec::with_capacity(self.keyslots.len());
        for (id, ks) in &self.keyslots {
            let Some(a) = &ks.area else { continue };
            let outside = || ValidateMetadataError::AreaOutside {
                slot: id.clone(),
                offset: a.offset,
                size: a.size,
            };
            let a_end = a.offset.checked_add(a.size).ok_or_else(outside)?;
            if a.offset < start || a_end > end {
                return Err(outside());
            }
            areas.push((a.offset, a_end, id));
        }
        areas.sort_unstable();
        for w in areas.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(ValidateMetadataError::AreasOverlap {
                    first: w[0].2.clone(),
                    second: w[1].2.clone(),
                });
            }
        }
        for (id, seg) in &self.segments {
            if seg
                .size_bytes()
                .is_some_and(|size| seg.offset.checked_add(size).is_none())
            {
                return Err(ValidateMetadataError::SegmentOverflow {
                    segment: id.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Serde helper for 64-bit numbers that LUKS2 stores as decimal strings.
mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map_err(|_| D::Error::custom(format_args!("invalid decimal string {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../shared/data/luks2/luks2-systemd252-tokens.json");

    const TPM2_FIXTURE: &str = include_str!("../../../shared/data/luks2/luks2-tpm2-vm.json");

    #[test]
    fn parses_fixtures_and_round_trips() {
        for text in [FIXTURE, TPM2_FIXTURE] {
            let m: Metadata = serde_json::from_str(text).unwrap();
            assert_eq!(m.keyslots["0"].area.as_ref().unwrap().offset, 32768);
            assert!(!m.tokens.is_empty());
            let v1: Value = serde_json::from_str(text).unwrap();
            let v2: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
            assert_eq!(v1, v2);
            let again: Metadata = serde_json::from_str(&m.to_json().unwrap()).unwrap();
            assert_eq!(again, m);
        }
    }

    #[test]
    fn token_ids_fill_lowest_gap() {
        let mut m = Metadata::default();
        for want in 0..32 {
            assert_eq!(m.add_token(Token::default()), Some(want));
        }
        assert_eq!(m.add_token(Token::default()), None);
        assert!(m.remove_token(5).is_some());
        assert_eq!(m.add_token(Token::default()), Some(5));
    }

    #[test]
    fn keeps_unknown_fields_and_tokens() {
        let text = r#"{"keyslots":{"0":{"type":"luks2","key_size":64,"priority":2}},
            "tokens":{"3":{"type":"x-future","keyslots":["0"],"blob":{"a":[1,2]}}},
            "segments":{},"digests":{},"config":{"json_size":"12288","keyslots_size":"1","flags":["allow-discards"]},"zz":1}"#;
        let m: Metadata = serde_json::from_str(text).unwrap();
        assert_eq!(m.keyslots["0"].extra["priority"], 2);
        assert_eq!(m.tokens["3"].extra["blob"]["a"][1], 2);
        assert_eq!(m.extra["zz"], 1);
        assert!(m.mandatory_requirements().is_empty());
        let mut r = m.clone();
        r.config.extra.insert(
            "requirements".into(),
            serde_json::json!({"mandatory": ["online-reencrypt-v2"]}),
        );
        assert_eq!(r.mandatory_requirements(), ["online-reencrypt-v2"]);
        let back: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn validation_catches_bad_areas_and_sizes() {
        let good: Metadata = serde_json::from_str(FIXTURE).unwrap();
        good.validate(16384).unwrap();
        assert!(matches!(
            good.validate(32768),
            Err(ValidateMetadataError::JsonSize { .. })
        ));
        let mut m = good.clone();
        m.keyslots
            .get_mut("1")
            .unwrap()
            .area
            .as_mut()
            .unwrap()
            .offset = 32768 + 4096;
        assert!(matches!(
            m.validate(16384),
            Err(ValidateMetadataError::AreasOverlap { .. })
        ));
        let mut m = good.clone();
        m.keyslots.get_mut("2").unwrap().area.as_mut().unwrap().size = u64::MAX;
        assert!(matches!(
            m.validate(16384),
            Err(ValidateMetadataError::AreaOutside { .. })
        ));
        let mut m = good.clone();
        m.keyslots
            .get_mut("2")
            .unwrap()
            .area
            .as_mut()
            .unwrap()
            .offset = 4096;
        assert!(matches!(
            m.validate(16384),
            Err(ValidateMetadataError::AreaOutside { .. })
        ));
        let mut m = good.clone();
        m.config.keyslots_size = u64::MAX - 4095;
        assert!(matches!(
            m.validate(16384),
            Err(ValidateMetadataError::KeyslotsSize { .. })
        ));
        let mut m = good;
        m.segments.get_mut("0").unwrap().size = u64::MAX.to_string();
        assert!(matches!(
            m.validate(16384),
            Err(ValidateMetadataError::SegmentOverflow { .. })
        ));
    }

    #[test]
    fn rejects_bad_numbers() {
        let text = r#"{"keyslots":{},"segments":{},"digests":{},"config":{"json_size":"x","keyslots_size":"1"}}"#;
        assert!(serde_json::from_str::<Metadata>(text).is_err());
    }
}
