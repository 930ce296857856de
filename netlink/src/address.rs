//! Addresses (`RTM_*ADDR`): add, replace, delete, list; IPv4 and IPv6, prefix, peer,
//! broadcast, scope, flags, label.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>
//! - `ip-address(8)`, `systemd.network(5)` `[Address]`

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    self as npr, AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use serde::Serialize;

use crate::error::RequestError;
use crate::socket::{Request, Socket};
use crate::wire::NlmFlags;

/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;

/// An address with a prefix length: `10.0.0.1/24`, `2001:db8::1/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    /// The address.
    pub address: IpAddr,
    /// The prefix length (≤ 32 for IPv4, ≤ 128 for IPv6).
    pub prefix_len: u8,
}

/// A string is not an address with an optional prefix length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address prefix {0:?}")]
pub struct ParsePrefixError(pub String);

impl IpPrefix {
    /// `address/prefix_len`.
    ///
    /// # Errors
    /// When the prefix is longer than the address.
    pub fn new(address: IpAddr, prefix_len: u8) -> Result<IpPrefix, ParsePrefixError> {
        if prefix_len > max_prefix(address) {
            return Err(ParsePrefixError(format!("{address}/{prefix_len}")));
        }
        Ok(IpPrefix {
            address,
            prefix_len,
        })
    }

    /// `AF_INET` or `AF_INET6`.
    pub fn is_ipv4(&self) -> bool {
        self.address.is_ipv4()
    }
}

fn max_prefix(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

impl FromStr for IpPrefix {
    type Err = ParsePrefixError;

    /// `ADDR[/LEN]`; without `/LEN` the prefix is the full length (a host address).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParsePrefixError(s.to_owned());
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let address: IpAddr = a.parse().map_err(|_| err())?;
        let prefix_len = match len {
            Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                l.parse::<u8>().map_err(|_| err())?
            }
            Some(_) => return Err(err()),
            None => max_prefix(address),
        };
        IpPrefix::new(address, prefix_len).map_err(|_| err())
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `RT_SCOPE_*`: how far an address or route reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scope {
    /// `global` (`RT_SCOPE_UNIVERSE`, 0).
    #[default]
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Another number.
    Other(u8),
}

impl Scope {
    /// The kernel's number.
    pub fn as_raw(self) -> u8 {
        match self {
            Self::Global => 0,
            Self::Site => 200,
            Self::Link => 253,
            Self::Host => 254,
            Self::Nowhere => 255,
            Self::Other(v) => v,
        }
    }

    /// From the kernel's number.
    pub fn from_raw(v: u8) -> Scope {
        match v {
            0 => Self::Global,
            200 => Self::Site,
            253 => Self::Link,
            254 => Self::Host,
            255 => Self::Nowhere,
            v => Self::Other(v),
        }
    }

    /// Parses systemd's names (`global`, `site`, `link`, `host`, `nowhere`) or a number
    /// 0…255 (`Scope=` in `[Address]` and `[Route]`).
    pub fn from_name(s: &str) -> Option<Scope> {
        Some(match s {
            "global" | "universe" => Self::Global,
            "site" => Self::Site,
            "link" => Self::Link,
            "host" => Self::Host,
            "nowhere" => Self::Nowhere,
            n => Self::from_raw(n.parse().ok()?),
        })
    }
}

bitflags::bitflags! {
    /// `IFA_F_*` address flags.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct AddressFlags: u32 {
        /// `IFA_F_SECONDARY`.
        const SECONDARY = 0x01;
        /// `IFA_F_NODAD`.
        const NODAD = 0x02;
        /// `IFA_F_OPTIMISTIC`.
        const OPTIMISTIC = 0x04;
        /// `IFA_F_DADFAILED`.
        const DADFAILED = 0x08;
        /// `IFA_F_HOMEADDRESS`.
        const HOMEADDRESS = 0x10;
        /// `IFA_F_DEPRECATED`.
        const DEPRECATED = 0x20;
        /// `IFA_F_TENTATIVE`.
        const TENTATIVE = 0x40;
        /// `IFA_F_PERMANENT`.
        const PERMANENT = 0x80;
        /// `IFA_F_MANAGETEMPADDR`.
        const MANAGETEMPADDR = 0x100;
        /// `IFA_F_NOPREFIXROUTE`.
        const NOPREFIXROUTE = 0x200;
        /// `IFA_F_MCAUTOJOIN`.
        const MCAUTOJOIN = 0x400;
        /// `IFA_F_STABLE_PRIVACY`.
        const STABLE_PRIVACY = 0x800;
        const _ = !0;
    }
}

