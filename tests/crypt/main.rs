//! keel-crypt against the real peer: images made by `cryptsetup luksFormat --type luks2`.
//!
//! These tests need the `cryptsetup` binary (Debian `cryptsetup-bin`) but no privileges:
//! they work on plain image files, never on block devices or dm-crypt.

#![allow(clippy::tests_outside_test_module)] // integration tests: the whole binary is tests
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keel_crypt::{HeaderCopy, HeaderCopyError, Luks2Device, UnlockError};

const PASS: &[u8] = b"correct horse";

fn cryptsetup(args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("cryptsetup")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cryptsetup (Debian cryptsetup-bin) must be installed");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cryptsetup {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn format(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let p = img.to_str().unwrap();
    let mut args = vec![
        "luksFormat",
        "--type",
        "luks2",
        "--batch-mode",
        "--key-file=-",
    ];
    args.extend_from_slice(extra);
    args.push(p);
    cryptsetup(&args, PASS);
    img
}

const PBKDF2: &[&str] = &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"];
const ARGON2ID: &[&str] = &[
    "--pbkdf",
    "argon2id",
    "--pbkdf-memory",
    "32",
    "--pbkdf-force-iterations",
    "4",
    "--pbkdf-parallel",
    "1",
];

/// The volume key as cryptsetup reports it.
fn peer_volume_key(img: &Path) -> Vec<u8> {
    let out = cryptsetup(
        &[
            "luksDump",
            "--dump-volume-key",
            "--batch-mode",
            "--key-file=-",
            img.to_str().unwrap(),
        ],
        PASS,
    );
    let start = out.find("MK dump:").unwrap() + "MK dump:".len();
    let hex: String = out[start..]
        .lines()
        .take_while(|l| {
            !l.contains(':')
                || l.trim_start().starts_with(|c: char| c.is_ascii_hexdigit()) && !l.contains(": ")
        })
        .flat_map(|l| l.split_whitespace())
        .filter(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn peer_json(img: &Path) -> serde_json::Value {
    serde_json::from_str(&cryptsetup(
        &["luksDump", "--dump-json-metadata", img.to_str().unwrap()],
        b"",
    ))
    .unwrap()
}

fn check_unlocks(img: &Path) {
    let dev = Luks2Device::open(img).unwrap();
    let h = dev.headers();
    let (p, s) = (h.primary.as_ref().unwrap(), h.secondary.as_ref().unwrap());
    assert_eq!(p.binary.seqid, s.binary.seqid);
    assert_eq!(p.metadata, s.metadata);
    assert_eq!(s.binary.hdr_offset, p.binary.hdr_size);
    let key = dev.unlock(Some(0), PASS).unwrap();
    assert_eq!(key.as_bytes(), peer_volume_key(img));
    assert_eq!(dev.unlock(None, PASS).unwrap(), key);
    assert!(matches!(
        dev.unlock(None, b"wrong"),
        Err(UnlockError::WrongPassphrase)
    ));
    assert!(matches!(
        dev.unlock(Some(0), b"wrong"),
        Err(UnlockError::WrongPassphrase)
    ));
    assert!(matches!(
        dev.unlock(Some(7), PASS),
        Err(UnlockError::NoSuchKeyslot { slot: 7 })
    ));
}

#[test]
fn pbkdf2_sha256_512bit_key() {
    let dir = tempfile::tempdir().unwrap();
    check_unlocks(&format(dir.path(), "a.img", PBKDF2));
}

#[test]
fn pbkdf2_sha1_and_sha512_256bit_key() {
    let dir = tempfile::tempdir().unwrap();
    for hash in ["sha1", "sha512"] {
        let mut args = PBKDF2.to_vec();
        args.extend_from_slice(&["--hash", hash, "--key-size", "256"]);
        let img = format(dir.path(), &format!("{hash}.img"), &args);
        let dev = Luks2Device::open(&img).unwrap();
        let ks = &dev.metadata().keyslots["0"];
        assert_eq!(ks.kdf.as_ref().unwrap().hash.as_deref(), Some(hash));
        assert_eq!(ks.key_size, 32);
        check_unlocks(&img);
    }
}

#[test]
fn argon2id_and_argon2i() {
    let dir = tempfile::tempdir().unwrap();
    check_unlocks(&format(dir.path(), "id.img", ARGON2ID));
    let mut args = ARGON2ID.to_vec();
    args[1] = "argon2i";
    let img = format(dir.path(), "i.img", &args);
    assert_eq!(
        Luks2Device::open(&img).unwrap().metadata().keyslots["0"]
            .kdf
            .as_ref()
            .unwrap()
            .kind,
        "argon2i"
    );
    check_unlocks(&img);
}

#[test]
fn second_keyslot_unlocks_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "two.img", PBKDF2);
    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, b"second").unwrap();
    let mut args = vec![
        "luksAddKey",
        "--batch-mode",
        "--key-file=-",
        "--pbkdf",
        "pbkdf2",
        "--pbkdf-force-iterations",
        "1000",
    ];
    args.push(img.to_str().unwrap());
    args.push(new_key.to_str().unwrap());
    cryptsetup(&args, PASS);
    let dev = Luks2Device::open(&img).unwrap();
    assert_eq!(dev.metadata().keyslots.len(), 2);
    let k1 = dev.unlock(None, b"second").unwrap();
    assert_eq!(k1, dev.unlock(Some(1), b"second").unwrap());
    assert_eq!(k1, dev.unlock(Some(0), PASS).unwrap());
    assert!(matches!(
        dev.unlock(Some(1), PASS),
        Err(UnlockError::WrongPassphrase)
    ));
}

