//! Fixture host files, one per situation an engine meets in practice.

use super::*;
use locald_spec_macros::verifies;

/// A laptop with systemd-resolved: the stub in /etc/resolv.conf, the real servers upstream.
fn systemd_resolved() -> HostFiles {
    HostFiles {
        resolv_conf: Some(
            "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n\
             nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
                .into(),
        ),
        resolved_upstream: Some(
            "nameserver 192.0.2.1\nnameserver 2001:db8::53\nsearch lan corp.example\n".into(),
        ),
        ..HostFiles::default()
    }
}

fn host_with(resolv_conf: &str) -> HostFiles {
    HostFiles {
        resolv_conf: Some(resolv_conf.into()),
        ..HostFiles::default()
    }
}

fn parsed(network: NetworkMode, dns: &DnsOptions, host: &HostFiles) -> ResolvConf {
    ResolvConf::parse(&resolv_conf(network, dns, host).unwrap())
}

fn ips(list: &[&str]) -> Vec<Nameserver> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
#[verifies("dns.resolv-conf.host-network")]
fn host_network_keeps_the_stub_and_every_setting() {
    let rc = parsed(
        NetworkMode::Host,
        &DnsOptions::default(),
        &systemd_resolved(),
    );
    assert_eq!(rc.nameservers, ips(&["127.0.0.53"]));
    assert_eq!(rc.options, ["edns0", "trust-ad"]);
    assert_eq!(rc.search, Some(vec!["lan".to_string()]));
}

#[test]
#[verifies("dns.resolv-conf.host-network")]
fn host_network_keeps_loopback_servers_and_unknown_lines() {
    let host = host_with(
        "nameserver 127.0.0.1\nnameserver fe80::1%eth0\nnameserver ::1\n\
         sortlist 130.155.160.0/255.255.240.0\nnameserver not-an-address\n",
    );
    let rc = parsed(NetworkMode::Host, &DnsOptions::default(), &host);
    // In order, the zone kept; the unparseable line dropped (resolvers skip it too).
    assert_eq!(rc.nameservers, ips(&["127.0.0.1", "fe80::1%eth0", "::1"]));
    assert_eq!(rc.other, ["sortlist 130.155.160.0/255.255.240.0"]);
}

#[test]
#[verifies("dns.resolv-conf.host-network")]
fn host_network_without_a_host_file_gives_an_empty_configuration() {
    // resolv.conf(5): no nameserver means the local machine's, as on the host itself.
    let text = resolv_conf(
        NetworkMode::Host,
        &DnsOptions::default(),
        &HostFiles::default(),
    )
    .unwrap();
    assert_eq!(ResolvConf::parse(&text), ResolvConf::default());
}

#[test]
#[verifies("dns.resolv-conf.private-network")]
fn private_network_swaps_the_resolved_stub_for_its_upstream_servers() {
    let rc = parsed(
        NetworkMode::Private,
        &DnsOptions::default(),
        &systemd_resolved(),
    );
    assert_eq!(rc.nameservers, ips(&["192.0.2.1", "2001:db8::53"]));
    assert_eq!(
        rc.search,
        Some(vec!["lan".to_string(), "corp.example".to_string()])
    );
}

#[test]
#[verifies("dns.resolv-conf.private-network")]
fn private_network_drops_loopback_servers_and_keeps_search_and_options() {
    let host = host_with(
        "nameserver 127.0.0.1\nnameserver 192.0.2.9\nnameserver ::1\nnameserver ::ffff:127.0.0.2\n\
         nameserver fe80::1%eth0\nsearch corp.example ; a comment\noptions ndots:3 timeout:1\n",
    );
    let rc = parsed(NetworkMode::Private, &DnsOptions::default(), &host);
    assert_eq!(rc.nameservers, ips(&["192.0.2.9"]));
    assert_eq!(rc.search, Some(vec!["corp.example".to_string()]));
    assert_eq!(rc.options, ["ndots:3", "timeout:1"]);
}

#[test]
#[verifies("dns.resolv-conf.fallback")]
fn private_network_falls_back_when_nothing_usable_remains() {
    for host in [
        HostFiles::default(),
        host_with("nameserver 127.0.0.1\n"),
        // A stub without the upstream file: filtered like any loopback server.
        host_with("nameserver 127.0.0.53\n"),
    ] {
        let rc = parsed(NetworkMode::Private, &DnsOptions::default(), &host);
        assert_eq!(rc.nameservers, ips(&["8.8.8.8", "8.8.4.4"]), "{host:?}");
    }
}

