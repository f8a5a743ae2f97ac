//! filesystems.md: the kernel filesystems, their mount options, and the default devices.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use locald_spec_macros::verifies;
use nix::unistd::AccessFlags;

use super::{Ctx, has_terminal, read};
use crate::Verdict;
use crate::parse::{self, Mount};

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
pub(super) fn proc_mount(ctx: &Ctx) -> Verdict {
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
pub(super) fn dev_mount(ctx: &Ctx) -> Verdict {
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
pub(super) fn default_devices(_ctx: &Ctx) -> Verdict {
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
pub(super) fn dev_links(_ctx: &Ctx) -> Verdict {
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
pub(super) fn dev_pts(ctx: &Ctx) -> Verdict {
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
pub(super) fn dev_shm(ctx: &Ctx) -> Verdict {
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
pub(super) fn dev_mqueue(ctx: &Ctx) -> Verdict {
    verdict(check_mount(
        ctx,
        "/dev/mqueue",
        &["mqueue"],
        &["nosuid", "noexec", "nodev"],
        &[],
    ))
}

#[verifies("filesystems.sys")]
pub(super) fn sys_read_only(ctx: &Ctx) -> Verdict {
    verdict(check_mount(
        ctx,
        "/sys",
        &["sysfs"],
        &["ro", "nosuid", "noexec", "nodev"],
        &[],
    ))
}

/// The cgroup hierarchies mounted on the tmpfs `tmpfs` (its children: mounts below a covered
/// one are hidden), each as the last mount at its path: a runtime's read-only bind stacked on a
/// hierarchy (a read-only path) is what the process sees there.
fn visible_hierarchies<'a>(mounts: &'a [Mount], tmpfs: &Mount) -> Vec<&'a Mount> {
    let mut hierarchies: Vec<&Mount> = Vec::new();
    for c in mounts
        .iter()
        .filter(|c| c.parent == tmpfs.id && (c.fstype == "cgroup" || c.fstype == "cgroup2"))
    {
        let top = parse::mount_at(mounts, &c.mount_point).unwrap_or(c);
        if !hierarchies.iter().any(|h| h.mount_point == top.mount_point) {
            hierarchies.push(top);
        }
    }
    hierarchies
}

#[verifies("filesystems.cgroup")]
pub(super) fn cgroup_read_only(ctx: &Ctx) -> Verdict {
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
            let hierarchies = visible_hierarchies(&ctx.mounts, m);
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

/// The root is the container's own to change, as package tools and `useradd` need: mounted
/// read-write, and root can create a file in `/etc` (removed at once). A read-only root is an
/// option (`--read-only`), not graded.
#[verifies("filesystems.root")]
pub(super) fn root_writable(ctx: &Ctx) -> Verdict {
    let Some(root) = ctx.mount("/") else {
        return Verdict::fail("nothing is mounted at /");
    };
    if root.options.iter().any(|o| o == "ro") {
        return Verdict::not_applicable(format!("/: {}: a read-only root", root.summary()));
    }
    if ctx.uid != 0 {
        return Verdict::not_applicable(format!("uid {} cannot write /etc", ctx.uid));
    }
    let probe = Path::new("/etc").join(format!(".locald-probe-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(_) => Verdict::pass(format!("/: {}; root wrote /etc", root.summary())),
        Err(e) => Verdict::fail(format!(
            "/: {}, but root cannot create a file in /etc: {e}",
            root.summary()
        )),
    }
}

/// The directories of filesystems.read-only-tmpfs.
pub const READ_ONLY_TMPFS_DIRS: [&str; 2] = ["/run", "/var/tmp"];

#[verifies("filesystems.read-only-tmpfs")]
pub(super) fn read_only_tmpfs(ctx: &Ctx) -> Verdict {
    let root_ro = ctx.mount("/").is_some_and(Mount::read_only);
    read_only_tmpfs_verdict(root_ro, |dir| {
        ctx.mount(dir).map(|m| (m.fstype.clone(), m.read_only()))
    })
}

/// filesystems.read-only-tmpfs: with a read-only root, a writable tmpfs on `/run` and
/// `/var/tmp` (or a writable mount of the caller's, which the requirement lets replace it);
/// with a writable root nothing is asked (`mount_of` gives a directory's own mount: its type
/// and whether it is read-only).
fn read_only_tmpfs_verdict(
    root_read_only: bool,
    mount_of: impl Fn(&str) -> Option<(String, bool)>,
) -> Verdict {
    if !root_read_only {
        return Verdict::pass(
            "the root is writable: /run and /var/tmp are the image's, in the container's layer",
        );
    }
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for dir in READ_ONLY_TMPFS_DIRS {
        match mount_of(dir) {
            Some((fstype, false)) => ok.push(format!("{dir} ({fstype})")),
            Some((fstype, true)) => bad.push(format!("{dir} is a read-only {fstype} mount")),
            None => bad.push(format!(
                "{dir} has no mount of its own on the read-only root"
            )),
        }
    }
    if bad.is_empty() {
        Verdict::pass(format!("read-only root; writable: {}", ok.join(", ")))
    } else {
        Verdict::fail(format!("read-only root: {}", bad.join("; ")))
    }
}

/// The generated files a caller's bind may replace.
pub const NAME_FILES: [&str; 3] = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

#[verifies("filesystems.bind-mounts.replace-generated")]
pub(super) fn name_files_mounted_once(ctx: &Ctx) -> Verdict {
    name_files_verdict(&ctx.mounts)
}

/// filesystems.bind-mounts.replace-generated, as far as a process can see it: none of the
/// name files has two mounts stacked at its path (the caller's over the engine's, or the
/// reverse). Which one the caller meant is not visible from inside.
fn name_files_verdict(mounts: &[Mount]) -> Verdict {
    let mut seen = Vec::new();
    let mut stacked = Vec::new();
    for path in NAME_FILES {
        match mounts.iter().filter(|m| m.mount_point == path).count() {
            0 => seen.push(format!("{path}: the image's")),
            1 => seen.push(format!("{path}: one mount")),
            n => stacked.push(format!("{path}: {n} mounts stacked")),
        }
    }
    if stacked.is_empty() {
        Verdict::pass(seen.join("; "))
    } else {
        Verdict::fail(stacked.join("; "))
    }
}

#[cfg(test)]
mod duty_tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn run_and_var_tmp_must_be_writable_on_a_read_only_root() {
        let none = |_: &str| None;
        assert_eq!(read_only_tmpfs_verdict(false, none).outcome, Outcome::Pass);
        let v = read_only_tmpfs_verdict(true, none);
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        assert!(
            v.detail.contains("/run has no mount of its own"),
            "{}",
            v.detail
        );
        let tmpfs = |_: &str| Some(("tmpfs".to_owned(), false));
        assert_eq!(read_only_tmpfs_verdict(true, tmpfs).outcome, Outcome::Pass);
        let ro = |d: &str| Some(("tmpfs".to_owned(), d == "/var/tmp"));
        assert_eq!(read_only_tmpfs_verdict(true, ro).outcome, Outcome::Fail);
    }

    /// A hierarchy mounted read-write and covered by a read-only bind of itself (libcontainer's
    /// mount, then the engine's read-only path) is seen read-only; one not covered is seen as
    /// mounted.
    #[test]
    fn a_hierarchy_is_seen_as_its_last_mount() {
        let mounts = parse::parse_mountinfo(
            "100 99 0:47 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs rw\n\
             101 100 0:29 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu\n\
             102 100 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n\
             110 101 0:29 / /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu\n",
        );
        let tmpfs = parse::mount_at(&mounts, "/sys/fs/cgroup").unwrap();
        let seen: Vec<(&str, bool)> = visible_hierarchies(&mounts, tmpfs)
            .iter()
            .map(|m| (m.mount_point.as_str(), m.read_only()))
            .collect();
        assert_eq!(
            seen,
            [
                ("/sys/fs/cgroup/cpu", true),
                ("/sys/fs/cgroup/memory", false)
            ]
        );
    }

    #[test]
    fn a_name_file_with_two_mounts_fails() {
        let one =
            parse::parse_mountinfo("300 200 8:1 /c1/hosts /etc/hosts rw - ext4 /dev/vda rw\n");
        assert_eq!(name_files_verdict(&one).outcome, Outcome::Pass);
        let two = parse::parse_mountinfo(
            "300 200 8:1 /c1/hosts /etc/hosts rw - ext4 /dev/vda rw\n\
             301 300 8:1 /k8s/etc-hosts /etc/hosts rw - ext4 /dev/vda rw\n",
        );
        let v = name_files_verdict(&two);
        assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
        assert!(
            v.detail.contains("/etc/hosts: 2 mounts stacked"),
            "{}",
            v.detail
        );
    }
}