#[test]
fn corrupted_primary_opens_from_secondary() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "c.img", PBKDF2);
    let mut bytes = std::fs::read(&img).unwrap();
    // A byte inside the primary JSON area.
    bytes[4096 + 20] ^= 0x5a;
    std::fs::write(&img, &bytes).unwrap();
    let dev = Luks2Device::open(&img).unwrap();
    assert!(matches!(
        dev.headers().primary,
        Err(HeaderCopyError::ChecksumMismatch {
            copy: HeaderCopy::Primary
        })
    ));
    assert_eq!(dev.active_copy(), HeaderCopy::Secondary);
    assert_eq!(dev.unlock(None, PASS).unwrap().as_bytes(), {
        // cryptsetup also falls back to (and may repair from) the secondary copy.
        peer_volume_key(&img)
    });

    // Wrong magic in the primary: the secondary is found by probing.
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[0] = b'X';
    std::fs::write(&img, &bytes).unwrap();
    let dev = Luks2Device::open(&img).unwrap();
    assert!(matches!(
        dev.headers().primary,
        Err(HeaderCopyError::BadMagic { .. })
    ));
    assert!(dev.unlock(Some(0), PASS).is_ok());

    // Both copies broken: a typed error, no panic.
    let hdr = dev.header().binary.hdr_size;
    bytes[usize::try_from(hdr).unwrap() + 4096 + 20] ^= 0x5a;
    std::fs::write(&img, &bytes).unwrap();
    let err = Luks2Device::open(&img).unwrap_err();
    assert!(
        matches!(err, keel_crypt::ReadHeaderError::NoValidCopy { .. }),
        "{err}"
    );
}

