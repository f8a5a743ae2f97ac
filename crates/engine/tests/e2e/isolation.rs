use super::*;

const NAMESPACES: &[&str] = &["pid", "ipc", "uts", "mnt", "net", "user"];

fn host_namespace(ns: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{ns}"))
        .unwrap()
        .display()
        .to_string()
}

#[verifies(
    "isolation.namespaces.pid",
    "isolation.namespaces.ipc",
    "isolation.namespaces.uts",
    "isolation.namespaces.mount",
    "isolation.namespaces.network",
    "isolation.namespaces.user"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn namespaces_are_private_except_network(mode: Mode) {
    let script = format!(
        "echo $$; test -e /proc/{}/status && echo host-visible || echo host-hidden; \
         for n in pid ipc uts mnt net user; do readlink /proc/self/ns/$n; done",
        std::process::id()
    );
    let out = sh(mode, Users::RootOnly, &["--no-init"], &script);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1", "PID 1 in a private pid namespace");
    assert_eq!(lines[1], "host-hidden", "no host process is visible");
    for (ns, inside) in NAMESPACES.iter().zip(&lines[2..]) {
        let shared = match *ns {
            "net" => true,
            "user" => mode == Mode::Root,
            _ => false,
        };
        assert_eq!(*inside == host_namespace(ns), shared, "{ns}: {inside}");
    }
}

#[test]
#[verifies("isolation.namespaces.uts", "names.hostname.default")]
fn the_hostname_is_the_containers_not_the_hosts_root() {
    let host = nix::unistd::gethostname().unwrap();
    let out = sh(
        Mode::Root,
        Users::RootOnly,
        &["--hostname", "inside"],
        "hostname",
    );
    assert_eq!(out.ok(), "inside\n");
    assert_eq!(nix::unistd::gethostname().unwrap(), host);
}

#[test]
#[verifies("isolation.namespaces.network")]
fn private_network_has_its_own_namespace_root() {
    let script = "readlink /proc/self/ns/net; ls /sys/class/net";
    let out = sh(Mode::Root, Users::RootOnly, &["--network", "none"], script);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_ne!(lines[0], host_namespace("net"));
    assert_eq!(lines[1..], ["lo"]);
}

fn single_mapping(mode: Mode) {
    // Rootless, the single mapping is asked for: the test user has subordinate ids.
    let opts: &[&str] = match mode {
        Mode::Root => &[],
        Mode::Rootless => &["--single-mapping"],
    };
    let out = sh(
        mode,
        Users::RootOnly,
        opts,
        "cat /proc/self/uid_map /proc/self/gid_map",
    );
    let maps: Vec<Vec<String>> = out
        .ok()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    match mode {
        // No user namespace: the initial namespace's identity mapping.
        Mode::Root => assert_eq!(maps[0], ["0", "0", "4294967295"]),
        Mode::Rootless => {
            let (uid, gid) = rootless_host_ids();
            assert_eq!(
                maps,
                [["0", &uid.to_string(), "1"], ["0", &gid.to_string(), "1"]]
            );
        }
    }
}

#[test]
#[verifies("isolation.namespaces.user")]
fn user_namespace_has_the_single_mapping_rootless() {
    single_mapping(Mode::Rootless);
}

#[test]
#[verifies("isolation.namespaces.user")]
fn no_user_namespace_as_root() {
    single_mapping(Mode::Root);
}

/// The id maps a workload sees, one `[inside, outside, count]` per line, uid_map then gid_map.
fn maps_of(text: &str) -> Vec<[u64; 3]> {
    text.lines()
        .map(|l| {
            let n: Vec<u64> = l.split_whitespace().map(|f| f.parse().unwrap()).collect();
            [n[0], n[1], n[2]]
        })
        .collect()
}

