//! The socket-specific keys of `[Socket]` (`Socket.*` of systemd 248's gperf table, besides
//! the shared exec, kill and resource-control keys), with `socket_init`'s defaults, the
//! setting lines of 248's `socket_dump`, and the checks of `socket_verify`
//! (systemd.socket(5) of 248).
//!
//! Listen addresses are parsed as 248's `socket_address_parse` does: an absolute path is an
//! `AF_UNIX` socket, `@name` an abstract one, `vsock:CID:PORT` an `AF_VSOCK` one, a bare port
//! listens on every address, `ADDRESS:PORT` / `[ADDRESS]:PORT` (optionally followed by
//! `%IFNAME`) on one address. Interface names are kept as names: checking that the interface
//! exists is the manager's job.
//!
//! Keys newer than 248 are deliberately absent: `PassFileDescriptorsToExec=` (256),
//! `PollLimitIntervalSec=`, `PollLimitBurst=` (255), `DeferTrigger=`,
//! `DeferTriggerMaxSec=`, `PassPIDFD=`, `AcceptFileDescriptors=` (257+). `SmackLabel*=` are
//! parsed as strings (as on builds with SMACK support).
//!
//! `Backlog=` defaults to `INT_MAX` (systemd's `SOMAXCONN_DELUXE`: the kernel clamps it to
//! `net.core.somaxconn`), as Debian's systemd prints it.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use keel_core::boolean::yes_no;
use keel_core::size::{ParseSizeError, parse_size};
use keel_core::specifier::{UNIT_NAME_SPECIFIERS, expand_specifiers_limited};
use keel_core::time::Usec;
use keel_core::unit_name::UnitName;
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::creds::{valid_user_group_name_relaxed, valid_user_group_name_strict};
use super::exec::value::{
    PathCheck, Words, expand, expand_or, set_bool, signed, simplify_path, unit_string, unsigned,
};
use super::exec::{choice, parse_choice, sec};
use super::exec_command::{ExecCommand, parse_exec};
use super::mount::{pair, sec_fix_0, set_mode, span};

choice! {
    /// `BindIPv6Only=` (booleans accepted: yes → `ipv6-only`, no → `both`).
    #[doc(alias = "BindIPv6Only=")]
    BindIpv6Only { Default = "default", Both = "both", Ipv6Only = "ipv6-only" }
}

choice! {
    /// `Timestamping=`.
    #[doc(alias = "Timestamping=")]
    SocketTimestamping { Off = "off", Us = "us", Ns = "ns" }
}

choice! {
    /// `SocketProtocol=`: the protocols 248 accepts there.
    #[doc(alias = "SocketProtocol=")]
    SocketProtocol { Udplite = "udplite", Sctp = "sctp" }
}

/// Netlink family names (`netlink_family_table`), by protocol number.
const NETLINK_FAMILIES: &[(&str, u32)] = &[
    ("route", 0),
    ("firewall", 3),
    ("inet-diag", 4),
    ("nflog", 5),
    ("xfrm", 6),
    ("selinux", 7),
    ("iscsi", 8),
    ("audit", 9),
    ("fib-lookup", 10),
    ("connector", 11),
    ("netfilter", 12),
    ("ip6-fw", 13),
    ("dnrtmsg", 14),
    ("kobject-uevent", 15),
    ("generic", 16),
    ("scsitransport", 18),
    ("ecryptfs", 19),
    ("rdma", 20),
];

/// A netlink protocol family (`NETLINK_ROUTE`, `NETLINK_KOBJECT_UEVENT`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct NetlinkFamily(u32);

impl NetlinkFamily {
    /// `NETLINK_ROUTE`
    pub const ROUTE: Self = Self(0);
    /// `NETLINK_KOBJECT_UEVENT`
    pub const KOBJECT_UEVENT: Self = Self(15);

    /// The protocol number.
    pub fn as_raw(self) -> u32 {
        self.0
    }

    /// A family from its protocol number.
    pub fn from_raw(n: u32) -> Self {
        Self(n)
    }

    /// `netlink_family_from_string`: a name (`route`, `kobject-uevent`, …) or a number.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some((_, n)) = NETLINK_FAMILIES.iter().find(|(name, _)| *name == s) {
            return Some(Self(*n));
        }
        unsigned::<u32>(s)
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Self)
    }
}

impl fmt::Display for NetlinkFamily {
    /// The name, or the number for families without one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NETLINK_FAMILIES.iter().find(|(_, n)| *n == self.0) {
            Some((name, _)) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// `VMADDR_CID_ANY`, printed for a vsock address without a CID.
const VMADDR_CID_ANY: u32 = u32::MAX;
/// `sizeof(sun_path)`.
const SUN_PATH_MAX: usize = 108;

/// A socket address of `ListenStream=`, `ListenDatagram=` or `ListenSequentialPacket=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum SocketAddress {
    /// `PORT`: every address (IPv6 `[::]`, dual-stack unless `BindIPv6Only=`).
    Port(u16),
    /// `A.B.C.D:PORT[%IFNAME]`.
    Inet {
        /// The address.
        addr: Ipv4Addr,
        /// The port (never 0).
        port: u16,
        /// `%IFNAME`, if given.
        interface: Option<String>,
    },
    /// `[ADDRESS]:PORT[%IFNAME]`.
    Inet6 {
        /// The address.
        addr: Ipv6Addr,
        /// The port (never 0).
        port: u16,
        /// `%IFNAME`, if given (the scope of a link-local address).
        interface: Option<String>,
    },
    /// An absolute path: an `AF_UNIX` socket in the file system.
    Unix(PathBuf),
    /// `@NAME`: an abstract `AF_UNIX` socket (the name without the `@`).
    Abstract(String),
    /// `vsock:CID:PORT` (`None`: `VMADDR_CID_ANY`, written `vsock::PORT`).
    Vsock {
        /// The context id.
        cid: Option<u32>,
        /// The port.
        port: u32,
    },
}

