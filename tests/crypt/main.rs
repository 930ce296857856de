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

/// `cryptsetup repair` on `img` changes nothing: on a healthy LUKS2 image it leaves every
/// byte alone, while on one it can fix it rewrites the header (seqid, checksums).
fn assert_repair_finds_nothing(img: &Path) {
    let before = std::fs::read(img).unwrap();
    cryptsetup(&["repair", "--batch-mode", img.to_str().unwrap()], b"");
    let after = std::fs::read(img).unwrap();
    let first_change = before.iter().zip(&after).position(|(a, b)| a != b);
    assert!(
        before.len() == after.len() && first_change.is_none(),
        "cryptsetup repair changed {} at byte {first_change:?}",
        img.display()
    );
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

/// Several argon2 lanes (computed on parallel threads by keel), with a memory cost that is not
/// a multiple of 4 × lanes. cryptsetup caps the lanes at the number of online CPUs.
#[test]
fn argon2_with_parallel_lanes() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["argon2id", "argon2i"] {
        let img = format(
            dir.path(),
            &format!("{kind}-lanes.img"),
            &[
                "--pbkdf",
                kind,
                "--pbkdf-memory",
                "777",
                "--pbkdf-force-iterations",
                "4",
                "--pbkdf-parallel",
                "2",
            ],
        );
        let meta = Luks2Device::open(&img).unwrap().metadata().clone();
        let kdf = meta.keyslots["0"].kdf.as_ref().unwrap();
        let cpus = kdf.cpus.unwrap();
        let online = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            usize::try_from(cpus).unwrap(),
            online.min(2),
            "{kind}: {kdf:?}"
        );
        check_unlocks(&img);
    }
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
    assert_repair_finds_nothing(&img);
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
    /// Lengths of the write calls made (for finding the call boundaries).
    writes: std::cell::RefCell<Vec<usize>>,
}

impl FaultyDisk {
    fn new(data: Vec<u8>, budget: usize) -> Self {
        Self {
            data: std::cell::RefCell::new(data),
            budget: std::cell::Cell::new(budget),
            writes: std::cell::RefCell::new(Vec::new()),
        }
    }
}

impl keel_crypt::ReadAt for FaultyDisk {
    fn read_at_most(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.data.borrow().as_slice().read_at_most(buf, offset)
    }
}

impl keel_crypt::WriteAt for FaultyDisk {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.writes.borrow_mut().push(buf.len());
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
        let disk = FaultyDisk::new(original.clone(), budget);
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
    assert_repair_finds_nothing(&img);
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
    assert_repair_finds_nothing(&img);
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
        assert_repair_finds_nothing(&img);
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

// ---------------------------------------------------------------------------------------
// keel-cryptenroll against Debian's systemd-cryptenroll (252) and cryptsetup.

/// The `keel-cryptenroll` binary, built once (the test binary lives in `<target>/debug/deps`).
fn keel_cryptenroll() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "keel-cryptenroll"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo");
        assert!(st.success(), "cargo build -p keel-cryptenroll failed");
        let exe = std::env::current_exe().unwrap();
        exe.parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("keel-cryptenroll")
    })
    .clone()
}

