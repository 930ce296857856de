//! Classic BPF for seccomp: the program compiler and an interpreter.
//!
//! The compiler turns, per architecture, a list of syscall-number ranges with one action
//! each into a program: an `AUDIT_ARCH` dispatch (native first) and, per architecture, a
//! binary search over the range boundaries whose leaves return the action. The search is
//! weight-balanced: ranges holding allowed syscalls weigh more, so allowed calls (the
//! frequent ones) sit on short paths.
//!
//! The interpreter runs any classic BPF program on a `seccomp_data` and counts the
//! instructions executed. It is the reference the compiler is tested against and the
//! measuring stick for comparisons with libseccomp.
//!
//! # References
//! - <https://www.kernel.org/doc/html/latest/userspace-api/seccomp_filter.html>
//! - <https://www.kernel.org/doc/html/latest/networking/filter.html> (classic BPF)

pub use seccompiler::{BpfProgram, sock_filter as SockFilter};

/// `BPF_LD | BPF_W | BPF_ABS`.
const LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JA`.
const JA: u16 = 0x05;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
const JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
const JGE_K: u16 = 0x35;
/// `BPF_RET | BPF_K`.
const RET_K: u16 = 0x06;

/// Offset of `seccomp_data.nr`.
const OFF_NR: u32 = 0;
/// Offset of `seccomp_data.arch`.
const OFF_ARCH: u32 = 4;

/// Longest program the kernel accepts (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// What a filter returns for one syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetAction {
    /// `SECCOMP_RET_ALLOW`.
    Allow,
    /// `SECCOMP_RET_ERRNO` with this errno (0–4095).
    Errno(u16),
    /// `SECCOMP_RET_KILL_PROCESS`.
    KillProcess,
    /// `SECCOMP_RET_LOG`: allow and log.
    Log,
}

impl RetAction {
    /// The 32-bit return value.
    pub fn to_raw(self) -> u32 {
        match self {
            RetAction::Allow => 0x7fff_0000,
            RetAction::Errno(e) => 0x0005_0000 | u32::from(e & 0x0fff),
            RetAction::KillProcess => 0x8000_0000,
            RetAction::Log => 0x7ffc_0000,
        }
    }

    /// The action a raw return value stands for, if it is one of ours.
    pub fn from_raw(raw: u32) -> Option<RetAction> {
        match raw {
            0x7fff_0000 => Some(RetAction::Allow),
            0x8000_0000 => Some(RetAction::KillProcess),
            0x7ffc_0000 => Some(RetAction::Log),
            r if r & 0xffff_0000 == 0x0005_0000 => {
                u16::try_from(r & 0x0fff).ok().map(RetAction::Errno)
            }
            _ => None,
        }
    }
}

/// The part of `struct seccomp_data` a filter sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: u32,
    /// `AUDIT_ARCH_*`.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// Arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// A syscall `nr` on `arch` with zero arguments.
    pub fn new(nr: u32, arch: u32) -> Self {
        SeccompData {
            nr,
            arch,
            ..SeccompData::default()
        }
    }

    /// The 64 bytes as the kernel lays them out (native endianness).
    fn to_bytes(self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        b
    }
}

/// The result of running a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The 32-bit return value.
    pub action: u32,
    /// Instructions executed, the return included.
    pub executed: usize,
}

/// Running a BPF program failed (the kernel's verifier would have refused it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterpretError {
    /// The program counter left the program.
    #[error("program counter {pc} is outside the program")]
    OutOfProgram {
        /// Instruction index.
        pc: usize,
    },
    /// An instruction keel's interpreter does not know.
    #[error("unsupported instruction {code:#06x} at {pc}")]
    Unsupported {
        /// Instruction index.
        pc: usize,
        /// Opcode.
        code: u16,
    },
    /// A load outside `seccomp_data` or scratch memory.
    #[error("load at offset {offset} out of bounds at {pc}")]
    OutOfBounds {
        /// Instruction index.
        pc: usize,
        /// Offset.
        offset: u32,
    },
    /// Division by zero.
    #[error("division by zero at {pc}")]
    DivisionByZero {
        /// Instruction index.
        pc: usize,
    },
}

/// Runs `prog` on `data` (classic BPF: loads, ALU, jumps, scratch memory, returns).
///
/// # Errors
/// [`InterpretError`] for a program the kernel would reject or that misbehaves.
pub fn run(prog: &[SockFilter], data: &SeccompData) -> Result<Outcome, InterpretError> {
    let bytes = data.to_bytes();
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let mut executed = 0usize;
    let load = |pc: usize, off: u32, size: usize| -> Result<u32, InterpretError> {
        let start =
            usize::try_from(off).map_err(|_| InterpretError::OutOfBounds { pc, offset: off })?;
        let s = bytes
            .get(start..start + size)
            .ok_or(InterpretError::OutOfBounds { pc, offset: off })?;
        Ok(match size {
            4 => u32::from_ne_bytes([s[0], s[1], s[2], s[3]]),
            2 => u32::from(u16::from_ne_bytes([s[0], s[1]])),
            _ => u32::from(s[0]),
        })
    };
    let mem_index = |pc: usize, k: u32| -> Result<usize, InterpretError> {
        usize::try_from(k)
            .ok()
            .filter(|i| *i < 16)
            .ok_or(InterpretError::OutOfBounds { pc, offset: k })
    };
    loop {
        let ins = prog.get(pc).ok_or(InterpretError::OutOfProgram { pc })?;
        executed += 1;
        let (code, k) = (ins.code, ins.k);
        let class = code & 0x07;
        let mut next = pc + 1;
        match class {
            // BPF_LD / BPF_LDX
            0x00 | 0x01 => {
                let mode = code & 0xe0;
                let size = match code & 0x18 {
                    0x00 => 4,
                    0x08 => 2,
                    _ => 1,
                };
                let v = match mode {
                    0x00 => k,                                                   // BPF_IMM
                    0x20 if class == 0x00 => load(pc, k, size)?,                 // BPF_ABS
                    0x40 if class == 0x00 => load(pc, x.wrapping_add(k), size)?, // BPF_IND
                    0x60 => mem[mem_index(pc, k)?],                              // BPF_MEM
                    0x80 => 64,                                                  // BPF_LEN
                    _ => return Err(InterpretError::Unsupported { pc, code }),
                };
                if class == 0x00 {
                    a = v;
                } else {
                    x = v;
                }
            }
            0x02 => mem[mem_index(pc, k)?] = a, // BPF_ST
            0x03 => mem[mem_index(pc, k)?] = x, // BPF_STX
            // BPF_ALU
            0x04 => {
                let src = if code & 0x08 != 0 { x } else { k };
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a
                        .checked_div(src)
                        .ok_or(InterpretError::DivisionByZero { pc })?,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a
                        .checked_rem(src)
                        .ok_or(InterpretError::DivisionByZero { pc })?,
                    0xa0 => a ^ src,
                    _ => return Err(InterpretError::Unsupported { pc, code }),
                };
            }
            // BPF_JMP
            0x05 => {
                let src = if code & 0x08 != 0 { x } else { k };
                let op = code & 0xf0;
                if op == 0x00 {
                    next = pc
                        + 1
                        + usize::try_from(k).map_err(|_| InterpretError::OutOfProgram { pc })?;
                } else {
                    let taken = match op {
                        0x10 => a == src,
                        0x20 => a > src,
                        0x30 => a >= src,
                        0x40 => a & src != 0,
                        _ => return Err(InterpretError::Unsupported { pc, code }),
                    };
                    next = pc + 1 + usize::from(if taken { ins.jt } else { ins.jf });
                }
            }
            // BPF_RET
            0x06 => {
                let v = match code & 0x18 {
                    0x00 => k,
                    0x10 => a,
                    _ => return Err(InterpretError::Unsupported { pc, code }),
                };
                return Ok(Outcome {
                    action: v,
                    executed,
                });
            }
            // BPF_MISC
            _ => match code {
                0x07 => x = a, // TAX
                0x87 => a = x, // TXA
                _ => return Err(InterpretError::Unsupported { pc, code }),
            },
        }
        pc = next;
    }
}

/// Decoding raw `struct sock_filter` bytes failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length is not a multiple of 8.
    #[error("{len} bytes is not a whole number of 8-byte instructions")]
    Length {
        /// Byte length.
        len: usize,
    },
}

/// Decodes a program exported as raw `struct sock_filter` array (native endianness), as
/// libseccomp's `seccomp_export_bpf` writes it.
///
/// # Errors
/// [`DecodeError::Length`] if the length is not a multiple of 8.
pub fn decode(raw: &[u8]) -> Result<BpfProgram, DecodeError> {
    if raw.len() % 8 != 0 {
        return Err(DecodeError::Length { len: raw.len() });
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| SockFilter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// A run of syscall numbers `[start, next range's start)` with one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First number of the run.
    pub start: u32,
    /// Its action.
    pub action: RetAction,
    /// How much a short path to this range is worth (e.g. allowed syscalls in it).
    pub weight: u32,
}