/// Why a listen address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocketAddressError {
    /// Not an address (`EINVAL`).
    #[error("invalid socket address {0:?}")]
    Invalid(String),
    /// A number out of range, such as a port above 65535 (`ERANGE`).
    #[error("socket address {0:?} is out of range")]
    OutOfRange(String),
}

impl SocketAddressError {
    /// The `strerror` text systemd prints for it.
    fn errno_text(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "Invalid argument",
            Self::OutOfRange(_) => "Numerical result out of range",
        }
    }
}

/// `ifname_valid_full(…, IFNAME_VALID_NUMERIC)`-style check; `numeric_ok` allows an all-digit
/// name (an interface index).
fn ifname_valid(name: &str, numeric_ok: bool) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b > 32 && b < 127 && b != b':' && b != b'/')
        && (numeric_ok || !name.bytes().all(|b| b.is_ascii_digit()))
}

/// `parse_ip_port`: 1…65535.
fn parse_port(s: &str) -> Result<u16, SocketAddressError> {
    let inval = || SocketAddressError::Invalid(s.to_owned());
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(inval());
    }
    let n: u64 = s
        .parse()
        .map_err(|_| SocketAddressError::OutOfRange(s.to_owned()))?;
    let p = u16::try_from(n).map_err(|_| SocketAddressError::OutOfRange(s.to_owned()))?;
    if p == 0 {
        return Err(inval());
    }
    Ok(p)
}

impl SocketAddress {
    /// Parses a listen address as 248's `socket_address_parse`.
    ///
    /// # Errors
    ///
    /// [`SocketAddressError`] when 248 would refuse it.
    ///
    /// ```
    /// use keel_unit::model::socket::SocketAddress;
    /// assert_eq!(SocketAddress::parse("80")?, SocketAddress::Port(80));
    /// assert_eq!(SocketAddress::parse("[::1]:53")?.to_string(), "[::1]:53");
    /// assert!(SocketAddress::parse("127.0.0.1").is_err());
    /// # Ok::<(), keel_unit::model::socket::SocketAddressError>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self, SocketAddressError> {
        let inval = || SocketAddressError::Invalid(s.to_owned());
        if s.starts_with('/') {
            if s.len() >= SUN_PATH_MAX {
                return Err(inval());
            }
            return Ok(Self::Unix(PathBuf::from(s)));
        }
        if let Some(name) = s.strip_prefix('@') {
            if name.len() >= SUN_PATH_MAX - 1 {
                return Err(inval());
            }
            return Ok(Self::Abstract(name.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("vsock:") {
            let (cid, port) = rest.split_once(':').ok_or_else(inval)?;
            let num = |t: &str| -> Result<u32, SocketAddressError> {
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(inval());
                }
                t.parse()
                    .map_err(|_| SocketAddressError::OutOfRange(s.to_owned()))
            };
            let port = num(port)?;
            let cid = if cid.is_empty() {
                None
            } else {
                Some(num(cid)?)
            };
            return Ok(Self::Vsock { cid, port });
        }
        match parse_port(s) {
            Ok(p) => return Ok(Self::Port(p)),
            Err(e @ SocketAddressError::OutOfRange(_)) => return Err(e),
            Err(SocketAddressError::Invalid(_)) => {}
        }
        // in_addr_port_ifindex_name_from_string_auto() without a server name.
        if s.contains('#') {
            return Err(inval());
        }
        let (body, interface) = match s.split_once('%') {
            Some((b, ifname)) => {
                if !ifname_valid(ifname, true) {
                    return Err(inval());
                }
                (b, Some(ifname.to_owned()))
            }
            None => (s, None),
        };
        let (addr, port) = body.rsplit_once(':').ok_or_else(inval)?;
        if let Some(inner) = addr.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(inval)?;
            let port = parse_port(port)?;
            let addr: Ipv6Addr = inner.parse().map_err(|_| inval())?;
            return Ok(Self::Inet6 {
                addr,
                port,
                interface,
            });
        }
        if body.parse::<Ipv6Addr>().is_ok() {
            // An IPv6 address without a port: port 0, refused.
            return Err(inval());
        }
        let addr: Ipv4Addr = addr.parse().map_err(|_| inval())?;
        let port = parse_port(port)?;
        Ok(Self::Inet {
            addr,
            port,
            interface,
        })
    }

    /// Whether it is an `AF_UNIX` address (file system or abstract).
    pub fn is_unix(&self) -> bool {
        matches!(self, Self::Unix(_) | Self::Abstract(_))
    }
}

impl fmt::Display for SocketAddress {
    /// As 248's `socket_address_print` shows it (`[::]:80`, `127.0.0.1:53`, `/run/x.sock`,
    /// `@name`, `vsock:2:1024`); an interface is shown by name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Port(p) => write!(f, "[::]:{p}"),
            Self::Inet { addr, port, .. } => write!(f, "{addr}:{port}"),
            Self::Inet6 {
                addr,
                port,
                interface,
            } => {
                if let Some(v4) = addr.to_ipv4_mapped() {
                    return write!(f, "{v4}:{port}");
                }
                match interface {
                    Some(i) => write!(f, "[{addr}%{i}]:{port}"),
                    None => write!(f, "[{addr}]:{port}"),
                }
            }
            Self::Unix(p) => write!(f, "{}", p.display()),
            Self::Abstract(n) => write!(f, "@{n}"),
            Self::Vsock { cid, port } => {
                write!(f, "vsock:{}:{port}", cid.unwrap_or(VMADDR_CID_ANY))
            }
        }
    }
}

