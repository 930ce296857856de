//! `.network` files: `[Match]`, `[Link]`, `[Network]`, `[Address]` and `[Route]`.
//!
//! # References
//! - `systemd.network(5)` (248); spec §3.3

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Diagnostic, Entry, for_each_entry, ifname_is_valid, parse_ip, parse_mtu};
use crate::address::{IpPrefix, Scope};
use crate::link::MacAddress;

const SECTIONS: &[&str] = &["Match", "Link", "Network", "Address", "Route"];

/// Common 248 keys keel parses but does not apply yet: a notice instead of "Unknown key
/// name". (Sections keel does not know at all, like `[DHCPv4]`, still warn.)
const KNOWN_UNSUPPORTED: &[(&str, &[&str])] = &[
    (
        "Match",
        &[
            "PermanentMACAddress",
            "Property",
            "WLANInterfaceType",
            "SSID",
            "BSSID",
        ],
    ),
    (
        "Link",
        &[
            "ARP",
            "Multicast",
            "AllMulticast",
            "Promiscuous",
            "Unmanaged",
            "Group",
            "RequiredForOnline",
            "RequiredFamilyForOnline",
            "ActivationPolicy",
        ],
    ),
    (
        "Network",
        &[
            "DHCP",
            "DHCPServer",
            "LinkLocalAddressing",
            "IPv6LinkLocalAddressGenerationMode",
            "IPv4LLRoute",
            "DefaultRouteOnDevice",
            "IPv6Token",
            "LLMNR",
            "MulticastDNS",
            "DNSOverTLS",
            "DNSSEC",
            "DNSSECNegativeTrustAnchors",
            "LLDP",
            "EmitLLDP",
            "BindCarrier",
            "Domains",
            "DNSDefaultRoute",
            "NTP",
            "IPForward",
            "IPMasquerade",
            "IPv6PrivacyExtensions",
            "IPv6AcceptRA",
            "IPv6DuplicateAddressDetection",
            "IPv6HopLimit",
            "IPv4ProxyARP",
            "IPv6ProxyNDP",
            "IPv6ProxyNDPAddress",
            "IPv6SendRA",
            "DHCPv6PrefixDelegation",
            "IPv6MTUBytes",
            "VRF",
            "IPVLAN",
            "MACVTAP",
            "Tunnel",
            "MACsec",
            "ActiveSlave",
            "PrimarySlave",
            "ConfigureWithoutCarrier",
            "IgnoreCarrierLoss",
            "KeepConfiguration",
            "Xfrm",
            "L2TP",
            "IPv4AcceptLocal",
            "IPv4ReversePathFilter",
        ],
    ),
    (
        "Address",
        &[
            "PreferredLifetime",
            "HomeAddress",
            "DuplicateAddressDetection",
            "ManageTemporaryAddress",
            "AddPrefixRoute",
            "PrefixRoute",
            "AutoJoin",
            "RouteMetric",
        ],
    ),
    (
        "Route",
        &[
            "Source",
            "PreferredSource",
            "Protocol",
            "Type",
            "GatewayOnLink",
            "IPv6Preference",
            "MTUBytes",
            "InitialCongestionWindow",
            "InitialAdvertisedReceiveWindow",
            "QuickAck",
            "FastOpenNoCookie",
            "TTLPropagate",
            "MultiPathRoute",
            "NextHop",
        ],
    ),
];

/// `[Match]`. Each list matches when empty or when one entry matches; all lists must
/// match. A list whose first pattern starts with `!` is inverted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MatchSettings {
    /// `Name=` globs.
    pub names: Vec<String>,
    /// `MACAddress=`.
    pub macs: Vec<MacAddress>,
    /// `Type=` globs, matched against [`LinkFacts::type_name`] (`ether`, `bridge`,
    /// `loopback`, …).
    pub kinds: Vec<String>,
    /// `Driver=` globs, matched against [`LinkFacts::driver`].
    pub drivers: Vec<String>,
    /// `Path=` globs (udev's `ID_PATH`; keel has no udev, so a `Path=` never matches).
    pub paths: Vec<String>,
    /// Condition keys (`Host=`, `Virtualization=`, `KernelCommandLine=`, …), raw.
    pub conditions: Vec<(String, String)>,
}

