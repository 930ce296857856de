//! `cargo xtask`: keel's scripted jobs.
//!
//! - `cargo xtask test`: the full test command (README, `.ci/run`): installs the Debian
//!   packages the tests need when run as root, then runs `cargo fmt --check`, clippy and
//!   rustdoc with `-D warnings`, and every test tier including the privileged tests
//!   (`--include-ignored`), and ends with one `N passed, N failed` line.
//! - `cargo xtask compare unit-load [--runs N]`: keel and Debian's systemd load and dump the
//!   same unit corpus; prints both times and the ratio.
//! - `cargo xtask compare spawn [--runs N] [--release]`: keel-run and bwrap start the same sandboxed
//!   `/bin/true`; prints both medians and the ratio.
//! - `cargo xtask compare netlink [--runs N] [--release]`: keel-netlink and `ip -batch` create
//!   200 veth pairs and 1000 addresses in fresh network namespaces; prints both medians and the ratio.

mod compare;
mod compare_luks;
mod compare_netlink;
mod compare_oom;
mod compare_spawn;
mod compare_sysext;
mod packages;
mod syscalls;
mod testrun;
mod util;
mod vm;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         test [--no-lint] [-- CARGO-TEST-FILTER...]   install what the tests need (as root), lint, run every test tier\n  \
         compare unit-load [--runs N]                 keel vs systemd on the Debian unit corpus, with the ratio\n  \
         compare seccomp                              keel vs libseccomp on @system-service (length, insns/syscall)\n  \
         compare spawn [--runs N] [--release]         keel-run vs bwrap starting a sandboxed /bin/true, with the ratio\n  \
         compare luks [--runs N]                      keel-cryptenroll vs cryptsetup unlocking the same keyslot (pbkdf2, argon2id), with the ratio\n  \
         compare oom [--runs N] [--cgroups N] [--seconds S]  keel-oomd kill delay and idle CPU with N watched cgroups (root)\n  \
         compare sysext [--runs N] [--release]        keel-sysext vs systemd-sysext merging+unmerging 10 extensions, with the ratio\n  \
         compare netlink [--runs N] [--release]       keel-netlink vs ip -batch: 200 veth pairs + 1000 addresses in a fresh netns, with the ratio (root)\n  \
         gen-syscalls                                 regenerate exec/src/seccomp/tables/ from kernel UAPI headers\n  \
         vm <build | run SCENARIO... | test | selftest>  kernel-feature scenarios of tests/vm/ in QEMU"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        return usage();
    };
    let result = match cmd.as_str() {
        "test" => testrun::run(rest),
        "gen-syscalls" => syscalls::gen_syscalls(rest),
        "compare" => match rest.split_first() {
            Some((what, more)) if what == "unit-load" => compare::unit_load(more),
            Some((what, more)) if what == "seccomp" => syscalls::compare_seccomp(more),
            Some((what, more)) if what == "spawn" => compare_spawn::spawn(more),
            Some((what, more)) if what == "sysext" => compare_sysext::sysext(more),
            Some((what, more)) if what == "luks" => compare_luks::luks(more),
            Some((what, more)) if what == "oom" => compare_oom::oom(more),
            Some((what, more)) if what == "netlink" => compare_netlink::netlink(more),
            _ => return usage(),
        },
        "vm" => vm::command(rest),
        _ => return usage(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask {cmd}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
