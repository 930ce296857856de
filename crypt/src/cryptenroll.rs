//! `systemd-cryptenroll` for passwords and recovery keys: command line, slot listing,
//! `--wipe-slot=` planning and the enrol/wipe flow, behind a [`Console`] seam (environment,
//! password prompts, output) so that all of it runs in tests without a terminal.
//!
//! Messages and exit codes follow systemd-cryptenroll (252 as shipped by Debian 12, spec §2);
//! errors additionally name the device and the slot where systemd does not.
//!
//! # Differences from systemd 248
//! * `--wipe-slot=` type keywords combine: `--wipe-slot=pkcs11,fido2` wipes both kinds.
//!   248 *replaces* the type mask with each keyword, so only the last one counted, although
//!   the man page promised combinations (spec §2.10). Debian's 252 combines them, and keel
//!   is checked against it form by form.
//! * The new keyslot and its `systemd-recovery` token are written in one metadata update,
//!   so there is never a recovery slot without its token (248 adds the token afterwards and
//!   rolls the slot back on failure); all wiped slots and tokens also go in one update.
//! * Recovery keys use systemd's later minimal KDF (pbkdf2, sha512, 1000 iterations, no
//!   benchmark), as 248's "1 iteration" request is raised to 1000 by libcryptsetup anyway.
//! * No ask-password agent, keyring cache or QR code: prompts need a terminal.
//! * TPM2, FIDO2 and PKCS#11 enrolment are refused with a clear message (the token layer,
//!   [`crate::token`], is ready for them).
//! * keel extensions for scripted use: `--pbkdf=`, `--pbkdf-memory=`,
//!   `--pbkdf-force-iterations=`, `--pbkdf-parallel=` and `--hash=` set the new password
//!   slot's KDF explicitly (as cryptsetup's options of the same names); without them the
//!   cost comes from [`PasswordKdfPolicy`]'s benchmark like cryptsetup's defaults.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::device::Luks2Device;
use crate::enroll::{NewKdf, PasswordKdfPolicy};
use crate::error::{AddKeyslotError, ReadHeaderError, RemoveKeyslotError, UnlockError};
use crate::keyslot::HashAlg;
use crate::metadata::Metadata;
use crate::recovery::RecoveryKey;
use crate::token::{RecoveryToken, TypedToken};
use keel_core::report::chain;

/// Highest number of keyslots LUKS2 allows (`crypt_keyslot_max(CRYPT_LUKS2)`).
pub const MAX_KEYSLOTS: u32 = 32;
/// Password prompts before giving up (as systemd).
const PROMPT_ATTEMPTS: u32 = 4;

/// What kind of secret a keyslot holds, as `systemd-cryptenroll` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SlotType {
    /// No token refers to the slot.
    Password,
    /// A `systemd-recovery` token.
    Recovery,
    /// A `systemd-pkcs11` token.
    Pkcs11,
    /// A `systemd-fido2` token.
    Fido2,
    /// A `systemd-tpm2` token.
    Tpm2,
    /// A token of another type.
    Other,
    /// Claimed by more than one token.
    Conflict,
}

impl SlotType {
    /// The name used in listings and in `--wipe-slot=`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Recovery => "recovery",
            Self::Pkcs11 => "pkcs11",
            Self::Fido2 => "fido2",
            Self::Tpm2 => "tpm2",
            Self::Other => "other",
            Self::Conflict => "conflict",
        }
    }

    /// The slot type a token type stands for.
    #[must_use]
    pub fn from_token_type(kind: &str) -> Self {
        match kind {
            crate::token::RECOVERY_TYPE => Self::Recovery,
            crate::token::PKCS11_TYPE => Self::Pkcs11,
            crate::token::FIDO2_TYPE => Self::Fido2,
            crate::token::TPM2_TYPE => Self::Tpm2,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for SlotType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The enrolment asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrollKind {
    /// `--password`.
    Password,
    /// `--recovery-key`.
    RecoveryKey,
}

/// The `all` / `empty` part of `--wipe-slot=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WipeScope {
    /// Only what is listed explicitly (slot numbers, types).
    #[default]
    Explicit,
    /// `all`: every active slot.
    All,
    /// `empty`: every slot that opens with the empty passphrase.
    EmptyPassphrase,
}

/// Everything `--wipe-slot=` selected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WipeSpec {
    /// Slot numbers, as given.
    pub slots: BTreeSet<u32>,
    /// `all` / `empty`.
    pub scope: WipeScope,
    /// Slot types (`password`, `recovery`, `pkcs11`, `fido2`, `tpm2`), combined.
    pub types: BTreeSet<SlotType>,
}

impl WipeSpec {
    /// Whether nothing is selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.scope == WipeScope::Explicit && self.types.is_empty()
    }
}

/// A parsed `keel-cryptenroll` invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Request {
    /// The LUKS2 device or image (made absolute).
    pub device: PathBuf,
    /// What to enrol, if anything.
    pub enroll: Option<EnrollKind>,
    /// What to wipe.
    pub wipe: WipeSpec,
    /// KDF for a new password slot; `None` benchmarks with [`PasswordKdfPolicy`].
    pub password_kdf: Option<NewKdf>,
    /// keel extension `--test-passphrase`: only check that the passphrase unlocks (like
    /// `cryptsetup open --test-passphrase`), restricted to `key_slot` if set.
    pub test_passphrase: bool,
    /// keel extension `--key-slot=N` for `--test-passphrase`.
    pub key_slot: Option<u32>,
}

