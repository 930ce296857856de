//! Loading the Debian unit corpus (`testkit::corpus`): search-path scan + every unit's
//! fragment and drop-ins lexed and parsed into the typed model, against the floor of merely
//! reading the same files' bytes; plus the lexer and the loader alone on in-memory text.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;
use keel_unit::load::{UnitLoader, parse_unit_text};
use keel_unit::lookup::{LookupPaths, Scope, UnitLookup};

fn search_path(root: &Path) -> LookupPaths {
    let joined = testkit::corpus::unit_dirs(root)
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    LookupPaths::from_unit_path(Scope::System, Path::new("/"), &joined)
}

fn names(lookup: &UnitLookup) -> Vec<UnitName> {
    lookup
        .names()
        .filter_map(|n| {
            if n.is_template() {
                n.with_instance("example").ok()
            } else {
                Some(n.clone())
            }
        })
        .collect()
}

/// Every file the loader reads for the corpus (fragments and drop-ins).
fn files(lookup: &UnitLookup, names: &[UnitName]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Vec::new();
    for n in names {
        if let Ok(f) = lookup.resolve(n) {
            v.extend(f.fragment);
            v.extend(f.dropins);
        }
    }
    v
}

fn corpus(c: &mut Criterion) {
    let root = testkit::corpus::debian_corpus();
    let paths = search_path(root);
    let lookup = UnitLookup::scan(&paths).unwrap_or_else(|e| panic!("{e}"));
    let names = names(&lookup);
    let files = files(&lookup, &names);
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let spec = SpecifierContext::default();

    let mut g = c.benchmark_group("debian_corpus");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("read_floor", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for f in &files {
                n += std::fs::read(f).map(|v| v.len()).unwrap_or(0);
            }
            n
        });
    });
    g.bench_function("scan_and_load_all", |b| {
        b.iter(|| {
            let lookup = UnitLookup::scan(&paths).unwrap_or_else(|e| panic!("{e}"));
            let loader = UnitLoader::new(lookup, spec.clone());
            let mut loaded = 0usize;
            for n in &names {
                if loader.load(n).is_ok() {
                    loaded += 1;
                }
            }
            loaded
        });
    });
    let loader = UnitLoader::new(lookup.clone(), spec.clone());
    g.bench_function("resolve_all", |b| {
        b.iter(|| names.iter().filter(|n| lookup.resolve(n).is_ok()).count());
    });
    g.bench_function("load_all_prescanned", |b| {
        b.iter(|| names.iter().filter(|n| loader.load(n).is_ok()).count());
    });
    g.finish();

    // In memory: no file system at all.
    let texts: Vec<(UnitName, Vec<u8>)> = names
        .iter()
        .filter_map(|n| {
            let f = lookup.resolve(n).ok()?.fragment?;
            Some((n.clone(), std::fs::read(f).ok()?))
        })
        .collect();
    let mut g = c.benchmark_group("in_memory");
    g.throughput(Throughput::Bytes(
        texts.iter().map(|(_, t)| t.len() as u64).sum(),
    ));
    g.bench_function("lex_fragments", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter(|(_, t)| keel_unit::lex::lex(t, None).is_ok())
                .count()
        });
    });
    g.bench_function("parse_fragments", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|(n, t)| parse_unit_text(n, t, None, &spec).diagnostics.len())
                .sum::<usize>()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = corpus
}
criterion_main!(benches);
