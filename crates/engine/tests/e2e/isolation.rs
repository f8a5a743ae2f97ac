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
    let out = sh(
        mode,
        Users::RootOnly,
        &[],
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
