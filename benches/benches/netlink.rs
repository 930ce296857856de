//! keel-netlink's codec hot paths, no privileges: building 1000 `RTM_NEWADDR` requests
//! (through netlink-packet-route, against a hand-framed baseline with our `wire` helpers),
//! framing them into one batch buffer, parsing a real kernel `RTM_NEWLINK` (1420 bytes,
//! captured by strace from batctl in the VM) and the batadv `GET_MESH` reply, and parsing
//! a `.netdev`.
#![allow(missing_docs)]
#![allow(clippy::expect_used)] // a bench: a broken fixture must stop it loudly

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_netlink::address::{self, Address, IpPrefix};
use keel_netlink::batadv::MeshInfo;
use keel_netlink::link::Link;
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
