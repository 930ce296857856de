//! Seccomp filter build for `SystemCallFilter=@system-service` (rules → per-arch policy →
//! BPF), native architecture only and with all local ABIs, against the floor of resolving
//! the rules alone; the program's size and instructions per allowed syscall are printed
//! once (measured with keel's BPF interpreter).
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_exec::seccomp::{Arch, FilterRules, SeccompData, bpf, groups, resolve};

fn print_shape(rules: &FilterRules, arch: Arch) {
    let Some(policy) = rules.syscall_filter_policy(&[arch]) else {
        return;
    };
    let Ok(prog) = policy.compile() else {
        return;
    };
    let allowed: Vec<u32> = groups::expand("@system-service")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| arch.syscall_number(n))
        .collect();
    let executed: usize = allowed
        .iter()
        .filter_map(|&nr| bpf::run(&prog, &SeccompData::new(nr, arch.audit_arch())).ok())
        .map(|o| o.executed)
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let avg = executed as f64 / allowed.len().max(1) as f64;
    println!(
        "@system-service on {arch}: {} instructions, {avg:.2} executed per allowed syscall",
        prog.len()
    );
}

fn bench(c: &mut Criterion) {
    let rules = FilterRules::from_service_text("SystemCallFilter=@system-service");
    let Some(native) = Arch::native() else {
        return;
    };
    print_shape(&rules, native);
    let mut g = c.benchmark_group("seccomp");
    g.bench_function("build_system_service_native", |b| {
        b.iter(|| {
            black_box(&rules)
                .syscall_filter_policy(&[native])
                .map(|p| p.compile())
        })
    });
    g.bench_function("build_system_service_local_archs", |b| {
        b.iter(|| black_box(&rules).compile(native))
    });
    if let Some(f) = rules.filter.as_ref() {
        g.bench_function("resolve_only_native", |b| {
            b.iter(|| resolve(black_box(f), native))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
