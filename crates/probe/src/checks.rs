//! The checks: every requirement observable from inside the container.
//!
//! Each check is a function of [`Ctx`] returning a [`Verdict`], annotated with
//! `#[verifies]` for the requirement IDs it observes (an unknown ID is a compile error), and
//! listed in [`CHECKS`] with the same IDs (a unit test compares the two).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use locald_spec_macros::verifies;
use nix::unistd::{AccessFlags, Gid, Uid};

use crate::parse::{self, GroupEntry, HostsEntry, IdMapping, Mount, PasswdEntry, ResolvConf};
use crate::{CheckResult, Verdict};

/// What the checks observe, read once.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Mounts from `/proc/self/mountinfo`.
    pub mounts: Vec<Mount>,
    /// `/proc/self/status` fields.
    pub status: BTreeMap<String, String>,
    /// `/etc/passwd` entries, `None` when unreadable.
    pub passwd: Option<Vec<PasswdEntry>>,
    /// `/etc/group` entries, `None` when unreadable.
    pub group: Option<Vec<GroupEntry>>,
    /// The process environment.
    pub env: BTreeMap<String, String>,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Host namespace links (`pid` → `pid:[4026531836]`), given by the runner.
    pub host_ns: BTreeMap<String, String>,
    /// The host uid and gid that started the engine, given by the runner.
    pub caller: Option<(u32, u32)>,
    /// The host's `/etc/resolv.conf` (empty when it has none), given by the runner.
    pub host_resolv_conf: Option<String>,
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

impl Ctx {
    /// Read everything from the running process and its container; the arguments are what the
    /// runner knows of the host.
    pub fn gather(
        host_ns: BTreeMap<String, String>,
        caller: Option<(u32, u32)>,
        host_resolv_conf: Option<String>,
    ) -> Ctx {
        Ctx {
            mounts: parse::parse_mountinfo(&read("/proc/self/mountinfo").unwrap_or_default()),
            status: parse::parse_status(&read("/proc/self/status").unwrap_or_default()),
            passwd: read("/etc/passwd").ok().map(|t| parse::parse_passwd(&t)),
            group: read("/etc/group").ok().map(|t| parse::parse_group(&t)),
            env: std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
            uid: Uid::current().as_raw(),
            gid: Gid::current().as_raw(),
            host_ns,
            caller,
            host_resolv_conf,
        }
    }

    fn mount(&self, path: &str) -> Option<&Mount> {
        parse::mount_at(&self.mounts, path)
    }

    fn passwd_entry(&self) -> Option<&PasswdEntry> {
        self.passwd.as_ref()?.iter().find(|e| e.uid == self.uid)
    }

    fn uid_map(&self) -> Result<Vec<IdMapping>, String> {
        read("/proc/self/uid_map").map(|t| parse::parse_id_map(&t))
    }

    fn in_user_namespace(&self) -> bool {
        self.uid_map().is_ok_and(|m| !parse::is_identity_map(&m))
    }
}

/// A check: the requirements it observes, its name, and the function.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The requirement IDs (the same as the function's `#[verifies]`).
    pub ids: &'static [&'static str],
    /// The function's name.
    pub name: &'static str,
    /// The check.
    pub run: fn(&Ctx) -> Verdict,
}

macro_rules! checks {
    ($($f:ident: [$($id:literal),+]),+ $(,)?) => {
        /// Every check, in report order.
        pub const CHECKS: &[Check] = &[
            $(Check { ids: &[$($id),+], name: stringify!($f), run: $f }),+
        ];
    };
}

