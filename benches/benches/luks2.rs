//! keel-crypt's header path: read + verify both LUKS2 header copies (sha256 over 2 × 16 KiB,
//! JSON parse of a systemd 252 header with tpm2/fido2/recovery tokens) from an in-memory image,
//! the JSON metadata parse alone, and a keyslot unlock (pbkdf2-sha512 × 1000, aes-xts area
//! decrypt, AF merge over 4000 stripes, digest check) on an image keel formats in a temp dir,
//! the same with argon2id (32 MiB, t=4, p=1), and reading the fixture's systemd tokens in
//! typed form.
#![allow(missing_docs)]
#![allow(clippy::expect_used)] // a bench: a broken fixture must stop it loudly

use criterion::{Criterion, criterion_group, criterion_main};
use keel_crypt::header::{BinaryHeader, HeaderCopy, emit_copy};
use keel_crypt::{Metadata, read_headers};

const JSON: &str = include_str!("../../../shared/data/luks2/luks2-systemd252-tokens.json");

fn image() -> Vec<u8> {
    let meta: Metadata = serde_json::from_str(JSON).expect("fixture parses");
    let json = meta.to_json().expect("fixture serializes");
    let mut b = BinaryHeader::default();
    b.hdr_size = 0x4000;
    b.seqid = 3;
    b.uuid = "0b7e9d7e-2d3a-4c55-9d4c-4c3a7c0f0a11".into();
    b.salt = vec![7; 64];
    let mut img = emit_copy(&b, &json, HeaderCopy::Primary).expect("fits 16 KiB");
    b.hdr_offset = 0x4000;
    img.extend(emit_copy(&b, &json, HeaderCopy::Secondary).expect("fits 16 KiB"));
    img
}

fn bench(c: &mut Criterion) {
    let img = image();
    c.bench_function("luks2/read_headers_both_copies", |b| {
        b.iter(|| {
            let set = read_headers(std::hint::black_box(img.as_slice()));
            assert!(set.primary.is_ok() && set.secondary.is_ok());
        });
    });
    c.bench_function("luks2/parse_json_metadata", |b| {
        b.iter(|| serde_json::from_str::<Metadata>(std::hint::black_box(JSON)).expect("parses"));
    });
    let meta: Metadata = serde_json::from_str(JSON).expect("fixture parses");
    c.bench_function("luks2/typed_tokens", |b| {
        b.iter(|| {
            for t in std::hint::black_box(&meta).tokens.values() {
                keel_crypt::TypedToken::from_token(t).expect("systemd token");
            }
        });
    });
}

fn bench_unlock(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("keel-bench-luks2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let img = dir.join("img");
    std::fs::File::create(&img)
        .and_then(|f| f.set_len(keel_crypt::format::DEFAULT_DATA_OFFSET))
        .expect("image file");
    let mut opts = keel_crypt::FormatOptions::default();
    opts.kdf = keel_crypt::NewKdf::MINIMAL;
    let (dev, _) = keel_crypt::format(&img, b"bench", &opts).expect("format");
    c.bench_function("luks2/unlock_pbkdf2_sha512_1000", |b| {
        b.iter(|| {
            dev.unlock(Some(0), std::hint::black_box(b"bench"))
                .expect("unlocks")
        });
    });
    drop(dev);
    opts.kdf = keel_crypt::NewKdf::Argon2id {
        time: 4,
        memory_kib: 32 * 1024,
        cpus: 1,
    };
    let (dev, _) = keel_crypt::format(&img, b"bench", &opts).expect("format");
    let mut group = c.benchmark_group("luks2-argon2");
    group.sample_size(10);
    group.bench_function("unlock_argon2id_32MiB_t4_p1", |b| {
        b.iter(|| {
            dev.unlock(Some(0), std::hint::black_box(b"bench"))
                .expect("unlocks")
        });
    });
    group.finish();
    drop(dev);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench, bench_unlock);
criterion_main!(benches);