/// One architecture's part of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `AUDIT_ARCH_*` value.
    pub audit_arch: u32,
    /// Ranges sorted by `start`, the first starting at 0, neighbours with different
    /// actions (see [`merge_ranges`]).
    pub ranges: Vec<Range>,
}

/// Sorts nothing, but merges neighbouring ranges with equal actions (weights added).
pub fn merge_ranges(ranges: impl IntoIterator<Item = Range>) -> Vec<Range> {
    let mut out: Vec<Range> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if last.action == r.action => {
                last.weight = last.weight.saturating_add(r.weight)
            }
            _ => out.push(r),
        }
    }
    out
}

/// Compiling a program failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A section's ranges do not start at 0 or are not strictly increasing.
    #[error("ranges of architecture {audit_arch:#x} are not sorted from 0")]
    BadRanges {
        /// The section's `AUDIT_ARCH`.
        audit_arch: u32,
    },
    /// Two sections for the same architecture.
    #[error("architecture {audit_arch:#x} appears twice")]
    DuplicateArch {
        /// The `AUDIT_ARCH`.
        audit_arch: u32,
    },
    /// The program is longer than the kernel accepts.
    #[error("program of {len} instructions exceeds the kernel's limit of {MAX_INSNS}")]
    TooLong {
        /// Instructions.
        len: usize,
    },
}

