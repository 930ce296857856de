//! The `batadv` generic netlink family (B.A.T.M.A.N. advanced): mesh and hard-interface
//! settings, originator and neighbour tables.
//!
//! No other Rust crate speaks this family. Attribute and command numbers are our own
//! constants, checked by a test against the kernel UAPI header `linux/batman_adv.h`.
//! Messages are byte-identical to those batctl 2023.0 sends (tests replay its strace
//! captures).
//!
//! # References
//! - `<linux/batman_adv.h>`, `batctl(8)`
//! - systemd 248 `src/network/netdev/batadv.c` (which settings networkd sends)

use serde::Serialize;

use crate::error::RequestError;
use crate::link::MacAddress;
use crate::socket::{Request, Socket};
use crate::wire::{self, Attr, GenlHeader, NlmFlags, WireError};

/// `BATADV_NL_NAME`.
pub const FAMILY_NAME: &str = "batadv";
/// The family version batctl and systemd send.
pub const FAMILY_VERSION: u8 = 1;

/// `BATADV_CMD_GET_MESH`.
pub const BATADV_CMD_GET_MESH: u8 = 1;
/// `BATADV_CMD_TP_METER`.
pub const BATADV_CMD_TP_METER: u8 = 2;
/// `BATADV_CMD_GET_ROUTING_ALGOS`.
pub const BATADV_CMD_GET_ROUTING_ALGOS: u8 = 4;
/// `BATADV_CMD_GET_HARDIF`.
pub const BATADV_CMD_GET_HARDIF: u8 = 5;
/// `BATADV_CMD_GET_ORIGINATORS`.
pub const BATADV_CMD_GET_ORIGINATORS: u8 = 8;
/// `BATADV_CMD_GET_NEIGHBORS`.
pub const BATADV_CMD_GET_NEIGHBORS: u8 = 9;
/// `BATADV_CMD_GET_GATEWAYS`.
pub const BATADV_CMD_GET_GATEWAYS: u8 = 10;
/// `BATADV_CMD_SET_MESH`.
pub const BATADV_CMD_SET_MESH: u8 = 15;
/// `BATADV_CMD_SET_HARDIF`.
pub const BATADV_CMD_SET_HARDIF: u8 = 16;
/// `BATADV_CMD_GET_VLAN`.
pub const BATADV_CMD_GET_VLAN: u8 = 17;
/// `BATADV_CMD_SET_VLAN`.
pub const BATADV_CMD_SET_VLAN: u8 = 18;

