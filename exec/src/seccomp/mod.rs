//! Seccomp: generated syscall tables, systemd 248 filter groups, a BPF compiler.
//!
//! Maps `SystemCallFilter=`, `SystemCallErrorNumber=`, `SystemCallArchitectures=` and
//! `SystemCallLog=` (systemd.exec(5), spec §6) onto seccomp programs:
//!
//! 1. [`FilterRules::from_settings`] takes keel-unit's faithful rule list (groups kept).
//! 2. Per architecture, the rules are replayed on syscall *numbers* exactly as 248's
//!    `seccomp_parse_syscall_filter` fills its map ([`ArchPolicy`]), with [`groups`]
//!    expanded and names unknown on that architecture skipped.
//! 3. [`bpf::compile`] turns the policies of all local architectures (x86-64, x86 and x32
//!    on an x86-64 kernel) into *one* program: an `AUDIT_ARCH` dispatch, then a
//!    weight-balanced binary search over runs of equal action.
//! 4. [`install`] loads it (seccompiler's `apply_filter`, which sets `no_new_privs`).
//!
//! Programs come in 248's order ([`FilterKind`]): architectures, log, filter.
//!
//! Deliberate differences from 248 (see `exec/DESIGN.md` when it lands):
//! - One program covers all local architectures (248 loads one per architecture, so the
//!   kernel runs them all on every syscall).
//! - In an allow-list, syscall numbers above the highest number keel's tables know fail
//!   with `ENOSYS` instead of the default action, so a libc that tries a syscall newer
//!   than the tables falls back to the old one (systemd ≥ 250 does the same).
//! - Other architectures' syscalls get `SECCOMP_RET_KILL_PROCESS` from the
//!   `SystemCallArchitectures=` program (libseccomp's default is to kill the thread).
//!
//! # References
//! - <https://man7.org/linux/man-pages/man2/seccomp.2.html>
//! - systemd.exec(5), `SystemCallFilter=`

pub mod arch;
pub mod bpf;
mod format;
pub mod groups;
mod sys;
mod tables;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use keel_unit::model::exec::{
    ExecSettings, SyscallAction, SyscallErrorNumber, SyscallFilter, SyscallFilterOp,
};

pub use arch::{Arch, X32_SYSCALL_BIT};
pub use bpf::{BpfProgram, RetAction, SeccompData, SockFilter};
pub use format::format_groups;
pub use groups::GroupError;
pub use sys::{InstallFilterError, install, install_all_threads};

/// `ENOSYS`.
const ENOSYS: u16 = 38;

/// The seccomp settings of one command, as keel-unit parsed them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FilterRules {
    /// `SystemCallFilter=`.
    #[doc(alias = "SystemCallFilter=")]
    pub filter: Option<SyscallFilter>,
    /// `SystemCallErrorNumber=`.
    #[doc(alias = "SystemCallErrorNumber=")]
    pub error_number: SyscallErrorNumber,
    /// `SystemCallArchitectures=` names (`native` included as written).
    #[doc(alias = "SystemCallArchitectures=")]
    pub architectures: Vec<String>,
    /// `SystemCallLog=`.
    #[doc(alias = "SystemCallLog=")]
    pub log: Option<SyscallFilter>,
}

/// Which setting a program implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterKind {
    /// `SystemCallArchitectures=`.
    Architectures,
    /// `SystemCallLog=`.
    Log,
    /// `SystemCallFilter=` (loaded last).
    SyscallFilter,
}

/// A finished program and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompiledFilter {
    /// The setting.
    pub kind: FilterKind,
    /// The program.
    pub program: BpfProgram,
}

/// Building the seccomp programs for a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildFilterError {
    /// `SystemCallArchitectures=native` on an architecture seccomp does not know.
    #[error("SystemCallArchitectures=native: this architecture has no seccomp support")]
    UnknownNative,
    /// A `SystemCallArchitectures=` name keel does not know.
    #[error("SystemCallArchitectures=: unknown architecture {name:?}")]
    UnknownArchitecture {
        /// The name.
        name: String,
    },
    /// The compiler refused the policy.
    #[error("cannot compile the {kind:?} program")]
    Compile {
        /// The program.
        kind: FilterKind,
        /// Why.
        #[source]
        source: bpf::CompileError,
    },
}