checks! {
    passwd_current_user: ["identity.passwd.current-user"],
    group_current_group: ["identity.group.current-group"],
    additional_gids: ["identity.user.additional-gids"],
    home_from_passwd: ["environment.home"],
    path_default: ["environment.path-default"],
    hostname_env: ["environment.hostname"],
    term_without_terminal: ["environment.term"],
    proc_mount: ["filesystems.proc"],
    dev_mount: ["filesystems.dev"],
    default_devices: ["filesystems.dev"],
    dev_links: ["filesystems.dev"],
    dev_pts: ["filesystems.dev-pts"],
    dev_shm: ["filesystems.dev-shm"],
    dev_mqueue: ["filesystems.dev-mqueue"],
    sys_read_only: ["filesystems.sys"],
    cgroup_read_only: ["filesystems.cgroup"],
    rlimit_nofile: ["process.rlimits.nofile"],
    no_terminal: ["process.terminal"],
    capabilities: ["security.capabilities.default"],
    no_new_privileges: ["security.no-new-privileges"],
    masked_paths: ["security.masked-paths"],
    readonly_paths: ["security.readonly-paths"],
    devices_cgroup: ["security.devices.deny-all"],
    pid_namespace: ["isolation.namespaces.pid"],
    user_namespace: ["isolation.namespaces.user"],
    ipc_namespace: ["isolation.namespaces.ipc"],
    uts_namespace: ["isolation.namespaces.uts"],
    mount_namespace: ["isolation.namespaces.mount"],
    network_namespace: ["isolation.namespaces.network"],
    hostname_default: ["names.hostname.default"],
    hostname_file: ["names.hostname.file"],
    hosts_localhost: ["names.hosts.localhost"],
    hosts_hostname: ["names.hosts.hostname"],
    resolv_conf_host_network: ["dns.resolv-conf.host-network"],
    resolv_conf_private_network: ["dns.resolv-conf.private-network"],
}