/// `BATADV_ATTR_VERSION` (string).
pub const BATADV_ATTR_VERSION: u16 = 1;
/// `BATADV_ATTR_ALGO_NAME` (string).
pub const BATADV_ATTR_ALGO_NAME: u16 = 2;
/// `BATADV_ATTR_MESH_IFINDEX` (u32).
pub const BATADV_ATTR_MESH_IFINDEX: u16 = 3;
/// `BATADV_ATTR_MESH_IFNAME` (string).
pub const BATADV_ATTR_MESH_IFNAME: u16 = 4;
/// `BATADV_ATTR_MESH_ADDRESS` (6 bytes).
pub const BATADV_ATTR_MESH_ADDRESS: u16 = 5;
/// `BATADV_ATTR_HARD_IFINDEX` (u32).
pub const BATADV_ATTR_HARD_IFINDEX: u16 = 6;
/// `BATADV_ATTR_HARD_IFNAME` (string).
pub const BATADV_ATTR_HARD_IFNAME: u16 = 7;
/// `BATADV_ATTR_HARD_ADDRESS` (6 bytes).
pub const BATADV_ATTR_HARD_ADDRESS: u16 = 8;
/// `BATADV_ATTR_ORIG_ADDRESS` (6 bytes).
pub const BATADV_ATTR_ORIG_ADDRESS: u16 = 9;
/// `BATADV_ATTR_ACTIVE` (flag).
pub const BATADV_ATTR_ACTIVE: u16 = 15;
/// `BATADV_ATTR_FLAG_BEST` (flag).
pub const BATADV_ATTR_FLAG_BEST: u16 = 22;
/// `BATADV_ATTR_LAST_SEEN_MSECS` (u32).
pub const BATADV_ATTR_LAST_SEEN_MSECS: u16 = 23;
/// `BATADV_ATTR_NEIGH_ADDRESS` (6 bytes).
pub const BATADV_ATTR_NEIGH_ADDRESS: u16 = 24;
/// `BATADV_ATTR_TQ` (u8, BATMAN IV).
pub const BATADV_ATTR_TQ: u16 = 25;
/// `BATADV_ATTR_THROUGHPUT` (u32, BATMAN V, kbit/s: the kernel reports its 100 kbit/s estimate × 100).
pub const BATADV_ATTR_THROUGHPUT: u16 = 26;
/// `BATADV_ATTR_AGGREGATED_OGMS_ENABLED` (u8).
pub const BATADV_ATTR_AGGREGATED_OGMS_ENABLED: u16 = 41;
/// `BATADV_ATTR_AP_ISOLATION_ENABLED` (u8).
pub const BATADV_ATTR_AP_ISOLATION_ENABLED: u16 = 42;
/// `BATADV_ATTR_ISOLATION_MARK` (u32).
pub const BATADV_ATTR_ISOLATION_MARK: u16 = 43;
/// `BATADV_ATTR_ISOLATION_MASK` (u32).
pub const BATADV_ATTR_ISOLATION_MASK: u16 = 44;
/// `BATADV_ATTR_BONDING_ENABLED` (u8).
pub const BATADV_ATTR_BONDING_ENABLED: u16 = 45;
/// `BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED` (u8).
pub const BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED: u16 = 46;
/// `BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED` (u8).
pub const BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED: u16 = 47;
/// `BATADV_ATTR_FRAGMENTATION_ENABLED` (u8).
pub const BATADV_ATTR_FRAGMENTATION_ENABLED: u16 = 48;
/// `BATADV_ATTR_GW_BANDWIDTH_DOWN` (u32, 100 kbit/s).
pub const BATADV_ATTR_GW_BANDWIDTH_DOWN: u16 = 49;
/// `BATADV_ATTR_GW_BANDWIDTH_UP` (u32, 100 kbit/s).
pub const BATADV_ATTR_GW_BANDWIDTH_UP: u16 = 50;
/// `BATADV_ATTR_GW_MODE` (u8).
pub const BATADV_ATTR_GW_MODE: u16 = 51;
/// `BATADV_ATTR_GW_SEL_CLASS` (u32).
pub const BATADV_ATTR_GW_SEL_CLASS: u16 = 52;
/// `BATADV_ATTR_HOP_PENALTY` (u8).
pub const BATADV_ATTR_HOP_PENALTY: u16 = 53;
/// `BATADV_ATTR_LOG_LEVEL` (u32).
pub const BATADV_ATTR_LOG_LEVEL: u16 = 54;
/// `BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED` (u8).
pub const BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED: u16 = 55;
/// `BATADV_ATTR_NETWORK_CODING_ENABLED` (u8).
pub const BATADV_ATTR_NETWORK_CODING_ENABLED: u16 = 56;
/// `BATADV_ATTR_ORIG_INTERVAL` (u32, ms).
pub const BATADV_ATTR_ORIG_INTERVAL: u16 = 57;
/// `BATADV_ATTR_ELP_INTERVAL` (u32, ms).
pub const BATADV_ATTR_ELP_INTERVAL: u16 = 58;
/// `BATADV_ATTR_THROUGHPUT_OVERRIDE` (u32, 100 kbit/s).
pub const BATADV_ATTR_THROUGHPUT_OVERRIDE: u16 = 59;
/// `BATADV_ATTR_MULTICAST_FANOUT` (u32).
pub const BATADV_ATTR_MULTICAST_FANOUT: u16 = 60;

/// `enum batadv_gw_modes` (`GatewayMode=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GatewayMode {
    /// `BATADV_GW_MODE_OFF`.
    #[default]
    Off,
    /// `BATADV_GW_MODE_CLIENT`.
    Client,
    /// `BATADV_GW_MODE_SERVER`.
    Server,
}