/// One `Listen*=` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum SocketListen {
    /// `ListenStream=`
    Stream(SocketAddress),
    /// `ListenDatagram=`
    Datagram(SocketAddress),
    /// `ListenSequentialPacket=` (`AF_UNIX` only)
    SequentialPacket(SocketAddress),
    /// `ListenNetlink=FAMILY [GROUP]`
    Netlink {
        /// The netlink family.
        family: NetlinkFamily,
        /// The multicast group (default 0).
        group: u32,
    },
    /// `ListenFIFO=`
    Fifo(PathBuf),
    /// `ListenSpecial=`
    Special(PathBuf),
    /// `ListenMessageQueue=`
    MessageQueue(PathBuf),
    /// `ListenUSBFunction=`
    UsbFunction(PathBuf),
}

impl SocketListen {
    /// The key that sets this entry.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Stream(_) => "ListenStream",
            Self::Datagram(_) => "ListenDatagram",
            Self::SequentialPacket(_) => "ListenSequentialPacket",
            Self::Netlink { .. } => "ListenNetlink",
            Self::Fifo(_) => "ListenFIFO",
            Self::Special(_) => "ListenSpecial",
            Self::MessageQueue(_) => "ListenMessageQueue",
            Self::UsbFunction(_) => "ListenUSBFunction",
        }
    }

    /// `socket_address_can_accept`: only stream and sequential-packet sockets accept.
    pub fn can_accept(&self) -> bool {
        matches!(self, Self::Stream(_) | Self::SequentialPacket(_))
    }

    /// The file system node it creates (`socket_find_symlink_target`), if any.
    fn node(&self) -> Option<&PathBuf> {
        match self {
            Self::Fifo(p) => Some(p),
            Self::Stream(SocketAddress::Unix(p))
            | Self::Datagram(SocketAddress::Unix(p))
            | Self::SequentialPacket(SocketAddress::Unix(p)) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for SocketListen {
    /// The value as `socket_dump` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stream(a) | Self::Datagram(a) | Self::SequentialPacket(a) => a.fmt(f),
            Self::Netlink { family, group } => write!(f, "{family} {group}"),
            Self::Fifo(p) | Self::Special(p) | Self::MessageQueue(p) | Self::UsbFunction(p) => {
                write!(f, "{}", p.display())
            }
        }
    }
}

/// The `Exec*=` lists of a socket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SocketCommands {
    /// `ExecStartPre=`
    pub start_pre: Vec<ExecCommand>,
    /// `ExecStartPost=`
    pub start_post: Vec<ExecCommand>,
    /// `ExecStopPre=`
    pub stop_pre: Vec<ExecCommand>,
    /// `ExecStopPost=`
    pub stop_post: Vec<ExecCommand>,
}

impl SocketCommands {
    /// `(key, list)` pairs in systemd's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Vec<ExecCommand>)> {
        [
            ("ExecStartPre", &self.start_pre),
            ("ExecStartPost", &self.start_post),
            ("ExecStopPre", &self.stop_pre),
            ("ExecStopPost", &self.stop_post),
        ]
        .into_iter()
    }

    /// Mutable access to every list (for post-load fix-ups such as program lookup).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Vec<ExecCommand>> {
        [
            &mut self.start_pre,
            &mut self.start_post,
            &mut self.stop_pre,
            &mut self.stop_post,
        ]
        .into_iter()
    }
}