#[test]
fn truncated_and_garbage_images_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "t.img", PBKDF2);
    let bytes = std::fs::read(&img).unwrap();
    for len in [0usize, 100, 4096, 5000, 0x4000, 0x4000 + 4096] {
        let p = dir.path().join(format!("trunc{len}"));
        std::fs::write(&p, &bytes[..len]).unwrap();
        match Luks2Device::open(&p) {
            // The primary alone survives once it is complete.
            Ok(dev) => assert!(len >= 0x4000 && dev.active_copy() == HeaderCopy::Primary),
            Err(e) => assert!(len < 0x4000, "{len}: {e}"),
        }
    }
    // Keyslot area cut off: unlock reports I/O, not a panic.
    let p = dir.path().join("short-area");
    std::fs::write(&p, &bytes[..40000]).unwrap();
    let dev = Luks2Device::open(&p).unwrap();
    assert!(matches!(
        dev.unlock(Some(0), PASS),
        Err(UnlockError::Io { .. })
    ));
}

#[test]
fn unsupported_keyslot_cipher_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = PBKDF2.to_vec();
    args.extend_from_slice(&[
        "--keyslot-cipher",
        "aes-cbc-essiv:sha256",
        "--keyslot-key-size",
        "256",
    ]);
    let img = format(dir.path(), "cbc.img", &args);
    let dev = Luks2Device::open(&img).unwrap();
    let err = dev.unlock(Some(0), PASS).unwrap_err();
    assert!(
        matches!(err, UnlockError::UnsupportedCipher { .. }),
        "{err}"
    );
}

#[test]
fn luks_dump_agrees_with_keel() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "d.img", ARGON2ID);
    cryptsetup(
        &["token", "import", "--json-file=-", img.to_str().unwrap()],
        br#"{"type":"x-keel-test","keyslots":["0"],"blob":{"n":[1,2,3]}}"#,
    );
    let dev = Luks2Device::open(&img).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&dev.metadata().to_json().unwrap()).unwrap();
    assert_eq!(ours, peer_json(&img));
    let h = dev.header();
    assert_eq!(
        h.binary.seqid,
        dev.headers().secondary.as_ref().unwrap().binary.seqid
    );
    assert_eq!(dev.metadata().tokens["0"].kind, "x-keel-test");
    assert_eq!(dev.metadata().tokens["0"].extra["blob"]["n"][2], 3);
    let seg = &dev.metadata().segments["0"];
    assert_eq!(
        (
            seg.kind.as_str(),
            seg.size.as_str(),
            seg.encryption.as_deref()
        ),
        ("crypt", "dynamic", Some("aes-xts-plain64"))
    );
    let uuid = cryptsetup(&["luksUUID", img.to_str().unwrap()], b"");
    assert_eq!(h.binary.uuid, uuid.trim());
}

fn dump_token(img: &Path, id: u32) -> serde_json::Value {
    let out = cryptsetup(
        &[
            "token",
            "export",
            "--token-id",
            &id.to_string(),
            img.to_str().unwrap(),
        ],
        b"",
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn add_and_remove_token_accepted_by_cryptsetup() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "w.img", PBKDF2);
    let before = Luks2Device::open(&img).unwrap();
    let seq0 = before.header().binary.seqid;
    let key = before.unlock(None, PASS).unwrap();
    drop(before);

    let mut dev = Luks2Device::open_rw(&img).unwrap();
    let mut meta = dev.metadata().clone();
    let mut token = keel_crypt::Token::default();
    token.kind = "systemd-recovery".into();
    token.keyslots = vec!["0".into()];
    token.extra.insert(
        "keel".into(),
        serde_json::json!({"n": [1, 2, 3], "s": "x\"y"}),
    );
    let id = meta.add_token(token).unwrap();
    assert_eq!(id, 0);
    dev.write_metadata(&meta).unwrap();

    // cryptsetup sees the token, both copies moved to seqid + 1, repair finds nothing to do.
    let exported = dump_token(&img, id);
    assert_eq!(exported["type"], "systemd-recovery");
    assert_eq!(exported["keel"]["s"], "x\"y");
    assert_eq!(
        peer_json(&img),
        serde_json::from_str::<serde_json::Value>(&meta.to_json().unwrap()).unwrap()
    );
    let again = Luks2Device::open(&img).unwrap();
    let h = again.headers();
    assert_eq!(h.primary.as_ref().unwrap().binary.seqid, seq0 + 1);
    assert_eq!(h.secondary.as_ref().unwrap().binary.seqid, seq0 + 1);
    assert_eq!(
        h.primary.as_ref().unwrap().binary.uuid,
        h.secondary.as_ref().unwrap().binary.uuid
    );
    assert_eq!(again.unlock(None, PASS).unwrap(), key);
    cryptsetup(&["repair", "--batch-mode", img.to_str().unwrap()], b"");
    assert_eq!(Luks2Device::open(&img).unwrap().metadata(), &meta);
    assert_eq!(peer_volume_key(&img), key.as_bytes());

    // A token naming a missing keyslot is refused before anything is written.
    let mut bad = meta.clone();
    bad.tokens.get_mut("0").unwrap().keyslots = vec!["9".into()];
    assert!(matches!(
        dev.write_metadata(&bad),
        Err(keel_crypt::WriteHeaderError::DanglingKeyslot { .. })
    ));

    // Remove it again.
    assert!(meta.remove_token(id).is_some());
    dev.write_metadata(&meta).unwrap();
    assert!(peer_json(&img)["tokens"].as_object().unwrap().is_empty());
    assert_eq!(
        Luks2Device::open(&img).unwrap().header().binary.seqid,
        seq0 + 2
    );

    // Read-only handles refuse to write.
    let mut ro = Luks2Device::open(&img).unwrap();
    assert!(matches!(
        ro.write_metadata(&meta),
        Err(keel_crypt::WriteHeaderError::ReadOnly { .. })
    ));
}

