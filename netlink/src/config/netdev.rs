//! `.netdev` files: `[Match]`, `[NetDev]` and the kind sections (`[BatmanAdvanced]`,
//! `[Bridge]`, `[VLAN]`, `[Peer]`, `[MACVLAN]`, `[VXLAN]`, `[Bond]`).
//!
//! # References
//! - `systemd.netdev(5)` (248); spec §3.2

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use keel_core::time::Usec;
use serde::Serialize;

use super::{Diagnostic, Entry, for_each_entry, ifname_is_valid, parse_bool, parse_ip, parse_mtu};
use crate::batadv::{GatewayMode, MeshSettings};
use crate::link::{
    BatadvAlgorithm, BondMode, BridgeOptions, LinkKind, LinkSpec, MacAddress, MacvlanMode,
    VlanProtocol,
};

const SECTIONS: &[&str] = &[
    "Match",
    "NetDev",
    "BatmanAdvanced",
    "Bridge",
    "VLAN",
    "Peer",
    "MACVLAN",
    "VXLAN",
    "Bond",
];

/// Keys of 248's kind sections that keel parses but does not apply yet (from 248's
/// `netdev-gperf.gperf`): a notice instead of "Unknown key name".
const KNOWN_UNSUPPORTED: &[(&str, &[&str])] = &[
    (
        "VLAN",
        &[
            "GVRP",
            "MVRP",
            "LooseBinding",
            "ReorderHeader",
            "EgressQOSMaps",
            "IngressQOSMaps",
        ],
    ),
    (
        "Bridge",
        &["GroupForwardMask", "VLANProtocol", "MulticastIGMPVersion"],
    ),
    (
        "VXLAN",
        &[
            "TOS",
            "TTL",
            "MacLearning",
            "FDBAgeingSec",
            "MaximumFDBEntries",
            "ReduceARPProxy",
            "L2MissNotification",
            "L3MissNotification",
            "RouteShortCircuit",
            "UDPChecksum",
            "UDPCheckSum",
            "UDP6ZeroChecksumTx",
            "UDP6ZeroChecksumRx",
            "UDP6ZeroCheckSumTx",
            "UDP6ZeroCheckSumRx",
            "RemoteChecksumTx",
            "RemoteChecksumRx",
            "GroupPolicyExtension",
            "GenericProtocolExtension",
            "PortRange",
            "FlowLabel",
            "IPDoNotFragment",
            "Independent",
            "ARPProxy",
        ],
    ),
    (
        "Bond",
        &[
            "TransmitHashPolicy",
            "LACPTransmitRate",
            "MIIMonitorSec",
            "UpDelaySec",
            "DownDelaySec",
            "ARPValidate",
            "ARPIntervalSec",
            "ARPIPTargets",
            "ARPAllTargets",
            "PrimaryReselectPolicy",
            "ResendIGMP",
            "PacketsPerSlave",
            "GratuitousARP",
            "AllSlavesActive",
            "DynamicTransmitLoadBalancing",
            "MinLinks",
            "AdSelect",
            "AdActorSystemPriority",
            "AdUserPortKey",
            "AdActorSystem",
            "FailOverMACPolicy",
            "LearnPacketIntervalSec",
        ],
    ),
    ("MACVLAN", &["SourceMACAddress"]),
];

/// `[BatmanAdvanced]` (spec §3.2), with 248's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BatadvSettings {
    /// `GatewayMode=` (default `off`).
    pub gateway_mode: GatewayMode,
    /// `Aggregation=` (default yes).
    pub aggregation: bool,
    /// `BridgeLoopAvoidance=` (default yes).
    pub bridge_loop_avoidance: bool,
    /// `DistributedArpTable=` (default yes).
    pub distributed_arp_table: bool,
    /// `Fragmentation=` (default yes).
    pub fragmentation: bool,
    /// `HopPenalty=` (default 15).
    pub hop_penalty: u8,
    /// `OriginatorIntervalSec=`; `None` leaves the kernel's default (1 s).
    pub originator_interval: Option<Usec>,
    /// `GatewayBandwidthDown=` / 248's `GatewayBandwithDown=`, in 100 kbit/s
    /// (default 10000).
    pub gateway_bandwidth_down: u32,
    /// `GatewayBandwidthUp=` / `GatewayBandwithUp=`, in 100 kbit/s (default 2000).
    pub gateway_bandwidth_up: u32,
    /// `RoutingAlgorithm=` (default `batman-v`; only used at creation).
    pub routing_algorithm: BatadvAlgorithm,
}

