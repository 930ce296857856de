//! batadv tests: constants against the kernel UAPI header, and byte-exact replays of the
//! messages batctl 2023.0 sent (strace captures in `shared/data/batctl-netlink/`,
//! recorded in the VM harness against kernel batman-adv 2022.3).
//!
//! The captures differ from our messages only where a run differs: the genl family id
//! (0x21 in the capture; assigned at module load), the sequence numbers and the port id.
//! The replay takes those three from the capture and compares every byte.

use super::*;
use crate::genl::{self, Family};
use crate::link;
use crate::wire::{HEADER_LEN, Header};

const GW_MODE: &str = include_str!("../../../../shared/data/batctl-netlink/strace-gw_mode.txt");
const GW_SERVER: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-gw_mode_server_10mbit_2mbit.txt");
const HOP_PENALTY: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-hop_penalty_40.txt");
const ORIG_INTERVAL: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-orig_interval_500.txt");
const AGGREGATION: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-aggregation_0.txt");
const HARDIF: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-hardif-hop_penalty.txt");

/// The family id batctl got in the capture.
const CAPTURED_FAMILY: u16 = 0x21;

/// One message from an strace line: the header fields strace decoded and the payload.
#[derive(Debug)]
struct Captured {
    header: Header,
    payload: Vec<u8>,
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(name).unwrap() + name.len();
    let rest = &line[start..];
    let end = rest.find([',', '}', ' ']).unwrap();
    &rest[..end]
}

fn number(s: &str) -> u32 {
    if let Some(h) = s.strip_prefix("0x") {
        u32::from_str_radix(h, 16).unwrap()
    } else {
        // strace prints nlmsg_pid as a signed int.
        let v: i64 = s.parse().unwrap();
        u32::from_ne_bytes(i32::try_from(v).unwrap().to_ne_bytes())
    }
}

fn flags(s: &str) -> u16 {
    s.split('|')
        .map(|f| match f {
            "NLM_F_REQUEST" => 1,
            "NLM_F_ACK" => 4,
            "0" => 0,
            h => u16::try_from(number(h)).unwrap(),
        })
        .sum()
}