/// Emits a program backwards (BPF only jumps forward, so targets exist before jumps).
struct Emitter {
    rev: Vec<SockFilter>,
}

impl Emitter {
    /// Pushes an instruction; returns its label (index from the end).
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(SockFilter { code, jt, jf, k });
        self.rev.len() - 1
    }

    fn ret(&mut self, a: RetAction) -> usize {
        self.push(RET_K, 0, 0, a.to_raw())
    }

    /// Distance from the next instruction to be pushed to `target`.
    fn dist(&self, target: usize) -> usize {
        self.rev.len() - target - 1
    }

    /// Pushes `ja target` and returns its label.
    fn ja(&mut self, target: usize) -> usize {
        let d = u32::try_from(self.dist(target)).unwrap_or(u32::MAX);
        self.push(JA, 0, 0, d)
    }

    /// A conditional jump taken to `target`, falling through to the instruction pushed
    /// just before. Far targets go through a `ja`.
    fn cond(&mut self, code: u16, k: u32, target: usize) -> usize {
        match u8::try_from(self.dist(target)) {
            Ok(jt) => self.push(code, jt, 0, k),
            Err(_) => {
                self.ja(target);
                self.push(code, 0, 1, k)
            }
        }
    }

    /// The search tree over `ranges`; returns the root's label.
    fn tree(&mut self, ranges: &[Range]) -> usize {
        if ranges.len() <= 1 {
            let a = ranges.first().map_or(RetAction::KillProcess, |r| r.action);
            return self.ret(a);
        }
        let split = split_point(ranges);
        let right = self.tree(&ranges[split..]);
        self.tree(&ranges[..split]);
        self.cond(JGE_K, ranges[split].start, right)
    }

    fn finish(mut self) -> BpfProgram {
        self.rev.reverse();
        self.rev
    }
}

/// Where to split `ranges` (2 or more): the boundary that best balances the weights
/// (each range counts at least 1, so unweighted runs stay balanced).
fn split_point(ranges: &[Range]) -> usize {
    let w = |r: &Range| u64::from(r.weight) + 1;
    let total: u64 = ranges.iter().map(w).sum();
    let mut left = 0u64;
    let mut best = (u64::MAX, 1usize);
    for (i, r) in ranges.iter().enumerate().take(ranges.len() - 1) {
        left += w(r);
        let right = total - left;
        let diff = left.abs_diff(right);
        if diff < best.0 {
            best = (diff, i + 1);
        }
    }
    best.1
}

/// Compiles sections (the first is checked first: put the native architecture there)
/// into one program; any other architecture gets `bad_arch`.
///
/// # Errors
/// [`CompileError`] for malformed sections or a program over [`MAX_INSNS`].
pub fn compile(sections: &[Section], bad_arch: RetAction) -> Result<BpfProgram, CompileError> {
    for (i, s) in sections.iter().enumerate() {
        let sorted = s.ranges.first().is_some_and(|r| r.start == 0)
            && s.ranges.windows(2).all(|w| w[0].start < w[1].start);
        if !sorted {
            return Err(CompileError::BadRanges {
                audit_arch: s.audit_arch,
            });
        }
        if sections[..i].iter().any(|o| o.audit_arch == s.audit_arch) {
            return Err(CompileError::DuplicateArch {
                audit_arch: s.audit_arch,
            });
        }
    }
    let mut e = Emitter {
        rev: Vec::with_capacity(256),
    };
    // Sections, last first; each starts with loading the syscall number.
    let mut starts = Vec::with_capacity(sections.len());
    for s in sections.iter().rev() {
        e.tree(&s.ranges);
        starts.push(e.push(LD_W_ABS, 0, 0, OFF_NR));
    }
    starts.reverse();
    // Dispatch: `jeq arch` per section (last first), falling through to bad-arch.
    e.ret(bad_arch);
    for (s, start) in sections.iter().zip(&starts).rev() {
        e.cond(JEQ_K, s.audit_arch, *start);
    }
    e.push(LD_W_ABS, 0, 0, OFF_ARCH);
    let prog = e.finish();
    if prog.len() > MAX_INSNS {
        return Err(CompileError::TooLong { len: prog.len() });
    }
    Ok(prog)
}

