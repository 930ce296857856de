//! The netlink wire format: message headers, attributes (TLVs), `NLMSG_ERROR` acks with
//! extended-ack attributes, and the generic netlink header. Pure: no I/O, no panics on any
//! input.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man7/netlink.7.html>
//! - <https://docs.kernel.org/userspace-api/netlink/intro.html>

/// Length of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;
/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error or (with errno 0) an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a multipart dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// `NLMSGERR_ATTR_MSG`: the extended-ack error string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// Length of `struct genlmsghdr`.
pub const GENL_HEADER_LEN: usize = 4;

bitflags::bitflags! {
    /// `nlmsg_flags` (`NLM_F_*`). Several names share bits: their meaning depends on the
    /// request (`GET` vs `NEW`) or on the message (`NLMSG_ERROR`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct NlmFlags: u16 {
        /// `NLM_F_REQUEST`.
        const REQUEST = 0x1;
        /// `NLM_F_MULTI`: part of a multipart reply.
        const MULTI = 0x2;
        /// `NLM_F_ACK`: ask for an acknowledgement.
        const ACK = 0x4;
        /// `NLM_F_ECHO`.
        const ECHO = 0x8;
        /// `NLM_F_DUMP_INTR`: the dump was interrupted by a change.
        const DUMP_INTR = 0x10;
        /// `NLM_F_DUMP_FILTERED`.
        const DUMP_FILTERED = 0x20;
        /// `NLM_F_ROOT` (GET requests).
        const ROOT = 0x100;
        /// `NLM_F_MATCH` (GET requests).
        const MATCH = 0x200;
        /// `NLM_F_ATOMIC` (GET requests).
        const ATOMIC = 0x400;
        /// `NLM_F_DUMP` = `ROOT | MATCH`.
        const DUMP = 0x300;
        /// `NLM_F_REPLACE` (NEW requests).
        const REPLACE = 0x100;
        /// `NLM_F_EXCL` (NEW requests).
        const EXCL = 0x200;
        /// `NLM_F_CREATE` (NEW requests).
        const CREATE = 0x400;
        /// `NLM_F_APPEND` (NEW requests).
        const APPEND = 0x800;
        /// `NLM_F_CAPPED` (`NLMSG_ERROR`): the request is not echoed in full.
        const CAPPED = 0x100;
        /// `NLM_F_ACK_TLVS` (`NLMSG_ERROR`): extended-ack attributes follow.
        const ACK_TLVS = 0x200;
        const _ = !0;
    }
}

