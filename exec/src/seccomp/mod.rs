//! Seccomp: generated syscall tables, systemd 248 filter groups, a BPF compiler.
