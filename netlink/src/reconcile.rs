//! The reconcile engine: desired state (the loaded `.netdev`/`.network` files) + actual
//! state (a dump of the kernel's links, addresses, routes and batadv mesh options) → an
//! ordered [`Plan`] of operations → [`apply`] in a few batches.
//!
//! [`plan`] is a pure function, so it is tested like a parser; the plan names links by
//! name, and [`apply`] resolves names to interface indexes after each creation phase.
//! Idempotence comes from diffing, never from blind replays: when the kernel already
//! looks like the files say, the plan is empty.
//!
//! Only links that a `.network` matches (and netdevs that a `.netdev` describes) are
//! touched. On a matched link, addresses the files do not list are removed, as
//! networkd 248 drops foreign configuration, except IPv6 link-local addresses and
//! anything on the loopback device; links no file matches are never changed.
//!
//! Order (networkd's): create standalone netdevs (bridge, bond, batadv, dummy, veth) →
//! create stacked netdevs (vlan, macvlan, vxlan named by `VLAN=`… of their parent's
//! `.network`) → per link: `[Link] MTUBytes=`/`MACAddress=`, enslave to a bond (while
//! down), bring up, enslave to a bridge or batadv (after up: batman-adv only uses active
//! hard interfaces) → remove foreign addresses → add addresses → add routes (after every
//! address, as a gateway may sit on another link's prefix) → batadv mesh options
//! (`BATADV_CMD_SET_MESH`). Everything but the creations and the mesh options goes to
//! the kernel in one batch.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use keel_netlink::{config, reconcile};
//!
//! let mut cfg = config::NetworkdConfig::default();
//! let mut diags = Vec::new();
//! cfg.netdevs.push(
//!     config::netdev::parse(b"[NetDev]\nName=br0\nKind=bridge\n", Path::new("br0.netdev"), &[], &mut diags)
//!         .expect("valid"),
//! );
//! cfg.networks.push(
//!     config::network::parse(b"[Match]\nName=br0\n[Network]\nAddress=10.0.0.1/24\n", Path::new("br0.network"), &[], &mut diags)
//!         .expect("valid"),
//! );
//! // An empty kernel: create br0, bring it up, add the address.
//! let plan = reconcile::plan(&cfg, &reconcile::State::default());
//! let steps: Vec<String> = plan.ops.iter().map(ToString::to_string).collect();
//! assert_eq!(steps, ["create bridge br0", "set br0 up", "add address 10.0.0.1/24 to br0"]);
//! ```

mod apply;
pub mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

pub use self::apply::{ApplyError, OpResult, Reconciler, Report, apply, read_state};
use crate::address::{Address, Scope};
use crate::batadv::MeshSettings;
use crate::config::{Diagnostic, LinkFacts, NetDev, NetDevKind, Network, NetworkdConfig};
use crate::link::{Link, MacAddress, type_name};
use crate::route::{Route, RouteProtocol, TABLE_MAIN};

/// What the kernel has now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct State {
    /// Every link.
    pub links: Vec<Link>,
    /// Every address.
    pub addresses: Vec<Address>,
    /// Every route (IPv4 and IPv6).
    pub routes: Vec<Route>,
    /// Mesh options of each batadv link, by ifindex (`BATADV_CMD_GET_MESH`); empty when
    /// batman-adv is not loaded.
    pub meshes: BTreeMap<u32, MeshSettings>,
    /// The driver of each link, by ifindex (`ETHTOOL_GDRVINFO`), for `[Match] Driver=`.
    pub drivers: BTreeMap<u32, String>,
}

impl State {
    /// The link called `name`.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    fn link_by_index(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// What `[Match]` sees of `link`.
    pub fn facts(&self, link: &Link) -> LinkFacts {
        let mut f = LinkFacts::new(link.name.clone(), link.type_name());
        f.mac = link.mac;
        f.driver = self.drivers.get(&link.index).cloned();
        f
    }
}