impl Default for BatadvSettings {
    fn default() -> Self {
        BatadvSettings {
            gateway_mode: GatewayMode::Off,
            aggregation: true,
            bridge_loop_avoidance: true,
            distributed_arp_table: true,
            fragmentation: true,
            hop_penalty: 15,
            originator_interval: None,
            gateway_bandwidth_down: 10_000,
            gateway_bandwidth_up: 2_000,
            routing_algorithm: BatadvAlgorithm::BatmanV,
        }
    }
}

impl BatadvSettings {
    /// The `BATADV_CMD_SET_MESH` attributes networkd sends after creating the interface.
    pub fn mesh_settings(&self) -> MeshSettings {
        MeshSettings {
            gw_mode: Some(self.gateway_mode),
            gw_bandwidth_down: Some(self.gateway_bandwidth_down),
            gw_bandwidth_up: Some(self.gateway_bandwidth_up),
            hop_penalty: Some(self.hop_penalty),
            // milliseconds, rounded up as networkd does.
            orig_interval: self
                .originator_interval
                .map(|u| u32::try_from(u.0.div_ceil(1000)).unwrap_or(u32::MAX)),
            aggregated_ogms: Some(self.aggregation),
            bridge_loop_avoidance: Some(self.bridge_loop_avoidance),
            distributed_arp_table: Some(self.distributed_arp_table),
            fragmentation: Some(self.fragmentation),
            ..MeshSettings::default()
        }
    }
}

/// `[Bridge]` (the settings keel applies so far).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BridgeSettings {
    /// `STP=`.
    pub stp: Option<bool>,
    /// `VLANFiltering=`.
    pub vlan_filtering: Option<bool>,
    /// `Priority=` (0…65535).
    pub priority: Option<u16>,
    /// `ForwardDelaySec=`.
    pub forward_delay: Option<Usec>,
    /// `HelloTimeSec=`.
    pub hello_time: Option<Usec>,
    /// `MaxAgeSec=`.
    pub max_age: Option<Usec>,
    /// `AgeingTimeSec=`.
    pub ageing_time: Option<Usec>,
    /// `DefaultPVID=` (1…4094).
    pub default_pvid: Option<u16>,
    /// `MulticastSnooping=`.
    pub multicast_snooping: Option<bool>,
    /// `MulticastQuerier=`.
    pub multicast_querier: Option<bool>,
}

/// Seconds to the kernel's centiseconds (`USER_HZ`), as networkd's `usec_to_jiffies`.
fn centiseconds(u: Option<Usec>) -> Option<u32> {
    u.map(|u| u32::try_from(u.0 / 10_000).unwrap_or(u32::MAX))
}

impl BridgeSettings {
    /// The options sent when the bridge is created.
    pub fn options(&self) -> BridgeOptions {
        BridgeOptions {
            stp: self.stp,
            priority: self.priority,
            forward_delay: centiseconds(self.forward_delay),
            hello_time: centiseconds(self.hello_time),
            max_age: centiseconds(self.max_age),
            ageing_time: centiseconds(self.ageing_time),
            vlan_filtering: self.vlan_filtering,
            default_pvid: self.default_pvid,
            multicast_snooping: self.multicast_snooping,
            multicast_querier: self.multicast_querier,
        }
    }
}

/// `[VLAN]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VlanSettings {
    /// `Id=` (0…4094), required.
    pub id: Option<u16>,
    /// `Protocol=`.
    pub protocol: Option<VlanProtocol>,
}

/// `[Peer]` of a veth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VethSettings {
    /// `Name=`.
    pub name: Option<String>,
    /// `MACAddress=`.
    pub mac: Option<MacAddress>,
}

