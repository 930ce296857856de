//! Seccomp architectures: names (`SystemCallArchitectures=`), `AUDIT_ARCH_*` values and the
//! generated syscall tables.

use std::fmt;

use super::tables;

/// The bit x32 syscall numbers carry on `AUDIT_ARCH_X86_64` (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// An architecture as seccomp sees it (one `AUDIT_ARCH_*` value, or x32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Arch {
    /// `x86` (i386).
    X86,
    /// `x86-64`.
    X86_64,
    /// `x32` (x86-64 ABI with 32-bit pointers; `AUDIT_ARCH_X86_64` plus the x32 bit).
    X32,
    /// `arm` (EABI, little endian).
    Arm,
    /// `arm64` (aarch64).
    Aarch64,
    /// `mips` (o32, big endian).
    Mips,
    /// `mips64` (n64, big endian).
    Mips64,
    /// `mips64-n32` (big endian).
    Mips64N32,
    /// `mips-le` (o32).
    MipsLe,
    /// `mips64-le` (n64).
    Mips64Le,
    /// `mips64-le-n32`.
    Mips64LeN32,
    /// `ppc`.
    Ppc,
    /// `ppc64` (big endian).
    Ppc64,
    /// `ppc64-le`.
    Ppc64Le,
    /// `riscv64`.
    Riscv64,
    /// `s390`.
    S390,
    /// `s390x`.
    S390x,
}

impl Arch {
    /// Every architecture, in `SystemCallArchitectures=` documentation order.
    pub const ALL: [Arch; 17] = [
        Arch::X86,
        Arch::X86_64,
        Arch::X32,
        Arch::Arm,
        Arch::Aarch64,
        Arch::Mips,
        Arch::Mips64,
        Arch::Mips64N32,
        Arch::MipsLe,
        Arch::Mips64Le,
        Arch::Mips64LeN32,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64Le,
        Arch::Riscv64,
        Arch::S390,
        Arch::S390x,
    ];

