//! A synchronous netlink socket: requests with acknowledgements, multipart dumps, batches
//! and multicast subscriptions.
//!
//! Every request carries a fresh sequence number and, except inside a [`Socket::batch`]
//! (which asks for one acknowledgement per datagram and relies on the kernel reporting
//! every failure), `NLM_F_REQUEST | NLM_F_ACK`; replies are matched by sequence number, so
//! a reply to an earlier, timed-out request is skipped.
//! The socket enables `NETLINK_EXT_ACK` (the kernel's error text) and `NETLINK_CAP_ACK`
//! (errors do not echo the whole request) where the kernel has them.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{RequestError, SocketError};
use crate::sys;
use crate::wire::{self, Ack, Header, NlmFlags};

/// `NETLINK_ROUTE` or `NETLINK_GENERIC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// rtnetlink: links, addresses, routes.
    #[doc(alias = "NETLINK_ROUTE")]
    Route,
    /// Generic netlink (nlctrl, batadv, …).
    #[doc(alias = "NETLINK_GENERIC")]
    Generic,
}

impl Protocol {
    fn as_raw(self) -> u32 {
        match self {
            Self::Route => 0,
            Self::Generic => 16,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Route => "NETLINK_ROUTE",
            Self::Generic => "NETLINK_GENERIC",
        }
    }
}

/// A request: message type, extra flags and payload (everything after `struct nlmsghdr`),
/// plus a description used in errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// `nlmsg_type` (`RTM_*`, or a genl family id).
    pub message_type: u16,
    /// Flags besides `NLM_F_REQUEST | NLM_F_ACK`, which are always set.
    pub flags: NlmFlags,
    /// The payload.
    pub payload: Vec<u8>,
    /// What the request does, as `ip` would say it (`RTM_NEWLINK veth0 type veth`).
    pub description: String,
}

impl Request {
    /// A request of `message_type` with `flags`, `payload` and a description.
    pub fn new(
        message_type: u16,
        flags: NlmFlags,
        payload: Vec<u8>,
        description: impl Into<String>,
    ) -> Request {
        Request {
            message_type,
            flags,
            payload,
            description: description.into(),
        }
    }

    /// The same request with another description (the reconcile engine names links,
    /// where the builders only know ifindexes).
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Request {
        self.description = description.into();
        self
    }

    /// Appends this request as one message with `seq` and `pid` to `out`, asking for an
    /// acknowledgement (`NLM_F_REQUEST | NLM_F_ACK` and the request's flags).
    pub fn emit(&self, out: &mut Vec<u8>, seq: u32, pid: u32) {
        self.emit_with(out, seq, pid, NlmFlags::ACK);
    }

    /// Like [`Request::emit`] with `extra` instead of `NLM_F_ACK` (errors are reported
    /// without it; [`Socket::batch`] relies on that).
    pub fn emit_with(&self, out: &mut Vec<u8>, seq: u32, pid: u32, extra: NlmFlags) {
        wire::emit_message(
            out,
            self.message_type,
            self.flags | NlmFlags::REQUEST | extra,
            seq,
            pid,
            &self.payload,
        );
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// Its header.
    pub header: Header,
    /// Everything after the header.
    pub payload: Vec<u8>,
}

/// Default time to wait for a reply.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);
/// Bytes per `send(2)` in a batch (below the default `wmem` limits).
const BATCH_BYTES: usize = 64 * 1024;
/// Kernel memory an acknowledgement costs in our receive queue (skb truesize, rounded up).
const ACK_COST: usize = 1024;
/// Receive buffer we ask for.
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;
/// Initial user-space receive buffer.
const READ_BUFFER: usize = 64 * 1024;

/// A netlink socket bound to a kernel-chosen port id.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    protocol: Protocol,
    port: u32,
    seq: u32,
    timeout: Option<Duration>,
    read: Vec<u8>,
    write: Vec<u8>,
    max_batch: usize,
    sends: u64,
    receives: u64,
}

impl Socket {
    /// Opens a socket for requests (no multicast groups).
    ///
    /// # Errors
    /// [`SocketError`] when the socket cannot be created or bound.
    pub fn open(protocol: Protocol) -> Result<Socket, SocketError> {
        Self::open_with_groups(protocol, 0)
    }

    /// Opens an rtnetlink socket.
    ///
    /// # Errors
    /// See [`Socket::open`].
    pub fn route() -> Result<Socket, SocketError> {
        Self::open(Protocol::Route)
    }

