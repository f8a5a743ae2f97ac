//! resolv.conf: the engine's reader (`dns::ResolvConf::parse`) on any host file, its writer
//! (`render`) read back to the same configuration, and the generated file
//! (`dns::resolv_conf`, any network mode and overrides) read by the probe — split at blanks
//! as glibc and musl split it — as the engine meant it.

use locald_engine::dns::{MAX_NAMESERVERS, ResolvConf, resolv_conf as generated};
use locald_engine::host_files::HostFiles;
use locald_engine::{DnsOptions, NetworkMode};

/// The `resolv_conf` fuzz target: panics on a defect.
pub fn resolv_conf(data: &[u8]) {
    let Some(p) = crate::parts(data, 5) else {
        return;
    };
    let rc = ResolvConf::parse(p[0]);
    assert_eq!(ResolvConf::parse(&rc.render()), rc, "render reads back");

    let host = HostFiles {
        resolv_conf: Some(p[0].to_owned()),
        resolved_upstream: Some(p[1].to_owned()),
        ..HostFiles::default()
    };
    let dns = DnsOptions {
        servers: p[2].lines().filter_map(|l| l.parse().ok()).collect(),
        search: p[3].lines().map(str::to_owned).collect(),
        options: p[4].lines().map(str::to_owned).collect(),
    };
    let network = if data.first().is_some_and(|b| b & 1 == 1) {
        NetworkMode::Host
    } else {
        NetworkMode::Private
    };
    let text = match generated(network, &dns, &host) {
        Ok(t) => t,
        Err(e) => {
            assert!(e.to_string().contains("dns"), "{e}");
            return;
        }
    };
    let meant = ResolvConf::parse(&text);
    let seen = locald_probe::parse::parse_resolv_conf(&text);
    let ips: Vec<_> = meant.nameservers.iter().map(|n| n.ip).collect();
    assert_eq!(seen.nameservers, ips, "{text:?}");
    assert_eq!(
        seen.search,
        meant.search.filter(|s| !s.is_empty()),
        "{text:?}"
    );
    assert_eq!(seen.options, meant.options, "{text:?}");
    if network == NetworkMode::Private {
        assert!(!meant.nameservers.is_empty());
        if dns.servers.is_empty() {
            for ns in &meant.nameservers {
                assert!(
                    !ns.ip.to_canonical().is_loopback() && ns.zone.is_none(),
                    "{text:?}"
                );
            }
        }
    }
    if !dns.servers.is_empty() {
        assert!(dns.servers.len() <= MAX_NAMESERVERS);
        assert_eq!(ips, dns.servers);
    }
    if !dns.options.is_empty() {
        assert_eq!(seen.options, dns.options);
    }
}