fn unescape(s: &str) -> Vec<u8> {
    s.split("\\x")
        .filter(|p| !p.is_empty())
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

/// Every message batctl sent (`sendmsg` lines), in order.
fn sent(capture: &str) -> Vec<Captured> {
    capture
        .lines()
        .filter(|l| l.contains("sendmsg(") && l.contains("nlmsg_len="))
        .map(|l| {
            let ty = field(l, "nlmsg_type=");
            let header = Header {
                length: number(field(l, "nlmsg_len=")),
                message_type: u16::try_from(number(ty)).unwrap(),
                flags: NlmFlags::from_bits_retain(flags(field(l, "nlmsg_flags="))),
                seq: number(field(l, "nlmsg_seq=")),
                pid: number(field(l, "nlmsg_pid=")),
            };
            let quoted = l.split("}, \"").nth(1).unwrap();
            let payload = unescape(&quoted[..quoted.find('"').unwrap()]);
            Captured { header, payload }
        })
        .collect()
}

/// Payloads of the messages the kernel sent with `message_type` (not the MSG_PEEK copies).
fn received(capture: &str, message_type: &str) -> Vec<Vec<u8>> {
    capture
        .lines()
        .filter(|l| l.contains("recvmsg(") && !l.contains("MSG_PEEK"))
        .filter(|l| l.contains(&format!("nlmsg_type={message_type} ")))
        .filter_map(|l| {
            let quoted = l.split("}, \"").nth(1)?;
            Some(unescape(&quoted[..quoted.find('"')?]))
        })
        .collect()
}

/// Emits `req` with the capture's seq and pid and compares all bytes.
fn assert_same(req: &Request, captured: &Captured) {
    let mut ours = Vec::new();
    req.emit(&mut ours, captured.header.seq, captured.header.pid);
    let mut theirs = Vec::new();
    captured.header.emit(&mut theirs);
    theirs.extend_from_slice(&captured.payload);
    assert_eq!(ours, theirs, "{}", req.description);
    assert_eq!(ours.len(), captured.header.length as usize);
}

/// Every batctl run starts by looking up the mesh interface and the family.
fn assert_preamble(msgs: &[Captured], ifindexes: &[u32]) {
    for (m, &index) in msgs.iter().zip(ifindexes) {
        assert_same(&link::get_by_index(index), m);
    }
    assert_same(&genl::get_family(FAMILY_NAME), &msgs[ifindexes.len()]);
}

#[test]
fn set_mesh_gw_mode_server_10mbit_2mbit() {
    let msgs = sent(GW_SERVER);
    assert_eq!(msgs.len(), 3);
    assert_preamble(&msgs, &[4]);
    let s = MeshSettings {
        gw_mode: Some(GatewayMode::Server),
        gw_bandwidth_down: Some(100),
        gw_bandwidth_up: Some(20),
        ..MeshSettings::default()
    };
    assert_same(&set_mesh(CAPTURED_FAMILY, 4, &s), &msgs[2]);
}

#[test]
fn set_mesh_single_options() {
    let cases: [(&str, MeshSettings); 3] = [
        (
            HOP_PENALTY,
            MeshSettings {
                hop_penalty: Some(40),
                ..MeshSettings::default()
            },
        ),
        (
            ORIG_INTERVAL,
            MeshSettings {
                orig_interval: Some(500),
                ..MeshSettings::default()
            },
        ),
        (
            AGGREGATION,
            MeshSettings {
                aggregated_ogms: Some(false),
                ..MeshSettings::default()
            },
        ),
    ];
    for (capture, settings) in cases {
        let msgs = sent(capture);
        assert_eq!(msgs.len(), 3);
        assert_preamble(&msgs, &[4]);
        assert_same(&set_mesh(CAPTURED_FAMILY, 4, &settings), &msgs[2]);
    }
}

#[test]
fn get_mesh_request_and_reply() {
    let msgs = sent(GW_MODE);
    assert_eq!(msgs.len(), 3);
    assert_preamble(&msgs, &[4]);
    assert_same(&get_mesh(CAPTURED_FAMILY, 4), &msgs[2]);
    // The kernel's GET_MESH reply, recorded after the other captures had run.
    let replies = received(GW_MODE, "0x21");
    let info = MeshInfo::parse(&replies[0]).unwrap();
    assert_eq!(info.version.as_deref(), Some("2022.3"));
    assert_eq!(info.algorithm.as_deref(), Some("BATMAN_IV"));
    assert_eq!(info.mesh_ifindex, Some(4));
    assert_eq!(info.mesh_ifname.as_deref(), Some("bat0"));
    assert_eq!(info.mesh_address.unwrap().to_string(), "26:a8:1b:42:01:7f");
    let s = info.settings;
    assert_eq!(s.gw_mode, Some(GatewayMode::Server));
    assert_eq!(
        (s.gw_bandwidth_down, s.gw_bandwidth_up),
        (Some(100), Some(20))
    );
    assert_eq!(s.gw_sel_class, Some(20));
    assert_eq!(s.hop_penalty, Some(40));
    assert_eq!(s.orig_interval, Some(500));
    assert_eq!(s.aggregated_ogms, Some(false));
    assert_eq!(s.bridge_loop_avoidance, Some(false));
    assert_eq!(s.distributed_arp_table, Some(true));
    assert_eq!(s.fragmentation, Some(true));
    assert_eq!(s.network_coding, Some(false));
    assert_eq!(s.multicast_forceflood, Some(false));
    assert_eq!(s.ap_isolation, Some(false));
    assert_eq!(s.bonding, Some(false));
}

#[test]
fn set_hardif_hop_penalty() {
    let msgs = sent(HARDIF);
    assert_eq!(msgs.len(), 4);
    // batctl looks up the hard interface (2) and the mesh interface (4).
    assert_preamble(&msgs, &[2, 4]);
    let s = HardifSettings {
        hop_penalty: Some(20),
        ..HardifSettings::default()
    };
    assert_same(&set_hardif(CAPTURED_FAMILY, 4, 2, &s), &msgs[3]);
}

#[test]
fn family_reply_from_capture() {
    let replies = received(GW_MODE, "0x10");
    let family = replies
        .iter()
        .find(|p| p.first() == Some(&genl::CTRL_CMD_NEWFAMILY))
        .map(|p| Family::parse(p).unwrap())
        .unwrap();
    assert_eq!(family.name, "batadv");
    assert_eq!(family.id, CAPTURED_FAMILY);
    assert_eq!(family.version, 1);
    assert_eq!(
        family.multicast_groups,
        vec![("config".to_owned(), 0x13), ("tpmeter".to_owned(), 0x14)]
    );
}

#[test]
fn originator_and_neighbor_parse() {
    let mut p = Vec::new();
    GenlHeader::new(BATADV_CMD_GET_ORIGINATORS, 1).emit(&mut p);
    wire::put_attr(&mut p, BATADV_ATTR_ORIG_ADDRESS, &[2, 0, 0, 0, 0, 3]);
    wire::put_attr(&mut p, BATADV_ATTR_NEIGH_ADDRESS, &[2, 0, 0, 0, 0, 2]);
    wire::put_u32(&mut p, BATADV_ATTR_HARD_IFINDEX, 5);
    wire::put_u32(&mut p, BATADV_ATTR_LAST_SEEN_MSECS, 120);
    wire::put_u8(&mut p, BATADV_ATTR_TQ, 230);
    wire::put_attr(&mut p, BATADV_ATTR_FLAG_BEST, &[]);
    let o = Originator::parse(&p).unwrap();
    assert_eq!(o.originator.to_string(), "02:00:00:00:00:03");
    assert_eq!(o.next_hop.to_string(), "02:00:00:00:00:02");
    assert_eq!(
        (o.hard_ifindex, o.last_seen_ms, o.tq, o.best),
        (5, 120, Some(230), true)
    );
    let n = Neighbor::parse(&p).unwrap();
    assert_eq!(n.address, o.next_hop);
    // A short MAC is an error, not a panic.
    let mut bad = Vec::new();
    GenlHeader::new(BATADV_CMD_GET_NEIGHBORS, 1).emit(&mut bad);
    wire::put_attr(&mut bad, BATADV_ATTR_NEIGH_ADDRESS, &[1, 2]);
    assert!(Neighbor::parse(&bad).is_err());
    assert!(MeshInfo::parse(&[]).is_err());
}

#[test]
fn every_setting_round_trips() {
    let s = MeshSettings {
        gw_mode: Some(GatewayMode::Client),
        gw_bandwidth_down: Some(10_000),
        gw_bandwidth_up: Some(2_000),
        gw_sel_class: Some(20),
        hop_penalty: Some(15),
        orig_interval: Some(1000),
        aggregated_ogms: Some(true),
        ap_isolation: Some(false),
        bonding: Some(true),
        bridge_loop_avoidance: Some(false),
        distributed_arp_table: Some(true),
        fragmentation: Some(false),
        multicast_forceflood: Some(true),
        network_coding: Some(false),
    };
    let req = set_mesh(0x30, 9, &s);
    assert_eq!(req.message_type, 0x30);
    let info = MeshInfo::parse(&req.payload).unwrap();
    assert_eq!(info.mesh_ifindex, Some(9));
    assert_eq!(info.settings, s);
}

/// Values of the enumerators of `enum name { … }` in a C header, in order, following
/// `= OTHER_NAME` aliases and `= number`.
fn c_enum(header: &str, name: &str) -> Vec<(String, i64)> {
    let start = header.find(&format!("enum {name} {{")).unwrap();
    let body = &header[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap()];
    // Drop comments.
    let mut text = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("*/").unwrap() + 2..];
    }
    text.push_str(rest);
    let mut out: Vec<(String, i64)> = Vec::new();
    let mut next = 0i64;
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (n, v) = match item.split_once('=') {
            Some((n, v)) => {
                let v = v.trim();
                let value = if let Some((other, minus)) = v.split_once(" - ") {
                    out.iter().find(|(k, _)| k == other.trim()).unwrap().1
                        - minus.trim().parse::<i64>().unwrap()
                } else if let Ok(x) = v.parse::<i64>() {
                    x
                } else {
                    out.iter().find(|(k, _)| k == v).unwrap().1
                };
                (n.trim().to_owned(), value)
            }
            None => (item.to_owned(), next),
        };
        next = v + 1;
        out.push((n, v));
    }
    out
}