/// The `[Socket]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SocketSettings {
    /// `ListenStream=`, `ListenDatagram=`, `ListenSequentialPacket=`, `ListenFIFO=`,
    /// `ListenNetlink=`, `ListenSpecial=`, `ListenMessageQueue=`, `ListenUSBFunction=`, in
    /// file order (an empty value of any of them clears all).
    #[doc(alias = "ListenStream=")]
    pub listen: Vec<SocketListen>,
    /// `SocketProtocol=` (default unset: the family's default protocol)
    pub socket_protocol: Option<SocketProtocol>,
    /// `BindIPv6Only=` (default `default`)
    pub bind_ipv6_only: BindIpv6Only,
    /// `Backlog=` (default 2147483647, clamped by the kernel)
    #[doc(alias = "Backlog=")]
    pub backlog: u32,
    /// `BindToDevice=` (default unset; `*` and empty reset)
    #[doc(alias = "BindToDevice=")]
    pub bind_to_device: Option<String>,
    /// The `Exec*=` command lists.
    pub commands: SocketCommands,
    /// `TimeoutSec=` (default 90s, the manager's `DefaultTimeoutStartSec=`; `0` means
    /// infinity)
    #[doc(alias = "TimeoutSec=")]
    pub timeout: Usec,
    /// `SocketUser=` (default unset: root)
    #[doc(alias = "SocketUser=")]
    pub socket_user: Option<String>,
    /// `SocketGroup=` (default unset: root)
    #[doc(alias = "SocketGroup=")]
    pub socket_group: Option<String>,
    /// `SocketMode=` (default `0666`)
    #[doc(alias = "SocketMode=")]
    pub socket_mode: u32,
    /// `DirectoryMode=` (default `0755`)
    #[doc(alias = "DirectoryMode=")]
    pub directory_mode: u32,
    /// `Accept=` (default no)
    #[doc(alias = "Accept=")]
    pub accept: bool,
    /// `FlushPending=` (default no)
    #[doc(alias = "FlushPending=")]
    pub flush_pending: bool,
    /// `Writable=` (default no)
    #[doc(alias = "Writable=")]
    pub writable: bool,
    /// `MaxConnections=` (default 64)
    #[doc(alias = "MaxConnections=")]
    pub max_connections: u32,
    /// `MaxConnectionsPerSource=` (default 0: no limit)
    #[doc(alias = "MaxConnectionsPerSource=")]
    pub max_connections_per_source: u32,
    /// `KeepAlive=` (default no)
    #[doc(alias = "KeepAlive=")]
    pub keep_alive: bool,
    /// `KeepAliveTimeSec=` (default 0: the kernel's)
    #[doc(alias = "KeepAliveTimeSec=")]
    pub keep_alive_time: Usec,
    /// `KeepAliveIntervalSec=` (default 0: the kernel's)
    #[doc(alias = "KeepAliveIntervalSec=")]
    pub keep_alive_interval: Usec,
    /// `KeepAliveProbes=` (default 0: the kernel's)
    #[doc(alias = "KeepAliveProbes=")]
    pub keep_alive_probes: u32,
    /// `DeferAcceptSec=` (default 0: off)
    #[doc(alias = "DeferAcceptSec=")]
    pub defer_accept: Usec,
    /// `NoDelay=` (default no)
    #[doc(alias = "NoDelay=")]
    pub no_delay: bool,
    /// `Priority=` (default unset; a negative value means unset)
    #[doc(alias = "Priority=")]
    pub priority: Option<i32>,
    /// `ReceiveBuffer=` in bytes (default 0: the kernel's)
    #[doc(alias = "ReceiveBuffer=")]
    pub receive_buffer: u64,
    /// `SendBuffer=` in bytes (default 0: the kernel's)
    #[doc(alias = "SendBuffer=")]
    pub send_buffer: u64,
    /// `IPTOS=` (default unset)
    #[doc(alias = "IPTOS=")]
    pub ip_tos: Option<u8>,
    /// `IPTTL=` (default unset; a negative value means unset)
    #[doc(alias = "IPTTL=")]
    pub ip_ttl: Option<i32>,
    /// `Mark=` (default unset; a negative value means unset)
    #[doc(alias = "Mark=")]
    pub mark: Option<i32>,
    /// `PipeSize=` in bytes (default 0: the kernel's)
    #[doc(alias = "PipeSize=")]
    pub pipe_size: u64,
    /// `FreeBind=` (default no)
    #[doc(alias = "FreeBind=")]
    pub free_bind: bool,
    /// `Transparent=` (default no)
    #[doc(alias = "Transparent=")]
    pub transparent: bool,
    /// `Broadcast=` (default no)
    #[doc(alias = "Broadcast=")]
    pub broadcast: bool,
    /// `PassCredentials=` (default no)
    #[doc(alias = "PassCredentials=")]
    pub pass_credentials: bool,
    /// `PassSecurity=` (default no)
    #[doc(alias = "PassSecurity=")]
    pub pass_security: bool,
    /// `PassPacketInfo=` (default no)
    #[doc(alias = "PassPacketInfo=")]
    pub pass_packet_info: bool,
    /// `Timestamping=` (default off)
    pub timestamping: SocketTimestamping,
    /// `TCPCongestion=` (default unset)
    #[doc(alias = "TCPCongestion=")]
    pub tcp_congestion: Option<String>,
    /// `ReusePort=` (default no)
    #[doc(alias = "ReusePort=")]
    pub reuse_port: bool,
    /// `MessageQueueMaxMessages=` (default 0: the kernel's)
    #[doc(alias = "MessageQueueMaxMessages=")]
    pub message_queue_max_messages: i64,
    /// `MessageQueueMessageSize=` (default 0: the kernel's)
    #[doc(alias = "MessageQueueMessageSize=")]
    pub message_queue_message_size: i64,
    /// `RemoveOnStop=` (default no)
    #[doc(alias = "RemoveOnStop=")]
    pub remove_on_stop: bool,
    /// `Symlinks=`: absolute, simplified paths (empty resets).
    #[doc(alias = "Symlinks=")]
    pub symlinks: Vec<PathBuf>,
    /// `FileDescriptorName=` (default unset: `connection` with `Accept=yes`, else the unit
    /// name; see [`SocketSettings::fd_name`])
    #[doc(alias = "FileDescriptorName=")]
    pub file_descriptor_name: Option<String>,
    /// `Service=` (default unset: the service of the same name)
    #[doc(alias = "Service=")]
    pub service: Option<UnitName>,
    /// `TriggerLimitIntervalSec=` (default unset: 2s)
    #[doc(alias = "TriggerLimitIntervalSec=")]
    pub trigger_limit_interval: Option<Usec>,
    /// `TriggerLimitBurst=` (default unset: 200 with `Accept=yes`, else 20)
    #[doc(alias = "TriggerLimitBurst=")]
    pub trigger_limit_burst: Option<u32>,
    /// `SmackLabel=`
    #[doc(alias = "SmackLabel=")]
    pub smack_label: Option<String>,
    /// `SmackLabelIPIn=`
    #[doc(alias = "SmackLabelIPIn=")]
    pub smack_label_ip_in: Option<String>,
    /// `SmackLabelIPOut=`
    #[doc(alias = "SmackLabelIPOut=")]
    pub smack_label_ip_out: Option<String>,
    /// `SELinuxContextFromNet=` (default no)
    #[doc(alias = "SELinuxContextFromNet=")]
    pub selinux_context_from_net: bool,
}

