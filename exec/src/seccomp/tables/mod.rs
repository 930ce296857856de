//! Syscall tables generated from the kernel's UAPI headers by `cargo xtask gen-syscalls`
//! (each file names its Debian package, version and header).

pub(crate) mod aarch64;
pub(crate) mod arm;
pub(crate) mod mips64el;
pub(crate) mod ppc64le;
pub(crate) mod riscv64;
pub(crate) mod s390x;
pub(crate) mod x32;
pub(crate) mod x86;
pub(crate) mod x86_64;