#[test]
fn constants_match_the_kernel_uapi_header() {
    let path = "/usr/include/linux/batman_adv.h";
    let header = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (Debian package linux-libc-dev)"));
    let attrs = c_enum(&header, "batadv_nl_attrs");
    let cmds = c_enum(&header, "batadv_nl_commands");
    let value = |table: &[(String, i64)], name: &str| {
        table
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not in header"))
            .1
    };
    let ours_attrs: &[(&str, u16)] = &[
        ("BATADV_ATTR_VERSION", BATADV_ATTR_VERSION),
        ("BATADV_ATTR_ALGO_NAME", BATADV_ATTR_ALGO_NAME),
        ("BATADV_ATTR_MESH_IFINDEX", BATADV_ATTR_MESH_IFINDEX),
        ("BATADV_ATTR_MESH_IFNAME", BATADV_ATTR_MESH_IFNAME),
        ("BATADV_ATTR_MESH_ADDRESS", BATADV_ATTR_MESH_ADDRESS),
        ("BATADV_ATTR_HARD_IFINDEX", BATADV_ATTR_HARD_IFINDEX),
        ("BATADV_ATTR_HARD_IFNAME", BATADV_ATTR_HARD_IFNAME),
        ("BATADV_ATTR_HARD_ADDRESS", BATADV_ATTR_HARD_ADDRESS),
        ("BATADV_ATTR_ORIG_ADDRESS", BATADV_ATTR_ORIG_ADDRESS),
        ("BATADV_ATTR_ACTIVE", BATADV_ATTR_ACTIVE),
        ("BATADV_ATTR_FLAG_BEST", BATADV_ATTR_FLAG_BEST),
        ("BATADV_ATTR_LAST_SEEN_MSECS", BATADV_ATTR_LAST_SEEN_MSECS),
        ("BATADV_ATTR_NEIGH_ADDRESS", BATADV_ATTR_NEIGH_ADDRESS),
        ("BATADV_ATTR_TQ", BATADV_ATTR_TQ),
        ("BATADV_ATTR_THROUGHPUT", BATADV_ATTR_THROUGHPUT),
        (
            "BATADV_ATTR_AGGREGATED_OGMS_ENABLED",
            BATADV_ATTR_AGGREGATED_OGMS_ENABLED,
        ),
        (
            "BATADV_ATTR_AP_ISOLATION_ENABLED",
            BATADV_ATTR_AP_ISOLATION_ENABLED,
        ),
        ("BATADV_ATTR_ISOLATION_MARK", BATADV_ATTR_ISOLATION_MARK),
        ("BATADV_ATTR_ISOLATION_MASK", BATADV_ATTR_ISOLATION_MASK),
        ("BATADV_ATTR_BONDING_ENABLED", BATADV_ATTR_BONDING_ENABLED),
        (
            "BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED",
            BATADV_ATTR_BRIDGE_LOOP_AVOIDANCE_ENABLED,
        ),
        (
            "BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED",
            BATADV_ATTR_DISTRIBUTED_ARP_TABLE_ENABLED,
        ),
        (
            "BATADV_ATTR_FRAGMENTATION_ENABLED",
            BATADV_ATTR_FRAGMENTATION_ENABLED,
        ),
        (
            "BATADV_ATTR_GW_BANDWIDTH_DOWN",
            BATADV_ATTR_GW_BANDWIDTH_DOWN,
        ),
        ("BATADV_ATTR_GW_BANDWIDTH_UP", BATADV_ATTR_GW_BANDWIDTH_UP),
        ("BATADV_ATTR_GW_MODE", BATADV_ATTR_GW_MODE),
        ("BATADV_ATTR_GW_SEL_CLASS", BATADV_ATTR_GW_SEL_CLASS),
        ("BATADV_ATTR_HOP_PENALTY", BATADV_ATTR_HOP_PENALTY),
        ("BATADV_ATTR_LOG_LEVEL", BATADV_ATTR_LOG_LEVEL),
        (
            "BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED",
            BATADV_ATTR_MULTICAST_FORCEFLOOD_ENABLED,
        ),
        (
            "BATADV_ATTR_NETWORK_CODING_ENABLED",
            BATADV_ATTR_NETWORK_CODING_ENABLED,
        ),
        ("BATADV_ATTR_ORIG_INTERVAL", BATADV_ATTR_ORIG_INTERVAL),
        ("BATADV_ATTR_ELP_INTERVAL", BATADV_ATTR_ELP_INTERVAL),
        (
            "BATADV_ATTR_THROUGHPUT_OVERRIDE",
            BATADV_ATTR_THROUGHPUT_OVERRIDE,
        ),
        ("BATADV_ATTR_MULTICAST_FANOUT", BATADV_ATTR_MULTICAST_FANOUT),
    ];
    for (name, ours) in ours_attrs {
        assert_eq!(value(&attrs, name), i64::from(*ours), "{name}");
    }
    let ours_cmds: &[(&str, u8)] = &[
        ("BATADV_CMD_GET_MESH", BATADV_CMD_GET_MESH),
        ("BATADV_CMD_TP_METER", BATADV_CMD_TP_METER),
        ("BATADV_CMD_GET_ROUTING_ALGOS", BATADV_CMD_GET_ROUTING_ALGOS),
        ("BATADV_CMD_GET_HARDIF", BATADV_CMD_GET_HARDIF),
        ("BATADV_CMD_GET_ORIGINATORS", BATADV_CMD_GET_ORIGINATORS),
        ("BATADV_CMD_GET_NEIGHBORS", BATADV_CMD_GET_NEIGHBORS),
        ("BATADV_CMD_GET_GATEWAYS", BATADV_CMD_GET_GATEWAYS),
        ("BATADV_CMD_SET_MESH", BATADV_CMD_SET_MESH),
        ("BATADV_CMD_SET_HARDIF", BATADV_CMD_SET_HARDIF),
        ("BATADV_CMD_GET_VLAN", BATADV_CMD_GET_VLAN),
        ("BATADV_CMD_SET_VLAN", BATADV_CMD_SET_VLAN),
    ];
    for (name, ours) in ours_cmds {
        assert_eq!(value(&cmds, name), i64::from(*ours), "{name}");
    }
    let gw = c_enum(&header, "batadv_gw_modes");
    assert_eq!(
        value(&gw, "BATADV_GW_MODE_SERVER"),
        i64::from(GatewayMode::Server.as_raw())
    );
    assert_eq!(
        value(&gw, "BATADV_GW_MODE_CLIENT"),
        i64::from(GatewayMode::Client.as_raw())
    );
    assert!(header.contains(&format!("#define BATADV_NL_NAME \"{FAMILY_NAME}\"")));
    let _ = HEADER_LEN;
}

