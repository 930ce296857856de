//! Links (`RTM_*LINK`): list, look up, create (bridge, veth, vlan, dummy, macvlan, vxlan,
//! bond, batadv), delete, and change (up/down, MTU, MAC, master).
//!
//! Builders are pure functions returning a [`Request`]; the `Socket` methods here send
//! them. Messages are built with netlink-packet-route.
//!
//! # References
//! - <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>
//! - `ip-link(8)`, `systemd.netdev(5)`

use std::fmt;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::str::FromStr;

use netlink_packet_core::{DefaultNla, Emitable, Parseable};
use netlink_packet_route::link::{
    self as npr, InfoBatAdv, InfoBond, InfoData, InfoKind, InfoMacVlan, InfoVeth, InfoVlan,
    InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use serde::Serialize;

use crate::error::RequestError;
use crate::socket::{Request, Socket};
use crate::wire::NlmFlags;

/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_SETLINK`.
pub const RTM_SETLINK: u16 = 19;

/// An Ethernet (EUI-48) address, written `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress(pub [u8; 6]);

/// A string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}")]
pub struct ParseMacAddressError(pub String);

impl FromStr for MacAddress {
    type Err = ParseMacAddressError;

    /// Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` and `aabb.ccdd.eeff`, as systemd's
    /// `ether_addr_from_string` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMacAddressError(s.to_owned());
        let mut out = [0u8; 6];
        let groups: Vec<&str> = if s.contains('.') {
            s.split('.').collect()
        } else if s.contains('-') {
            s.split('-').collect()
        } else {
            s.split(':').collect()
        };
        match groups.len() {
            6 => {
                for (o, g) in out.iter_mut().zip(&groups) {
                    if g.is_empty() || g.len() > 2 {
                        return Err(err());
                    }
                    *o = u8::from_str_radix(g, 16).map_err(|_| err())?;
                }
            }
            3 => {
                for (i, g) in groups.iter().enumerate() {
                    if g.len() != 4 {
                        return Err(err());
                    }
                    let v = u16::from_str_radix(g, 16).map_err(|_| err())?;
                    let [hi, lo] = v.to_be_bytes();
                    out[2 * i] = hi;
                    out[2 * i + 1] = lo;
                }
            }
            _ => return Err(err()),
        }
        Ok(MacAddress(out))
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl Serialize for MacAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `IF_OPER_*`: RFC 2863 operational state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OperState {
    /// `IF_OPER_UNKNOWN`.
    #[default]
    Unknown,
    /// `IF_OPER_NOTPRESENT`.
    NotPresent,
    /// `IF_OPER_DOWN`.
    Down,
    /// `IF_OPER_LOWERLAYERDOWN`.
    LowerLayerDown,
    /// `IF_OPER_TESTING`.
    Testing,
    /// `IF_OPER_DORMANT`.
    Dormant,
    /// `IF_OPER_UP`.
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl From<npr::State> for OperState {
    fn from(s: npr::State) -> Self {
        match s {
            npr::State::Unknown => Self::Unknown,
            npr::State::NotPresent => Self::NotPresent,
            npr::State::Down => Self::Down,
            npr::State::LowerLayerDown => Self::LowerLayerDown,
            npr::State::Testing => Self::Testing,
            npr::State::Dormant => Self::Dormant,
            npr::State::Up => Self::Up,
            npr::State::Other(v) => Self::Other(v),
            _ => Self::Unknown,
        }
    }
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFLA_INFO_KIND` (`veth`, `bridge`, `batadv`, …); `None` for physical devices.
    pub kind: Option<String>,
    /// MTU.
    pub mtu: u32,
    /// Hardware address (Ethernet-like links).
    pub mac: Option<MacAddress>,
    /// The master's index (bridge, bond, batadv).
    pub master: Option<u32>,
    /// The parent link (`IFLA_LINK`: vlan, macvlan, veth peer).
    pub parent: Option<u32>,
    /// `IFF_UP`: administratively up.
    pub up: bool,
    /// `IFF_LOWER_UP`: carrier.
    pub lower_up: bool,
    /// Operational state.
    pub oper_state: OperState,
    /// `IFLA_IFALIAS` (`Description=`).
    pub alias: Option<String>,
    /// `ifi_type`: the `ARPHRD_*` hardware type (1 = Ethernet, 772 = loopback).
    pub arphrd: u16,
}

/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

impl Link {
    /// The string `[Match] Type=` is matched against, as networkd 248 computes it
    /// (`link_get_type_string`): the device's `DEVTYPE` when its driver sets one
    /// (`bridge`, `bond`, `vlan`, `vxlan`, `wlan`, …), otherwise the lower-cased
    /// `ARPHRD_*` name (`ether`, `loopback`, `none`, …).
    ///
    /// Without udev the `DEVTYPE` is derived from the link kind for the kinds whose
    /// kernel drivers set one.
    pub fn type_name(&self) -> String {
        type_name(self.kind.as_deref(), self.arphrd)
    }

    /// Whether this is a loopback device (`lo`).
    pub fn is_loopback(&self) -> bool {
        self.arphrd == ARPHRD_LOOPBACK
    }
}

/// The driver of the link called `name` in the calling thread's network namespace, as
/// `ethtool -i` reports it (`veth`, `bridge`, `e1000`, …): `[Match] Driver=`.
///
/// # Errors
/// The errno of `ioctl(SIOCETHTOOL, ETHTOOL_GDRVINFO)` (`ENODEV`: no such link,
/// `EOPNOTSUPP`: the driver does not say).
#[doc(alias = "ETHTOOL_GDRVINFO")]
pub fn driver(name: &str) -> Result<String, nix::errno::Errno> {
    crate::sys::ethtool_driver(name)
}

/// [`Link::type_name`] for a link of `kind` and hardware type `arphrd`.
pub fn type_name(kind: Option<&str>, arphrd: u16) -> String {
    match kind {
        Some(k @ ("bridge" | "bond" | "vlan" | "vxlan" | "geneve" | "wireguard")) => k.to_owned(),
        _ => npr::LinkLayerType::from(arphrd)
            .to_string()
            .to_ascii_lowercase(),
    }
}

impl Link {
    /// Decodes an `RTM_NEWLINK` payload.
    ///
    /// # Errors
    /// The decoder's message when the payload is malformed.
    pub fn parse(payload: &[u8]) -> Result<Link, String> {
        let msg = LinkMessage::parse(payload).map_err(|e| e.to_string())?;
        Ok(Link::from_message(&msg))
    }

    fn from_message(msg: &LinkMessage) -> Link {
        let mut link = Link {
            index: msg.header.index,
            up: msg.header.flags.contains(LinkFlags::Up),
            lower_up: msg.header.flags.contains(LinkFlags::LowerUp),
            arphrd: u16::from(msg.header.link_layer_type),
            ..Link::default()
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name.clone_from(n),
                LinkAttribute::Mtu(m) => link.mtu = *m,
                LinkAttribute::Address(a) => {
                    link.mac = <[u8; 6]>::try_from(a.as_slice()).ok().map(MacAddress);
                }
                LinkAttribute::Controller(m) => link.master = Some(*m),
                LinkAttribute::Link(p) => link.parent = Some(*p),
                LinkAttribute::OperState(s) => link.oper_state = (*s).into(),
                LinkAttribute::IfAlias(a) => link.alias = Some(a.clone()),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(k) = info {
                            link.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

/// `MACVLAN_MODE_*` (`[MACVLAN] Mode=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MacvlanMode {
    /// `private`.
    Private,
    /// `vepa` (the kernel's default).
    #[default]
    Vepa,
    /// `bridge`.
    Bridge,
    /// `passthru`.
    Passthru,
    /// `source`.
    Source,
}

impl MacvlanMode {
    /// Parses systemd's names (`private`, `vepa`, `bridge`, `passthru`, `source`).
    pub fn from_name(s: &str) -> Option<MacvlanMode> {
        Some(match s {
            "private" => Self::Private,
            "vepa" => Self::Vepa,
            "bridge" => Self::Bridge,
            "passthru" => Self::Passthru,
            "source" => Self::Source,
            _ => return None,
        })
    }

    fn to_npr(self) -> npr::MacVlanMode {
        match self {
            Self::Private => npr::MacVlanMode::Private,
            Self::Vepa => npr::MacVlanMode::Vepa,
            Self::Bridge => npr::MacVlanMode::Bridge,
            Self::Passthru => npr::MacVlanMode::Passthrough,
            Self::Source => npr::MacVlanMode::Source,
        }
    }
}

/// Bonding modes (`[Bond] Mode=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BondMode {
    /// `balance-rr` (kernel default).
    #[default]
    BalanceRr,
    /// `active-backup`.
    ActiveBackup,
    /// `balance-xor`.
    BalanceXor,
    /// `broadcast`.
    Broadcast,
    /// `802.3ad`.
    Lacp,
    /// `balance-tlb`.
    BalanceTlb,
    /// `balance-alb`.
    BalanceAlb,
}

impl BondMode {
    /// Parses systemd's names (`balance-rr`, …, `802.3ad`, …).
    pub fn from_name(s: &str) -> Option<BondMode> {
        Some(match s {
            "balance-rr" => Self::BalanceRr,
            "active-backup" => Self::ActiveBackup,
            "balance-xor" => Self::BalanceXor,
            "broadcast" => Self::Broadcast,
            "802.3ad" => Self::Lacp,
            "balance-tlb" => Self::BalanceTlb,
            "balance-alb" => Self::BalanceAlb,
            _ => return None,
        })
    }

    fn to_npr(self) -> npr::BondMode {
        match self {
            Self::BalanceRr => npr::BondMode::BalanceRr,
            Self::ActiveBackup => npr::BondMode::ActiveBackup,
            Self::BalanceXor => npr::BondMode::BalanceXor,
            Self::Broadcast => npr::BondMode::Broadcast,
            Self::Lacp => npr::BondMode::Ieee8023Ad,
            Self::BalanceTlb => npr::BondMode::BalanceTlb,
            Self::BalanceAlb => npr::BondMode::BalanceAlb,
        }
    }
}

/// VLAN protocol (`[VLAN] Protocol=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum VlanProtocol {
    /// `802.1q` (default).
    #[default]
    #[serde(rename = "802.1q")]
    Dot1Q,
    /// `802.1ad`.
    #[serde(rename = "802.1ad")]
    Dot1Ad,
}

impl VlanProtocol {
    /// Parses `802.1q` / `802.1ad`.
    pub fn from_name(s: &str) -> Option<VlanProtocol> {
        match s {
            "802.1q" => Some(Self::Dot1Q),
            "802.1ad" => Some(Self::Dot1Ad),
            _ => None,
        }
    }
}

/// The batman-adv routing algorithm (`[BatmanAdvanced] RoutingAlgorithm=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BatadvAlgorithm {
    /// `batman-v` (systemd's default).
    #[default]
    BatmanV,
    /// `batman-iv`.
    BatmanIv,
}

impl BatadvAlgorithm {
    /// Parses systemd's names `batman-v` / `batman-iv`.
    pub fn from_name(s: &str) -> Option<BatadvAlgorithm> {
        match s {
            "batman-v" => Some(Self::BatmanV),
            "batman-iv" => Some(Self::BatmanIv),
            _ => None,
        }
    }

    /// The kernel's name (`IFLA_BATADV_ALGO_NAME`): `BATMAN_V` / `BATMAN_IV`.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Self::BatmanV => "BATMAN_V",
            Self::BatmanIv => "BATMAN_IV",
        }
    }
}

