//! dns.md: `/etc/resolv.conf` on the host's network and on a private one.

use std::net::{IpAddr, Ipv4Addr};

use locald_spec_macros::verifies;

use super::{Ctx, host_network, read, show_ips};
use crate::Verdict;
use crate::parse::{self, ResolvConf};

/// The servers of dns.resolv-conf.fallback, when no other is left.
pub const FALLBACK_NAMESERVERS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
];

/// The systemd-resolved stub listener.
pub const RESOLVED_STUB: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53));

/// Summarises a resolver configuration for a detail.
fn show_rc(rc: &ResolvConf) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(" ")
        }
    };
    format!(
        "nameservers {}; search {}; options {}",
        if rc.nameservers.is_empty() {
            "none".to_owned()
        } else {
            show_ips(&rc.nameservers)
        },
        list(rc.search.as_deref().unwrap_or_default()),
        list(&rc.options)
    )
}

/// The container's `/etc/resolv.conf` and the host's one the runner passed.
fn resolv_confs(ctx: &Ctx) -> Result<(ResolvConf, Option<ResolvConf>), String> {
    let own = read("/etc/resolv.conf").map(|t| parse::parse_resolv_conf(&t))?;
    let host = ctx
        .host_resolv_conf
        .as_deref()
        .map(parse::parse_resolv_conf);
    Ok((own, host))
}

#[verifies("dns.resolv-conf.host-network")]
pub(super) fn resolv_conf_host_network(ctx: &Ctx) -> Verdict {
    match host_network(ctx) {
        Err(v) => v,
        Ok(false) => Verdict::not_applicable(
            "a private network namespace (see dns.resolv-conf.private-network)",
        ),
        Ok(true) => match resolv_confs(ctx) {
            Err(e) => Verdict::fail(e),
            Ok((own, host)) => resolv_host_verdict(&own, host.as_ref()),
        },
    }
}

/// dns.resolv-conf.host-network: the host's nameservers (loopback ones included), search
/// domains and options, unchanged.
fn resolv_host_verdict(own: &ResolvConf, host: Option<&ResolvConf>) -> Verdict {
    let Some(host) = host else {
        return Verdict::not_applicable(format!(
            "{}; the host's /etc/resolv.conf was not given (--host-resolv-conf)",
            show_rc(own)
        ));
    };
    if own == host {
        let kept = own.nameservers.iter().any(parse::is_loopback);
        Verdict::pass(format!(
            "the host's: {}{}",
            show_rc(own),
            if kept { " (loopback kept)" } else { "" }
        ))
    } else {
        Verdict::fail(format!(
            "/etc/resolv.conf has {}, the host's has {}",
            show_rc(own),
            show_rc(host)
        ))
    }
}

#[verifies("dns.resolv-conf.private-network")]
pub(super) fn resolv_conf_private_network(ctx: &Ctx) -> Verdict {
    match host_network(ctx) {
        Err(v) => v,
        Ok(true) => Verdict::not_applicable(
            "the host's network namespace (see dns.resolv-conf.host-network)",
        ),
        Ok(false) => match resolv_confs(ctx) {
            Err(e) => Verdict::fail(e),
            Ok((own, host)) => resolv_private_verdict(&own, host.as_ref()),
        },
    }
}