impl GatewayMode {
    /// The kernel's value.
    pub fn as_raw(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Client => 1,
            Self::Server => 2,
        }
    }

    /// From the kernel's value.
    pub fn from_raw(v: u8) -> Option<GatewayMode> {
        match v {
            0 => Some(Self::Off),
            1 => Some(Self::Client),
            2 => Some(Self::Server),
            _ => None,
        }
    }

    /// Parses `off`, `client`, `server`.
    pub fn from_name(s: &str) -> Option<GatewayMode> {
        match s {
            "off" => Some(Self::Off),
            "client" => Some(Self::Client),
            "server" => Some(Self::Server),
            _ => None,
        }
    }
}

/// Mesh settings (`BATADV_CMD_SET_MESH` / `GET_MESH`); `None` fields are not sent, or
/// were not reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MeshSettings {
    /// `GW_MODE`.
    pub gw_mode: Option<GatewayMode>,
    /// `GW_BANDWIDTH_DOWN`, in 100 kbit/s.
    pub gw_bandwidth_down: Option<u32>,
    /// `GW_BANDWIDTH_UP`, in 100 kbit/s.
    pub gw_bandwidth_up: Option<u32>,
    /// `GW_SEL_CLASS`.
    pub gw_sel_class: Option<u32>,
    /// `HOP_PENALTY`.
    pub hop_penalty: Option<u8>,
    /// `ORIG_INTERVAL`, in ms.
    pub orig_interval: Option<u32>,
    /// `AGGREGATED_OGMS_ENABLED`.
    pub aggregated_ogms: Option<bool>,
    /// `AP_ISOLATION_ENABLED`.
    pub ap_isolation: Option<bool>,
    /// `BONDING_ENABLED`.
    pub bonding: Option<bool>,
    /// `BRIDGE_LOOP_AVOIDANCE_ENABLED`.
    pub bridge_loop_avoidance: Option<bool>,
    /// `DISTRIBUTED_ARP_TABLE_ENABLED`.
    pub distributed_arp_table: Option<bool>,
    /// `FRAGMENTATION_ENABLED`.
    pub fragmentation: Option<bool>,
    /// `MULTICAST_FORCEFLOOD_ENABLED`.
    pub multicast_forceflood: Option<bool>,
    /// `NETWORK_CODING_ENABLED`.
    pub network_coding: Option<bool>,
}

impl MeshSettings {
    /// Appends the set attributes. Gateway mode and bandwidths come first, in batctl's
    /// order (`gw_mode server 10mbit/2mbit`), then the rest by attribute number.
    fn emit(&self, out: &mut Vec<u8>) {
        if let Some(m) = self.gw_mode {
            wire::put_u8(out, BATADV_ATTR_GW_MODE, m.as_raw());
        }
        if let Some(v) = self.gw_bandwidth_down {
            wire::put_u32(out, BATADV_ATTR_GW_BANDWIDTH_DOWN, v);
        }
        if let Some(v) = self.gw_bandwidth_up {
            wire::put_u32(out, BATADV_ATTR_GW_BANDWIDTH_UP, v);
        }
        if let Some(v) = self.gw_sel_class {
            wire::put_u32(out, BATADV_ATTR_GW_SEL_CLASS, v);
        }
        let flags = [
            (BATADV_ATTR_AGGREGATED_OGMS_ENABLED, self.aggregated_ogms),
            (BATADV_ATTR_AP_ISOLATION_ENABLED, self.ap_isolation),
            (BATADV_ATTR_BONDING_ENABLED, self.bonding),
            (
                BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED,
                self.bridge_loop_avoidance,
            ),
            (
                BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED,
                self.distributed_arp_table,
            ),
            (BATADV_ATTR_FRAGMENTATION_ENABLED, self.fragmentation),
        ];
        for (kind, v) in flags {
            if let Some(v) = v {
                wire::put_u8(out, kind, u8::from(v));
            }
        }
        if let Some(v) = self.hop_penalty {
            wire::put_u8(out, BATADV_ATTR_HOP_PENALTY, v);
        }
        for (kind, v) in [
            (
                BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED,
                self.multicast_forceflood,
            ),
            (BATADV_ATTR_NETWORK_CODING_ENABLED, self.network_coding),
        ] {
            if let Some(v) = v {
                wire::put_u8(out, kind, u8::from(v));
            }
        }
        if let Some(v) = self.orig_interval {
            wire::put_u32(out, BATADV_ATTR_ORIG_INTERVAL, v);
        }
    }

