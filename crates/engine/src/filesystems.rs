//! The root filesystem and the mount list.
//!
//! The root is the container's own overlay of the image directory (see [`crate::layer`]): the
//! image is the read-only lower layer, never copied and never written; what the container
//! writes lands in its own layer.
//!
//! The pseudo filesystems are the defaults of runc, Docker and containerd (runtime-spec
//! `config-linux.md` §Default Filesystems), adapted to the user-namespace case:
//!
//! - `/dev/pts` gets `gid=5` (tty) only when gid 5 is mapped; the rootless single mapping maps
//!   only 0, and runc refuses `gid=` options naming unmapped gids.
//! - `/sys`: sysfs cannot be mounted from a user namespace that does not own its network
//!   namespace (measured: EPERM), so with a user namespace and the host network the host's
//!   `/sys` is bind-mounted recursively, read-only, as Podman does.
//! - `/sys/fs/cgroup` is a read-only `cgroup` mount in every mode; runc (1.1, cgroup v1 or
//!   hybrid) turns it into read-only binds of the container's own hierarchies in a tmpfs,
//!   which works rootless too (measured on the project's machines). That tmpfs would stay
//!   read-write (and, rootless, writable by the container's root), so it is also listed as a
//!   read-only path ([`CGROUP_READONLY_PATH`]).
//!
//! With a read-only root, `/tmp` is a tmpfs ([`tmp_mount`]); otherwise the image's own.
//!
//! Then the bundle's generated files (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) are
//! bind-mounted, writable unless the root is read-only (as Docker does), and the caller's binds
//! come last. `/etc/passwd` and `/etc/group` are written into the container's layer instead
//! (see [`crate::layer`]).

use std::path::Path;

use locald_spec_macros::implements;

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::options::{BindMount, NetworkMode, RunOptions};
use crate::plan::{Item, MountEntry, Plan, Requirement};
use crate::requirement;

/// Options of the binds of generated state files (`ro` is added with a read-only root).
pub const STATE_FILE_BIND_OPTIONS: &[&str] = &["bind", "nosuid", "nodev", "noexec"];

/// Whether the container's gid 5 (tty, used by devpts) is mapped.
#[implements("filesystems.dev-pts")]
fn gid5_mapped(opts: &RunOptions) -> bool {
    // Without a user namespace every gid is the host's; the single mapping maps only 0.
    opts.id_mapping.is_none()
}

/// Whether the container can mount sysfs: it needs a network namespace owned by its user
/// namespace, or no user namespace at all.
#[implements("filesystems.sys")]
fn can_mount_sysfs(opts: &RunOptions) -> bool {
    opts.id_mapping.is_none() || opts.network == NetworkMode::Private
}

/// The root filesystem: the container's own overlay of the image directory (by absolute path,
/// never a copy, never written), mounted at the bundle's `rootfs`; read-only when the caller
/// asks.
#[implements("filesystems.root")]
fn plan_root(plan: &mut Plan, rootfs: &Path, readonly: bool) -> Result<()> {
    if !rootfs.is_absolute() {
        return Err(Error::InvalidOption {
            field: "rootfs",
            reason: format!("{} is not an absolute path", rootfs.display()),
        });
    }
    plan.push(
        requirement!("filesystems.root"),
        Item::Root {
            image: rootfs.to_owned(),
            readonly,
        },
    );
    Ok(())
}

/// A layer thrown away with the container is mounted `volatile`: no sync of the upper
/// filesystem while it runs or when it is unmounted, which would write back every dirty page
/// of the state directory's filesystem, the caller's and other programs' too.
#[implements("filesystems.layer.volatile")]
fn plan_volatile_layer(plan: &mut Plan, opts: &RunOptions) {
    if opts.volatile_layer {
        plan.push(
            requirement!("filesystems.layer.volatile"),
            Item::VolatileLayer,
        );
    }
}

