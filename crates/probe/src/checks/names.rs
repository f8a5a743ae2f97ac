//! names.md: the hostname, `/etc/hostname` and `/etc/hosts`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use locald_spec_macros::verifies;

use super::{Ctx, host_network, hostname, read, show_ips};
use crate::Verdict;
use crate::parse::{self, HostsEntry, Mount};

/// Whether `name` is a hostname names.hostname.default allows.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[verifies("names.hostname.default")]
pub(super) fn hostname_default(_ctx: &Ctx) -> Verdict {
    match hostname() {
        Err(e) => Verdict::fail(e),
        Ok(n) if !valid_hostname(&n) => Verdict::fail(format!(
            "hostname {n:?}: empty, longer than 64 bytes, or not letters, digits, - and ."
        )),
        // The requirement's rationale: `runc`'s constant names no container.
        Ok(n) if n == "runc" => Verdict::fail(
            "hostname \"runc\": the `runc spec` constant, not the container's short ID",
        ),
        Ok(n) => Verdict::pass(format!("hostname {n:?}")),
    }
}

/// Quotes a file's text for a detail, cut after 80 characters.
fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{text:?}")
    }
}

#[verifies("names.hostname.file")]
pub(super) fn hostname_file(ctx: &Ctx) -> Verdict {
    match hostname() {
        Err(e) => Verdict::fail(e),
        Ok(name) => hostname_file_verdict(&name, read("/etc/hostname"), ctx.mount("/etc/hostname")),
    }
}

/// names.hostname.file: the file is the UTS name and a newline, on a mount of its own (read-only or writable).
fn hostname_file_verdict(
    name: &str,
    text: Result<String, String>,
    mount: Option<&Mount>,
) -> Verdict {
    let text = match text {
        Ok(t) => t,
        Err(e) => return Verdict::fail(e),
    };
    let mut problems = Vec::new();
    if text == name {
        problems.push(format!(
            "/etc/hostname is {name:?} without the newline that ends it (hostname(5))"
        ));
    } else if text != format!("{name}\n") {
        problems.push(format!(
            "/etc/hostname is {}, but the hostname is {name:?}",
            excerpt(&text)
        ));
    }
    // A file of the container's own, mounted over the image's: read-only or writable (Docker's
    // is writable; either way the kernel's name is what `hostname` changes).
    let how = match mount {
        Some(m) if m.read_only() => "a read-only mount",
        Some(_) => "a writable mount",
        None => {
            problems
                .push("nothing is mounted over /etc/hostname (the image's own file)".to_owned());
            ""
        }
    };
    if problems.is_empty() {
        Verdict::pass(format!("/etc/hostname is {name:?} and a newline, on {how}"))
    } else {
        Verdict::fail(problems.join("; "))
    }
}

/// The names of names.hosts.localhost and the addresses each must map to.
pub const LOCALHOST_NAMES: [(&str, &[&str]); 7] = [
    ("localhost", &["127.0.0.1", "::1"]),
    ("ip6-localhost", &["::1"]),
    ("ip6-loopback", &["::1"]),
    ("ip6-localnet", &["fe00::"]),
    ("ip6-mcastprefix", &["ff00::"]),
    ("ip6-allnodes", &["ff02::1"]),
    ("ip6-allrouters", &["ff02::2"]),
];

/// The loopback addresses the hostname maps to (names.hosts.hostname).
pub const LOOPBACK: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// The container's `/etc/hosts`, or the verdict when there is nothing of the engine's to grade.
fn hosts(ctx: &Ctx) -> Result<Vec<HostsEntry>, Verdict> {
    let text = read("/etc/hosts").map_err(Verdict::fail)?;
    let on_host_network = host_network(ctx) == Ok(true);
    match host_copy_verdict(&text, ctx.host_hosts.as_deref(), on_host_network) {
        Some(v) => Err(v),
        None => Ok(parse::parse_hosts(&text)),
    }
}

/// On the host's network, an engine that gives the container the host's own `/etc/hosts`,
/// copied unchanged (Docker; the kubelet and CRI-O do the same with a header or a bind), has
/// generated nothing: the localhost and hostname lines are this spec's choice there
/// (`names.hosts.host-network`), so such a file is not graded.
fn host_copy_verdict(own: &str, host: Option<&str>, on_host_network: bool) -> Option<Verdict> {
    (on_host_network && host == Some(own)).then(|| {
        Verdict::not_applicable(
            "/etc/hosts is the host's own file, copied unchanged on the host's network: no \
             generated lines to grade (writing them there is this spec's choice, \
             names.hosts.host-network)",
        )
    })
}

#[verifies("names.hosts.localhost")]
pub(super) fn hosts_localhost(ctx: &Ctx) -> Verdict {
    match hosts(ctx) {
        Err(v) => v,
        Ok(entries) => hosts_localhost_verdict(&entries),
    }
}