/// What the command line asks for (exhaustive: the binary matches on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// `-h` / `--help`.
    Help,
    /// `--version`.
    Version,
    /// List, enrol and/or wipe.
    Run(Request),
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// No device given.
    #[error("no block device node specified")]
    NoDevice,
    /// More than one positional argument.
    #[error("too many arguments")]
    TooManyArguments,
    /// Two enrolment options.
    #[error("multiple operations specified at once")]
    MultipleOperations,
    /// An unknown option.
    #[error("unrecognized option {option:?}")]
    UnknownOption {
        /// The option.
        option: String,
    },
    /// An option that needs a value got none.
    #[error("option {option:?} requires an argument")]
    MissingValue {
        /// The option.
        option: String,
    },
    /// An option that takes no value got one.
    #[error("option {option:?} doesn't allow an argument")]
    UnexpectedValue {
        /// The option.
        option: String,
    },
    /// A `--wipe-slot=` word that is neither a number nor a keyword.
    #[error("failed to parse slot index {word:?}")]
    SlotIndex {
        /// The word.
        word: String,
    },
    /// A bad value for a keel `--pbkdf*` option.
    #[error("invalid value {value:?} for {option}")]
    BadValue {
        /// The option.
        option: String,
        /// The value.
        value: String,
    },
    /// A systemd-cryptenroll option keel does not implement yet (TPM2, FIDO2, PKCS#11).
    #[error("option {option} is not supported by keel-cryptenroll")]
    Unsupported {
        /// The option.
        option: String,
    },
}

impl ArgsError {
    /// The message systemd-cryptenroll prints for this error, as if invoked as
    /// `systemd-cryptenroll`.
    #[must_use]
    pub fn systemd_message(&self) -> String {
        self.message_for("systemd-cryptenroll")
    }

    /// The message systemd-cryptenroll prints for this error when invoked as `program`
    /// (`argv[0]`, which getopt puts before option errors).
    #[must_use]
    pub fn message_for(&self, program: &str) -> String {
        match self {
            Self::NoDevice => "No block device node specified, refusing.".into(),
            Self::TooManyArguments => "Too many arguments, refusing.".into(),
            Self::MultipleOperations => "Multiple operations specified at once, refusing.".into(),
            Self::UnknownOption { option } => {
                format!("{program}: unrecognized option '{option}'")
            }
            Self::MissingValue { option } => {
                format!("{program}: option '{option}' requires an argument")
            }
            Self::UnexpectedValue { option } => {
                format!("{program}: option '{option}' doesn't allow an argument")
            }
            Self::SlotIndex { word } => format!("Failed to parse slot index: {word}"),
            Self::BadValue { option, value } => format!("Invalid {option} value: {value}"),
            Self::Unsupported { option } => {
                format!("{option} is not supported by keel-cryptenroll yet, refusing.")
            }
        }
    }
}

fn parse_number(option: &str, value: &str) -> Result<u32, ArgsError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| ArgsError::BadValue {
            option: option.to_owned(),
            value: value.to_owned(),
        })
}

/// Explicit KDF options (keel extensions), combined into a [`NewKdf`] at the end.
#[derive(Default)]
struct KdfArgs {
    pbkdf: Option<String>,
    memory: Option<u32>,
    iterations: Option<u32>,
    parallel: Option<u32>,
    hash: Option<HashAlg>,
}

impl KdfArgs {
    fn finish(self) -> Result<Option<NewKdf>, ArgsError> {
        let policy = PasswordKdfPolicy::default();
        let kind = match self.pbkdf {
            Some(k) => k,
            None if self.memory.is_none()
                && self.iterations.is_none()
                && self.parallel.is_none()
                && self.hash.is_none() =>
            {
                return Ok(None);
            }
            None => "argon2id".into(),
        };
        match kind.as_str() {
            "pbkdf2" => Ok(Some(NewKdf::Pbkdf2 {
                hash: self.hash.unwrap_or(HashAlg::Sha256),
                iterations: self.iterations.unwrap_or(1000).max(1000),
            })),
            "argon2id" => Ok(Some(NewKdf::Argon2id {
                time: self.iterations.unwrap_or(policy.min_time),
                memory_kib: self.memory.unwrap_or(policy.max_memory_kib),
                cpus: self.parallel.unwrap_or(policy.max_parallel),
            })),
            _ => Err(ArgsError::BadValue {
                option: "--pbkdf".into(),
                value: kind,
            }),
        }
    }
}

/// Applies one `--wipe-slot=` value to `spec` (words separated by commas; an empty value
/// resets scope and types but keeps slot numbers, as systemd does).
fn parse_wipe(spec: &mut WipeSpec, value: &str) -> Result<(), ArgsError> {
    if value.is_empty() {
        spec.scope = WipeScope::Explicit;
        spec.types.clear();
        return Ok(());
    }
    for word in value.split(',').filter(|w| !w.is_empty()) {
        match word {
            "all" => spec.scope = WipeScope::All,
            "empty" => {
                if spec.scope != WipeScope::All {
                    spec.scope = WipeScope::EmptyPassphrase;
                }
            }
            "password" => drop(spec.types.insert(SlotType::Password)),
            "recovery" => drop(spec.types.insert(SlotType::Recovery)),
            "pkcs11" => drop(spec.types.insert(SlotType::Pkcs11)),
            "fido2" => drop(spec.types.insert(SlotType::Fido2)),
            "tpm2" => drop(spec.types.insert(SlotType::Tpm2)),
            _ => {
                let n = word.parse::<u32>().map_err(|_| ArgsError::SlotIndex {
                    word: word.to_owned(),
                })?;
                spec.slots.insert(n);
            }
        }
    }
    Ok(())
}