/// One step of a plan. Links are named; [`apply`] resolves the names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Op {
    /// Create the netdev (`RTM_NEWLINK` + `NLM_F_CREATE`); stacked kinds sit on
    /// `parent`.
    CreateNetDev {
        /// The `.netdev`.
        netdev: Box<NetDev>,
        /// The link it sits on (vlan, macvlan, vxlan).
        parent: Option<String>,
    },
    /// `[Link] MTUBytes=`.
    SetMtu {
        /// The link.
        link: String,
        /// The MTU.
        mtu: u32,
    },
    /// `[Link] MACAddress=`.
    SetMac {
        /// The link.
        link: String,
        /// The address.
        mac: MacAddress,
    },
    /// `Bridge=`, `Bond=`, `BatmanAdvanced=`: `IFLA_MASTER`.
    SetMaster {
        /// The link.
        link: String,
        /// The master's name.
        master: String,
    },
    /// Bring the link up.
    SetUp {
        /// The link.
        link: String,
    },
    /// Take the link down (before enslaving it to a bond).
    SetDown {
        /// The link.
        link: String,
    },
    /// Add an address (`RTM_NEWADDR`, replace semantics); the index is filled in at apply.
    AddAddress {
        /// The link.
        link: String,
        /// The address.
        address: Address,
    },
    /// Remove an address the files do not list.
    DeleteAddress {
        /// The link.
        link: String,
        /// The address, as dumped.
        address: Address,
    },
    /// Add a route (`RTM_NEWROUTE`, replace semantics); `oif` is filled in at apply.
    AddRoute {
        /// The link.
        link: String,
        /// The route.
        route: Route,
    },
    /// Remove a route the files do not list (248's `link_drop_foreign_routes()`, with
    /// `ManageForeignRoutes=yes` and `KeepConfiguration=no`, their defaults).
    DeleteRoute {
        /// The link.
        link: String,
        /// The route, as dumped.
        route: Route,
    },
    /// `[BatmanAdvanced]`: `BATADV_CMD_SET_MESH`.
    SetMesh {
        /// The batadv link.
        link: String,
        /// The options.
        settings: MeshSettings,
    },
}

/// When an op runs: creations first, so later ops can resolve the new indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    CreateStandalone,
    CreateStacked,
    Configure,
    Mesh,
}

impl Op {
    /// The link the op changes (for a creation: the new link).
    pub fn link(&self) -> &str {
        match self {
            Op::CreateNetDev { netdev, .. } => &netdev.name,
            Op::SetMtu { link, .. }
            | Op::SetMac { link, .. }
            | Op::SetMaster { link, .. }
            | Op::SetUp { link }
            | Op::SetDown { link }
            | Op::AddAddress { link, .. }
            | Op::DeleteAddress { link, .. }
            | Op::DeleteRoute { link, .. }
            | Op::AddRoute { link, .. }
            | Op::SetMesh { link, .. } => link,
        }
    }

    /// Whether the op concerns link `name`: it changes it, creates it (or its veth
    /// peer), or makes it a parent or master.
    pub fn concerns(&self, name: &str) -> bool {
        match self {
            Op::CreateNetDev { netdev, parent } => {
                netdev.name == name
                    || parent.as_deref() == Some(name)
                    || matches!(&netdev.kind, NetDevKind::Veth(v) if v.name.as_deref() == Some(name))
            }
            Op::SetMaster { link, master } => link == name || master == name,
            op => op.link() == name,
        }
    }