/// names.hosts.localhost: every name of [`LOCALHOST_NAMES`] maps to its addresses, and
/// `localhost` to loopback only (RFC 6761 § 6.3).
fn hosts_localhost_verdict(entries: &[HostsEntry]) -> Verdict {
    let mut problems = Vec::new();
    for (name, want) in LOCALHOST_NAMES {
        let found = parse::hosts_lookup(entries, name);
        let missing: Vec<&str> = want
            .iter()
            .copied()
            .filter(|w| !found.contains(&w.parse().expect("a literal address")))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{name} -> {} (missing {})",
                show_ips(&found),
                missing.join(", ")
            ));
        }
    }
    let stray: Vec<IpAddr> = parse::hosts_lookup(entries, "localhost")
        .into_iter()
        .filter(|ip| !parse::is_loopback(ip))
        .collect();
    if !stray.is_empty() {
        problems.push(format!(
            "localhost also maps to {}, not loopback",
            show_ips(&stray)
        ));
    }
    if problems.is_empty() {
        Verdict::pass(
            "/etc/hosts: localhost -> 127.0.0.1, ::1; ip6-localhost, ip6-loopback -> ::1; \
             ip6-localnet, ip6-mcastprefix, ip6-allnodes, ip6-allrouters -> fe00::, ff00::, \
             ff02::1, ff02::2",
        )
    } else {
        Verdict::fail(format!("/etc/hosts: {}", problems.join("; ")))
    }
}

#[verifies("names.hosts.hostname")]
pub(super) fn hosts_hostname(ctx: &Ctx) -> Verdict {
    match (hostname(), hosts(ctx)) {
        (_, Err(v)) => v,
        (Err(e), _) => Verdict::fail(e),
        (Ok(name), Ok(entries)) => hosts_hostname_verdict(&name, &entries),
    }
}