#[test]
fn kernel_newlink_reply_from_capture() {
    // batctl's RTM_GETLINK for ifindex 4 was answered with bat0's full RTM_NEWLINK.
    let reply = received(GW_SERVER, "0x10")
        .into_iter()
        .find(|p| p.len() > 1000)
        .unwrap();
    let l = crate::link::Link::parse(&reply).unwrap();
    assert_eq!((l.index, l.name.as_str(), l.mtu), (4, "bat0", 1500));
    assert_eq!(l.kind.as_deref(), Some("batadv"));
    assert_eq!(l.mac.unwrap().to_string(), "26:a8:1b:42:01:7f");
    assert!(l.up);
}

#[test]
fn created_links_parse_back() {
    use crate::link::{BatadvAlgorithm, Link, LinkKind, LinkSpec};
    let mut spec = LinkSpec::new(
        "bat1",
        LinkKind::Batadv {
            algorithm: BatadvAlgorithm::BatmanIv,
        },
    );
    spec.mtu = Some(1532);
    spec.mac = Some("02:11:22:33:44:55".parse().unwrap());
    let l = Link::parse(&link::create(&spec, None).payload).unwrap();
    assert_eq!(l.name, "bat1");
    assert_eq!(l.mtu, 1532);
    assert_eq!(l.mac, spec.mac);
    assert_eq!(l.kind.as_deref(), Some("batadv"));
}