    /// Sort key: creations, link settings, foreign addresses out, addresses in, routes
    /// (which may need any link's address), mesh options.
    fn order(&self) -> u8 {
        match self {
            Op::CreateNetDev { parent: None, .. } => 0,
            Op::CreateNetDev { .. } => 1,
            Op::SetMtu { .. }
            | Op::SetMac { .. }
            | Op::SetMaster { .. }
            | Op::SetUp { .. }
            | Op::SetDown { .. } => 2,
            Op::DeleteAddress { .. } | Op::DeleteRoute { .. } => 3,
            Op::AddAddress { .. } => 4,
            Op::AddRoute { .. } => 5,
            Op::SetMesh { .. } => 6,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        match self {
            Op::CreateNetDev { parent: None, .. } => Phase::CreateStandalone,
            Op::CreateNetDev { .. } => Phase::CreateStacked,
            Op::SetMesh { .. } => Phase::Mesh,
            _ => Phase::Configure,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::CreateNetDev { netdev, parent } => {
                write!(f, "create {} {}", netdev.kind.name(), netdev.name)?;
                if let NetDevKind::Veth(v) = &netdev.kind {
                    if let Some(peer) = &v.name {
                        write!(f, " peer {peer}")?;
                    }
                }
                match parent {
                    Some(p) => write!(f, " on {p}"),
                    None => Ok(()),
                }
            }
            Op::SetMtu { link, mtu } => write!(f, "set {link} mtu {mtu}"),
            Op::SetMac { link, mac } => write!(f, "set {link} address {mac}"),
            Op::SetMaster { link, master } => write!(f, "set {link} master {master}"),
            Op::SetUp { link } => write!(f, "set {link} up"),
            Op::SetDown { link } => write!(f, "set {link} down"),
            Op::AddAddress { link, address } => {
                write!(f, "add address {}", address.local)?;
                if let Some(p) = address.peer {
                    write!(f, " peer {p}")?;
                }
                write!(f, " to {link}")
            }
            Op::DeleteAddress { link, address } => {
                write!(f, "remove foreign address {} from {link}", address.local)
            }
            Op::DeleteRoute { link, route } => {
                write!(f, "remove foreign route ")?;
                write_route(f, link, route)
            }
            Op::AddRoute { link, route } => {
                write!(f, "add route ")?;
                write_route(f, link, route)
            }
            Op::SetMesh { link, .. } => write!(f, "set batadv mesh options of {link}"),
        }
    }
}

/// `DEST [via GW] dev LINK [metric M] [table T]`, as `ip route` prints it.
fn write_route(f: &mut fmt::Formatter<'_>, link: &str, route: &Route) -> fmt::Result {
    match route.destination {
        Some(d) => write!(f, "{d}")?,
        None => write!(f, "default")?,
    }
    if let Some(g) = route.gateway {
        write!(f, " via {g}")?;
    }
    write!(f, " dev {link}")?;
    if let Some(m) = route.metric {
        write!(f, " metric {m}")?;
    }
    if route.table != TABLE_MAIN {
        write!(f, " table {}", route.table)?;
    }
    Ok(())
}

/// The ordered operations that make the kernel match the files, and what the planner
/// had to say (conflicts it left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The operations, in the order they are applied.
    pub ops: Vec<Op>,
    /// Notes about links the plan leaves alone.
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Only the operations that concern link `name` ([`Op::concerns`]): what to redo
    /// when that link appears or changes.
    pub fn for_link(mut self, name: &str) -> Plan {
        self.ops.retain(|op| op.concerns(name));
        self
    }
}

/// A link the plan configures: one that exists or one the plan creates.
struct Target {
    facts: LinkFacts,
    /// `None` for a link the plan creates.
    actual: Option<Link>,
}

fn is_stacked(kind: &NetDevKind) -> bool {
    matches!(
        kind,
        NetDevKind::Vlan(_) | NetDevKind::Macvlan(_) | NetDevKind::Vxlan(_)
    )
}

/// A link the plan is about to create, as `[Match]` will see it.
fn predicted(name: &str, kind: &str, mac: Option<MacAddress>) -> Target {
    let mut facts = LinkFacts::new(name, type_name(Some(kind), 1));
    facts.mac = mac;
    Target {
        facts,
        actual: None,
    }
}

/// Compares desired settings (`Some` fields) with what the kernel reports.
fn mesh_differs(want: &MeshSettings, have: &MeshSettings) -> bool {
    fn differs<T: PartialEq>(w: &Option<T>, h: &Option<T>) -> bool {
        w.is_some() && w != h
    }
    differs(&want.gw_mode, &have.gw_mode)
        || differs(&want.gw_bandwidth_down, &have.gw_bandwidth_down)
        || differs(&want.gw_bandwidth_up, &have.gw_bandwidth_up)
        || differs(&want.gw_sel_class, &have.gw_sel_class)
        || differs(&want.hop_penalty, &have.hop_penalty)
        || differs(&want.orig_interval, &have.orig_interval)
        || differs(&want.aggregated_ogms, &have.aggregated_ogms)
        || differs(&want.ap_isolation, &have.ap_isolation)
        || differs(&want.bonding, &have.bonding)
        || differs(&want.bridge_loop_avoidance, &have.bridge_loop_avoidance)
        || differs(&want.distributed_arp_table, &have.distributed_arp_table)
        || differs(&want.fragmentation, &have.fragmentation)
        || differs(&want.multicast_forceflood, &have.multicast_forceflood)
        || differs(&want.network_coding, &have.network_coding)
}

fn desired_address(cfg: &crate::config::AddressConfig) -> Option<Address> {
    let local = cfg.address?;
    let mut a = Address::new(0, local);
    a.peer = cfg.peer;
    a.broadcast = cfg.broadcast;
    a.label.clone_from(&cfg.label);
    a.scope = cfg.scope.unwrap_or(if local.address.is_loopback() {
        Scope::Host
    } else {
        Scope::Global
    });
    Some(a)
}

