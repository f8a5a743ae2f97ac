//! Kernel parameters (`linux.sysctl`): the engine's two for a network namespace of the
//! container's own, and the caller's, checked against the namespaces the container has.
//!
//! The engine's are Docker's (moby `daemon/oci_linux.go`, `WithCommonOptions`): in a private
//! network namespace, unprivileged ICMP echo sockets (`net.ipv4.ping_group_range`) and binding
//! any port (`net.ipv4.ip_unprivileged_port_start = 0`); on the host's network nothing. The
//! ping range holds what the container's user namespace maps: the kernel reads both ends as
//! gids of the writer's user namespace and refuses an unmapped one with EINVAL.
//!
//! The caller's follow runc's validator (`libcontainer/configs/validate/validator.go`,
//! `sysctl`): only parameters of a namespace the container has of its own. The IPC and UTS
//! namespaces always are; the network namespace only in [`NetworkMode::Private`].

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::options::{IdMapping, NetworkMode, RunOptions};
use crate::plan::{Item, Plan};
use crate::requirement;

/// The ICMP echo socket groups parameter.
pub const PING_GROUP_RANGE: &str = "net.ipv4.ping_group_range";

/// The first port a process without `CAP_NET_BIND_SERVICE` may bind.
pub const UNPRIVILEGED_PORT_START: &str = "net.ipv4.ip_unprivileged_port_start";

/// The highest gid `ping_group_range` takes on the kernels this engine supports (the kernel's
/// `GID_T_MAX` before Linux 6.5; Docker writes the same).
pub const MAX_PING_GID: u32 = 2_147_483_647;

/// The IPC namespace's parameters (runc's list); `fs.mqueue.*` belongs to it as well.
pub const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The `ping_group_range` value that lets every gid the container can hold open ICMP echo
/// sockets: all gids without a user namespace; with one, its mapped gids from 0 (from 1 when
/// the caller's own gid lies above its subordinate range on the host, since the kernel compares
/// host gids and would take a decreasing range as empty).
///
/// ```
/// use locald_engine::{IdMapping, SubordinateIds};
/// use locald_engine::isolation::sysctls::ping_group_range;
///
/// assert_eq!(ping_group_range(None), "0 2147483647");
/// assert_eq!(ping_group_range(Some(&IdMapping::new(1000, 1000))), "0 0");
/// let sub = SubordinateIds { uid_start: 100000, uid_count: 65536, gid_start: 100000, gid_count: 65536 };
/// assert_eq!(ping_group_range(Some(&IdMapping::new(1000, 1000).with_subordinate(sub))), "0 65536");
/// assert_eq!(ping_group_range(Some(&IdMapping::new(200000, 200000).with_subordinate(sub))), "1 65536");
/// ```
#[implements("isolation.sysctls.private-network")]
pub fn ping_group_range(mapping: Option<&IdMapping>) -> String {
    match mapping.map(|m| (m.host_gid, m.subordinate)) {
        None => format!("0 {MAX_PING_GID}"),
        Some((_, None)) => "0 0".into(),
        Some((gid, Some(s))) if gid > s.gid_start => format!("1 {}", s.gid_count),
        Some((_, Some(s))) => format!("0 {}", s.gid_count),
    }
}

/// Whether `key` is a dotted name of letters, digits, `_` and `-` (what the kernel's
/// `/proc/sys` holds; no `/`, which runc would read as a separator, no empty component).
fn well_formed(key: &str) -> bool {
    key.split('.').all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) && key.contains('.')
}

