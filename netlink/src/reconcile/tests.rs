use std::path::Path;

use super::*;
use crate::address::IpPrefix;
use crate::config::{netdev, network};

fn cfg(netdevs: &[(&str, &str)], networks: &[(&str, &str)]) -> NetworkdConfig {
    let mut c = NetworkdConfig::default();
    let mut d = Vec::new();
    for (name, text) in netdevs {
        c.netdevs
            .push(netdev::parse(text.as_bytes(), Path::new(name), &[], &mut d).unwrap());
    }
    for (name, text) in networks {
        c.networks
            .push(network::parse(text.as_bytes(), Path::new(name), &[], &mut d).unwrap());
    }
    assert!(d.is_empty(), "{d:?}");
    c
}

fn link(index: u32, name: &str, kind: Option<&str>) -> Link {
    Link {
        index,
        name: name.into(),
        kind: kind.map(Into::into),
        mtu: 1500,
        arphrd: 1,
        ..Link::default()
    }
}

fn steps(p: &Plan) -> Vec<String> {
    p.ops.iter().map(ToString::to_string).collect()
}

fn addr(index: u32, s: &str) -> Address {
    Address::new(index, s.parse::<IpPrefix>().unwrap())
}

const VETH: (&str, &str) = (
    "10-ve.netdev",
    "[NetDev]\nName=ve0\nKind=veth\n[Peer]\nName=ve1\n",
);
const BRIDGE: (&str, &str) = ("10-br.netdev", "[NetDev]\nName=br0\nKind=bridge\n");
const BR_NET: (&str, &str) = (
    "20-br.network",
    "[Match]\nName=br0\n[Network]\nAddress=10.1.0.1/24\nGateway=10.1.0.254\n\
     [Route]\nDestination=10.9.0.0/16\nGateway=10.1.0.2\nMetric=50\n",
);
const VE_NET: (&str, &str) = (
    "30-ve.network",
    "[Match]\nName=ve*\n[Link]\nMTUBytes=1400\n[Network]\nBridge=br0\n",
);

#[test]
fn empty_kernel_gets_everything_in_order() {
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let p = plan(&c, &State::default());
    assert_eq!(
        steps(&p),
        [
            "create veth ve0 peer ve1",
            "create bridge br0",
            "set ve0 mtu 1400",
            "set ve0 up",
            "set ve0 master br0",
            "set ve1 mtu 1400",
            "set ve1 up",
            "set ve1 master br0",
            "set br0 up",
            "add address 10.1.0.1/24 to br0",
            "add route default via 10.1.0.254 dev br0",
            "add route 10.9.0.0/16 via 10.1.0.2 dev br0 metric 50",
        ]
    );
    assert!(p.diagnostics.is_empty());
}

/// The state the plan above leads to.
fn converged() -> State {
    let mut br = link(2, "br0", Some("bridge"));
    br.up = true;
    let mut ve0 = link(3, "ve0", Some("veth"));
    let mut ve1 = link(4, "ve1", Some("veth"));
    for v in [&mut ve0, &mut ve1] {
        v.up = true;
        v.mtu = 1400;
        v.master = Some(2);
    }
    let mut lo = link(1, "lo", None);
    lo.arphrd = crate::link::ARPHRD_LOOPBACK;
    let gw = Route {
        gateway: Some("10.1.0.254".parse().unwrap()),
        oif: Some(2),
        protocol: RouteProtocol::STATIC,
        ..Route::default()
    };
    let mut r = gw.clone();
    r.destination = Some("10.9.0.0/16".parse().unwrap());
    r.gateway = Some("10.1.0.2".parse().unwrap());
    r.metric = Some(50);
    let kernel = Route {
        destination: Some("10.1.0.0/24".parse().unwrap()),
        oif: Some(2),
        protocol: RouteProtocol::KERNEL,
        ..Route::default()
    };
    State {
        links: vec![lo, br, ve0, ve1],
        addresses: vec![
            addr(1, "127.0.0.1/8"),
            addr(2, "10.1.0.1/24"),
            addr(2, "fe80::1/64"),
        ],
        routes: vec![kernel, gw, r],
        ..State::default()
    }
}

#[test]
fn converged_state_plans_nothing() {
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let p = plan(&c, &converged());
    assert!(p.is_empty(), "{:?}", steps(&p));
}