/// `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// `nlmsg_len`: the length of the whole message, header included.
    pub length: u32,
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: NlmFlags,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`: the sender's port id.
    pub pid: u32,
}

/// A buffer is not a well-formed netlink message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than a header needs, or a length field pointing past the end.
    #[error("truncated {what} at byte {offset}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset in the buffer.
        offset: usize,
    },
    /// A length field smaller than the header it belongs to.
    #[error("invalid {what} length {length} at byte {offset}")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// The length field.
        length: usize,
        /// Offset in the buffer.
        offset: usize,
    },
    /// An attribute has the wrong size for its type.
    #[error("attribute {kind} has {length} bytes, expected {expected}")]
    AttributeSize {
        /// Attribute type.
        kind: u16,
        /// Its payload length.
        length: usize,
        /// Expected payload length.
        expected: usize,
    },
    /// A string attribute is not UTF-8.
    #[error("attribute {kind} is not a UTF-8 string")]
    NotUtf8 {
        /// Attribute type.
        kind: u16,
    },
}

/// Rounds up to the 4-byte netlink alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Header {
    /// Parses the header at the start of `buf`.
    ///
    /// # Errors
    /// [`WireError::Truncated`] when `buf` is shorter than a header.
    pub fn parse(buf: &[u8]) -> Result<Header, WireError> {
        let t = WireError::Truncated {
            what: "message header",
            offset: 0,
        };
        Ok(Header {
            length: le_u32(buf, 0).ok_or(t.clone())?,
            message_type: le_u16(buf, 4).ok_or(t.clone())?,
            flags: NlmFlags::from_bits_retain(le_u16(buf, 6).ok_or(t.clone())?),
            seq: le_u32(buf, 8).ok_or(t.clone())?,
            pid: le_u32(buf, 12).ok_or(t)?,
        })
    }

    /// Appends the 16 header bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.length.to_ne_bytes());
        out.extend_from_slice(&self.message_type.to_ne_bytes());
        out.extend_from_slice(&self.flags.bits().to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&self.pid.to_ne_bytes());
    }
}

/// Appends one whole message (header + `payload`, padded to 4 bytes) to `out`; the length
/// field is filled in from the payload.
pub fn emit_message(
    out: &mut Vec<u8>,
    message_type: u16,
    flags: NlmFlags,
    seq: u32,
    pid: u32,
    payload: &[u8],
) {
    let header = Header {
        length: u32::try_from(HEADER_LEN + payload.len()).unwrap_or(u32::MAX),
        message_type,
        flags,
        seq,
        pid,
    };
    header.emit(out);
    out.extend_from_slice(payload);
    out.resize(align(out.len()), 0);
}

/// Iterates over the messages in one datagram.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
}

/// Splits a received datagram into `(header, payload)` pairs.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, offset: 0 }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(Header, &'a [u8]), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.offset..)?;
        if rest.is_empty() {
            return None;
        }
        let offset = self.offset;
        let header = match Header::parse(rest) {
            Ok(h) => h,
            Err(_) => {
                self.offset = self.buf.len();
                return Some(Err(WireError::Truncated {
                    what: "message header",
                    offset,
                }));
            }
        };
        let length = header.length as usize;
        if length < HEADER_LEN {
            self.offset = self.buf.len();
            return Some(Err(WireError::BadLength {
                what: "message",
                length,
                offset,
            }));
        }
        let Some(payload) = rest.get(HEADER_LEN..length) else {
            self.offset = self.buf.len();
            return Some(Err(WireError::Truncated {
                what: "message",
                offset,
            }));
        };
        self.offset = offset.saturating_add(align(length)).min(self.buf.len());
        Some(Ok((header, payload)))
    }
}

/// Appends an attribute (`struct nlattr` + value, padded).
pub fn put_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(align(out.len()), 0);
}

/// Appends a `u8` attribute.
pub fn put_u8(out: &mut Vec<u8>, kind: u16, value: u8) {
    put_attr(out, kind, &[value]);
}

/// Appends a `u16` attribute (host byte order).
pub fn put_u16(out: &mut Vec<u8>, kind: u16, value: u16) {
    put_attr(out, kind, &value.to_ne_bytes());
}

/// Appends a `u32` attribute (host byte order).
pub fn put_u32(out: &mut Vec<u8>, kind: u16, value: u32) {
    put_attr(out, kind, &value.to_ne_bytes());
}

/// Appends a NUL-terminated string attribute.
pub fn put_str(out: &mut Vec<u8>, kind: u16, value: &str) {
    let len = u16::try_from(4 + value.len() + 1).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    out.resize(align(out.len()), 0);
}

/// Starts a nested attribute; pass the returned offset to [`end_nest`].
pub fn begin_nest(out: &mut Vec<u8>, kind: u16) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    start
}

/// Finishes a nested attribute started at `start`.
pub fn end_nest(out: &mut [u8], start: usize) {
    let len = u16::try_from(out.len().saturating_sub(start)).unwrap_or(u16::MAX);
    if let Some(slot) = out.get_mut(start..start + 2) {
        slot.copy_from_slice(&len.to_ne_bytes());
    }
}

/// One attribute as found in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attr<'a> {
    /// The type with `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` masked off.
    pub kind: u16,
    /// The value, without padding.
    pub value: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The value as a `u8`.
    ///
    /// # Errors
    /// [`WireError::AttributeSize`] unless the value is 1 byte.
    pub fn as_u8(&self) -> Result<u8, WireError> {
        match self.value {
            [b] => Ok(*b),
            _ => Err(self.size_error(1)),
        }
    }

    /// The value as a host-order `u16`.
    ///
    /// # Errors
    /// [`WireError::AttributeSize`] unless the value is 2 bytes.
    pub fn as_u16(&self) -> Result<u16, WireError> {
        <[u8; 2]>::try_from(self.value)
            .map(u16::from_ne_bytes)
            .map_err(|_| self.size_error(2))
    }

    /// The value as a host-order `u32`.
    ///
    /// # Errors
    /// [`WireError::AttributeSize`] unless the value is 4 bytes.
    pub fn as_u32(&self) -> Result<u32, WireError> {
        <[u8; 4]>::try_from(self.value)
            .map(u32::from_ne_bytes)
            .map_err(|_| self.size_error(4))
    }

    /// The value as a string, up to the first NUL.
    ///
    /// # Errors
    /// [`WireError::NotUtf8`].
    pub fn as_str(&self) -> Result<&'a str, WireError> {
        let end = self
            .value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.value.len());
        std::str::from_utf8(&self.value[..end]).map_err(|_| WireError::NotUtf8 { kind: self.kind })
    }

    /// The nested attributes inside this one.
    pub fn nested(&self) -> Attrs<'a> {
        attrs(self.value)
    }

    fn size_error(&self, expected: usize) -> WireError {
        WireError::AttributeSize {
            kind: self.kind,
            length: self.value.len(),
            expected,
        }
    }
}

/// Iterates over the attributes in a buffer.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    offset: usize,
}

/// The attributes in `buf` (which starts with an attribute).
pub fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs { buf, offset: 0 }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.offset..)?;
        if rest.len() < 4 {
            // Trailing padding shorter than an attribute header is not an error.
            return None;
        }
        let offset = self.offset;
        let (Some(len), Some(kind)) = (le_u16(rest, 0), le_u16(rest, 2)) else {
            return None;
        };
        let len = usize::from(len);
        if len < 4 {
            self.offset = self.buf.len();
            return Some(Err(WireError::BadLength {
                what: "attribute",
                length: len,
                offset,
            }));
        }
        let Some(value) = rest.get(4..len) else {
            self.offset = self.buf.len();
            return Some(Err(WireError::Truncated {
                what: "attribute",
                offset,
            }));
        };
        self.offset = offset.saturating_add(align(len)).min(self.buf.len());
        Some(Ok(Attr {
            kind: kind & !(NLA_F_NESTED | NLA_F_NET_BYTEORDER),
            value,
        }))
    }
}

/// A parsed `NLMSG_ERROR` message: an acknowledgement when `errno` is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ack {
    /// The positive errno (0 for success).
    pub errno: i32,
    /// The header of the request this answers.
    pub request: Header,
    /// `NLMSGERR_ATTR_MSG`, the kernel's extended-ack text.
    pub message: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`, the offset of the offending attribute in the request.
    pub offset: Option<u32>,
}

