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

/// This process's uid and gid maps.
fn id_maps(ctx: &Ctx) -> Result<(Vec<IdMapping>, Vec<IdMapping>), String> {
    let gids = read("/proc/self/gid_map").map(|t| parse::parse_id_map(&t))?;
    Ok((ctx.uid_map()?, gids))
}

#[verifies("isolation.namespaces.user")]
pub(super) fn user_namespace(ctx: &Ctx) -> Verdict {
    let (uids, gids) = match id_maps(ctx) {
        Ok(maps) => maps,
        Err(e) => return Verdict::fail(e),
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
    let (uids, gids) = match id_maps(ctx) {
        Ok(maps) => maps,
        Err(e) => return Verdict::fail(e),
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

/// Where the cgroup filesystems are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

#[verifies("isolation.namespaces.cgroup")]
pub(super) fn cgroup_namespace(ctx: &Ctx) -> Verdict {
    let text = match read("/proc/self/cgroup") {
        Ok(t) => t,
        Err(e) => return Verdict::fail(e),
    };
    let private = match ns_vs_host(ctx, "cgroup") {
        Ok((_, p)) => p,
        Err(e) => return Verdict::fail(e),
    };
    cgroup_verdict(&text, &ctx.mounts, private, |p| {
        std::path::Path::new(p).is_dir()
    })
}

/// The mount showing hierarchy `controllers` (`memory`, `cpu,cpuacct`, `name=systemd`; empty
/// for cgroup v2) under [`CGROUP_ROOT`]: the last in mount order that no later mount hides.
/// runc (1.1, rootless, cgroup v1) mounts `/sys/fs/cgroup` twice, the second tmpfs over the
/// first; the hierarchies under the first, `/sys/fs/cgroup/unified` among them, stay listed in
/// `/proc/self/mountinfo` but cannot be reached (measured).
fn hierarchy_mount<'a>(mounts: &'a [parse::Mount], controllers: &str) -> Option<&'a parse::Mount> {
    let hidden = |i: usize, m: &parse::Mount| {
        mounts[i + 1..].iter().any(|later| {
            let over = later.mount_point.trim_end_matches('/');
            m.mount_point == later.mount_point || m.mount_point.starts_with(&format!("{over}/"))
        })
    };
    mounts.iter().enumerate().rev().find_map(|(i, m)| {
        let under =
            m.mount_point == CGROUP_ROOT || m.mount_point.starts_with(&format!("{CGROUP_ROOT}/"));
        let shows = if controllers.is_empty() {
            m.fstype == "cgroup2"
        } else {
            m.fstype == "cgroup" && controllers.split(',').all(|c| m.has_super(c))
        };
        (under && shows && !hidden(i, m)).then_some(m)
    })
}

/// isolation.namespaces.cgroup: every hierarchy `/proc/self/cgroup` names that is mounted under
/// `/sys/fs/cgroup` has the named cgroup, relative to the mount's root, as a directory (`is_dir`)
/// below the mount point; on a cgroup v2 host the namespace is the container's own (`private`:
/// the runner's comparison, or else the path `/`). On a v1 or hybrid host the host's
/// namespace is allowed: it is Docker's and Podman's default there.
fn cgroup_verdict(
    text: &str,
    mounts: &[parse::Mount],
    private: Option<bool>,
    is_dir: impl Fn(&str) -> bool,
) -> Verdict {
    let lines: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            Some((ctrls, path))
        })
        .collect();
    if lines.is_empty() {
        return Verdict::fail("/proc/self/cgroup names no cgroup");
    }
    let unified = lines.iter().all(|(c, _)| c.is_empty());
    let mut consistent = Vec::new();
    let mut bad = Vec::new();
    for (ctrls, path) in &lines {
        let name = if ctrls.is_empty() { "unified" } else { ctrls };
        let Some(m) = hierarchy_mount(mounts, ctrls) else {
            continue;
        };
        let rel = if m.root == "/" {
            Some(*path)
        } else if path == &m.root {
            Some("/")
        } else {
            path.strip_prefix(m.root.as_str())
                .filter(|r| r.starts_with('/'))
        };
        let Some(rel) = rel else {
            bad.push(format!(
                "{name}: /proc/self/cgroup names {path}, but {} shows {} of its hierarchy",
                m.mount_point, m.root
            ));
            continue;
        };
        let dir = format!("{}{}", m.mount_point, rel.trim_end_matches('/'));
        if is_dir(&dir) {
            consistent.push(name.to_owned());
        } else {
            bad.push(format!(
                "{name}: /proc/self/cgroup names {path}, {dir} does not exist"
            ));
        }
    }
    if !bad.is_empty() {
        return Verdict::fail(bad.join("; "));
    }
    if consistent.is_empty() {
        return Verdict::fail(format!(
            "no hierarchy of /proc/self/cgroup is mounted under {CGROUP_ROOT}"
        ));
    }
    let own = private.unwrap_or_else(|| lines.iter().all(|(_, p)| *p == "/"));
    let version = if unified {
        "cgroup v2"
    } else {
        "cgroup v1 or hybrid"
    };
    let views = format!("{} consistent with /proc/self/cgroup", consistent.join(" "));
    match (own, unified) {
        (true, _) => Verdict::pass(format!("own cgroup namespace ({version}); {views}")),
        (false, false) => Verdict::pass(format!(
            "the host's cgroup namespace on a {version} host (Docker's and Podman's default \
             there); {views}"
        )),
        (false, true) => Verdict::fail(format!(
            "the host's cgroup namespace on a {version} host (/proc/self/cgroup names {}); {views}",
            lines[0].1
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

#[cfg(test)]
mod cgroup_tests {
    use super::*;
    use crate::Outcome;

    fn mounts(text: &str) -> Vec<parse::Mount> {
        parse::parse_mountinfo(text)
    }

    const V1_PRIVATE: &str = "\
233 222 0:64 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
237 233 0:32 / /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
234 233 0:29 / /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu
242 233 0:37 / /sys/fs/cgroup/systemd ro,nosuid - cgroup systemd rw,name=systemd
";

    #[test]
    fn cgroup_views_must_agree_and_v2_needs_its_own_namespace() {
        let all = |_: &str| true;
        // v1, own namespace (this engine): every path is /.
        let v = cgroup_verdict(
            "9:name=systemd:/\n4:memory:/\n1:cpu:/\n0::/\n",
            &mounts(V1_PRIVATE),
            Some(true),
            all,
        );
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(
            v.detail.contains("name=systemd memory cpu consistent"),
            "{}",
            v.detail
        );
        // v1, the host's namespace with binds of the container's cgroup (Docker): allowed.
        let docker = "\
237 233 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
";
        let seen = |p: &str| p == "/sys/fs/cgroup/memory";
        let v = cgroup_verdict("4:memory:/docker/abc\n", &mounts(docker), Some(false), seen);
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(
            v.detail.contains("Docker's and Podman's default"),
            "{}",
            v.detail
        );
        // A host path that the mount does not lead to.
        let v = cgroup_verdict(
            "4:memory:/docker/abc\n",
            &mounts(V1_PRIVATE),
            Some(false),
            seen,
        );
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        assert!(
            v.detail
                .contains("/sys/fs/cgroup/memory/docker/abc does not exist"),
            "{}",
            v.detail
        );
        let v = cgroup_verdict("4:memory:/other\n", &mounts(docker), Some(false), all);
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        // v2: the host's namespace fails, its own passes.
        let v2 = "30 20 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n";
        let v = cgroup_verdict("0::/\n", &mounts(v2), Some(true), all);
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        let v = cgroup_verdict("0::/system.slice/x.scope\n", &mounts(v2), None, all);
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        assert!(
            v.detail
                .contains("the host's cgroup namespace on a cgroup v2 host"),
            "{}",
            v.detail
        );
        // A hierarchy under an earlier /sys/fs/cgroup tmpfs that a later one covers (runc 1.1
        // rootless) is not there to be consistent with: only the visible ones are graded.
        let covered = format!(
            "94 222 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
             104 94 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n{V1_PRIVATE}"
        );
        let seen = |p: &str| p != "/sys/fs/cgroup/unified";
        let v = cgroup_verdict("4:memory:/\n0::/\n", &mounts(&covered), Some(true), seen);
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(!v.detail.contains("unified"), "{}", v.detail);
        // Nothing mounted.
        let v = cgroup_verdict("0::/\n", &[], Some(true), all);
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    }
}
