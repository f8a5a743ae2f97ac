//! The container's `/etc/hosts` (`names::hosts_file`) from any hostname, extra hosts and host
//! file: what the probe (a hosts(5) reader) parses back is exactly the records meant, in order.

use locald_engine::names::{LOCALHOST_LINES, hosts_file, valid_hostname};
use locald_engine::{ExtraHost, NetworkMode};
use locald_probe::parse::parse_hosts;

/// The `hosts` fuzz target: panics on a defect.
pub fn hosts(data: &[u8]) {
    let Some(p) = crate::parts(data, 3) else {
        return;
    };
    // The engine validates the hostname before it writes this file (`names::hostname_for`).
    let hostname = if valid_hostname(p[0]) { p[0] } else { "c1" };
    let extra: Vec<ExtraHost> = p[1].lines().filter_map(|l| l.parse().ok()).collect();
    let host_text = p[2];
    let network = if data.first().is_some_and(|b| b & 1 == 1) {
        NetworkMode::Host
    } else {
        NetworkMode::Private
    };
    let text = match hosts_file(hostname, &extra, network, Some(host_text)) {
        Ok(t) => t,
        Err(e) => {
            assert!(extra.iter().any(|h| !valid_hostname(&h.name)));
            assert!(e.to_string().contains("extra_hosts"));
            return;
        }
    };
    let mut meant = parse_hosts(LOCALHOST_LINES);
    let label = hostname
        .split_once('.')
        .map(|(l, _)| l)
        .filter(|l| !l.is_empty());
    for ip in ["127.0.0.1", "::1"] {
        let mut names = vec![hostname.to_owned()];
        names.extend(label.map(str::to_owned));
        meant.push(locald_probe::parse::HostsEntry {
            address: ip.parse().unwrap(),
            names,
        });
    }
    for h in &extra {
        meant.push(locald_probe::parse::HostsEntry {
            address: h.ip,
            names: vec![h.name.clone()],
        });
    }
    if network == NetworkMode::Host {
        let mut own = host_text.to_owned();
        if !own.is_empty() && !own.ends_with('\n') {
            own.push('\n');
        }
        meant.extend(parse_hosts(&own));
        assert!(text.ends_with(&own));
    }
    assert_eq!(parse_hosts(&text), meant, "{text:?}");
    let own = locald_probe::parse::hosts_lookup(&meant, hostname);
    assert!(own.contains(&"127.0.0.1".parse().unwrap()), "{text:?}");
}