impl Ack {
    /// Parses the payload of an `NLMSG_ERROR` message whose header had `flags`.
    ///
    /// # Errors
    /// [`WireError`] when the payload is too short.
    pub fn parse(payload: &[u8], flags: NlmFlags) -> Result<Ack, WireError> {
        let error = le_u32(payload, 0).ok_or(WireError::Truncated {
            what: "nlmsgerr",
            offset: 0,
        })?;
        let error = i32::from_ne_bytes(error.to_ne_bytes());
        let request = Header::parse(payload.get(4..).unwrap_or_default())?;
        let mut ack = Ack {
            errno: error.checked_neg().unwrap_or(i32::MAX),
            request,
            message: None,
            offset: None,
        };
        if flags.contains(NlmFlags::ACK_TLVS) {
            let echoed = if flags.contains(NlmFlags::CAPPED) {
                HEADER_LEN
            } else {
                align(request.length as usize)
            };
            let tlvs = payload.get(4 + echoed..).unwrap_or_default();
            for attr in attrs(tlvs).flatten() {
                match attr.kind {
                    NLMSGERR_ATTR_MSG => ack.message = attr.as_str().ok().map(str::to_owned),
                    NLMSGERR_ATTR_OFFS => ack.offset = attr.as_u32().ok(),
                    _ => {}
                }
            }
        }
        Ok(ack)
    }
}

/// `struct genlmsghdr`: the generic netlink header that starts every genl payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GenlHeader {
    /// The family's command.
    pub cmd: u8,
    /// The family's version.
    pub version: u8,
}

