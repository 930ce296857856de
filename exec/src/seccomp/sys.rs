//! Loading programs into the kernel: every seccomp syscall keel-exec makes.
//!
//! seccompiler's safe `apply_filter` does the work (`prctl(PR_SET_NO_NEW_PRIVS)` and
//! `seccomp(SECCOMP_SET_MODE_FILTER)`), so this module needs no `unsafe`.

use super::bpf::SockFilter;

/// Loading a seccomp program failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallFilterError {
    /// The kernel (or seccompiler's checks) refused the program.
    #[error("cannot load a seccomp program of {len} instructions")]
    Load {
        /// Program length.
        len: usize,
        /// Why.
        #[source]
        source: seccompiler::Error,
    },
}

/// Loads `program` for the calling thread, after setting `no_new_privs` (which an
/// unprivileged load needs and systemd sets in step 31 anyway).
///
/// # Errors
/// [`InstallFilterError::Load`] if the kernel refuses.
///
/// # References
/// - <https://man7.org/linux/man-pages/man2/seccomp.2.html>
#[doc(alias = "seccomp")]
#[doc(alias = "SECCOMP_SET_MODE_FILTER")]
pub fn install(program: &[SockFilter]) -> Result<(), InstallFilterError> {
    seccompiler::apply_filter(program).map_err(|source| InstallFilterError::Load {
        len: program.len(),
        source,
    })
}

/// Like [`install`], for every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`).
///
/// # Errors
/// [`InstallFilterError::Load`] if the kernel refuses or a thread cannot be synced.
///
/// # References
/// - <https://man7.org/linux/man-pages/man2/seccomp.2.html>
#[doc(alias = "SECCOMP_FILTER_FLAG_TSYNC")]
pub fn install_all_threads(program: &[SockFilter]) -> Result<(), InstallFilterError> {
    seccompiler::apply_filter_all_threads(program).map_err(|source| InstallFilterError::Load {
        len: program.len(),
        source,
    })
}