/// `[MACVLAN]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MacvlanSettings {
    /// `Mode=`.
    pub mode: Option<MacvlanMode>,
}

/// `[VXLAN]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VxlanSettings {
    /// `VNI=` (or the older `Id=`), 0…16777215, required.
    pub vni: Option<u32>,
    /// `Remote=` (or `Group=` for multicast).
    pub remote: Option<IpAddr>,
    /// `Local=`.
    pub local: Option<IpAddr>,
    /// `DestinationPort=`.
    pub destination_port: Option<u16>,
}

/// `[Bond]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BondSettings {
    /// `Mode=`.
    pub mode: Option<BondMode>,
}

/// `Kind=` with the settings of its section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum NetDevKind {
    /// `bridge`.
    Bridge(BridgeSettings),
    /// `dummy`.
    Dummy,
    /// `veth`.
    Veth(VethSettings),
    /// `vlan`.
    Vlan(VlanSettings),
    /// `macvlan`.
    Macvlan(MacvlanSettings),
    /// `vxlan`.
    Vxlan(VxlanSettings),
    /// `bond`.
    Bond(BondSettings),
    /// `batadv`.
    Batadv(BatadvSettings),
}

impl NetDevKind {
    /// The `Kind=` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bridge(_) => "bridge",
            Self::Dummy => "dummy",
            Self::Veth(_) => "veth",
            Self::Vlan(_) => "vlan",
            Self::Macvlan(_) => "macvlan",
            Self::Vxlan(_) => "vxlan",
            Self::Bond(_) => "bond",
            Self::Batadv(_) => "batadv",
        }
    }

    /// The section holding this kind's settings.
    fn section(name: &str) -> Option<&'static str> {
        Some(match name {
            "bridge" => "Bridge",
            "veth" => "Peer",
            "vlan" => "VLAN",
            "macvlan" => "MACVLAN",
            "vxlan" => "VXLAN",
            "bond" => "Bond",
            "batadv" => "BatmanAdvanced",
            _ => return None,
        })
    }
}

/// A loaded `.netdev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NetDev {
    /// The file.
    pub path: PathBuf,
    /// Its drop-ins, in the order applied.
    pub dropins: Vec<PathBuf>,
    /// `[NetDev] Name=`.
    pub name: String,
    /// `Kind=` and the kind's settings.
    pub kind: NetDevKind,
    /// `Description=`.
    pub description: Option<String>,
    /// `MTUBytes=`.
    pub mtu: Option<u32>,
    /// `MACAddress=`.
    pub mac: Option<MacAddress>,
    /// `[Match]` conditions (`Host=`, `Virtualization=`, `KernelCommandLine=`, …), raw.
    pub conditions: Vec<(String, String)>,
}

impl NetDev {
    /// What to create for this netdev. Links it sits on (`vlan`, `macvlan`, `vxlan`)
    /// are given by the caller, which knows the link that has `VLAN=`… in its
    /// `.network`.
    ///
    /// `None` for stacked kinds when `parent` is `None`.
    pub fn link_spec(&self, parent: Option<u32>) -> Option<LinkSpec> {
        let kind = match &self.kind {
            NetDevKind::Bridge(b) => LinkKind::Bridge(b.options()),
            NetDevKind::Dummy => LinkKind::Dummy,
            NetDevKind::Veth(v) => LinkKind::Veth {
                peer: v.name.clone()?,
                peer_mac: v.mac,
            },
            NetDevKind::Vlan(v) => LinkKind::Vlan {
                parent: parent?,
                id: v.id?,
                protocol: v.protocol.unwrap_or_default(),
            },
            NetDevKind::Macvlan(m) => LinkKind::Macvlan {
                parent: parent?,
                mode: m.mode.unwrap_or_default(),
            },
            NetDevKind::Vxlan(v) => LinkKind::Vxlan {
                vni: v.vni?,
                remote: v.remote,
                local: v.local,
                port: v.destination_port,
                parent,
            },
            NetDevKind::Bond(b) => LinkKind::Bond {
                mode: b.mode.unwrap_or_default(),
            },
            NetDevKind::Batadv(b) => LinkKind::Batadv {
                algorithm: b.routing_algorithm,
            },
        };
        let mut spec = LinkSpec::new(self.name.clone(), kind);
        spec.mtu = self.mtu;
        spec.mac = self.mac;
        Some(spec)
    }
}

