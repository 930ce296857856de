//! Multicast subscriptions: link, address and route events (`ip monitor`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::address::{Address, RTM_DELADDR, RTM_NEWADDR};
use crate::error::{RequestError, SocketError};
use crate::link::{Link, RTM_DELLINK, RTM_NEWLINK};
use crate::route::{RTM_DELROUTE, RTM_NEWROUTE, Route};
use crate::socket::{Protocol, Socket, receive_into};
use crate::wire;

bitflags::bitflags! {
    /// rtnetlink multicast groups (`RTNLGRP_*`), as the bind-time bitmask
    /// (`1 << (group - 1)`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct Groups: u32 {
        /// `RTNLGRP_LINK` (1).
        const LINK = 1 << 0;
        /// `RTNLGRP_IPV4_IFADDR` (5).
        const IPV4_IFADDR = 1 << 4;
        /// `RTNLGRP_IPV4_ROUTE` (7).
        const IPV4_ROUTE = 1 << 6;
        /// `RTNLGRP_IPV6_IFADDR` (9).
        const IPV6_IFADDR = 1 << 8;
        /// `RTNLGRP_IPV6_ROUTE` (11).
        const IPV6_ROUTE = 1 << 10;
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A link appeared or changed.
    NewLink(Link),
    /// A link disappeared.
    DelLink(Link),
    /// An address was added or changed.
    NewAddress(Address),
    /// An address was removed.
    DelAddress(Address),
    /// A route was added or changed.
    NewRoute(Route),
    /// A route was removed.
    DelRoute(Route),
    /// Another message type (or one that did not decode), kept for the caller.
    Other {
        /// `nlmsg_type`.
        message_type: u16,
        /// The payload.
        payload: Vec<u8>,
    },
}

/// A socket subscribed to rtnetlink multicast groups.
#[derive(Debug)]
pub struct Monitor {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Monitor {
    /// Subscribes to `groups`.
    ///
    /// Subscribe *before* reading the current state (a dump), so no change is lost in
    /// between.
    ///
    /// # Errors
    /// [`SocketError`].
    #[doc(alias = "RTNLGRP_LINK")]
    pub fn open(groups: Groups) -> Result<Monitor, SocketError> {
        let socket = Socket::open_with_groups(Protocol::Route, groups.bits())?;
        Ok(Monitor {
            fd: socket.into_fd(),
            buf: vec![0; 64 * 1024],
        })
    }

    /// The fd, for an event loop.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Waits up to `timeout` (`None`: forever) for one datagram of notifications and
    /// decodes it; an empty vector means the timeout passed.
    ///
    /// # Errors
    /// [`RequestError::Receive`] (`ENOBUFS` when notifications were lost: re-read the
    /// state) or [`RequestError::Malformed`].
    pub fn receive(&mut self, timeout: Option<Duration>) -> Result<Vec<Event>, RequestError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let len = match receive_into(self.fd.as_fd(), &mut self.buf, "multicast", deadline) {
            Ok(len) => len,
            Err(RequestError::Timeout { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut events = Vec::new();
        for item in wire::messages(&self.buf[..len]) {
            let (header, payload) = item.map_err(|source| RequestError::Malformed {
                request: "multicast".to_owned(),
                source,
            })?;
            let t = header.message_type;
            let ev = match t {
                RTM_NEWLINK | RTM_DELLINK => Link::parse(payload).ok().map(|l| {
                    if t == RTM_NEWLINK {
                        Event::NewLink(l)
                    } else {
                        Event::DelLink(l)
                    }
                }),
                RTM_NEWADDR | RTM_DELADDR => Address::parse(payload).ok().map(|a| {
                    if t == RTM_NEWADDR {
                        Event::NewAddress(a)
                    } else {
                        Event::DelAddress(a)
                    }
                }),
                RTM_NEWROUTE | RTM_DELROUTE => Route::parse(payload).ok().map(|r| {
                    if t == RTM_NEWROUTE {
                        Event::NewRoute(r)
                    } else {
                        Event::DelRoute(r)
                    }
                }),
                _ => None,
            };
            events.push(ev.unwrap_or_else(|| Event::Other {
                message_type: t,
                payload: payload.to_vec(),
            }));
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_bits() {
        assert_eq!(Groups::LINK.bits(), 1);
        assert_eq!(Groups::IPV4_IFADDR.bits(), 0x10);
        assert_eq!(Groups::IPV6_IFADDR.bits(), 0x100);
    }

    #[test]
    fn receive_times_out_empty() {
        let mut m = Monitor::open(Groups::LINK).unwrap();
        let ev = m.receive(Some(Duration::from_millis(10))).unwrap();
        // Nothing changes on the host's links in 10 ms in the common case; an event
        // would also be fine, but must decode.
        assert!(ev.iter().all(|e| !matches!(
            e,
            Event::Other {
                message_type: 16,
                ..
            }
        )));
    }
}