/// Bridge options sent at creation (`IFLA_INFO_DATA` of a bridge); `None` keeps the
/// kernel's default. Times are in the kernel's unit, centiseconds (`USER_HZ`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeOptions {
    /// `IFLA_BR_STP_STATE` (`STP=`).
    pub stp: Option<bool>,
    /// `IFLA_BR_PRIORITY` (`Priority=`).
    pub priority: Option<u16>,
    /// `IFLA_BR_FORWARD_DELAY` (`ForwardDelaySec=`), centiseconds.
    pub forward_delay: Option<u32>,
    /// `IFLA_BR_HELLO_TIME` (`HelloTimeSec=`), centiseconds.
    pub hello_time: Option<u32>,
    /// `IFLA_BR_MAX_AGE` (`MaxAgeSec=`), centiseconds.
    pub max_age: Option<u32>,
    /// `IFLA_BR_AGEING_TIME` (`AgeingTimeSec=`), centiseconds.
    pub ageing_time: Option<u32>,
    /// `IFLA_BR_VLAN_FILTERING` (`VLANFiltering=`).
    pub vlan_filtering: Option<bool>,
    /// `IFLA_BR_VLAN_DEFAULT_PVID` (`DefaultPVID=`).
    pub default_pvid: Option<u16>,
    /// `IFLA_BR_MCAST_SNOOPING` (`MulticastSnooping=`).
    pub multicast_snooping: Option<bool>,
    /// `IFLA_BR_MCAST_QUERIER` (`MulticastQuerier=`).
    pub multicast_querier: Option<bool>,
}

