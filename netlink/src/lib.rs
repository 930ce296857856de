//! keel-netlink: the networking layer of keel, systemd-networkd 248 as a library.
//!
//! - [`socket`]: a synchronous netlink socket (`NETLINK_ROUTE`, `NETLINK_GENERIC`) with
//!   sequence numbers, an acknowledgement for every request, errors that name the failing
//!   request and carry the kernel's extended-ack text, multipart dumps, and batches (many
//!   requests per `send(2)`, acknowledgements matched by sequence number);
//! - [`link`], [`address`], [`route`]: rtnetlink over netlink-packet-route: links of the
//!   kinds `bridge`, `veth` (peer optionally in another network namespace), `vlan`,
//!   `dummy`, `macvlan`, `vxlan`, `bond` and `batadv`; addresses; routes; [`monitor`] for
//!   `RTNLGRP_LINK` / `RTNLGRP_IPV4_IFADDR` / `RTNLGRP_IPV6_IFADDR` notifications;
//! - [`genl`] and [`batadv`]: generic netlink family resolution and the B.A.T.M.A.N.
//!   advanced family (`BATADV_CMD_SET_MESH`, `GET_MESH`, `SET_HARDIF`, `GET_HARDIF`,
//!   originator and neighbour tables), byte-identical to what batctl sends;
//! - [`config`]: `.netdev` and `.network` files (spec §3.2/§3.3) with networkd's search
//!   paths, drop-ins and ordering, typed values and diagnostics by file and line;
//! - [`wire`]: the netlink framing, pure and panic-free.
//!
//! - [`reconcile`]: the engine: desired state from [`config`] + actual state from dumps
//!   → an ordered, pure [`reconcile::Plan`] → applied in a few batches; idempotent (a
//!   second run plans nothing) and re-run per link on `RTNLGRP_LINK` events. The
//!   `keel-networkd` binary is a page of glue over [`reconcile::Reconciler`].
//!
//! No DHCP, no IPv6 RA, no DNS resolver management.
//!
//! Builders are pure functions returning a [`Request`]; only [`Socket`] and
//! [`monitor::Monitor`] talk to the kernel (through the crate's `sys` module, the only
//! place with `unsafe`: one `setsockopt`).
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use keel_netlink::{batadv, config, link};
//!
//! let text = b"[NetDev]\nName=bat0\nKind=batadv\n\n[BatmanAdvanced]\n\
//!     GatewayMode=server\nGatewayBandwithDown=10M\nGatewayBandwithUp=2M\n\
//!     BridgeLoopAvoidance=no\nRoutingAlgorithm=batman-iv\n";
//! let mut diagnostics = Vec::new();
//! let netdev = config::netdev::parse(text, Path::new("bat0.netdev"), &[], &mut diagnostics)
//!     .expect("a valid netdev");
//! assert!(diagnostics.is_empty());
//!
//! // RTM_NEWLINK creating the interface (what `ip link add bat0 type batadv` sends)…
//! let create = link::create(&netdev.link_spec(None).expect("standalone kind"), None);
//! assert_eq!(create.description, "RTM_NEWLINK bat0 type batadv");
//!
//! // …then BATADV_CMD_SET_MESH once its ifindex (here 4) and the family id are known.
//! let config::NetDevKind::Batadv(settings) = &netdev.kind else { unreachable!() };
//! let mesh = settings.mesh_settings();
//! assert_eq!(mesh.gw_bandwidth_down, Some(100)); // 10 Mbit/s in 100 kbit/s units
//! let request = batadv::set_mesh(0x21, 4, &mesh);
//! let mut bytes = Vec::new();
//! request.emit(&mut bytes, 1, 0);
//! assert_eq!(bytes[16], batadv::BATADV_CMD_SET_MESH); // genl command after nlmsghdr
//! ```
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod address;
pub mod batadv;
pub mod config;
pub mod error;
pub mod genl;
pub mod link;
pub mod monitor;
pub mod reconcile;
pub mod route;
pub mod socket;
mod sys;
pub mod wire;

pub use error::{RequestError, SocketError};
pub use socket::{Message, Protocol, Request, Socket};

/// nix, whose `Errno` appears in this crate's errors.
pub use nix;