#[test]
#[verifies("dns.resolv-conf.overrides")]
fn overrides_replace_each_part_in_every_mode() {
    let dns = DnsOptions {
        servers: ["127.0.0.1", "192.0.2.53"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect(),
        search: vec!["a.example".into(), "b.example".into()],
        options: vec!["ndots:2".into(), "use-vc".into()],
    };
    for network in [NetworkMode::Host, NetworkMode::Private] {
        let rc = parsed(network, &dns, &systemd_resolved());
        // Caller servers are not filtered, even loopback ones in a private namespace.
        let want: Vec<Nameserver> = dns.servers.iter().copied().map(Nameserver::from).collect();
        assert_eq!(rc.nameservers, want, "{network:?}");
        assert_eq!(rc.search.as_deref(), Some(&dns.search[..]));
        assert_eq!(rc.options, dns.options);
    }
    // Only what is given is replaced; `.` clears the search list.
    let dns = DnsOptions {
        search: vec![".".into()],
        ..DnsOptions::default()
    };
    let rc = parsed(NetworkMode::Host, &dns, &systemd_resolved());
    assert_eq!(rc.nameservers, ips(&["127.0.0.53"]));
    assert_eq!(rc.search, None);
    assert_eq!(rc.options, ["edns0", "trust-ad"]);
}

#[test]
#[verifies("dns.resolv-conf.overrides")]
fn overrides_that_would_inject_lines_are_refused() {
    let cases = [
        DnsOptions {
            search: vec!["a.example\nnameserver 6.6.6.6".into()],
            ..DnsOptions::default()
        },
        DnsOptions {
            search: vec!["a example".into()],
            ..DnsOptions::default()
        },
        DnsOptions {
            options: vec!["ndots:1\nnameserver 6.6.6.6".into()],
            ..DnsOptions::default()
        },
        DnsOptions {
            options: vec!["".into()],
            ..DnsOptions::default()
        },
    ];
    for dns in cases {
        let err = resolv_conf(NetworkMode::Host, &dns, &HostFiles::default()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { field: "dns", .. }),
            "{dns:?}: {err}"
        );
    }
}

#[test]
#[verifies("dns.resolv-conf.fallback")]
fn no_fallback_with_host_networking_or_a_callers_server() {
    // Host network: an empty host file stays empty (resolvers ask the local machine, as on
    // the host itself).
    let rc = parsed(
        NetworkMode::Host,
        &DnsOptions::default(),
        &HostFiles::default(),
    );
    assert!(rc.nameservers.is_empty());
    // Private network with the caller's server: that one only.
    let dns = DnsOptions {
        servers: vec!["192.0.2.53".parse().unwrap()],
        ..DnsOptions::default()
    };
    let rc = parsed(
        NetworkMode::Private,
        &dns,
        &host_with("nameserver 127.0.0.1\n"),
    );
    assert_eq!(rc.nameservers, ips(&["192.0.2.53"]));
}

#[test]
#[verifies("dns.resolv-conf.overrides")]
fn more_nameservers_than_resolvers_read_are_refused_naming_the_flag() {
    let servers = |n: u8| DnsOptions {
        servers: (1..=n)
            .map(|i| std::net::IpAddr::from([192, 0, 2, i]))
            .collect(),
        ..DnsOptions::default()
    };
    // Three, glibc's MAXNS, are written in order.
    let rc = parsed(NetworkMode::Host, &servers(3), &HostFiles::default());
    assert_eq!(
        rc.nameservers,
        ips(&["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    );
    for network in [NetworkMode::Host, NetworkMode::Private] {
        let err = resolv_conf(network, &servers(4), &HostFiles::default()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { field: "dns", .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("--dns") && text.contains("4 nameservers"),
            "{text}"
        );
    }
}

#[test]
fn parse_render_round_trips() {
    let rc = ResolvConf {
        nameservers: ips(&["192.0.2.1", "2001:db8::1", "fe80::53%eth1"]),
        search: Some(vec!["a.example".into()]),
        options: vec!["ndots:2".into()],
        other: vec!["sortlist 10.0.0.0".into()],
    };
    assert_eq!(ResolvConf::parse(&rc.render()), rc);
}

#[test]
#[verifies("dns.resolv-conf.host-network", "dns.resolv-conf.private-network")]
fn the_plan_mounts_the_file_read_only_tagged_by_mode() {
    for (network, req) in [
        (
            NetworkMode::Host,
            requirement!("dns.resolv-conf.host-network"),
        ),
        (
            NetworkMode::Private,
            requirement!("dns.resolv-conf.private-network"),
        ),
    ] {
        let mut p = Plan::default();
        let opts = RunOptions {
            network,
            ..RunOptions::default()
        };
        plan_resolv_conf(&mut p, &opts, &systemd_resolved()).unwrap();
        match p.entries() {
            [e] => {
                assert_eq!(e.requirement, req);
                match &e.item {
                    Item::File {
                        name,
                        mode,
                        mount_at,
                        ..
                    } => {
                        assert_eq!(name, "resolv.conf");
                        assert_eq!(*mode, 0o644);
                        assert_eq!(mount_at.as_deref(), Some("/etc/resolv.conf"));
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }
}