impl BridgeOptions {
    fn info(&self) -> Vec<npr::InfoBridge> {
        use npr::InfoBridge as B;
        let mut v = Vec::new();
        if let Some(x) = self.forward_delay {
            v.push(B::ForwardDelay(x));
        }
        if let Some(x) = self.hello_time {
            v.push(B::HelloTime(x));
        }
        if let Some(x) = self.max_age {
            v.push(B::MaxAge(x));
        }
        if let Some(x) = self.ageing_time {
            v.push(B::AgeingTime(x));
        }
        if let Some(x) = self.stp {
            v.push(B::StpState(if x {
                npr::BridgeStpState::KernelStp
            } else {
                npr::BridgeStpState::Disabled
            }));
        }
        if let Some(x) = self.priority {
            v.push(B::Priority(x));
        }
        if let Some(x) = self.vlan_filtering {
            v.push(B::VlanFiltering(x));
        }
        if let Some(x) = self.default_pvid {
            v.push(B::VlanDefaultPvid(x));
        }
        if let Some(x) = self.multicast_snooping {
            v.push(B::MulticastSnooping(x));
        }
        if let Some(x) = self.multicast_querier {
            v.push(B::MulticastQuerier(x));
        }
        v
    }
}

/// What kind of link to create, with its kind-specific settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkKind {
    /// `bridge`.
    Bridge(BridgeOptions),
    /// `dummy`.
    Dummy,
    /// `veth` with the peer's name (the peer's netns is an argument of [`create`]).
    Veth {
        /// The peer's name.
        peer: String,
        /// The peer's MAC address (`[Peer] MACAddress=`).
        peer_mac: Option<MacAddress>,
    },
    /// `vlan` on `parent`.
    Vlan {
        /// The underlying link.
        parent: u32,
        /// VLAN id, 0…4094.
        id: u16,
        /// Protocol.
        protocol: VlanProtocol,
    },
    /// `macvlan` on `parent`.
    Macvlan {
        /// The underlying link.
        parent: u32,
        /// Mode.
        mode: MacvlanMode,
    },
    /// `vxlan`.
    Vxlan {
        /// VNI.
        vni: u32,
        /// Remote (unicast) or group (multicast) address.
        remote: Option<IpAddr>,
        /// Local address.
        local: Option<IpAddr>,
        /// UDP destination port (kernel default 8472 when unset).
        port: Option<u16>,
        /// Underlying link.
        parent: Option<u32>,
    },
    /// `bond`.
    Bond {
        /// Mode.
        mode: BondMode,
    },
    /// `batadv`.
    Batadv {
        /// Routing algorithm (only settable at creation).
        algorithm: BatadvAlgorithm,
    },
}