impl Default for SocketSettings {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            socket_protocol: None,
            bind_ipv6_only: BindIpv6Only::Default,
            backlog: 2_147_483_647,
            bind_to_device: None,
            commands: SocketCommands::default(),
            timeout: Usec::from_secs(90),
            socket_user: None,
            socket_group: None,
            socket_mode: 0o666,
            directory_mode: 0o755,
            accept: false,
            flush_pending: false,
            writable: false,
            max_connections: 64,
            max_connections_per_source: 0,
            keep_alive: false,
            keep_alive_time: Usec::ZERO,
            keep_alive_interval: Usec::ZERO,
            keep_alive_probes: 0,
            defer_accept: Usec::ZERO,
            no_delay: false,
            priority: None,
            receive_buffer: 0,
            send_buffer: 0,
            ip_tos: None,
            ip_ttl: None,
            mark: None,
            pipe_size: 0,
            free_bind: false,
            transparent: false,
            broadcast: false,
            pass_credentials: false,
            pass_security: false,
            pass_packet_info: false,
            timestamping: SocketTimestamping::Off,
            tcp_congestion: None,
            reuse_port: false,
            message_queue_max_messages: 0,
            message_queue_message_size: 0,
            remove_on_stop: false,
            symlinks: Vec::new(),
            file_descriptor_name: None,
            service: None,
            trigger_limit_interval: None,
            trigger_limit_burst: None,
            smack_label: None,
            smack_label_ip_in: None,
            smack_label_ip_out: None,
            selinux_context_from_net: false,
        }
    }
}

impl SocketSettings {
    /// `TriggerLimitIntervalSec=` after load-time defaulting (2s).
    pub fn effective_trigger_limit_interval(&self) -> Usec {
        self.trigger_limit_interval.unwrap_or(Usec::from_secs(2))
    }

    /// `TriggerLimitBurst=` after load-time defaulting (200 with `Accept=yes`, else 20).
    pub fn effective_trigger_limit_burst(&self) -> u32 {
        self.trigger_limit_burst
            .unwrap_or(if self.accept { 200 } else { 20 })
    }

    /// `FileDescriptorName=` after load-time defaulting (`socket_fdname`): as set, else
    /// `connection` with `Accept=yes`, else the unit name.
    pub fn fd_name<'a>(&'a self, name: &'a UnitName) -> &'a str {
        match &self.file_descriptor_name {
            Some(n) => n,
            None if self.accept => "connection",
            None => name.as_str(),
        }
    }

    /// 248's `socket_verify` (without the PAM check, which needs the exec settings).
    ///
    /// # Errors
    ///
    /// The message systemd logs before refusing the unit (`bad-setting`).
    pub fn verify(&self) -> Result<(), String> {
        if self.listen.is_empty() {
            return Err("Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.".into());
        }
        if self.accept && self.listen.iter().any(|l| !l.can_accept()) {
            return Err(
                "Unit configured for accepting sockets, but sockets are non-accepting. Refusing."
                    .into(),
            );
        }
        if self.accept && self.max_connections == 0 {
            return Err("MaxConnection= setting too small. Refusing.".into());
        }
        if self.accept && self.service.is_some() {
            return Err("Explicit service configuration for accepting socket units not supported. Refusing.".into());
        }
        if !self.symlinks.is_empty()
            && self.listen.iter().filter_map(SocketListen::node).count() != 1
        {
            return Err("Unit has symlinks set but none or more than one node in the file system. Refusing.".into());
        }
        Ok(())
    }

    /// The setting lines of 248's `socket_dump` for the socket `name` that come before the
    /// exec and kill settings, as `(label, value)` pairs, without the run-time lines
    /// (`Socket State:`, `Result:`, `Clean Result:`, `Control PID:`, `Accepted:`,
    /// `NConnections:`). The command lists (`-> ExecStartPre:` …) follow the exec and kill
    /// lines in 248's dump: see [`SocketSettings::commands`].
    pub(crate) fn dump(&self, name: &UnitName, out: &mut Vec<(String, String)>) {
        pair(out, "BindIPv6Only", self.bind_ipv6_only);
        pair(out, "Backlog", self.backlog);
        pair(out, "SocketMode", format!("{:04o}", self.socket_mode));
        pair(out, "DirectoryMode", format!("{:04o}", self.directory_mode));
        pair(out, "KeepAlive", yes_no(self.keep_alive));
        pair(out, "NoDelay", yes_no(self.no_delay));
        pair(out, "FreeBind", yes_no(self.free_bind));
        pair(out, "Transparent", yes_no(self.transparent));
        pair(out, "Broadcast", yes_no(self.broadcast));
        pair(out, "PassCredentials", yes_no(self.pass_credentials));
        pair(out, "PassSecurity", yes_no(self.pass_security));
        pair(out, "PassPacketInfo", yes_no(self.pass_packet_info));
        pair(
            out,
            "TCPCongestion",
            self.tcp_congestion.as_deref().unwrap_or("n/a"),
        );
        pair(out, "RemoveOnStop", yes_no(self.remove_on_stop));
        pair(out, "Writable", yes_no(self.writable));
        pair(out, "FileDescriptorName", self.fd_name(name));
        pair(
            out,
            "SELinuxContextFromNet",
            yes_no(self.selinux_context_from_net),
        );
        if self.timestamping != SocketTimestamping::Off {
            pair(out, "Timestamping", self.timestamping);
        }
        if let Some(d) = &self.bind_to_device {
            pair(out, "BindToDevice", d);
        }
        if self.accept {
            pair(out, "MaxConnections", self.max_connections);
            pair(
                out,
                "MaxConnectionsPerSource",
                self.max_connections_per_source,
            );
        } else {
            pair(out, "FlushPending", yes_no(self.flush_pending));
        }
        if let Some(p) = self.priority {
            pair(out, "Priority", p);
        }
        if self.receive_buffer > 0 {
            pair(out, "ReceiveBuffer", self.receive_buffer);
        }
        if self.send_buffer > 0 {
            pair(out, "SendBuffer", self.send_buffer);
        }
        if let Some(t) = self.ip_tos {
            pair(out, "IPTOS", t);
        }
        if let Some(t) = self.ip_ttl {
            pair(out, "IPTTL", t);
        }
        if self.pipe_size > 0 {
            pair(out, "PipeSize", self.pipe_size);
        }
        if let Some(m) = self.mark {
            pair(out, "Mark", m);
        }
        if self.message_queue_max_messages > 0 {
            pair(
                out,
                "MessageQueueMaxMessages",
                self.message_queue_max_messages,
            );
        }
        if self.message_queue_message_size > 0 {
            pair(
                out,
                "MessageQueueMessageSize",
                self.message_queue_message_size,
            );
        }
        if self.reuse_port {
            pair(out, "ReusePort", "yes");
        }
        for (k, v) in [
            ("SmackLabel", &self.smack_label),
            ("SmackLabelIPIn", &self.smack_label_ip_in),
            ("SmackLabelIPOut", &self.smack_label_ip_out),
        ] {
            if let Some(v) = v {
                pair(out, k, v);
            }
        }
        let user = self.socket_user.as_deref().filter(|u| !u.is_empty());
        let group = self.socket_group.as_deref().filter(|g| !g.is_empty());
        if user.is_some() || group.is_some() {
            pair(out, "SocketUser", user.unwrap_or("n/a"));
            pair(out, "SocketGroup", group.unwrap_or("n/a"));
        }
        if self.keep_alive_time > Usec::ZERO {
            pair(out, "KeepAliveTimeSec", span(self.keep_alive_time));
        }
        if self.keep_alive_interval > Usec::ZERO {
            pair(out, "KeepAliveIntervalSec", span(self.keep_alive_interval));
        }
        if self.keep_alive_probes > 0 {
            pair(out, "KeepAliveProbes", self.keep_alive_probes);
        }
        if self.defer_accept > Usec::ZERO {
            pair(out, "DeferAcceptSec", span(self.defer_accept));
        }
        for l in &self.listen {
            pair(out, l.key(), l);
        }
        pair(
            out,
            "TriggerLimitIntervalSec",
            span(self.effective_trigger_limit_interval()),
        );
        pair(
            out,
            "TriggerLimitBurst",
            self.effective_trigger_limit_burst(),
        );
        if let Some(p) = self.socket_protocol {
            pair(out, "SocketProtocol", p);
        }
        if !self.symlinks.is_empty() {
            let list: Vec<String> = self
                .symlinks
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            pair(out, "Symlinks", list.join(" "));
        }
        pair(out, "TimeoutSec", span(self.timeout));
    }
}