/// Everything in the file, before `Kind=` decides which section counts.
#[derive(Default)]
struct Raw {
    name: Option<String>,
    kind: Option<(String, u32)>,
    description: Option<String>,
    mtu: Option<u32>,
    mac: Option<MacAddress>,
    conditions: Vec<(String, String)>,
    batadv: BatadvSettings,
    bridge: BridgeSettings,
    vlan: VlanSettings,
    veth: VethSettings,
    macvlan: MacvlanSettings,
    vxlan: VxlanSettings,
    bond: BondSettings,
    /// Kind sections seen: (section, path, line).
    seen: Vec<(String, PathBuf, u32)>,
}

fn sec(e: &Entry<'_>, d: &mut Vec<Diagnostic>) -> Option<Usec> {
    match keel_core::time::parse_sec(e.value) {
        Ok(u) => Some(u),
        Err(_) => {
            e.invalid(d, "time span");
            None
        }
    }
}

fn boolean(e: &Entry<'_>, d: &mut Vec<Diagnostic>) -> Option<bool> {
    let b = parse_bool(e.value);
    if b.is_none() {
        e.invalid(d, "boolean");
    }
    b
}

/// `GatewayBandwidth*=`: bits/s with base-1000 suffixes, stored in the kernel's unit of
/// 100 kbit/s; values beyond `u32` warn and are truncated, as 248 does.
fn bandwidth(e: &Entry<'_>, d: &mut Vec<Diagnostic>) -> Option<u32> {
    match keel_core::size::parse_size(e.value, 1000) {
        Ok(bits) => {
            let k = bits / 1000 / 100;
            if k > u64::from(u32::MAX) {
                e.warn(
                    d,
                    format!(
                        "The value '{}' is outside of 0...429496729500000 range, truncating",
                        e.value
                    ),
                );
            }
            Some(u32::try_from(k & u64::from(u32::MAX)).unwrap_or(u32::MAX))
        }
        Err(_) => {
            e.invalid(d, "bandwidth");
            None
        }
    }
}

fn batadv(raw: &mut Raw, e: &Entry<'_>, d: &mut Vec<Diagnostic>) {
    let b = &mut raw.batadv;
    match e.key {
        "GatewayMode" => match GatewayMode::from_name(e.value) {
            Some(m) => b.gateway_mode = m,
            None => e.invalid(d, "GatewayMode="),
        },
        "Aggregation" => b.aggregation = boolean(e, d).unwrap_or(b.aggregation),
        "BridgeLoopAvoidance" => {
            b.bridge_loop_avoidance = boolean(e, d).unwrap_or(b.bridge_loop_avoidance);
        }
        "DistributedArpTable" => {
            b.distributed_arp_table = boolean(e, d).unwrap_or(b.distributed_arp_table);
        }
        "Fragmentation" => b.fragmentation = boolean(e, d).unwrap_or(b.fragmentation),
        "HopPenalty" => match e.value.parse::<u8>() {
            Ok(v) => b.hop_penalty = v,
            Err(_) => e.invalid(d, "HopPenalty="),
        },
        "OriginatorIntervalSec" => {
            if let Some(u) = sec(e, d) {
                b.originator_interval = Some(u);
            }
        }
        // 248 only knows the misspelt names; v249+ accept both.
        "GatewayBandwithDown" | "GatewayBandwidthDown" => {
            if let Some(v) = bandwidth(e, d) {
                b.gateway_bandwidth_down = v;
            }
        }
        "GatewayBandwithUp" | "GatewayBandwidthUp" => {
            if let Some(v) = bandwidth(e, d) {
                b.gateway_bandwidth_up = v;
            }
        }
        "RoutingAlgorithm" => match BatadvAlgorithm::from_name(e.value) {
            Some(a) => b.routing_algorithm = a,
            None => e.invalid(d, "RoutingAlgorithm="),
        },
        _ => e.unknown_key(d),
    }
}

