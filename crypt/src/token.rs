//! Typed forms of systemd's LUKS2 tokens and the seam for token-based unlocking.
//!
//! systemd writes four token types (`systemd-recovery`, `systemd-tpm2`, `systemd-fido2`,
//! `systemd-pkcs11`; spec §2.5). [`TypedToken::from_token`] turns a raw [`Token`] into one of
//! them, [`TypedToken::to_token`] turns it back; fields a type does not know (and the whole
//! object of any other type, [`TypedToken::Other`]) are carried unchanged, so a round trip
//! never loses what a newer systemd wrote.
//!
//! Field sets: systemd 248 writes `tpm2-blob`, `tpm2-pcrs`, `tpm2-policy-hash`;
//! `fido2-credential`, `fido2-salt`, `fido2-rp`; `pkcs11-uri`, `pkcs11-key`. Later versions
//! add `tpm2-pcr-bank`, `tpm2-primary-alg` (250), `tpm2-pin` (251), `tpm2_pubkey`,
//! `tpm2_pubkey_pcrs` (252), `tpm2_salt`, `tpm2_srk` (254), `tpm2_pcrlock` (255), arrays of
//! blobs and policy hashes (256), and `fido2-clientPin-required`, `fido2-up-required`,
//! `fido2-uv-required` (249). All of these are typed here; anything newer stays in `extra`.
//!
//! # Unlocking through tokens
//! A TPM2, FIDO2 or PKCS#11 plugin turns a token into the keyslot passphrase (systemd stores
//! `base64(secret)` as the passphrase, spec §2.4). Such a plugin implements
//! [`TokenUnlocker`]; [`crate::Luks2Device::unlock_with_tokens`] walks the header's tokens in
//! id order, asks every unlocker that accepts the token type, and tries the passphrase on the
//! token's keyslot. [`RecoveryKeyUnlocker`] is the built-in implementation (a recovery key the
//! user typed, for `systemd-recovery` tokens).

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::keyslot::{base64_decode, base64_encode};
use crate::metadata::{Extra, Token};
use crate::recovery::RecoveryKey;

/// Type name of recovery-key tokens.
pub const RECOVERY_TYPE: &str = "systemd-recovery";
/// Type name of TPM2 tokens.
pub const TPM2_TYPE: &str = "systemd-tpm2";
/// Type name of FIDO2 tokens.
pub const FIDO2_TYPE: &str = "systemd-fido2";
/// Type name of PKCS#11 tokens.
pub const PKCS11_TYPE: &str = "systemd-pkcs11";

/// A `systemd-recovery` token: marks its keyslot as holding a recovery key.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RecoveryToken {
    /// The keyslot it refers to.
    pub keyslot: u32,
    /// Unknown fields.
    pub extra: Extra,
}

/// A `systemd-tpm2` token (sealed secret plus its PCR policy).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Tpm2Token {
    /// The keyslot it refers to.
    pub keyslot: u32,
    /// `tpm2-blob`: marshalled `TPM2B_PRIVATE` + `TPM2B_PUBLIC` (several since 256).
    pub blobs: Vec<Vec<u8>>,
    /// `tpm2-pcrs`: PCR indexes of the policy.
    pub pcrs: Vec<u32>,
    /// `tpm2-pcr-bank` (250+), e.g. `sha256`; absent means sha256.
    pub pcr_bank: Option<String>,
    /// `tpm2-primary-alg` (250+): `ecc` or `rsa`.
    pub primary_alg: Option<String>,
    /// `tpm2-policy-hash`: SHA-256 policy digests, one per blob (hex in JSON).
    pub policy_hashes: Vec<Vec<u8>>,
    /// `tpm2-pin` (251+): whether a PIN is part of the policy.
    pub pin: Option<bool>,
    /// `tpm2_pubkey` (252+): PEM public key of a signed PCR policy.
    pub pubkey: Option<Vec<u8>>,
    /// `tpm2_pubkey_pcrs` (252+): PCRs covered by the signed policy.
    pub pubkey_pcrs: Option<Vec<u32>>,
    /// `tpm2_salt` (254+): salt mixed into the PIN.
    pub salt: Option<Vec<u8>>,
    /// `tpm2_srk` (254+): marshalled storage root key.
    pub srk: Option<Vec<u8>>,
    /// `tpm2_pcrlock` (255+): whether a pcrlock policy is used.
    pub pcrlock: Option<bool>,
    /// Unknown fields.
    pub extra: Extra,
}