/// `patch_var_run`: `/var/run/…` becomes `/run/…`, with 248's notice.
fn patch_var_run(ctx: &mut ParseCtx<'_>, path: String) -> String {
    match path.strip_prefix("/var/run/") {
        Some(rest) => {
            let new = format!("/run/{rest}");
            ctx.warn(format!(
                "{}= references a path below legacy directory /var/run/, updating {path} → {new}; please update the unit file accordingly.",
                ctx.key
            ));
            new
        }
        None => path,
    }
}

/// `socket_address_parse_netlink`: `FAMILY [GROUP]`.
fn parse_netlink(s: &str) -> Result<SocketListen, &'static str> {
    let (family, rest) = match s.split_once([' ', '\t', '\n', '\r']) {
        Some((f, r)) => (f, r.trim_start_matches([' ', '\t', '\n', '\r'])),
        None => (s, ""),
    };
    if family.is_empty() {
        return Err("Invalid argument");
    }
    let family = NetlinkFamily::parse(family).ok_or("Invalid argument")?;
    let group = if rest.is_empty() {
        0
    } else {
        unsigned::<u32>(rest).ok_or("Invalid argument")?
    };
    Ok(SocketListen::Netlink { family, group })
}

/// `config_parse_socket_listen`: an empty value clears the list.
fn apply_listen(
    s: &mut SocketSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.listen.clear();
        return Ok(());
    }
    let k = expand(ctx, value)?;
    let key = ctx.key;
    let entry = match key {
        "ListenFIFO" | "ListenSpecial" | "ListenMessageQueue" | "ListenUSBFunction" => {
            let mut p = simplify_path(key, &k, PathCheck::Absolute, false)?;
            if key == "ListenFIFO" {
                p = patch_var_run(ctx, p);
            }
            let p = PathBuf::from(p);
            match key {
                "ListenFIFO" => SocketListen::Fifo(p),
                "ListenSpecial" => SocketListen::Special(p),
                "ListenMessageQueue" => SocketListen::MessageQueue(p),
                _ => SocketListen::UsbFunction(p),
            }
        }
        "ListenNetlink" => parse_netlink(&k).map_err(|e| {
            SettingError::invalid(format!(
                "Failed to parse address value in '{k}', ignoring: {e}"
            ))
        })?,
        _ => {
            let k = if k.starts_with('/') {
                patch_var_run(ctx, k)
            } else {
                k
            };
            let a = SocketAddress::parse(&k).map_err(|e| {
                SettingError::invalid(format!(
                    "Failed to parse address value in '{k}', ignoring: {}",
                    e.errno_text()
                ))
            })?;
            match key {
                "ListenStream" => SocketListen::Stream(a),
                "ListenDatagram" => SocketListen::Datagram(a),
                _ => {
                    if !a.is_unix() {
                        return Err(SettingError::invalid(format!(
                            "Address family not supported, ignoring: {value}"
                        )));
                    }
                    SocketListen::SequentialPacket(a)
                }
            }
        }
    };
    s.listen.push(entry);
    Ok(())
}

/// `config_parse_user_group_compat`: fatal errors, as 248.
fn user_group(
    field: &mut Option<String>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        *field = None;
        return Ok(());
    }
    let k = expand_or(ctx, value, true)?;
    if !valid_user_group_name_relaxed(&k) {
        return Err(SettingError::fatal(format!(
            "Invalid user/group name or numeric ID: {k}"
        )));
    }
    if !k.bytes().all(|b| b.is_ascii_digit()) && !valid_user_group_name_strict(&k) {
        ctx.warn(format!(
            "Accepting user/group name '{k}', which does not match strict user/group name rules."
        ));
    }
    *field = Some(k);
    Ok(())
}