fn bridge(raw: &mut Raw, e: &Entry<'_>, d: &mut Vec<Diagnostic>) {
    let b = &mut raw.bridge;
    match e.key {
        "STP" => b.stp = boolean(e, d).or(b.stp),
        "VLANFiltering" => b.vlan_filtering = boolean(e, d).or(b.vlan_filtering),
        "MulticastSnooping" => b.multicast_snooping = boolean(e, d).or(b.multicast_snooping),
        "MulticastQuerier" => b.multicast_querier = boolean(e, d).or(b.multicast_querier),
        "Priority" => match e.value.parse::<u16>() {
            Ok(v) => b.priority = Some(v),
            Err(_) => e.invalid(d, "Priority="),
        },
        "DefaultPVID" => match e.value.parse::<u16>() {
            Ok(v) if (1..=4094).contains(&v) => b.default_pvid = Some(v),
            _ => e.invalid(d, "DefaultPVID="),
        },
        "ForwardDelaySec" => b.forward_delay = sec(e, d).or(b.forward_delay),
        "HelloTimeSec" => b.hello_time = sec(e, d).or(b.hello_time),
        "MaxAgeSec" => b.max_age = sec(e, d).or(b.max_age),
        "AgeingTimeSec" => b.ageing_time = sec(e, d).or(b.ageing_time),
        _ => e.unknown_key_in(d, KNOWN_UNSUPPORTED),
    }
}

fn entry(raw: &mut Raw, e: &Entry<'_>, d: &mut Vec<Diagnostic>) {
    if !matches!(e.section, "Match" | "NetDev")
        && !raw
            .seen
            .iter()
            .any(|(s, p, l)| s == e.section && p == e.path && *l == e.section_line)
    {
        raw.seen
            .push((e.section.to_owned(), e.path.to_path_buf(), e.section_line));
    }
    match (e.section, e.key) {
        ("Match", _) => raw.conditions.push((e.key.to_owned(), e.value.to_owned())),
        ("NetDev", "Name") => {
            if ifname_is_valid(e.value) {
                raw.name = Some(e.value.to_owned());
            } else {
                e.invalid(d, "interface name");
            }
        }
        ("NetDev", "Kind") => raw.kind = Some((e.value.to_owned(), e.line)),
        ("NetDev", "Description") => raw.description = Some(e.value.to_owned()),
        ("NetDev", "MTUBytes") => match parse_mtu(e.value) {
            Some(m) => raw.mtu = Some(m),
            None => e.invalid(d, "MTU"),
        },
        ("NetDev", "MACAddress") => match e.value.parse() {
            Ok(m) => raw.mac = Some(m),
            Err(_) => e.invalid(d, "MAC address"),
        },
        ("BatmanAdvanced", _) => batadv(raw, e, d),
        ("Bridge", _) => bridge(raw, e, d),
        ("VLAN", "Id") => match e.value.parse::<u16>() {
            Ok(v) if v <= 4094 => raw.vlan.id = Some(v),
            _ => e.invalid(d, "VLAN Id"),
        },
        ("VLAN", "Protocol") => match VlanProtocol::from_name(e.value) {
            Some(p) => raw.vlan.protocol = Some(p),
            None => e.invalid(d, "VLAN protocol"),
        },
        ("Peer", "Name") => {
            if ifname_is_valid(e.value) {
                raw.veth.name = Some(e.value.to_owned());
            } else {
                e.invalid(d, "peer interface name");
            }
        }
        ("Peer", "MACAddress") => match e.value.parse() {
            Ok(m) => raw.veth.mac = Some(m),
            Err(_) => e.invalid(d, "MAC address"),
        },
        ("MACVLAN", "Mode") => match MacvlanMode::from_name(e.value) {
            Some(m) => raw.macvlan.mode = Some(m),
            None => e.invalid(d, "MACVLAN mode"),
        },
        ("VXLAN", "VNI" | "Id") => match e.value.parse::<u32>() {
            Ok(v) if v < (1 << 24) => raw.vxlan.vni = Some(v),
            _ => e.invalid(d, "VXLAN VNI"),
        },
        ("VXLAN", "Remote" | "Group") => match parse_ip(e.value) {
            Some(a) => raw.vxlan.remote = Some(a),
            None => e.invalid(d, "VXLAN address"),
        },
        ("VXLAN", "Local") => match parse_ip(e.value) {
            Some(a) => raw.vxlan.local = Some(a),
            None => e.invalid(d, "VXLAN local address"),
        },
        ("VXLAN", "DestinationPort") => match e.value.parse::<u16>() {
            Ok(p) if p > 0 => raw.vxlan.destination_port = Some(p),
            _ => e.invalid(d, "VXLAN destination port"),
        },
        ("Bond", "Mode") => match BondMode::from_name(e.value) {
            Some(m) => raw.bond.mode = Some(m),
            None => e.invalid(d, "bond mode"),
        },
        _ => e.unknown_key_in(d, KNOWN_UNSUPPORTED),
    }
}