/// Runs a cryptenroll binary; returns (exit code, stdout, stderr).
fn enroll_tool(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .env("LANG", "C.UTF-8")
        .env("TERM", "xterm")
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn keel(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    enroll_tool(&keel_cryptenroll(), args, env)
}

fn systemd(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    enroll_tool(Path::new("/usr/bin/systemd-cryptenroll"), args, env)
}

/// Small explicit argon2id cost for password slots (keel extension flags).
const FAST_ARGON: [&str; 4] = [
    "--pbkdf=argon2id",
    "--pbkdf-memory=32",
    "--pbkdf-force-iterations=4",
    "--pbkdf-parallel=1",
];

/// `cryptsetup open --test-passphrase` with `pass`, optionally on one slot.
fn peer_accepts(img: &Path, pass: &[u8], slot: Option<u32>) -> bool {
    let slot_arg = slot.map(|s| format!("--key-slot={s}"));
    let mut args = vec!["open", "--test-passphrase", "--key-file=-"];
    if let Some(s) = &slot_arg {
        args.push(s);
    }
    args.push(img.to_str().unwrap());
    let mut child = Command::new("cryptsetup")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(pass).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn keel_cryptenroll_enrolls_what_cryptsetup_opens() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "ke.img", PBKDF2);
    let p = img.to_str().unwrap();
    let pass = std::str::from_utf8(PASS).unwrap();

    let (rc, key, err) = keel(&["--recovery-key", p], &[("PASSWORD", pass)]);
    assert_eq!(rc, 0, "{err}");
    let key = key.trim_end_matches('\n');
    assert_eq!(key.len(), 71, "{key}");
    assert!(
        err.starts_with("A secret recovery key has been generated for this volume:\n\n    🔐 \n"),
        "{err}"
    );
    assert!(
        err.ends_with("New recovery key enrolled as key slot 1.\n"),
        "{err}"
    );

    let mut args = FAST_ARGON.to_vec();
    args.extend(["--password", p]);
    let (rc, out, err) = keel(&args, &[("PASSWORD", pass), ("NEWPASSWORD", "new pw")]);
    assert_eq!(
        (rc, out.as_str(), err.as_str()),
        (0, "", "New password enrolled as key slot 2.\n")
    );

    // cryptsetup: both new secrets open their slots, the old one still works.
    assert!(peer_accepts(&img, key.as_bytes(), Some(1)));
    assert!(peer_accepts(&img, b"new pw", Some(2)));
    assert!(peer_accepts(&img, PASS, Some(0)));
    assert!(!peer_accepts(&img, b"new pw", Some(1)));
    let dump = cryptsetup(&["luksDump", p], b"");
    assert!(
        dump.contains("0: systemd-recovery\n\tKeyslot:    1\n"),
        "{dump}"
    );
    assert!(dump.contains("PBKDF:      argon2id"), "{dump}");
    let token = dump_token(&img, 0);
    assert_eq!(token["type"], "systemd-recovery");
    assert_eq!(token["keyslots"], serde_json::json!(["1"]));
    assert_repair_finds_nothing(Path::new(p));
    let ks = &peer_json(&img)["keyslots"];
    assert_eq!(ks["1"]["kdf"]["type"], "pbkdf2");
    assert_eq!(ks["1"]["kdf"]["hash"], "sha512");
    assert_eq!(ks["1"]["kdf"]["iterations"], 1000);
    assert_eq!(ks["2"]["kdf"]["memory"], 32);

    // systemd-cryptenroll sees the same slots, and unlocks with keel's secrets.
    let (rc, keel_list, _) = keel(&[p], &[]);
    let (src, sd_list, _) = systemd(&[p], &[]);
    assert_eq!((rc, src), (0, 0));
    assert_eq!(
        keel_list,
        "SLOT TYPE\n   0 password\n   1 recovery\n   2 password\n"
    );
    assert_eq!(keel_list, sd_list);
    let (rc, _, err) = systemd(&["--wipe-slot=0", p], &[]);
    assert_eq!(rc, 0, "{err}");
    let (rc, rk, err) = systemd(&["--recovery-key", p], &[("PASSWORD", key)]);
    assert_eq!(rc, 0, "{err}");
    assert!(peer_accepts(&img, rk.trim().as_bytes(), Some(0)));

    // Wrong $PASSWORD: systemd's message and exit status.
    let (rc, _, err) = keel(&["--recovery-key", p], &[("PASSWORD", "nope")]);
    assert_eq!(
        (rc, err.as_str()),
        (
            1,
            "Password from environment variable $PASSWORD did not work.\n"
        )
    );
    // No terminal and no $PASSWORD.
    let (rc, _, err) = keel(&["--recovery-key", p], &[]);
    assert_eq!(rc, 1);
    assert!(err.starts_with("Failed to query password: "), "{err}");
}