const DIR: &str = "../../shared/data/batctl-netlink";
const DECODED: &str = include_str!("../../../../shared/data/batctl-netlink/decoded.txt");
const IPLINK_ADD: &str =
    include_str!("../../../../shared/data/batctl-netlink/strace-iplink-add-batadv.txt");
/// The short captures (sendmsg only) of a second batctl run, by setting.
const DECODED_CAPTURES: [(&str, &str); 5] = [
    (
        "aggregation_0",
        include_str!("../../../../shared/data/batctl-netlink/strace-decoded-aggregation_0.txt"),
    ),
    (
        "gw_mode",
        include_str!("../../../../shared/data/batctl-netlink/strace-decoded-gw_mode.txt"),
    ),
    (
        "gw_mode_server_10mbit_2mbit",
        include_str!(
            "../../../../shared/data/batctl-netlink/strace-decoded-gw_mode_server_10mbit_2mbit.txt"
        ),
    ),
    (
        "hop_penalty_40",
        include_str!("../../../../shared/data/batctl-netlink/strace-decoded-hop_penalty_40.txt"),
    ),
    (
        "orig_interval_500",
        include_str!("../../../../shared/data/batctl-netlink/strace-decoded-orig_interval_500.txt"),
    ),
];

/// Every file of the fixture directory, each replayed by a test of this module.
const FIXTURES: [&str; 13] = [
    "decoded.txt",                                    // decoded_txt_matches_our_messages
    "strace-aggregation_0.txt",                       // set_mesh_single_options
    "strace-decoded-aggregation_0.txt",               // second_run_captures_replay
    "strace-decoded-gw_mode.txt",                     // second_run_captures_replay
    "strace-decoded-gw_mode_server_10mbit_2mbit.txt", // second_run_captures_replay
    "strace-decoded-hop_penalty_40.txt",              // second_run_captures_replay
    "strace-decoded-orig_interval_500.txt",           // second_run_captures_replay
    "strace-gw_mode.txt",                             // get_mesh_request_and_reply
    "strace-gw_mode_server_10mbit_2mbit.txt",         // set_mesh_gw_mode_server_10mbit_2mbit
    "strace-hardif-hop_penalty.txt",                  // set_hardif_hop_penalty
    "strace-hop_penalty_40.txt",                      // set_mesh_single_options
    "strace-iplink-add-batadv.txt",                   // iplink_add_batadv_batman_v
    "strace-orig_interval_500.txt",                   // set_mesh_single_options
];