/// Why the caller may not set `key` in a container with `network`, or `None` when it may.
///
/// ```
/// use locald_engine::NetworkMode;
/// use locald_engine::isolation::sysctls::refusal;
///
/// assert_eq!(refusal("kernel.shmmax", NetworkMode::Host), None);
/// assert_eq!(refusal("net.ipv4.ip_forward", NetworkMode::Private), None);
/// assert!(refusal("net.ipv4.ip_forward", NetworkMode::Host).unwrap().contains("host's network"));
/// assert!(refusal("vm.swappiness", NetworkMode::Private).unwrap().contains("not namespaced"));
/// ```
#[implements("isolation.sysctls.caller")]
pub fn refusal(key: &str, network: NetworkMode) -> Option<String> {
    if !well_formed(key) {
        return Some(
            "not a kernel parameter name (dot-separated letters, digits, `_` and `-`)".into(),
        );
    }
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") || key == "kernel.domainname" {
        return None;
    }
    if key == "kernel.hostname" {
        return Some("set the hostname with the hostname option (--hostname) instead".into());
    }
    if key.starts_with("net.") {
        return (network != NetworkMode::Private).then(|| {
            "a network parameter on the host's network would change the host's; only a \
             private network (--network none) has its own"
                .into()
        });
    }
    Some(
        "not namespaced: only the IPC parameters (kernel.msg*, kernel.sem, kernel.shm*, \
         fs.mqueue.*), kernel.domainname and, in a private network, net.* are the container's \
         own"
        .into(),
    )
}

/// Check the caller's parameters: each key allowed ([`refusal`]), each value free of newlines
/// and NULs.
#[implements("isolation.sysctls.caller")]
fn check_caller(opts: &RunOptions) -> Result<()> {
    for (key, value) in &opts.sysctls {
        let reason = refusal(key, opts.network).or_else(|| {
            value
                .contains(['\n', '\0'])
                .then(|| "the value contains a newline or NUL".to_owned())
        });
        if let Some(reason) = reason {
            return Err(Error::InvalidOption {
                field: "sysctls",
                reason: format!("{key}: {reason}"),
            });
        }
    }
    Ok(())
}

/// Push the parameters: the engine's two in a private network namespace, then the caller's,
/// each key once, the caller's value (its last) winning.
#[implements("isolation.sysctls.private-network", "isolation.sysctls.caller")]
pub(crate) fn plan_sysctls(plan: &mut Plan, opts: &RunOptions) -> Result<()> {
    check_caller(opts)?;
    let caller = |key: &str| opts.sysctls.iter().any(|(k, _)| k == key);
    if opts.network == NetworkMode::Private {
        for (key, value) in [
            (PING_GROUP_RANGE, ping_group_range(opts.id_mapping.as_ref())),
            (UNPRIVILEGED_PORT_START, "0".to_owned()),
        ] {
            if !caller(key) {
                plan.push(
                    requirement!("isolation.sysctls.private-network"),
                    Item::Sysctl {
                        key: key.into(),
                        value,
                    },
                );
            }
        }
    }
    for (i, (key, value)) in opts.sysctls.iter().enumerate() {
        if opts.sysctls[i + 1..].iter().any(|(k, _)| k == key) {
            continue;
        }
        plan.push(
            requirement!("isolation.sysctls.caller"),
            Item::Sysctl {
                key: key.clone(),
                value: value.clone(),
            },
        );
    }
    Ok(())
}

