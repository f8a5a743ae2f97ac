//! isolation.md: the namespaces the container has of its own, compared with the host's.

use locald_spec_macros::verifies;

use super::{Ctx, ns_vs_host, read};
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
    match (single(&uids), single(&gids)) {
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