/// What one architecture's syscalls get: the exact number → action map 248 builds, plus
/// the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchPolicy {
    /// The architecture.
    pub arch: Arch,
    /// Action for numbers not in `actions`.
    pub default: RetAction,
    /// Per-number actions.
    pub actions: BTreeMap<u32, RetAction>,
    /// Action for numbers above the highest known one (and not in `actions`), if it
    /// differs from `default`.
    pub above_known: Option<RetAction>,
}

impl ArchPolicy {
    /// A policy giving every syscall `default`.
    pub fn uniform(arch: Arch, default: RetAction) -> Self {
        ArchPolicy {
            arch,
            default,
            actions: BTreeMap::new(),
            above_known: None,
        }
    }

    /// The action for syscall `nr` (the reference the compiled program must match).
    pub fn action_at(&self, nr: u32) -> RetAction {
        self.action_with_max(nr, self.arch.max_known_number())
    }

    fn action_with_max(&self, nr: u32, max: Option<u32>) -> RetAction {
        if let Some(a) = self.actions.get(&nr) {
            return *a;
        }
        match (self.above_known, max) {
            (Some(a), Some(max)) if nr > max => a,
            _ => self.default,
        }
    }

    /// Appends this policy's ranges over `[lo, hi]` to `out`, in one pass over the
    /// sorted actions (numbers between two actions take the default, or `above_known`
    /// past the highest known number).
    fn push_ranges(&self, lo: u32, hi: u32, out: &mut Vec<bpf::Range>) {
        let max = self.arch.max_known_number();
        let start = out.len();
        let range = |start: u32, action: RetAction| bpf::Range {
            start,
            action,
            weight: 0,
        };
        let gap = |from: u32, to: u32, out: &mut Vec<bpf::Range>| match (self.above_known, max) {
            (Some(above), Some(max)) if from > max => out.push(range(from, above)),
            (Some(above), Some(max)) if max < to => {
                out.push(range(from, self.default));
                out.push(range(max + 1, above));
            }
            _ => out.push(range(from, self.default)),
        };
        // The first number not covered yet; None once `hi` is.
        let mut next = Some(lo);
        for (&nr, &action) in self.actions.range(lo..=hi) {
            if let Some(n) = next.filter(|n| *n < nr) {
                gap(n, nr - 1, out);
            }
            out.push(range(nr, action));
            next = nr.checked_add(1).filter(|n| *n <= hi);
        }
        if let Some(n) = next {
            gap(n, hi, out);
        }
        // Weight: allowed known syscalls in each range (short paths for them).
        for (_, nr) in self.arch.syscall_table().unwrap_or(&[]) {
            if *nr < lo || *nr > hi {
                continue;
            }
            let mine = &mut out[start..];
            let i = mine.partition_point(|r| r.start <= *nr);
            if let Some(r) = i.checked_sub(1).and_then(|i| mine.get_mut(i)) {
                if matches!(r.action, RetAction::Allow | RetAction::Log) {
                    r.weight = r.weight.saturating_add(1);
                }
            }
        }
    }
}

/// Policies for several architectures, compiled into one program.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Per architecture, the native one first.
    pub archs: Vec<ArchPolicy>,
    /// Action for syscalls of any other architecture.
    pub bad_arch: RetAction,
}

impl Policy {
    /// The compiler's input: one section per `AUDIT_ARCH` (x32 folded into x86-64's,
    /// above [`X32_SYSCALL_BIT`]).
    pub fn sections(&self) -> Vec<bpf::Section> {
        let mut sections = Vec::with_capacity(self.archs.len());
        let x32 = self.archs.iter().find(|p| p.arch == Arch::X32);
        let x86_64 = self.archs.iter().find(|p| p.arch == Arch::X86_64);
        for p in &self.archs {
            let mut ranges = Vec::new();
            match p.arch {
                Arch::X86_64 | Arch::X32 => {
                    if sections
                        .iter()
                        .any(|s: &bpf::Section| s.audit_arch == p.arch.audit_arch())
                    {
                        continue;
                    }
                    match x86_64 {
                        Some(x) => x.push_ranges(0, X32_SYSCALL_BIT - 1, &mut ranges),
                        None => ranges.push(self.bad_range(0)),
                    }
                    match x32 {
                        Some(x) => x.push_ranges(X32_SYSCALL_BIT, u32::MAX, &mut ranges),
                        None => ranges.push(self.bad_range(X32_SYSCALL_BIT)),
                    }
                }
                _ => p.push_ranges(0, u32::MAX, &mut ranges),
            }
            sections.push(bpf::Section {
                audit_arch: p.arch.audit_arch(),
                ranges: bpf::merge_ranges(ranges),
            });
        }
        sections
    }