/// The action `sections` assign to `data` (the reference [`compile`] is tested against).
pub fn evaluate(sections: &[Section], bad_arch: RetAction, data: &SeccompData) -> RetAction {
    let Some(s) = sections.iter().find(|s| s.audit_arch == data.arch) else {
        return bad_arch;
    };
    let i = s.ranges.partition_point(|r| r.start <= data.nr);
    s.ranges
        .get(i.wrapping_sub(1))
        .map_or(bad_arch, |r| r.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, action: RetAction) -> Range {
        Range {
            start,
            action,
            weight: 0,
        }
    }

    #[test]
    fn trivial_program() {
        let s = [Section {
            audit_arch: 7,
            ranges: vec![r(0, RetAction::Allow)],
        }];
        let p = compile(&s, RetAction::KillProcess).unwrap();
        assert_eq!(p.len(), 5);
        let o = run(&p, &SeccompData::new(3, 7)).unwrap();
        assert_eq!(o.action, RetAction::Allow.to_raw());
        assert_eq!(o.executed, 4);
        let o = run(&p, &SeccompData::new(3, 8)).unwrap();
        assert_eq!(o.action, RetAction::KillProcess.to_raw());
    }

    #[test]
    fn far_jumps_use_trampolines() {
        // 600 alternating ranges force jumps beyond 255 instructions.
        let ranges: Vec<Range> = (0..600u32)
            .map(|i| {
                r(
                    i * 2,
                    if i % 2 == 0 {
                        RetAction::Allow
                    } else {
                        RetAction::Errno(u16::try_from(i % 4000).unwrap())
                    },
                )
            })
            .collect();
        let s = [
            Section {
                audit_arch: 1,
                ranges: ranges.clone(),
            },
            Section {
                audit_arch: 2,
                ranges: vec![r(0, RetAction::Log), r(10, RetAction::Allow)],
            },
        ];
        let p = compile(&s, RetAction::Errno(1)).unwrap();
        assert!(p.iter().any(|i| i.code == JA));
        for arch in 0..4 {
            for nr in 0..1300 {
                let d = SeccompData::new(nr, arch);
                let o = run(&p, &d).unwrap();
                assert_eq!(o.action, evaluate(&s, RetAction::Errno(1), &d).to_raw());
            }
        }
    }

    #[test]
    fn rejects_bad_ranges() {
        let s = [Section {
            audit_arch: 1,
            ranges: vec![r(1, RetAction::Allow)],
        }];
        assert!(matches!(
            compile(&s, RetAction::Allow),
            Err(CompileError::BadRanges { .. })
        ));
    }

    #[test]
    fn interpreter_alu_and_memory() {
        // A = nr; A += 5; M[0] = A; X = M[0]; A = X; A &= 0xff; ret A
        let p = [
            SockFilter {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 0,
            },
            SockFilter {
                code: 0x04,
                jt: 0,
                jf: 0,
                k: 5,
            },
            SockFilter {
                code: 0x02,
                jt: 0,
                jf: 0,
                k: 0,
            },
            SockFilter {
                code: 0x61,
                jt: 0,
                jf: 0,
                k: 0,
            },
            SockFilter {
                code: 0x87,
                jt: 0,
                jf: 0,
                k: 0,
            },
            SockFilter {
                code: 0x54,
                jt: 0,
                jf: 0,
                k: 0xff,
            },
            SockFilter {
                code: 0x16,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ];
        let o = run(&p, &SeccompData::new(300, 0)).unwrap();
        assert_eq!(o.action, 305 & 0xff);
        assert_eq!(o.executed, 7);
        assert!(run(&p[..2], &SeccompData::default()).is_err());
        let bad = [SockFilter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 64,
        }];
        assert!(matches!(
            run(&bad, &SeccompData::default()),
            Err(InterpretError::OutOfBounds { .. })
        ));
        assert_eq!(decode(&[0; 9]), Err(DecodeError::Length { len: 9 }));
    }

    #[test]
    fn raw_actions_round_trip() {
        for a in [
            RetAction::Allow,
            RetAction::Log,
            RetAction::KillProcess,
            RetAction::Errno(84),
        ] {
            assert_eq!(RetAction::from_raw(a.to_raw()), Some(a));
        }
    }
}