    fn absorb(&mut self, a: &Attr<'_>) -> Result<(), WireError> {
        let flag = |a: &Attr<'_>| a.as_u8().map(|v| Some(v != 0));
        match a.kind {
            BATADV_ATTR_GW_MODE => self.gw_mode = GatewayMode::from_raw(a.as_u8()?),
            BATADV_ATTR_GW_BANDWIDTH_DOWN => self.gw_bandwidth_down = Some(a.as_u32()?),
            BATADV_ATTR_GW_BANDWIDTH_UP => self.gw_bandwidth_up = Some(a.as_u32()?),
            BATADV_ATTR_GW_SEL_CLASS => self.gw_sel_class = Some(a.as_u32()?),
            BATADV_ATTR_HOP_PENALTY => self.hop_penalty = Some(a.as_u8()?),
            BATADV_ATTR_ORIG_INTERVAL => self.orig_interval = Some(a.as_u32()?),
            BATADV_ATTR_AGGREGATED_OGMS_ENABLED => self.aggregated_ogms = flag(a)?,
            BATADV_ATTR_AP_ISOLATION_ENABLED => self.ap_isolation = flag(a)?,
            BATADV_ATTR_BONDING_ENABLED => self.bonding = flag(a)?,
            BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED => self.bridge_loop_avoidance = flag(a)?,
            BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED => self.distributed_arp_table = flag(a)?,
            BATADV_ATTR_FRAGMENTATION_ENABLED => self.fragmentation = flag(a)?,
            BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED => self.multicast_forceflood = flag(a)?,
            BATADV_ATTR_NETWORK_CODING_ENABLED => self.network_coding = flag(a)?,
            _ => {}
        }
        Ok(())
    }
}

/// What `BATADV_CMD_GET_MESH` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MeshInfo {
    /// `BATADV_ATTR_VERSION`: the module's version.
    pub version: Option<String>,
    /// `BATADV_ATTR_ALGO_NAME` (`BATMAN_IV`, `BATMAN_V`).
    pub algorithm: Option<String>,
    /// `BATADV_ATTR_MESH_IFINDEX`.
    pub mesh_ifindex: Option<u32>,
    /// `BATADV_ATTR_MESH_IFNAME`.
    pub mesh_ifname: Option<String>,
    /// `BATADV_ATTR_MESH_ADDRESS`.
    pub mesh_address: Option<MacAddress>,
    /// The settings.
    pub settings: MeshSettings,
}

fn mac(a: &Attr<'_>) -> Result<MacAddress, WireError> {
    <[u8; 6]>::try_from(a.value)
        .map(MacAddress)
        .map_err(|_| WireError::AttributeSize {
            kind: a.kind,
            length: a.value.len(),
            expected: 6,
        })
}

impl MeshInfo {
    /// Decodes a `GET_MESH` reply (genl payload).
    ///
    /// # Errors
    /// [`WireError`] for malformed attributes.
    pub fn parse(payload: &[u8]) -> Result<MeshInfo, WireError> {
        let (_, rest) = GenlHeader::parse(payload)?;
        let mut info = MeshInfo::default();
        for a in wire::attrs(rest) {
            let a = a?;
            match a.kind {
                BATADV_ATTR_VERSION => info.version = Some(a.as_str()?.to_owned()),
                BATADV_ATTR_ALGO_NAME => info.algorithm = Some(a.as_str()?.to_owned()),
                BATADV_ATTR_MESH_IFINDEX => info.mesh_ifindex = Some(a.as_u32()?),
                BATADV_ATTR_MESH_IFNAME => info.mesh_ifname = Some(a.as_str()?.to_owned()),
                BATADV_ATTR_MESH_ADDRESS => info.mesh_address = Some(mac(&a)?),
                _ => info.settings.absorb(&a)?,
            }
        }
        Ok(info)
    }
}

/// Per hard-interface settings (`BATADV_CMD_SET_HARDIF` / `GET_HARDIF`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HardifSettings {
    /// `HOP_PENALTY`.
    pub hop_penalty: Option<u8>,
    /// `ELP_INTERVAL`, in ms (BATMAN V).
    pub elp_interval: Option<u32>,
    /// `THROUGHPUT_OVERRIDE`, in 100 kbit/s (BATMAN V).
    pub throughput_override: Option<u32>,
}

