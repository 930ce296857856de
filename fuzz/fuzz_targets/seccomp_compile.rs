//! Random `SystemCall*=` rule sets: every compiled program must give each syscall number
//! the action the reference evaluation of the rules gives it (checked with keel's BPF
//! interpreter).
#![no_main]

use keel_exec::seccomp::{Arch, FilterRules, SeccompData, bpf, groups};
use libfuzzer_sys::fuzz_target;

const WORDS: &[&str] = &[
    "read",
    "write",
    "uname",
    "openat",
    "ioperm",
    "execve",
    "mmap",
    "clone3",
    "fcntl64",
    "cacheflush",
    "riscv_flush_icache",
    "sync_file_range2",
    "arm_sync_file_range",
    "bogus",
];
const SUFFIXES: &[&str] = &["", ":EILSEQ", ":kill", ":0", ":4095", ":EPERM"];

fn text(data: &[u8]) -> String {
    let names: Vec<&str> = groups::all()
        .map(|g| g.name)
        .chain(WORDS.iter().copied())
        .collect();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let [k, n, s] = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let key =
            ["SystemCallFilter", "SystemCallLog", "SystemCallErrorNumber"][usize::from(k % 3)];
        if key == "SystemCallErrorNumber" {
            out.push_str(
                [
                    "SystemCallErrorNumber=EPERM\n",
                    "SystemCallErrorNumber=kill\n",
                ][usize::from(n % 2)],
            );
            continue;
        }
        let tilde = if k & 0x80 != 0 { "~" } else { "" };
        let name = names[usize::from(n) % names.len()];
        let suffix = SUFFIXES[usize::from(s) % SUFFIXES.len()];
        if k & 0x40 != 0 {
            out.push_str(&format!("{key}=\n"));
        }
        out.push_str(&format!("{key}={tilde}{name}{suffix}\n"));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 96 {
        return;
    }
    let rules = FilterRules::from_service_text(&text(data));
    for native in [Arch::X86_64, Arch::Aarch64, Arch::Mips64Le] {
        let local = native.local_archs();
        for p in [rules.syscall_filter_policy(local), rules.log_policy(local)]
            .into_iter()
            .flatten()
        {
            let prog = p.compile().expect("policy compiles");
            for ap in &p.archs {
                let Some(max) = ap.arch.max_known_number() else {
                    continue;
                };
                let lo = if ap.arch == Arch::X32 {
                    keel_exec::seccomp::X32_SYSCALL_BIT
                } else {
                    0
                };
                for nr in (lo..=max + 10).chain([u32::MAX, 0xf_0002]) {
                    let d = SeccompData::new(nr, ap.arch.audit_arch());
                    let got = bpf::run(&prog, &d).expect("program runs");
                    assert_eq!(
                        got.action,
                        p.expected(&d).to_raw(),
                        "{native} {} {nr}",
                        ap.arch
                    );
                }
            }
        }
    }
});