/// Parse `KEY=VALUE` (`docker run --sysctl`): the key ends at the first `=`.
///
/// ```
/// use locald_engine::isolation::sysctls::parse;
///
/// assert_eq!(parse("kernel.sem=250 32000 32 128")?, ("kernel.sem".into(), "250 32000 32 128".into()));
/// assert!(parse("kernel.sem").is_err());
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn parse(s: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| Error::InvalidOption {
            field: "sysctls",
            reason: format!("{s:?}: expected KEY=VALUE"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    /// Docker's ping range, as the engine plans it for a private network namespace.
    fn dockers_ping_range() -> (String, String, &'static str) {
        entry(
            PING_GROUP_RANGE,
            "0 2147483647",
            "isolation.sysctls.private-network",
        )
    }

    /// A planned sysctl as `planned` lists it.
    fn entry(key: &str, value: &str, id: &'static str) -> (String, String, &'static str) {
        (key.into(), value.into(), id)
    }

    fn planned(opts: &RunOptions) -> Result<Vec<(String, String, &'static str)>> {
        let mut plan = Plan::default();
        plan_sysctls(&mut plan, opts)?;
        Ok(plan
            .entries()
            .iter()
            .map(|e| match &e.item {
                Item::Sysctl { key, value } => (key.clone(), value.clone(), e.requirement.as_str()),
                other => panic!("{other:?}"),
            })
            .collect())
    }

    #[test]
    #[verifies("isolation.sysctls.private-network")]
    fn dockers_two_only_in_a_private_network() {
        assert_eq!(planned(&RunOptions::default()).unwrap(), []);
        let private = RunOptions {
            network: NetworkMode::Private,
            ..Default::default()
        };
        let got = planned(&private).unwrap();
        assert_eq!(
            got,
            [
                dockers_ping_range(),
                entry(
                    UNPRIVILEGED_PORT_START,
                    "0",
                    "isolation.sysctls.private-network"
                ),
            ]
        );
        // Rootless single mapping: only gid 0 is the container's.
        let rootless = RunOptions {
            id_mapping: Some(IdMapping::new(1000, 1000)),
            ..private
        };
        assert_eq!(planned(&rootless).unwrap()[0].1, "0 0");
        // The spec carries them as linux.sysctl.
        let mut plan = Plan::default();
        plan_sysctls(&mut plan, &rootless).unwrap();
        let json = serde_json::to_value(plan.to_spec().unwrap()).unwrap();
        assert_eq!(json["linux"]["sysctl"][UNPRIVILEGED_PORT_START], "0");
    }

    #[test]
    #[verifies("isolation.sysctls.caller", "isolation.sysctls.private-network")]
    fn the_callers_values_replace_the_engines_and_the_last_wins() {
        let opts = RunOptions {
            network: NetworkMode::Private,
            sysctls: vec![
                (UNPRIVILEGED_PORT_START.into(), "1024".into()),
                ("kernel.shmmax".into(), "1".into()),
                ("kernel.shmmax".into(), "2".into()),
            ],
            ..Default::default()
        };
        let got = planned(&opts).unwrap();
        assert_eq!(
            got,
            [
                dockers_ping_range(),
                entry(UNPRIVILEGED_PORT_START, "1024", "isolation.sysctls.caller"),
                entry("kernel.shmmax", "2", "isolation.sysctls.caller"),
            ]
        );
    }

    #[test]
    #[verifies("isolation.sysctls.caller")]
    fn keys_outside_the_containers_namespaces_are_refused() {
        for (key, network, why) in [
            ("net.ipv4.ip_forward", NetworkMode::Host, "host's network"),
            ("vm.swappiness", NetworkMode::Private, "not namespaced"),
            ("kernel.hostname", NetworkMode::Private, "--hostname"),
            ("net/ipv4/ip_forward", NetworkMode::Private, "not a kernel"),
            ("net..x", NetworkMode::Private, "not a kernel"),
            ("kernel", NetworkMode::Private, "not a kernel"),
        ] {
            let opts = RunOptions {
                network,
                sysctls: vec![(key.into(), "1".into())],
                ..Default::default()
            };
            match planned(&opts) {
                Err(Error::InvalidOption {
                    field: "sysctls",
                    reason,
                }) => assert!(reason.starts_with(key) && reason.contains(why), "{reason}"),
                other => panic!("{key}: {other:?}"),
            }
        }
        let bad_value = RunOptions {
            sysctls: vec![("kernel.sem".into(), "1\n2".into())],
            ..Default::default()
        };
        assert!(planned(&bad_value).is_err());
        for ok in ["kernel.msgmax", "fs.mqueue.msg_max", "kernel.domainname"] {
            let opts = RunOptions {
                sysctls: vec![(ok.into(), "1".into())],
                ..Default::default()
            };
            assert_eq!(planned(&opts).unwrap().len(), 1, "{ok}");
        }
    }
}