/// What `BATADV_CMD_GET_HARDIF` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HardifInfo {
    /// `HARD_IFINDEX`.
    pub hard_ifindex: Option<u32>,
    /// `HARD_IFNAME`.
    pub hard_ifname: Option<String>,
    /// `HARD_ADDRESS`.
    pub hard_address: Option<MacAddress>,
    /// `ACTIVE`.
    pub active: bool,
    /// The settings.
    pub settings: HardifSettings,
}

impl HardifInfo {
    /// Decodes a `GET_HARDIF` reply (genl payload).
    ///
    /// # Errors
    /// [`WireError`] for malformed attributes.
    pub fn parse(payload: &[u8]) -> Result<HardifInfo, WireError> {
        let (_, rest) = GenlHeader::parse(payload)?;
        let mut info = HardifInfo::default();
        for a in wire::attrs(rest) {
            let a = a?;
            match a.kind {
                BATADV_ATTR_HARD_IFINDEX => info.hard_ifindex = Some(a.as_u32()?),
                BATADV_ATTR_HARD_IFNAME => info.hard_ifname = Some(a.as_str()?.to_owned()),
                BATADV_ATTR_HARD_ADDRESS => info.hard_address = Some(mac(&a)?),
                BATADV_ATTR_ACTIVE => info.active = true,
                BATADV_ATTR_HOP_PENALTY => info.settings.hop_penalty = Some(a.as_u8()?),
                BATADV_ATTR_ELP_INTERVAL => info.settings.elp_interval = Some(a.as_u32()?),
                BATADV_ATTR_THROUGHPUT_OVERRIDE => {
                    info.settings.throughput_override = Some(a.as_u32()?);
                }
                _ => {}
            }
        }
        Ok(info)
    }
}

/// One entry of the originator table (`batctl originators`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Originator {
    /// `ORIG_ADDRESS`.
    pub originator: MacAddress,
    /// `NEIGH_ADDRESS`: the next hop towards it.
    pub next_hop: MacAddress,
    /// `HARD_IFINDEX`: the interface towards the next hop.
    pub hard_ifindex: u32,
    /// `LAST_SEEN_MSECS`.
    pub last_seen_ms: u32,
    /// `TQ` (BATMAN IV).
    pub tq: Option<u8>,
    /// `THROUGHPUT` in kbit/s (BATMAN V).
    pub throughput: Option<u32>,
    /// `FLAG_BEST`: this next hop is the chosen one.
    pub best: bool,
}

impl Originator {
    /// Decodes one `GET_ORIGINATORS` dump message (genl payload).
    ///
    /// # Errors
    /// [`WireError`] for malformed attributes.
    pub fn parse(payload: &[u8]) -> Result<Originator, WireError> {
        let (_, rest) = GenlHeader::parse(payload)?;
        let mut o = Originator::default();
        for a in wire::attrs(rest) {
            let a = a?;
            match a.kind {
                BATADV_ATTR_ORIG_ADDRESS => o.originator = mac(&a)?,
                BATADV_ATTR_NEIGH_ADDRESS => o.next_hop = mac(&a)?,
                BATADV_ATTR_HARD_IFINDEX => o.hard_ifindex = a.as_u32()?,
                BATADV_ATTR_LAST_SEEN_MSECS => o.last_seen_ms = a.as_u32()?,
                BATADV_ATTR_TQ => o.tq = Some(a.as_u8()?),
                BATADV_ATTR_THROUGHPUT => o.throughput = Some(a.as_u32()?),
                BATADV_ATTR_FLAG_BEST => o.best = true,
                _ => {}
            }
        }
        Ok(o)
    }
}

/// One entry of the neighbour table (`batctl neighbors`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Neighbor {
    /// `NEIGH_ADDRESS`.
    pub address: MacAddress,
    /// `HARD_IFINDEX`.
    pub hard_ifindex: u32,
    /// `LAST_SEEN_MSECS`.
    pub last_seen_ms: u32,
    /// `THROUGHPUT` in kbit/s (BATMAN V).
    pub throughput: Option<u32>,
}