/// Parses `systemd-cryptenroll`'s command line (without the program name).
///
/// Options may come in any order, `--opt=value` or `--opt value`; `--` ends options.
/// Hand-written rather than clap because systemd's getopt rules (repeatable, cumulative
/// `--wipe-slot=`, an empty value resetting it) and its exact messages are part of the
/// interface.
///
/// # Errors
/// [`ArgsError`]; [`ArgsError::systemd_message`] gives systemd's wording.
pub fn parse_args<I, S>(args: I) -> Result<Invocation, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let mut positional = Vec::new();
    let mut enroll = None;
    let mut wipe = WipeSpec::default();
    let mut kdf = KdfArgs::default();
    let mut only_positional = false;
    let mut test_passphrase = false;
    let mut key_slot = None;
    while let Some(arg) = args.next() {
        if only_positional || !arg.starts_with('-') || arg == "-" {
            positional.push(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let takes_value = matches!(
            name.as_str(),
            "--wipe-slot"
                | "--pbkdf"
                | "--pbkdf-memory"
                | "--pbkdf-force-iterations"
                | "--pbkdf-parallel"
                | "--hash"
                | "--pkcs11-token-uri"
                | "--fido2-device"
                | "--tpm2-device"
                | "--tpm2-pcrs"
                | "--unlock-key-file"
                | "--key-slot"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => args.next().ok_or_else(|| ArgsError::MissingValue {
                    option: name.clone(),
                })?,
            }
        } else {
            if inline.is_some() {
                return Err(ArgsError::UnexpectedValue { option: name });
            }
            String::new()
        };
        let mut set_enroll = |kind| {
            if enroll.is_some() {
                return Err(ArgsError::MultipleOperations);
            }
            enroll = Some(kind);
            Ok(())
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Invocation::Help),
            "--version" => return Ok(Invocation::Version),
            "--password" => set_enroll(EnrollKind::Password)?,
            "--recovery-key" => set_enroll(EnrollKind::RecoveryKey)?,
            "--wipe-slot" => parse_wipe(&mut wipe, &value)?,
            "--test-passphrase" => test_passphrase = true,
            "--key-slot" => {
                key_slot = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n < MAX_KEYSLOTS)
                        .ok_or_else(|| ArgsError::BadValue {
                            option: name.clone(),
                            value: value.clone(),
                        })?,
                );
            }
            "--pbkdf" => kdf.pbkdf = Some(value),
            "--pbkdf-memory" => kdf.memory = Some(parse_number(&name, &value)?),
            "--pbkdf-force-iterations" => kdf.iterations = Some(parse_number(&name, &value)?),
            "--pbkdf-parallel" => kdf.parallel = Some(parse_number(&name, &value)?),
            "--hash" => {
                kdf.hash = Some(
                    HashAlg::from_name(&value).ok_or_else(|| ArgsError::BadValue {
                        option: name.clone(),
                        value: value.clone(),
                    })?,
                );
            }
            "--pkcs11-token-uri" | "--fido2-device" | "--tpm2-device" | "--tpm2-pcrs"
            | "--unlock-key-file" => {
                return Err(ArgsError::Unsupported {
                    option: format!("{name}="),
                });
            }
            _ => return Err(ArgsError::UnknownOption { option: arg }),
        }
    }
    let device = match positional.as_slice() {
        [] => return Err(ArgsError::NoDevice),
        [one] => PathBuf::from(one),
        _ => return Err(ArgsError::TooManyArguments),
    };
    let device = std::path::absolute(&device).unwrap_or(device);
    Ok(Invocation::Run(Request {
        device,
        enroll,
        wipe,
        password_kdf: kdf.finish()?,
        test_passphrase,
        key_slot,
    }))
}

/// `--help` text.
#[must_use]
pub fn help_text(program: &str) -> String {
    format!(
        "{program} [OPTIONS...] BLOCK-DEVICE\n\n\
         Enroll a security token or authentication credential to a LUKS volume.\n\n  \
         -h --help            Show this help\n     \
         --version         Show package version\n     \
         --password        Enroll a user-supplied password\n     \
         --recovery-key    Enroll a recovery key\n     \
         --wipe-slot=SLOT1,SLOT2,…\n                       \
         Wipe specified slots\n\n\
         keel extensions (KDF of a new password slot, as cryptsetup's options):\n     \
         --pbkdf=argon2id|pbkdf2  --pbkdf-memory=KiB  --pbkdf-force-iterations=N\n     \
         --pbkdf-parallel=N  --hash=sha256|sha512|...\n     \
         --test-passphrase [--key-slot=N]  only check the passphrase ($PASSWORD or prompt)\n\n\
         TPM2, FIDO2 and PKCS#11 enrollment are not supported yet.\n"
    )
}

/// Active keyslots and what kind of secret each holds, by slot number (as systemd's
/// `list_enrolled`: token types decide, a slot named by two tokens is a conflict, no token
/// means password).
#[must_use]
pub fn list_slots(meta: &Metadata) -> Vec<(u32, SlotType)> {
    let mut slots: Vec<(u32, Option<SlotType>)> = meta
        .keyslots
        .keys()
        .filter_map(|k| k.parse::<u32>().ok())
        .filter(|&n| n < MAX_KEYSLOTS)
        .map(|n| (n, None))
        .collect();
    slots.sort_unstable();
    let mut tokens: Vec<(u32, &crate::metadata::Token)> = meta
        .tokens
        .iter()
        .filter_map(|(id, t)| Some((id.parse().ok()?, t)))
        .collect();
    tokens.sort_unstable_by_key(|(id, _)| *id);
    for (_, t) in tokens {
        let kind = SlotType::from_token_type(&t.kind);
        for k in &t.keyslots {
            let Ok(n) = k.parse::<u32>() else { continue };
            if let Some((_, ty)) = slots.iter_mut().find(|(s, _)| *s == n) {
                *ty = Some(if ty.is_some() {
                    SlotType::Conflict
                } else {
                    kind
                });
            }
        }
    }
    slots
        .into_iter()
        .map(|(n, t)| (n, t.unwrap_or(SlotType::Password)))
        .collect()
}

/// The `SLOT TYPE` table systemd-cryptenroll prints (slot right-aligned), or `None` when
/// there are no slots (systemd then logs "No slots found.").
#[must_use]
pub fn format_slot_table(slots: &[(u32, SlotType)]) -> Option<String> {
    if slots.is_empty() {
        return None;
    }
    let width = slots
        .iter()
        .map(|(n, _)| n.to_string().len())
        .max()
        .unwrap_or(0)
        .max("SLOT".len());
    let mut out = format!("{:>width$} TYPE\n", "SLOT");
    for (n, t) in slots {
        out.push_str(&format!("{n:>width$} {t}\n"));
    }
    Some(out)
}