    fn bad_range(&self, start: u32) -> bpf::Range {
        bpf::Range {
            start,
            action: self.bad_arch,
            weight: 0,
        }
    }

    /// Compiles the policy.
    ///
    /// # Errors
    /// [`bpf::CompileError`] if the program would be too long.
    pub fn compile(&self) -> Result<BpfProgram, bpf::CompileError> {
        bpf::compile(&self.sections(), self.bad_arch)
    }

    /// The action the policy gives `data`, computed without the compiler.
    pub fn expected(&self, data: &SeccompData) -> RetAction {
        let arch = if data.arch == Arch::X86_64.audit_arch() {
            if data.nr >= X32_SYSCALL_BIT {
                Arch::X32
            } else {
                Arch::X86_64
            }
        } else {
            match Arch::ALL
                .into_iter()
                .find(|a| *a != Arch::X32 && a.audit_arch() == data.arch)
            {
                Some(a) => a,
                None => return self.bad_arch,
            }
        };
        self.archs
            .iter()
            .find(|p| p.arch == arch)
            .map_or(self.bad_arch, |p| p.action_at(data.nr))
    }
}

/// Replays `filter`'s rules on `arch`'s syscall numbers (248's map; names unknown on
/// `arch` and unknown groups are skipped, as 248 skips them).
pub fn resolve(filter: &SyscallFilter, arch: Arch) -> BTreeMap<u32, SyscallAction> {
    NumberMap::build(filter, arch).into_iter().collect()
}

/// 248's `syscall number → action` map, dense for the usual numbers.
struct NumberMap {
    base: u32,
    dense: Vec<Option<SyscallAction>>,
    sparse: BTreeMap<u32, SyscallAction>,
}

/// The syscall numbers of a group on `arch` (nested groups expanded, names unknown on
/// `arch` skipped); empty for an unknown group.
///
/// The fixed groups come from the tables `cargo xtask gen-syscalls` generates beside the
/// syscall numbers (a test checks them against resolving the names), so a short-lived
/// process such as keel-run compares no strings; `@known` (its members depend on the native
/// architecture) is resolved by name once per process.
fn group_numbers(name: &str, arch: Arch) -> std::borrow::Cow<'static, [u32]> {
    static KNOWN: [OnceLock<Vec<u32>>; Arch::ALL.len()] =
        [const { OnceLock::new() }; Arch::ALL.len()];
    if name == "@known" {
        let Some(i) = Arch::ALL.iter().position(|a| *a == arch) else {
            return (&[]).into();
        };
        return KNOWN[i]
            .get_or_init(|| resolve_group_names(name, arch))
            .as_slice()
            .into();
    }
    let Some(g) = groups::GROUPS.iter().position(|g| g.name == name) else {
        return (&[]).into();
    };
    match arch
        .group_numbers_table()
        .filter(|t| t.len() == groups::GROUPS.len())
        .and_then(|t| t.get(g).copied())
    {
        Some(generated) => generated.into(),
        // No generated table for this architecture: resolve the names.
        None => resolve_group_names(name, arch).into(),
    }
}

/// A group's numbers on `arch` from its members' names, sorted and deduplicated (what
/// `cargo xtask gen-syscalls` stores in the tables).
pub(crate) fn resolve_group_names(name: &str, arch: Arch) -> Vec<u32> {
    let mut v = Vec::new();
    // An unknown group has no members; the parser warned about it.
    let _ = groups::for_each_member(name, &mut |m| v.extend(arch.syscall_number(m)));
    v.sort_unstable();
    v.dedup();
    v
}

/// Numbers `base..base + DENSE` are kept in an array.
const DENSE: u32 = 1024;