impl Serialize for AddressFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.bits())
    }
}

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Address {
    /// The link's index.
    pub index: u32,
    /// The local address and prefix length.
    pub local: IpPrefix,
    /// The peer of a point-to-point address (`Peer=`).
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Scope.
    pub scope: Scope,
    /// Flags.
    pub flags: AddressFlags,
    /// IPv4 label (`Label=`).
    pub label: Option<String>,
}

impl Address {
    /// `local` on link `index`, everything else default.
    pub fn new(index: u32, local: IpPrefix) -> Address {
        Address {
            index,
            local,
            peer: None,
            broadcast: None,
            scope: Scope::Global,
            flags: AddressFlags::empty(),
            label: None,
        }
    }

    /// Decodes an `RTM_NEWADDR`/`RTM_DELADDR` payload.
    ///
    /// # Errors
    /// The decoder's message, or a note when the message has no address.
    pub fn parse(payload: &[u8]) -> Result<Address, String> {
        let msg = AddressMessage::parse(payload).map_err(|e| e.to_string())?;
        let mut local = None;
        let mut address = None;
        let mut out = Address {
            index: msg.header.index,
            local: IpPrefix {
                address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                prefix_len: msg.header.prefix_len,
            },
            peer: None,
            broadcast: None,
            scope: Scope::from_raw(u8::from(msg.header.scope)),
            flags: AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits())),
            label: None,
        };
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Broadcast(b) => out.broadcast = Some(*b),
                AddressAttribute::Label(l) => out.label = Some(l.clone()),
                AddressAttribute::Flags(f) => out.flags = AddressFlags::from_bits_retain(f.bits()),
                _ => {}
            }
        }
        // IFA_LOCAL is the local address when present; IFA_ADDRESS is then the peer.
        match (local, address) {
            (Some(l), a) => {
                out.local.address = l;
                out.peer = a.filter(|a| *a != l);
            }
            (None, Some(a)) => out.local.address = a,
            (None, None) => return Err("address message without IFA_ADDRESS".to_owned()),
        }
        Ok(out)
    }

    fn message(&self) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = if self.local.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = self.local.prefix_len;
        msg.header.scope = AddressScope::from(self.scope.as_raw());
        msg.header.index = self.index;
        let low = u8::try_from(self.flags.bits() & 0xff).unwrap_or(0);
        msg.header.flags = AddressHeaderFlags::from_bits_retain(low);
        msg.attributes
            .push(AddressAttribute::Local(self.local.address));
        msg.attributes.push(AddressAttribute::Address(
            self.peer.unwrap_or(self.local.address),
        ));
        if let Some(b) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(l) = &self.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if self.flags.bits() > 0xff {
            msg.attributes.push(AddressAttribute::Flags(
                npr::AddressFlags::from_bits_retain(self.flags.bits()),
            ));
        }
        msg
    }

    fn describe(&self, verb: &str) -> String {
        match self.peer {
            Some(p) => format!("{verb} {} peer {p} dev ifindex {}", self.local, self.index),
            None => format!("{verb} {} dev ifindex {}", self.local, self.index),
        }
    }
}

