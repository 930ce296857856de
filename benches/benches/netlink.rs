//! keel-netlink's codec hot paths, no privileges: building 1000 `RTM_NEWADDR` requests
//! (through netlink-packet-route, against a hand-framed baseline with our `wire` helpers),
//! framing them into one batch buffer, parsing a real kernel `RTM_NEWLINK` (1420 bytes,
//! captured by strace from batctl in the VM) and the batadv `GET_MESH` reply, and parsing
//! a `.netdev`; building veth `RTM_NEWLINK`, `RTM_NEWROUTE` and batadv `SET_MESH` /
//! `SET_HARDIF` / `GET_ORIGINATORS` requests; and splitting and decoding a dump of 1000
//! addresses (the kernel's `RTM_NEWADDR` messages, as our builder frames them, in 32 KiB
//! datagrams) and of 1000 routes.
#![allow(missing_docs)]
#![allow(clippy::expect_used)] // a bench: a broken fixture must stop it loudly

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_netlink::address::{self, Address, IpPrefix};
use keel_netlink::batadv::{self, GatewayMode, MeshInfo, MeshSettings};
use keel_netlink::link::{self, Link, LinkKind, LinkSpec};
use keel_netlink::route::{self, Route};
use keel_netlink::wire::{self, NlmFlags};
use keel_netlink::{Request, config};

const GW_MODE: &str = include_str!("../../../shared/data/batctl-netlink/strace-gw_mode.txt");

/// Payloads of the kernel's messages of `message_type` in an strace capture.
fn captured(message_type: &str, len: &str) -> Vec<u8> {
    let line = GW_MODE
        .lines()
        .find(|l| {
            l.contains("recvmsg(")
                && !l.contains("MSG_PEEK")
                && l.contains(&format!("nlmsg_len={len}, nlmsg_type={message_type} "))
        })
        .expect("capture has the message");
    let quoted = line.split("}, \"").nth(1).expect("payload");
    let quoted = &quoted[..quoted.find('"').expect("closing quote")];
    quoted
        .split("\\x")
        .filter(|p| !p.is_empty())
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect()
}

fn addresses() -> Vec<Address> {
    (1..=1000u32)
        .map(|n| {
            let [_, _, x, y] = n.to_be_bytes();
            let ip = IpAddr::V4(Ipv4Addr::new(10, 20, x, y));
            Address::new(7, IpPrefix::new(ip, 16).expect("valid prefix"))
        })
        .collect()
}

/// The baseline: the same `RTM_NEWADDR` framed by hand (ifaddrmsg + IFA_LOCAL +
/// IFA_ADDRESS), no description string.
fn hand_framed(a: &Address) -> Request {
    let IpAddr::V4(ip) = a.local.address else {
        unreachable!("IPv4 fixture")
    };
    let mut p = Vec::with_capacity(24);
    p.extend_from_slice(&[2, a.local.prefix_len, 0, 0]);
    p.extend_from_slice(&a.index.to_ne_bytes());
    wire::put_attr(&mut p, 2, &ip.octets());
    wire::put_attr(&mut p, 1, &ip.octets());
    Request::new(
        address::RTM_NEWADDR,
        NlmFlags::CREATE | NlmFlags::EXCL,
        p,
        String::new(),
    )
}