    /// Opens a generic netlink socket.
    ///
    /// # Errors
    /// See [`Socket::open`].
    pub fn generic() -> Result<Socket, SocketError> {
        Self::open(Protocol::Generic)
    }

    pub(crate) fn open_with_groups(protocol: Protocol, groups: u32) -> Result<Socket, SocketError> {
        let (fd, port) =
            sys::open(protocol.as_raw(), groups).map_err(|source| SocketError::Open {
                protocol: protocol.name(),
                source,
            })?;
        // Both options are best effort: kernels before 4.3/4.12 lack them and still work.
        let _ = sys::enable_netlink_option(fd.as_fd(), sys::NETLINK_CAP_ACK);
        let _ = sys::enable_netlink_option(fd.as_fd(), sys::NETLINK_EXT_ACK);
        let _ = sys::set_receive_buffer(fd.as_fd(), RECEIVE_BUFFER);
        let rcvbuf = sys::receive_buffer(fd.as_fd()).map_err(|source| SocketError::SetOption {
            option: "SO_RCVBUF",
            source,
        })?;
        Ok(Socket {
            fd,
            protocol,
            port,
            seq: 0,
            timeout: Some(DEFAULT_TIMEOUT),
            read: vec![0; READ_BUFFER],
            write: Vec::with_capacity(BATCH_BYTES),
            // Leave half of the queue for multipart replies and slack.
            max_batch: (rcvbuf / 2 / ACK_COST).max(1),
            sends: 0,
            receives: 0,
        })
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The port id the kernel assigned (`nl_pid`).
    pub fn port_id(&self) -> u32 {
        self.port
    }

    /// The socket's fd, for `poll`.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// How many datagrams this socket has sent (`send(2)` calls) and received: a batch
    /// of many requests costs few of them.
    pub fn datagrams(&self) -> (u64, u64) {
        (self.sends, self.receives)
    }

    /// Sets how long to wait for each reply (`None`: forever). Default: [`DEFAULT_TIMEOUT`].
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    /// Sends one request and waits for its acknowledgement, returning the messages the
    /// kernel sent before it (for example the object a `GET` asked for).
    ///
    /// # Errors
    /// [`RequestError::Kernel`] when the kernel refuses the request (with its errno and
    /// extended-ack text), or a transport error.
    pub fn execute(&mut self, request: &Request) -> Result<Vec<Message>, RequestError> {
        let seq = self.next_seq();
        self.write.clear();
        request.emit(&mut self.write, seq, self.port);
        self.send_buffer(&request.description)?;
        let mut replies = Vec::new();
        let deadline = self.deadline();
        loop {
            let len = self.receive(&request.description, deadline)?;
            for item in wire::messages(&self.read[..len]) {
                let (header, payload) = item.map_err(|source| RequestError::Malformed {
                    request: request.description.clone(),
                    source,
                })?;
                if header.seq != seq {
                    continue;
                }
                if header.message_type == wire::NLMSG_ERROR {
                    let ack = Ack::parse(payload, header.flags).map_err(|source| {
                        RequestError::Malformed {
                            request: request.description.clone(),
                            source,
                        }
                    })?;
                    return match kernel_error(&request.description, ack) {
                        None => Ok(replies),
                        Some(e) => Err(e),
                    };
                }
                replies.push(Message {
                    header,
                    payload: payload.to_vec(),
                });
            }
        }
    }

    /// Sends a `NLM_F_DUMP` request and collects every message up to `NLMSG_DONE`.
    ///
    /// # Errors
    /// As [`Socket::execute`]; an error inside the dump (`NLMSG_ERROR`, or a negative
    /// `NLMSG_DONE` status) is a [`RequestError::Kernel`]; a dump the kernel flagged
    /// `NLM_F_DUMP_INTR` is [`RequestError::DumpInterrupted`] (after all of it was read).
    pub fn dump(&mut self, request: &Request) -> Result<Vec<Message>, RequestError> {
        let mut replies = Vec::new();
        self.dump_with(request, |header, payload| {
            replies.push(Message {
                header,
                payload: payload.to_vec(),
            });
        })?;
        Ok(replies)
    }

    /// Like [`Socket::dump`], but hands each message to `f` without copying it.
    ///
    /// # Errors
    /// As [`Socket::dump`].
    pub fn dump_with(
        &mut self,
        request: &Request,
        mut f: impl FnMut(Header, &[u8]),
    ) -> Result<(), RequestError> {
        let seq = self.next_seq();
        self.write.clear();
        let mut dump = request.clone();
        dump.flags |= NlmFlags::DUMP;
        dump.emit(&mut self.write, seq, self.port);
        self.send_buffer(&request.description)?;
        let deadline = self.deadline();
        let mut done = false;
        let mut interrupted = false;
        while !done {
            let len = self.receive(&request.description, deadline)?;
            for item in wire::messages(&self.read[..len]) {
                let (header, payload) = item.map_err(|source| RequestError::Malformed {
                    request: request.description.clone(),
                    source,
                })?;
                if header.seq != seq {
                    continue;
                }
                interrupted |= header.flags.contains(NlmFlags::DUMP_INTR);
                match header.message_type {
                    wire::NLMSG_DONE => {
                        let status = payload
                            .get(..4)
                            .and_then(|b| <[u8; 4]>::try_from(b).ok())
                            .map_or(0, i32::from_ne_bytes);
                        if status < 0 {
                            return Err(RequestError::Kernel {
                                request: request.description.clone(),
                                message: None,
                                errno: Errno::from_raw(status.saturating_neg()),
                            });
                        }
                        done = true;
                    }
                    wire::NLMSG_ERROR => {
                        let ack = Ack::parse(payload, header.flags).map_err(|source| {
                            RequestError::Malformed {
                                request: request.description.clone(),
                                source,
                            }
                        })?;
                        if let Some(e) = kernel_error(&request.description, ack) {
                            return Err(e);
                        }
                        // The final ACK of a dump (sent because we asked for one).
                        done = true;
                    }
                    wire::NLMSG_NOOP => {}
                    _ => f(header, payload),
                }
            }
        }
        if interrupted {
            return Err(RequestError::DumpInterrupted {
                request: request.description.clone(),
            });
        }
        Ok(())
    }

    /// [`Socket::dump_with`] into a vector of decoded objects, dumping again (up to 5
    /// times) when the kernel reports the dump as interrupted.
    pub(crate) fn dump_decoded<T>(
        &mut self,
        request: &Request,
        message_type: u16,
        decode: fn(&[u8]) -> Result<T, String>,
    ) -> Result<Vec<T>, RequestError> {
        let mut attempt = 0;
        loop {
            let mut out = Vec::new();
            let mut bad = None;
            let r = self.dump_with(request, |h, payload| {
                if h.message_type == message_type {
                    match decode(payload) {
                        Ok(v) => out.push(v),
                        Err(e) => bad = Some(e),
                    }
                }
            });
            match r {
                Err(RequestError::DumpInterrupted { .. }) if attempt < 4 => attempt += 1,
                Err(e) => return Err(e),
                Ok(()) => {
                    return match bad {
                        Some(detail) => Err(RequestError::Decode {
                            request: request.description.clone(),
                            detail,
                        }),
                        None => Ok(out),
                    };
                }
            }
        }
    }

    /// Sends many requests in as few `send(2)` calls as the socket buffers allow and
    /// reports the outcome of each one.
    ///
    /// The requests go out without `NLM_F_ACK`: the kernel answers a request that fails
    /// with an error message carrying its sequence number whether or not it was asked to,
    /// so only failures cost a reply. Each datagram ends with an `NLMSG_NOOP` that does
    /// ask for an acknowledgement; the kernel processes a datagram's messages in order, so
    /// once that acknowledgement arrives every error of the datagram has too, and the
    /// requests without one succeeded. A refused request does not stop the ones after it.
    /// Replies other than errors (for example the object a `GET` asked for) are skipped:
    /// use [`Socket::execute`] for requests whose answer matters, and [`Socket::dump`]
    /// for dumps.
    ///
    /// The result has one entry per request, in order.
    ///
    /// # Errors
    /// The outer error is a transport failure (send, receive, timeout, malformed reply,
    /// or `ENOBUFS` when the kernel dropped replies), after which the state of the
    /// remaining requests is unknown.
    pub fn batch(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<(), RequestError>>, RequestError> {
        let mut results: Vec<Result<(), RequestError>> = std::iter::repeat_with(|| Ok(()))
            .take(requests.len())
            .collect();
        let mut start = 0;
        while start < requests.len() {
            // Keep one chunk's sequence numbers contiguous (next_seq skips 0).
            let room = u32::try_from(self.max_batch).unwrap_or(u32::MAX);
            if self.seq > u32::MAX.saturating_sub(room).saturating_sub(2) {
                self.seq = 0;
            }
            // Fill one datagram, leaving room for the closing NLMSG_NOOP.
            self.write.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut end = start;
            while end < requests.len()
                && end - start < self.max_batch
                && (end == start
                    || self.write.len() + 2 * wire::HEADER_LEN + requests[end].payload.len()
                        <= BATCH_BYTES)
            {
                let seq = self.next_seq();
                requests[end].emit_with(&mut self.write, seq, self.port, NlmFlags::empty());
                end += 1;
            }
            let fence = self.next_seq();
            wire::emit_message(
                &mut self.write,
                wire::NLMSG_NOOP,
                NlmFlags::REQUEST | NlmFlags::ACK,
                fence,
                self.port,
                &[],
            );
            let chunk = &requests[start..end];
            let label = chunk
                .first()
                .map(|r| r.description.as_str())
                .unwrap_or_default();
            self.send_buffer(label)?;
            let deadline = self.deadline();
            let mut fenced = false;
            while !fenced {
                let len = self.receive(label, deadline)?;
                for item in wire::messages(&self.read[..len]) {
                    let (header, payload) = item.map_err(|source| RequestError::Malformed {
                        request: label.to_owned(),
                        source,
                    })?;
                    if header.message_type != wire::NLMSG_ERROR {
                        continue;
                    }
                    let ack = Ack::parse(payload, header.flags).map_err(|source| {
                        RequestError::Malformed {
                            request: label.to_owned(),
                            source,
                        }
                    })?;
                    if header.seq == fence {
                        if let Some(e) = kernel_error("NLMSG_NOOP (end of batch)", ack) {
                            return Err(e);
                        }
                        fenced = true;
                        continue;
                    }
                    let index = header.seq.wrapping_sub(first_seq) as usize;
                    let Some(request) = chunk.get(index) else {
                        continue;
                    };
                    if let Some(e) = kernel_error(&request.description, ack) {
                        results[start + index] = Err(e);
                    }
                }
            }
            start = end;
        }
        Ok(results)
    }

    /// [`Socket::batch`], stopping at the first refused request.
    ///
    /// # Errors
    /// The first failure, transport or kernel.
    pub fn batch_all(&mut self, requests: &[Request]) -> Result<(), RequestError> {
        self.batch(requests)?.into_iter().collect()
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    fn send_buffer(&mut self, label: &str) -> Result<(), RequestError> {
        self.sends += 1;
        let sent =
            sys::send(self.fd.as_fd(), &self.write).map_err(|source| RequestError::Send {
                request: label.to_owned(),
                source,
            })?;
        if sent != self.write.len() {
            return Err(RequestError::Send {
                request: label.to_owned(),
                source: Errno::EMSGSIZE,
            });
        }
        Ok(())
    }

    /// Receives one datagram into `self.read` and returns its length.
    pub(crate) fn receive(
        &mut self,
        label: &str,
        deadline: Option<Instant>,
    ) -> Result<usize, RequestError> {
        self.receives += 1;
        receive_into(self.fd.as_fd(), &mut self.read, label, deadline)
    }
}

/// Receives one datagram into `buf` (grown to fit), waiting until `deadline`.
pub(crate) fn receive_into(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    label: &str,
    deadline: Option<Instant>,
) -> Result<usize, RequestError> {
    let rx = |source| RequestError::Receive {
        request: label.to_owned(),
        source,
    };
    // The kernel usually queued the answer during send(2): look first, wait only if not.
    let next = loop {
        match sys::peek_len(fd) {
            Ok(n) => break n,
            Err(Errno::EAGAIN) => {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if !sys::wait_readable(fd, left).map_err(rx)? {
                    return Err(RequestError::Timeout {
                        request: label.to_owned(),
                    });
                }
            }
            Err(e) => return Err(rx(e)),
        }
    };
    if next > buf.len() {
        buf.resize(next, 0);
    }
    let len = sys::recv(fd, buf).map_err(rx)?;
    Ok(len.min(buf.len()))
}

fn kernel_error(request: &str, ack: Ack) -> Option<RequestError> {
    (ack.errno != 0).then(|| RequestError::Kernel {
        request: request.to_owned(),
        message: ack.message,
        errno: Errno::from_raw(ack.errno),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_emits_request_and_ack_flags() {
        let r = Request::new(18, NlmFlags::empty(), vec![0; 16], "RTM_GETLINK");
        let mut out = Vec::new();
        r.emit(&mut out, 3, 42);
        let h = Header::parse(&out).unwrap();
        assert_eq!(h.length, 32);
        assert_eq!(h.flags, NlmFlags::REQUEST | NlmFlags::ACK);
        assert_eq!((h.seq, h.pid), (3, 42));
    }

    #[test]
    fn kernel_error_names_the_request() {
        let ack = Ack {
            errno: 17,
            request: Header::default(),
            message: None,
            offset: None,
        };
        let e = kernel_error("RTM_NEWADDR 10.0.0.1/24 dev veth0", ack).unwrap();
        assert_eq!(e.to_string(), "RTM_NEWADDR 10.0.0.1/24 dev veth0");
        assert_eq!(e.errno(), Some(Errno::EEXIST));
        let src = std::error::Error::source(&e).unwrap().to_string();
        assert!(src.contains("File exists"), "{src}");
    }

    /// `RTM_GETLINK` for `index` (no link has an index near `i32::MAX`: ENODEV).
    fn getlink(index: u32) -> Request {
        let mut payload = vec![0u8; 16];
        payload[4..8].copy_from_slice(&index.to_ne_bytes());
        Request::new(
            18,
            NlmFlags::empty(),
            payload,
            format!("RTM_GETLINK ifindex {index}"),
        )
    }

    #[test]
    fn sequence_numbers_match_replies_and_stale_ones_are_skipped() {
        let mut s = Socket::route().unwrap();
        let first = s.execute(&getlink(1)).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].header.seq, 1);
        assert_eq!(first[0].header.pid, s.port_id());
        // A request nobody waits for (as after a timeout): its reply and ACK are queued
        // before the next request's, and must not be taken for them.
        s.write.clear();
        getlink(1).emit(&mut s.write, 1000, s.port);
        s.send_buffer("stale").unwrap();
        let e = s.execute(&getlink(0x7fff_0001)).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::ENODEV));
        let second = s.execute(&getlink(1)).unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].header.seq, 3);
    }

    #[test]
    fn execute_error_names_the_request() {
        let mut s = Socket::route().unwrap();
        let e = s.execute(&getlink(0x7fff_0002)).unwrap_err();
        assert_eq!(e.request(), "RTM_GETLINK ifindex 2147418114");
        assert_eq!(e.errno(), Some(Errno::ENODEV));
    }

    #[test]
    fn batch_sends_many_requests_per_datagram_and_matches_every_ack() {
        let mut s = Socket::route().unwrap();
        let requests: Vec<Request> = (0..3000u32)
            .map(|i| {
                if i % 100 == 0 {
                    getlink(1)
                } else {
                    getlink(0x7fff_0000 + i)
                }
            })
            .collect();
        let results = s.batch(&requests).unwrap();
        assert_eq!(results.len(), 3000);
        for (i, (r, req)) in results.iter().zip(&requests).enumerate() {
            if i % 100 == 0 {
                assert!(r.is_ok(), "{i}: {r:?}");
            } else {
                let e = r.as_ref().unwrap_err();
                assert_eq!(e.request(), req.description, "{i}");
                assert_eq!(e.errno(), Some(Errno::ENODEV));
            }
        }
        // Only failures and replies come back (each a datagram of its own), plus one
        // acknowledgement per datagram sent.
        let (sends, receives) = s.datagrams();
        assert!(sends <= 30, "3000 requests took {sends} send(2) calls");
        assert!(
            receives <= 2970 + 30 + sends,
            "{receives} datagrams for 2970 errors and 30 replies"
        );
        // batch_all stops at (reports) the first failure, naming it.
        let e = s.batch_all(&requests[..5]).unwrap_err();
        assert_eq!(e.request(), requests[1].description);
        // The socket is in sync afterwards.
        assert_eq!(s.execute(&getlink(1)).unwrap().len(), 1);
    }

    #[test]
    fn batch_near_sequence_number_wrap_keeps_results_in_place() {
        let mut s = Socket::route().unwrap();
        s.seq = u32::MAX - 3;
        let requests: Vec<Request> = (0..10u32)
            .map(|i| getlink(if i == 4 { 1 } else { 0x7fff_1000 + i }))
            .collect();
        let results = s.batch(&requests).unwrap();
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(()) => assert_eq!(i, 4),
                Err(e) => assert_eq!(e.request(), requests[i].description),
            }
        }
        assert!(results[4].is_ok());
    }

    #[test]
    #[ignore = "privileged: creates a network namespace, a veth pair and 1000 addresses"]
    fn multipart_dump_of_1000_addresses() {
        use crate::address::{self, Address, IpPrefix};
        use crate::link::{self, LinkKind, LinkSpec};
        std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN");
            let mut s = Socket::route().unwrap();
            let kind = LinkKind::Veth {
                peer: "mp1".into(),
                peer_mac: None,
            };
            s.execute(&link::create(&LinkSpec::new("mp0", kind), None))
                .unwrap();
            let index = s.link_by_name("mp0").unwrap().unwrap().index;
            let adds: Vec<Request> = (1..=1000u32)
                .map(|n| {
                    let [_, _, x, y] = n.to_be_bytes();
                    let ip = std::net::Ipv4Addr::new(10, 9, x, y);
                    address::add(&Address::new(index, IpPrefix::new(ip.into(), 16).unwrap()))
                })
                .collect();
            let before = s.datagrams();
            s.batch_all(&adds).unwrap();
            let after = s.datagrams();
            // Two datagrams out; back only the acknowledgement closing each.
            assert!(after.0 - before.0 <= 2, "{before:?} -> {after:?}");
            assert_eq!(
                after.1 - before.1,
                after.0 - before.0,
                "{before:?} -> {after:?}"
            );
            // Adding one again: EEXIST, naming that address.
            let e = s.batch_all(&adds[41..42]).unwrap_err();
            assert_eq!(e.errno(), Some(Errno::EEXIST));
            assert_eq!(
                e.request(),
                format!("RTM_NEWADDR 10.9.0.42/16 dev ifindex {index}")
            );
            let before = s.datagrams();
            let dumped = s.addresses().unwrap();
            let after = s.datagrams();
            let ours = dumped.iter().filter(|a| a.index == index).count();
            assert_eq!(ours, 1000);
            assert!(
                after.1 - before.1 > 1,
                "the dump should span several datagrams"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn opening_a_socket_needs_no_privileges() {
        let mut s = Socket::route().unwrap();
        assert_ne!(s.port_id(), 0);
        // RTM_GETLINK dump of the loopback device works unprivileged.
        let mut payload = vec![0u8; 16];
        payload[0] = 0; // AF_UNSPEC
        let msgs = s
            .dump(&Request::new(18, NlmFlags::empty(), payload, "RTM_GETLINK"))
            .unwrap();
        assert!(!msgs.is_empty());
        assert!(msgs.iter().all(|m| m.header.message_type == 16));
    }
}

#[cfg(test)]
mod robustness {
    //! Every decoder of kernel data is fed pseudo-random and truncated input: errors are
    //! fine, panics are not (a structured fuzz target is next session's work).
    use crate::address::Address;
    use crate::batadv::{HardifInfo, MeshInfo, Neighbor, Originator};
    use crate::genl::Family;
    use crate::link::Link;
    use crate::route::Route;
    use crate::wire::{self, Ack, NlmFlags};

    fn lcg(state: &mut u64) -> u8 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 33).to_le_bytes()[0]
    }

    #[test]
    fn decoders_never_panic() {
        let mut state = 0x5eed_u64;
        // Plausible starts (valid headers and attribute lengths) make the walk go deep.
        let seeds: [&[u8]; 3] = [
            &[
                0, 0, 1, 0, 4, 0, 0, 0, 0x43, 0x10, 1, 0, 0, 0, 0, 0, 9, 0, 3, 0,
            ],
            &[2, 24, 0, 0, 3, 0, 0, 0, 8, 0, 2, 0, 10, 0, 0, 1],
            &[1, 1, 0, 0, 8, 0, 3, 0, 4, 0, 0, 0, 5, 0, 0x33, 0],
        ];
        for round in 0..20_000usize {
            let len = round % 97;
            let mut buf: Vec<u8> = seeds[round % 3].to_vec();
            buf.extend((0..len).map(|_| lcg(&mut state)));
            buf.truncate(round % 120);
            let _ = wire::messages(&buf).count();
            let _ = wire::attrs(&buf)
                .flatten()
                .map(|a| a.nested().count())
                .sum::<usize>();
            let _ = Ack::parse(&buf, NlmFlags::ACK_TLVS);
            let _ = Link::parse(&buf);
            let _ = Address::parse(&buf);
            let _ = Route::parse(&buf);
            let _ = Family::parse(&buf);
            let _ = MeshInfo::parse(&buf);
            let _ = HardifInfo::parse(&buf);
            let _ = Originator::parse(&buf);
            let _ = Neighbor::parse(&buf);
        }
    }
}