/// An image with slots made by cryptsetup and Debian's systemd-cryptenroll:
/// 0 password, 1 recovery, 2 password (empty), 3 recovery. Returns it and the recovery keys.
fn systemd_enrolled_image(dir: &Path) -> (PathBuf, Vec<String>) {
    let img = format(dir, "sd.img", PBKDF2);
    let p = img.to_str().unwrap();
    let pass = std::str::from_utf8(PASS).unwrap();
    let mut keys = Vec::new();
    let (rc, k, err) = systemd(&["--recovery-key", p], &[("PASSWORD", pass)]);
    assert_eq!(rc, 0, "{err}");
    keys.push(k.trim().to_owned());
    let (rc, _, err) = systemd(
        &["--password", p],
        &[("PASSWORD", pass), ("NEWPASSWORD", "")],
    );
    assert_eq!(rc, 0, "{err}");
    let (rc, k, err) = systemd(&["--recovery-key", p], &[("PASSWORD", pass)]);
    assert_eq!(rc, 0, "{err}");
    keys.push(k.trim().to_owned());
    (img, keys)
}

#[test]
fn systemd_enrolled_slots_listed_and_unlocked_by_keel() {
    let dir = tempfile::tempdir().unwrap();
    let (img, keys) = systemd_enrolled_image(dir.path());
    let p = img.to_str().unwrap();
    let (rc, list, _) = keel(&[p], &[]);
    assert_eq!(rc, 0);
    assert_eq!(list, systemd(&[p], &[]).1);
    assert_eq!(
        list,
        "SLOT TYPE\n   0 password\n   1 recovery\n   2 password\n   3 recovery\n"
    );
    let dev = Luks2Device::open(&img).unwrap();
    let vk = dev.unlock(Some(0), PASS).unwrap();
    assert_eq!(dev.unlock(Some(2), b"").unwrap(), vk);
    // Typed tokens, and unlocking through them with a recovery key typed in upper case.
    for (id, slot) in [(0u32, 1u32), (1, 3)] {
        let t =
            keel_crypt::TypedToken::from_token(&dev.metadata().tokens[&id.to_string()]).unwrap();
        assert!(matches!(t, keel_crypt::TypedToken::Recovery(_)));
        assert_eq!(t.keyslot(), Some(slot));
    }
    let typed =
        keel_crypt::RecoveryKey::normalize(&keys[1].to_uppercase().replace('-', "")).unwrap();
    let mut u = keel_crypt::RecoveryKeyUnlocker::new(typed);
    let (token, got) = dev.unlock_with_tokens(&mut [&mut u]).unwrap();
    assert_eq!((token, got), (1, vk.clone()));
    // keel-cryptenroll unlocks with a systemd recovery key.
    let (rc, _, err) = keel(&["--recovery-key", p], &[("PASSWORD", &keys[0])]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(keel(&[p], &[]).1, systemd(&[p], &[]).1);
}

#[test]
fn wipe_slot_forms_match_systemd_cryptenroll() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = systemd_enrolled_image(dir.path());
    // Forms whose meaning is the same in systemd 252 and keel: compare exit status, messages
    // and the resulting slot table on two copies of the same image.
    for form in [
        "all",
        "empty",
        "password",
        "recovery",
        "pkcs11",
        "fido2",
        "tpm2",
        "1",
        "1,3",
        "0,2",
        "recovery,0",
        "5",
        "99",
        "2,5",
        "empty,1",
        "all,empty",
        "3,all",
    ] {
        let mine = dir.path().join("mine.img");
        let theirs = dir.path().join("theirs.img");
        std::fs::copy(&img, &mine).unwrap();
        std::fs::copy(&img, &theirs).unwrap();
        let arg = format!("--wipe-slot={form}");
        let (krc, kout, kerr) = keel(&[&arg, mine.to_str().unwrap()], &[]);
        let (src, sout, serr) = systemd(&[&arg, theirs.to_str().unwrap()], &[]);
        assert_eq!(
            (krc, &kout, &kerr),
            (src, &sout, &serr),
            "--wipe-slot={form}"
        );
        let (_, klist, _) = keel(&[mine.to_str().unwrap()], &[]);
        let (_, slist, _) = systemd(&[theirs.to_str().unwrap()], &[]);
        assert_eq!(klist, slist, "--wipe-slot={form}");
        assert_repair_finds_nothing(&mine);
        assert_eq!(
            peer_json(&mine)["tokens"],
            peer_json(&theirs)["tokens"],
            "{form}"
        );
    }
}

