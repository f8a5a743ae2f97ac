use super::*;

#[verifies("names.hostname.default", "environment.hostname")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn hostname_is_the_short_id_of_a_hex_id(mode: Mode) {
    let id = "abcdef0123456789e2e0".repeat(4);
    let opts = ["--id", &id[..64]];
    let script = "hostname; cat /proc/sys/kernel/hostname; echo $HOSTNAME";
    let out = sh(mode, Users::RootOnly, &opts, script);
    assert_eq!(out.ok(), "abcdef012345\nabcdef012345\nabcdef012345\n");
}

/// locald's readable ids (a project and a service) are the hostname whole, as the workload,
/// `/etc/hostname` and `/etc/hosts` see it.
#[verifies("names.hostname.default", "names.hosts.hostname")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_readable_id_is_the_hostname(mode: Mode) {
    let opts = ["--id", "My_App.worker-e2e"];
    let script =
        "hostname; cat /etc/hostname; echo $HOSTNAME; grep -c my-app.worker-e2e /etc/hosts";
    let out = sh(mode, Users::RootOnly, &opts, script);
    assert_eq!(
        out.ok(),
        "my-app.worker-e2e\nmy-app.worker-e2e\nmy-app.worker-e2e\n2\n"
    );
}

#[test]
#[verifies("names.hostname.default")]
fn id_characters_a_hostname_cannot_hold_are_replaced_root() {
    let out = sh(
        Mode::Root,
        Users::RootOnly,
        &["--id", "e2e_test+x"],
        "hostname",
    );
    assert_eq!(out.ok(), "e2e-test-x\n");
}