/// Parses one `.netdev` with its drop-ins; `None` (with an error diagnostic) when the
/// file is unusable: malformed, no valid `Name=` or `Kind=`, an unsupported kind, or a
/// kind whose required setting is missing.
pub fn parse(
    text: &[u8],
    path: &Path,
    dropins: &[(PathBuf, Vec<u8>)],
    diags: &mut Vec<Diagnostic>,
) -> Option<NetDev> {
    let mut raw = Raw::default();
    if !for_each_entry(text, path, dropins, SECTIONS, diags, |e, d| {
        entry(&mut raw, e, d)
    }) {
        return None;
    }
    let fail = |diags: &mut Vec<Diagnostic>, line: u32, msg: &str| {
        diags.push(Diagnostic::error(Some(path), line, msg.to_owned()));
        None
    };
    let Some((kind_name, kind_line)) = raw.kind.clone() else {
        return fail(diags, 0, "NetDev without Kind= configured, ignoring file");
    };
    let Some(name) = raw.name.clone() else {
        return fail(diags, 0, "NetDev without Name= configured, ignoring file");
    };
    // Sections that belong to another kind are unknown for this one (networkd re-reads
    // the file with only the kind's section allowed).
    let own = NetDevKind::section(&kind_name);
    for (section, p, line) in &raw.seen {
        if Some(section.as_str()) != own {
            diags.push(Diagnostic::warning(
                Some(p),
                *line,
                format!("Unknown section '{section}'. Ignoring."),
            ));
        }
    }
    let kind = match kind_name.as_str() {
        "bridge" => NetDevKind::Bridge(raw.bridge),
        "dummy" => NetDevKind::Dummy,
        "veth" => {
            if raw.veth.name.is_none() {
                return fail(
                    diags,
                    kind_line,
                    "veth NetDev without peer name configured, ignoring file",
                );
            }
            NetDevKind::Veth(raw.veth)
        }
        "vlan" => {
            if raw.vlan.id.is_none() {
                return fail(
                    diags,
                    kind_line,
                    "VLAN without valid Id= configured, ignoring file",
                );
            }
            NetDevKind::Vlan(raw.vlan)
        }
        "macvlan" => NetDevKind::Macvlan(raw.macvlan),
        "vxlan" => {
            if raw.vxlan.vni.is_none() {
                return fail(
                    diags,
                    kind_line,
                    "VXLAN without valid VNI (or VXLAN Segment ID) configured, ignoring file",
                );
            }
            NetDevKind::Vxlan(raw.vxlan)
        }
        "bond" => NetDevKind::Bond(raw.bond),
        "batadv" => NetDevKind::Batadv(raw.batadv),
        other => {
            return fail(
                diags,
                kind_line,
                &format!("NetDev Kind={other} is not supported by keel, ignoring file"),
            );
        }
    };
    Some(NetDev {
        path: path.to_path_buf(),
        dropins: dropins.iter().map(|(p, _)| p.clone()).collect(),
        name,
        kind,
        description: raw.description,
        mtu: raw.mtu,
        mac: raw.mac,
        conditions: raw.conditions,
    })
}
