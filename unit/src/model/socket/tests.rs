use super::*;
use crate::model::mount::testing::{apply_in, check_table, fatal, invalid, render};

fn apply_w(
    s: &mut SocketSettings,
    key: &str,
    value: &str,
) -> (Result<(), SettingError>, Vec<String>) {
    apply_in(SOCKET_DIRECTIVES, "foo@bar.socket", s, key, value)
}

fn apply(s: &mut SocketSettings, key: &str, value: &str) -> Result<(), SettingError> {
    apply_w(s, key, value).0
}

const KEYS_248: &[&str] = &[
    "ListenStream",
    "ListenDatagram",
    "ListenSequentialPacket",
    "ListenFIFO",
    "ListenNetlink",
    "ListenSpecial",
    "ListenMessageQueue",
    "ListenUSBFunction",
    "SocketProtocol",
    "BindIPv6Only",
    "Backlog",
    "BindToDevice",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStopPre",
    "ExecStopPost",
    "TimeoutSec",
    "SocketUser",
    "SocketGroup",
    "SocketMode",
    "DirectoryMode",
    "Accept",
    "FlushPending",
    "Writable",
    "MaxConnections",
    "MaxConnectionsPerSource",
    "KeepAlive",
    "KeepAliveTimeSec",
    "KeepAliveIntervalSec",
    "KeepAliveProbes",
    "DeferAcceptSec",
    "NoDelay",
    "Priority",
    "ReceiveBuffer",
    "SendBuffer",
    "IPTOS",
    "IPTTL",
    "Mark",
    "PipeSize",
    "FreeBind",
    "Transparent",
    "Broadcast",
    "PassCredentials",
    "PassSecurity",
    "PassPacketInfo",
    "Timestamping",
    "TCPCongestion",
    "ReusePort",
    "MessageQueueMaxMessages",
    "MessageQueueMessageSize",
    "RemoveOnStop",
    "Symlinks",
    "FileDescriptorName",
    "Service",
    "TriggerLimitIntervalSec",
    "TriggerLimitBurst",
    "SmackLabel",
    "SmackLabelIPIn",
    "SmackLabelIPOut",
    "SELinuxContextFromNet",
];

#[test]
fn table() {
    check_table(SOCKET_DIRECTIVES, KEYS_248);
}

#[test]
fn defaults() {
    let s = SocketSettings::default();
    assert_eq!(s.backlog, 2147483647);
    assert_eq!(s.socket_mode, 0o666);
    assert_eq!(s.directory_mode, 0o755);
    assert_eq!(s.max_connections, 64);
    assert_eq!(s.max_connections_per_source, 0);
    assert_eq!(s.timeout, Usec::from_secs(90));
    assert_eq!(s.bind_ipv6_only, BindIpv6Only::Default);
    assert_eq!(s.timestamping, SocketTimestamping::Off);
    assert!(s.priority.is_none() && s.ip_tos.is_none() && s.ip_ttl.is_none() && s.mark.is_none());
    assert_eq!(s.effective_trigger_limit_interval(), Usec::from_secs(2));
    assert_eq!(s.effective_trigger_limit_burst(), 20);
    assert!(s.verify().is_err());
}

