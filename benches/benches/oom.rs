//! keel-oom's policy decision (one tick of systemd-oomd 248's loop) over a snapshot of one
//! monitored slice with 1000 candidate cgroups, under pressure past the duration with
//! reclaim, so every candidate is scored and ranked (each iteration gets a fresh clone of
//! the policy state, made untimed in set-up); `oom_clone_state_floor` is the same harness
//! with no work, the floor to subtract. Also the PSI parser on a cgroup's
//! `memory.pressure`.
#![allow(missing_docs)]
#![allow(clippy::expect_used)] // a bench: a broken fixture must stop it loudly

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use keel_core::size::Permyriad;
use keel_core::time::Usec;
use keel_oom::cgroup::CgroupContext;
use keel_oom::policy::{Policy, PolicyState, PressureMonitored, Snapshot, Verdict, decide};
use keel_oom::psi;

const PRESSURE: &str = "some avg10=72.50 avg60=40.10 avg300=12.00 total=123456789\n\
                        full avg10=70.00 avg60=38.00 avg300=11.50 total=120000000\n";

fn snapshot(n: u64) -> (Snapshot, PolicyState) {
    let now = Usec::from_secs(100);
    let mut state = PolicyState::default();
    let mut m = PressureMonitored::default();
    m.context.path = "/workload.slice".into();
    m.context.pressure = Some(psi::parse(PRESSURE, Path::new("memory.pressure")).expect("fixture"));
    m.context.memory_stat.insert("pgscan".into(), 1_000_000);
    state.last_pgscan.insert(m.context.path.clone(), 900_000);
    state
        .above_since
        .insert(m.context.path.clone(), Usec::from_secs(60));
    for i in 0..n {
        let mut c = CgroupContext::default();
        c.path = format!("/workload.slice/app-{i:04}.service");
        c.memory_current = Some((i % 97 + 1) << 20);
        c.memory_stat.insert("pgscan".into(), 1000 + i * 7 % 1013);
        state.last_pgscan.insert(c.path.clone(), 1000);
        m.candidates.push(c);
    }
    m.limit = Permyriad::new(6000);
    let mut snap = Snapshot::default();
    snap.now = now;
    snap.pressure_monitored.push(m);
    (snap, state)
}

fn bench(c: &mut Criterion) {
    let (snap, state) = snapshot(1000);
    let policy = Policy::default();
    let mut probe = state.clone();
    assert!(matches!(
        decide(&policy, &mut probe, &snap).verdict,
        Verdict::Kill { .. }
    ));
    c.bench_function("oom_decide_1000_candidates", |b| {
        b.iter_batched(
            || state.clone(),
            |mut s| decide(&policy, &mut s, black_box(&snap)),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("oom_clone_state_floor", |b| {
        b.iter_batched(|| state.clone(), black_box, BatchSize::SmallInput);
    });
    c.bench_function("oom_psi_parse", |b| {
        b.iter(|| psi::parse(black_box(PRESSURE), Path::new("memory.pressure")));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