fn bench(c: &mut Criterion) {
    let addrs = addresses();
    assert_eq!(
        address::add(&addrs[0]).payload,
        hand_framed(&addrs[0]).payload
    );
    c.bench_function("netlink/build_1000_newaddr", |b| {
        b.iter(|| {
            black_box(&addrs)
                .iter()
                .map(address::add)
                .collect::<Vec<_>>()
        });
    });
    c.bench_function("netlink/build_1000_newaddr_hand_framed_baseline", |b| {
        b.iter(|| {
            black_box(&addrs)
                .iter()
                .map(hand_framed)
                .collect::<Vec<_>>()
        });
    });
    let reqs: Vec<Request> = addrs.iter().map(address::add).collect();
    let mut buf = Vec::with_capacity(64 * 1024);
    c.bench_function("netlink/frame_batch_1000_newaddr", |b| {
        b.iter(|| {
            buf.clear();
            for (seq, r) in (1u32..).zip(black_box(&reqs)) {
                r.emit(&mut buf, seq, 1234);
            }
            buf.len()
        });
    });
    let link = captured("0x10", "1420");
    assert_eq!(Link::parse(&link).expect("parses").name, "bat0");
    c.bench_function("netlink/parse_kernel_newlink_1420B", |b| {
        b.iter(|| Link::parse(black_box(&link)).expect("parses"));
    });
    c.bench_function("netlink/split_and_walk_attrs_newlink", |b| {
        b.iter(|| wire::attrs(&black_box(&link)[16..]).flatten().count());
    });
    let mesh = captured("0x21", "276");
    c.bench_function("netlink/parse_batadv_get_mesh_reply", |b| {
        b.iter(|| MeshInfo::parse(black_box(&mesh)).expect("parses"));
    });
    c.bench_function("netlink/build_200_veth_newlink", |b| {
        b.iter(|| {
            (0..200)
                .map(|i| {
                    let kind = LinkKind::Veth {
                        peer: format!("p{i}"),
                        peer_mac: None,
                    };
                    link::create(&LinkSpec::new(format!("v{i}"), kind), None)
                })
                .collect::<Vec<_>>()
        });
    });
    let routes: Vec<Route> = addrs
        .iter()
        .map(|a| {
            let mut r = Route::default();
            r.destination = Some(IpPrefix::new(a.local.address, 32).expect("valid prefix"));
            r.gateway = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
            r.oif = Some(7);
            r
        })
        .collect();
    c.bench_function("netlink/build_1000_newroute", |b| {
        b.iter(|| {
            black_box(&routes)
                .iter()
                .map(route::add)
                .collect::<Vec<_>>()
        });
    });
    let mut mesh_settings = MeshSettings::default();
    mesh_settings.gw_mode = Some(GatewayMode::Server);
    mesh_settings.gw_bandwidth_down = Some(100);
    mesh_settings.gw_bandwidth_up = Some(20);
    mesh_settings.hop_penalty = Some(40);
    mesh_settings.orig_interval = Some(500);
    mesh_settings.aggregated_ogms = Some(false);
    mesh_settings.bridge_loop_avoidance = Some(false);
    mesh_settings.distributed_arp_table = Some(true);
    mesh_settings.fragmentation = Some(true);
    let mut hardif = batadv::HardifSettings::default();
    hardif.hop_penalty = Some(20);
    c.bench_function(
        "netlink/build_batadv_set_mesh_set_hardif_originators",
        |b| {
            b.iter(|| {
                (
                    batadv::set_mesh(0x21, 4, black_box(&mesh_settings)),
                    batadv::set_hardif(0x21, 4, 2, black_box(&hardif)),
                    batadv::originators(0x21, 4),
                )
            });
        },
    );
    // A dump as the kernel delivers it: datagrams of at most 32 KiB of RTM_NEWADDR
    // (respectively RTM_NEWROUTE) messages.
    let datagrams = |payloads: Vec<Vec<u8>>, message_type: u16| {
        let mut out: Vec<Vec<u8>> = vec![Vec::new()];
        for (seq, p) in (1u32..).zip(payloads) {
            if out.last().expect("one").len() + 16 + p.len() > 32 * 1024 {
                out.push(Vec::new());
            }
            let last = out.last_mut().expect("one");
            wire::emit_message(last, message_type, NlmFlags::MULTI, seq, 1234, &p);
        }
        out
    };
    let addr_dump = datagrams(
        reqs.iter().map(|r| r.payload.clone()).collect(),
        address::RTM_NEWADDR,
    );
    c.bench_function("netlink/parse_dump_1000_addresses", |b| {
        b.iter(|| {
            let mut n = 0;
            for d in black_box(&addr_dump) {
                for m in wire::messages(d) {
                    let (_, payload) = m.expect("framed");
                    n += usize::from(Address::parse(payload).expect("parses").index == 7);
                }
            }
            assert_eq!(n, 1000);
        });
    });
    let route_dump = datagrams(routes.iter().map(|r| route::add(r).payload).collect(), 24);
    c.bench_function("netlink/parse_dump_1000_routes", |b| {
        b.iter(|| {
            let mut n = 0;
            for d in black_box(&route_dump) {
                for m in wire::messages(d) {
                    let (_, payload) = m.expect("framed");
                    n += usize::from(Route::parse(payload).expect("parses").oif == Some(7));
                }
            }
            assert_eq!(n, 1000);
        });
    });
    let netdev = b"[NetDev]\nName=bat0\nKind=batadv\n\n[BatmanAdvanced]\nGatewayMode=server\n\
        GatewayBandwithDown=205M\nGatewayBandwithUp=2G\nHopPenalty=10\n\
        OriginatorIntervalSec=1000ms\nRoutingAlgorithm=batman-iv\nBridgeLoopAvoidance=no\n";
    c.bench_function("netlink/parse_batadv_netdev", |b| {
        b.iter(|| {
            let mut d = Vec::new();
            config::netdev::parse(black_box(netdev), Path::new("b.netdev"), &[], &mut d)
                .expect("parses")
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