#[test]
fn write_repairs_a_corrupted_copy() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "r.img", PBKDF2);
    let hdr = usize::try_from(Luks2Device::open(&img).unwrap().header().binary.hdr_size).unwrap();
    for victim in [20usize, hdr + 4096 + 20] {
        let mut bytes = std::fs::read(&img).unwrap();
        bytes[victim] ^= 0xff;
        std::fs::write(&img, &bytes).unwrap();
        let mut dev = Luks2Device::open_rw(&img).unwrap();
        assert!(dev.headers().primary.is_err() || dev.headers().secondary.is_err());
        let meta = dev.metadata().clone();
        dev.write_metadata(&meta).unwrap();
        let dev = Luks2Device::open(&img).unwrap();
        assert!(dev.headers().primary.is_ok() && dev.headers().secondary.is_ok());
        assert!(dev.unlock(Some(0), PASS).is_ok());
        cryptsetup(&["luksDump", img.to_str().unwrap()], b"");
    }
}

#[test]
fn keyslot_priority_ignore_is_skipped_unless_named() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "p.img", PBKDF2);
    let key = peer_volume_key(&img);
    cryptsetup(
        &[
            "config",
            "--priority",
            "ignore",
            "--key-slot",
            "0",
            img.to_str().unwrap(),
        ],
        b"",
    );
    let dev = Luks2Device::open(&img).unwrap();
    assert_eq!(dev.metadata().keyslots["0"].extra["priority"], 0);
    assert!(matches!(
        dev.unlock(None, PASS),
        Err(UnlockError::WrongPassphrase)
    ));
    // cryptsetup agrees: without a slot number it finds no usable keyslot.
    assert_eq!(dev.unlock(Some(0), PASS).unwrap().as_bytes(), key);
}

#[test]
fn header_copies_re_emit_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "b.img", ARGON2ID);
    let bytes = std::fs::read(&img).unwrap();
    let dev = Luks2Device::open(&img).unwrap();
    for (copy, data) in [
        (HeaderCopy::Primary, dev.headers().primary.as_ref().unwrap()),
        (
            HeaderCopy::Secondary,
            dev.headers().secondary.as_ref().unwrap(),
        ),
    ] {
        let off = usize::try_from(data.binary.hdr_offset).unwrap();
        let len = usize::try_from(data.binary.hdr_size).unwrap();
        let raw = keel_crypt::header::emit_copy(&data.binary, &data.json, copy).unwrap();
        assert!(raw == bytes[off..off + len], "{copy} copy differs");
    }
}