/// The request batctl sent for each captured command (family 0x21, bat0 = 4, v21 = 2).
fn batctl_request(command: &str) -> Request {
    let mesh = |s: MeshSettings| set_mesh(CAPTURED_FAMILY, 4, &s);
    match command {
        "aggregation_0" => mesh(MeshSettings {
            aggregated_ogms: Some(false),
            ..MeshSettings::default()
        }),
        "gw_mode" => get_mesh(CAPTURED_FAMILY, 4),
        "gw_mode_server_10mbit_2mbit" => mesh(MeshSettings {
            gw_mode: Some(GatewayMode::Server),
            gw_bandwidth_down: Some(100),
            gw_bandwidth_up: Some(20),
            ..MeshSettings::default()
        }),
        "hop_penalty_40" => mesh(MeshSettings {
            hop_penalty: Some(40),
            ..MeshSettings::default()
        }),
        "orig_interval_500" => mesh(MeshSettings {
            orig_interval: Some(500),
            ..MeshSettings::default()
        }),
        "hardif-hop_penalty" => set_hardif(
            CAPTURED_FAMILY,
            4,
            2,
            &HardifSettings {
                hop_penalty: Some(20),
                ..HardifSettings::default()
            },
        ),
        other => panic!("no request for batctl command {other}"),
    }
}

#[test]
fn every_fixture_is_replayed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, FIXTURES, "a new fixture needs a replay test");
}

#[test]
fn second_run_captures_replay() {
    for (command, capture) in DECODED_CAPTURES {
        let msgs = sent(capture);
        assert_eq!(msgs.len(), 3, "{command}");
        assert_preamble(&msgs, &[4]);
        assert_same(&batctl_request(command), &msgs[2]);
    }
}

#[test]
fn iplink_add_batadv_batman_v() {
    use crate::link::{BatadvAlgorithm, LinkKind, LinkSpec};
    let msgs = sent(IPLINK_ADD);
    assert_eq!(msgs.len(), 1);
    let spec = LinkSpec::new(
        "bat9",
        LinkKind::Batadv {
            algorithm: BatadvAlgorithm::BatmanV,
        },
    );
    let req = link::create(&spec, None);
    assert_eq!(req.description, "RTM_NEWLINK bat9 type batadv");
    assert_same(&req, &msgs[0]);
}

/// One section of `decoded.txt`: the capture it decodes and its lines.
fn decoded_sections() -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in DECODED.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            let command = name
                .trim()
                .trim_start_matches("share-batman/strace-")
                .trim_end_matches(".txt");
            out.push((command.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line.trim());
        }
    }
    out
}

/// `NAME(number)` → number.
fn parenthesised(word: &str) -> u32 {
    let inner = &word[word.find('(').unwrap() + 1..word.find(')').unwrap()];
    inner.parse().unwrap()
}