#[test]
fn wipe_slot_type_combinations_work_unlike_248() {
    let dir = tempfile::tempdir().unwrap();
    let (img, keys) = systemd_enrolled_image(dir.path());
    let theirs = dir.path().join("theirs.img");
    std::fs::copy(&img, &theirs).unwrap();
    let p = img.to_str().unwrap();
    // Enrol a new password and wipe every password and recovery slot in one go. 248 only
    // honoured the last type keyword ("password") and kept the recovery slots; Debian's 252
    // combines them, as keel does.
    let env = [("PASSWORD", keys[0].as_str()), ("NEWPASSWORD", "only")];
    let mut args = FAST_ARGON.to_vec();
    args.extend(["--password", "--wipe-slot=recovery,password", p]);
    let (rc, _, err) = keel(&args, &env);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        err,
        "New password enrolled as key slot 4.\nWiped slot 3.\nWiped slot 2.\nWiped slot 1.\nWiped slot 0.\n"
    );
    assert_eq!(keel(&[p], &[]).1, "SLOT TYPE\n   4 password\n");
    let (src, _, serr) = systemd(
        &[
            "--password",
            "--wipe-slot=recovery,password",
            theirs.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!((src, serr), (rc, err));
    assert_eq!(
        systemd(&[theirs.to_str().unwrap()], &[]).1,
        "SLOT TYPE\n   4 password\n"
    );
    assert!(peer_accepts(&img, b"only", None));
    assert!(!peer_accepts(&img, PASS, None));
    assert_repair_finds_nothing(Path::new(p));
    let json = peer_json(&img);
    assert_eq!(json["tokens"], serde_json::json!({}));
    assert_eq!(json["digests"]["0"]["keyslots"], serde_json::json!(["4"]));
    assert_eq!(json["tokens"], peer_json(&theirs)["tokens"]);
}

/// Byte budgets around every write-call boundary of an operation whose write calls had
/// `lengths`: just before, at and after each boundary, plus a few points inside each call.
fn fault_budgets(lengths: &[usize]) -> Vec<usize> {
    let mut out = std::collections::BTreeSet::new();
    let mut start = 0;
    for &len in lengths {
        let end = start + len;
        out.extend([start, start + 1, end.saturating_sub(1)]);
        out.extend((1..4).map(|k| start + len * k / 4));
        start = end;
    }
    out.insert(start);
    out.into_iter().filter(|&b| b <= start).collect()
}

/// Runs `op` on a copy of `image` once without faults (to learn the write calls), then once
/// per budget; `check` sees the disk after each interrupted run and whether `op` succeeded.
fn sweep_faults(
    image: &[u8],
    op: &dyn Fn(&FaultyDisk) -> bool,
    check: &dyn Fn(&FaultyDisk, usize, bool),
) -> usize {
    let probe = FaultyDisk::new(image.to_vec(), usize::MAX);
    assert!(op(&probe), "the operation fails without faults");
    let lengths = probe.writes.borrow().clone();
    assert!(lengths.len() >= 3, "{lengths:?}");
    let budgets = fault_budgets(&lengths);
    for &b in &budgets {
        let disk = FaultyDisk::new(image.to_vec(), b);
        let ok = op(&disk);
        check(&disk, b, ok);
    }
    budgets.len()
}

#[test]
fn interrupted_add_keyslot_opens_with_old_or_new_secret() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "fa.img", PBKDF2);
    let image = std::fs::read(&img).unwrap();
    let vk = Luks2Device::open(&img).unwrap().unlock(None, PASS).unwrap();
    let total: usize = image.len();
    let op = |disk: &FaultyDisk| {
        let mut headers = keel_crypt::read_headers(disk);
        let make = |slot: u32| {
            keel_crypt::TypedToken::Recovery(keel_crypt::token::RecoveryToken::new(slot)).to_token()
        };
        keel_crypt::add_keyslot_to(
            disk,
            &mut headers,
            &vk,
            b"new secret",
            keel_crypt::NewKdf::MINIMAL,
            Some(&make),
        )
        .is_ok()
    };
    let n = sweep_faults(&image, &op, &|disk, budget, ok| {
        let set = keel_crypt::read_headers(disk);
        let (_, best) = set
            .best()
            .unwrap_or_else(|| panic!("budget {budget}: no valid header"));
        let meta = &best.metadata;
        // The old secret always works; the new one exactly when the metadata names it.
        assert_eq!(
            keel_crypt::unlock_metadata(disk, meta, None, PASS).unwrap(),
            vk,
            "budget {budget}"
        );
        let has_new = meta.keyslots.contains_key("1");
        assert_eq!(has_new, meta.tokens.contains_key("0"), "budget {budget}");
        if has_new {
            assert_eq!(
                keel_crypt::unlock_metadata(disk, meta, Some(1), b"new secret").unwrap(),
                vk
            );
        }
        if ok {
            assert!(has_new);
        }
    });
    assert!(n >= 15 && total > 0, "{n} budgets");
}

