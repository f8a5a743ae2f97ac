//! isolation.md: the namespaces the container has of its own, compared with the host's.

use locald_spec_macros::verifies;

use super::{Ctx, host_network, ns_vs_host, read};
use crate::Verdict;
use crate::parse::{self, IdMapping};

fn private_ns(ctx: &Ctx, kind: &str) -> Verdict {
    match ns_vs_host(ctx, kind) {
        Err(e) => Verdict::fail(e),
        Ok((own, Some(true))) => Verdict::pass(format!(
            "{own}, the host's is {}",
            ctx.host_ns.get(kind).map_or("?", String::as_str)
        )),
        Ok((own, Some(false))) => Verdict::fail(format!("{own} is the host's")),
        Ok((own, None)) => Verdict::not_applicable(format!(
            "{own}; the host's {kind} namespace was not given (--host-ns)"
        )),
    }
}

#[verifies("isolation.namespaces.pid")]
pub(super) fn pid_namespace(ctx: &Ctx) -> Verdict {
    let pid = std::process::id();
    let ppid = nix::unistd::getppid().as_raw();
    let visible = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0);
    let first = pid == 1 || ppid == 1;
    let detail = format!("pid {pid}, parent {ppid}, {visible} processes visible");
    match (first, ns_vs_host(ctx, "pid")) {
        (_, Err(e)) => Verdict::fail(e),
        (false, _) => Verdict::fail(format!("{detail}: neither we nor our parent is PID 1")),
        (true, Ok((own, Some(true)))) => Verdict::pass(format!("{detail}; {own}")),
        (true, Ok((own, Some(false)))) => {
            Verdict::fail(format!("{detail}; {own} is the host's PID namespace"))
        }
        (true, Ok((own, None))) if pid == 1 => Verdict::pass(format!("{detail}; {own}")),
        (true, Ok((own, None))) => Verdict::not_applicable(format!(
            "{detail}; {own}; the host's pid namespace was not given (--host-ns)"
        )),
    }
}

#[verifies("isolation.namespaces.user")]
pub(super) fn user_namespace(ctx: &Ctx) -> Verdict {
    let maps = (
        ctx.uid_map(),
        read("/proc/self/gid_map").map(|t| parse::parse_id_map(&t)),
    );
    let (uids, gids) = match maps {
        (Ok(u), Ok(g)) => (u, g),
        (Err(e), _) | (_, Err(e)) => return Verdict::fail(e),
    };
    if parse::is_identity_map(&uids) && parse::is_identity_map(&gids) {
        return match ns_vs_host(ctx, "user") {
            Ok((_, Some(true))) => {
                Verdict::fail("identity maps, but not the host's user namespace")
            }
            _ => Verdict::pass("no user namespace (rootful): identity uid and gid maps"),
        };
    }
    let single = |m: &[IdMapping]| match m {
        [
            IdMapping {
                inside: 0,
                outside,
                count: 1,
            },
        ] => Some(*outside),
        _ => None,
    };
    let show = |m: &[IdMapping]| {
        m.iter()
            .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // With subordinate ids (`isolation.namespaces.user-ranges`, rootless Podman's layout) the
    // first mapping is the single one and the ranges follow from container id 1.
    let first = |m: &[IdMapping]| match m {
        [head, rest @ ..] if rest.iter().all(|r| r.inside >= 1) => single(&[*head]),
        _ => None,
    };
    let ranges = uids.len() > 1 || gids.len() > 1;
    let shape = if ranges {
        "rootless mapping with subordinate ids"
    } else {
        "rootless single mapping"
    };
    match (first(&uids), first(&gids)) {
        (Some(u), Some(g)) if ranges => match ctx.caller {
            Some((cu, cg)) if (cu, cg) != (u, g) => Verdict::fail(format!(
                "first mappings 0 {u} 1 / 0 {g} 1, but the caller is {cu}:{cg}"
            )),
            _ => Verdict::pass(format!(
                "{shape}: uid_map [{}], gid_map [{}]",
                show(&uids),
                show(&gids)
            )),
        },
        (Some(u), Some(g)) => match ctx.caller {
            Some((cu, cg)) if (cu, cg) != (u, g) => Verdict::fail(format!(
                "single mappings 0 {u} 1 / 0 {g} 1, but the caller is {cu}:{cg}"
            )),
            Some(_) => Verdict::pass(format!(
                "rootless single mapping: uid 0 {u} 1, gid 0 {g} 1 (the caller's ids)"
            )),
            None => Verdict::pass(format!("rootless single mapping: uid 0 {u} 1, gid 0 {g} 1")),
        },
        _ => Verdict::fail(format!(
            "uid_map [{}], gid_map [{}]: not the single mapping",
            show(&uids),
            show(&gids)
        )),
    }
}

#[verifies("isolation.namespaces.ipc")]
pub(super) fn ipc_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "ipc")
}

#[verifies("isolation.namespaces.uts")]
pub(super) fn uts_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "uts")
}

#[verifies("isolation.namespaces.mount")]
pub(super) fn mount_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "mnt")
}

#[verifies("isolation.namespaces.network")]
pub(super) fn network_namespace(ctx: &Ctx) -> Verdict {
    let interfaces = read("/proc/net/dev").map(|t| parse::parse_net_dev(&t));
    let only_lo = interfaces.as_ref().is_ok_and(|i| i == &["lo"]);
    let ifaces = match &interfaces {
        Ok(i) => i.join(","),
        Err(e) => e.clone(),
    };
    match ns_vs_host(ctx, "net") {
        Err(e) => Verdict::fail(e),
        Ok((own, Some(false))) => Verdict::pass(format!("host mode: shares the host's {own}")),
        Ok((own, Some(true))) if only_lo => {
            Verdict::pass(format!("private mode: {own} with only lo"))
        }
        Ok((own, Some(true))) => Verdict::fail(format!(
            "{own} is neither the host's nor private (interfaces: {ifaces})"
        )),
        Ok((own, None)) if only_lo => Verdict::pass(format!("private mode: {own} with only lo")),
        Ok((own, None)) => Verdict::not_applicable(format!(
            "{own} with {ifaces}; the host's net namespace was not given (--host-ns)"
        )),
    }
}