/// With subordinate ids (the test user's, which must exist) the container's 0 is the caller and
/// its 1..=N the caller's range, for uids and gids, as rootless Podman maps them; a `--user`
/// of the image or a number then runs as itself (no nested namespace: the same maps), `whoami`
/// and `id -un` name it; a uid above the range is refused before anything runs, with a message
/// saying how to get ranges.
#[test]
#[verifies("isolation.namespaces.user", "isolation.namespaces.user-ranges")]
fn every_uid_is_mapped_with_subordinate_ids_rootless() {
    let mode = Mode::Rootless;
    let sub = subordinate_ranges(mode).unwrap();
    let (uid, gid) = rootless_host_ids();
    let debian = debian_for(mode);
    let carrier = Rootfs::build(Users::RootOnly);
    let on_debian =
        |args: &[&str], script: &str| run_dir(mode, &carrier, &debian, args, &["sh", "-c", script]);
    let maps = "cat /proc/self/uid_map /proc/self/gid_map";
    let want = [
        [0, u64::from(uid), 1],
        [1, u64::from(sub.uids.0), u64::from(sub.uids.1)],
        [0, u64::from(gid), 1],
        [1, u64::from(sub.gids.0), u64::from(sub.gids.1)],
    ];
    assert_eq!(maps_of(on_debian(&[], maps).ok()), want);
    for (user, name) in [("1000:1000", None), ("nobody", Some("nobody"))] {
        let script = format!("id -u; id -un; whoami; {maps}");
        let out = on_debian(&["--user", user], &script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        let id = if user == "nobody" { "65534" } else { "1000" };
        assert_eq!(lines[0], id, "{text}");
        if let Some(name) = name {
            assert_eq!(lines[1..3], [name, name], "{text}");
        } else {
            assert_eq!(lines[1], lines[2], "{text}");
        }
        assert_eq!(maps_of(&lines[3..].join("\n")), want, "{user}: not nested");
    }
    let outside = (sub.uids.1 + 1).to_string();
    let out = on_debian(&["--user", &outside], "true");
    out.refused(&format!("uid {outside}"));
    out.refused("usermod --add-subuids");
}

/// `--single-mapping` keeps the single mapping though the caller has subordinate ids: root
/// cannot give a file to another uid (EINVAL: the id is not mapped), and a non-root `--user`
/// runs in the nested user namespace (its own uid mapped onto the container's 0).
#[test]
#[verifies("isolation.namespaces.user-ranges", "isolation.namespaces.user-nested")]
fn the_single_mapping_on_request_nests_a_non_root_user_rootless() {
    let mode = Mode::Rootless;
    subordinate_ranges(mode);
    let (uid, _) = rootless_host_ids();
    let out = sh(
        mode,
        Users::RootOnly,
        &["--single-mapping"],
        "touch /tmp/f; busybox chown 1000 /tmp/f 2>&1 || echo refused; cat /proc/self/uid_map",
    );
    let text = out.ok();
    assert!(text.contains("Invalid argument"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[lines.len() - 2], "refused", "{text}");
    assert_eq!(maps_of(lines[lines.len() - 1]), [[0, u64::from(uid), 1]]);
    let out = sh(
        mode,
        Users::RootOnly,
        &["--single-mapping", "--user", "1000:1000"],
        "id -u; id -g; cat /proc/self/uid_map",
    );
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["1000", "1000"], "{text}");
    // The nested namespace maps the workload's 1000 onto the outer container's 0.
    assert_eq!(maps_of(lines[2]), [[1000, 0, 1]], "{text}");
}

/// `--network none`: Docker's two parameters in the container's own network namespace — a
/// uid-1000 workload binds port 80 and its gid lies in `ping_group_range` (every gid as root,
/// the mapped ones rootless) — and on the host's network the host's values, untouched.
#[verifies("isolation.sysctls.private-network")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_private_network_lets_any_user_ping_and_bind_low_ports(mode: Mode) {
    let sub = subordinate_ranges(mode);
    let params =
        "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/net/ipv4/ip_unprivileged_port_start";
    let script = format!(
        "{params}; id -g; busybox nc -l -p 80 & sleep 1; \
         kill $! 2>/dev/null && echo listened || echo did-not-listen"
    );
    let out = sh(
        mode,
        Users::RootOnly,
        &["--network", "none", "--user", "1000:1000"],
        &script,
    );
    let text = out.ok();
    let want_range = match sub {
        None => "0\t2147483647".to_owned(),
        Some(s) => format!("0\t{}", s.gids.1),
    };
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [want_range.as_str(), "0", "1000", "listened"],
        "{out:#?}"
    );
    // The host's network: the host's own values, which the engine leaves alone.
    let host = |p: &str| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{p}")).unwrap();
    let out = sh(mode, Users::RootOnly, &[], params);
    let text = out.ok();
    let (range, port) = text.split_once('\n').unwrap();
    assert_eq!(port, host("ip_unprivileged_port_start"));
    // Rootless, the kernel shows the host's range through the container's user namespace,
    // which does not map the host's gids: 65534 (the overflow gid) for each.
    match mode {
        Mode::Root => assert_eq!(format!("{range}\n"), host("ping_group_range")),
        Mode::Rootless => assert_ne!(range, "0\t0", "{text}"),
    }
}