    /// The name `seccomp_arch_to_string()` gives it (`x86-64`, `arm64`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86-64",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Aarch64 => "arm64",
            Arch::Mips => "mips",
            Arch::Mips64 => "mips64",
            Arch::Mips64N32 => "mips64-n32",
            Arch::MipsLe => "mips-le",
            Arch::Mips64Le => "mips64-le",
            Arch::Mips64LeN32 => "mips64-le-n32",
            Arch::Ppc => "ppc",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64Le => "ppc64-le",
            Arch::Riscv64 => "riscv64",
            Arch::S390 => "s390",
            Arch::S390x => "s390x",
        }
    }

    /// Parses a `SystemCallArchitectures=` name (not `native`, see [`Arch::native`]).
    pub fn from_name(name: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The `AUDIT_ARCH_*` value in `seccomp_data.arch` (x32 shares x86-64's).
    ///
    /// # References
    /// - `<linux/audit.h>`
    pub fn audit_arch(self) -> u32 {
        const BIT64: u32 = 0x8000_0000;
        const LE: u32 = 0x4000_0000;
        const N32: u32 = 0x2000_0000;
        match self {
            Arch::X86 => LE | 3,
            Arch::X86_64 | Arch::X32 => BIT64 | LE | 62,
            Arch::Arm => LE | 40,
            Arch::Aarch64 => BIT64 | LE | 183,
            Arch::Mips => 8,
            Arch::Mips64 => BIT64 | 8,
            Arch::Mips64N32 => BIT64 | N32 | 8,
            Arch::MipsLe => LE | 8,
            Arch::Mips64Le => BIT64 | LE | 8,
            Arch::Mips64LeN32 => BIT64 | LE | N32 | 8,
            Arch::Ppc => 20,
            Arch::Ppc64 => BIT64 | 21,
            Arch::Ppc64Le => BIT64 | LE | 21,
            Arch::Riscv64 => BIT64 | LE | 243,
            Arch::S390 => 22,
            Arch::S390x => BIT64 | 22,
        }
    }

    /// The architecture this program was built for, if seccomp knows it.
    pub fn native() -> Option<Arch> {
        if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
            Some(Arch::X32)
        } else if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "arm") {
            Some(Arch::Arm)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
            Some(Arch::Ppc64Le)
        } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
            Some(Arch::Mips64Le)
        } else {
            None
        }
    }

    /// The ABIs a kernel of this native architecture also runs (native first), as
    /// systemd's `seccomp_local_archs[]` lists them.
    pub fn local_archs(self) -> &'static [Arch] {
        match self {
            Arch::X86_64 => &[Arch::X86_64, Arch::X86, Arch::X32],
            Arch::X32 => &[Arch::X32, Arch::X86_64, Arch::X86],
            Arch::Aarch64 => &[Arch::Aarch64, Arch::Arm],
            Arch::S390x => &[Arch::S390x, Arch::S390],
            Arch::Mips64 => &[Arch::Mips64, Arch::Mips64N32, Arch::Mips],
            Arch::Mips64Le => &[Arch::Mips64Le, Arch::Mips64LeN32, Arch::MipsLe],
            Arch::Ppc64 => &[Arch::Ppc64, Arch::Ppc],
            Arch::X86 => &[Arch::X86],
            Arch::Arm => &[Arch::Arm],
            Arch::Mips => &[Arch::Mips],
            Arch::MipsLe => &[Arch::MipsLe],
            Arch::Mips64N32 => &[Arch::Mips64N32],
            Arch::Mips64LeN32 => &[Arch::Mips64LeN32],
            Arch::Ppc => &[Arch::Ppc],
            Arch::Ppc64Le => &[Arch::Ppc64Le],
            Arch::Riscv64 => &[Arch::Riscv64],
            Arch::S390 => &[Arch::S390],
        }
    }

    /// The generated `(name, number)` table, sorted by name, if keel has one for this
    /// architecture (x32 numbers include [`X32_SYSCALL_BIT`]).
    pub fn syscall_table(self) -> Option<&'static [(&'static str, u32)]> {
        Some(match self {
            Arch::X86_64 => tables::x86_64::SYSCALLS,
            Arch::X86 => tables::x86::SYSCALLS,
            Arch::X32 => tables::x32::SYSCALLS,
            Arch::Aarch64 => tables::aarch64::SYSCALLS,
            Arch::Arm => tables::arm::SYSCALLS,
            Arch::Riscv64 => tables::riscv64::SYSCALLS,
            Arch::S390x => tables::s390x::SYSCALLS,
            Arch::Ppc64Le => tables::ppc64le::SYSCALLS,
            Arch::Mips64Le => tables::mips64el::SYSCALLS,
            _ => return None,
        })
    }

    /// The generated numbers of each group of [`super::groups::GROUPS`] on this
    /// architecture (same order), if keel has its table.
    pub(crate) fn group_numbers_table(self) -> Option<&'static [&'static [u32]]> {
        Some(match self {
            Arch::X86_64 => tables::x86_64::GROUP_NUMBERS,
            Arch::X86 => tables::x86::GROUP_NUMBERS,
            Arch::X32 => tables::x32::GROUP_NUMBERS,
            Arch::Aarch64 => tables::aarch64::GROUP_NUMBERS,
            Arch::Arm => tables::arm::GROUP_NUMBERS,
            Arch::Riscv64 => tables::riscv64::GROUP_NUMBERS,
            Arch::S390x => tables::s390x::GROUP_NUMBERS,
            Arch::Ppc64Le => tables::ppc64le::GROUP_NUMBERS,
            Arch::Mips64Le => tables::mips64el::GROUP_NUMBERS,
            _ => return None,
        })
    }

    /// The syscall number of `name` on this architecture.
    #[doc(alias = "seccomp_syscall_resolve_name_arch")]
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        let t = self.syscall_table()?;
        t.binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| t[i].1)
    }

    /// The highest regular syscall number in the table (ARM's private `__ARM_NR_*`
    /// calls at `0xf0000` and up are not counted): numbers above it are unknown to keel.
    pub fn max_known_number(self) -> Option<u32> {
        let t = self.syscall_table()?;
        t.iter()
            .map(|(_, n)| *n)
            .filter(|n| *n < 0xf_0000 || self == Arch::X32)
            .max()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_unit_model() {
        for a in Arch::ALL {
            assert_eq!(Arch::from_name(a.as_str()), Some(a));
            assert!(keel_unit::model::exec::SECCOMP_ARCHITECTURES.contains(&a.as_str()));
        }
        assert_eq!(
            keel_unit::model::exec::SECCOMP_ARCHITECTURES.len(),
            Arch::ALL.len() + 1
        );
    }

    #[test]
    fn audit_values() {
        assert_eq!(Arch::X86_64.audit_arch(), 0xc000_003e);
        assert_eq!(Arch::X86.audit_arch(), 0x4000_0003);
        assert_eq!(Arch::Aarch64.audit_arch(), 0xc000_00b7);
        assert_eq!(Arch::Riscv64.audit_arch(), 0xc000_00f3);
        assert_eq!(Arch::S390x.audit_arch(), 0x8000_0016);
        assert_eq!(Arch::Ppc64Le.audit_arch(), 0xc000_0015);
        assert_eq!(Arch::Mips64Le.audit_arch(), 0xc000_0008);
        assert_eq!(Arch::Arm.audit_arch(), 0x4000_0028);
    }

    #[test]
    fn table_spot_checks() {
        assert_eq!(Arch::X86_64.syscall_number("read"), Some(0));
        assert_eq!(Arch::X86_64.syscall_number("uname"), Some(63));
        assert_eq!(Arch::X86.syscall_number("uname"), Some(122));
        assert_eq!(Arch::X32.syscall_number("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(Arch::Aarch64.syscall_number("read"), Some(63));
        assert_eq!(Arch::Aarch64.syscall_number("fstat"), Some(80));
        assert_eq!(Arch::Aarch64.syscall_number("open"), None);
        assert_eq!(
            Arch::Riscv64.syscall_number("riscv_flush_icache"),
            Some(259)
        );
        assert_eq!(Arch::Arm.syscall_number("cacheflush"), Some(0xf_0002));
        assert_eq!(Arch::Mips64Le.syscall_number("read"), Some(5000));
        assert_eq!(Arch::Ppc64Le.syscall_number("read"), Some(3));
        assert_eq!(Arch::S390x.syscall_number("read"), Some(3));
        assert_eq!(Arch::Mips.syscall_number("read"), None);
        for a in Arch::ALL {
            if let Some(t) = a.syscall_table() {
                assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "{a} sorted");
            }
        }
        assert_eq!(
            Arch::Arm.max_known_number().map(|n| n < 0xf_0000),
            Some(true)
        );
    }

    /// The host table equals the installed kernel header (parsed here, at test time).
    #[test]
    fn host_table_matches_installed_headers() {
        let (arch, header) = match Arch::native() {
            Some(Arch::X86_64) => (
                Arch::X86_64,
                "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
            ),
            Some(Arch::Aarch64) => (Arch::Aarch64, "/usr/include/aarch64-linux-gnu/asm/unistd.h"),
            other => panic!("no header check written for {other:?}"),
        };
        let text = std::fs::read_to_string(header)
            .unwrap_or_else(|e| panic!("{header}: {e} (apt-get install linux-libc-dev)"));
        let mut from_header: Vec<(String, u32)> = text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next()? == "#define").then_some(())?;
                let name = w.next()?.strip_prefix("__NR_")?;
                let nr = w.next()?.parse().ok()?;
                Some((name.to_owned(), nr))
            })
            .collect();
        from_header.sort();
        let ours: Vec<(String, u32)> = arch
            .syscall_table()
            .unwrap()
            .iter()
            .map(|(n, nr)| ((*n).to_owned(), *nr))
            .collect();
        assert!(from_header.len() > 300);
        assert_eq!(
            ours, from_header,
            "tables are stale: run `cargo xtask gen-syscalls`"
        );
    }
}
