//! Loading the Debian unit corpus: parse + drop-ins + typed model, against the floor of
//! merely reading the same files' bytes.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};

fn corpus(_c: &mut Criterion) {}

criterion_group!(benches, corpus);
criterion_main!(benches);