impl LinkKind {
    /// The kernel's kind name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bridge(_) => "bridge",
            Self::Dummy => "dummy",
            Self::Veth { .. } => "veth",
            Self::Vlan { .. } => "vlan",
            Self::Macvlan { .. } => "macvlan",
            Self::Vxlan { .. } => "vxlan",
            Self::Bond { .. } => "bond",
            Self::Batadv { .. } => "batadv",
        }
    }
}

/// A link to create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkSpec {
    /// Interface name.
    pub name: String,
    /// Kind and its settings.
    pub kind: LinkKind,
    /// MTU (`MTUBytes=`).
    pub mtu: Option<u32>,
    /// MAC address (`MACAddress=`).
    pub mac: Option<MacAddress>,
}

impl LinkSpec {
    /// A link called `name` of `kind`, everything else unset.
    pub fn new(name: impl Into<String>, kind: LinkKind) -> LinkSpec {
        LinkSpec {
            name: name.into(),
            kind,
            mtu: None,
            mac: None,
        }
    }
}

/// What to change on an existing link; `None` fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkChange {
    /// Bring up (`true`) or down (`false`).
    pub up: Option<bool>,
    /// New MTU.
    pub mtu: Option<u32>,
    /// New MAC address.
    pub mac: Option<MacAddress>,
    /// Enslave to this master's index, or release with `Some(0)` (`nomaster`).
    pub master: Option<u32>,
    /// Set the alias (`IFLA_IFALIAS`; the kernel ignores it at creation); empty clears it.
    pub alias: Option<String>,
}