impl NumberMap {
    fn build(filter: &SyscallFilter, arch: Arch) -> NumberMap {
        let base = arch
            .syscall_table()
            .unwrap_or(&[])
            .iter()
            .map(|(_, n)| *n)
            .min()
            .unwrap_or(0);
        let mut map = NumberMap {
            base,
            dense: vec![None; DENSE as usize],
            sparse: BTreeMap::new(),
        };
        for rule in &filter.rules {
            let mut apply = |name: &str| {
                if let Some(nr) = arch.syscall_number(name) {
                    map.apply(nr, &rule.op);
                }
            };
            if rule.name.starts_with('@') {
                // Unknown groups were already warned about by the parser.
                for &nr in group_numbers(&rule.name, arch).iter() {
                    map.apply(nr, &rule.op);
                }
            } else {
                apply(&rule.name);
            }
        }
        map
    }

    fn apply(&mut self, nr: u32, op: &SyscallFilterOp) {
        let value = match op {
            SyscallFilterOp::Add(a) => Some(*a),
            SyscallFilterOp::Remove => None,
            _ => return,
        };
        let slot = nr
            .checked_sub(self.base)
            .filter(|k| *k < DENSE)
            .and_then(|k| self.dense.get_mut(k as usize));
        match (slot, value) {
            (Some(s), v) => *s = v,
            (None, Some(a)) => {
                self.sparse.insert(nr, a);
            }
            (None, None) => {
                self.sparse.remove(&nr);
            }
        }
    }

    /// `(number, action)` in increasing number order.
    fn into_iter(self) -> impl Iterator<Item = (u32, SyscallAction)> {
        let base = self.base;
        let dense = self
            .dense
            .into_iter()
            .zip(base..)
            .filter_map(|(a, nr)| a.map(|a| (nr, a)));
        let mut dense: Vec<(u32, SyscallAction)> = dense.collect();
        dense.extend(self.sparse);
        dense.sort_unstable_by_key(|(nr, _)| *nr);
        dense.into_iter()
    }
}

fn from_syscall_action(a: SyscallAction, default_entry: RetAction) -> RetAction {
    match a {
        SyscallAction::Errno(e) => RetAction::Errno(e),
        SyscallAction::Kill => RetAction::KillProcess,
        _ => default_entry,
    }
}

impl FilterRules {
    /// The seccomp settings of `s`.
    pub fn from_settings(s: &ExecSettings) -> Self {
        FilterRules {
            filter: s.system_call_filter.clone(),
            error_number: s.system_call_error_number,
            architectures: s.system_call_architectures.clone(),
            log: s.system_call_log.clone(),
        }
    }

    /// Parses `text` as the `[Service]` section body of a unit (`SystemCallFilter=…`
    /// lines, …) with keel-unit and takes its seccomp settings; diagnostics are dropped.
    /// Meant for tests, benchmarks and tools.
    pub fn from_service_text(text: &str) -> Self {
        let unit = format!("[Service]\nExecStart=/bin/true\n{text}\n");
        let Ok(name) = keel_core::unit_name::UnitName::new("seccomp.service") else {
            return FilterRules::default();
        };
        let loaded = keel_unit::load::parse_unit_text(
            &name,
            unit.as_bytes(),
            None,
            &keel_core::specifier::SpecifierContext::default(),
        );
        loaded
            .unit
            .exec
            .as_ref()
            .map(FilterRules::from_settings)
            .unwrap_or_default()
    }

    /// Whether no seccomp program is needed.
    pub fn is_empty(&self) -> bool {
        self.filter.is_none() && self.log.is_none() && self.architectures.is_empty()
    }

    /// `SystemCallErrorNumber=` as an action (kill by default).
    fn negative(&self) -> RetAction {
        match self.error_number {
            SyscallErrorNumber::Errno(e) => RetAction::Errno(e),
            _ => RetAction::KillProcess,
        }
    }

    /// The `SystemCallFilter=` policy for `archs` (native first; archs without a table
    /// are left out), or `None` without the setting.
    pub fn syscall_filter_policy(&self, archs: &[Arch]) -> Option<Policy> {
        let f = self.filter.as_ref()?;
        let neg = self.negative();
        let archs = archs
            .iter()
            .filter(|a| a.syscall_table().is_some())
            .map(|&arch| {
                let map = NumberMap::build(f, arch);
                let (default, entry, above) = if f.allow_list {
                    (neg, RetAction::Allow, Some(RetAction::Errno(ENOSYS)))
                } else {
                    (RetAction::Allow, neg, None)
                };
                ArchPolicy {
                    arch,
                    default,
                    actions: map
                        .into_iter()
                        .map(|(nr, a)| (nr, from_syscall_action(a, entry)))
                        .collect(),
                    above_known: above,
                }
            })
            .collect();
        Some(Policy {
            archs,
            bad_arch: RetAction::Allow,
        })
    }