#[test]
fn interrupted_remove_keyslots_opens_with_old_or_new_secret() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "fr.img", PBKDF2);
    let mut dev = Luks2Device::open_rw(&img).unwrap();
    dev.add_keyslot(PASS, b"second", keel_crypt::NewKdf::MINIMAL)
        .unwrap();
    dev.add_keyslot(PASS, b"third", keel_crypt::NewKdf::MINIMAL)
        .unwrap();
    let vk = dev.unlock(None, PASS).unwrap();
    drop(dev);
    let image = std::fs::read(&img).unwrap();
    let op = |disk: &FaultyDisk| {
        let mut headers = keel_crypt::read_headers(disk);
        keel_crypt::remove_keyslots_from(disk, &mut headers, &[0, 2], &[]).is_ok()
    };
    let n = sweep_faults(&image, &op, &|disk, budget, ok| {
        let set = keel_crypt::read_headers(disk);
        let (_, best) = set
            .best()
            .unwrap_or_else(|| panic!("budget {budget}: no valid header"));
        let meta = &best.metadata;
        // The kept slot always opens; removed slots open exactly while still listed.
        assert_eq!(
            keel_crypt::unlock_metadata(disk, meta, Some(1), b"second").unwrap(),
            vk,
            "budget {budget}"
        );
        let old = meta.keyslots.contains_key("0");
        assert_eq!(old, meta.keyslots.contains_key("2"), "budget {budget}");
        if old {
            assert_eq!(
                keel_crypt::unlock_metadata(disk, meta, Some(0), PASS).unwrap(),
                vk
            );
            assert_eq!(
                keel_crypt::unlock_metadata(disk, meta, Some(2), b"third").unwrap(),
                vk
            );
        }
        assert!(!ok || !old, "budget {budget}");
    });
    assert!(n > 20, "{n} budgets");
}