/// `IFLA_INFO_KIND` without the trailing NUL, as iproute2 sends it (the kernel accepts
/// both; netlink-packet-route would add the NUL).
fn kind_attr(kind: InfoKind) -> LinkInfo {
    LinkInfo::Other(DefaultNla::new(1, kind.to_string().into_bytes()))
}

fn emit(msg: &LinkMessage) -> Vec<u8> {
    let mut buf = vec![0; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

/// `RTM_GETLINK` dump: every link.
pub fn dump() -> Request {
    Request::new(
        RTM_GETLINK,
        NlmFlags::empty(),
        emit(&LinkMessage::default()),
        "RTM_GETLINK (dump)",
    )
}

/// `RTM_GETLINK` for the link called `name`.
pub fn get_by_name(name: &str) -> Request {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    Request::new(
        RTM_GETLINK,
        NlmFlags::empty(),
        emit(&msg),
        format!("RTM_GETLINK {name}"),
    )
}

/// `RTM_GETLINK` for the link with `index`.
pub fn get_by_index(index: u32) -> Request {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    Request::new(
        RTM_GETLINK,
        NlmFlags::empty(),
        emit(&msg),
        format!("RTM_GETLINK ifindex {index}"),
    )
}

/// `RTM_NEWLINK` with `NLM_F_CREATE | NLM_F_EXCL` for `spec`; for a veth, `peer_netns`
/// moves the peer into that network namespace (`IFLA_NET_NS_FD`).
///
/// The fd only has to stay open until the request is sent.
pub fn create(spec: &LinkSpec, peer_netns: Option<BorrowedFd<'_>>) -> Request {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(spec.name.clone()));
    if let Some(mtu) = spec.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = spec.mac {
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    let mut info = Vec::with_capacity(2);
    let mut detail = String::new();
    match &spec.kind {
        LinkKind::Bridge(options) => {
            info.push(kind_attr(InfoKind::Bridge));
            let data = options.info();
            if !data.is_empty() {
                info.push(LinkInfo::Data(InfoData::Bridge(data)));
            }
        }
        LinkKind::Dummy => info.push(kind_attr(InfoKind::Dummy)),
        LinkKind::Veth { peer, peer_mac } => {
            let mut p = LinkMessage::default();
            p.attributes.push(LinkAttribute::IfName(peer.clone()));
            if let Some(mac) = peer_mac {
                p.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
            }
            if let Some(fd) = peer_netns {
                p.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
            }
            info.push(kind_attr(InfoKind::Veth));
            info.push(LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))));
            detail = format!(" peer {peer}");
        }
        LinkKind::Vlan {
            parent,
            id,
            protocol,
        } => {
            msg.attributes.push(LinkAttribute::Link(*parent));
            let proto = match protocol {
                VlanProtocol::Dot1Q => npr::VlanProtocol::Ieee8021Q,
                VlanProtocol::Dot1Ad => npr::VlanProtocol::Ieee8021Ad,
            };
            info.push(kind_attr(InfoKind::Vlan));
            info.push(LinkInfo::Data(InfoData::Vlan(vec![
                InfoVlan::Id(*id),
                InfoVlan::Protocol(proto),
            ])));
            detail = format!(" link {parent} id {id}");
        }
        LinkKind::Macvlan { parent, mode } => {
            msg.attributes.push(LinkAttribute::Link(*parent));
            info.push(kind_attr(InfoKind::MacVlan));
            info.push(LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                mode.to_npr(),
            )])));
            detail = format!(" link {parent}");
        }
        LinkKind::Vxlan {
            vni,
            remote,
            local,
            port,
            parent,
        } => {
            let mut data = vec![InfoVxlan::Id(*vni)];
            match remote {
                Some(IpAddr::V4(a)) => data.push(InfoVxlan::Group(*a)),
                Some(IpAddr::V6(a)) => data.push(InfoVxlan::Group6(*a)),
                None => {}
            }
            match local {
                Some(IpAddr::V4(a)) => data.push(InfoVxlan::Local(*a)),
                Some(IpAddr::V6(a)) => data.push(InfoVxlan::Local6(*a)),
                None => {}
            }
            if let Some(p) = parent {
                data.push(InfoVxlan::Link(*p));
            }
            if let Some(p) = port {
                data.push(InfoVxlan::Port(*p));
            }
            info.push(kind_attr(InfoKind::Vxlan));
            info.push(LinkInfo::Data(InfoData::Vxlan(data)));
            detail = format!(" id {vni}");
        }
        LinkKind::Bond { mode } => {
            info.push(kind_attr(InfoKind::Bond));
            info.push(LinkInfo::Data(InfoData::Bond(vec![InfoBond::Mode(
                mode.to_npr(),
            )])));
        }
        LinkKind::Batadv { algorithm } => {
            info.push(kind_attr(InfoKind::BatAdv));
            info.push(LinkInfo::Data(InfoData::BatAdv(vec![
                InfoBatAdv::AlgoName(algorithm.kernel_name().to_owned()),
            ])));
        }
    }
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    Request::new(
        RTM_NEWLINK,
        NlmFlags::CREATE | NlmFlags::EXCL,
        emit(&msg),
        format!(
            "RTM_NEWLINK {} type {}{detail}",
            spec.name,
            spec.kind.name()
        ),
    )
}