/// What a `--wipe-slot=` selection resolves to on a given header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WipePlan {
    /// Existing keyslots to remove, ascending.
    pub slots: Vec<u32>,
    /// Tokens to remove, ascending.
    pub tokens: Vec<u32>,
    /// Explicitly named slots that do not exist (systemd warns and fails at the end).
    pub missing: Vec<u32>,
}

impl WipePlan {
    /// Whether nothing would be wiped or reported.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.tokens.is_empty() && self.missing.is_empty()
    }
}

/// Why a wipe selection cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanWipeError {
    /// A slot number of 32 or more.
    #[error("slot index {slot} out of range")]
    OutOfRange {
        /// The slot number.
        slot: u32,
    },
    /// No active slot would remain.
    #[error("wiping would leave no keyslot")]
    NothingLeft,
}

/// Resolves `spec` on `meta`, never touching `keep` (the slot just enrolled).
///
/// `opens_with_empty(slot)` answers whether a slot opens with the empty passphrase (only
/// asked for `empty`). Selection follows systemd (spec §2.10) except that type keywords
/// combine. Tokens: a token is removed when one of its slots is wiped and none is kept;
/// then all its slots are wiped (and all slots of a kept token kept).
///
/// # Errors
/// [`PlanWipeError`]: a slot number ≥ 32, or no slot would remain.
pub fn plan_wipe(
    meta: &Metadata,
    spec: &WipeSpec,
    keep: Option<u32>,
    opens_with_empty: &mut dyn FnMut(u32) -> bool,
) -> Result<WipePlan, PlanWipeError> {
    if let Some(&slot) = spec.slots.iter().find(|&&s| s >= MAX_KEYSLOTS) {
        return Err(PlanWipeError::OutOfRange { slot });
    }
    let listed = list_slots(meta);
    let active: BTreeSet<u32> = listed.iter().map(|(n, _)| *n).collect();
    let mut keep_set: BTreeSet<u32> = keep.into_iter().collect();
    let mut wipe: BTreeSet<u32> = spec.slots.clone();
    match spec.scope {
        WipeScope::Explicit => {}
        WipeScope::All => wipe.extend(active.iter().filter(|n| !keep_set.contains(n))),
        WipeScope::EmptyPassphrase => {
            for &n in &active {
                if !keep_set.contains(&n) && !wipe.contains(&n) && opens_with_empty(n) {
                    wipe.insert(n);
                }
            }
        }
    }
    let mut tokens: Vec<(u32, &crate::metadata::Token)> = meta
        .tokens
        .iter()
        .filter_map(|(id, t)| Some((id.parse().ok()?, t)))
        .collect();
    tokens.sort_unstable_by_key(|(id, _)| *id);
    let token_slots = |t: &crate::metadata::Token| -> Vec<u32> {
        t.keyslots.iter().filter_map(|k| k.parse().ok()).collect()
    };
    if !spec.types.is_empty() {
        let mut with_token = BTreeSet::new();
        for (_, t) in &tokens {
            let slots = token_slots(t);
            with_token.extend(slots.iter().copied());
            if spec.types.contains(&SlotType::from_token_type(&t.kind)) {
                wipe.extend(slots);
            }
        }
        if spec.types.contains(&SlotType::Password) {
            wipe.extend(
                active
                    .iter()
                    .filter(|n| !with_token.contains(n) && !keep_set.contains(n)),
            );
        }
    }
    let mut wipe_tokens = Vec::new();
    for (id, t) in &tokens {
        let slots = token_slots(t);
        if slots.iter().any(|s| keep_set.contains(s)) {
            keep_set.extend(slots);
        } else if slots.iter().any(|s| wipe.contains(s)) {
            wipe.extend(slots);
            wipe_tokens.push(*id);
        }
    }
    if !active
        .iter()
        .any(|n| keep_set.contains(n) || !wipe.contains(n))
    {
        return Err(PlanWipeError::NothingLeft);
    }
    let (slots, missing): (Vec<u32>, Vec<u32>) = wipe
        .into_iter()
        .filter(|n| !keep_set.contains(n))
        .partition(|n| active.contains(n));
    Ok(WipePlan {
        slots,
        tokens: wipe_tokens,
        missing,
    })
}

/// The environment, the terminal and the output streams of a run: the test seam.
pub trait Console {
    /// Reads and removes environment variable `name` (`$PASSWORD`, `$NEWPASSWORD`).
    fn take_env(&mut self, name: &str) -> Option<Zeroizing<String>>;

    /// Asks for a secret with `question` (without echo on a terminal).
    ///
    /// # Errors
    /// When there is no terminal or reading fails.
    fn ask_password(&mut self, question: &str) -> std::io::Result<Zeroizing<String>>;

    /// Writes to standard output.
    fn stdout(&mut self, text: &str);

    /// Writes to standard error (log messages).
    fn stderr(&mut self, text: &str);

    /// Whether the 🔐 glyph may be printed (UTF-8 locale, not a dumb terminal).
    fn emoji(&self) -> bool;
}