/// dns.resolv-conf.private-network: no loopback nameserver; when the host's file is known and
/// is not the systemd-resolved stub alone (whose upstream list the probe cannot see), exactly
/// the host's servers without loopback ones and the host's search domains and options. When
/// the host has no other server, what remains is the business of dns.resolv-conf.fallback, a
/// SHOULD: none, or the fallback, passes here. The probe has no check of that fallback: it
/// applies only on a host whose servers are all loopback ones, which this project's machines
/// are not, so its evidence is the engine's unit tests.
fn resolv_private_verdict(own: &ResolvConf, host: Option<&ResolvConf>) -> Verdict {
    let lo: Vec<IpAddr> = own
        .nameservers
        .iter()
        .copied()
        .filter(parse::is_loopback)
        .collect();
    if !lo.is_empty() {
        return Verdict::fail(format!(
            "loopback nameservers {} in a private network namespace, where nothing answers \
             ({})",
            show_ips(&lo),
            show_rc(own)
        ));
    }
    let host = match host {
        None => {
            return Verdict::pass(format!(
                "{}: none loopback (the host's file was not given: not compared)",
                show_rc(own)
            ));
        }
        Some(h) if h.nameservers == [RESOLVED_STUB] => {
            return Verdict::pass(format!(
                "{}: none loopback (the host's only server is the systemd-resolved stub, whose \
                 upstream list is not visible here: not compared)",
                show_rc(own)
            ));
        }
        Some(h) => h,
    };
    let mut want = ResolvConf {
        nameservers: host
            .nameservers
            .iter()
            .copied()
            .filter(|ip| !parse::is_loopback(ip))
            .collect(),
        ..host.clone()
    };
    let fallback = want.nameservers.is_empty();
    if fallback && (own.nameservers.is_empty() || own.nameservers == FALLBACK_NAMESERVERS) {
        want.nameservers = own.nameservers.clone();
    }
    let how = if fallback {
        "the host's has no other than loopback: none, or the fallback (dns.resolv-conf.fallback)"
    } else {
        "the host's without loopback servers"
    };
    if *own == want {
        Verdict::pass(format!("{}: {how}", show_rc(own)))
    } else {
        Verdict::fail(format!(
            "/etc/resolv.conf has {}, want {} ({how})",
            show_rc(own),
            show_rc(&want)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;
    fn rc(text: &str) -> ResolvConf {
        parse::parse_resolv_conf(text)
    }

    #[test]
    fn host_network_resolv_conf_is_the_hosts() {
        let host = rc("nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n");
        let own = rc(
            "# Generated by locald-engine\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n",
        );
        let v = resolv_host_verdict(&own, Some(&host));
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(v.detail.contains("loopback kept"), "{}", v.detail);
        // Empty on the host, empty in the container.
        assert_eq!(
            resolv_host_verdict(&rc(""), Some(&rc(""))).outcome,
            Outcome::Pass
        );
        // A private-network rewrite is wrong on the host's network.
        let rewritten = rc(
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch corp.example\noptions edns0 trust-ad\n",
        );
        let v = resolv_host_verdict(&rewritten, Some(&host));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.detail
                .contains("has nameservers 8.8.8.8, 8.8.4.4; search corp.example")
                && v.detail.contains("the host's has nameservers 127.0.0.53"),
            "{}",
            v.detail
        );
        let lost = rc("nameserver 127.0.0.53\n");
        assert_eq!(
            resolv_host_verdict(&lost, Some(&host)).outcome,
            Outcome::Fail
        );
        assert_eq!(
            resolv_host_verdict(&own, None).outcome,
            Outcome::NotApplicable
        );
    }

    #[test]
    fn private_network_resolv_conf_has_no_loopback_server() {
        let host = rc("nameserver 127.0.0.1\nnameserver 10.255.255.53\nsearch corp.example\n");
        let ok = rc("nameserver 10.255.255.53\nsearch corp.example\n");
        let v = resolv_private_verdict(&ok, Some(&host));
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(
            v.detail.contains("the host's without loopback"),
            "{}",
            v.detail
        );
        // Only loopback on the host: the fallback.
        let lo_host = rc("nameserver 127.0.0.1\nnameserver ::1\noptions ndots:2\n");
        let fallback = rc("nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions ndots:2\n");
        let v = resolv_private_verdict(&fallback, Some(&lo_host));
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        // The stub alone: its upstream list is not visible, so any non-loopback list passes.
        let stub = rc("nameserver 127.0.0.53\n");
        let upstream = rc("nameserver 192.0.2.53\n");
        assert_eq!(
            resolv_private_verdict(&upstream, Some(&stub)).outcome,
            Outcome::Pass
        );
        assert_eq!(
            resolv_private_verdict(&upstream, None).outcome,
            Outcome::Pass
        );
        // No server left: none at all passes the MUST too (the fallback is a SHOULD).
        let v = resolv_private_verdict(&rc("options ndots:2\n"), Some(&lo_host));
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        let v = resolv_private_verdict(
            &rc("nameserver 192.0.2.1\noptions ndots:2\n"),
            Some(&lo_host),
        );
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        for (own, says) in [
            ("", "want nameservers 10.255.255.53"),
            (
                "nameserver 127.0.0.1\nnameserver 10.255.255.53\n",
                "loopback nameservers 127.0.0.1",
            ),
            ("nameserver ::1\n", "loopback nameservers ::1"),
            // Search domains dropped.
            (
                "nameserver 10.255.255.53\n",
                "want nameservers 10.255.255.53; search corp.example",
            ),
            // Servers the host does not have.
            (
                "nameserver 8.8.8.8\nsearch corp.example\n",
                "want nameservers 10.255.255.53",
            ),
        ] {
            let v = resolv_private_verdict(&rc(own), Some(&host));
            assert_eq!(v.outcome, Outcome::Fail, "{own}");
            assert!(v.detail.contains(says), "{own}: {}", v.detail);
        }
    }
}