/// An in-memory disk whose writes fail once `budget` bytes have been written (a torn write
/// keeps the prefix), standing in for a crash at that point.
struct FaultyDisk {
    data: std::cell::RefCell<Vec<u8>>,
    budget: std::cell::Cell<usize>,
}

impl keel_crypt::ReadAt for FaultyDisk {
    fn read_at_most(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.data.borrow().as_slice().read_at_most(buf, offset)
    }
}

impl keel_crypt::WriteAt for FaultyDisk {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        let off = usize::try_from(offset).unwrap();
        let n = buf.len().min(self.budget.get());
        self.data.borrow_mut()[off..off + n].copy_from_slice(&buf[..n]);
        self.budget.set(self.budget.get() - n);
        if n < buf.len() {
            return Err(std::io::Error::other("injected fault"));
        }
        Ok(())
    }

    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn interrupted_write_leaves_old_or_new_header() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "f.img", PBKDF2);
    let original = std::fs::read(&img).unwrap();
    let old_meta = Luks2Device::open(&img).unwrap().metadata().clone();
    let mut new_meta = old_meta.clone();
    let mut token = keel_crypt::Token::default();
    token.kind = "x-fault".into();
    token.keyslots = vec!["0".into()];
    new_meta.add_token(token).unwrap();
    let hdr = usize::try_from(Luks2Device::open(&img).unwrap().header().binary.hdr_size).unwrap();

    let mut budgets: Vec<usize> = (0..=2 * hdr).step_by(2048).collect();
    budgets.extend([1, 4095, 4097, hdr - 1, hdr + 1, 2 * hdr - 1]);
    let mut saw_old = false;
    let mut saw_new = false;
    for budget in budgets {
        let disk = FaultyDisk {
            data: std::cell::RefCell::new(original.clone()),
            budget: std::cell::Cell::new(budget),
        };
        let mut headers = keel_crypt::read_headers(&disk);
        let res = keel_crypt::write_metadata_to(&disk, &mut headers, &new_meta);
        assert_eq!(res.is_ok(), budget >= 2 * hdr, "budget {budget}: {res:?}");
        let after = keel_crypt::read_headers(&disk);
        let (_, best) = after
            .best()
            .unwrap_or_else(|| panic!("budget {budget}: no valid copy left"));
        if best.metadata == old_meta {
            saw_old = true;
        } else {
            assert_eq!(best.metadata, new_meta, "budget {budget}");
            saw_new = true;
        }
        keel_crypt::unlock_metadata(&disk, &best.metadata, None, PASS).unwrap();
    }
    assert!(saw_old && saw_new);
}