impl Neighbor {
    /// Decodes one `GET_NEIGHBORS` dump message (genl payload).
    ///
    /// # Errors
    /// [`WireError`] for malformed attributes.
    pub fn parse(payload: &[u8]) -> Result<Neighbor, WireError> {
        let (_, rest) = GenlHeader::parse(payload)?;
        let mut n = Neighbor::default();
        for a in wire::attrs(rest) {
            let a = a?;
            match a.kind {
                BATADV_ATTR_NEIGH_ADDRESS => n.address = mac(&a)?,
                BATADV_ATTR_HARD_IFINDEX => n.hard_ifindex = a.as_u32()?,
                BATADV_ATTR_LAST_SEEN_MSECS => n.last_seen_ms = a.as_u32()?,
                BATADV_ATTR_THROUGHPUT => n.throughput = Some(a.as_u32()?),
                _ => {}
            }
        }
        Ok(n)
    }
}

fn request(family: u16, cmd: u8, attrs: impl FnOnce(&mut Vec<u8>), description: String) -> Request {
    let mut payload = Vec::with_capacity(64);
    GenlHeader::new(cmd, FAMILY_VERSION).emit(&mut payload);
    attrs(&mut payload);
    Request::new(family, NlmFlags::empty(), payload, description)
}

/// `BATADV_CMD_SET_MESH` for the mesh interface `mesh_ifindex`.
pub fn set_mesh(family: u16, mesh_ifindex: u32, settings: &MeshSettings) -> Request {
    request(
        family,
        BATADV_CMD_SET_MESH,
        |p| {
            wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex);
            settings.emit(p);
        },
        format!("BATADV_CMD_SET_MESH meshif ifindex {mesh_ifindex}"),
    )
}

/// `BATADV_CMD_GET_MESH` (a plain request, not a dump).
pub fn get_mesh(family: u16, mesh_ifindex: u32) -> Request {
    request(
        family,
        BATADV_CMD_GET_MESH,
        |p| wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex),
        format!("BATADV_CMD_GET_MESH meshif ifindex {mesh_ifindex}"),
    )
}

/// `BATADV_CMD_SET_HARDIF` for hard interface `hard_ifindex` of mesh `mesh_ifindex`.
pub fn set_hardif(
    family: u16,
    mesh_ifindex: u32,
    hard_ifindex: u32,
    settings: &HardifSettings,
) -> Request {
    request(
        family,
        BATADV_CMD_SET_HARDIF,
        |p| {
            wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex);
            wire::put_u32(p, BATADV_ATTR_HARD_IFINDEX, hard_ifindex);
            if let Some(v) = settings.hop_penalty {
                wire::put_u8(p, BATADV_ATTR_HOP_PENALTY, v);
            }
            if let Some(v) = settings.elp_interval {
                wire::put_u32(p, BATADV_ATTR_ELP_INTERVAL, v);
            }
            if let Some(v) = settings.throughput_override {
                wire::put_u32(p, BATADV_ATTR_THROUGHPUT_OVERRIDE, v);
            }
        },
        format!(
            "BATADV_CMD_SET_HARDIF meshif ifindex {mesh_ifindex} hardif ifindex {hard_ifindex}"
        ),
    )
}

/// `BATADV_CMD_GET_HARDIF`.
pub fn get_hardif(family: u16, mesh_ifindex: u32, hard_ifindex: u32) -> Request {
    request(
        family,
        BATADV_CMD_GET_HARDIF,
        |p| {
            wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex);
            wire::put_u32(p, BATADV_ATTR_HARD_IFINDEX, hard_ifindex);
        },
        format!(
            "BATADV_CMD_GET_HARDIF meshif ifindex {mesh_ifindex} hardif ifindex {hard_ifindex}"
        ),
    )
}

/// `BATADV_CMD_GET_ORIGINATORS` (send with [`Socket::dump`]).
pub fn originators(family: u16, mesh_ifindex: u32) -> Request {
    request(
        family,
        BATADV_CMD_GET_ORIGINATORS,
        |p| wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex),
        format!("BATADV_CMD_GET_ORIGINATORS meshif ifindex {mesh_ifindex}"),
    )
}