/// Subordinate ids: where the container's user namespace maps more than the single mapping in
/// the rootless shape (0 to the caller, size 1), uids and gids both carry ranges from container
/// id 1, so that a workload can switch to a user and to its group. No user namespace, the
/// single mapping alone, or another layout (a daemon's remapping) is not graded: whether the
/// caller has subordinate ids cannot be seen from inside.
#[verifies("isolation.namespaces.user-ranges")]
pub(super) fn user_ranges(ctx: &Ctx) -> Verdict {
    let maps = (
        ctx.uid_map(),
        read("/proc/self/gid_map").map(|t| parse::parse_id_map(&t)),
    );
    let (uids, gids) = match maps {
        (Ok(u), Ok(g)) => (u, g),
        (Err(e), _) | (_, Err(e)) => return Verdict::fail(e),
    };
    user_ranges_verdict(&uids, &gids)
}

fn user_ranges_verdict(uids: &[IdMapping], gids: &[IdMapping]) -> Verdict {
    let show = |m: &[IdMapping]| {
        m.iter()
            .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let detail = format!("uid_map [{}], gid_map [{}]", show(uids), show(gids));
    if parse::is_identity_map(uids) && parse::is_identity_map(gids) {
        return Verdict::not_applicable("no user namespace (rootful)");
    }
    let rootless = |m: &[IdMapping]| m.first().is_some_and(|h| h.inside == 0 && h.count == 1);
    if !rootless(uids) || !rootless(gids) {
        return Verdict::not_applicable(format!("{detail}: not the rootless layout"));
    }
    let above = |m: &[IdMapping]| m.len() > 1 && m[1..].iter().all(|r| r.inside >= 1);
    match (above(uids), above(gids)) {
        (false, false) => Verdict::not_applicable(format!("{detail}: the single mapping only")),
        (true, true) => Verdict::pass(format!("{detail}: subordinate ids from container id 1")),
        _ => Verdict::fail(format!(
            "{detail}: subordinate ranges for uids or gids only; a workload cannot switch to both"
        )),
    }
}

/// The ICMP echo sockets of `net.ipv4.ping_group_range`: whether this process may open one.
fn icmp_socket_opens() -> Result<(), String> {
    // SAFETY: plain system calls on a descriptor this function owns.
    let fd = unsafe {
        nix::libc::socket(
            nix::libc::AF_INET,
            nix::libc::SOCK_DGRAM | nix::libc::SOCK_CLOEXEC,
            nix::libc::IPPROTO_ICMP,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: `fd` was just opened and is not used after.
    unsafe { nix::libc::close(fd) };
    Ok(())
}

/// In a network namespace of the container's own, Docker's two parameters: every port may be
/// bound (`ip_unprivileged_port_start` 0) and the process's group may open ICMP echo sockets
/// (its gid within `ping_group_range`; the socket opens). On the host's network the
/// parameters are the host's, which an engine must leave alone: not graded.
#[verifies("isolation.sysctls.private-network")]
pub(super) fn private_network_sysctls(ctx: &Ctx) -> Verdict {
    match host_network(ctx) {
        Err(v) => return v,
        Ok(true) => {
            return Verdict::not_applicable(
                "the host's network: its parameters are the host's, which no engine may change",
            );
        }
        Ok(false) => {}
    }
    let port = read("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    let range = read("/proc/sys/net/ipv4/ping_group_range");
    let (port, range) = match (port, range) {
        (Ok(p), Ok(r)) => (
            p.trim().to_owned(),
            r.split_whitespace().map(str::to_owned).collect::<Vec<_>>(),
        ),
        (Err(e), _) | (_, Err(e)) => return Verdict::fail(e),
    };
    let in_range = match range.as_slice() {
        [lo, hi] => lo
            .parse::<u32>()
            .ok()
            .zip(hi.parse::<u32>().ok())
            .is_some_and(|(lo, hi)| lo <= ctx.gid && ctx.gid <= hi),
        _ => false,
    };
    let icmp = icmp_socket_opens();
    let detail = format!(
        "ip_unprivileged_port_start {port}, ping_group_range {} (gid {}), ICMP echo socket: {}",
        range.join(" "),
        ctx.gid,
        icmp.as_ref()
            .map_or_else(|e| e.clone(), |()| "opens".into())
    );
    Verdict::from_bool(port == "0" && in_range && icmp.is_ok(), detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(inside: u32, outside: u32, count: u32) -> IdMapping {
        IdMapping {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn subordinate_ranges_pass_and_uids_only_fail() {
        let podman = [m(0, 1000, 1), m(1, 100000, 65536)];
        assert_eq!(
            user_ranges_verdict(&podman, &podman).outcome,
            crate::Outcome::Pass
        );
        let single = [m(0, 1000, 1)];
        assert_eq!(
            user_ranges_verdict(&podman, &single).outcome,
            crate::Outcome::Fail
        );
        assert_eq!(
            user_ranges_verdict(&single, &single).outcome,
            crate::Outcome::NotApplicable
        );
        let remap = [m(0, 100000, 65536)];
        assert_eq!(
            user_ranges_verdict(&remap, &remap).outcome,
            crate::Outcome::NotApplicable
        );
    }
}