#[test]
fn only_differences_are_planned() {
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let mut s = converged();
    s.links[3].mtu = 1500; // ve1
    s.links[2].master = None; // ve0
    s.routes.pop();
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p),
        [
            "set ve0 master br0",
            "set ve1 mtu 1400",
            "add route 10.9.0.0/16 via 10.1.0.2 dev br0 metric 50",
        ]
    );
}

#[test]
fn foreign_addresses_go_only_on_matched_links() {
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let mut s = converged();
    s.links.push(link(9, "eth9", None));
    s.addresses.push(addr(2, "192.168.7.1/24")); // br0: matched, foreign → removed
    s.addresses.push(addr(9, "192.168.8.1/24")); // eth9: no .network → untouched
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p),
        ["remove foreign address 192.168.7.1/24 from br0"]
    );
    // loopback keeps its addresses even when a .network matches it.
    let c = cfg(&[], &[("1.network", "[Match]\nName=lo\n")]);
    let mut s = converged();
    s.links[0].up = true;
    assert!(plan(&c, &s).is_empty());
}

#[test]
fn foreign_routes_go_only_on_matched_links_and_never_the_kernels() {
    // 248's link_drop_foreign_routes() with its defaults (ManageForeignRoutes=yes,
    // KeepConfiguration=no): a route on a matched link that no file lists goes, whoever
    // added it, except the kernel's own and the ff00::/8 multicast route.
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let mut s = converged();
    s.links.push(link(9, "eth9", None));
    let route = |dest: &str, oif: u32, protocol: RouteProtocol| Route {
        destination: Some(dest.parse().unwrap()),
        ipv6: dest.contains(':'),
        oif: Some(oif),
        protocol,
        ..Route::default()
    };
    // br0 (matched): `ip route add`'s and a DHCP client's go; the kernel's prefix route
    // and the multicast route stay.
    s.routes
        .push(route("172.16.0.0/12", 2, RouteProtocol::BOOT));
    s.routes.push(route("10.77.0.0/16", 2, RouteProtocol::DHCP));
    s.routes.push(route("fe80::/64", 2, RouteProtocol::KERNEL));
    s.routes.push(route("ff00::/8", 2, RouteProtocol::BOOT));
    // eth9: no .network, untouched.
    s.routes
        .push(route("172.16.0.0/12", 9, RouteProtocol::BOOT));
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p),
        [
            "remove foreign route 172.16.0.0/12 dev br0",
            "remove foreign route 10.77.0.0/16 dev br0",
        ]
    );
}

#[test]
fn existing_link_of_another_kind_is_left_alone() {
    let c = cfg(&[BRIDGE], &[]);
    let s = State {
        links: vec![link(5, "br0", Some("veth"))],
        ..State::default()
    };
    let p = plan(&c, &s);
    assert!(p.is_empty());
    assert_eq!(p.diagnostics.len(), 1);
    assert!(p.diagnostics[0].message.contains("exists with kind veth"));
}

#[test]
fn stacked_netdevs_are_created_on_their_parent() {
    let c = cfg(
        &[(
            "10-v.netdev",
            "[NetDev]\nName=eth0.10\nKind=vlan\n[VLAN]\nId=10\n",
        )],
        &[
            (
                "10-eth.network",
                "[Match]\nName=eth0\n[Network]\nVLAN=eth0.10\n",
            ),
            (
                "20-v.network",
                "[Match]\nName=eth0.10\n[Network]\nAddress=10.10.0.1/24\n",
            ),
        ],
    );
    let s = State {
        links: vec![link(2, "eth0", None)],
        ..State::default()
    };
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p),
        [
            "create vlan eth0.10 on eth0",
            "set eth0 up",
            "set eth0.10 up",
            "add address 10.10.0.1/24 to eth0.10",
        ]
    );
    // Without the parent nothing is created.
    assert!(plan(&c, &State::default()).is_empty());
}

#[test]
fn match_type_and_driver() {
    let c = cfg(
        &[],
        &[
            (
                "10-b.network",
                "[Match]\nType=bridge\n[Network]\nAddress=10.2.0.1/24\n",
            ),
            (
                "20-d.network",
                "[Match]\nDriver=veth\n[Network]\nAddress=10.3.0.1/24\n",
            ),
        ],
    );
    let mut s = State {
        links: vec![
            link(2, "b", Some("bridge")),
            link(3, "v", Some("veth")),
            link(4, "x", Some("veth")),
        ],
        ..State::default()
    };
    s.drivers.insert(3, "veth".into());
    s.drivers.insert(4, "e1000".into());
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p),
        [
            "set b up",
            "set v up",
            "add address 10.2.0.1/24 to b",
            "add address 10.3.0.1/24 to v",
        ]
    );
}

