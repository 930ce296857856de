//! Every syscall keel-exec makes that needs `unsafe`.
//!
//! # Safety
//!
//! This is the only module of keel-exec that opts into `unsafe_code` (the crate root denies
//! it). Its contract:
//!
//! - [`child`] holds the code that runs between `fork`/`clone3` and `execve`: a fixed list
//!   of prepared operations ([`child::Op`]) whose strings, buffers and pointer arrays were
//!   all built by the parent before the fork. It does not allocate, take locks or log; it
//!   reports `(step, errno)` to the parent over a close-on-exec pipe and calls `_exit`.
//! - Every `unsafe {}` block holds one unsafe operation and a `// SAFETY:` comment naming
//!   the invariant and who upholds it; every `unsafe fn` documents its contract under
//!   `# Safety`.
//! - Functions that change process-wide state (`fork`, the child runner) are `unsafe fn`
//!   even where no pointer is involved.
#![allow(unsafe_code)]

pub(crate) mod child;