/// Run every check and return one result per (check, requirement).
pub fn run_all(ctx: &Ctx) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for c in CHECKS {
        let v = (c.run)(ctx);
        for id in c.ids {
            out.push(CheckResult {
                id: (*id).to_owned(),
                check: format!("checks::{}", c.name),
                outcome: v.outcome,
                detail: v.detail.clone(),
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// identity

#[verifies("identity.passwd.current-user")]
fn passwd_current_user(ctx: &Ctx) -> Verdict {
    match (&ctx.passwd, ctx.passwd_entry()) {
        (None, _) => Verdict::fail("/etc/passwd is not readable"),
        (_, Some(e)) => Verdict::pass(format!("uid {} is `{}` in /etc/passwd", ctx.uid, e.name)),
        (Some(all), None) => Verdict::fail(format!(
            "no entry for uid {} among {} entries of /etc/passwd",
            ctx.uid,
            all.len()
        )),
    }
}

#[verifies("identity.group.current-group")]
fn group_current_group(ctx: &Ctx) -> Verdict {
    match &ctx.group {
        None => Verdict::fail("/etc/group is not readable"),
        Some(all) => match all.iter().find(|g| g.gid == ctx.gid) {
            Some(g) => Verdict::pass(format!("gid {} is `{}` in /etc/group", ctx.gid, g.name)),
            None => Verdict::fail(format!(
                "no entry for gid {} among {} entries of /etc/group",
                ctx.gid,
                all.len()
            )),
        },
    }
}

#[verifies("identity.user.additional-gids")]
fn additional_gids(ctx: &Ctx) -> Verdict {
    let Some(user) = ctx.passwd_entry() else {
        return Verdict::not_applicable(format!("uid {} has no passwd entry", ctx.uid));
    };
    let groups = match nix::unistd::getgroups() {
        Ok(g) => g,
        Err(e) => return Verdict::fail(format!("getgroups: {e}")),
    };
    let mut actual: Vec<u32> = groups
        .iter()
        .map(|g| g.as_raw())
        .filter(|g| *g != ctx.gid)
        .collect();
    actual.sort_unstable();
    actual.dedup();
    let mut expected: Vec<u32> = ctx
        .group
        .iter()
        .flatten()
        .filter(|g| g.members.contains(&user.name) && g.gid != ctx.gid)
        .map(|g| g.gid)
        .collect();
    expected.sort_unstable();
    expected.dedup();
    if actual == expected {
        Verdict::pass(format!(
            "additional gids {actual:?}: the groups of /etc/group listing `{}`",
            user.name
        ))
    } else if actual.is_empty() {
        Verdict::not_applicable(format!(
            "no additional gids, /etc/group lists `{}` in {expected:?}: right only if a group \
             was given",
            user.name
        ))
    } else {
        Verdict::fail(format!(
            "additional gids {actual:?}, but /etc/group lists `{}` in {expected:?}",
            user.name
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// environment

/// The default `PATH` of environment.path-default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[verifies("environment.home")]
fn home_from_passwd(ctx: &Ctx) -> Verdict {
    let home = ctx.env.get("HOME");
    let Some(entry) = ctx.passwd_entry() else {
        return Verdict::fail(format!(
            "HOME={home:?}, but uid {} has no passwd entry to take it from",
            ctx.uid
        ));
    };
    let want = if entry.home.is_empty() {
        "/"
    } else {
        entry.home.as_str()
    };
    match home {
        None => Verdict::fail(format!("HOME is not set (passwd home: {want})")),
        Some(h) if h == want => Verdict::pass(format!("HOME={h}, the passwd entry's home")),
        Some(h) => Verdict::fail(format!("HOME={h}, but the passwd entry's home is {want}")),
    }
}

#[verifies("environment.path-default")]
fn path_default(ctx: &Ctx) -> Verdict {
    match ctx.env.get("PATH") {
        None => Verdict::fail("PATH is not set"),
        Some(p) if p == DEFAULT_PATH => Verdict::pass(format!("PATH={p}")),
        Some(p) => Verdict::not_applicable(format!(
            "PATH={p} is not the default: set by the image or the caller?"
        )),
    }
}

fn hostname() -> Result<String, String> {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .map_err(|e| format!("gethostname: {e}"))
}

#[verifies("environment.hostname")]
fn hostname_env(ctx: &Ctx) -> Verdict {
    let name = match hostname() {
        Ok(n) => n,
        Err(e) => return Verdict::fail(e),
    };
    match ctx.env.get("HOSTNAME") {
        None => Verdict::fail(format!("HOSTNAME is not set (hostname is {name:?})")),
        Some(h) if *h == name => Verdict::pass(format!("HOSTNAME={h}, the hostname")),
        Some(h) => Verdict::not_applicable(format!(
            "HOSTNAME={h} differs from the hostname {name:?}: set by the image or the caller?"
        )),
    }
}

/// Whether any of the standard descriptors is a terminal.
fn has_terminal() -> bool {
    [0, 1, 2].into_iter().any(|fd| {
        // SAFETY: isatty only inspects the descriptor.
        unsafe { nix::libc::isatty(fd) == 1 }
    })
}

#[verifies("environment.term")]
fn term_without_terminal(ctx: &Ctx) -> Verdict {
    let term = ctx.env.get("TERM");
    match (has_terminal(), term) {
        (false, None) => Verdict::pass("no terminal and no TERM"),
        (false, Some(t)) => Verdict::fail(format!("TERM={t} but the process has no terminal")),
        (true, Some(t)) => Verdict::pass(format!("terminal with TERM={t}")),
        (true, None) => Verdict::fail("the process has a terminal but no TERM"),
    }
}

// ---------------------------------------------------------------------------------------------
// filesystems

/// Checks the mount at `path`: its type is one of `types`, it has `options`, and its
/// superblock options hold `super_opts`.
fn check_mount(
    ctx: &Ctx,
    path: &str,
    types: &[&str],
    options: &[&str],
    super_opts: &[&str],
) -> Result<String, String> {
    let m = ctx
        .mount(path)
        .ok_or_else(|| format!("nothing is mounted at {path}"))?;
    let mut problems = Vec::new();
    if !types.contains(&m.fstype.as_str()) {
        problems.push(format!("type {} (want {})", m.fstype, types.join(" or ")));
    }
    let missing = m.missing(options);
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(",")));
    }
    let missing_super: Vec<&str> = super_opts
        .iter()
        .copied()
        .filter(|o| !m.has_super(o))
        .collect();
    if !missing_super.is_empty() {
        problems.push(format!("superblock lacks {}", missing_super.join(",")));
    }
    if problems.is_empty() {
        Ok(format!("{path}: {}", m.summary()))
    } else {
        Err(format!("{path}: {}: {}", m.summary(), problems.join("; ")))
    }
}

fn verdict(r: Result<String, String>) -> Verdict {
    match r {
        Ok(d) => Verdict::pass(d),
        Err(d) => Verdict::fail(d),
    }
}

#[verifies("filesystems.proc")]
fn proc_mount(ctx: &Ctx) -> Verdict {
    let mount = check_mount(ctx, "/proc", &["proc"], &["nosuid", "noexec", "nodev"], &[]);
    let me = std::process::id();
    let self_link = std::fs::read_link("/proc/self")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("unreadable ({e})"));
    let self_ok = self_link == me.to_string();
    match mount {
        Ok(d) if self_ok => Verdict::pass(format!("{d}; /proc/self -> {self_link} (our pid)")),
        Ok(d) => Verdict::fail(format!(
            "{d}; /proc/self -> {self_link}, but our pid is {me}"
        )),
        Err(d) => Verdict::fail(format!("{d}; /proc/self -> {self_link}")),
    }
}

#[verifies("filesystems.dev")]
fn dev_mount(ctx: &Ctx) -> Verdict {
    let r = check_mount(
        ctx,
        "/dev",
        &["tmpfs"],
        &["nosuid"],
        &["mode=755", "size=65536k"],
    );
    // strictatime: neither relatime nor noatime.
    let atime = ctx
        .mount("/dev")
        .is_some_and(|m| !m.has("relatime") && !m.has("noatime"));
    match r {
        Ok(d) if atime => Verdict::pass(format!("{d}, strictatime")),
        Ok(d) => Verdict::fail(format!("{d}: not strictatime")),
        Err(d) => Verdict::fail(d),
    }
}

/// The default devices of config-linux.md § Default Devices: name, major, minor.
pub const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

#[verifies("filesystems.dev")]
fn default_devices(_ctx: &Ctx) -> Verdict {
    let mut bad = Vec::new();
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = format!("/dev/{name}");
        match std::fs::metadata(&path) {
            Ok(m) if m.file_type().is_char_device() => {
                let rdev = m.rdev();
                let (ma, mi) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
                if (ma, mi) != (major, minor) {
                    bad.push(format!("{path} is {ma}:{mi}, want {major}:{minor}"));
                }
            }
            Ok(_) => bad.push(format!("{path} is not a character device")),
            Err(e) => bad.push(format!("{path}: {e}")),
        }
    }
    // /dev/ptmx: the 5:2 device or a link to pts/ptmx.
    match std::fs::symlink_metadata("/dev/ptmx") {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link("/dev/ptmx").unwrap_or_default();
            if target != Path::new("pts/ptmx") && target != Path::new("/dev/pts/ptmx") {
                bad.push(format!("/dev/ptmx -> {}", target.display()));
            }
        }
        Ok(m) if m.file_type().is_char_device() => {
            let rdev = m.rdev();
            let (ma, mi) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
            if (ma, mi) != (5, 2) {
                bad.push(format!("/dev/ptmx is {ma}:{mi}"));
            }
        }
        Ok(_) => bad.push("/dev/ptmx is neither a device nor a link".into()),
        Err(e) => bad.push(format!("/dev/ptmx: {e}")),
    }
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            "null 1:3, zero 1:5, full 1:7, random 1:8, urandom 1:9, tty 5:0, ptmx".to_owned()
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("filesystems.dev")]
fn dev_links(_ctx: &Ctx) -> Verdict {
    let want = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    let bad: Vec<String> = want
        .iter()
        .filter_map(|(link, target)| match std::fs::read_link(link) {
            Ok(t) if t == Path::new(target) => None,
            Ok(t) => Some(format!("{link} -> {} (want {target})", t.display())),
            Err(e) => Some(format!("{link}: {e}")),
        })
        .collect();
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            "/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr link to /proc/self/fd".to_owned()
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("filesystems.dev-pts")]
fn dev_pts(ctx: &Ctx) -> Verdict {
    let r = check_mount(
        ctx,
        "/dev/pts",
        &["devpts"],
        &["nosuid", "noexec"],
        &["mode=620", "ptmxmode=666"],
    );
    let mut problems = Vec::new();
    // gid=5 only when gid 5 is mapped.
    if let Some(m) = ctx.mount("/dev/pts")
        && let Some(gid) = m.super_value("gid")
        && let Ok(text) = read("/proc/self/gid_map")
    {
        let gid: u32 = gid.parse().unwrap_or(u32::MAX);
        let mapped = parse::parse_id_map(&text)
            .iter()
            .any(|r| gid >= r.inside && gid - r.inside < r.count);
        if !mapped {
            problems.push(format!("gid={gid} but gid {gid} is not mapped"));
        }
    }
    // A new instance holds no pty of the host: only ptmx, plus ours if we have a terminal.
    let entries: Vec<String> = std::fs::read_dir("/dev/pts")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "ptmx")
                .collect()
        })
        .unwrap_or_default();
    let allowed = usize::from(has_terminal());
    if entries.len() > allowed {
        problems.push(format!(
            "/dev/pts holds {} ptys ({}): not a new instance",
            entries.len(),
            entries.join(",")
        ));
    }
    match r {
        Ok(d) if problems.is_empty() => Verdict::pass(format!("{d}; new instance")),
        Ok(d) => Verdict::fail(format!("{d}; {}", problems.join("; "))),
        Err(d) => Verdict::fail(d),
    }
}