    /// The `SystemCallLog=` policy for `archs`, or `None` without the setting.
    pub fn log_policy(&self, archs: &[Arch]) -> Option<Policy> {
        let f = self.log.as_ref()?;
        let (default, listed) = if f.allow_list {
            (RetAction::Allow, RetAction::Log)
        } else {
            (RetAction::Log, RetAction::Allow)
        };
        let archs = archs
            .iter()
            .filter(|a| a.syscall_table().is_some())
            .map(|&arch| ArchPolicy {
                arch,
                default,
                actions: resolve(f, arch)
                    .into_keys()
                    .map(|nr| (nr, listed))
                    .collect(),
                above_known: None,
            })
            .collect();
        Some(Policy {
            archs,
            bad_arch: RetAction::Allow,
        })
    }

    /// The `SystemCallArchitectures=` policy: listed architectures (and always `native`)
    /// pass, others are killed. `None` without the setting.
    ///
    /// # Errors
    /// [`BuildFilterError`] for `native` without seccomp support or an unknown name.
    pub fn architectures_policy(&self, native: Arch) -> Result<Option<Policy>, BuildFilterError> {
        if self.architectures.is_empty() {
            return Ok(None);
        }
        let mut allowed = vec![native];
        for name in &self.architectures {
            let a = if name == "native" {
                native
            } else {
                Arch::from_name(name)
                    .ok_or_else(|| BuildFilterError::UnknownArchitecture { name: name.clone() })?
            };
            if !allowed.contains(&a) {
                allowed.push(a);
            }
        }
        // On x32, x86-64 stays allowed (the vDSO needs it).
        if native == Arch::X32 && !allowed.contains(&Arch::X86_64) {
            allowed.push(Arch::X86_64);
        }
        let mut archs: Vec<ArchPolicy> = allowed
            .iter()
            .map(|&a| ArchPolicy::uniform(a, RetAction::Allow))
            .collect();
        // x32 shares x86-64's AUDIT_ARCH: the half that is not allowed is killed.
        let has = |a: Arch| allowed.contains(&a);
        if has(Arch::X86_64) && !has(Arch::X32) {
            archs.push(ArchPolicy::uniform(Arch::X32, RetAction::KillProcess));
        } else if has(Arch::X32) && !has(Arch::X86_64) {
            archs.push(ArchPolicy::uniform(Arch::X86_64, RetAction::KillProcess));
        }
        Ok(Some(Policy {
            archs,
            bad_arch: RetAction::KillProcess,
        }))
    }

    /// Every program for a command on `native`, in the order 248 loads them.
    ///
    /// # Errors
    /// [`BuildFilterError`] for bad architecture names or a program that is too long.
    pub fn compile(&self, native: Arch) -> Result<Vec<CompiledFilter>, BuildFilterError> {
        let local = native.local_archs();
        let policies = [
            (
                FilterKind::Architectures,
                self.architectures_policy(native)?,
            ),
            (FilterKind::Log, self.log_policy(local)),
            (FilterKind::SyscallFilter, self.syscall_filter_policy(local)),
        ];
        let mut out = Vec::with_capacity(3);
        for (kind, p) in policies {
            let Some(p) = p else { continue };
            let program = p
                .compile()
                .map_err(|source| BuildFilterError::Compile { kind, source })?;
            out.push(CompiledFilter { kind, program });
        }
        Ok(out)
    }

    /// [`FilterRules::compile`] for the architecture keel was built for.
    ///
    /// # Errors
    /// [`BuildFilterError::UnknownNative`] where seccomp has no architecture, otherwise
    /// as [`FilterRules::compile`].
    pub fn compile_native(&self) -> Result<Vec<CompiledFilter>, BuildFilterError> {
        self.compile(Arch::native().ok_or(BuildFilterError::UnknownNative)?)
    }
}