/// Rebuilds the genl payload a decoded `sendmsg family=…` block describes.
fn decoded_genl(header: &str, attrs: &[&str]) -> (u16, Vec<u8>) {
    let word = |prefix: &str| {
        header
            .split_whitespace()
            .find_map(|w| w.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {header}"))
    };
    let family = number(word("family="));
    let cmd = parenthesised(word("cmd="));
    let version = number(word("version="));
    let mut p = vec![
        u8::try_from(cmd).unwrap(),
        u8::try_from(version).unwrap(),
        0,
        0,
    ];
    for a in attrs {
        // BATADV_ATTR_MESH_IFINDEX(3) len=8 u32 4
        let w: Vec<&str> = a.split_whitespace().collect();
        let kind = u16::try_from(parenthesised(w[0])).unwrap();
        let len: usize = w[1].strip_prefix("len=").unwrap().parse().unwrap();
        let value: u32 = w[3].parse().unwrap();
        match w[2] {
            "u8" => wire::put_u8(&mut p, kind, u8::try_from(value).unwrap()),
            "u32" => wire::put_u32(&mut p, kind, value),
            t => panic!("decoded.txt: unknown attribute type {t} in {a}"),
        }
        assert_eq!(len, 4 + if w[2] == "u8" { 1 } else { 4 }, "{a}");
    }
    (u16::try_from(family).unwrap(), p)
}

#[test]
fn decoded_txt_matches_our_messages() {
    let sections = decoded_sections();
    let mut commands: Vec<&str> = sections.iter().map(|(c, _)| c.as_str()).collect();
    commands.sort_unstable();
    assert_eq!(
        commands,
        [
            "aggregation_0",
            "gw_mode",
            "gw_mode_server_10mbit_2mbit",
            "hardif-hop_penalty",
            "hop_penalty_40",
            "orig_interval_500"
        ]
    );
    for (command, lines) in &sections {
        let mut getlinks = Vec::new();
        let mut i = 0;
        let mut genl_seen = false;
        while i < lines.len() {
            let l = lines[i];
            if l.starts_with("sendmsg nlmsg_type=0x12") {
                // RTM_GETLINK by ifindex: the payload is the ifinfomsg.
                let hex = l.split("payload=").nth(1).unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
                    .collect();
                let index = u32::from_ne_bytes(bytes[4..8].try_into().unwrap());
                assert_eq!(link::get_by_index(index).payload, bytes, "{command}: {l}");
                assert!(l.contains("flags=NLM_F_REQUEST|NLM_F_ACK"), "{l}");
                getlinks.push(index);
            } else if l.starts_with("sendmsg GENL_ID_CTRL CTRL_CMD_GETFAMILY") {
                let name = l.split('"').nth(1).unwrap();
                assert_eq!(name, FAMILY_NAME);
                let req = genl::get_family(name);
                assert_eq!(req.message_type, genl::GENL_ID_CTRL);
                assert_eq!(&req.payload[..2], &[genl::CTRL_CMD_GETFAMILY, 1]);
            } else if l.starts_with("(genl family") {
                assert!(l.ends_with(&format!("id = {CAPTURED_FAMILY:#x})")), "{l}");
            } else if l.starts_with("sendmsg family=") {
                let attrs: Vec<&str> = lines[i + 1..]
                    .iter()
                    .copied()
                    .take_while(|a| a.starts_with("BATADV_ATTR_"))
                    .collect();
                let (family, payload) = decoded_genl(l, &attrs);
                let ours = batctl_request(command);
                assert_eq!(family, ours.message_type, "{command}");
                assert_eq!(ours.payload, payload, "{command}");
                assert!(l.contains("flags=NLM_F_REQUEST|NLM_F_ACK "), "{l}");
                genl_seen = true;
                i += attrs.len();
            } else if !l.is_empty() {
                panic!("decoded.txt [{command}]: unrecognised line {l}");
            }
            i += 1;
        }
        assert!(genl_seen, "{command}: no batadv request");
        let expect: &[u32] = if *command == "hardif-hop_penalty" {
            &[2, 4]
        } else {
            &[4]
        };
        assert_eq!(getlinks, expect, "{command}");
    }
}

/// What batctl 2023.0 sends for `batctl meshif bat0 originators` / `neighbors` (libnl:
/// `genlmsg_put(…, NLM_F_DUMP, cmd, 1)`, `nla_put_u32(MESH_IFINDEX)`, `nl_send_auto`
/// adding `NLM_F_REQUEST | NLM_F_ACK`), assembled by hand.
fn batctl_dump(family: u16, cmd: u8, mesh_ifindex: u32, seq: u32, pid: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&28u32.to_ne_bytes());
    b.extend_from_slice(&family.to_ne_bytes());
    b.extend_from_slice(&(0x100u16 | 0x200 | 0x1 | 0x4).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&[cmd, 1, 0, 0]);
    b.extend_from_slice(&8u16.to_ne_bytes());
    b.extend_from_slice(&BATADV_ATTR_MESH_IFINDEX.to_ne_bytes());
    b.extend_from_slice(&mesh_ifindex.to_ne_bytes());
    b
}

