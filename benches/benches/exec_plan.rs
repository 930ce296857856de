//! keel-exec's pure planning: `plan()` for a heavily sandboxed service (namespaces, the
//! mount namespace with `ProtectSystem=strict`, `NoExecPaths=`/`ExecPaths=`, credentials,
//! seccomp), against the floor of cloning the `ExecContext` it reads; and
//! `ExecContext::from_unit` on the same unit.
#![allow(missing_docs)]
#![allow(clippy::expect_used)] // a bench: a broken fixture must stop it loudly

use criterion::{Criterion, criterion_group, criterion_main};
use keel_exec::keel_unit::load::parse_unit_text;
use keel_exec::{Command, ExecContext, plan};

const UNIT: &str = "[Service]\n\
ExecStart=/usr/bin/daemon --flag\n\
User=nobody\n\
SupplementaryGroups=daemon\n\
PrivateIPC=yes\n\
PrivateNetwork=yes\n\
PrivateTmp=yes\n\
PrivateDevices=yes\n\
ProtectHostname=yes\n\
ProtectSystem=strict\n\
ProtectHome=read-only\n\
ProtectKernelTunables=yes\n\
ProtectKernelModules=yes\n\
ProtectControlGroups=yes\n\
ReadWritePaths=/var/lib/daemon -/var/cache/daemon\n\
InaccessiblePaths=/srv/secret\n\
NoExecPaths=/\n\
ExecPaths=/usr/bin /usr/lib -/usr/libexec\n\
BindReadOnlyPaths=/etc/daemon:/run/daemon/etc\n\
TemporaryFileSystem=/var/spool:ro\n\
CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n\
AmbientCapabilities=CAP_NET_BIND_SERVICE\n\
NoNewPrivileges=yes\n\
LimitNOFILE=1024:4096\n\
SystemCallFilter=@system-service\n";

fn context() -> ExecContext {
    let name = "bench.service".parse().expect("valid unit name");
    let unit = parse_unit_text(&name, UNIT.as_bytes(), None, &Default::default()).unit;
    ExecContext::from_unit(&unit)
}

fn bench(c: &mut Criterion) {
    let name = "bench.service".parse().expect("valid unit name");
    let unit = parse_unit_text(&name, UNIT.as_bytes(), None, &Default::default()).unit;
    let ctx = context();
    let cmd = Command::new("/usr/bin/daemon", ["--flag"]);
    let steps = plan(&ctx, &cmd).expect("plan").steps.len();
    println!("exec_plan: {steps} steps");
    let mut g = c.benchmark_group("exec_plan");
    g.bench_function("plan", |b| {
        b.iter(|| plan(std::hint::black_box(&ctx), &cmd).expect("plan"))
    });
    g.bench_function("baseline_clone_context", |b| {
        b.iter(|| std::hint::black_box(&ctx).clone())
    });
    g.bench_function("from_unit", |b| {
        b.iter(|| ExecContext::from_unit(std::hint::black_box(&unit)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