#[test]
fn interrupted_format_leaves_no_header_or_the_new_volume() {
    let dir = tempfile::tempdir().unwrap();
    // Formatting over an existing cryptsetup volume: its header must vanish before its
    // keyslots do, and a valid header must never appear before its keyslot is in place.
    let img = format(dir.path(), "ff.img", PBKDF2);
    let image = std::fs::read(&img).unwrap();
    let mut opts = keel_crypt::FormatOptions::default();
    opts.kdf = keel_crypt::NewKdf::MINIMAL;
    let op = |disk: &FaultyDisk| keel_crypt::format_to(disk, b"fresh", &opts).is_ok();
    let saw_none = std::cell::Cell::new(false);
    let n = sweep_faults(&image, &op, &|disk, budget, ok| {
        let set = keel_crypt::read_headers(disk);
        match set.best() {
            None => assert!(!ok, "budget {budget}"),
            Some((_, best)) => {
                let meta = &best.metadata;
                match keel_crypt::unlock_metadata(disk, meta, None, b"fresh") {
                    Ok(_) => {}
                    Err(e) => {
                        // Otherwise it is still the old volume, and the old secret works.
                        assert!(
                            keel_crypt::unlock_metadata(disk, meta, None, PASS).is_ok(),
                            "budget {budget}: valid header, neither secret works: {e}"
                        );
                    }
                }
            }
        }
        saw_none.set(saw_none.get() | set.best().is_none());
    });
    assert!(n > 20 && saw_none.get(), "{n} budgets");
}

/// Rewrites both header copies of `bytes` with `json` (checksums recomputed).
fn reemit_both(bytes: &mut [u8], json: &str) {
    let set = keel_crypt::read_headers(&bytes[..]);
    for (copy, data) in [
        (HeaderCopy::Primary, set.primary.as_ref().unwrap()),
        (HeaderCopy::Secondary, set.secondary.as_ref().unwrap()),
    ] {
        let raw = keel_crypt::header::emit_copy(&data.binary, json, copy).unwrap();
        let off = usize::try_from(data.binary.hdr_offset).unwrap();
        bytes[off..off + raw.len()].copy_from_slice(&raw);
    }
}

#[test]
fn corrupted_headers_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "cor.img", PBKDF2);
    let bytes = std::fs::read(&img).unwrap();
    let dev = Luks2Device::open(&img).unwrap();
    let json = dev.header().json.clone();
    let meta = dev.metadata().clone();
    drop(dev);
    let hdr = 0x4000usize;
    let open_err = |b: &[u8], name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        match Luks2Device::open(&p) {
            Ok(_) => panic!("{name} opened"),
            Err(e) => (e, p),
        }
    };
    let copy_errs = |e: &keel_crypt::ReadHeaderError| match e {
        keel_crypt::ReadHeaderError::NoValidCopy { primary, secondary } => {
            (format!("{primary:?}"), format!("{secondary:?}"))
        }
        other => panic!("{other:?}"),
    };

    // Both checksums broken.
    let mut b = bytes.clone();
    b[4096 + 10] ^= 1;
    b[hdr + 4096 + 10] ^= 1;
    let (e, _) = open_err(&b, "csum");
    let (p, s) = copy_errs(&e);
    assert!(
        p.contains("ChecksumMismatch") && s.contains("ChecksumMismatch"),
        "{e}"
    );

    // Wrong magic and an unknown version in the primary, secondary gone too.
    let mut b = bytes.clone();
    b[0] = b'X';
    b[hdr + 7] = 9;
    let (e, _) = open_err(&b, "magic");
    let (p, s) = copy_errs(&e);
    assert!(
        p.contains("BadMagic") && s.contains("UnsupportedVersion"),
        "{e}"
    );
    assert!(e.to_string().contains("unsupported version 9"), "{e}");

    // Truncated JSON (valid checksums).
    let mut b = bytes.clone();
    reemit_both(&mut b, &json[..json.len() / 2]);
    let (e, _) = open_err(&b, "json");
    assert!(copy_errs(&e).0.contains("Json"), "{e}");

    // Overlapping keyslot areas: keel and cryptsetup both refuse.
    let mut m = meta.clone();
    let mut second = m.keyslots["0"].clone();
    second.area.as_mut().unwrap().offset += 4096;
    m.keyslots.insert("1".into(), second);
    m.digests.get_mut("0").unwrap().keyslots.push("1".into());
    let mut b = bytes.clone();
    reemit_both(&mut b, &m.to_json().unwrap());
    let (e, p) = open_err(&b, "overlap");
    assert!(copy_errs(&e).0.contains("AreasOverlap"), "{e}");
    let st = Command::new("cryptsetup")
        .args(["luksDump", p.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!st.success(), "cryptsetup accepted overlapping areas");

    // Sizes that overflow.
    for (field, value) in [("area.size", u64::MAX), ("keyslots_size", u64::MAX - 4095)] {
        let mut m = meta.clone();
        if field == "area.size" {
            m.keyslots.get_mut("0").unwrap().area.as_mut().unwrap().size = value;
        } else {
            m.config.keyslots_size = value;
        }
        let mut b = bytes.clone();
        reemit_both(&mut b, &m.to_json().unwrap());
        let (e, _) = open_err(&b, "overflow");
        assert!(copy_errs(&e).0.contains("Invalid"), "{field}: {e}");
    }

    // One copy's checksum: the other copy is used and a write repairs the bad one.
    let mut b = bytes;
    b[4096 + 10] ^= 1;
    let p = dir.path().join("one");
    std::fs::write(&p, &b).unwrap();
    let dev = Luks2Device::open(&p).unwrap();
    assert_eq!(dev.active_copy(), HeaderCopy::Secondary);
    dev.unlock(None, PASS).unwrap();
}