/// `config_parse_unsigned`.
fn parse_unsigned(value: &str) -> Result<u32, SettingError> {
    unsigned(value).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse unsigned value, ignoring: {value}"))
    })
}

/// `config_parse_int`; a negative value means "unset" for the socket options that use it.
fn parse_int(value: &str) -> Result<Option<i32>, SettingError> {
    let n = signed(value)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| {
            SettingError::invalid(format!("Failed to parse int value, ignoring: {value}"))
        })?;
    Ok((n >= 0).then_some(n))
}

/// `config_parse_long`.
fn parse_long(value: &str) -> Result<i64, SettingError> {
    signed(value).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse long value, ignoring: {value}"))
    })
}

/// `config_parse_iec_size`.
fn parse_iec_size(value: &str) -> Result<u64, SettingError> {
    parse_size(value, 1024).map_err(|e| {
        let errno = match e {
            ParseSizeError::OutOfRange(_) => "Numerical result out of range",
            _ => "Invalid argument",
        };
        SettingError::invalid(format!(
            "Failed to parse size value '{value}', ignoring: {errno}"
        ))
    })
}

/// `config_parse_ip_tos`: a name or 0…255; empty resets.
fn parse_ip_tos(value: &str) -> Result<Option<u8>, SettingError> {
    let v = match value {
        "" => return Ok(None),
        "low-delay" => Some(0x10),
        "throughput" => Some(0x08),
        "reliability" => Some(0x04),
        "low-cost" => Some(0x02),
        n => unsigned::<u8>(n),
    };
    v.map(Some).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse IP TOS value, ignoring: {value}"))
    })
}

/// `config_parse_socket_protocol` (`parse_ip_protocol`, then only UDP-Lite and SCTP).
fn parse_protocol(value: &str) -> Result<SocketProtocol, SettingError> {
    let lower = value.to_ascii_lowercase();
    let p = match lower.as_str() {
        "udplite" | "136" => Some(SocketProtocol::Udplite),
        "sctp" | "132" => Some(SocketProtocol::Sctp),
        _ => None,
    };
    p.ok_or_else(|| {
        SettingError::invalid(format!(
            "Failed to parse socket protocol, ignoring: {value}"
        ))
    })
}

/// `socket_timestamping_from_string_harder`.
fn parse_timestamping(value: &str) -> Result<SocketTimestamping, SettingError> {
    let t = match value {
        "off" => Some(SocketTimestamping::Off),
        "us" | "usec" | "µs" => Some(SocketTimestamping::Us),
        "ns" | "nsec" => Some(SocketTimestamping::Ns),
        other => keel_core::boolean::parse_boolean(other).ok().map(|b| {
            if b {
                SocketTimestamping::Ns
            } else {
                SocketTimestamping::Off
            }
        }),
    };
    t.ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse timestamping precision: {value}"))
    })
}

/// `config_parse_socket_bind`: a choice or a boolean.
fn parse_bind_ipv6_only(value: &str) -> Result<BindIpv6Only, SettingError> {
    match keel_core::boolean::parse_boolean(value) {
        Ok(true) => Ok(BindIpv6Only::Ipv6Only),
        Ok(false) => Ok(BindIpv6Only::Both),
        Err(_) => parse_choice(value, "Failed to parse bind IPv6 only value"),
    }
}

/// `config_parse_socket_bindtodevice`.
fn apply_bind_to_device(
    s: &mut SocketSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() || value == "*" {
        s.bind_to_device = None;
        return Ok(());
    }
    if !ifname_valid(value, false) {
        return Err(SettingError::invalid(format!(
            "Invalid interface name, ignoring: {value}"
        )));
    }
    s.bind_to_device = Some(value.to_owned());
    Ok(())
}

/// `config_parse_unit_path_strv_printf` (`Symlinks=`): words are added one by one; the
/// first bad word ends the assignment (the words before it stay).
fn apply_symlinks(
    s: &mut SocketSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.symlinks.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let k = expand(ctx, &word)?;
        let p = simplify_path(ctx.key, &k, PathCheck::Absolute, false)?;
        s.symlinks.push(PathBuf::from(p));
    }
    Ok(())
}

/// `fdname_is_valid`: printable ASCII without `:`, under 256 bytes (empty allowed).
fn fdname_is_valid(s: &str) -> bool {
    s.len() < 256 && s.bytes().all(|b| (b' '..127).contains(&b) && b != b':')
}

fn apply_fdname(
    s: &mut SocketSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.file_descriptor_name = None;
        return Ok(());
    }
    let p = expand(ctx, value)?;
    if !fdname_is_valid(&p) {
        return Err(SettingError::invalid(format!(
            "Invalid file descriptor name, ignoring: {p}"
        )));
    }
    s.file_descriptor_name = Some(p);
    Ok(())
}

/// `config_parse_socket_service`: every failure is fatal in 248.
fn apply_service(
    s: &mut SocketSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let p = expand_specifiers_limited(value, ctx.unit, ctx.specifiers, UNIT_NAME_SPECIFIERS)
        .map_err(|e| {
            SettingError::fatal(format!("Failed to resolve unit specifiers in {value}: {e}"))
        })?;
    if !p.ends_with(".service") {
        return Err(SettingError::fatal(format!(
            "Unit must be of type service: {value}"
        )));
    }
    let name = UnitName::new(&p).map_err(|_| {
        SettingError::fatal(format!(
            "Failed to load unit {value}: Unit name {p} is not valid."
        ))
    })?;
    s.service = Some(name);
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<SocketSettings>) -> Directive<SocketSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