/// `BATADV_CMD_GET_NEIGHBORS` (send with [`Socket::dump`]).
pub fn neighbors(family: u16, mesh_ifindex: u32) -> Request {
    request(
        family,
        BATADV_CMD_GET_NEIGHBORS,
        |p| wire::put_u32(p, BATADV_ATTR_MESH_IFINDEX, mesh_ifindex),
        format!("BATADV_CMD_GET_NEIGHBORS meshif ifindex {mesh_ifindex}"),
    )
}

/// A generic netlink socket with the batadv family resolved.
#[derive(Debug)]
pub struct Batadv {
    socket: Socket,
    family: u16,
}

impl Batadv {
    /// Opens a generic netlink socket in the calling thread's network namespace and
    /// resolves the family.
    ///
    /// # Errors
    /// [`RequestError::Kernel`] with `ENOENT` when batman-adv is not loaded,
    /// [`RequestError::Socket`] when no generic netlink socket can be opened.
    pub fn open() -> Result<Batadv, RequestError> {
        let mut socket = Socket::generic().map_err(|source| RequestError::Socket {
            request: format!("CTRL_CMD_GETFAMILY {FAMILY_NAME}"),
            source,
        })?;
        let family = socket.resolve_family(FAMILY_NAME)?.id;
        Ok(Batadv { socket, family })
    }

    /// The resolved family id.
    pub fn family(&self) -> u16 {
        self.family
    }

    /// Sets mesh options.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "BATADV_CMD_SET_MESH")]
    pub fn set_mesh(
        &mut self,
        mesh_ifindex: u32,
        settings: &MeshSettings,
    ) -> Result<(), RequestError> {
        self.socket
            .execute(&set_mesh(self.family, mesh_ifindex, settings))
            .map(drop)
    }

    /// Reads mesh options.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "BATADV_CMD_GET_MESH")]
    pub fn mesh(&mut self, mesh_ifindex: u32) -> Result<MeshInfo, RequestError> {
        let req = get_mesh(self.family, mesh_ifindex);
        let replies = self.socket.execute(&req)?;
        let m = replies.first().ok_or_else(|| RequestError::NotFound {
            request: req.description.clone(),
        })?;
        MeshInfo::parse(&m.payload).map_err(|source| RequestError::Malformed {
            request: req.description,
            source,
        })
    }

    /// Sets hard-interface options.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "BATADV_CMD_SET_HARDIF")]
    pub fn set_hardif(
        &mut self,
        mesh_ifindex: u32,
        hard_ifindex: u32,
        settings: &HardifSettings,
    ) -> Result<(), RequestError> {
        self.socket
            .execute(&set_hardif(
                self.family,
                mesh_ifindex,
                hard_ifindex,
                settings,
            ))
            .map(drop)
    }

    /// Reads hard-interface options.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "BATADV_CMD_GET_HARDIF")]
    pub fn hardif(
        &mut self,
        mesh_ifindex: u32,
        hard_ifindex: u32,
    ) -> Result<HardifInfo, RequestError> {
        let req = get_hardif(self.family, mesh_ifindex, hard_ifindex);
        let replies = self.socket.execute(&req)?;
        let m = replies.first().ok_or_else(|| RequestError::NotFound {
            request: req.description.clone(),
        })?;
        HardifInfo::parse(&m.payload).map_err(|source| RequestError::Malformed {
            request: req.description,
            source,
        })
    }

    /// The originator table.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "batctl originators")]
    pub fn originators(&mut self, mesh_ifindex: u32) -> Result<Vec<Originator>, RequestError> {
        self.dump_parsed(&originators(self.family, mesh_ifindex), Originator::parse)
    }

    /// The neighbour table.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "batctl neighbors")]
    pub fn neighbors(&mut self, mesh_ifindex: u32) -> Result<Vec<Neighbor>, RequestError> {
        self.dump_parsed(&neighbors(self.family, mesh_ifindex), Neighbor::parse)
    }

    fn dump_parsed<T>(
        &mut self,
        req: &Request,
        parse: fn(&[u8]) -> Result<T, WireError>,
    ) -> Result<Vec<T>, RequestError> {
        let mut out = Vec::new();
        let mut bad = None;
        self.socket
            .dump_with(req, |_, payload| match parse(payload) {
                Ok(v) => out.push(v),
                Err(e) => bad = Some(e),
            })?;
        match bad {
            Some(source) => Err(RequestError::Malformed {
                request: req.description.clone(),
                source,
            }),
            None => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests;