/// `--sysctl`: namespaced parameters the caller sets are the container's (the IPC namespace's,
/// a private network's, replacing the engine's value); a parameter no namespace of the
/// container's own holds is refused with status 125, naming the flag and the key.
#[verifies("isolation.sysctls.caller")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_caller_sets_namespaced_kernel_parameters_only(mode: Mode) {
    let shmmni = || std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    let before = shmmni();
    let out = sh(
        mode,
        Users::RootOnly,
        &[
            "--network",
            "none",
            "--sysctl",
            "kernel.shmmni=1000",
            "--sysctl",
            "kernel.shmmni=2000",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=1024",
        ],
        "cat /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_unprivileged_port_start",
    );
    assert_eq!(out.ok(), "2000\n1024\n");
    assert_eq!(shmmni(), before, "the host's IPC namespace keeps its value");
    for (args, key) in [
        (&["--sysctl", "vm.swappiness=1"][..], "vm.swappiness"),
        (
            &["--sysctl", "net.ipv4.ip_forward=1"][..],
            "net.ipv4.ip_forward",
        ),
        (&["--sysctl", "kernel.hostname=x"][..], "kernel.hostname"),
    ] {
        let out = sh(mode, Users::RootOnly, args, "true");
        out.refused("--sysctl");
        out.refused(key);
    }
}

/// A uid-1000 workload pings loopback (an ICMP echo datagram socket, sent and answered, in
/// Debian's perl) in a private network namespace, rootful and rootless; on the host's network,
/// whose `ping_group_range` the engine leaves at the host's, the same socket is refused.
#[verifies("isolation.sysctls.private-network")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_non_root_workload_pings_loopback_in_a_private_network(mode: Mode) {
    subordinate_ranges(mode);
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let debian = debian_for(mode);
    let carrier = Rootfs::build(Users::RootOnly);
    let ping = r#"use Socket; socket(my $s, AF_INET, SOCK_DGRAM, 1) or die "socket: $!\n";
        send($s, pack("CCnnn", 8, 0, 0, 0, 1), 0, sockaddr_in(0, inet_aton("127.0.0.1")))
            or die "send: $!\n";
        vec(my $r = "", fileno($s), 1) = 1; select($r, undef, undef, 5) or die "no reply\n";
        recv($s, my $got, 64, 0); printf "reply type %d\n", unpack("C", $got);"#;
    let run_ping = |network: &str| {
        run_dir(
            mode,
            &carrier,
            &debian,
            &["--network", network, "--user", "1000:1000"],
            &["perl", "-e", ping],
        )
    };
    assert_eq!(run_ping("none").ok(), "reply type 0\n");
    // Only where the host lets no group ping (the kernel's default "1 0"): then uid 1000's
    // socket on the host's network must be refused.
    if host_range.split_whitespace().collect::<Vec<_>>() == ["1", "0"] {
        let out = run_ping("host");
        assert_ne!(out.code, 0, "{out:#?}");
        assert!(out.stderr.contains("socket: Permission denied"), "{out:#?}");
    }
}

/// The container has its own cgroup namespace (on this project's cgroup v1 hosts too): every
/// hierarchy of `/proc/self/cgroup` names `/`, and `/sys/fs/cgroup` shows those cgroups at
/// its root.
#[verifies("isolation.namespaces.cgroup")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn cgroup_namespace_is_private_and_matches_sys_fs_cgroup(mode: Mode) {
    let script = "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup; echo ---; \
                  for d in /sys/fs/cgroup/*/; do test -e \"$d/cgroup.procs\" && echo \"$d\"; done";
    let out = sh(mode, Users::RootOnly, &[], script);
    let text = out.ok();
    let (cgroups, dirs) = text.split_once("---\n").unwrap();
    let mut lines = cgroups.lines();
    assert_ne!(
        lines.next(),
        Some(host_namespace("cgroup").as_str()),
        "{text}"
    );
    for line in lines {
        assert!(line.ends_with(":/"), "{line} in {text}");
    }
    assert!(
        !dirs.is_empty(),
        "a cgroup hierarchy at /sys/fs/cgroup: {text}"
    );
}
