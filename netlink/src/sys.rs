//! Every syscall keel-netlink makes. Socket creation, `bind`, `send`, `recv` and `poll` go
//! through rustix and nix (safe wrappers); the one gap is `setsockopt(SOL_NETLINK, …)`,
//! which neither crate wraps, so this module opts in to `unsafe` for exactly that call.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::from_raw(e.raw_os_error())
}

/// Opens a `SOCK_RAW | SOCK_CLOEXEC` netlink socket of `protocol`, binds it to an
/// automatically chosen port id and the multicast `groups` bitmask, and returns the fd and
/// its port id.
///
/// # References
/// - <https://man7.org/linux/man-pages/man7/netlink.7.html>
pub(crate) fn open(protocol: u32, groups: u32) -> Result<(OwnedFd, u32), Errno> {
    let proto = std::num::NonZeroU32::new(protocol).map(rustix::net::Protocol::from_raw);
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        proto,
    )
    .map_err(errno)?;
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups)).map_err(errno)?;
    let addr = rustix::net::getsockname(&fd).map_err(errno)?;
    let port = SocketAddrNetlink::try_from(addr)
        .map(|a| a.pid())
        .map_err(errno)?;
    Ok((fd, port))
}

/// `SOL_NETLINK` from `<linux/socket.h>`.
const SOL_NETLINK: libc::c_int = 270;
/// `NETLINK_CAP_ACK`: do not echo the whole request in error messages.
pub(crate) const NETLINK_CAP_ACK: libc::c_int = 10;
/// `NETLINK_EXT_ACK`: add extended-ack attributes (error text) to error messages.
pub(crate) const NETLINK_EXT_ACK: libc::c_int = 11;

/// `setsockopt(fd, SOL_NETLINK, option, &1)`.
///
/// # References
/// - <https://man7.org/linux/man-pages/man7/netlink.7.html> (socket options)
pub(crate) fn enable_netlink_option(fd: BorrowedFd<'_>, option: libc::c_int) -> Result<(), Errno> {
    let one: libc::c_int = 1;
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: `fd` is a live socket borrowed for the call; the option value points to a
    // `c_int` on this stack frame that outlives the call, and `len` is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_NETLINK,
            option,
            std::ptr::from_ref(&one).cast::<libc::c_void>(),
            len,
        )
    };
    Errno::result(rc).map(drop)
}

/// Raises the receive buffer: forced (beyond `rmem_max`) when we have `CAP_NET_ADMIN`,
/// otherwise as far as `rmem_max` allows.
pub(crate) fn set_receive_buffer(fd: BorrowedFd<'_>, bytes: usize) -> Result<(), Errno> {
    rustix::net::sockopt::set_socket_recv_buffer_size_force(fd, bytes)
        .or_else(|_| rustix::net::sockopt::set_socket_recv_buffer_size(fd, bytes))
        .map_err(errno)
}

/// The receive buffer size the kernel accounts against (twice the value set).
pub(crate) fn receive_buffer(fd: BorrowedFd<'_>) -> Result<usize, Errno> {
    rustix::net::sockopt::socket_recv_buffer_size(fd).map_err(errno)
}

/// `send(fd, buf, 0)` to the kernel (port 0), retried on `EINTR`.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    loop {
        match rustix::net::send(fd, buf, SendFlags::empty()) {
            Err(rustix::io::Errno::INTR) => {}
            r => return r.map_err(errno),
        }
    }
}

/// `recv(fd, buf, MSG_TRUNC)`: returns the datagram's real length, which is larger than
/// `buf` when it was truncated. Retried on `EINTR`.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match rustix::net::recv(fd, &mut *buf, RecvFlags::TRUNC) {
            Err(rustix::io::Errno::INTR) => {}
            r => return r.map(|(_, len)| len).map_err(errno),
        }
    }
}

/// `recv(fd, buf, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT)`: the length of the next
/// datagram, or `EAGAIN` when none is queued.
pub(crate) fn peek_len(fd: BorrowedFd<'_>) -> Result<usize, Errno> {
    let mut probe = [0u8; 16];
    loop {
        let flags = RecvFlags::TRUNC | RecvFlags::PEEK | RecvFlags::DONTWAIT;
        match rustix::net::recv(fd, &mut probe[..], flags) {
            Err(rustix::io::Errno::INTR) => {}
            r => return r.map(|(_, len)| len).map_err(errno),
        }
    }
}

/// Waits until `fd` is readable; `Ok(false)` on timeout. `None` waits forever.
///
/// # References
/// - <https://man7.org/linux/man-pages/man2/poll.2.html>
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> Result<bool, Errno> {
    let timeout = match timeout {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
    };
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    loop {
        match nix::poll::poll(&mut fds, timeout) {
            Err(Errno::EINTR) => {}
            Ok(n) => return Ok(n > 0),
            Err(e) => return Err(e),
        }
    }
}

/// `SIOCETHTOOL` from `<linux/sockios.h>`.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// `ETHTOOL_GDRVINFO` from `<linux/ethtool.h>`.
const ETHTOOL_GDRVINFO: u32 = 3;

/// `struct ethtool_drvinfo` (196 bytes).
#[repr(C)]
struct EthtoolDrvinfo {
    cmd: u32,
    driver: [u8; 32],
    rest: [u8; 160],
}

/// `struct ifreq` with the `ifr_data` member of the union (40 bytes on LP64).
#[repr(C)]
struct IfreqData {
    name: [u8; 16],
    data: *mut libc::c_void,
    pad: [u8; 16],
}

/// The driver name of link `name` in the calling thread's network namespace, as
/// `ethtool -i` prints it (`ETHTOOL_GDRVINFO`). Added for networkd's `[Match] Driver=`.
///
/// # References
/// - <https://man7.org/linux/man-pages/man7/netdevice.7.html> (`SIOCETHTOOL`)
pub(crate) fn ethtool_driver(name: &str) -> Result<String, Errno> {
    let mut req = IfreqData {
        name: [0; 16],
        data: std::ptr::null_mut(),
        pad: [0; 16],
    };
    if name.is_empty() || name.len() >= req.name.len() {
        return Err(Errno::EINVAL);
    }
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    let mut info = EthtoolDrvinfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        rest: [0; 160],
    };
    req.data = std::ptr::from_mut(&mut info).cast::<libc::c_void>();
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(errno)?;
    // SAFETY: `sock` is a live socket; `req` is an `ifreq` whose `ifr_data` points to an
    // `ethtool_drvinfo` on this stack frame; both outlive the call and the kernel writes
    // at most `sizeof(struct ethtool_drvinfo)` bytes to it.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL, std::ptr::from_mut(&mut req)) };
    Errno::result(rc)?;
    let len = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    Ok(String::from_utf8_lossy(&info.driver[..len]).into_owned())
}