/// `/proc`: a proc mount, nosuid, noexec, nodev.
#[implements("filesystems.proc")]
pub fn proc_mount() -> MountEntry {
    MountEntry::new("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])
}

/// `/dev`: a small tmpfs; runc creates the default device nodes in it.
#[implements("filesystems.dev")]
pub fn dev_mount() -> MountEntry {
    MountEntry::new(
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    )
}

/// `/dev/pts`: a private devpts instance (`newinstance`, its own `ptmx`), owned by gid 5 (tty)
/// when that gid is mapped.
#[implements("filesystems.dev-pts")]
pub fn dev_pts_mount(opts: &RunOptions) -> MountEntry {
    let mut options = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if gid5_mapped(opts) {
        options.push("gid=5");
    }
    MountEntry::new("/dev/pts", "devpts", "devpts", &options)
}

/// `/dev/shm`: a tmpfs for POSIX shared memory.
#[implements("filesystems.dev-shm")]
pub fn dev_shm_mount() -> MountEntry {
    MountEntry::new(
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    )
}

/// `/dev/mqueue`: an mqueue mount for POSIX message queues.
#[implements("filesystems.dev-mqueue")]
pub fn dev_mqueue_mount() -> MountEntry {
    MountEntry::new(
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    )
}

/// `/sys`: read-only sysfs, or, where sysfs cannot be mounted (a user namespace without its own
/// network namespace), a read-only recursive bind of the host's `/sys`.
#[implements("filesystems.sys")]
pub fn sys_mount(opts: &RunOptions) -> MountEntry {
    if can_mount_sysfs(opts) {
        MountEntry::new(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        MountEntry::new(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    }
}

/// `/sys/fs/cgroup`: a read-only cgroup mount.
#[implements("filesystems.cgroup")]
pub fn cgroup_mount() -> MountEntry {
    MountEntry::new(
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["nosuid", "noexec", "nodev", "relatime", "ro"],
    )
}

/// `/tmp` when the root filesystem is read-only: a tmpfs, nosuid, nodev, mode 1777 (sticky,
/// writable by every user, as `/tmp` is in an image). With a writable root nothing is mounted:
/// the image's own `/tmp` is used as it is, as Docker and Podman do.
#[implements("filesystems.tmp")]
pub fn tmp_mount(opts: &RunOptions) -> Option<MountEntry> {
    opts.readonly_rootfs
        .then(|| MountEntry::new("/tmp", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=1777"]))
}

/// The directories besides `/tmp` that a read-only root gets a tmpfs on, with their modes:
/// `/run` (pid files, sockets, locks; root's, as the FHS has it) and `/var/tmp` (temporary
/// files, world-writable and sticky like `/tmp`).
#[implements("filesystems.read-only-tmpfs")]
pub const READ_ONLY_TMPFS_DIRS: [(&str, &str); 2] =
    [("/run", "mode=755"), ("/var/tmp", "mode=1777")];

/// `/run` and `/var/tmp` when the root filesystem is read-only: a tmpfs each, `nosuid`,
/// `nodev`, with the image's contents copied in (runc's `tmpcopyup`) when the container has no
/// user namespace. Under the single mapping runc cannot give the copies their owners (`lchown
/// ... invalid argument` for an owner the namespace does not map, measured), so there the
/// tmpfs starts empty. A caller's bind mount on either replaces its tmpfs. With a writable
/// root nothing is mounted: both are the image's, in the container's own layer.
#[implements("filesystems.read-only-tmpfs")]
pub fn read_only_tmpfs_mounts(opts: &RunOptions) -> Vec<MountEntry> {
    if !opts.readonly_rootfs {
        return Vec::new();
    }
    READ_ONLY_TMPFS_DIRS
        .iter()
        .filter(|(dest, _)| !opts.binds.iter().any(|b| b.destination == *dest))
        .map(|(dest, mode)| {
            let mut options = vec!["nosuid", "nodev", mode];
            if opts.id_mapping.is_none() {
                options.push("tmpcopyup");
            }
            MountEntry::new(dest, "tmpfs", "tmpfs", &options)
        })
        .collect()
}

/// Whether a caller's bind mount targets `dest`, so that it replaces what the engine would
/// generate there.
#[implements("filesystems.bind-mounts.replace-generated")]
pub fn caller_binds(opts: &RunOptions, dest: &str) -> bool {
    opts.binds.iter().any(|b| b.destination == dest)
}

/// Drop the generated files (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) whose place a
/// caller's bind mount takes: the caller's file is the one the container sees, mounted once,
/// and the engine neither writes nor mounts its own. Options that would only have shaped a
/// replaced file (extra hosts for `/etc/hosts`, DNS overrides for `/etc/resolv.conf`) are
/// refused, naming the bind, rather than dropped without a word.
#[implements("filesystems.bind-mounts.replace-generated")]
fn drop_generated_files_the_caller_replaces(plan: &mut Plan, opts: &RunOptions) -> Result<()> {
    let refuse = |field: &'static str, option: &str, dest: &str| crate::Error::InvalidOption {
        field,
        reason: format!(
            "{option} shapes the engine's {dest}, but a bind mount of the caller's replaces \
             that file; put the entries in the mounted file instead"
        ),
    };
    if caller_binds(opts, "/etc/hosts") && !opts.extra_hosts.is_empty() {
        return Err(refuse("extra_hosts", "--add-host", "/etc/hosts"));
    }
    if caller_binds(opts, "/etc/resolv.conf") && !opts.dns.is_empty() {
        return Err(refuse(
            "dns",
            "--dns, --dns-search or --dns-option",
            "/etc/resolv.conf",
        ));
    }
    plan.entries_mut().retain(|e| match &e.item {
        Item::File {
            mount_at: Some(dest),
            ..
        } => !caller_binds(opts, dest),
        _ => true,
    });
    Ok(())
}

/// `/sys/fs/cgroup` again, as a read-only path: runc (1.1, cgroup v1) turns the cgroup mount
/// into a tmpfs holding read-only binds of the container's hierarchies, but leaves that tmpfs
/// read-write, and rootless it belongs to the container's root, which can write into it
/// (measured). runc remounts read-only paths after every mount, so this makes the tmpfs
/// read-only too; on cgroup v2 the mount is read-only already and this changes nothing.
#[implements("filesystems.cgroup")]
pub const CGROUP_READONLY_PATH: &str = "/sys/fs/cgroup";

/// The engine's pseudo-filesystem mounts for `opts`, in mount order, each with its requirement
/// ID.
///
/// ```
/// use locald_engine::{filesystems::default_mounts, RunOptions};
///
/// let mounts = default_mounts(&RunOptions::default());
/// assert_eq!(mounts[0].1.destination, "/proc");
/// ```
pub fn default_mounts(opts: &RunOptions) -> Vec<(Requirement, MountEntry)> {
    vec![
        (requirement!("filesystems.proc"), proc_mount()),
        (requirement!("filesystems.dev"), dev_mount()),
        (requirement!("filesystems.dev-pts"), dev_pts_mount(opts)),
        (requirement!("filesystems.dev-shm"), dev_shm_mount()),
        (requirement!("filesystems.dev-mqueue"), dev_mqueue_mount()),
        (requirement!("filesystems.sys"), sys_mount(opts)),
        (requirement!("filesystems.cgroup"), cgroup_mount()),
    ]
}

/// Whether `dest` is an absolute, normalized container path (no `.`/`..`/empty components).
pub(crate) fn clean_absolute(dest: &str) -> bool {
    dest.starts_with('/')
        && !dest.contains('\0')
        && (dest == "/"
            || dest[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."))
}

/// A caller-requested bind mount: a recursive bind of an absolute host path onto a normalized
/// absolute container path other than `/`, read-only on request.
#[implements("filesystems.bind-mounts")]
pub fn bind_mount(b: &BindMount) -> Result<MountEntry> {
    let bad = |reason| Error::InvalidOption {
        field: "binds",
        reason,
    };
    if !clean_absolute(&b.destination) || b.destination == "/" {
        return Err(bad(format!(
            "destination {:?} must be a normalized absolute path other than /",
            b.destination
        )));
    }
    let Some(source) = b.source.to_str().filter(|_| b.source.is_absolute()) else {
        return Err(bad(format!(
            "source {} must be an absolute UTF-8 path",
            b.source.display()
        )));
    };
    let mut options = vec!["rbind".to_string()];
    if b.readonly {
        options.push("ro".into());
    }
    Ok(MountEntry {
        destination: b.destination.clone(),
        typ: "bind".into(),
        source: source.to_owned(),
        options,
    })
}

/// The options of a generated file's bind: writable, as Docker's, Podman's and the kubelet's
/// are (a package tool may append to `/etc/hosts`), unless the whole root is read-only.
#[implements("filesystems.layer.engine-files")]
pub fn state_file_bind_options(opts: &RunOptions) -> Vec<String> {
    let mut o: Vec<String> = STATE_FILE_BIND_OPTIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    if opts.readonly_rootfs {
        o.insert(1, "ro".into());
    }
    o
}

/// Push the root and every mount: pseudo filesystems, state-file binds, then the caller's
/// binds.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_root(plan, ctx.input.rootfs, ctx.options().readonly_rootfs)?;
    plan_volatile_layer(plan, ctx.options());
    plan_mounts(plan, ctx.options(), ctx.input.state_dir)?;
    plan_cgroup_hierarchies_readonly(plan, &ctx.input.host_files.facts.cgroup_hierarchies);
    Ok(())
}

/// On a cgroup v1 or hybrid host, each hierarchy below `/sys/fs/cgroup` as a read-only path
/// too. runc mounts the hierarchies read-only itself when the cgroup mount asks for `ro`; youki's
/// libcontainer (0.7, `setup_namespaced_subsystem`) mounts them with nosuid, nodev and noexec
/// only, so the container's root could write its own limits, and with a user namespace the
/// host's `/sys` is bound with its cgroup2 `unified` hierarchy read-write (both measured by the
/// probe under the `libcontainer_shim` example). Runtimes remount read-only paths after every
/// mount and skip one that does not exist, so these are harmless where a runtime did it already.
#[implements("filesystems.cgroup")]
fn plan_cgroup_hierarchies_readonly(plan: &mut Plan, hierarchies: &[String]) {
    for name in hierarchies {
        plan.push(
            requirement!("filesystems.cgroup"),
            Item::ReadonlyPath {
                path: format!("{CGROUP_READONLY_PATH}/{name}"),
            },
        );
    }
}

/// The mounts: pseudo filesystems, state-file binds, then the caller's binds.
fn plan_mounts(plan: &mut Plan, opts: &RunOptions, state_dir: &Path) -> Result<()> {
    drop_generated_files_the_caller_replaces(plan, opts)?;
    for (req, m) in default_mounts(opts) {
        plan.push(req, Item::Mount(m));
    }
    if let Some(m) = tmp_mount(opts) {
        plan.push(requirement!("filesystems.tmp"), Item::Mount(m));
    }
    for m in read_only_tmpfs_mounts(opts) {
        plan.push(requirement!("filesystems.read-only-tmpfs"), Item::Mount(m));
    }
    plan.push(
        requirement!("filesystems.cgroup"),
        Item::ReadonlyPath {
            path: CGROUP_READONLY_PATH.into(),
        },
    );
    // Mount sources are strings in the plan (and in config.json); refuse what would not
    // round-trip rather than mount a lossy path.
    let state_dir = state_dir.to_str().ok_or_else(|| Error::InvalidOption {
        field: "state_dir",
        reason: format!("{} is not valid UTF-8", state_dir.display()),
    })?;
    let state_binds: Vec<(Requirement, MountEntry)> = plan
        .entries()
        .iter()
        .filter_map(|e| match &e.item {
            Item::File {
                name,
                mount_at: Some(dest),
                ..
            } => Some((
                e.requirement,
                MountEntry {
                    destination: dest.clone(),
                    typ: "bind".into(),
                    source: format!("{}/{name}", state_dir.trim_end_matches('/')),
                    options: state_file_bind_options(opts),
                },
            )),
            _ => None,
        })
        .collect();
    for (req, m) in state_binds {
        plan.push(req, Item::Mount(m));
    }
    for b in &opts.binds {
        plan.push(
            requirement!("filesystems.bind-mounts"),
            Item::Mount(bind_mount(b)?),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::IdMapping;
    use locald_spec_macros::verifies;

    fn rootless(network: NetworkMode) -> RunOptions {
        RunOptions {
            id_mapping: Some(IdMapping::new(1000, 1000)),
            network,
            ..Default::default()
        }
    }

    fn find<'a>(m: &'a [(Requirement, MountEntry)], dest: &str) -> &'a MountEntry {
        &m.iter().find(|(_, m)| m.destination == dest).unwrap().1
    }

    /// The planned order, types and options. The evidence that these mounts hold is the running
    /// container's mount table (`tests/e2e/filesystems.rs`, `default_mounts_are_present`),
    /// which verifies the same requirements; this pins what the plan says.
    #[test]
    fn root_mode_matches_runc_defaults() {
        let m = default_mounts(&RunOptions::default());
        let dests: Vec<_> = m.iter().map(|(_, m)| m.destination.as_str()).collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        let reqs: Vec<_> = m.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            reqs,
            [
                requirement!("filesystems.proc"),
                requirement!("filesystems.dev"),
                requirement!("filesystems.dev-pts"),
                requirement!("filesystems.dev-shm"),
                requirement!("filesystems.dev-mqueue"),
                requirement!("filesystems.sys"),
                requirement!("filesystems.cgroup")
            ]
        );
        let types: Vec<_> = m.iter().map(|(_, m)| m.typ.as_str()).collect();
        assert_eq!(
            types,
            [
                "proc", "tmpfs", "devpts", "tmpfs", "mqueue", "sysfs", "cgroup"
            ]
        );
        let pts = &find(&m, "/dev/pts").options;
        assert!(pts.contains(&"gid=5".to_string()));
        assert!(pts.contains(&"newinstance".to_string()));
        assert!(find(&m, "/sys").options.contains(&"ro".to_string()));
        assert!(
            find(&m, "/sys/fs/cgroup")
                .options
                .contains(&"ro".to_string())
        );
        assert_eq!(find(&m, "/proc").options, ["nosuid", "noexec", "nodev"]);
    }

    #[test]
    #[verifies("filesystems.cgroup")]
    fn the_cgroup_tmpfs_is_made_read_only_too() {
        for opts in [RunOptions::default(), rootless(NetworkMode::Host)] {
            let mut p = Plan::default();
            plan_mounts(&mut p, &opts, Path::new("/state/c1")).unwrap();
            let ro: Vec<_> = p
                .entries()
                .iter()
                .filter(|e| matches!(e.item, Item::ReadonlyPath { .. }))
                .collect();
            assert_eq!(
                ro,
                [&crate::plan::Entry {
                    requirement: requirement!("filesystems.cgroup"),
                    item: Item::ReadonlyPath {
                        path: "/sys/fs/cgroup".into()
                    }
                }]
            );
            let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
            assert_eq!(
                json["linux"]["readonlyPaths"],
                serde_json::json!(["/sys/fs/cgroup"])
            );
        }
    }

    /// On a cgroup v1 or hybrid host every hierarchy is a read-only path of its own, after the
    /// tmpfs; on a v2 host (no hierarchies) nothing is added.
    #[test]
    #[verifies("filesystems.cgroup")]
    fn each_cgroup_hierarchy_is_a_read_only_path() {
        let mut p = Plan::default();
        plan_cgroup_hierarchies_readonly(&mut p, &["cpu,cpuacct".into(), "memory".into()]);
        let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
        assert_eq!(
            json["linux"]["readonlyPaths"],
            serde_json::json!(["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory"])
        );
        let mut p = Plan::default();
        plan_cgroup_hierarchies_readonly(&mut p, &[]);
        assert!(p.entries().is_empty());
    }

    #[test]
    #[verifies("filesystems.dev-pts", "filesystems.sys")]
    fn rootless_host_network_binds_sys_and_drops_gid5() {
        let m = default_mounts(&rootless(NetworkMode::Host));
        assert!(
            !find(&m, "/dev/pts")
                .options
                .iter()
                .any(|o| o.starts_with("gid="))
        );
        let sys = find(&m, "/sys");
        assert_eq!((sys.typ.as_str(), sys.source.as_str()), ("bind", "/sys"));
        assert!(sys.options.contains(&"rbind".into()) && sys.options.contains(&"ro".into()));
    }

    #[test]
    #[verifies("filesystems.sys")]
    fn rootless_private_network_mounts_sysfs() {
        let m = default_mounts(&rootless(NetworkMode::Private));
        assert_eq!(find(&m, "/sys").typ, "sysfs");
    }

    #[test]
    #[verifies("filesystems.layer.engine-files", "names.hosts.localhost")]
    fn state_files_are_bound_writable_unless_the_root_is_read_only() {
        for (readonly, ro) in [(false, false), (true, true)] {
            let mut p = Plan::default();
            p.push(
                requirement!("names.hosts.localhost"),
                Item::File {
                    name: "hosts".into(),
                    contents: String::new(),
                    mode: 0o644,
                    mount_at: Some("/etc/hosts".into()),
                },
            );
            let opts = RunOptions {
                readonly_rootfs: readonly,
                ..Default::default()
            };
            plan_mounts(&mut p, &opts, Path::new("/state/c1")).unwrap();
            let e = p
                .entries()
                .iter()
                .find(|e| matches!(&e.item, Item::Mount(m) if m.destination == "/etc/hosts"))
                .unwrap();
            assert_eq!(e.requirement, requirement!("names.hosts.localhost"));
            let Item::Mount(m) = &e.item else {
                unreachable!()
            };
            assert_eq!(m.source, "/state/c1/hosts");
            assert_eq!(m.options.contains(&"ro".into()), ro, "{m:?}");
        }
    }

    #[test]
    fn non_utf8_state_dir_is_refused() {
        use std::os::unix::ffi::OsStrExt;
        let dir = Path::new(std::ffi::OsStr::from_bytes(b"/state/\xff"));
        let err = plan_mounts(&mut Plan::default(), &RunOptions::default(), dir).unwrap_err();
        assert_eq!(err.field(), Some("state_dir"), "{err}");
    }

    #[test]
    #[verifies("filesystems.root")]
    fn root_is_the_image_directory_by_absolute_path() {
        let mut p = Plan::default();
        plan_root(&mut p, Path::new("/images/app"), false).unwrap();
        assert_eq!(
            p.entries(),
            [crate::plan::Entry {
                requirement: requirement!("filesystems.root"),
                item: Item::Root {
                    image: "/images/app".into(),
                    readonly: false
                }
            }]
        );
        let err = plan_root(&mut Plan::default(), Path::new("images/app"), false).unwrap_err();
        assert_eq!(err.field(), Some("rootfs"), "{err}");
    }

    #[test]
    #[verifies("filesystems.layer.volatile")]
    fn only_a_layer_thrown_away_is_planned_volatile() {
        let volatile = |on: bool| {
            let mut p = Plan::default();
            let opts = RunOptions {
                volatile_layer: on,
                ..RunOptions::default()
            };
            plan_volatile_layer(&mut p, &opts);
            p.entries()
                .iter()
                .filter(|e| e.item == Item::VolatileLayer)
                .map(|e| e.requirement.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(volatile(true), ["filesystems.layer.volatile"]);
        assert!(volatile(false).is_empty());
    }

    #[test]
    #[verifies("filesystems.bind-mounts")]
    fn caller_binds_are_validated() {
        for dest in ["rel", "/a/../b", "/", "/a//b", "/a/."] {
            let opts = RunOptions {
                binds: vec![BindMount {
                    source: "/src".into(),
                    destination: dest.into(),
                    readonly: false,
                }],
                ..Default::default()
            };
            assert!(
                plan_mounts(&mut Plan::default(), &opts, Path::new("/s")).is_err(),
                "{dest}"
            );
        }
        let opts = RunOptions {
            binds: vec![BindMount {
                source: "/src".into(),
                destination: "/data".into(),
                readonly: true,
            }],
            ..Default::default()
        };
        let mut p = Plan::default();
        plan_mounts(&mut p, &opts, Path::new("/s")).unwrap();
        let last = p.entries().last().unwrap();
        assert_eq!(last.requirement, requirement!("filesystems.bind-mounts"));
        assert_eq!(
            last.item,
            Item::Mount(MountEntry::new("/data", "bind", "/src", &["rbind", "ro"]))
        );
        let relative = BindMount {
            source: "src".into(),
            destination: "/data".into(),
            readonly: false,
        };
        assert!(bind_mount(&relative).is_err());
    }

    fn mounts_at(p: &Plan, dest: &str) -> Vec<crate::plan::Entry> {
        p.entries()
            .iter()
            .filter(|e| matches!(&e.item, Item::Mount(m) if m.destination == dest))
            .cloned()
            .collect()
    }

    #[test]
    #[verifies("filesystems.read-only-tmpfs")]
    fn run_and_var_tmp_are_tmpfs_only_with_a_read_only_root() {
        let planned = |opts: &RunOptions| {
            let mut p = Plan::default();
            plan_mounts(&mut p, opts, Path::new("/s")).unwrap();
            p
        };
        let p = planned(&RunOptions::default());
        assert!(mounts_at(&p, "/run").is_empty() && mounts_at(&p, "/var/tmp").is_empty());
        let ro = RunOptions {
            readonly_rootfs: true,
            ..Default::default()
        };
        let p = planned(&ro);
        for (dest, mode) in [("/run", "mode=755"), ("/var/tmp", "mode=1777")] {
            assert_eq!(
                mounts_at(&p, dest),
                [crate::plan::Entry {
                    requirement: requirement!("filesystems.read-only-tmpfs"),
                    item: Item::Mount(MountEntry::new(
                        dest,
                        "tmpfs",
                        "tmpfs",
                        &["nosuid", "nodev", mode, "tmpcopyup"]
                    ))
                }]
            );
        }
        // Under the single mapping the copies could not keep their owners: no copy-up.
        let mut rootless_ro = rootless(NetworkMode::Host);
        rootless_ro.readonly_rootfs = true;
        for m in read_only_tmpfs_mounts(&rootless_ro) {
            assert!(!m.options.contains(&"tmpcopyup".to_string()), "{m:?}");
        }
        assert_eq!(read_only_tmpfs_mounts(&rootless_ro).len(), 2);
        // A caller's bind on /run replaces its tmpfs.
        let with_bind = RunOptions {
            binds: vec![BindMount {
                source: "/srv/run".into(),
                destination: "/run".into(),
                readonly: false,
            }],
            ..ro
        };
        let p = planned(&with_bind);
        let run = mounts_at(&p, "/run");
        assert_eq!(run.len(), 1);
        assert_eq!(run[0].requirement, requirement!("filesystems.bind-mounts"));
        assert_eq!(mounts_at(&p, "/var/tmp").len(), 1);
    }

    #[test]
    #[verifies("filesystems.bind-mounts.replace-generated")]
    fn a_callers_bind_replaces_a_generated_file() {
        let generated = |p: &mut Plan| {
            for (name, dest) in [
                ("hosts", "/etc/hosts"),
                ("hostname", "/etc/hostname"),
                ("resolv.conf", "/etc/resolv.conf"),
            ] {
                p.push(
                    requirement!("names.hosts.localhost"),
                    Item::File {
                        name: name.into(),
                        contents: "x\n".into(),
                        mode: 0o644,
                        mount_at: Some(dest.into()),
                    },
                );
            }
        };
        let opts = RunOptions {
            binds: vec![
                BindMount {
                    source: "/k8s/etc-hosts".into(),
                    destination: "/etc/hosts".into(),
                    readonly: false,
                },
                BindMount {
                    source: "/k8s/resolv.conf".into(),
                    destination: "/etc/resolv.conf".into(),
                    readonly: true,
                },
            ],
            ..Default::default()
        };
        let mut p = Plan::default();
        generated(&mut p);
        plan_mounts(&mut p, &opts, Path::new("/s")).unwrap();
        for (dest, source) in [
            ("/etc/hosts", "/k8s/etc-hosts"),
            ("/etc/resolv.conf", "/k8s/resolv.conf"),
            ("/etc/hostname", "/s/hostname"),
        ] {
            let m = mounts_at(&p, dest);
            assert_eq!(m.len(), 1, "{dest}: {m:?}");
            let Item::Mount(m) = &m[0].item else {
                unreachable!()
            };
            assert_eq!(m.source, source);
        }
        // The replaced files are not written either.
        let files: Vec<_> = p.files().map(|(name, _, _)| name).collect();
        assert_eq!(files, ["hostname"]);
        // Without caller binds every generated file is bound.
        let mut p = Plan::default();
        generated(&mut p);
        plan_mounts(&mut p, &RunOptions::default(), Path::new("/s")).unwrap();
        assert_eq!(p.files().count(), 3);
        // Options that only shape a replaced file are refused, naming the option.
        let with_extra = RunOptions {
            extra_hosts: vec!["db:192.0.2.7".parse().unwrap()],
            ..opts.clone()
        };
        let err = plan_mounts(&mut Plan::default(), &with_extra, Path::new("/s")).unwrap_err();
        assert!(err.to_string().contains("--add-host"), "{err}");
        let with_dns = RunOptions {
            dns: crate::DnsOptions {
                servers: vec!["192.0.2.53".parse().unwrap()],
                ..Default::default()
            },
            ..opts.clone()
        };
        let err = plan_mounts(&mut Plan::default(), &with_dns, Path::new("/s")).unwrap_err();
        assert!(err.to_string().contains("--dns"), "{err}");
        // Without the bind, both are the engine's to apply.
        let mut both = with_dns.clone();
        both.extra_hosts = with_extra.extra_hosts.clone();
        both.binds.clear();
        plan_mounts(&mut Plan::default(), &both, Path::new("/s")).unwrap();
    }

    #[test]
    #[verifies("filesystems.tmp")]
    fn tmp_is_a_tmpfs_only_with_a_read_only_root() {
        let tmp_entries = |opts: &RunOptions| {
            let mut p = Plan::default();
            plan_mounts(&mut p, opts, Path::new("/s")).unwrap();
            p.entries()
                .iter()
                .filter(|e| matches!(&e.item, Item::Mount(m) if m.destination == "/tmp"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(tmp_entries(&RunOptions::default()).is_empty());
        assert!(tmp_mount(&RunOptions::default()).is_none());
        let mut rootless_ro = rootless(NetworkMode::Host);
        rootless_ro.readonly_rootfs = true;
        for opts in [
            RunOptions {
                readonly_rootfs: true,
                ..Default::default()
            },
            rootless_ro,
        ] {
            assert_eq!(
                tmp_entries(&opts),
                [crate::plan::Entry {
                    requirement: requirement!("filesystems.tmp"),
                    item: Item::Mount(MountEntry::new(
                        "/tmp",
                        "tmpfs",
                        "tmpfs",
                        &["nosuid", "nodev", "mode=1777"]
                    ))
                }]
            );
        }
    }
}
