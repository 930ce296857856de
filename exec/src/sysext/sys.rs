//! Loop devices: the only `unsafe` of [`crate::sysext`] (the loop `ioctl`s, which nix and
//! rustix do not wrap).
//!
//! # Safety
//!
//! Each `unsafe {}` block is one `ioctl(2)` on an fd this module owns, with either an
//! integer argument or a pointer to a `#[repr(C)]` struct that lives on the stack for the
//! whole call and matches the kernel's layout (`linux/loop.h`).
//!
//! # References
//!
//! - [loop(4)](https://man7.org/linux/man-pages/man4/loop.4.html)
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

const LOOP_SET_FD: libc::Ioctl = 0x4C00;
const LOOP_CLR_FD: libc::Ioctl = 0x4C01;
const LOOP_SET_STATUS64: libc::Ioctl = 0x4C04;
const LOOP_CONFIGURE: libc::Ioctl = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::Ioctl = 0x4C82;

const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config`.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);
const _: () = assert!(std::mem::size_of::<LoopConfig>() == 304);

/// A read-only loop device with autoclear set: it disappears when the last user (this
/// handle, a mount) lets go of it.
#[derive(Debug)]
pub struct LoopDevice {
    fd: OwnedFd,
    path: PathBuf,
}

impl LoopDevice {
    /// The device node, `/dev/loopN`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open device.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// Attaches `backing` (opened read-only) to a free loop device, read-only and with
/// autoclear, showing `size` bytes (0: to the end) from `offset`. Uses `LOOP_CONFIGURE`
/// (Linux 5.8), or `LOOP_SET_FD` + `LOOP_SET_STATUS64` where that is missing.
///
/// # Errors
///
/// The errno of the failing call, with the step that failed
/// (`/dev/loop-control`, `LOOP_CTL_GET_FREE`, opening the device, configuring it).
#[doc(alias = "LOOP_CONFIGURE")]
pub fn attach_loop(
    backing: &File,
    offset: u64,
    size: u64,
) -> Result<LoopDevice, (&'static str, Errno)> {
    let ctl = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/loop-control")
        .map_err(|e| ("open /dev/loop-control", io_errno(&e)))?;
    let mut info = LoopInfo64 {
        lo_device: 0,
        lo_inode: 0,
        lo_rdevice: 0,
        lo_offset: offset,
        lo_sizelimit: size,
        lo_number: 0,
        lo_encrypt_type: 0,
        lo_encrypt_key_size: 0,
        lo_flags: LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
        lo_file_name: [0; 64],
        lo_crypt_name: [0; 64],
        lo_encrypt_key: [0; 32],
        lo_init: [0; 2],
    };
    let backing_fd =
        u32::try_from(backing.as_raw_fd()).map_err(|_| ("backing fd", Errno::EBADF))?;
    let mut last = Errno::EBUSY;
    for _ in 0..64 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument; `ctl` is an open loop-control fd.
        let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
        let n = Errno::result(n).map_err(|e| ("LOOP_CTL_GET_FREE", e))?;
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => OwnedFd::from(f),
            Err(e) => return Err(("open the loop device", io_errno(&e))),
        };
        let cfg = LoopConfig {
            fd: backing_fd,
            block_size: 0,
            info,
            reserved: [0; 8],
        };
        // SAFETY: `cfg` is a live, correctly laid out `struct loop_config` for the whole
        // call; the kernel only reads it.
        let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CONFIGURE, &raw const cfg) };
        match Errno::result(r) {
            Ok(_) => return Ok(LoopDevice { fd: dev, path }),
            Err(Errno::EBUSY) => {
                last = Errno::EBUSY;
                continue;
            }
            Err(Errno::EINVAL | Errno::ENOTTY) => {}
            Err(e) => return Err(("LOOP_CONFIGURE", e)),
        }
        // Before 5.8: two steps. LOOP_SET_FD on a read-only fd makes a read-only device.
        // SAFETY: LOOP_SET_FD takes the backing fd as an integer argument.
        let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd()) };
        match Errno::result(r) {
            Ok(_) => {}
            Err(Errno::EBUSY) => {
                last = Errno::EBUSY;
                continue;
            }
            Err(e) => return Err(("LOOP_SET_FD", e)),
        }
        // SAFETY: `info` is a live `struct loop_info64`; the kernel only reads it.
        let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_STATUS64, &raw mut info) };
        if let Err(e) = Errno::result(r) {
            // SAFETY: LOOP_CLR_FD takes no argument; undoes our LOOP_SET_FD.
            let _ = unsafe { libc::ioctl(dev.as_fd().as_raw_fd(), LOOP_CLR_FD) };
            return Err(("LOOP_SET_STATUS64", e));
        }
        return Ok(LoopDevice { fd: dev, path });
    }
    Err(("find a free loop device", last))
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layout_matches_the_kernel() {
        assert_eq!(std::mem::offset_of!(LoopInfo64, lo_flags), 52);
        assert_eq!(std::mem::offset_of!(LoopConfig, info), 8);
    }
}