impl GenlHeader {
    /// A header for `cmd` at `version`.
    pub fn new(cmd: u8, version: u8) -> GenlHeader {
        GenlHeader { cmd, version }
    }

    /// Appends the 4 header bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.cmd, self.version, 0, 0]);
    }

    /// Parses the header at the start of a genl payload and returns the attributes after it.
    ///
    /// # Errors
    /// [`WireError::Truncated`] when the payload is shorter than 4 bytes.
    pub fn parse(payload: &[u8]) -> Result<(GenlHeader, &[u8]), WireError> {
        match payload {
            [cmd, version, _, _, rest @ ..] => Ok((
                GenlHeader {
                    cmd: *cmd,
                    version: *version,
                },
                rest,
            )),
            _ => Err(WireError::Truncated {
                what: "genl header",
                offset: HEADER_LEN,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = Header {
            length: 32,
            message_type: 0x12,
            flags: NlmFlags::REQUEST | NlmFlags::ACK,
            seq: 7,
            pid: 9,
        };
        let mut out = Vec::new();
        h.emit(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(Header::parse(&out).unwrap(), h);
    }

    #[test]
    fn messages_split_and_reject_garbage() {
        let mut buf = Vec::new();
        emit_message(&mut buf, 16, NlmFlags::REQUEST, 1, 0, &[1, 2, 3]);
        emit_message(&mut buf, 3, NlmFlags::MULTI, 2, 0, &[0; 4]);
        let all: Vec<_> = messages(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1, &[1, 2, 3]);
        assert_eq!(all[1].0.message_type, NLMSG_DONE);
        // Length smaller than a header, length past the end, short header: errors, no panic.
        for bad in [
            &[4u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[200, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
            &[1, 2, 3][..],
        ] {
            assert!(messages(bad).next().unwrap().is_err());
            assert_eq!(messages(bad).count(), 1);
        }
    }

    #[test]
    fn attributes_nest_and_parse() {
        let mut buf = Vec::new();
        put_str(&mut buf, 3, "bat0");
        let nest = begin_nest(&mut buf, 18);
        put_u32(&mut buf, 1, 0xdead_beef);
        put_u8(&mut buf, 2, 7);
        end_nest(&mut buf, nest);
        let top: Vec<_> = attrs(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(top[0].as_str().unwrap(), "bat0");
        assert_eq!(top[1].kind, 18);
        let inner: Vec<_> = top[1].nested().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0].as_u32().unwrap(), 0xdead_beef);
        assert_eq!(inner[1].as_u8().unwrap(), 7);
        assert!(inner[1].as_u32().is_err());
        // Attribute length 2 (< header) and one past the end.
        assert!(attrs(&[2, 0, 1, 0]).next().unwrap().is_err());
        assert!(attrs(&[9, 0, 1, 0, 0]).next().unwrap().is_err());
    }

    #[test]
    fn ack_with_extended_message() {
        let mut payload = Vec::new();
        payload.extend_from_slice(&(-17i32).to_ne_bytes());
        Header {
            length: 40,
            message_type: 20,
            flags: NlmFlags::REQUEST,
            seq: 5,
            pid: 0,
        }
        .emit(&mut payload);
        put_str(&mut payload, NLMSGERR_ATTR_MSG, "address already assigned");
        put_u32(&mut payload, NLMSGERR_ATTR_OFFS, 24);
        let ack = Ack::parse(&payload, NlmFlags::CAPPED | NlmFlags::ACK_TLVS).unwrap();
        assert_eq!(ack.errno, 17);
        assert_eq!(ack.request.seq, 5);
        assert_eq!(ack.message.as_deref(), Some("address already assigned"));
        assert_eq!(ack.offset, Some(24));
        assert!(Ack::parse(&[0, 0], NlmFlags::empty()).is_err());
    }

    #[test]
    fn genl_header() {
        let mut out = Vec::new();
        GenlHeader::new(15, 1).emit(&mut out);
        put_u32(&mut out, 3, 4);
        let (h, rest) = GenlHeader::parse(&out).unwrap();
        assert_eq!((h.cmd, h.version), (15, 1));
        assert_eq!(rest.len(), 8);
        assert!(GenlHeader::parse(&[1, 2]).is_err());
    }
}
