//! What `keel-networkd status` and `list` show: links, kinds, states, addresses, the
//! `.network` that matches each link, and for batadv links the mesh options, hard
//! interfaces and originators.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::State;
use crate::address::IpPrefix;
use crate::batadv::{Batadv, MeshInfo, Originator};
use crate::config::NetworkdConfig;
use crate::error::RequestError;
use crate::link::{MacAddress, OperState};
use crate::socket::Socket;
use keel_core::report::chain;

/// The mesh side of a batadv link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BatadvStatus {
    /// `BATADV_CMD_GET_MESH`.
    pub mesh: Option<MeshInfo>,
    /// Names of the hard interfaces enslaved to it.
    pub hard_interfaces: Vec<String>,
    /// The originator table.
    pub originators: Vec<Originator>,
    /// Why the mesh could not be read, if it could not.
    pub error: Option<String>,
}

/// One link as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LinkStatus {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// `IFLA_INFO_KIND`.
    pub kind: Option<String>,
    /// The `[Match] Type=` string.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Driver (`ethtool -i`).
    pub driver: Option<String>,
    /// Operational state.
    pub oper_state: OperState,
    /// Administratively up.
    pub up: bool,
    /// Carrier.
    pub carrier: bool,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<MacAddress>,
    /// The master's name.
    pub master: Option<String>,
    /// Addresses.
    pub addresses: Vec<IpPrefix>,
    /// The `.network` that matches (the link is managed), if any.
    pub network: Option<PathBuf>,
    /// The `.netdev` that describes it, if any.
    pub netdev: Option<PathBuf>,
    /// batadv only.
    pub batadv: Option<BatadvStatus>,
}

/// Reads the status of every link; `config` says which files match.
///
/// # Errors
/// A failed rtnetlink dump (batadv failures are reported in [`BatadvStatus::error`]).
pub fn collect(
    route: &mut Socket,
    config: &NetworkdConfig,
) -> Result<Vec<LinkStatus>, RequestError> {
    let mut batadv: Option<Batadv> = None;
    let state = super::read_state(route, &mut batadv)?;
    Ok(from_state(&state, config, batadv.as_mut()))
}

fn from_state(
    state: &State,
    config: &NetworkdConfig,
    mut batadv: Option<&mut Batadv>,
) -> Vec<LinkStatus> {
    let name_of = |ix: u32| {
        state
            .links
            .iter()
            .find(|l| l.index == ix)
            .map(|l| l.name.clone())
    };
    state
        .links
        .iter()
        .map(|l| {
            let facts = state.facts(l);
            let batadv_status = (l.kind.as_deref() == Some("batadv")).then(|| {
                let hard_interfaces = state
                    .links
                    .iter()
                    .filter(|h| h.master == Some(l.index))
                    .map(|h| h.name.clone())
                    .collect();
                let mut s = BatadvStatus {
                    hard_interfaces,
                    ..BatadvStatus::default()
                };
                match batadv.as_deref_mut() {
                    None => {
                        s.error = Some("batman-adv generic netlink family not available".into())
                    }
                    Some(b) => {
                        match b.mesh(l.index) {
                            Ok(m) => s.mesh = Some(m),
                            Err(e) => s.error = Some(chain(&e)),
                        }
                        match b.originators(l.index) {
                            Ok(o) => s.originators = o,
                            Err(e) => s.error = Some(chain(&e)),
                        }
                    }
                }
                s
            });
            LinkStatus {
                index: l.index,
                name: l.name.clone(),
                kind: l.kind.clone(),
                type_name: facts.type_name.clone(),
                driver: facts.driver.clone(),
                oper_state: l.oper_state,
                up: l.up,
                carrier: l.lower_up,
                mtu: l.mtu,
                mac: l.mac,
                master: l.master.and_then(name_of),
                addresses: state
                    .addresses
                    .iter()
                    .filter(|a| a.index == l.index)
                    .map(|a| a.local)
                    .collect(),
                network: config.network_for(&facts).map(|n| n.path.clone()),
                netdev: config.netdev(&l.name).map(|n| n.path.clone()),
                batadv: batadv_status,
            }
        })
        .collect()
}