/// `[Link]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LinkSettings {
    /// `MTUBytes=`.
    pub mtu: Option<u32>,
    /// `MACAddress=`.
    pub mac: Option<MacAddress>,
}

/// One address: `[Network] Address=` or an `[Address]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AddressConfig {
    /// `Address=` (required in `[Address]`).
    pub address: Option<IpPrefix>,
    /// `Peer=`.
    pub peer: Option<IpAddr>,
    /// `Label=`.
    pub label: Option<String>,
    /// `Broadcast=`.
    pub broadcast: Option<Ipv4Addr>,
    /// `Scope=`.
    pub scope: Option<Scope>,
    /// Where it was configured (section header or `Address=` line).
    pub line: u32,
    /// The file (main file or drop-in).
    pub path: PathBuf,
}

/// One route: `[Network] Gateway=` or a `[Route]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RouteConfig {
    /// `Destination=`; `None` is the default route.
    pub destination: Option<IpPrefix>,
    /// `Gateway=`.
    pub gateway: Option<IpAddr>,
    /// `Metric=`.
    pub metric: Option<u32>,
    /// `Table=` (number, or `default`/`main`/`local`).
    pub table: Option<u32>,
    /// `Scope=`.
    pub scope: Option<Scope>,
    /// Where it was configured.
    pub line: u32,
    /// The file (main file or drop-in).
    pub path: PathBuf,
}

/// A loaded `.network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Network {
    /// The file.
    pub path: PathBuf,
    /// Its drop-ins, in the order applied.
    pub dropins: Vec<PathBuf>,
    /// `[Match]`.
    pub match_settings: MatchSettings,
    /// `[Link]`.
    pub link: LinkSettings,
    /// `[Network] Description=`.
    pub description: Option<String>,
    /// Addresses, in file order.
    pub addresses: Vec<AddressConfig>,
    /// Routes, in file order.
    pub routes: Vec<RouteConfig>,
    /// `DNS=`.
    pub dns: Vec<IpAddr>,
    /// `Bridge=`.
    pub bridge: Option<String>,
    /// `Bond=`.
    pub bond: Option<String>,
    /// `BatmanAdvanced=`.
    pub batman_advanced: Option<String>,
    /// `VLAN=`.
    pub vlans: Vec<String>,
    /// `MACVLAN=`.
    pub macvlans: Vec<String>,
    /// `VXLAN=`.
    pub vxlans: Vec<String>,
    /// Where each netdev named by `Bridge=`, `Bond=`, `BatmanAdvanced=`, `VLAN=`,
    /// `MACVLAN=` or `VXLAN=` was written: (setting, name, file, line), for diagnostics.
    pub references: Vec<(String, String, PathBuf, u32)>,
}

/// What `[Match]` looks at on a link (networkd 248's `net_match_config` inputs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LinkFacts {
    /// Interface name (`Name=`).
    pub name: String,
    /// Hardware address (`MACAddress=`).
    pub mac: Option<MacAddress>,
    /// The `Type=` string: `DEVTYPE` or the lower-cased `ARPHRD_*` name
    /// ([`crate::link::Link::type_name`]).
    pub type_name: String,
    /// The driver as `ethtool -i` reports it (`Driver=`); `None` when unknown.
    pub driver: Option<String>,
}

impl LinkFacts {
    /// Facts about a link called `name` of `type_name`, nothing else known.
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> LinkFacts {
        LinkFacts {
            name: name.into(),
            type_name: type_name.into(),
            ..LinkFacts::default()
        }
    }
}

impl Network {
    /// Whether `[Match]` selects the link: every non-empty list (`Name=`, `MACAddress=`,
    /// `Type=`, `Driver=`) must match; `Path=` needs udev and never matches here.
    pub fn matches(&self, link: &LinkFacts) -> bool {
        let m = &self.match_settings;
        glob_list(&m.names, &link.name)
            && (m.macs.is_empty() || link.mac.is_some_and(|mac| m.macs.contains(&mac)))
            && (m.kinds.is_empty() || glob_list(&m.kinds, &link.type_name))
            && (m.drivers.is_empty()
                || link
                    .driver
                    .as_deref()
                    .is_some_and(|d| glob_list(&m.drivers, d)))
            && m.paths.is_empty()
    }
}