/// Why a `keel-cryptenroll` run failed (the message is already on the console).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptenrollError {
    /// The device cannot be opened or has no valid LUKS2 header.
    #[error("cannot load LUKS2 header of {device}")]
    Load {
        /// Device path.
        device: PathBuf,
        /// Why.
        #[source]
        source: ReadHeaderError,
    },
    /// `$PASSWORD` did not unlock any keyslot.
    #[error("$PASSWORD does not unlock {device}")]
    EnvPassword {
        /// Device path.
        device: PathBuf,
    },
    /// Reading a password from the terminal failed.
    #[error("cannot query password for {device}")]
    Prompt {
        /// Device path.
        device: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Too many wrong or mismatching passwords.
    #[error("too many attempts for {device}")]
    TooManyAttempts {
        /// Device path.
        device: PathBuf,
    },
    /// Unlocking failed for another reason than a wrong passphrase.
    #[error("cannot unlock {device}")]
    Unlock {
        /// Device path.
        device: PathBuf,
        /// Why.
        #[source]
        source: UnlockError,
    },
    /// Generating the recovery key failed.
    #[error("cannot generate a recovery key")]
    Random {
        /// Why.
        #[source]
        source: getrandom::Error,
    },
    /// Benchmarking the password KDF failed.
    #[error("cannot benchmark the password kdf")]
    Benchmark {
        /// Why.
        #[source]
        source: UnlockError,
    },
    /// Adding the new keyslot failed.
    #[error("cannot add the new keyslot to {device}")]
    Enroll {
        /// Device path.
        device: PathBuf,
        /// Why.
        #[source]
        source: AddKeyslotError,
    },
    /// The wipe selection is invalid.
    #[error("cannot wipe slots of {device}")]
    PlanWipe {
        /// Device path.
        device: PathBuf,
        /// Why.
        #[source]
        source: PlanWipeError,
    },
    /// Removing slots failed.
    #[error("cannot wipe slots {slots:?} of {device}")]
    Wipe {
        /// Device path.
        device: PathBuf,
        /// Slots that were to be removed.
        slots: Vec<u32>,
        /// Why.
        #[source]
        source: RemoveKeyslotError,
    },
    /// Named slots do not exist.
    #[error("slots {slots:?} of {device} do not exist")]
    MissingSlots {
        /// Device path.
        device: PathBuf,
        /// The slots.
        slots: Vec<u32>,
    },
}

fn log(console: &mut dyn Console, line: &str) {
    console.stderr(line);
    console.stderr("\n");
}

fn load(
    device: &Path,
    writable: bool,
    console: &mut dyn Console,
) -> Result<Luks2Device, CryptenrollError> {
    let res = if writable {
        Luks2Device::open_rw(device)
    } else {
        Luks2Device::open(device)
    };
    res.map_err(|source| {
        let msg = match &source {
            ReadHeaderError::Open { source: io, .. }
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                format!(
                    "Device {} does not exist or access denied.",
                    device.display()
                )
            }
            other => format!(
                "Failed to load LUKS2 superblock of {}: {}",
                device.display(),
                chain(other)
            ),
        };
        log(console, &msg);
        CryptenrollError::Load {
            device: device.to_path_buf(),
            source,
        }
    })
}

/// Obtains the volume key: `$PASSWORD`, else up to four terminal prompts.
fn unlock(
    dev: &Luks2Device,
    slot: Option<u32>,
    console: &mut dyn Console,
) -> Result<crate::device::VolumeKey, CryptenrollError> {
    let device = dev.path().to_path_buf();
    let unlock_err = |source, console: &mut dyn Console| {
        log(
            console,
            &format!("Failed to unlock {}: {}", device.display(), chain(&source)),
        );
        CryptenrollError::Unlock {
            device: device.clone(),
            source,
        }
    };
    if let Some(pw) = console.take_env("PASSWORD") {
        return match dev.unlock(slot, pw.as_bytes()) {
            Ok(vk) => Ok(vk),
            Err(UnlockError::WrongPassphrase) => {
                log(
                    console,
                    "Password from environment variable $PASSWORD did not work.",
                );
                Err(CryptenrollError::EnvPassword { device })
            }
            Err(e) => Err(unlock_err(e, console)),
        };
    }
    let question = format!(
        "Please enter current passphrase for disk {}:",
        device.display()
    );
    for _ in 0..PROMPT_ATTEMPTS {
        let pw = console.ask_password(&question).map_err(|source| {
            log(console, &format!("Failed to query password: {source}"));
            CryptenrollError::Prompt {
                device: device.clone(),
                source,
            }
        })?;
        match dev.unlock(slot, pw.as_bytes()) {
            Ok(vk) => return Ok(vk),
            Err(UnlockError::WrongPassphrase) => {
                log(console, "Password not correct, please try again.");
            }
            Err(e) => return Err(unlock_err(e, console)),
        }
    }
    log(console, "Too many attempts, giving up.");
    Err(CryptenrollError::TooManyAttempts { device })
}

/// The new password: `$NEWPASSWORD`, else a double prompt (up to four tries).
fn new_password(
    device: &Path,
    console: &mut dyn Console,
) -> Result<Zeroizing<String>, CryptenrollError> {
    if let Some(pw) = console.take_env("NEWPASSWORD") {
        return Ok(pw);
    }
    let first = format!("Please enter new passphrase for disk {}:", device.display());
    let second = format!(
        "Please enter new passphrase for disk {} (repeat):",
        device.display()
    );
    for _ in 0..PROMPT_ATTEMPTS {
        let ask = |q: &str, console: &mut dyn Console| {
            console.ask_password(q).map_err(|source| {
                log(console, &format!("Failed to query password: {source}"));
                CryptenrollError::Prompt {
                    device: device.to_path_buf(),
                    source,
                }
            })
        };
        let a = ask(&first, console)?;
        let b = ask(&second, console)?;
        if a == b {
            return Ok(a);
        }
        log(console, "Password didn't match, try again.");
    }
    log(console, "Too many attempts, giving up.");
    Err(CryptenrollError::TooManyAttempts {
        device: device.to_path_buf(),
    })
}