#[test]
#[verifies("names.hostname.default")]
fn hostname_option_wins_and_is_validated_root() {
    let out = sh(
        Mode::Root,
        Users::RootOnly,
        &["--hostname", "web-1"],
        "hostname",
    );
    assert_eq!(out.ok(), "web-1\n");
    sh(
        Mode::Root,
        Users::RootOnly,
        &["--hostname", "bad name"],
        "true",
    )
    .refused("not a valid hostname");
}

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` as the workload reads them.
mod name_files {
    use crate::*;

    /// The `nameserver` addresses of resolv.conf text, in order.
    fn nameservers(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("nameserver "))
            .map(|s| s.trim().to_owned())
            .collect()
    }

    /// The host's nameservers as the test reads them itself.
    fn host_nameservers() -> Vec<String> {
        nameservers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }

    #[verifies(
        "names.hostname.file",
        "names.hosts.localhost",
        "names.hosts.hostname",
        "names.hosts.extra",
        "dns.resolv-conf.host-network",
        "filesystems.layer.engine-files"
    )]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn name_files_are_generated_and_writable(mode: Mode) {
        let script = "hostname; cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; \
                      cat /etc/resolv.conf; echo ---; \
                      for f in hostname hosts resolv.conf; do \
                        (echo x >> /etc/$f) 2>/dev/null && echo writable $f; done; \
                      cat /proc/self/mountinfo";
        let out = sh(
            mode,
            Users::RootOnly,
            &["--id", "web-1", "--add-host", "db:192.0.2.7"],
            script,
        );
        let stdout = out.ok();
        let mut parts = stdout.split("---\n");
        let (names, hosts, resolv, rest) = (
            parts.next().unwrap(),
            parts.next().expect("hosts"),
            parts.next().expect("resolv.conf"),
            parts.next().expect("mountinfo"),
        );
        assert_eq!(names, "web-1\nweb-1\n", "{stdout}");
        let lines: Vec<&str> = hosts.lines().filter(|l| !l.starts_with('#')).collect();
        for want in [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "127.0.0.1\tweb-1",
            "::1\tweb-1",
            "192.0.2.7\tdb",
        ] {
            assert!(lines.contains(&want), "{want:?} in {hosts}");
        }
        // localhost comes before the hostname: a reverse lookup of 127.0.0.1 says localhost.
        assert_eq!(lines[0], "127.0.0.1\tlocalhost", "{hosts}");
        // Host network (the default): the host's servers, loopback ones included.
        assert_eq!(nameservers(resolv), host_nameservers(), "{resolv}");
        // The container's root may write them (Docker's binds are writable too).
        for f in ["hostname", "hosts", "resolv.conf"] {
            assert!(rest.contains(&format!("writable {f}\n")), "{f}: {rest}");
        }
        let info = mountinfo(rest);
        for f in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] {
            let m = mount_at(&info, f).unwrap_or_else(|| panic!("{f} is not mounted: {rest}"));
            assert!(m.has("rw"), "{f}: {rest}");
        }
    }

    #[verifies("dns.resolv-conf.private-network")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn private_network_resolv_conf_has_no_loopback_servers(mode: Mode) {
        let out = sh(
            mode,
            Users::RootOnly,
            &["--network", "none"],
            "cat /etc/resolv.conf",
        );
        let got = nameservers(out.ok());
        let mut want: Vec<String> = host_nameservers()
            .into_iter()
            .filter(|ns| !ns.starts_with("127.") && ns != "::1")
            .collect();
        if want.is_empty() {
            want = vec!["8.8.8.8".into(), "8.8.4.4".into()];
        }
        assert_eq!(got, want);
    }

    #[test]
    #[verifies("dns.resolv-conf.overrides", "names.hosts.extra")]
    fn dns_overrides_replace_the_hosts_settings_root() {
        let opts = [
            "--dns",
            "192.0.2.53",
            "--dns",
            "2001:db8::53",
            "--dns-search",
            "corp.example",
            "--dns-option",
            "ndots:2",
        ];
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &opts,
            "grep -v '^#' /etc/resolv.conf",
        );
        assert_eq!(
            out.ok(),
            "nameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp.example\noptions ndots:2\n"
        );
        // Values that would add lines are refused before anything runs.
        let bad = sh(
            Mode::Root,
            Users::RootOnly,
            &["--add-host", "a b:192.0.2.1"],
            "true",
        );
        bad.refused("--add-host");
        let bad = sh(
            Mode::Root,
            Users::RootOnly,
            &["--dns-option", "ndots:1 x"],
            "true",
        );
        bad.refused("dns");
    }

    /// glibc's resolver on a real Debian tree: `getent` goes through nsswitch's `files`.
    #[verifies("names.hosts.localhost", "names.hosts.hostname", "names.hosts.extra")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn debian_resolves_localhost_its_name_and_extra_hosts(mode: Mode) {
        require_runc();
        let debian = debian_for(mode);
        let carrier = Rootfs::build(Users::RootOnly);
        let script = "getent ahostsv4 localhost | head -1; getent hosts ::1 | head -1; \
                      getent ahostsv4 $(hostname) | head -1; getent hosts db; hostname -f";
        let out = engine_command(mode, &carrier)
            .args(["run", "--rootfs", debian.to_str().unwrap()])
            .args([
                "--hostname",
                "web.local",
                "--add-host",
                "db:192.0.2.7",
                "--",
            ])
            .args(["sh", "-c", script])
            .output()
            .expect("spawn locald-engine");
        assert!(out.status.success(), "{out:#?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<Vec<&str>> = stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0][..2], ["127.0.0.1", "STREAM"], "{stdout}");
        assert_eq!(lines[0].get(2), Some(&"localhost"), "{stdout}");
        assert_eq!(lines[1][0], "::1", "{stdout}");
        assert!(lines[1].contains(&"localhost"), "{stdout}");
        assert_eq!(lines[2][..2], ["127.0.0.1", "STREAM"], "{stdout}");
        assert_eq!(lines[2].get(2), Some(&"web.local"), "{stdout}");
        assert_eq!(lines[3], ["192.0.2.7", "db"], "{stdout}");
        assert_eq!(lines[4], ["web.local"], "{stdout}");
    }

    #[test]
    #[verifies("names.hosts.host-network")]
    fn host_network_keeps_the_hosts_entries_root() {
        let host = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let out = sh(Mode::Root, Users::RootOnly, &[], "cat /etc/hosts");
        let hosts = out.ok();
        assert!(
            hosts.ends_with(&host) || host.is_empty(),
            "the host's file ends the container's: {hosts}"
        );
        let private = sh(
            Mode::Root,
            Users::RootOnly,
            &["--network", "none"],
            "cat /etc/hosts",
        );
        assert!(!private.ok().contains("The host's"), "{}", private.stdout);
    }
}

/// A running container's `/etc/hosts` refreshed from outside: the workload, started before the
/// refresh, reads the new entry through the same bind mount, with the engine's lines kept.
#[verifies("names.hosts.refresh")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_refresh_reaches_a_running_container(mode: Mode) {
    use std::io::{BufRead, BufReader, Read};

    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = crate::lifecycle::state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    // Says it runs, then waits (30 s at most) for `cache` to appear and prints the file.
    let script = "echo running; i=0; while [ $i -lt 300 ]; do \
                  if grep -q cache /etc/hosts; then cat /etc/hosts; exit 0; fi; \
                  i=$((i+1)); sleep 0.1; done; exit 3";
    let mut child = spawn_piped(
        engine_command(mode, &rootfs)
            .args(["run", "--id", "refresh-e2e", "--state-root", srs])
            .args(["--add-host", "db:192.0.2.7", "--rootfs"])
            .arg(rootfs.path())
            .args(["--", "sh", "-c", script]),
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "running\n");
    let bundle = sr.join("bundles").join("refresh-e2e");
    let out = engine(
        mode,
        &rootfs,
        &[
            "refresh",
            "--bundle",
            bundle.to_str().unwrap(),
            "--add-host",
            "db:192.0.2.7",
            "--add-host",
            "cache:192.0.2.9",
        ],
    );
    out.ok();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}{err}");
    let lines: Vec<&str> = rest.lines().filter(|l| !l.starts_with('#')).collect();
    for want in [
        "127.0.0.1\tlocalhost",
        "127.0.0.1\trefresh-e2e",
        "192.0.2.7\tdb",
        "192.0.2.9\tcache",
    ] {
        assert!(lines.contains(&want), "{want:?} in {rest}");
    }
    assert_eq!(lines[0], "127.0.0.1\tlocalhost", "{rest}");
}
