//! Errors of keel-netlink, one enum per operation family.

use nix::errno::Errno;

use crate::wire::WireError;

/// Opening or setting up a netlink socket failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocketError {
    /// `socket(2)` or `bind(2)` failed.
    #[error("cannot open a {protocol} netlink socket")]
    Open {
        /// `NETLINK_ROUTE` or `NETLINK_GENERIC`.
        protocol: &'static str,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A socket option could not be set.
    #[error("cannot set netlink socket option {option}")]
    SetOption {
        /// The option's C name.
        option: &'static str,
        /// The errno.
        #[source]
        source: Errno,
    },
}

/// One netlink request failed. `request` describes it the way `ip` would
/// (`RTM_NEWADDR 10.0.0.1/24 dev veth0`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The kernel answered with an error.
    #[error("{request}{}", .message.as_ref().map(|m| format!(" (kernel: {m})")).unwrap_or_default())]
    Kernel {
        /// The failing request.
        request: String,
        /// The extended-ack text (`NLMSGERR_ATTR_MSG`), if the kernel gave one.
        message: Option<String>,
        /// The errno.
        #[source]
        errno: Errno,
    },
    /// `send(2)` failed.
    #[error("{request}: cannot send")]
    Send {
        /// The request.
        request: String,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// `recv(2)` or `poll(2)` failed (`ENOBUFS`: the receive queue overflowed).
    #[error("{request}: cannot receive the reply")]
    Receive {
        /// The request.
        request: String,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// No reply within the socket's timeout.
    #[error("{request}: no reply from the kernel in time")]
    Timeout {
        /// The request.
        request: String,
    },
    /// The reply could not be parsed.
    #[error("{request}: malformed reply")]
    Malformed {
        /// The request.
        request: String,
        /// What was wrong.
        #[source]
        source: WireError,
    },
    /// The reply parsed as netlink but its payload did not decode.
    #[error("{request}: cannot decode reply: {detail}")]
    Decode {
        /// The request.
        request: String,
        /// The decoder's description (netlink-packet-route's error is not `'static`).
        detail: String,
    },
    /// A looked-up object does not exist (for example no link of that name).
    #[error("{request}: not found")]
    NotFound {
        /// The request.
        request: String,
    },
    /// The kernel flagged the dump `NLM_F_DUMP_INTR`: the object set changed while it was
    /// being dumped, so the result may be inconsistent. Dump again.
    #[error("{request}: dump interrupted by a concurrent change")]
    DumpInterrupted {
        /// The request.
        request: String,
    },
    /// The socket for the request could not be opened.
    #[error("{request}: no netlink socket")]
    Socket {
        /// The request.
        request: String,
        /// Why.
        #[source]
        source: SocketError,
    },
}

impl RequestError {
    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The description of the failing request.
    pub fn request(&self) -> &str {
        match self {
            Self::Kernel { request, .. }
            | Self::Send { request, .. }
            | Self::Receive { request, .. }
            | Self::Timeout { request }
            | Self::Malformed { request, .. }
            | Self::Decode { request, .. }
            | Self::NotFound { request }
            | Self::DumpInterrupted { request }
            | Self::Socket { request, .. } => request,
        }
    }
}