fn oper(s: OperState) -> String {
    match s {
        OperState::Other(v) => format!("other({v})"),
        s => format!("{s:?}").to_ascii_lowercase(),
    }
}

/// `list`: one line per link (`IDX LINK TYPE OPERATIONAL SETUP`, as `networkctl`).
pub fn render_list(links: &[LinkStatus]) -> String {
    let mut out = format!(
        "{:>3} {:<16} {:<10} {:<16} {}\n",
        "IDX", "LINK", "KIND", "OPERATIONAL", "SETUP"
    );
    for l in links {
        let _ = writeln!(
            out,
            "{:>3} {:<16} {:<10} {:<16} {}",
            l.index,
            l.name,
            l.kind.as_deref().unwrap_or(&l.type_name),
            oper(l.oper_state),
            if l.network.is_some() {
                "configured"
            } else {
                "unmanaged"
            }
        );
    }
    let _ = writeln!(out, "\n{} links listed.", links.len());
    out
}

/// `status LINK`: the details of one link.
pub fn render_status(l: &LinkStatus) -> String {
    let mut out = format!("{}: {}\n", l.index, l.name);
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(out, "{k:>20}: {v}");
    };
    row("Kind", l.kind.as_deref().unwrap_or("-"));
    row("Type", &l.type_name);
    row("Driver", l.driver.as_deref().unwrap_or("-"));
    row(
        "State",
        &format!(
            "{} ({}{})",
            oper(l.oper_state),
            if l.up { "up" } else { "down" },
            if l.carrier { ", carrier" } else { "" }
        ),
    );
    row("MTU", &l.mtu.to_string());
    row(
        "HW Address",
        &l.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
    );
    row("Master", l.master.as_deref().unwrap_or("-"));
    let addrs: Vec<String> = l.addresses.iter().map(ToString::to_string).collect();
    row(
        "Address",
        &if addrs.is_empty() {
            "-".into()
        } else {
            addrs.join(" ")
        },
    );
    row(
        "Network File",
        &l.network
            .as_ref()
            .map_or_else(|| "n/a".into(), |p| p.display().to_string()),
    );
    row(
        "NetDev File",
        &l.netdev
            .as_ref()
            .map_or_else(|| "n/a".into(), |p| p.display().to_string()),
    );
    if let Some(b) = &l.batadv {
        row("Hard Interfaces", &b.hard_interfaces.join(" "));
        if let Some(m) = &b.mesh {
            let s = &m.settings;
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            row("Routing Algorithm", &opt(m.algorithm.clone()));
            row(
                "Gateway Mode",
                &opt(s.gw_mode.map(|g| format!("{g:?}").to_ascii_lowercase())),
            );
            row(
                "Gateway Bandwidth",
                &format!(
                    "{}/{} (100 kbit/s units)",
                    opt(s.gw_bandwidth_down.map(|v| v.to_string())),
                    opt(s.gw_bandwidth_up.map(|v| v.to_string()))
                ),
            );
            row("Hop Penalty", &opt(s.hop_penalty.map(|v| v.to_string())));
            row(
                "Originator Interval",
                &opt(s.orig_interval.map(|v| format!("{v} ms"))),
            );
            row(
                "Aggregation",
                &opt(s.aggregated_ogms.map(|v| v.to_string())),
            );
            row(
                "Bridge Loop Avoid.",
                &opt(s.bridge_loop_avoidance.map(|v| v.to_string())),
            );
            row(
                "Distributed ARP",
                &opt(s.distributed_arp_table.map(|v| v.to_string())),
            );
            row(
                "Fragmentation",
                &opt(s.fragmentation.map(|v| v.to_string())),
            );
        }
        if let Some(e) = &b.error {
            row("Mesh Error", e);
        }
        row("Originators", &b.originators.len().to_string());
        for o in &b.originators {
            let _ = writeln!(
                out,
                "{:>20}  {} via {} (ifindex {}, last seen {} ms{}{})",
                if o.best { "*" } else { "" },
                o.originator,
                o.next_hop,
                o.hard_ifindex,
                o.last_seen_ms,
                o.tq.map(|t| format!(", tq {t}")).unwrap_or_default(),
                o.throughput
                    .map(|t| format!(", throughput {t}"))
                    .unwrap_or_default(),
            );
        }
    }
    out
}