macro_rules! exec {
    ($name:literal, $field:ident) => {
        d($name, |s, ctx, v| {
            parse_exec(&mut s.commands.$field, ctx, v)
        })
    };
}

macro_rules! flag {
    ($name:literal, $field:ident) => {
        d($name, |s, _, v| set_bool(&mut s.$field, v))
    };
}

macro_rules! string {
    ($name:literal, $field:ident) => {
        d($name, |s, ctx, v| {
            s.$field = unit_string(ctx, v)?;
            Ok(())
        })
    };
}

/// Every key of 248's `Socket.*` gperf lines besides the exec, kill and cgroup items.
pub(crate) static SOCKET_DIRECTIVES: &[Directive<SocketSettings>] = &[
    d("ListenStream", apply_listen),
    d("ListenDatagram", apply_listen),
    d("ListenSequentialPacket", apply_listen),
    d("ListenFIFO", apply_listen),
    d("ListenNetlink", apply_listen),
    d("ListenSpecial", apply_listen),
    d("ListenMessageQueue", apply_listen),
    d("ListenUSBFunction", apply_listen),
    d("SocketProtocol", |s, _, v| {
        s.socket_protocol = Some(parse_protocol(v)?);
        Ok(())
    }),
    d("BindIPv6Only", |s, _, v| {
        s.bind_ipv6_only = parse_bind_ipv6_only(v)?;
        Ok(())
    }),
    d("Backlog", |s, _, v| {
        s.backlog = parse_unsigned(v)?;
        Ok(())
    }),
    d("BindToDevice", apply_bind_to_device),
    exec!("ExecStartPre", start_pre),
    exec!("ExecStartPost", start_post),
    exec!("ExecStopPre", stop_pre),
    exec!("ExecStopPost", stop_post),
    d("TimeoutSec", |s, ctx, v| {
        s.timeout = sec_fix_0(ctx.key, v)?;
        Ok(())
    }),
    d("SocketUser", |s, ctx, v| {
        user_group(&mut s.socket_user, ctx, v)
    }),
    d("SocketGroup", |s, ctx, v| {
        user_group(&mut s.socket_group, ctx, v)
    }),
    d("SocketMode", |s, _, v| set_mode(&mut s.socket_mode, v)),
    d("DirectoryMode", |s, _, v| {
        set_mode(&mut s.directory_mode, v)
    }),
    flag!("Accept", accept),
    flag!("FlushPending", flush_pending),
    flag!("Writable", writable),
    d("MaxConnections", |s, _, v| {
        s.max_connections = parse_unsigned(v)?;
        Ok(())
    }),
    d("MaxConnectionsPerSource", |s, _, v| {
        s.max_connections_per_source = parse_unsigned(v)?;
        Ok(())
    }),
    flag!("KeepAlive", keep_alive),
    d("KeepAliveTimeSec", |s, _, v| {
        s.keep_alive_time = sec(v)?;
        Ok(())
    }),
    d("KeepAliveIntervalSec", |s, _, v| {
        s.keep_alive_interval = sec(v)?;
        Ok(())
    }),
    d("KeepAliveProbes", |s, _, v| {
        s.keep_alive_probes = parse_unsigned(v)?;
        Ok(())
    }),
    d("DeferAcceptSec", |s, _, v| {
        s.defer_accept = sec(v)?;
        Ok(())
    }),
    flag!("NoDelay", no_delay),
    d("Priority", |s, _, v| {
        s.priority = parse_int(v)?;
        Ok(())
    }),
    d("ReceiveBuffer", |s, _, v| {
        s.receive_buffer = parse_iec_size(v)?;
        Ok(())
    }),
    d("SendBuffer", |s, _, v| {
        s.send_buffer = parse_iec_size(v)?;
        Ok(())
    }),
    d("IPTOS", |s, _, v| {
        s.ip_tos = parse_ip_tos(v)?;
        Ok(())
    }),
    d("IPTTL", |s, _, v| {
        s.ip_ttl = parse_int(v)?;
        Ok(())
    }),
    d("Mark", |s, _, v| {
        s.mark = parse_int(v)?;
        Ok(())
    }),
    d("PipeSize", |s, _, v| {
        s.pipe_size = parse_iec_size(v)?;
        Ok(())
    }),
    flag!("FreeBind", free_bind),
    flag!("Transparent", transparent),
    flag!("Broadcast", broadcast),
    flag!("PassCredentials", pass_credentials),
    flag!("PassSecurity", pass_security),
    flag!("PassPacketInfo", pass_packet_info),
    d("Timestamping", |s, _, v| {
        s.timestamping = parse_timestamping(v)?;
        Ok(())
    }),
    d("TCPCongestion", |s, _, v| {
        s.tcp_congestion = (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    flag!("ReusePort", reuse_port),
    d("MessageQueueMaxMessages", |s, _, v| {
        s.message_queue_max_messages = parse_long(v)?;
        Ok(())
    }),
    d("MessageQueueMessageSize", |s, _, v| {
        s.message_queue_message_size = parse_long(v)?;
        Ok(())
    }),
    flag!("RemoveOnStop", remove_on_stop),
    d("Symlinks", apply_symlinks),
    d("FileDescriptorName", apply_fdname),
    d("Service", apply_service),
    d("TriggerLimitIntervalSec", |s, _, v| {
        s.trigger_limit_interval = Some(sec(v)?);
        Ok(())
    }),
    d("TriggerLimitBurst", |s, _, v| {
        s.trigger_limit_burst = Some(parse_unsigned(v)?);
        Ok(())
    }),
    string!("SmackLabel", smack_label),
    string!("SmackLabelIPIn", smack_label_ip_in),
    string!("SmackLabelIPOut", smack_label_ip_out),
    flag!("SELinuxContextFromNet", selinux_context_from_net),
];

#[cfg(test)]
mod tests;