/// names.hosts.hostname: the hostname (and its first label, when it has dots) maps to
/// 127.0.0.1 and ::1 and nothing else, on lines without `localhost`, and the first 127.0.0.1
/// line still names `localhost` first (the reverse lookup).
fn hosts_hostname_verdict(name: &str, entries: &[HostsEntry]) -> Verdict {
    let mut names = vec![name];
    if let Some((label, _)) = name.split_once('.')
        && !label.is_empty()
    {
        names.push(label);
    }
    let mut problems = Vec::new();
    for n in &names {
        let found = parse::hosts_lookup(entries, n);
        let ok = LOOPBACK.iter().all(|l| found.contains(l)) && found.iter().all(parse::is_loopback);
        if !ok {
            problems.push(format!(
                "{n} -> {} (want 127.0.0.1 and ::1, loopback only)",
                show_ips(&found)
            ));
        }
    }
    let named = |e: &HostsEntry, n: &str| e.names.iter().any(|x| x.eq_ignore_ascii_case(n));
    if entries
        .iter()
        .any(|e| named(e, name) && named(e, "localhost"))
    {
        problems.push(format!(
            "{name} shares a line with localhost (want lines of its own)"
        ));
    }
    if let Some(first) = entries.iter().find(|e| e.address == LOOPBACK[0])
        && !first.names[0].eq_ignore_ascii_case("localhost")
    {
        problems.push(format!(
            "the first 127.0.0.1 line names {} first, so a reverse lookup answers it, not \
             localhost",
            first.names[0]
        ));
    }
    if problems.is_empty() {
        Verdict::pass(format!(
            "/etc/hosts: {} -> 127.0.0.1, ::1 on lines of their own; 127.0.0.1 reverses to \
             localhost",
            names.join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "/etc/hosts, hostname {name:?}: {}",
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;
    #[test]
    fn hostnames() {
        assert!(valid_hostname("0123456789ab"));
        assert!(valid_hostname("a.b-c"));
        assert!(!valid_hostname(""));
        assert!(!valid_hostname("a_b"));
        assert!(!valid_hostname(&"a".repeat(65)));
    }

    fn mount(line: &str) -> Mount {
        parse::parse_mountinfo(line).remove(0)
    }

    #[test]
    fn hostname_file_is_the_name_and_a_newline_on_a_mount_of_its_own() {
        let ro = mount("620 612 8:1 /state/hostname /etc/hostname ro,relatime - ext4 /dev/sda1 rw");
        let rw = mount("620 612 8:1 /state/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw");
        for m in [&ro, &rw] {
            let v = hostname_file_verdict("web", Ok("web\n".into()), Some(m));
            assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        }
        for (text, mount, says) in [
            ("web\n", None, "nothing is mounted"),
            (
                "runc\n",
                Some(&ro),
                "\"runc\\n\", but the hostname is \"web\"",
            ),
            ("web", Some(&ro), "without the newline"),
            ("web\nother\n", Some(&ro), "\"web\\nother\\n\", but"),
            // Both problems are named.
            (
                "web",
                None,
                "without the newline that ends it (hostname(5)); nothing is mounted",
            ),
            ("", Some(&ro), "is \"\""),
        ] {
            let v = hostname_file_verdict("web", Ok(text.into()), mount);
            assert_eq!(v.outcome, Outcome::Fail, "{text:?}: {v:?}");
            assert!(v.detail.contains(says), "{text:?}: {}", v.detail);
        }
        let v = hostname_file_verdict("web", Err("/etc/hostname: No such file".into()), None);
        assert_eq!(v.outcome, Outcome::Fail);
    }

    use crate::parse::tests::LOCALD_HOSTS;

    /// Docker's file on a bridge network: the hostname on the container's own address.
    const DOCKER_HOSTS: &str = "\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
172.17.0.2\t0123456789ab
";

    /// A file in the style of Podman's and Fedora's: no ip6-* names.
    const PODMAN_HOSTS: &str = "\
127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4
::1         localhost localhost.localdomain localhost6 localhost6.localdomain6
10.88.0.5\t0123456789ab
";

    fn hosts_of(text: &str) -> Vec<HostsEntry> {
        parse::parse_hosts(text)
    }

    #[test]
    fn localhost_maps_to_both_loopback_addresses_and_the_ip6_names() {
        for ok in [LOCALD_HOSTS, DOCKER_HOSTS] {
            let v = hosts_localhost_verdict(&hosts_of(ok));
            assert_eq!(v.outcome, Outcome::Pass, "{ok}: {v:?}");
        }
        let v = hosts_localhost_verdict(&hosts_of(PODMAN_HOSTS));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.detail
                .contains("ip6-allnodes -> nothing (missing ff02::1)")
                && !v.detail.contains(" localhost ->"),
            "{}",
            v.detail
        );
        let v = hosts_localhost_verdict(&hosts_of(""));
        assert!(
            v.detail
                .contains("localhost -> nothing (missing 127.0.0.1, ::1)"),
            "{}",
            v.detail
        );
        // The address of the machine that built the image.
        let stray = format!("{LOCALD_HOSTS}192.168.1.20 localhost\n");
        let v = hosts_localhost_verdict(&hosts_of(&stray));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.detail.contains("also maps to 192.168.1.20"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn the_hosts_own_file_copied_on_the_hosts_network_is_not_graded() {
        let host = "127.0.0.1 localhost\n127.0.1.1 vm\n";
        let v = host_copy_verdict(host, Some(host), true).expect("not graded");
        assert_eq!(v.outcome, Outcome::NotApplicable);
        assert!(
            v.detail.contains("names.hosts.host-network"),
            "{}",
            v.detail
        );
        // Graded: a private network, an unknown host file, or anything but a verbatim copy
        // (this engine's generated lines followed by the host's).
        assert!(host_copy_verdict(host, Some(host), false).is_none());
        assert!(host_copy_verdict(host, None, true).is_none());
        assert!(host_copy_verdict(LOCALD_HOSTS, Some(host), true).is_none());
        let appended = format!("{LOCALD_HOSTS}# The host's /etc/hosts\n{host}");
        assert!(host_copy_verdict(&appended, Some(host), true).is_none());
    }

    #[test]
    fn the_hostname_maps_to_loopback_on_lines_of_its_own() {
        let v = hosts_hostname_verdict("web.local", &hosts_of(LOCALD_HOSTS));
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(
            v.detail.contains("web.local, web -> 127.0.0.1, ::1"),
            "{}",
            v.detail
        );
        let v = hosts_hostname_verdict("0123456789ab", &hosts_of(DOCKER_HOSTS));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.detail
                .contains("0123456789ab -> 172.17.0.2 (want 127.0.0.1 and ::1"),
            "{}",
            v.detail
        );
        for (text, says) in [
            // Debian's installer style: loopback, but neither 127.0.0.1 nor ::1.
            ("127.0.0.1 localhost\n127.0.1.1 web\n", "web -> 127.0.1.1"),
            (
                "127.0.0.1 localhost web\n::1 localhost web\n",
                "shares a line",
            ),
            (
                "127.0.0.1 web localhost\n::1 web\n",
                "reverse lookup answers it",
            ),
            // Loopback and the container's address: the first match may be either.
            (
                "127.0.0.1 localhost\n10.88.0.5 web\n127.0.0.1 web\n::1 web\n",
                "web -> 10.88.0.5, 127.0.0.1, ::1",
            ),
        ] {
            let v = hosts_hostname_verdict("web", &hosts_of(text));
            assert_eq!(v.outcome, Outcome::Fail, "{text}");
            assert!(v.detail.contains(says), "{text}: {}", v.detail);
        }
        // A dotted name's first label must resolve too.
        let v = hosts_hostname_verdict(
            "web.local",
            &hosts_of("127.0.0.1 localhost\n127.0.0.1 web.local\n::1 web.local\n"),
        );
        assert!(v.detail.contains("web -> nothing"), "{}", v.detail);
    }
}