/// A `systemd-fido2` token (hmac-secret credential).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Fido2Token {
    /// The keyslot it refers to.
    pub keyslot: u32,
    /// `fido2-credential`: credential id.
    pub credential: Vec<u8>,
    /// `fido2-salt`: hmac-secret salt.
    pub salt: Vec<u8>,
    /// `fido2-rp`: relying party; absent means `io.systemd.cryptsetup`.
    pub rp: Option<String>,
    /// `fido2-clientPin-required` (249+).
    pub client_pin_required: Option<bool>,
    /// `fido2-up-required` (249+).
    pub up_required: Option<bool>,
    /// `fido2-uv-required` (249+).
    pub uv_required: Option<bool>,
    /// Unknown fields.
    pub extra: Extra,
}

/// A `systemd-pkcs11` token (key encrypted to a smart card's RSA key).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Pkcs11Token {
    /// The keyslot it refers to.
    pub keyslot: u32,
    /// `pkcs11-uri`: RFC 7512 URI of the token.
    pub uri: String,
    /// `pkcs11-key`: the encrypted key.
    pub key: Vec<u8>,
    /// Unknown fields.
    pub extra: Extra,
}

/// A token in typed form; unknown types stay raw.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TypedToken {
    /// `systemd-recovery`.
    Recovery(RecoveryToken),
    /// `systemd-tpm2`.
    Tpm2(Tpm2Token),
    /// `systemd-fido2`.
    Fido2(Fido2Token),
    /// `systemd-pkcs11`.
    Pkcs11(Pkcs11Token),
    /// Any other type, unchanged.
    Other(Token),
}

/// Why a token of a systemd type could not be read in typed form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTokenError {
    /// systemd tokens name exactly one keyslot, as a decimal string.
    #[error("{kind} token must name exactly one keyslot, found {keyslots:?}")]
    Keyslots {
        /// Token type.
        kind: String,
        /// The `keyslots` array found.
        keyslots: Vec<String>,
    },
    /// A field is missing or has the wrong JSON type or encoding.
    #[error("{kind} token: field {field:?} is missing or malformed")]
    Field {
        /// Token type.
        kind: String,
        /// Field name.
        field: &'static str,
    },
}

/// Reads fields out of a token's `extra`, removing what it reads.
struct Fields {
    kind: String,
    map: Map<String, Value>,
}