#[test]
fn luks1_images_unlock_read_only() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("l1-sha256.img", &["--key-size", "512"][..]),
        (
            "l1-sha1-256.img",
            &["--hash", "sha1", "--key-size", "256"][..],
        ),
    ] {
        let img = dir.path().join(name);
        std::fs::File::create(&img)
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        let mut args = vec![
            "luksFormat",
            "--type",
            "luks1",
            "--batch-mode",
            "--key-file=-",
            "--pbkdf-force-iterations",
            "1000",
        ];
        args.extend_from_slice(extra);
        args.push(img.to_str().unwrap());
        cryptsetup(&args, PASS);
        let file = std::fs::File::open(&img).unwrap();
        let h = keel_crypt::luks1::Luks1Header::read(&file).unwrap();
        let uuid = cryptsetup(&["luksUUID", img.to_str().unwrap()], b"");
        assert_eq!(h.uuid, uuid.trim());
        let vk = h.unlock(&file, None, PASS).unwrap();
        assert_eq!(vk.as_bytes(), peer_volume_key(&img), "{name}");
        assert_eq!(h.unlock(&file, Some(0), PASS).unwrap(), vk);
        assert!(matches!(
            h.unlock(&file, None, b"wrong"),
            Err(keel_crypt::luks1::Luks1Error::WrongPassphrase)
        ));
        // keel's LUKS2 reader says clearly that this is not LUKS2.
        match Luks2Device::open(&img).unwrap_err() {
            keel_crypt::ReadHeaderError::NoValidCopy { primary, .. } => assert!(
                matches!(
                    *primary,
                    HeaderCopyError::UnsupportedVersion { version: 1, .. }
                ),
                "{primary:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
}

/// Replaces every recovery key (8 dash-joined groups of 8 modhex characters) by `<KEY>`.
fn mask_recovery_keys(text: &str) -> String {
    let modhex = |w: &str| w.len() == 8 && w.chars().all(|c| "cbdefghijklnrtuv".contains(c));
    text.split('\n')
        .map(|line| {
            line.split(' ')
                .map(|w| {
                    let groups: Vec<&str> = w.split('-').collect();
                    if groups.len() == 8 && groups.iter().all(|g| modhex(g)) {
                        "<KEY>".to_owned()
                    } else {
                        w.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn outputs_and_errors_match_systemd_cryptenroll() {
    let dir = tempfile::tempdir().unwrap();
    let img = format(dir.path(), "out.img", PBKDF2);
    let theirs = dir.path().join("theirs.img");
    std::fs::copy(&img, &theirs).unwrap();
    let (p, t) = (img.to_str().unwrap(), theirs.to_str().unwrap());
    let pass = std::str::from_utf8(PASS).unwrap();

    // --recovery-key: the key alone on stdout, systemd's text around it on stderr.
    let env = [("PASSWORD", pass)];
    let (krc, kout, kerr) = keel(&["--recovery-key", p], &env);
    let (src, sout, serr) = systemd(&["--recovery-key", t], &env);
    assert_eq!((krc, src), (0, 0), "{kerr}\n{serr}");
    assert_eq!(mask_recovery_keys(&kout), "<KEY>\n");
    assert_eq!(mask_recovery_keys(&sout), "<KEY>\n");
    assert_eq!(mask_recovery_keys(&kerr), mask_recovery_keys(&serr));
    assert!(
        kerr.contains("New recovery key enrolled as key slot 1."),
        "{kerr}"
    );
    // Each tool's key opens the other's slot 1 through cryptsetup.
    assert!(peer_accepts(&img, kout.trim().as_bytes(), Some(1)));
    assert!(peer_accepts(&theirs, sout.trim().as_bytes(), Some(1)));

    // Usage errors and failures: same stdout, stderr and exit status, byte for byte.
    let not_luks = dir.path().join("plain.img");
    std::fs::write(&not_luks, vec![0u8; 1 << 20]).unwrap();
    let n = not_luks.to_str().unwrap();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        (vec![], vec![]),
        (vec![p, p], vec![]),
        (vec!["--frobnicate", p], vec![]),
        (vec!["--password", "--recovery-key", p], vec![]),
        (vec!["--wipe-slot=bogus", p], vec![]),
        (vec!["--wipe-slot=-1", p], vec![]),
        (vec!["--wipe-slot=7", p], vec![]),
        (vec!["--wipe-slot=1,7", p], vec![]),
        (vec!["--recovery-key", p], vec![("PASSWORD", "wrong")]),
        (
            vec!["--password", p],
            vec![("PASSWORD", "wrong"), ("NEWPASSWORD", "x")],
        ),
    ];
    // getopt's messages start with argv[0]: each tool's own path becomes "PROG".
    let keel_bin = keel_cryptenroll();
    let keel_bin = keel_bin.to_str().unwrap();
    for (args, env) in cases {
        let (krc, kout, kerr) = keel(&args, &env);
        let other: Vec<&str> = args.iter().map(|a| if *a == p { t } else { a }).collect();
        let (rc, out, err) = systemd(&other, &env);
        assert_eq!(
            (krc, kout, kerr.replace(keel_bin, "PROG")),
            (
                rc,
                out,
                err.replace(t, p)
                    .replace("/usr/bin/systemd-cryptenroll", "PROG")
            ),
            "{args:?}"
        );
        assert_ne!(krc, 0, "{args:?}");
    }
    // The slot tables still agree after all that (slot 1 wiped on both).
    assert_eq!(keel(&[p], &[]).1, systemd(&[t], &[]).1);

    // Device errors name the device (systemd's name only the failing call).
    let (rc, _, err) = keel(&[n], &[]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with(&format!("Failed to load LUKS2 superblock of {n}: ")),
        "{err}"
    );
    assert_eq!(systemd(&[n], &[]).0, 1);
    let missing = dir.path().join("missing.img");
    let (rc, _, err) = keel(&[missing.to_str().unwrap()], &[]);
    assert_eq!(rc, 1);
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
}