/// Enrols what `kind` asks for; returns the new keyslot.
fn enroll(
    dev: &mut Luks2Device,
    kind: EnrollKind,
    password_kdf: Option<NewKdf>,
    console: &mut dyn Console,
) -> Result<u32, CryptenrollError> {
    let vk = unlock(dev, None, console)?;
    let device = dev.path().to_path_buf();
    let enroll_err = |what: &str, source: AddKeyslotError, console: &mut dyn Console| {
        log(
            console,
            &format!(
                "Failed to add new {what} to {}: {}",
                device.display(),
                chain(&source)
            ),
        );
        CryptenrollError::Enroll {
            device: device.clone(),
            source,
        }
    };
    match kind {
        EnrollKind::Password => {
            let pw = new_password(&device, console)?;
            let kdf = match password_kdf {
                Some(k) => k,
                None => PasswordKdfPolicy::default().benchmark().map_err(|source| {
                    log(
                        console,
                        &format!("Failed to benchmark KDF: {}", chain(&source)),
                    );
                    CryptenrollError::Benchmark { source }
                })?,
            };
            let slot = dev
                .add_keyslot_with_volume_key(&vk, pw.as_bytes(), kdf)
                .map_err(|e| enroll_err("password", e, console))?;
            log(
                console,
                &format!("New password enrolled as key slot {slot}."),
            );
            Ok(slot)
        }
        EnrollKind::RecoveryKey => {
            let key = RecoveryKey::generate().map_err(|source| {
                log(
                    console,
                    &format!("Failed to generate recovery key: {source}"),
                );
                CryptenrollError::Random { source }
            })?;
            let (slot, _) = dev
                .add_keyslot_with_token(&vk, key.as_str().as_bytes(), NewKdf::MINIMAL, |slot| {
                    TypedToken::Recovery(RecoveryToken::new(slot))
                })
                .map_err(|e| enroll_err("recovery key", e, console))?;
            let glyph = if console.emoji() { "🔐 " } else { "" };
            console.stderr(&format!(
                "A secret recovery key has been generated for this volume:\n\n    {glyph}"
            ));
            console.stdout(key.as_str());
            console.stdout("\n");
            console.stderr(
                "\nPlease save this secret recovery key at a secure location. It may be used to\n\
                 regain access to the volume if the other configured access credentials have\n\
                 been lost or forgotten. The recovery key may be entered in place of a password\n\
                 whenever authentication is requested.\n",
            );
            log(
                console,
                &format!("New recovery key enrolled as key slot {slot}."),
            );
            Ok(slot)
        }
    }
}

/// Carries out `spec`, keeping `keep`.
fn wipe(
    dev: &mut Luks2Device,
    spec: &WipeSpec,
    keep: Option<u32>,
    console: &mut dyn Console,
) -> Result<(), CryptenrollError> {
    let device = dev.path().to_path_buf();
    let meta = dev.metadata().clone();
    let plan = {
        let dev_ref: &Luks2Device = dev;
        let mut empty = |slot: u32| dev_ref.unlock(Some(slot), b"").is_ok();
        plan_wipe(&meta, spec, keep, &mut empty)
    };
    let plan = plan.map_err(|source| {
        let msg = match source {
            PlanWipeError::OutOfRange { slot } => format!("Slot index {slot} out of range."),
            PlanWipeError::NothingLeft => {
                "Wipe operation would leave no valid slots around, can't allow that, sorry.".into()
            }
        };
        log(console, &msg);
        CryptenrollError::PlanWipe {
            device: device.clone(),
            source,
        }
    })?;
    if plan.is_empty() {
        if keep.is_none() {
            log(console, "No slots to remove selected.");
        }
        return Ok(());
    }
    if !plan.slots.is_empty() || !plan.tokens.is_empty() {
        dev.remove_keyslots(&plan.slots, &plan.tokens)
            .map_err(|source| {
                log(
                    console,
                    &format!(
                        "Failed to wipe slots {:?} of {}: {}",
                        plan.slots,
                        device.display(),
                        chain(&source)
                    ),
                );
                CryptenrollError::Wipe {
                    device: device.clone(),
                    slots: plan.slots.clone(),
                    source,
                }
            })?;
    }
    let mut all: Vec<(u32, bool)> = plan
        .slots
        .iter()
        .map(|&s| (s, true))
        .chain(plan.missing.iter().map(|&s| (s, false)))
        .collect();
    all.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    for (slot, existed) in all {
        if existed {
            log(console, &format!("Wiped slot {slot}."));
        } else {
            log(
                console,
                &format!("Failed to wipe non-existent slot {slot}, continuing."),
            );
        }
    }
    if plan.missing.is_empty() {
        Ok(())
    } else {
        Err(CryptenrollError::MissingSlots {
            device,
            slots: plan.missing,
        })
    }
}