impl Fields {
    fn err(&self, field: &'static str) -> ParseTokenError {
        ParseTokenError::Field {
            kind: self.kind.clone(),
            field,
        }
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field)
    }

    fn string(&mut self, field: &'static str) -> Result<Option<String>, ParseTokenError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(field)),
        }
    }

    fn bool(&mut self, field: &'static str) -> Result<Option<bool>, ParseTokenError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.err(field)),
        }
    }

    fn base64(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, ParseTokenError> {
        match self.string(field)? {
            None => Ok(None),
            Some(s) => base64_decode(&s).map(Some).ok_or_else(|| self.err(field)),
        }
    }

    fn required_base64(&mut self, field: &'static str) -> Result<Vec<u8>, ParseTokenError> {
        self.base64(field)?.ok_or_else(|| self.err(field))
    }

    fn u32_list(&mut self, field: &'static str) -> Result<Option<Vec<u32>>, ParseTokenError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect::<Option<Vec<u32>>>()
                .map(Some)
                .ok_or_else(|| self.err(field)),
            Some(_) => Err(self.err(field)),
        }
    }

    /// A string or (256+) an array of strings, each decoded by `decode`.
    fn one_or_many(
        &mut self,
        field: &'static str,
        decode: fn(&str) -> Option<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, ParseTokenError> {
        let items = match self.take(field) {
            None => return Err(self.err(field)),
            Some(Value::String(s)) => vec![Value::String(s)],
            Some(Value::Array(a)) => a,
            Some(_) => return Err(self.err(field)),
        };
        items
            .iter()
            .map(|v| v.as_str().and_then(decode))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.err(field))
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex_encode(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One value, or an array when there are several (or none).
fn one_or_many(items: &[Vec<u8>], encode: fn(&[u8]) -> String) -> Value {
    match items {
        [one] => Value::String(encode(one)),
        many => Value::Array(many.iter().map(|b| Value::String(encode(b))).collect()),
    }
}

/// The keyslot of a systemd token: exactly one decimal string.
fn single_keyslot(token: &Token) -> Result<u32, ParseTokenError> {
    match token.keyslots.as_slice() {
        [one] => one.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ParseTokenError::Keyslots {
        kind: token.kind.clone(),
        keyslots: token.keyslots.clone(),
    })
}

impl TypedToken {
    /// Reads `token` in typed form; types other than systemd's four become
    /// [`TypedToken::Other`].
    ///
    /// # Errors
    /// [`ParseTokenError`] when a systemd token does not name exactly one keyslot or a known
    /// field is missing or malformed.
    pub fn from_token(token: &Token) -> Result<Self, ParseTokenError> {
        let known = [RECOVERY_TYPE, TPM2_TYPE, FIDO2_TYPE, PKCS11_TYPE];
        if !known.contains(&token.kind.as_str()) {
            return Ok(Self::Other(token.clone()));
        }
        let keyslot = single_keyslot(token)?;
        let mut f = Fields {
            kind: token.kind.clone(),
            map: token.extra.clone(),
        };
        Ok(match token.kind.as_str() {
            RECOVERY_TYPE => Self::Recovery(RecoveryToken {
                keyslot,
                extra: f.map,
            }),
            TPM2_TYPE => {
                let blobs = f.one_or_many("tpm2-blob", base64_decode)?;
                let policy_hashes = f.one_or_many("tpm2-policy-hash", hex_decode)?;
                let pcrs = f.u32_list("tpm2-pcrs")?.ok_or_else(|| f.err("tpm2-pcrs"))?;
                Self::Tpm2(Tpm2Token {
                    keyslot,
                    blobs,
                    pcrs,
                    pcr_bank: f.string("tpm2-pcr-bank")?,
                    primary_alg: f.string("tpm2-primary-alg")?,
                    policy_hashes,
                    pin: f.bool("tpm2-pin")?,
                    pubkey: f.base64("tpm2_pubkey")?,
                    pubkey_pcrs: f.u32_list("tpm2_pubkey_pcrs")?,
                    salt: f.base64("tpm2_salt")?,
                    srk: f.base64("tpm2_srk")?,
                    pcrlock: f.bool("tpm2_pcrlock")?,
                    extra: f.map,
                })
            }
            FIDO2_TYPE => Self::Fido2(Fido2Token {
                keyslot,
                credential: f.required_base64("fido2-credential")?,
                salt: f.required_base64("fido2-salt")?,
                rp: f.string("fido2-rp")?,
                client_pin_required: f.bool("fido2-clientPin-required")?,
                up_required: f.bool("fido2-up-required")?,
                uv_required: f.bool("fido2-uv-required")?,
                extra: f.map,
            }),
            _ => Self::Pkcs11(Pkcs11Token {
                keyslot,
                uri: f.string("pkcs11-uri")?.ok_or_else(|| f.err("pkcs11-uri"))?,
                key: f.required_base64("pkcs11-key")?,
                extra: f.map,
            }),
        })
    }

    /// The token type name.
    #[must_use]
    pub fn kind(&self) -> &str {
        match self {
            Self::Recovery(_) => RECOVERY_TYPE,
            Self::Tpm2(_) => TPM2_TYPE,
            Self::Fido2(_) => FIDO2_TYPE,
            Self::Pkcs11(_) => PKCS11_TYPE,
            Self::Other(t) => &t.kind,
        }
    }

    /// The keyslot of a systemd token (`None` for [`TypedToken::Other`]).
    #[must_use]
    pub fn keyslot(&self) -> Option<u32> {
        match self {
            Self::Recovery(t) => Some(t.keyslot),
            Self::Tpm2(t) => Some(t.keyslot),
            Self::Fido2(t) => Some(t.keyslot),
            Self::Pkcs11(t) => Some(t.keyslot),
            Self::Other(_) => None,
        }
    }

    /// The raw token, as systemd would write it (known fields first in systemd's order,
    /// unknown ones kept).
    #[must_use]
    pub fn to_token(&self) -> Token {
        fn put(map: &mut Extra, key: &str, v: Option<Value>) {
            if let Some(v) = v {
                map.insert(key.to_owned(), v);
            }
        }
        let b64 = |v: &Option<Vec<u8>>| v.as_deref().map(|b| Value::String(base64_encode(b)));
        let list = |v: &[u32]| Value::Array(v.iter().map(|&n| Value::from(n)).collect());
        let (keyslot, extra) = match self {
            Self::Other(t) => return t.clone(),
            Self::Recovery(t) => (t.keyslot, t.extra.clone()),
            Self::Tpm2(t) => {
                let mut m = Extra::new();
                put(
                    &mut m,
                    "tpm2-blob",
                    Some(one_or_many(&t.blobs, base64_encode)),
                );
                put(&mut m, "tpm2-pcrs", Some(list(&t.pcrs)));
                put(
                    &mut m,
                    "tpm2-pcr-bank",
                    t.pcr_bank.clone().map(Value::String),
                );
                put(
                    &mut m,
                    "tpm2-primary-alg",
                    t.primary_alg.clone().map(Value::String),
                );
                put(
                    &mut m,
                    "tpm2-policy-hash",
                    Some(one_or_many(&t.policy_hashes, hex_encode)),
                );
                put(&mut m, "tpm2-pin", t.pin.map(Value::Bool));
                put(&mut m, "tpm2_pubkey", b64(&t.pubkey));
                put(
                    &mut m,
                    "tpm2_pubkey_pcrs",
                    t.pubkey_pcrs.as_deref().map(list),
                );
                put(&mut m, "tpm2_salt", b64(&t.salt));
                put(&mut m, "tpm2_srk", b64(&t.srk));
                put(&mut m, "tpm2_pcrlock", t.pcrlock.map(Value::Bool));
                m.extend(t.extra.clone());
                (t.keyslot, m)
            }
            Self::Fido2(t) => {
                let mut m = Extra::new();
                put(
                    &mut m,
                    "fido2-credential",
                    Some(Value::String(base64_encode(&t.credential))),
                );
                put(
                    &mut m,
                    "fido2-salt",
                    Some(Value::String(base64_encode(&t.salt))),
                );
                put(&mut m, "fido2-rp", t.rp.clone().map(Value::String));
                put(
                    &mut m,
                    "fido2-clientPin-required",
                    t.client_pin_required.map(Value::Bool),
                );
                put(&mut m, "fido2-up-required", t.up_required.map(Value::Bool));
                put(&mut m, "fido2-uv-required", t.uv_required.map(Value::Bool));
                m.extend(t.extra.clone());
                (t.keyslot, m)
            }
            Self::Pkcs11(t) => {
                let mut m = Extra::new();
                put(&mut m, "pkcs11-uri", Some(Value::String(t.uri.clone())));
                put(
                    &mut m,
                    "pkcs11-key",
                    Some(Value::String(base64_encode(&t.key))),
                );
                m.extend(t.extra.clone());
                (t.keyslot, m)
            }
        };
        Token {
            kind: self.kind().to_owned(),
            keyslots: vec![keyslot.to_string()],
            extra,
        }
    }
}

impl RecoveryToken {
    /// A `systemd-recovery` token for `keyslot`.
    #[must_use]
    pub fn new(keyslot: u32) -> Self {
        Self {
            keyslot,
            extra: Extra::new(),
        }
    }
}

/// A passphrase produced by a [`TokenUnlocker`], wiped on drop.
pub type TokenPassphrase = Zeroizing<Vec<u8>>;

/// Why a token unlocker could not produce a passphrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenUnlockError {
    /// The unlocker does not handle this token (wrong type, device absent, not ours).
    #[error("token {token} ({kind}) is not handled by this unlocker")]
    NotApplicable {
        /// Token id.
        token: u32,
        /// Token type.
        kind: String,
    },
    /// The unlocker tried and failed (e.g. a TPM refused to unseal).
    #[error("token {token} ({kind}) could not produce a passphrase")]
    Failed {
        /// Token id.
        token: u32,
        /// Token type.
        kind: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Produces the keyslot passphrase for a token: the seam for TPM2, FIDO2 and PKCS#11 unlock
/// plugins (and the recovery-key prompt).
///
/// systemd's plugins turn the token's sealed or encrypted material into a secret and pass
/// `base64(secret)` as the passphrase of the token's keyslot; an implementation returns
/// exactly those bytes. Errors never contain secrets.
pub trait TokenUnlocker {
    /// Whether this unlocker handles tokens of type `kind` (e.g. `systemd-tpm2`).
    fn handles(&self, kind: &str) -> bool;

    /// The passphrase for token `id` (already parsed); called only when
    /// [`TokenUnlocker::handles`] accepted its type.
    ///
    /// # Errors
    /// [`TokenUnlockError::NotApplicable`] to let the next token be tried silently,
    /// [`TokenUnlockError::Failed`] when the device refused.
    fn passphrase(
        &mut self,
        id: u32,
        token: &TypedToken,
    ) -> Result<TokenPassphrase, TokenUnlockError>;
}

/// Unlocks `systemd-recovery` tokens with a recovery key the user entered (normalized, so
/// case and dashes do not matter).
#[derive(Debug)]
pub struct RecoveryKeyUnlocker {
    key: RecoveryKey,
}

impl RecoveryKeyUnlocker {
    /// An unlocker offering `key`.
    #[must_use]
    pub fn new(key: RecoveryKey) -> Self {
        Self { key }
    }
}

impl TokenUnlocker for RecoveryKeyUnlocker {
    fn handles(&self, kind: &str) -> bool {
        kind == RECOVERY_TYPE
    }

    fn passphrase(
        &mut self,
        id: u32,
        token: &TypedToken,
    ) -> Result<TokenPassphrase, TokenUnlockError> {
        match token {
            TypedToken::Recovery(_) => Ok(Zeroizing::new(self.key.as_str().as_bytes().to_vec())),
            other => Err(TokenUnlockError::NotApplicable {
                token: id,
                kind: other.kind().to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;

    const FIXTURE: &str = include_str!("../../../shared/data/luks2/luks2-systemd252-tokens.json");
    const TPM2_FIXTURE: &str = include_str!("../../../shared/data/luks2/luks2-tpm2-vm.json");

    fn token(json: &str) -> Token {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fixtures_round_trip_typed() {
        for text in [FIXTURE, TPM2_FIXTURE] {
            let m: Metadata = serde_json::from_str(text).unwrap();
            for t in m.tokens.values() {
                let typed = TypedToken::from_token(t).unwrap();
                assert!(!matches!(typed, TypedToken::Other(_)), "{t:?}");
                assert_eq!(typed.to_token(), *t);
                assert_eq!(typed.keyslot(), t.keyslots[0].parse().ok());
            }
        }
        let m: Metadata = serde_json::from_str(FIXTURE).unwrap();
        let TypedToken::Tpm2(tpm) = TypedToken::from_token(&m.tokens["0"]).unwrap() else {
            panic!("token 0 is tpm2");
        };
        assert_eq!(tpm.keyslot, 1);
        assert_eq!(tpm.pcrs, [7]);
        assert_eq!(tpm.pcr_bank.as_deref(), Some("sha256"));
        assert_eq!(tpm.primary_alg.as_deref(), Some("ecc"));
        assert_eq!(tpm.pin, Some(false));
        assert_eq!(tpm.policy_hashes[0].len(), 32);
        assert_eq!(tpm.policy_hashes[0][..2], [0x9b, 0xaa]);
        assert!(tpm.extra.is_empty());
        let TypedToken::Pkcs11(p) = TypedToken::from_token(&m.tokens["1"]).unwrap() else {
            panic!("token 1 is pkcs11");
        };
        assert_eq!((p.keyslot, p.key.len()), (2, 256));
        assert!(p.uri.starts_with("pkcs11:model=SoftHSM"));
    }

    #[test]
    fn systemd_248_field_sets() {
        // 248 writes no bank/alg/pin fields and a single blob/hash as strings.
        let t = token(
            r#"{"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"AAEC",
                "tpm2-pcrs":[0,7],"tpm2-policy-hash":"00ff"}"#,
        );
        let typed = TypedToken::from_token(&t).unwrap();
        let TypedToken::Tpm2(ref tpm) = typed else {
            panic!("tpm2");
        };
        assert_eq!(tpm.blobs, [vec![0, 1, 2]]);
        assert_eq!(tpm.policy_hashes, [vec![0, 0xff]]);
        assert_eq!((tpm.pcr_bank.as_ref(), tpm.pin), (None, None));
        assert_eq!(typed.to_token(), t);

        let f = token(
            r#"{"type":"systemd-fido2","keyslots":["2"],"fido2-credential":"AQI=",
                "fido2-salt":"AwQ=","fido2-rp":"io.systemd.cryptsetup"}"#,
        );
        let typed = TypedToken::from_token(&f).unwrap();
        let TypedToken::Fido2(ref fido) = typed else {
            panic!("fido2");
        };
        assert_eq!(
            (fido.credential.as_slice(), fido.salt.as_slice()),
            (&[1u8, 2][..], &[3u8, 4][..])
        );
        assert_eq!(typed.to_token(), f);

        let later = token(
            r#"{"type":"systemd-fido2","keyslots":["2"],"fido2-credential":"AQI=",
                "fido2-salt":"AwQ=","fido2-clientPin-required":true,"fido2-up-required":false,
                "fido2-uv-required":false,"x-new":{"a":1}}"#,
        );
        let typed = TypedToken::from_token(&later).unwrap();
        let TypedToken::Fido2(ref fido) = typed else {
            panic!("fido2");
        };
        assert_eq!(fido.client_pin_required, Some(true));
        assert_eq!(fido.extra["x-new"]["a"], 1);
        assert_eq!(typed.to_token(), later);
    }

    #[test]
    fn later_tpm2_fields_and_arrays() {
        let t = token(
            r#"{"type":"systemd-tpm2","keyslots":["3"],"tpm2-blob":["AAE=","AgM="],
                "tpm2-pcrs":[],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"rsa",
                "tpm2-policy-hash":["aa","bb"],"tpm2-pin":true,"tpm2_pubkey":"UEVN",
                "tpm2_pubkey_pcrs":[11],"tpm2_salt":"c2FsdA==","tpm2_srk":"AQ==",
                "tpm2_pcrlock":false,"tpm2_future":7}"#,
        );
        let typed = TypedToken::from_token(&t).unwrap();
        let TypedToken::Tpm2(ref tpm) = typed else {
            panic!("tpm2");
        };
        assert_eq!(tpm.blobs.len(), 2);
        assert_eq!(tpm.pubkey_pcrs.as_deref(), Some(&[11][..]));
        assert_eq!(tpm.pubkey.as_deref(), Some(&b"PEM"[..]));
        assert_eq!(tpm.extra["tpm2_future"], 7);
        assert_eq!(typed.to_token(), t);
    }

    #[test]
    fn other_types_stay_raw_and_errors_are_typed() {
        let t = token(r#"{"type":"x-vendor","keyslots":["1","2"],"z":[1]}"#);
        assert_eq!(
            TypedToken::from_token(&t).unwrap(),
            TypedToken::Other(t.clone())
        );
        assert_eq!(TypedToken::Other(t.clone()).to_token(), t);
        for bad in [
            r#"{"type":"systemd-recovery","keyslots":[]}"#,
            r#"{"type":"systemd-recovery","keyslots":["1","2"]}"#,
            r#"{"type":"systemd-recovery","keyslots":["-1"]}"#,
        ] {
            assert!(matches!(
                TypedToken::from_token(&token(bad)),
                Err(ParseTokenError::Keyslots { .. })
            ));
        }
        for (bad, field) in [
            (r#"{"type":"systemd-tpm2","keyslots":["1"]}"#, "tpm2-blob"),
            (
                r#"{"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"AA==","tpm2-policy-hash":"zz","tpm2-pcrs":[]}"#,
                "tpm2-policy-hash",
            ),
            (
                r#"{"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"AA==","tpm2-policy-hash":"00","tpm2-pcrs":[-1]}"#,
                "tpm2-pcrs",
            ),
            (
                r#"{"type":"systemd-fido2","keyslots":["1"],"fido2-credential":"!!"}"#,
                "fido2-credential",
            ),
            (
                r#"{"type":"systemd-pkcs11","keyslots":["1"],"pkcs11-key":"AA=="}"#,
                "pkcs11-uri",
            ),
        ] {
            match TypedToken::from_token(&token(bad)) {
                Err(ParseTokenError::Field { field: f, .. }) => assert_eq!(f, field, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn recovery_unlocker_gives_the_dashed_form() {
        let key = RecoveryKey::from_bytes(&[0u8; 32]);
        let mut u = RecoveryKeyUnlocker::new(key.clone());
        assert!(u.handles(RECOVERY_TYPE) && !u.handles(TPM2_TYPE));
        let rec = TypedToken::Recovery(RecoveryToken::new(4));
        assert_eq!(rec.to_token().keyslots, ["4"]);
        assert_eq!(&*u.passphrase(0, &rec).unwrap(), key.as_str().as_bytes());
        let other = TypedToken::Other(Token::default());
        assert!(matches!(
            u.passphrase(1, &other),
            Err(TokenUnlockError::NotApplicable { token: 1, .. })
        ));
    }
}
