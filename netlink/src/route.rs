//! Routes (`RTM_*ROUTE`): add, replace, delete, list; destination, gateway, device,
//! metric, table, scope, protocol.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>
//! - `ip-route(8)`, `systemd.network(5)` `[Route]`

use std::net::IpAddr;

use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol as NprProtocol, RouteScope, RouteType,
};
use serde::Serialize;

use crate::address::{IpPrefix, Scope};
use crate::error::RequestError;
use crate::socket::{Request, Socket};
use crate::wire::NlmFlags;

/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `RT_TABLE_MAIN`.
pub const TABLE_MAIN: u32 = 254;

/// `RTPROT_*`: who installed a route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct RouteProtocol(pub u8);

impl RouteProtocol {
    /// `RTPROT_UNSPEC`.
    pub const UNSPEC: RouteProtocol = RouteProtocol(0);
    /// `RTPROT_KERNEL`: made by the kernel for an address's prefix.
    pub const KERNEL: RouteProtocol = RouteProtocol(2);
    /// `RTPROT_BOOT`: `ip route add`'s default.
    pub const BOOT: RouteProtocol = RouteProtocol(3);
    /// `RTPROT_STATIC`: what systemd-networkd uses for `[Route]`.
    pub const STATIC: RouteProtocol = RouteProtocol(4);
    /// `RTPROT_RA`.
    pub const RA: RouteProtocol = RouteProtocol(9);
    /// `RTPROT_DHCP`.
    pub const DHCP: RouteProtocol = RouteProtocol(16);
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Route {
    /// Destination; `None` is the default route.
    pub destination: Option<IpPrefix>,
    /// `true` for IPv6 (needed when neither destination nor gateway says).
    pub ipv6: bool,
    /// Next hop.
    pub gateway: Option<IpAddr>,
    /// Output device index.
    pub oif: Option<u32>,
    /// `RTA_PRIORITY` (`Metric=`).
    pub metric: Option<u32>,
    /// Routing table (254 = main).
    pub table: u32,
    /// Scope; `None` lets [`add`] choose as `ip route` does (link for a route without
    /// gateway, global otherwise).
    pub scope: Option<Scope>,
    /// Protocol.
    pub protocol: RouteProtocol,
    /// `RTN_*` type (1 = unicast).
    pub kind: u8,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            destination: None,
            ipv6: false,
            gateway: None,
            oif: None,
            metric: None,
            table: TABLE_MAIN,
            scope: None,
            protocol: RouteProtocol::STATIC,
            kind: 1,
        }
    }
}

fn route_address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

impl Route {
    /// Decodes an `RTM_NEWROUTE` payload.
    ///
    /// # Errors
    /// The decoder's message.
    pub fn parse(payload: &[u8]) -> Result<Route, String> {
        let msg = RouteMessage::parse(payload).map_err(|e| e.to_string())?;
        let h = &msg.header;
        let mut r = Route {
            ipv6: h.address_family == AddressFamily::Inet6,
            table: u32::from(h.table),
            scope: Some(Scope::from_raw(u8::from(h.scope))),
            protocol: RouteProtocol(u8::from(h.protocol)),
            kind: u8::from(h.kind),
            ..Route::default()
        };
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(a) => {
                    r.destination = route_address(a).map(|address| IpPrefix {
                        address,
                        prefix_len: h.destination_prefix_length,
                    });
                }
                RouteAttribute::Gateway(a) => r.gateway = route_address(a),
                RouteAttribute::Oif(i) => r.oif = Some(*i),
                RouteAttribute::Priority(p) => r.metric = Some(*p),
                RouteAttribute::Table(t) => r.table = *t,
                _ => {}
            }
        }
        Ok(r)
    }

    fn is_ipv6(&self) -> bool {
        self.destination
            .map(|d| !d.is_ipv4())
            .or(self.gateway.map(|g| g.is_ipv6()))
            .unwrap_or(self.ipv6)
    }

    fn message(&self, deleting: bool) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let ipv6 = self.is_ipv6();
        let header = &mut msg.header;
        header.address_family = if ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        header.destination_prefix_length = self.destination.map_or(0, |d| d.prefix_len);
        header.table = u8::try_from(self.table).unwrap_or(0);
        header.protocol = NprProtocol::from(self.protocol.0);
        let scope = match self.scope {
            Some(s) => s,
            None if deleting => Scope::Nowhere,
            None if self.gateway.is_none() && self.oif.is_some() => Scope::Link,
            None => Scope::Global,
        };
        header.scope = RouteScope::from(scope.as_raw());
        header.kind = RouteType::from(self.kind);
        if let Some(d) = self.destination {
            msg.attributes
                .push(RouteAttribute::Destination(d.address.into()));
        }
        if let Some(g) = self.gateway {
            msg.attributes.push(RouteAttribute::Gateway(g.into()));
        }
        if let Some(o) = self.oif {
            msg.attributes.push(RouteAttribute::Oif(o));
        }
        if let Some(m) = self.metric {
            msg.attributes.push(RouteAttribute::Priority(m));
        }
        if self.table > 255 {
            msg.attributes.push(RouteAttribute::Table(self.table));
        }
        msg
    }

    fn describe(&self, verb: &str) -> String {
        let mut s = format!("{verb} ");
        match self.destination {
            Some(d) => s.push_str(&d.to_string()),
            None => s.push_str("default"),
        }
        if let Some(g) = self.gateway {
            s.push_str(&format!(" via {g}"));
        }
        if let Some(o) = self.oif {
            s.push_str(&format!(" dev ifindex {o}"));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        if self.table != TABLE_MAIN {
            s.push_str(&format!(" table {}", self.table));
        }
        s
    }
}