#[test]
fn originator_and_neighbor_dump_requests() {
    for (req, cmd) in [
        (originators(0x21, 4), BATADV_CMD_GET_ORIGINATORS),
        (neighbors(0x21, 4), BATADV_CMD_GET_NEIGHBORS),
    ] {
        // What Socket::dump sends: the request with NLM_F_DUMP added.
        let mut dump = req.clone();
        dump.flags |= NlmFlags::DUMP;
        let mut ours = Vec::new();
        dump.emit(&mut ours, 7, 0x1234);
        assert_eq!(
            ours,
            batctl_dump(0x21, cmd, 4, 7, 0x1234),
            "{}",
            req.description
        );
    }
    // A multipart originator dump as the kernel sends it: two entries, then NLMSG_DONE.
    let mut dump = Vec::new();
    for (orig, best) in [([2, 0, 0, 0, 0, 2], true), ([2, 0, 0, 0, 0, 3], false)] {
        let mut p = Vec::new();
        GenlHeader::new(BATADV_CMD_GET_ORIGINATORS, 1).emit(&mut p);
        wire::put_attr(&mut p, BATADV_ATTR_ORIG_ADDRESS, &orig);
        wire::put_attr(&mut p, BATADV_ATTR_NEIGH_ADDRESS, &[2, 0, 0, 0, 0, 2]);
        wire::put_u32(&mut p, BATADV_ATTR_HARD_IFINDEX, 3);
        wire::put_u32(&mut p, BATADV_ATTR_LAST_SEEN_MSECS, 40);
        wire::put_u8(&mut p, BATADV_ATTR_TQ, 255);
        if best {
            wire::put_attr(&mut p, BATADV_ATTR_FLAG_BEST, &[]);
        }
        wire::emit_message(&mut dump, 0x21, NlmFlags::MULTI, 7, 0x1234, &p);
    }
    wire::emit_message(
        &mut dump,
        wire::NLMSG_DONE,
        NlmFlags::MULTI,
        7,
        0x1234,
        &[0; 4],
    );
    let parsed: Vec<Originator> = wire::messages(&dump)
        .map(Result::unwrap)
        .filter(|(h, _)| h.message_type == 0x21)
        .map(|(_, p)| Originator::parse(p).unwrap())
        .collect();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1].originator.to_string(), "02:00:00:00:00:03");
    assert!(parsed[0].best && !parsed[1].best);
}

#[test]
fn get_hardif_request_and_settings_round_trip() {
    // batctl meshif bat0 hardif v21 hop_penalty (read): GET_HARDIF with the mesh and the
    // hard interface, REQUEST|ACK, genl version 1; assembled by hand.
    let mut theirs = Vec::new();
    theirs.extend_from_slice(&36u32.to_ne_bytes());
    theirs.extend_from_slice(&CAPTURED_FAMILY.to_ne_bytes());
    theirs.extend_from_slice(&5u16.to_ne_bytes());
    theirs.extend_from_slice(&9u32.to_ne_bytes());
    theirs.extend_from_slice(&77u32.to_ne_bytes());
    theirs.extend_from_slice(&[BATADV_CMD_GET_HARDIF, 1, 0, 0]);
    for (kind, v) in [
        (BATADV_ATTR_MESH_IFINDEX, 4u32),
        (BATADV_ATTR_HARD_IFINDEX, 2),
    ] {
        theirs.extend_from_slice(&8u16.to_ne_bytes());
        theirs.extend_from_slice(&kind.to_ne_bytes());
        theirs.extend_from_slice(&v.to_ne_bytes());
    }
    let mut ours = Vec::new();
    get_hardif(CAPTURED_FAMILY, 4, 2).emit(&mut ours, 9, 77);
    assert_eq!(ours, theirs);
    // Every hard-interface setting survives SET_HARDIF -> parse.
    let s = HardifSettings {
        hop_penalty: Some(20),
        elp_interval: Some(500),
        throughput_override: Some(1000),
    };
    let info = HardifInfo::parse(&set_hardif(CAPTURED_FAMILY, 4, 2, &s).payload).unwrap();
    assert_eq!(info.hard_ifindex, Some(2));
    assert_eq!(info.settings, s);
}