#[verifies("filesystems.dev-shm")]
fn dev_shm(ctx: &Ctx) -> Verdict {
    let r = check_mount(
        ctx,
        "/dev/shm",
        &["tmpfs"],
        &["nosuid", "noexec", "nodev"],
        &["size=65536k"],
    );
    // tmpfs prints `mode=` only when it is not 1777, so look at the directory itself.
    let mode = std::fs::metadata("/dev/shm").map(|m| m.permissions().mode() & 0o7777);
    match (r, mode) {
        (Ok(d), Ok(0o1777)) => Verdict::pass(format!("{d}, mode 1777")),
        (Ok(d), Ok(m)) => Verdict::fail(format!("{d}, mode {m:o} (want 1777)")),
        (Ok(d), Err(e)) => Verdict::fail(format!("{d}; stat: {e}")),
        (Err(d), _) => Verdict::fail(d),
    }
}

#[verifies("filesystems.dev-mqueue")]
fn dev_mqueue(ctx: &Ctx) -> Verdict {
    verdict(check_mount(
        ctx,
        "/dev/mqueue",
        &["mqueue"],
        &["nosuid", "noexec", "nodev"],
        &[],
    ))
}

#[verifies("filesystems.sys")]
fn sys_read_only(ctx: &Ctx) -> Verdict {
    verdict(check_mount(
        ctx,
        "/sys",
        &["sysfs"],
        &["ro", "nosuid", "noexec", "nodev"],
        &[],
    ))
}