fn emit(msg: &AddressMessage) -> Vec<u8> {
    let mut buf = vec![0; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

/// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL` (`ip addr add`).
pub fn add(address: &Address) -> Request {
    Request::new(
        RTM_NEWADDR,
        NlmFlags::CREATE | NlmFlags::EXCL,
        emit(&address.message()),
        address.describe("RTM_NEWADDR"),
    )
}

/// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip addr replace`): idempotent.
pub fn replace(address: &Address) -> Request {
    Request::new(
        RTM_NEWADDR,
        NlmFlags::CREATE | NlmFlags::REPLACE,
        emit(&address.message()),
        address.describe("RTM_NEWADDR (replace)"),
    )
}

/// `RTM_DELADDR`.
pub fn delete(address: &Address) -> Request {
    Request::new(
        RTM_DELADDR,
        NlmFlags::empty(),
        emit(&address.message()),
        address.describe("RTM_DELADDR"),
    )
}

/// `RTM_GETADDR` dump; `ipv4`: `Some(true)` IPv4 only, `Some(false)` IPv6 only.
pub fn dump(ipv4: Option<bool>) -> Request {
    let mut msg = AddressMessage::default();
    msg.header.family = match ipv4 {
        None => AddressFamily::Unspec,
        Some(true) => AddressFamily::Inet,
        Some(false) => AddressFamily::Inet6,
    };
    Request::new(
        RTM_GETADDR,
        NlmFlags::empty(),
        emit(&msg),
        "RTM_GETADDR (dump)",
    )
}

impl Socket {
    /// Every address (of every link).
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip address show")]
    pub fn addresses(&mut self) -> Result<Vec<Address>, RequestError> {
        self.dump_decoded(&dump(None), RTM_NEWADDR, Address::parse)
    }

    /// Adds an address.
    ///
    /// # Errors
    /// [`RequestError`] (`EEXIST` when it is already there).
    #[doc(alias = "ip address add")]
    pub fn add_address(&mut self, address: &Address) -> Result<(), RequestError> {
        self.execute(&add(address)).map(drop)
    }

    /// Deletes an address.
    ///
    /// # Errors
    /// [`RequestError`] (`EADDRNOTAVAIL` when it is not there).
    #[doc(alias = "ip address del")]
    pub fn delete_address(&mut self, address: &Address) -> Result<(), RequestError> {
        self.execute(&delete(address)).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attrs;

    #[test]
    fn prefixes() {
        let p: IpPrefix = "10.0.0.1/24".parse().unwrap();
        assert_eq!(p.prefix_len, 24);
        assert_eq!(p.to_string(), "10.0.0.1/24");
        assert_eq!("2001:db8::1".parse::<IpPrefix>().unwrap().prefix_len, 128);
        assert_eq!("10.1.2.3".parse::<IpPrefix>().unwrap().prefix_len, 32);
        for bad in [
            "10.0.0.1/33",
            "2001:db8::/129",
            "10.0.0.1/",
            "10.0.0.1/+4",
            "x/8",
            "",
        ] {
            assert!(bad.parse::<IpPrefix>().is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(Scope::from_name("link"), Some(Scope::Link));
        assert_eq!(Scope::from_name("global"), Some(Scope::Global));
        assert_eq!(Scope::from_name("17"), Some(Scope::Other(17)));
        assert_eq!(Scope::from_name("254"), Some(Scope::Host));
        assert_eq!(Scope::from_name("256"), None);
        assert_eq!(Scope::from_name("planet"), None);
    }

    #[test]
    fn add_message_bytes_and_round_trip() {
        let mut a = Address::new(3, "10.0.0.1/24".parse().unwrap());
        a.broadcast = Some(Ipv4Addr::new(10, 0, 0, 255));
        a.label = Some("veth0:1".into());
        a.flags = AddressFlags::NOPREFIXROUTE;
        let req = add(&a);
        assert_eq!(req.description, "RTM_NEWADDR 10.0.0.1/24 dev ifindex 3");
        // struct ifaddrmsg: family 2, prefix 24, flags 0, scope 0, index 3.
        assert_eq!(&req.payload[..8], &[2, 24, 0, 0, 3, 0, 0, 0]);
        let kinds: Vec<u16> = attrs(&req.payload[8..]).flatten().map(|a| a.kind).collect();
        // IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, IFA_LABEL, IFA_FLAGS.
        assert_eq!(kinds, vec![2, 1, 4, 3, 8]);
        let back = Address::parse(&req.payload).unwrap();
        assert_eq!(back, a);

        let mut p = Address::new(4, "fd00::1/64".parse().unwrap());
        p.peer = Some("fd00::2".parse().unwrap());
        p.scope = Scope::Link;
        let back = Address::parse(&add(&p).payload).unwrap();
        assert_eq!(back, p);
        assert!(Address::parse(&[2, 24]).is_err());
    }
}