/// An empty list matches; a list starting with `!` matches what it does not list.
fn glob_list(patterns: &[String], s: &str) -> bool {
    let Some(first) = patterns.first() else {
        return true;
    };
    if let Some(stripped) = first.strip_prefix('!') {
        let hit = std::iter::once(stripped)
            .chain(patterns[1..].iter().map(String::as_str))
            .any(|p| fnmatch(p.as_bytes(), s.as_bytes()));
        !hit
    } else {
        patterns.iter().any(|p| fnmatch(p.as_bytes(), s.as_bytes()))
    }
}

/// `fnmatch(3)` without flags: `*`, `?`, `[…]` (with `!`/`^` and ranges) and `\`.
pub fn fnmatch(pattern: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((hit, next)) = class(&pattern[p..], s[i]) {
                        if hit {
                            p += next;
                            i += 1;
                            continue;
                        }
                    } else if s[i] == b'[' {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == s[i] {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[i] {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the bracket expression at the start of `pattern`; returns the
/// result and the expression's length, or `None` when the bracket is not closed.
fn class(pattern: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &x = pattern.get(i)?;
        if x == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            let hi = pattern[i + 2];
            if (x..=hi).contains(&c) {
                hit = true;
            }
            i += 3;
        } else {
            if x == c {
                hit = true;
            }
            i += 1;
        }
    }
}

/// `Address=` values: `ADDR/LEN`; without `/LEN` 248 warns and uses the legacy default
/// (classful for IPv4, /128 for IPv6).
fn address_prefix(e: &Entry<'_>, d: &mut Vec<Diagnostic>) -> Option<IpPrefix> {
    if e.value.contains('/') {
        let p = e.value.parse::<IpPrefix>().ok();
        if p.is_none() {
            e.warn(
                d,
                format!("Invalid address '{}', ignoring assignment", e.value),
            );
        }
        return p;
    }
    let Some(a) = parse_ip(e.value) else {
        e.warn(
            d,
            format!("Invalid address '{}', ignoring assignment", e.value),
        );
        return None;
    };
    e.warn(
        d,
        format!(
            "An address '{}' is specified without prefix length. The behavior of parsing \
             addresses without prefix length will be changed in the future release. Please \
             specify prefix length explicitly.",
            e.value
        ),
    );
    let len = match a {
        IpAddr::V4(v4) => match v4.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            192..=223 => 24,
            _ => {
                e.warn(
                    d,
                    format!("Invalid address '{}', ignoring assignment", e.value),
                );
                return None;
            }
        },
        IpAddr::V6(_) => 128,
    };
    IpPrefix::new(a, len).ok()
}

fn route_table(v: &str) -> Option<u32> {
    match v {
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        n => n.parse().ok().filter(|&t| t > 0),
    }
}

#[derive(Default)]
struct Builder {
    net: Option<Network>,
}

impl Builder {
    fn network(&mut self) -> &mut Network {
        self.net.get_or_insert_with(|| Network {
            path: PathBuf::new(),
            dropins: Vec::new(),
            match_settings: MatchSettings::default(),
            link: LinkSettings::default(),
            description: None,
            addresses: Vec::new(),
            routes: Vec::new(),
            dns: Vec::new(),
            bridge: None,
            bond: None,
            batman_advanced: None,
            vlans: Vec::new(),
            macvlans: Vec::new(),
            vxlans: Vec::new(),
            references: Vec::new(),
        })
    }
}

/// The `[Address]` entry for the section starting at `line` in `path`.
fn address_section<'n>(n: &'n mut Network, e: &Entry<'_>) -> &'n mut AddressConfig {
    let pos = n
        .addresses
        .iter()
        .position(|a| a.line == e.section_line && a.path == e.path);
    let i = match pos {
        Some(i) => i,
        None => {
            n.addresses.push(AddressConfig {
                address: None,
                peer: None,
                label: None,
                broadcast: None,
                scope: None,
                line: e.section_line,
                path: e.path.to_path_buf(),
            });
            n.addresses.len() - 1
        }
    };
    &mut n.addresses[i]
}

fn route_section<'n>(n: &'n mut Network, e: &Entry<'_>) -> &'n mut RouteConfig {
    let pos = n
        .routes
        .iter()
        .position(|r| r.line == e.section_line && r.path == e.path);
    let i = match pos {
        Some(i) => i,
        None => {
            n.routes.push(new_route(e.section_line, e.path));
            n.routes.len() - 1
        }
    };
    &mut n.routes[i]
}

fn new_route(line: u32, path: &Path) -> RouteConfig {
    RouteConfig {
        destination: None,
        gateway: None,
        metric: None,
        table: None,
        scope: None,
        line,
        path: path.to_path_buf(),
    }
}

/// Appends whitespace-separated words to `list`; an empty value resets it.
fn words(list: &mut Vec<String>, value: &str) {
    if value.is_empty() {
        list.clear();
    } else {
        list.extend(value.split_ascii_whitespace().map(str::to_owned));
    }
}

fn ifname(e: &Entry<'_>, d: &mut Vec<Diagnostic>) -> Option<String> {
    if ifname_is_valid(e.value) {
        Some(e.value.to_owned())
    } else {
        e.warn(
            d,
            format!("Invalid interface name '{}', ignoring assignment", e.value),
        );
        None
    }
}

fn entry(b: &mut Builder, e: &Entry<'_>, d: &mut Vec<Diagnostic>) {
    let n = b.network();
    if e.section == "Network"
        && matches!(
            e.key,
            "Bridge" | "Bond" | "BatmanAdvanced" | "VLAN" | "MACVLAN" | "VXLAN"
        )
    {
        n.references.push((
            e.key.to_owned(),
            e.value.to_owned(),
            e.path.to_path_buf(),
            e.line,
        ));
    }
    match (e.section, e.key) {
        ("Match", "Name") => words(&mut n.match_settings.names, e.value),
        ("Match", "Type") => words(&mut n.match_settings.kinds, e.value),
        ("Match", "Driver") => words(&mut n.match_settings.drivers, e.value),
        ("Match", "Path") => words(&mut n.match_settings.paths, e.value),
        ("Match", "MACAddress") => {
            if e.value.is_empty() {
                n.match_settings.macs.clear();
            }
            for w in e.value.split_ascii_whitespace() {
                match w.parse() {
                    Ok(m) => n.match_settings.macs.push(m),
                    Err(_) => e.warn(d, format!("Invalid MAC address '{w}', ignoring")),
                }
            }
        }
        ("Match", _) => n
            .match_settings
            .conditions
            .push((e.key.to_owned(), e.value.to_owned())),
        ("Link", "MTUBytes") => match parse_mtu(e.value) {
            Some(m) => n.link.mtu = Some(m),
            None => e.invalid(d, "MTU"),
        },
        ("Link", "MACAddress") => match e.value.parse() {
            Ok(m) => n.link.mac = Some(m),
            Err(_) => e.invalid(d, "MAC address"),
        },
        ("Network", "Description") => n.description = Some(e.value.to_owned()),
        ("Network", "Address") => {
            if let Some(p) = address_prefix(e, d) {
                n.addresses.push(AddressConfig {
                    address: Some(p),
                    peer: None,
                    label: None,
                    broadcast: None,
                    scope: None,
                    line: e.line,
                    path: e.path.to_path_buf(),
                });
            }
        }
        ("Network", "Gateway") => match parse_ip(e.value) {
            Some(g) => {
                let mut r = new_route(e.line, e.path);
                r.gateway = Some(g);
                n.routes.push(r);
            }
            None => e.invalid(d, "gateway"),
        },
        ("Network", "DNS") => {
            if e.value.is_empty() {
                n.dns.clear();
            }
            for w in e.value.split_ascii_whitespace() {
                match parse_ip(w) {
                    Some(a) => n.dns.push(a),
                    None => e.warn(
                        d,
                        format!("Failed to parse DNS server address, ignoring: {w}"),
                    ),
                }
            }
        }
        ("Network", "Bridge") => n.bridge = ifname(e, d).or(n.bridge.take()),
        ("Network", "Bond") => n.bond = ifname(e, d).or(n.bond.take()),
        ("Network", "BatmanAdvanced") => {
            n.batman_advanced = ifname(e, d).or(n.batman_advanced.take());
        }
        ("Network", "VLAN") => n.vlans.extend(ifname(e, d)),
        ("Network", "MACVLAN") => n.macvlans.extend(ifname(e, d)),
        ("Network", "VXLAN") => n.vxlans.extend(ifname(e, d)),
        ("Address", "Address") => {
            let p = address_prefix(e, d);
            if p.is_some() {
                address_section(n, e).address = p;
            }
        }
        ("Address", "Peer") => {
            let peer = e
                .value
                .split_once('/')
                .map_or(e.value, |(a, _)| a)
                .parse::<IpAddr>();
            match peer {
                Ok(a) => address_section(n, e).peer = Some(a),
                Err(_) => e.invalid(d, "peer address"),
            }
        }
        ("Address", "Label") => {
            if e.value.len() < 16 && !e.value.is_empty() {
                address_section(n, e).label = Some(e.value.to_owned());
            } else {
                e.invalid(d, "interface label");
            }
        }
        ("Address", "Broadcast") => match e.value.parse::<Ipv4Addr>() {
            Ok(b) => address_section(n, e).broadcast = Some(b),
            Err(_) => e.invalid(d, "broadcast address"),
        },
        ("Address", "Scope") => match Scope::from_name(e.value) {
            Some(s) => address_section(n, e).scope = Some(s),
            None => e.invalid(d, "address scope"),
        },
        ("Route", "Destination") => match e.value.parse::<IpPrefix>() {
            Ok(p) => route_section(n, e).destination = Some(p),
            Err(_) => e.invalid(d, "route destination"),
        },
        ("Route", "Gateway") => match parse_ip(e.value) {
            Some(g) => route_section(n, e).gateway = Some(g),
            None => e.invalid(d, "route gateway"),
        },
        ("Route", "Metric") => match e.value.parse::<u32>() {
            Ok(m) => route_section(n, e).metric = Some(m),
            Err(_) => e.invalid(d, "route metric"),
        },
        ("Route", "Table") => match route_table(e.value) {
            Some(t) => route_section(n, e).table = Some(t),
            None => e.invalid(d, "route table"),
        },
        ("Route", "Scope") => match Scope::from_name(e.value) {
            Some(s) => route_section(n, e).scope = Some(s),
            None => e.invalid(d, "route scope"),
        },
        _ => e.unknown_key_in(d, KNOWN_UNSUPPORTED),
    }
}

/// Parses one `.network` with its drop-ins; `None` (with a diagnostic) when the file is
/// unusable: malformed, or with an empty `[Match]` (248 refuses those: "To match all
/// interfaces, add Name=* in the `[Match]` section").
pub fn parse(
    text: &[u8],
    path: &Path,
    dropins: &[(PathBuf, Vec<u8>)],
    diags: &mut Vec<Diagnostic>,
) -> Option<Network> {
    let mut b = Builder::default();
    b.network();
    if !for_each_entry(text, path, dropins, SECTIONS, diags, |e, d| {
        entry(&mut b, e, d)
    }) {
        return None;
    }
    let mut n = b.net?;
    // `[Address]` sections without Address= are dropped, as 248 does.
    n.addresses.retain(|a| {
        if a.address.is_none() {
            diags.push(Diagnostic::warning(
                Some(&a.path),
                a.line,
                "[Address] section without Address= field configured. Ignoring [Address] section.",
            ));
        }
        a.address.is_some()
    });
    n.routes.retain(|r| {
        let ok = r.destination.is_some() || r.gateway.is_some();
        if !ok {
            diags.push(Diagnostic::warning(
                Some(&r.path),
                r.line,
                "[Route] section without Gateway= or Destination= field configured. Ignoring [Route] section.",
            ));
        }
        ok
    });
    let m = &n.match_settings;
    if m.names.is_empty()
        && m.macs.is_empty()
        && m.kinds.is_empty()
        && m.drivers.is_empty()
        && m.paths.is_empty()
        && m.conditions.is_empty()
    {
        diags.push(Diagnostic::warning(
            Some(path),
            0,
            "No valid settings found in the [Match] section, ignoring file. To match all \
             interfaces, add Name=* in the [Match] section.",
        ));
        return None;
    }
    n.path = path.to_path_buf();
    n.dropins = dropins.iter().map(|(p, _)| p.clone()).collect();
    Some(n)
}