/// Runs a parsed request: lists slots when nothing is asked for, otherwise enrols (after
/// unlocking) and then wipes, excluding the new slot. Every message goes to `console` in
/// systemd-cryptenroll's words; the error only tells the caller to exit with status 1.
///
/// # Errors
/// [`CryptenrollError`], already reported on `console`.
pub fn run(req: &Request, console: &mut dyn Console) -> Result<(), CryptenrollError> {
    if req.test_passphrase {
        let dev = load(&req.device, false, console)?;
        return unlock(&dev, req.key_slot, console).map(drop);
    }
    if req.enroll.is_none() && req.wipe.is_empty() {
        let dev = load(&req.device, false, console)?;
        match format_slot_table(&list_slots(dev.metadata())) {
            Some(table) => console.stdout(&table),
            None => log(console, "No slots found."),
        }
        return Ok(());
    }
    let mut dev = load(&req.device, true, console)?;
    let keep = match req.enroll {
        Some(kind) => Some(enroll(&mut dev, kind, req.password_kdf, console)?),
        None => None,
    };
    wipe(&mut dev, &req.wipe, keep, console)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(words: &str) -> WipeSpec {
        let mut s = WipeSpec::default();
        parse_wipe(&mut s, words).unwrap();
        s
    }

    fn run_args(args: &[&str]) -> Result<Invocation, ArgsError> {
        parse_args(args.iter().copied())
    }

    #[test]
    fn command_line() {
        let Invocation::Run(r) = run_args(&["--password", "/dev/x"]).unwrap() else {
            panic!("run");
        };
        assert_eq!(
            (r.device.as_path(), r.enroll, r.password_kdf),
            (Path::new("/dev/x"), Some(EnrollKind::Password), None)
        );
        assert_eq!(run_args(&["--help"]).unwrap(), Invocation::Help);
        assert_eq!(run_args(&["x", "--version"]).unwrap(), Invocation::Version);
        for (args, err) in [
            (&[][..], ArgsError::NoDevice),
            (&["a", "b"][..], ArgsError::TooManyArguments),
            (
                &["--password", "--recovery-key", "a"][..],
                ArgsError::MultipleOperations,
            ),
            (
                &["--wipe-slot=foo", "a"][..],
                ArgsError::SlotIndex { word: "foo".into() },
            ),
            (
                &["--wipe-slot"][..],
                ArgsError::MissingValue {
                    option: "--wipe-slot".into(),
                },
            ),
            (
                &["--password=1", "a"][..],
                ArgsError::UnexpectedValue {
                    option: "--password".into(),
                },
            ),
            (
                &["--bogus", "a"][..],
                ArgsError::UnknownOption {
                    option: "--bogus".into(),
                },
            ),
            (
                &["--tpm2-device=auto", "a"][..],
                ArgsError::Unsupported {
                    option: "--tpm2-device=".into(),
                },
            ),
            (
                &["--pbkdf=scrypt", "a"][..],
                ArgsError::BadValue {
                    option: "--pbkdf".into(),
                    value: "scrypt".into(),
                },
            ),
        ] {
            assert_eq!(run_args(args), Err(err.clone()), "{args:?}");
            assert!(
                err.systemd_message().ends_with(['.', '\'']) || !err.systemd_message().is_empty()
            );
        }
        assert_eq!(
            ArgsError::MultipleOperations.systemd_message(),
            "Multiple operations specified at once, refusing."
        );
        let Invocation::Run(r) = run_args(&[
            "--pbkdf=argon2id",
            "--pbkdf-memory",
            "32",
            "--pbkdf-force-iterations=4",
            "--pbkdf-parallel=1",
            "--",
            "-dev",
        ])
        .unwrap() else {
            panic!("run");
        };
        assert_eq!(
            r.password_kdf,
            Some(NewKdf::Argon2id {
                time: 4,
                memory_kib: 32,
                cpus: 1
            })
        );
        assert!(r.device.ends_with("-dev") && r.device.is_absolute());
        let Invocation::Run(r) = run_args(&["--pbkdf=pbkdf2", "--hash=sha512", "d"]).unwrap()
        else {
            panic!("run");
        };
        assert_eq!(
            r.password_kdf,
            Some(NewKdf::Pbkdf2 {
                hash: HashAlg::Sha512,
                iterations: 1000
            })
        );
    }

    #[test]
    fn wipe_words_combine_and_reset() {
        let s = spec("pkcs11,fido2,3,empty");
        assert_eq!(s.types, [SlotType::Pkcs11, SlotType::Fido2].into());
        assert_eq!(
            (s.slots.iter().copied().collect::<Vec<_>>(), s.scope),
            (vec![3], WipeScope::EmptyPassphrase)
        );
        assert_eq!(spec("all,empty").scope, WipeScope::All);
        let mut s = spec("all,tpm2,1");
        parse_wipe(&mut s, "").unwrap();
        assert_eq!(
            (s.scope, s.types.len(), s.slots.len()),
            (WipeScope::Explicit, 0, 1)
        );
        let Invocation::Run(r) = run_args(&["--wipe-slot=recovery", "--wipe-slot=2", "d"]).unwrap()
        else {
            panic!("run");
        };
        assert_eq!(r.wipe.types, [SlotType::Recovery].into());
        assert_eq!(r.wipe.slots, [2].into());
        assert!(
            run_args(&["--wipe-slot=", "d"])
                .map(|i| matches!(i, Invocation::Run(r) if r.wipe.is_empty()))
                .unwrap()
        );
    }

    const FIXTURE: &str = include_str!("../../../shared/data/luks2/luks2-systemd252-tokens.json");

    fn meta() -> Metadata {
        // slots 0 password, 1 tpm2, 2 pkcs11, 3 recovery, 4 password
        serde_json::from_str(FIXTURE).unwrap()
    }

    #[test]
    fn listing_matches_systemd() {
        let m = meta();
        let slots = list_slots(&m);
        assert_eq!(
            slots,
            [
                (0, SlotType::Password),
                (1, SlotType::Tpm2),
                (2, SlotType::Pkcs11),
                (3, SlotType::Recovery),
                (4, SlotType::Password)
            ]
        );
        assert_eq!(
            format_slot_table(&slots).unwrap(),
            "SLOT TYPE\n   0 password\n   1 tpm2\n   2 pkcs11\n   3 recovery\n   4 password\n"
        );
        assert_eq!(format_slot_table(&[]), None);
        let mut m2 = m.clone();
        let mut t = m2.tokens["2"].clone();
        t.kind = "x-other".into();
        m2.tokens.insert("5".into(), t);
        let slots = list_slots(&m2);
        assert_eq!(slots[3], (3, SlotType::Conflict));
        m2.tokens.remove("2");
        assert_eq!(list_slots(&m2)[3], (3, SlotType::Other));
    }

    fn plan(words: &str, keep: Option<u32>) -> Result<WipePlan, PlanWipeError> {
        plan_wipe(&meta(), &spec(words), keep, &mut |s| s == 4)
    }

    #[test]
    fn wipe_planning() {
        let p = plan("pkcs11,tpm2", None).unwrap();
        assert_eq!((p.slots, p.tokens), (vec![1, 2], vec![0, 1]));
        let p = plan("password", None).unwrap();
        assert_eq!((p.slots, p.tokens), (vec![0, 4], vec![]));
        let p = plan("recovery,password", Some(4)).unwrap();
        assert_eq!((p.slots, p.tokens), (vec![0, 3], vec![2]));
        let p = plan("empty", None).unwrap();
        assert_eq!(p.slots, [4]);
        let p = plan("3,9", None).unwrap();
        assert_eq!((p.slots, p.tokens, p.missing), (vec![3], vec![2], vec![9]));
        let p = plan("all", Some(2)).unwrap();
        assert_eq!((p.slots, p.tokens), (vec![0, 1, 3, 4], vec![0, 2]));
        assert_eq!(plan("all", None), Err(PlanWipeError::NothingLeft));
        assert_eq!(
            plan("password,tpm2,pkcs11,recovery", None),
            Err(PlanWipeError::NothingLeft)
        );
        assert_eq!(
            plan("32", None),
            Err(PlanWipeError::OutOfRange { slot: 32 })
        );
        assert!(plan("", None).unwrap().is_empty());
        // A kept slot keeps its token and the token's other slots.
        let mut m = meta();
        m.tokens.get_mut("1").unwrap().keyslots.push("0".into());
        let p = plan_wipe(&m, &spec("0,2"), Some(2), &mut |_| false).unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    /// A scripted console: environment, queued prompt answers, captured output.
    #[derive(Default)]
    struct Script {
        env: std::collections::HashMap<String, String>,
        answers: std::collections::VecDeque<String>,
        questions: Vec<String>,
        out: String,
        err: String,
    }

    impl Console for Script {
        fn take_env(&mut self, name: &str) -> Option<Zeroizing<String>> {
            self.env.remove(name).map(Zeroizing::new)
        }

        fn ask_password(&mut self, question: &str) -> std::io::Result<Zeroizing<String>> {
            self.questions.push(question.to_owned());
            self.answers
                .pop_front()
                .map(Zeroizing::new)
                .ok_or_else(|| std::io::Error::other("no terminal"))
        }

        fn stdout(&mut self, text: &str) {
            self.out.push_str(text);
        }

        fn stderr(&mut self, text: &str) {
            self.err.push_str(text);
        }

        fn emoji(&self) -> bool {
            false
        }
    }

    fn image(dir: &Path) -> PathBuf {
        let img = dir.join("img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(crate::format::DEFAULT_DATA_OFFSET + 4096)
            .unwrap();
        let opts = crate::FormatOptions {
            kdf: NewKdf::MINIMAL,
            ..crate::FormatOptions::default()
        };
        crate::format(&img, b"old", &opts).unwrap();
        img
    }

    fn request(args: &[&str]) -> Request {
        match run_args(args).unwrap() {
            Invocation::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prompts_retry_and_give_up_like_systemd() {
        let dir = std::env::temp_dir().join(format!("keel-cryptenroll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = image(&dir);
        let p = img.to_str().unwrap();
        let req = request(&["--password", "--pbkdf=pbkdf2", p]);

        // Wrong, then right current passphrase; new one mismatches once.
        let mut c = Script {
            answers: ["bad", "old", "n1", "n2", "new", "new"]
                .map(String::from)
                .into(),
            ..Script::default()
        };
        run(&req, &mut c).unwrap();
        assert_eq!(
            c.err,
            "Password not correct, please try again.\nPassword didn't match, try again.\n\
             New password enrolled as key slot 1.\n"
        );
        assert_eq!(
            c.questions[..3],
            [
                format!("Please enter current passphrase for disk {p}:"),
                format!("Please enter current passphrase for disk {p}:"),
                format!("Please enter new passphrase for disk {p}:"),
            ]
        );
        assert_eq!(
            c.questions[3],
            format!("Please enter new passphrase for disk {p} (repeat):")
        );
        let dev = Luks2Device::open(&img).unwrap();
        assert_eq!(
            dev.unlock(Some(1), b"new").unwrap(),
            dev.unlock(Some(0), b"old").unwrap()
        );

        // Four wrong answers.
        let mut c = Script {
            answers: ["a", "b", "c", "d", "e"].map(String::from).into(),
            ..Script::default()
        };
        assert!(matches!(
            run(&req, &mut c),
            Err(CryptenrollError::TooManyAttempts { .. })
        ));
        assert!(
            c.err.ends_with("Too many attempts, giving up.\n"),
            "{}",
            c.err
        );
        assert_eq!(c.questions.len(), 4);

        // No terminal.
        let mut c = Script::default();
        assert!(matches!(
            run(&req, &mut c),
            Err(CryptenrollError::Prompt { .. })
        ));
        assert_eq!(c.err, "Failed to query password: no terminal\n");

        // Recovery key: key on stdout, explanation on stderr, token bound to the slot.
        let mut c = Script::default();
        c.env.insert("PASSWORD".into(), "new".into());
        run(
            &request(&["--recovery-key", "--wipe-slot=password", p]),
            &mut c,
        )
        .unwrap();
        let key = RecoveryKey::normalize(c.out.trim_end()).unwrap();
        assert!(c.err.starts_with(
            "A secret recovery key has been generated for this volume:\n\n    \nPlease save"
        ));
        assert!(
            c.err.ends_with(
                "New recovery key enrolled as key slot 2.\nWiped slot 1.\nWiped slot 0.\n"
            ),
            "{}",
            c.err
        );
        let dev = Luks2Device::open(&img).unwrap();
        assert_eq!(list_slots(dev.metadata()), [(2, SlotType::Recovery)]);
        dev.unlock(Some(2), key.as_str().as_bytes()).unwrap();

        // Test-passphrase mode and listing.
        let mut c = Script::default();
        c.env.insert("PASSWORD".into(), key.as_str().into());
        run(&request(&["--test-passphrase", "--key-slot=2", p]), &mut c).unwrap();
        let mut c = Script::default();
        run(&request(&[p]), &mut c).unwrap();
        assert_eq!(c.out, "SLOT TYPE\n   2 recovery\n");
        let mut c = Script::default();
        assert!(run(&request(&[&format!("{p}.missing")]), &mut c).is_err());
        assert_eq!(
            c.err,
            format!("Device {p}.missing does not exist or access denied.\n")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