/// The volume key cryptsetup unlocks with `pass`.
fn peer_volume_key_with(img: &Path, pass: &[u8]) -> Vec<u8> {
    let out = cryptsetup(
        &[
            "luksDump",
            "--dump-volume-key",
            "--batch-mode",
            "--key-file=-",
            img.to_str().unwrap(),
        ],
        pass,
    );
    let start = out.find("MK dump:").unwrap() + "MK dump:".len();
    let hex: String = out[start..]
        .split_whitespace()
        .take_while(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn added_keyslots_open_with_cryptsetup() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "add.img", PBKDF2);
    let key = peer_volume_key(&img);
    let mut dev = Luks2Device::open_rw(&img).unwrap();
    let s1 = dev
        .add_keyslot(PASS, b"recovery-ish", keel_crypt::NewKdf::MINIMAL)
        .unwrap();
    let argon = keel_crypt::NewKdf::Argon2id {
        time: 4,
        memory_kib: 32,
        cpus: 1,
    };
    let s2 = dev
        .add_keyslot(b"recovery-ish", b"new password", argon)
        .unwrap();
    assert_eq!((s1, s2), (1, 2));
    assert!(matches!(
        dev.add_keyslot(b"nope", b"x", keel_crypt::NewKdf::MINIMAL),
        Err(keel_crypt::AddKeyslotError::Unlock { .. })
    ));
    drop(dev);

    assert_eq!(peer_volume_key_with(&img, b"recovery-ish"), key);
    assert_eq!(peer_volume_key_with(&img, b"new password"), key);
    assert_eq!(peer_volume_key_with(&img, PASS), key);
    cryptsetup(&["repair", "--batch-mode", img.to_str().unwrap()], b"");
    let dev = Luks2Device::open(&img).unwrap();
    assert_eq!(
        dev.unlock(Some(2), b"new password").unwrap().as_bytes(),
        key
    );
    let areas: Vec<(u64, u64)> = dev
        .metadata()
        .keyslots
        .values()
        .map(|k| {
            let a = k.area.as_ref().unwrap();
            (a.offset, a.size)
        })
        .collect();
    for (i, a) in areas.iter().enumerate() {
        for b in &areas[i + 1..] {
            assert!(
                a.0 + a.1 <= b.0 || b.0 + b.1 <= a.0,
                "areas overlap: {areas:?}"
            );
        }
    }
    assert_eq!(dev.metadata().digests["0"].keyslots, ["0", "1", "2"]);
    assert_eq!(
        peer_json(&img),
        serde_json::from_str::<serde_json::Value>(&dev.metadata().to_json().unwrap()).unwrap()
    );
}

#[test]
fn removed_keyslot_is_gone_for_cryptsetup_too() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "rm.img", PBKDF2);
    let key = peer_volume_key(&img);
    let mut dev = Luks2Device::open_rw(&img).unwrap();
    let s1 = dev
        .add_keyslot(PASS, b"second", keel_crypt::NewKdf::MINIMAL)
        .unwrap();
    let mut meta = dev.metadata().clone();
    let mut token = keel_crypt::Token::default();
    token.kind = "systemd-recovery".into();
    token.keyslots = vec![s1.to_string()];
    meta.add_token(token).unwrap();
    dev.write_metadata(&meta).unwrap();
    let area = dev.metadata().keyslots["0"].area.clone().unwrap();

    dev.remove_keyslot(0).unwrap();
    assert!(matches!(
        dev.remove_keyslot(0),
        Err(keel_crypt::RemoveKeyslotError::NoSuchKeyslot { slot: 0 })
    ));
    assert!(matches!(
        dev.remove_keyslot(s1),
        Err(keel_crypt::RemoveKeyslotError::LastKeyslot { .. })
    ));
    drop(dev);

    let bytes = std::fs::read(&img).unwrap();
    let (o, l) = (
        usize::try_from(area.offset).unwrap(),
        usize::try_from(area.size).unwrap(),
    );
    assert!(bytes[o..o + l].iter().all(|&b| b == 0), "area not wiped");
    assert_eq!(peer_volume_key_with(&img, b"second"), key);
    let mut args = vec![
        "luksDump",
        "--dump-volume-key",
        "--batch-mode",
        "--key-file=-",
    ];
    args.push(img.to_str().unwrap());
    let mut child = Command::new("cryptsetup")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(PASS).unwrap();
    assert!(
        !child.wait().unwrap().success(),
        "old passphrase still works"
    );
    cryptsetup(&["repair", "--batch-mode", img.to_str().unwrap()], b"");
    let dev = Luks2Device::open(&img).unwrap();
    assert_eq!(dev.metadata().keyslots.keys().collect::<Vec<_>>(), ["1"]);
    assert_eq!(dev.metadata().tokens["0"].keyslots, ["1"]);
    assert_eq!(
        peer_json(&img),
        serde_json::from_str::<serde_json::Value>(&dev.metadata().to_json().unwrap()).unwrap()
    );
}