/// `RTM_DELLINK` for `index`.
pub fn delete(index: u32) -> Request {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    Request::new(
        RTM_DELLINK,
        NlmFlags::empty(),
        emit(&msg),
        format!("RTM_DELLINK ifindex {index}"),
    )
}

/// `RTM_NEWLINK` (without `CREATE`) changing `index` as `change` says.
pub fn set(index: u32, change: &LinkChange) -> Request {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    let mut what = Vec::new();
    if let Some(up) = change.up {
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        what.push(if up {
            "up".to_owned()
        } else {
            "down".to_owned()
        });
    }
    if let Some(mtu) = change.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        what.push(format!("mtu {mtu}"));
    }
    if let Some(mac) = change.mac {
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        what.push(format!("address {mac}"));
    }
    if let Some(master) = change.master {
        msg.attributes.push(LinkAttribute::Controller(master));
        what.push(if master == 0 {
            "nomaster".to_owned()
        } else {
            format!("master {master}")
        });
    }
    if let Some(alias) = &change.alias {
        msg.attributes.push(LinkAttribute::IfAlias(alias.clone()));
        what.push(format!("alias {alias:?}"));
    }
    Request::new(
        RTM_NEWLINK,
        NlmFlags::empty(),
        emit(&msg),
        format!("RTM_NEWLINK ifindex {index} {}", what.join(" ")),
    )
}

fn decode(request: &Request, payload: &[u8]) -> Result<Link, RequestError> {
    Link::parse(payload).map_err(|detail| RequestError::Decode {
        request: request.description.clone(),
        detail,
    })
}

impl Socket {
    /// Every link.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip link show")]
    pub fn links(&mut self) -> Result<Vec<Link>, RequestError> {
        self.dump_decoded(&dump(), RTM_NEWLINK, Link::parse)
    }

    /// The link called `name`, or `None` when there is none (`ENODEV`).
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, RequestError> {
        self.get_link(&get_by_name(name))
    }