fn emit(msg: &RouteMessage) -> Vec<u8> {
    let mut buf = vec![0; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

/// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL` (`ip route add`).
pub fn add(route: &Route) -> Request {
    Request::new(
        RTM_NEWROUTE,
        NlmFlags::CREATE | NlmFlags::EXCL,
        emit(&route.message(false)),
        route.describe("RTM_NEWROUTE"),
    )
}

/// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip route replace`): idempotent.
pub fn replace(route: &Route) -> Request {
    Request::new(
        RTM_NEWROUTE,
        NlmFlags::CREATE | NlmFlags::REPLACE,
        emit(&route.message(false)),
        route.describe("RTM_NEWROUTE (replace)"),
    )
}

/// `RTM_DELROUTE`.
pub fn delete(route: &Route) -> Request {
    Request::new(
        RTM_DELROUTE,
        NlmFlags::empty(),
        emit(&route.message(true)),
        route.describe("RTM_DELROUTE"),
    )
}

/// `RTM_GETROUTE` dump of one family.
pub fn dump(ipv6: bool) -> Request {
    let mut msg = RouteMessage::default();
    msg.header.address_family = if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    Request::new(
        RTM_GETROUTE,
        NlmFlags::empty(),
        emit(&msg),
        "RTM_GETROUTE (dump)",
    )
}

impl Socket {
    /// Every route of one family, in every table.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip route show")]
    pub fn routes(&mut self, ipv6: bool) -> Result<Vec<Route>, RequestError> {
        self.dump_decoded(&dump(ipv6), RTM_NEWROUTE, Route::parse)
    }

    /// Adds a route.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip route add")]
    pub fn add_route(&mut self, route: &Route) -> Result<(), RequestError> {
        self.execute(&add(route)).map(drop)
    }

    /// Deletes a route.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip route del")]
    pub fn delete_route(&mut self, route: &Route) -> Result<(), RequestError> {
        self.execute(&delete(route)).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attrs;

    #[test]
    fn add_route_bytes_and_round_trip() {
        let r = Route {
            destination: Some("192.168.5.0/24".parse().unwrap()),
            gateway: Some("10.0.0.254".parse().unwrap()),
            oif: Some(3),
            metric: Some(100),
            table: 1000,
            ..Route::default()
        };
        let req = add(&r);
        assert_eq!(
            req.description,
            "RTM_NEWROUTE 192.168.5.0/24 via 10.0.0.254 dev ifindex 3 metric 100 table 1000"
        );
        // struct rtmsg: family 2, dst_len 24, src_len 0, tos 0, table 0 (see RTA_TABLE),
        // protocol 4 (static), scope 0, type 1 (unicast), flags 0.
        assert_eq!(&req.payload[..12], &[2, 24, 0, 0, 0, 4, 0, 1, 0, 0, 0, 0]);
        let kinds: Vec<u16> = attrs(&req.payload[12..])
            .flatten()
            .map(|a| a.kind)
            .collect();
        // RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE.
        assert_eq!(kinds, vec![1, 5, 4, 6, 15]);
        let back = Route::parse(&req.payload).unwrap();
        assert_eq!(back.destination, r.destination);
        assert_eq!(back.gateway, r.gateway);
        assert_eq!(
            (back.oif, back.metric, back.table),
            (Some(3), Some(100), 1000)
        );
    }

    #[test]
    fn device_route_gets_link_scope_and_delete_nowhere() {
        let r = Route {
            destination: Some("fd00:1::/64".parse().unwrap()),
            oif: Some(2),
            ..Route::default()
        };
        assert_eq!(add(&r).payload[0], 10); // AF_INET6
        assert_eq!(add(&r).payload[6], 253); // RT_SCOPE_LINK
        assert_eq!(add(&r).payload[4], 254); // main table in the header
        assert_eq!(delete(&r).payload[6], 255); // RT_SCOPE_NOWHERE
        let default = Route {
            gateway: Some("10.0.0.1".parse().unwrap()),
            ..Route::default()
        };
        assert_eq!(
            add(&default).description,
            "RTM_NEWROUTE default via 10.0.0.1"
        );
        assert_eq!(add(&default).payload[1], 0);
    }
}