#[test]
fn systemd_cryptenroll_recovery_key_unlocks_with_keel() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "rk.img", PBKDF2);
    let out = Command::new("systemd-cryptenroll")
        .arg("--recovery-key")
        .arg(&img)
        .env("PASSWORD", std::str::from_utf8(PASS).unwrap())
        .stdin(Stdio::null())
        .output()
        .expect("systemd-cryptenroll (Debian systemd) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let typed = String::from_utf8(out.stdout).unwrap().trim().to_uppercase();
    let key = keel_crypt::RecoveryKey::normalize(&typed).unwrap();

    let dev = Luks2Device::open(&img).unwrap();
    let meta = dev.metadata();
    let (_, token) = meta
        .tokens
        .iter()
        .find(|(_, t)| t.kind == "systemd-recovery")
        .unwrap();
    let slot: u32 = token.keyslots[0].parse().unwrap();
    let kdf = meta.keyslots[&token.keyslots[0]].kdf.as_ref().unwrap();
    assert_eq!(
        (kdf.kind.as_str(), kdf.hash.as_deref(), kdf.iterations),
        ("pbkdf2", Some("sha512"), Some(1000))
    );
    let vk = dev.unlock(Some(slot), key.as_str().as_bytes()).unwrap();
    assert_eq!(vk.as_bytes(), peer_volume_key(&img));

    // And the reverse: a keel recovery slot opens with cryptsetup.
    let mine = keel_crypt::RecoveryKey::generate().unwrap();
    let mut dev = Luks2Device::open_rw(&img).unwrap();
    dev.add_keyslot(PASS, mine.as_str().as_bytes(), keel_crypt::NewKdf::MINIMAL)
        .unwrap();
    assert_eq!(
        peer_volume_key_with(&img, mine.as_str().as_bytes()),
        vk.as_bytes()
    );
}

#[test]
fn cryptsetup_opens_what_keel_formats() {
    let dir = tempfile::tempdir().unwrap();
    for (name, kdf, key_size) in [
        ("pbkdf2.img", keel_crypt::NewKdf::MINIMAL, 64),
        (
            "argon.img",
            keel_crypt::NewKdf::Argon2id {
                time: 4,
                memory_kib: 32,
                cpus: 1,
            },
            32,
        ),
    ] {
        let img = dir.path().join(name);
        std::fs::File::create(&img)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        let mut opts = keel_crypt::FormatOptions::default();
        opts.kdf = kdf;
        opts.key_size = key_size;
        opts.label = "keel-test".into();
        let (dev, vk) = keel_crypt::format(&img, PASS, &opts).unwrap();
        drop(dev);
        assert_eq!(peer_volume_key(&img), vk.as_bytes());
        cryptsetup(&["repair", "--batch-mode", img.to_str().unwrap()], b"");
        let dump = cryptsetup(&["luksDump", img.to_str().unwrap()], b"");
        assert!(dump.contains("keel-test"), "{dump}");
        let uuid = cryptsetup(&["luksUUID", img.to_str().unwrap()], b"");
        let dev = Luks2Device::open(&img).unwrap();
        assert_eq!(dev.header().binary.uuid, uuid.trim());
        assert_eq!(
            peer_json(&img),
            serde_json::from_str::<serde_json::Value>(&dev.metadata().to_json().unwrap()).unwrap()
        );
        // cryptsetup can extend what keel made.
        let new_key = dir.path().join("k");
        std::fs::write(&new_key, b"from cryptsetup").unwrap();
        let mut args = vec!["luksAddKey", "--batch-mode", "--key-file=-"];
        args.extend_from_slice(PBKDF2);
        args.push(img.to_str().unwrap());
        args.push(new_key.to_str().unwrap());
        cryptsetup(&args, PASS);
        assert_eq!(
            Luks2Device::open(&img)
                .unwrap()
                .unlock(None, b"from cryptsetup")
                .unwrap(),
            vk
        );
    }
}