#[verifies("filesystems.cgroup")]
fn cgroup_read_only(ctx: &Ctx) -> Verdict {
    const OPTS: [&str; 4] = ["nosuid", "noexec", "nodev", "relatime"];
    let Some(m) = ctx.mount("/sys/fs/cgroup") else {
        return Verdict::fail("nothing is mounted at /sys/fs/cgroup");
    };
    match m.fstype.as_str() {
        // cgroup v2: one read-only cgroup2 mount.
        "cgroup2" => verdict(check_mount(
            ctx,
            "/sys/fs/cgroup",
            &["cgroup2"],
            &["ro", "nosuid", "noexec", "nodev", "relatime"],
            &[],
        )),
        // cgroup v1: a tmpfs holding one mount per hierarchy. The cgroup filesystems must be
        // read-only; runc leaves the tmpfs itself read-write, so it must at least not be
        // writable (runc makes it 0555, and the process has no CAP_DAC_OVERRIDE).
        "tmpfs" => {
            let hierarchies: Vec<&Mount> = ctx
                .mounts
                .iter()
                // Children of the visible tmpfs: mounts below a covered one are hidden.
                .filter(|c| c.parent == m.id && (c.fstype == "cgroup" || c.fstype == "cgroup2"))
                .collect();
            let mut problems = Vec::new();
            let missing = m.missing(&OPTS);
            if !missing.is_empty() {
                problems.push(format!("the tmpfs lacks {}", missing.join(",")));
            }
            let writable = nix::unistd::access("/sys/fs/cgroup", AccessFlags::W_OK).is_ok();
            if !m.read_only() && writable {
                problems.push("the tmpfs is read-write and writable by this process".to_owned());
            }
            if hierarchies.is_empty() {
                problems.push("no cgroup hierarchy is mounted below it".to_owned());
            }
            for h in &hierarchies {
                let mut lacking = h.missing(&OPTS);
                if !h.read_only() {
                    lacking.insert(0, "ro");
                }
                if !lacking.is_empty() {
                    problems.push(format!("{} lacks {}", h.mount_point, lacking.join(",")));
                }
            }
            let detail = format!(
                "/sys/fs/cgroup: {}{}; {} v1 hierarchies",
                m.summary(),
                if m.read_only() {
                    ""
                } else if writable {
                    ", writable"
                } else {
                    ", not writable"
                },
                hierarchies.len()
            );
            if problems.is_empty() {
                Verdict::pass(format!("{detail}, all read-only"))
            } else {
                Verdict::fail(format!("{detail}: {}", problems.join("; ")))
            }
        }
        other => Verdict::fail(format!(
            "/sys/fs/cgroup is {other} ({}), not a cgroup filesystem",
            m.summary()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// process

#[verifies("process.rlimits.nofile")]
fn rlimit_nofile(_ctx: &Ctx) -> Verdict {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        // Only the soft limit is the engine's to choose; the hard one is whatever the engine
        // (or the host's init) runs with, which the probe cannot know.
        Ok((soft, hard)) => Verdict::from_bool(
            soft == hard.min(1024),
            format!("soft {soft}, hard {hard} (want soft 1024, or the hard limit when lower)"),
        ),
        Err(e) => Verdict::fail(format!("getrlimit: {e}")),
    }
}

#[verifies("process.terminal")]
fn no_terminal(_ctx: &Ctx) -> Verdict {
    if has_terminal() {
        Verdict::not_applicable("the process has a terminal: right only if the caller asked")
    } else {
        Verdict::pass("no terminal on stdin, stdout or stderr (none was asked for)")
    }
}

// ---------------------------------------------------------------------------------------------
// security

/// The capabilities security.capabilities.default asks for at least (Podman's default set).
pub const DEFAULT_CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// What the requirement allows beyond [`DEFAULT_CAPS`]: the rest of Docker's default set.
pub const ALLOWED_EXTRA_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"];

#[verifies("security.capabilities.default")]
fn capabilities(ctx: &Ctx) -> Verdict {
    let need = parse::caps_to_mask(&DEFAULT_CAPS);
    let allowed = need | parse::caps_to_mask(&ALLOWED_EXTRA_CAPS);
    let mut bad = Vec::new();
    let mut seen = Vec::new();
    for (key, (low, high)) in [
        ("CapBnd", (need, allowed)),
        ("CapEff", (need, allowed)),
        ("CapPrm", (need, allowed)),
        ("CapInh", (0, 0)),
        ("CapAmb", (0, 0)),
    ] {
        match ctx.status.get(key).and_then(|v| parse::cap_mask(v)) {
            Some(m) if m & low == low && m & !high == 0 => seen.push(format!("{key}={m:x}")),
            Some(m) => {
                let extra = parse::cap_names(m & !high);
                let lacking = parse::cap_names(low & !m);
                bad.push(format!(
                    "{key}={m:016x} (beyond Docker's set: {}; missing: {})",
                    if extra.is_empty() {
                        "-".into()
                    } else {
                        extra.join(",")
                    },
                    if lacking.is_empty() {
                        "-".into()
                    } else {
                        lacking.join(",")
                    },
                ));
            }
            None => bad.push(format!("{key} not in /proc/self/status")),
        }
    }
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            format!(
                "{}: at least Podman's eleven, nothing beyond Docker's fourteen; inheritable, \
                 ambient empty",
                seen.join(" ")
            )
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("security.no-new-privileges")]
fn no_new_privileges(ctx: &Ctx) -> Verdict {
    match ctx.status.get("NoNewPrivs").map(String::as_str) {
        Some("1") => Verdict::pass("NoNewPrivs: 1"),
        Some(v) => Verdict::fail(format!("NoNewPrivs: {v}")),
        None => Verdict::fail("NoNewPrivs not in /proc/self/status"),
    }
}

/// The paths of security.masked-paths.
pub const MASKED_PATHS: [&str; 10] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

#[verifies("security.masked-paths")]
fn masked_paths(ctx: &Ctx) -> Verdict {
    let mut masked = Vec::new();
    let mut absent = Vec::new();
    let mut bad = Vec::new();
    for path in MASKED_PATHS {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                absent.push(path);
                continue;
            }
            // Unreadable metadata: nothing can be read from it either.
            Err(_) => {
                masked.push(path);
                continue;
            }
        };
        let mounted_over = ctx.mount(path).is_some();
        let yields_nothing = if meta.is_dir() {
            std::fs::read_dir(path).map_or(true, |mut d| d.next().is_none())
        } else {
            use std::io::Read;
            std::fs::File::open(path).map_or(true, |mut f| {
                let mut buf = [0u8; 1];
                f.read(&mut buf).map_or(true, |n| n == 0)
            })
        };
        if mounted_over && yields_nothing {
            masked.push(path);
        } else {
            bad.push(format!(
                "{path} {}",
                if yields_nothing {
                    "is not mounted over"
                } else {
                    "is readable"
                }
            ));
        }
    }
    if bad.is_empty() {
        Verdict::pass(format!(
            "masked: {}; absent: {}",
            masked.join(" "),
            if absent.is_empty() {
                "-".into()
            } else {
                absent.join(" ")
            }
        ))
    } else {
        Verdict::fail(bad.join("; "))
    }
}

/// The paths of security.readonly-paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[verifies("security.readonly-paths")]
fn readonly_paths(ctx: &Ctx) -> Verdict {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for path in READONLY_PATHS {
        if !Path::new(path).exists() {
            continue;
        }
        // The mount must be read-only; access(2) must refuse writing (without writing: a
        // writable /proc/sysrq-trigger would act on the host).
        let ro = ctx.mount(path).is_some_and(Mount::read_only);
        let writable = nix::unistd::access(path, AccessFlags::W_OK).is_ok();
        if ro && !writable {
            ok.push(path);
        } else {
            bad.push(format!(
                "{path}: {}{}",
                if ro {
                    "read-only mount"
                } else {
                    "no read-only mount of its own"
                },
                if writable { ", writable" } else { "" }
            ));
        }
    }
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            format!("read-only: {}", ok.join(" "))
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("security.devices.deny-all")]
fn devices_cgroup(ctx: &Ctx) -> Verdict {
    if ctx.in_user_namespace() {
        return Verdict::not_applicable(
            "user namespace: the runtime applies no device cgroup rootless, and no device can \
             be created without CAP_MKNOD in the initial user namespace",
        );
    }
    let list = "/sys/fs/cgroup/devices/devices.list";
    match read(list) {
        Ok(text) => {
            let rules: Vec<&str> = text.lines().collect();
            if rules.contains(&"a *:* rwm") {
                Verdict::fail(format!("{list} allows every device (a *:* rwm)"))
            } else {
                Verdict::pass(format!("{list}: {} allow rules, no a *:* rwm", rules.len()))
            }
        }
        Err(_) => Verdict::not_applicable(
            "no cgroup v1 devices.list (cgroup v2 device rules are eBPF, not observable)",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// isolation

fn own_ns(kind: &str) -> Result<String, String> {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.display().to_string())
        .map_err(|e| format!("/proc/self/ns/{kind}: {e}"))
}

/// Compares our namespace of `kind` with the host's one the runner passed.
fn ns_vs_host(ctx: &Ctx, kind: &str) -> Result<(String, Option<bool>), String> {
    let own = own_ns(kind)?;
    Ok((own.clone(), ctx.host_ns.get(kind).map(|h| *h != own)))
}

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
fn pid_namespace(ctx: &Ctx) -> Verdict {
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
fn user_namespace(ctx: &Ctx) -> Verdict {
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
fn ipc_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "ipc")
}

#[verifies("isolation.namespaces.uts")]
fn uts_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "uts")
}

#[verifies("isolation.namespaces.mount")]
fn mount_namespace(ctx: &Ctx) -> Verdict {
    private_ns(ctx, "mnt")
}

#[verifies("isolation.namespaces.network")]
fn network_namespace(ctx: &Ctx) -> Verdict {
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

// ---------------------------------------------------------------------------------------------
// names

/// Whether `name` is a hostname names.hostname.default allows.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[verifies("names.hostname.default")]
fn hostname_default(_ctx: &Ctx) -> Verdict {
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

/// Lists addresses for a detail.
fn show_ips(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        "nothing".into()
    } else {
        ips.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[verifies("names.hostname.file")]
fn hostname_file(ctx: &Ctx) -> Verdict {
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

fn hosts() -> Result<Vec<HostsEntry>, String> {
    read("/etc/hosts").map(|t| parse::parse_hosts(&t))
}

#[verifies("names.hosts.localhost")]
fn hosts_localhost(_ctx: &Ctx) -> Verdict {
    match hosts() {
        Err(e) => Verdict::fail(e),
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
fn hosts_hostname(_ctx: &Ctx) -> Verdict {
    match (hostname(), hosts()) {
        (Err(e), _) | (_, Err(e)) => Verdict::fail(e),
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

// ---------------------------------------------------------------------------------------------
// dns

/// The servers of dns.resolv-conf.private-network when no other is left.
pub const FALLBACK_NAMESERVERS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
];

/// The systemd-resolved stub listener.
pub const RESOLVED_STUB: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53));

/// Whether the container shares the host's network namespace (`Ok(true)`), has one of its own
/// (`Ok(false)`), or the runner did not say (a not-applicable verdict).
fn host_network(ctx: &Ctx) -> Result<bool, Verdict> {
    match ns_vs_host(ctx, "net") {
        Err(e) => Err(Verdict::fail(e)),
        Ok((_, Some(private))) => Ok(!private),
        Ok((own, None)) => Err(Verdict::not_applicable(format!(
            "{own}; the host's net namespace was not given (--host-ns): host or private \
             network unknown"
        ))),
    }
}

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
fn resolv_conf_host_network(ctx: &Ctx) -> Verdict {
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
fn resolv_conf_private_network(ctx: &Ctx) -> Verdict {
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

/// dns.resolv-conf.private-network: at least one nameserver and no loopback one; when the
/// host's file is known and is not the systemd-resolved stub alone (whose upstream list the
/// probe cannot see), exactly the host's servers without loopback ones (or the fallback) and
/// the host's search domains and options.
fn resolv_private_verdict(own: &ResolvConf, host: Option<&ResolvConf>) -> Verdict {
    if own.nameservers.is_empty() {
        return Verdict::fail(format!(
            "/etc/resolv.conf has {}: resolvers would ask the container's own loopback",
            show_rc(own)
        ));
    }
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
    if fallback {
        want.nameservers = FALLBACK_NAMESERVERS.to_vec();
    }
    let how = if fallback {
        "the host's has no other than loopback: the fallback"
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

    /// Every `#[verifies]` function of this file is in [`CHECKS`] with the same IDs.
    #[test]
    fn registry_matches_attributes() {
        let src = include_str!("checks.rs");
        let mut found = BTreeMap::new();
        let mut pending: Option<Vec<String>> = None;
        for line in src.lines() {
            let t = line.trim();
            if let Some(args) = t
                .strip_prefix("#[verifies(")
                .and_then(|r| r.strip_suffix(")]"))
            {
                pending = Some(
                    args.split(',')
                        .map(|s| s.trim().trim_matches('"').to_owned())
                        .collect(),
                );
            } else if let Some(ids) = pending.take() {
                let name = t
                    .strip_prefix("fn ")
                    .and_then(|r| r.split('(').next())
                    .expect("#[verifies] directly before `fn`");
                found.insert(name.to_owned(), ids);
            }
        }
        let registry: BTreeMap<String, Vec<String>> = CHECKS
            .iter()
            .map(|c| {
                (
                    c.name.to_owned(),
                    c.ids.iter().map(|s| (*s).to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(found, registry);
        assert_eq!(CHECKS.len(), registry.len(), "check names are unique");
    }

    #[test]
    fn hostnames() {
        assert!(valid_hostname("0123456789ab"));
        assert!(valid_hostname("a.b-c"));
        assert!(!valid_hostname(""));
        assert!(!valid_hostname("a_b"));
        assert!(!valid_hostname(&"a".repeat(65)));
    }

    #[test]
    fn default_caps_mask() {
        assert_eq!(parse::caps_to_mask(&DEFAULT_CAPS), 0x8004_05fb);
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

    /// What locald-engine generates for the hostname `web.local` with an extra host.
    const LOCALD_HOSTS: &str = "\
# Generated by locald-engine for this container; edits are not kept.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
127.0.0.1\tweb.local web
::1\tweb.local web
192.0.2.7\tdb
";

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
        for (own, says) in [
            ("", "resolvers would ask the container's own loopback"),
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