fn desired_route(cfg: &crate::config::RouteConfig) -> Route {
    Route {
        destination: cfg.destination,
        ipv6: cfg
            .destination
            .map(|d| !d.is_ipv4())
            .or(cfg.gateway.map(|g| g.is_ipv6()))
            .unwrap_or(false),
        gateway: cfg.gateway,
        metric: cfg.metric,
        table: cfg.table.unwrap_or(TABLE_MAIN),
        scope: cfg.scope,
        protocol: RouteProtocol::STATIC,
        ..Route::default()
    }
}

fn is_ipv6_link_local(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Whether the kernel's route `r` is the one `want` describes.
fn route_matches(r: &Route, want: &Route) -> bool {
    r.table == want.table
        && r.destination == want.destination
        && r.gateway == want.gateway
        && (want.metric.is_none() || r.metric.unwrap_or(0) == want.metric.unwrap_or(0))
}

fn route_exists(state: &State, index: u32, want: &Route) -> bool {
    state
        .routes
        .iter()
        .any(|r| r.oif == Some(index) && route_matches(r, want))
}

/// Routes 248 never drops as foreign: the kernel's own (prefix, local, broadcast, IPv6
/// link-local), and the IPv6 multicast route `ff00::/8` the kernel adds with protocol
/// `boot`.
fn kernel_route(r: &Route) -> bool {
    if r.protocol == RouteProtocol::KERNEL {
        return true;
    }
    r.protocol == RouteProtocol::BOOT
        && r.ipv6
        && r.destination.is_some_and(|d| {
            d.prefix_len == 8 && matches!(d.address, IpAddr::V6(a) if a.segments()[0] == 0xff00)
        })
}

/// Plans the operations that make `state` match `cfg`. Pure: no I/O.
pub fn plan(cfg: &NetworkdConfig, state: &State) -> Plan {
    let mut out = Plan::default();
    let mut targets: Vec<Target> = Vec::new();
    let mut planned: BTreeSet<String> = BTreeSet::new();
    let mut mesh_ops = Vec::new();

    // Standalone netdevs.
    for nd in &cfg.netdevs {
        match state.link(&nd.name) {
            Some(l) if l.kind.as_deref() == Some(nd.kind.name()) => {
                if let NetDevKind::Batadv(b) = &nd.kind {
                    let want = b.mesh_settings();
                    if state
                        .meshes
                        .get(&l.index)
                        .is_none_or(|have| mesh_differs(&want, have))
                    {
                        mesh_ops.push(Op::SetMesh {
                            link: nd.name.clone(),
                            settings: want,
                        });
                    }
                }
            }
            Some(l) => out.diagnostics.push(Diagnostic::warning(
                Some(&nd.path),
                0,
                format!(
                    "link {} exists with kind {}, not {}; not creating it",
                    nd.name,
                    l.kind.as_deref().unwrap_or("(none)"),
                    nd.kind.name()
                ),
            )),
            None if is_stacked(&nd.kind) => {}
            None => {
                if nd.link_spec(None).is_none() {
                    out.diagnostics.push(Diagnostic::warning(
                        Some(&nd.path),
                        0,
                        format!(
                            "netdev {} lacks a required setting; not creating it",
                            nd.name
                        ),
                    ));
                    continue;
                }
                out.ops.push(Op::CreateNetDev {
                    netdev: Box::new(nd.clone()),
                    parent: None,
                });
                planned.insert(nd.name.clone());
                targets.push(predicted(&nd.name, nd.kind.name(), nd.mac));
                if let NetDevKind::Veth(v) = &nd.kind {
                    if let Some(peer) = &v.name {
                        planned.insert(peer.clone());
                        targets.push(predicted(peer, "veth", v.mac));
                    }
                }
                if let NetDevKind::Batadv(b) = &nd.kind {
                    mesh_ops.push(Op::SetMesh {
                        link: nd.name.clone(),
                        settings: b.mesh_settings(),
                    });
                }
            }
        }
    }

    let mut existing: Vec<Target> = state
        .links
        .iter()
        .map(|l| Target {
            facts: state.facts(l),
            actual: Some(l.clone()),
        })
        .collect();
    existing.append(&mut targets);
    let mut targets = existing;

    // Per link; stacked netdevs created here append their own targets.
    let mut i = 0;
    while i < targets.len() {
        let Some(network) = cfg.network_for(&targets[i].facts) else {
            i += 1;
            continue;
        };
        let name = targets[i].facts.name.clone();
        for stacked in network
            .vlans
            .iter()
            .chain(&network.macvlans)
            .chain(&network.vxlans)
        {
            if state.link(stacked).is_some() || planned.contains(stacked) {
                continue;
            }
            let Some(nd) = cfg.netdev(stacked) else {
                continue;
            };
            if nd.link_spec(Some(1)).is_none() {
                out.diagnostics.push(Diagnostic::warning(
                    Some(&nd.path),
                    0,
                    format!("netdev {stacked} lacks a required setting; not creating it"),
                ));
                continue;
            }
            out.ops.push(Op::CreateNetDev {
                netdev: Box::new(nd.clone()),
                parent: Some(name.clone()),
            });
            planned.insert(stacked.clone());
            targets.push(predicted(stacked, nd.kind.name(), nd.mac));
        }
        configure_link(&mut out.ops, network, &targets[i], state);
        i += 1;
    }
    out.ops.extend(mesh_ops);
    out.ops.sort_by_key(Op::order);
    out
}

fn configure_link(ops: &mut Vec<Op>, network: &Network, target: &Target, state: &State) {
    let name = &target.facts.name;
    let actual = target.actual.as_ref();
    let link = || name.clone();
    if let Some(mtu) = network.link.mtu {
        if actual.is_none_or(|l| l.mtu != mtu) {
            ops.push(Op::SetMtu { link: link(), mtu });
        }
    }
    if let Some(mac) = network.link.mac {
        if actual.is_none_or(|l| l.mac != Some(mac)) {
            ops.push(Op::SetMac { link: link(), mac });
        }
    }
    let current_master = actual
        .and_then(|l| l.master)
        .and_then(|m| state.link_by_index(m))
        .map(|m| m.name.as_str());
    let master_op = |master: &String| {
        (current_master != Some(master.as_str())).then(|| Op::SetMaster {
            link: link(),
            master: master.clone(),
        })
    };
    // A bond takes its slaves only while they are down ("Device can not be enslaved
    // while up"), as networkd does it: down, enslave, up.
    let mut down = actual.is_none_or(|l| !l.up);
    if let Some(op) = network.bond.as_ref().and_then(master_op) {
        if !down {
            ops.push(Op::SetDown { link: link() });
            down = true;
        }
        ops.push(op);
    }
    if down {
        ops.push(Op::SetUp { link: link() });
    }
    if let Some(op) = network
        .bridge
        .as_ref()
        .or(network.batman_advanced.as_ref())
        .and_then(master_op)
    {
        ops.push(op);
    }

    let index = actual.map(|l| l.index);
    let have: Vec<&Address> = index
        .map(|ix| state.addresses.iter().filter(|a| a.index == ix).collect())
        .unwrap_or_default();
    let wanted: Vec<Address> = network
        .addresses
        .iter()
        .filter_map(desired_address)
        .collect();
    for want in &wanted {
        if !have
            .iter()
            .any(|a| a.local == want.local && a.peer == want.peer)
        {
            ops.push(Op::AddAddress {
                link: link(),
                address: want.clone(),
            });
        }
    }
    if actual.is_some_and(|l| !l.is_loopback()) {
        for a in have {
            let listed = wanted
                .iter()
                .any(|w| w.local == a.local && w.peer == a.peer);
            if !listed && !is_ipv6_link_local(&a.local.address) {
                ops.push(Op::DeleteAddress {
                    link: link(),
                    address: a.clone(),
                });
            }
        }
    }
    let wanted: Vec<Route> = network.routes.iter().map(desired_route).collect();
    if let Some(ix) = index.filter(|_| actual.is_some_and(|l| !l.is_loopback())) {
        for r in state.routes.iter().filter(|r| r.oif == Some(ix)) {
            if !kernel_route(r) && !wanted.iter().any(|w| route_matches(r, w)) {
                ops.push(Op::DeleteRoute {
                    link: link(),
                    route: r.clone(),
                });
            }
        }
    }
    for want in wanted {
        if index.is_none_or(|ix| !route_exists(state, ix, &want)) {
            ops.push(Op::AddRoute {
                link: link(),
                route: want,
            });
        }
    }
}

#[cfg(test)]
mod tests;