#[test]
fn batadv_mesh_options_follow_the_file() {
    let c = cfg(
        &[(
            "10-bat.netdev",
            "[NetDev]\nName=bat0\nKind=batadv\n[BatmanAdvanced]\nBridgeLoopAvoidance=no\n\
             HopPenalty=20\nGatewayBandwithDown=10M\n",
        )],
        &[(
            "20-ve.network",
            "[Match]\nName=ve*\n[Network]\nBatmanAdvanced=bat0\n",
        )],
    );
    let mut s = State {
        links: vec![link(2, "ve0", Some("veth"))],
        ..State::default()
    };
    assert_eq!(
        steps(&plan(&c, &s)),
        [
            "create batadv bat0",
            "set ve0 up",
            "set ve0 master bat0",
            "set batadv mesh options of bat0",
        ]
    );
    let NetDevKind::Batadv(b) = &c.netdevs[0].kind else {
        unreachable!()
    };
    let want = b.mesh_settings();
    assert_eq!(want.bridge_loop_avoidance, Some(false));
    assert_eq!(want.gw_bandwidth_down, Some(100));
    // Existing with other options: only SET_MESH.
    s.links[0].up = true;
    s.links[0].master = Some(7);
    s.links.push(link(7, "bat0", Some("batadv")));
    let mut have = want;
    have.hop_penalty = Some(15);
    have.gw_sel_class = Some(20); // not in the file: ignored
    s.meshes.insert(7, have);
    let p = plan(&c, &s);
    assert_eq!(steps(&p), ["set batadv mesh options of bat0"]);
    assert!(matches!(&p.ops[0], Op::SetMesh { settings, .. } if *settings == want));
    have.hop_penalty = Some(20);
    s.meshes.insert(7, have);
    assert!(plan(&c, &s).is_empty());
}

#[test]
fn for_link_keeps_what_concerns_the_link() {
    let c = cfg(&[VETH, BRIDGE], &[BR_NET, VE_NET]);
    let mut s = converged();
    s.links.retain(|l| l.name != "ve0" && l.name != "ve1");
    s.links[1].up = false;
    let p = plan(&c, &s);
    assert_eq!(
        steps(&p.clone().for_link("ve1")),
        [
            "create veth ve0 peer ve1",
            "set ve1 mtu 1400",
            "set ve1 up",
            "set ve1 master br0",
        ]
    );
    assert_eq!(
        steps(&p.for_link("br0")),
        ["set br0 up", "set ve0 master br0", "set ve1 master br0"]
    );
}

#[test]
fn ipv6_and_metric_defaults_compare_equal() {
    let c = cfg(
        &[],
        &[(
            "1.network",
            "[Match]\nName=e\n[Network]\nAddress=fd00::1/64\n[Route]\nDestination=fd01::/64\n",
        )],
    );
    let mut e = link(2, "e", None);
    e.up = true;
    let r = Route {
        destination: Some("fd01::/64".parse().unwrap()),
        ipv6: true,
        oif: Some(2),
        metric: Some(1024),
        ..Route::default()
    };
    let s = State {
        links: vec![e],
        addresses: vec![addr(2, "fd00::1/64"), addr(2, "fe80::5/64")],
        routes: vec![r],
        ..State::default()
    };
    assert!(plan(&c, &s).is_empty(), "{:?}", steps(&plan(&c, &s)));
}

#[test]
fn bond_slaves_are_enslaved_while_down() {
    let c = cfg(
        &[("10-bond.netdev", "[NetDev]\nName=bond0\nKind=bond\n")],
        &[(
            "20-s.network",
            "[Match]\nName=eth*\n[Network]\nBond=bond0\n",
        )],
    );
    let mut eth0 = link(2, "eth0", None);
    eth0.up = true;
    let s = State {
        links: vec![eth0, link(3, "eth1", None)],
        ..State::default()
    };
    assert_eq!(
        steps(&plan(&c, &s)),
        [
            "create bond bond0",
            "set eth0 down",
            "set eth0 master bond0",
            "set eth0 up",
            "set eth1 master bond0",
            "set eth1 up",
        ]
    );
}