    /// The link with `index`, or `None` when there is none.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, RequestError> {
        self.get_link(&get_by_index(index))
    }

    fn get_link(&mut self, req: &Request) -> Result<Option<Link>, RequestError> {
        match self.execute(req) {
            Ok(replies) => match replies
                .iter()
                .find(|m| m.header.message_type == RTM_NEWLINK)
            {
                Some(m) => decode(req, &m.payload).map(Some),
                None => Ok(None),
            },
            Err(e) if e.errno() == Some(nix::errno::Errno::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a link (see [`create`]).
    ///
    /// # Errors
    /// [`RequestError`] (`EEXIST` when a link of that name exists).
    #[doc(alias = "ip link add")]
    pub fn create_link(
        &mut self,
        spec: &LinkSpec,
        peer_netns: Option<BorrowedFd<'_>>,
    ) -> Result<(), RequestError> {
        self.execute(&create(spec, peer_netns)).map(drop)
    }

    /// Deletes the link with `index`.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip link del")]
    pub fn delete_link(&mut self, index: u32) -> Result<(), RequestError> {
        self.execute(&delete(index)).map(drop)
    }

    /// Applies `change` to the link with `index`.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip link set")]
    pub fn set_link(&mut self, index: u32, change: &LinkChange) -> Result<(), RequestError> {
        self.execute(&set(index, change)).map(drop)
    }

    /// Brings the link up.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn set_link_up(&mut self, index: u32) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                up: Some(true),
                ..LinkChange::default()
            },
        )
    }

    /// Brings the link down.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn set_link_down(&mut self, index: u32) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                up: Some(false),
                ..LinkChange::default()
            },
        )
    }

    /// Sets the MTU.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn set_link_mtu(&mut self, index: u32, mtu: u32) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                mtu: Some(mtu),
                ..LinkChange::default()
            },
        )
    }

    /// Sets the MAC address.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn set_link_mac(&mut self, index: u32, mac: MacAddress) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                mac: Some(mac),
                ..LinkChange::default()
            },
        )
    }

    /// Enslaves the link to `master` (a bridge, bond or batadv interface).
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip link set master")]
    pub fn set_link_master(&mut self, index: u32, master: u32) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                master: Some(master),
                ..LinkChange::default()
            },
        )
    }

    /// Releases the link from its master.
    ///
    /// # Errors
    /// [`RequestError`].
    #[doc(alias = "ip link set nomaster")]
    pub fn set_link_nomaster(&mut self, index: u32) -> Result<(), RequestError> {
        self.set_link(
            index,
            &LinkChange {
                master: Some(0),
                ..LinkChange::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{HEADER_LEN, attrs};

    /// The payload of `ip link add bat9 type batadv ra BATMAN_V`, captured with strace
    /// (shared/data/batctl-netlink/strace-iplink-add-batadv.txt).
    const IPLINK_ADD_BATADV: &[u8] = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x03\x00\x62\x61\x74\x39\x00\x00\x00\x00\x24\x00\x12\x00\x0a\x00\x01\x00\x62\x61\x74\x61\x64\x76\x00\x00\x14\x00\x02\x00\x0d\x00\x01\x00\x42\x41\x54\x4d\x41\x4e\x5f\x56\x00\x00\x00\x00";

    #[test]
    fn batadv_create_matches_iproute2() {
        let spec = LinkSpec::new(
            "bat9",
            LinkKind::Batadv {
                algorithm: BatadvAlgorithm::BatmanV,
            },
        );
        let req = create(&spec, None);
        assert_eq!(req.message_type, RTM_NEWLINK);
        assert_eq!(req.flags, NlmFlags::CREATE | NlmFlags::EXCL);
        assert_eq!(req.payload, IPLINK_ADD_BATADV);
        let mut out = Vec::new();
        req.emit(&mut out, 1, 0);
        assert_eq!(out.len(), 80);
        // strace shows NLM_F_REQUEST|NLM_F_ACK|0x600.
        assert_eq!(u16::from_ne_bytes([out[6], out[7]]), 0x605);
        assert_eq!(&out[HEADER_LEN..], IPLINK_ADD_BATADV);
        assert_eq!(req.description, "RTM_NEWLINK bat9 type batadv");
    }

    fn info_data(payload: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let linkinfo = attrs(&payload[16..])
            .flatten()
            .find(|a| a.kind == 18)
            .unwrap();
        let data = linkinfo.nested().flatten().find(|a| a.kind == 2).unwrap();
        data.nested()
            .flatten()
            .map(|a| (a.kind, a.value.to_vec()))
            .collect()
    }

    #[test]
    fn vlan_dummy_bond_bytes() {
        let vlan = create(
            &LinkSpec::new(
                "vlan10",
                LinkKind::Vlan {
                    parent: 2,
                    id: 10,
                    protocol: VlanProtocol::Dot1Ad,
                },
            ),
            None,
        );
        // IFLA_VLAN_ID (1) u16 10, IFLA_VLAN_PROTOCOL (5) be16 0x88a8.
        assert_eq!(
            info_data(&vlan.payload),
            vec![(1, 10u16.to_ne_bytes().to_vec()), (5, vec![0x88, 0xa8])]
        );
        let link = attrs(&vlan.payload[16..])
            .flatten()
            .find(|a| a.kind == 5)
            .unwrap();
        assert_eq!(link.as_u32().unwrap(), 2);

        let dummy = create(&LinkSpec::new("d0", LinkKind::Dummy), None);
        let linkinfo = attrs(&dummy.payload[16..])
            .flatten()
            .find(|a| a.kind == 18)
            .unwrap();
        let kinds: Vec<_> = linkinfo.nested().flatten().collect();
        assert_eq!(kinds.len(), 1);
        assert_eq!(kinds[0].as_str().unwrap(), "dummy");

        let bond = create(
            &LinkSpec::new(
                "bond0",
                LinkKind::Bond {
                    mode: BondMode::Lacp,
                },
            ),
            None,
        );
        // IFLA_BOND_MODE (1) u8 4 (802.3ad).
        assert_eq!(info_data(&bond.payload), vec![(1, vec![4])]);

        let mv = create(
            &LinkSpec::new(
                "mv0",
                LinkKind::Macvlan {
                    parent: 3,
                    mode: MacvlanMode::Bridge,
                },
            ),
            None,
        );
        // IFLA_MACVLAN_MODE (1) u32 4 (bridge).
        assert_eq!(
            info_data(&mv.payload),
            vec![(1, 4u32.to_ne_bytes().to_vec())]
        );
    }

    #[test]
    fn set_link_messages() {
        let up = set(
            7,
            &LinkChange {
                up: Some(true),
                mtu: Some(1400),
                master: Some(0),
                ..LinkChange::default()
            },
        );
        assert_eq!(up.description, "RTM_NEWLINK ifindex 7 up mtu 1400 nomaster");
        let p = &up.payload;
        assert_eq!(u32::from_ne_bytes(p[4..8].try_into().unwrap()), 7);
        assert_eq!(u32::from_ne_bytes(p[8..12].try_into().unwrap()), 1); // IFF_UP
        assert_eq!(u32::from_ne_bytes(p[12..16].try_into().unwrap()), 1); // change mask
    }

    #[test]
    fn mac_addresses() {
        let m: MacAddress = "02:00:5E:10:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:5e:10:00:01");
        assert_eq!("0200.5e10.0001".parse::<MacAddress>().unwrap(), m);
        assert_eq!("02-00-5e-10-00-01".parse::<MacAddress>().unwrap(), m);
        for bad in [
            "",
            "02:00:5e:10:00",
            "02:00:5e:10:00:01:02",
            "0g:00:5e:10:00:01",
            "020:0:5e:10:00:01",
        ] {
            assert!(bad.parse::<MacAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_garbage_is_an_error() {
        assert!(Link::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn loopback_is_listed_unprivileged() {
        let mut s = Socket::route().unwrap();
        let links = s.links().unwrap();
        let lo = links.iter().find(|l| l.name == "lo").unwrap();
        assert_eq!(lo.index, 1);
        assert_eq!(s.link_by_name("lo").unwrap().unwrap().index, 1);
        assert_eq!(s.link_by_name("no-such-link0").unwrap(), None);
        assert_eq!(s.link_by_index(1).unwrap().unwrap().name, "lo");
    }
}