#[test]
fn addresses() {
    use SocketAddress as A;
    let ok: &[(&str, A, &str)] = &[
        ("80", A::Port(80), "[::]:80"),
        ("65535", A::Port(65535), "[::]:65535"),
        (
            "127.0.0.1:53",
            A::Inet {
                addr: Ipv4Addr::new(127, 0, 0, 1),
                port: 53,
                interface: None,
            },
            "127.0.0.1:53",
        ),
        (
            "0.0.0.0:8080%eth0",
            A::Inet {
                addr: Ipv4Addr::UNSPECIFIED,
                port: 8080,
                interface: Some("eth0".into()),
            },
            "0.0.0.0:8080",
        ),
        (
            "[::1]:53",
            A::Inet6 {
                addr: Ipv6Addr::LOCALHOST,
                port: 53,
                interface: None,
            },
            "[::1]:53",
        ),
        (
            "[fe80::1]:547%enp0s1",
            A::Inet6 {
                addr: "fe80::1".parse().unwrap(),
                port: 547,
                interface: Some("enp0s1".into()),
            },
            "[fe80::1%enp0s1]:547",
        ),
        (
            "[::ffff:10.0.0.1]:22",
            A::Inet6 {
                addr: "::ffff:10.0.0.1".parse().unwrap(),
                port: 22,
                interface: None,
            },
            "10.0.0.1:22",
        ),
        (
            "/run/foo.sock",
            A::Unix("/run/foo.sock".into()),
            "/run/foo.sock",
        ),
        ("@foo/bar", A::Abstract("foo/bar".into()), "@foo/bar"),
        (
            "vsock:2:1234",
            A::Vsock {
                cid: Some(2),
                port: 1234,
            },
            "vsock:2:1234",
        ),
        (
            "vsock::1234",
            A::Vsock {
                cid: None,
                port: 1234,
            },
            "vsock:4294967295:1234",
        ),
    ];
    for (input, want, shown) in ok {
        let a = SocketAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(&a, want, "{input}");
        assert_eq!(a.to_string(), *shown, "{input}");
    }
    let long = format!("/{}", "x".repeat(107));
    let long_abstract = format!("@{}", "x".repeat(107));
    for bad in [
        "0",
        "127.0.0.1",
        "127.0.0.1:0",
        "::1",
        "[::1]",
        "[::1]53",
        "1.2.3:80",
        "localhost:80",
        "1.2.3.4:80#name",
        "1.2.3.4:80%",
        "vsock:1",
        "vsock:x:1",
        "",
        long.as_str(),
        long_abstract.as_str(),
    ] {
        assert!(
            matches!(
                SocketAddress::parse(bad),
                Err(SocketAddressError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    for range in ["65536", "127.0.0.1:70000", "[::]:99999"] {
        assert!(
            matches!(
                SocketAddress::parse(range),
                Err(SocketAddressError::OutOfRange(_))
            ),
            "{range:?}"
        );
    }
}

#[test]
fn listen_entries() {
    let mut s = SocketSettings::default();
    apply(&mut s, "ListenStream", "/run/%p.sock").unwrap();
    apply(&mut s, "ListenDatagram", "5353").unwrap();
    apply(&mut s, "ListenSequentialPacket", "@seq").unwrap();
    apply(&mut s, "ListenFIFO", "/run//fifo/").unwrap();
    apply(&mut s, "ListenNetlink", "kobject-uevent 1").unwrap();
    apply(&mut s, "ListenNetlink", "route").unwrap();
    apply(&mut s, "ListenNetlink", "99 3").unwrap();
    apply(&mut s, "ListenSpecial", "/dev/kmsg").unwrap();
    apply(&mut s, "ListenMessageQueue", "/mq").unwrap();
    apply(&mut s, "ListenUSBFunction", "/dev/ffs").unwrap();
    assert_eq!(
        s.listen,
        vec![
            SocketListen::Stream(SocketAddress::Unix("/run/foo.sock".into())),
            SocketListen::Datagram(SocketAddress::Port(5353)),
            SocketListen::SequentialPacket(SocketAddress::Abstract("seq".into())),
            SocketListen::Fifo("/run/fifo".into()),
            SocketListen::Netlink {
                family: NetlinkFamily::KOBJECT_UEVENT,
                group: 1
            },
            SocketListen::Netlink {
                family: NetlinkFamily::ROUTE,
                group: 0
            },
            SocketListen::Netlink {
                family: NetlinkFamily::from_raw(99),
                group: 3
            },
            SocketListen::Special("/dev/kmsg".into()),
            SocketListen::MessageQueue("/mq".into()),
            SocketListen::UsbFunction("/dev/ffs".into()),
        ]
    );
    // An empty value of any Listen*= clears them all.
    apply(&mut s, "ListenSpecial", "").unwrap();
    assert!(s.listen.is_empty());
}

#[test]
fn listen_errors_and_var_run() {
    let mut s = SocketSettings::default();
    let (r, w) = apply_w(&mut s, "ListenStream", "/var/run/x.sock");
    r.unwrap();
    assert_eq!(
        w,
        vec![
            "ListenStream= references a path below legacy directory /var/run/, updating \
             /var/run/x.sock → /run/x.sock; please update the unit file accordingly."
                .to_owned()
        ]
    );
    let (r, w) = apply_w(&mut s, "ListenFIFO", "/var/run/f");
    r.unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(
        invalid(apply(&mut s, "ListenStream", "127.0.0.1")),
        "Failed to parse address value in '127.0.0.1', ignoring: Invalid argument"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenDatagram", "70000")),
        "Failed to parse address value in '70000', ignoring: Numerical result out of range"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenSequentialPacket", "8080")),
        "Address family not supported, ignoring: 8080"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenNetlink", "nosuchfamily 1")),
        "Failed to parse address value in 'nosuchfamily 1', ignoring: Invalid argument"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenNetlink", "route x")),
        "Failed to parse address value in 'route x', ignoring: Invalid argument"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenFIFO", "fifo")),
        "ListenFIFO= path is not absolute, ignoring: fifo"
    );
    assert_eq!(
        invalid(apply(&mut s, "ListenStream", "/%Z")),
        "Failed to resolve unit specifiers in '/%Z', ignoring: unknown specifier %Z"
    );
    assert_eq!(
        s.listen,
        vec![
            SocketListen::Stream(SocketAddress::Unix("/run/x.sock".into())),
            SocketListen::Fifo("/run/f".into()),
        ]
    );
}

#[test]
fn every_other_key() {
    let mut s = SocketSettings::default();
    let set = |s: &mut SocketSettings, k: &str, v: &str| {
        apply(s, k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    };
    set(&mut s, "SocketProtocol", "SCTP");
    assert_eq!(s.socket_protocol, Some(SocketProtocol::Sctp));
    set(&mut s, "SocketProtocol", "136");
    assert_eq!(s.socket_protocol, Some(SocketProtocol::Udplite));
    set(&mut s, "BindIPv6Only", "ipv6-only");
    assert_eq!(s.bind_ipv6_only, BindIpv6Only::Ipv6Only);
    set(&mut s, "BindIPv6Only", "no");
    assert_eq!(s.bind_ipv6_only, BindIpv6Only::Both);
    set(&mut s, "Backlog", "128");
    set(&mut s, "BindToDevice", "eth0");
    assert_eq!(s.bind_to_device.as_deref(), Some("eth0"));
    set(&mut s, "ExecStartPre", "/bin/mkdir -p /run/x");
    set(&mut s, "ExecStartPost", "/bin/true");
    set(&mut s, "ExecStopPre", "/bin/true");
    set(&mut s, "ExecStopPost", "-/bin/rm /run/x");
    assert_eq!(s.commands.iter().filter(|(_, l)| !l.is_empty()).count(), 4);
    set(&mut s, "TimeoutSec", "0");
    assert_eq!(s.timeout, Usec::INFINITY);
    set(&mut s, "SocketUser", "www-data");
    set(&mut s, "SocketGroup", "0");
    set(&mut s, "SocketMode", "0600");
    set(&mut s, "DirectoryMode", "0700");
    for k in [
        "Accept",
        "FlushPending",
        "Writable",
        "KeepAlive",
        "NoDelay",
        "FreeBind",
        "Transparent",
        "Broadcast",
        "PassCredentials",
        "PassSecurity",
        "PassPacketInfo",
        "ReusePort",
        "RemoveOnStop",
        "SELinuxContextFromNet",
    ] {
        set(&mut s, k, "yes");
    }
    set(&mut s, "MaxConnections", "10");
    set(&mut s, "MaxConnectionsPerSource", "2");
    set(&mut s, "KeepAliveTimeSec", "2h");
    set(&mut s, "KeepAliveIntervalSec", "75");
    set(&mut s, "KeepAliveProbes", "9");
    set(&mut s, "DeferAcceptSec", "5s");
    set(&mut s, "Priority", "6");
    set(&mut s, "ReceiveBuffer", "8M");
    set(&mut s, "SendBuffer", "64K");
    set(&mut s, "IPTOS", "low-delay");
    assert_eq!(s.ip_tos, Some(0x10));
    set(&mut s, "IPTOS", "8");
    set(&mut s, "IPTTL", "64");
    set(&mut s, "Mark", "-1");
    assert_eq!(s.mark, None);
    set(&mut s, "Mark", "42");
    set(&mut s, "PipeSize", "1M");
    set(&mut s, "Timestamping", "usec");
    assert_eq!(s.timestamping, SocketTimestamping::Us);
    set(&mut s, "Timestamping", "yes");
    assert_eq!(s.timestamping, SocketTimestamping::Ns);
    set(&mut s, "TCPCongestion", "bbr");
    set(&mut s, "MessageQueueMaxMessages", "10");
    set(&mut s, "MessageQueueMessageSize", "8192");
    set(&mut s, "Symlinks", "/dev/log \"/run/a b\"");
    set(&mut s, "FileDescriptorName", "varlink");
    set(&mut s, "TriggerLimitIntervalSec", "5s");
    set(&mut s, "TriggerLimitBurst", "7");
    set(&mut s, "SmackLabel", "lbl");
    set(&mut s, "SmackLabelIPIn", "in");
    set(&mut s, "SmackLabelIPOut", "out");
    assert_eq!(s.backlog, 128);
    assert_eq!(s.socket_user.as_deref(), Some("www-data"));
    assert_eq!(s.socket_group.as_deref(), Some("0"));
    assert_eq!((s.socket_mode, s.directory_mode), (0o600, 0o700));
    assert!(s.accept && s.flush_pending && s.writable && s.keep_alive && s.no_delay);
    assert!(s.free_bind && s.transparent && s.broadcast && s.reuse_port && s.remove_on_stop);
    assert!(s.pass_credentials && s.pass_security && s.pass_packet_info);
    assert!(s.selinux_context_from_net);
    assert_eq!((s.max_connections, s.max_connections_per_source), (10, 2));
    assert_eq!(s.keep_alive_time, Usec::from_secs(7200));
    assert_eq!(s.keep_alive_interval, Usec::from_secs(75));
    assert_eq!(s.keep_alive_probes, 9);
    assert_eq!(s.defer_accept, Usec::from_secs(5));
    assert_eq!(s.priority, Some(6));
    assert_eq!((s.receive_buffer, s.send_buffer), (8 << 20, 64 << 10));
    assert_eq!((s.ip_tos, s.ip_ttl, s.mark), (Some(8), Some(64), Some(42)));
    assert_eq!(s.pipe_size, 1 << 20);
    assert_eq!(s.tcp_congestion.as_deref(), Some("bbr"));
    assert_eq!(
        (s.message_queue_max_messages, s.message_queue_message_size),
        (10, 8192)
    );
    assert_eq!(
        s.symlinks,
        vec![PathBuf::from("/dev/log"), PathBuf::from("/run/a b")]
    );
    assert_eq!(s.file_descriptor_name.as_deref(), Some("varlink"));
    assert_eq!(s.trigger_limit_interval, Some(Usec::from_secs(5)));
    assert_eq!(s.trigger_limit_burst, Some(7));
    assert_eq!(s.smack_label.as_deref(), Some("lbl"));
    assert_eq!(s.smack_label_ip_in.as_deref(), Some("in"));
    assert_eq!(s.smack_label_ip_out.as_deref(), Some("out"));
    set(&mut s, "Service", "bar-%i.service");
    assert_eq!(
        s.service.as_ref().map(UnitName::as_str),
        Some("bar-bar.service")
    );
    // Resets.
    set(&mut s, "BindToDevice", "*");
    set(&mut s, "Symlinks", "");
    set(&mut s, "FileDescriptorName", "");
    set(&mut s, "TCPCongestion", "");
    set(&mut s, "IPTOS", "");
    set(&mut s, "SocketUser", "");
    set(&mut s, "ExecStopPost", "");
    assert!(s.bind_to_device.is_none() && s.symlinks.is_empty());
    assert!(s.file_descriptor_name.is_none() && s.tcp_congestion.is_none());
    assert!(s.ip_tos.is_none() && s.socket_user.is_none() && s.commands.stop_post.is_empty());
}

#[test]
fn invalid_values_keep_the_previous_value() {
    let mut s = SocketSettings::default();
    let cases: &[(&str, &str, &str)] = &[
        (
            "SocketProtocol",
            "tcp",
            "Failed to parse socket protocol, ignoring: tcp",
        ),
        (
            "SocketProtocol",
            "",
            "Failed to parse socket protocol, ignoring: ",
        ),
        (
            "BindIPv6Only",
            "maybe",
            "Failed to parse bind IPv6 only value, ignoring: maybe",
        ),
        (
            "Backlog",
            "-1",
            "Failed to parse unsigned value, ignoring: -1",
        ),
        (
            "BindToDevice",
            "a/b",
            "Invalid interface name, ignoring: a/b",
        ),
        ("BindToDevice", "12", "Invalid interface name, ignoring: 12"),
        (
            "BindToDevice",
            "averyveryverylongname",
            "Invalid interface name, ignoring: averyveryverylongname",
        ),
        (
            "TimeoutSec",
            "x",
            "Failed to parse TimeoutSec= parameter, ignoring: x",
        ),
        (
            "SocketMode",
            "0999",
            "Failed to parse mode value, ignoring: 0999",
        ),
        (
            "Accept",
            "maybe",
            "Failed to parse boolean value, ignoring: maybe",
        ),
        (
            "MaxConnections",
            "many",
            "Failed to parse unsigned value, ignoring: many",
        ),
        (
            "KeepAliveTimeSec",
            "x",
            "Failed to parse sec value, ignoring: x",
        ),
        (
            "Priority",
            "high",
            "Failed to parse int value, ignoring: high",
        ),
        ("Priority", "", "Failed to parse int value, ignoring: "),
        (
            "ReceiveBuffer",
            "lots",
            "Failed to parse size value 'lots', ignoring: Invalid argument",
        ),
        (
            "ReceiveBuffer",
            "99999E",
            "Failed to parse size value '99999E', ignoring: Numerical result out of range",
        ),
        (
            "IPTOS",
            "256",
            "Failed to parse IP TOS value, ignoring: 256",
        ),
        (
            "IPTOS",
            "fast",
            "Failed to parse IP TOS value, ignoring: fast",
        ),
        (
            "Timestamping",
            "ms",
            "Failed to parse timestamping precision: ms",
        ),
        (
            "MessageQueueMaxMessages",
            "x",
            "Failed to parse long value, ignoring: x",
        ),
        (
            "Symlinks",
            "relative",
            "Symlinks= path is not absolute, ignoring: relative",
        ),
        (
            "Symlinks",
            "\"/unterminated",
            "Invalid syntax, ignoring: \"/unterminated",
        ),
        (
            "FileDescriptorName",
            "a:b",
            "Invalid file descriptor name, ignoring: a:b",
        ),
        (
            "TriggerLimitBurst",
            "x",
            "Failed to parse unsigned value, ignoring: x",
        ),
    ];
    let before = s.clone();
    for (k, v, msg) in cases {
        assert_eq!(invalid(apply(&mut s, k, v)), *msg, "{k}={v}");
    }
    assert_eq!(s, before);
}

#[test]
fn fatal_values() {
    let mut s = SocketSettings::default();
    assert_eq!(
        fatal(apply(&mut s, "Service", "bar.socket")),
        "Unit must be of type service: bar.socket"
    );
    assert_eq!(
        fatal(apply(&mut s, "Service", "")),
        "Unit must be of type service: "
    );
    assert_eq!(
        fatal(apply(&mut s, "Service", "%I.service")),
        "Failed to resolve unit specifiers in %I.service: unknown specifier %I"
    );
    assert_eq!(
        fatal(apply(&mut s, "SocketUser", "a:b")),
        "Invalid user/group name or numeric ID: a:b"
    );
    assert_eq!(
        fatal(apply(&mut s, "ExecStartPre", "relative/x")),
        "Neither a valid executable name nor an absolute path: relative/x"
    );
    let (r, w) = apply_w(&mut s, "SocketGroup", "Foo.Bar");
    r.unwrap();
    assert_eq!(
        w,
        vec![
            "Accepting user/group name 'Foo.Bar', which does not match strict user/group name rules."
                .to_owned()
        ]
    );
}

#[test]
fn verify_rules() {
    let mut s = SocketSettings::default();
    apply(&mut s, "ListenDatagram", "53").unwrap();
    assert_eq!(s.verify(), Ok(()));
    apply(&mut s, "Accept", "yes").unwrap();
    assert_eq!(
        s.verify(),
        Err(
            "Unit configured for accepting sockets, but sockets are non-accepting. Refusing."
                .into()
        )
    );
    apply(&mut s, "ListenDatagram", "").unwrap();
    apply(&mut s, "ListenStream", "22").unwrap();
    assert_eq!(s.verify(), Ok(()));
    apply(&mut s, "MaxConnections", "0").unwrap();
    assert_eq!(
        s.verify(),
        Err("MaxConnection= setting too small. Refusing.".into())
    );
    apply(&mut s, "MaxConnections", "1").unwrap();
    apply(&mut s, "Service", "x.service").unwrap();
    assert!(s.verify().is_err());
    let mut t = SocketSettings::default();
    apply(&mut t, "ListenStream", "22").unwrap();
    apply(&mut t, "Symlinks", "/dev/log").unwrap();
    assert_eq!(
        t.verify(),
        Err(
            "Unit has symlinks set but none or more than one node in the file system. Refusing."
                .into()
        )
    );
    apply(&mut t, "ListenStream", "/run/log.sock").unwrap();
    assert_eq!(t.verify(), Ok(()));
}

#[test]
fn fd_name_and_dump() {
    let name = UnitName::new("foo@bar.socket").unwrap();
    let mut s = SocketSettings::default();
    apply(&mut s, "ListenStream", "/run/foo.sock").unwrap();
    apply(&mut s, "ListenNetlink", "audit 1").unwrap();
    apply(&mut s, "SocketUser", "root").unwrap();
    apply(&mut s, "KeepAliveTimeSec", "90").unwrap();
    apply(&mut s, "Symlinks", "/dev/a /dev/b").unwrap();
    assert_eq!(s.fd_name(&name), "foo@bar.socket");
    let mut out = Vec::new();
    s.dump(&name, &mut out);
    assert_eq!(
        render(&out),
        "\tBindIPv6Only: default\n\tBacklog: 2147483647\n\tSocketMode: 0666\n\tDirectoryMode: 0755\n\
         \tKeepAlive: no\n\tNoDelay: no\n\tFreeBind: no\n\tTransparent: no\n\tBroadcast: no\n\
         \tPassCredentials: no\n\tPassSecurity: no\n\tPassPacketInfo: no\n\tTCPCongestion: n/a\n\
         \tRemoveOnStop: no\n\tWritable: no\n\tFileDescriptorName: foo@bar.socket\n\
         \tSELinuxContextFromNet: no\n\tFlushPending: no\n\tSocketUser: root\n\
         \tSocketGroup: n/a\n\tKeepAliveTimeSec: 1min 30s\n\tListenStream: /run/foo.sock\n\
         \tListenNetlink: audit 1\n\tTriggerLimitIntervalSec: 2s\n\tTriggerLimitBurst: 20\n\
         \tSymlinks: /dev/a /dev/b\n\tTimeoutSec: 1min 30s\n"
    );
    let mut a = SocketSettings::default();
    apply(&mut a, "Accept", "yes").unwrap();
    assert_eq!(a.fd_name(&name), "connection");
    assert_eq!(a.effective_trigger_limit_burst(), 200);
    let mut out = Vec::new();
    a.dump(&name, &mut out);
    let text = render(&out);
    assert!(text.contains("\tMaxConnections: 64\n\tMaxConnectionsPerSource: 0\n"));
    assert!(!text.contains("FlushPending"));
}
