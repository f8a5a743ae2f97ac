//! Checks, before anything is written, that running the plan will not modify the image.
//!
//! runc creates missing mount targets (and a missing working directory) inside the rootfs, which
//! here is the image directory itself. So every mount target is looked up inside the image
//! first: one that exists must have the right type; one that is missing is returned, for
//! [`crate::skeleton`] to provide outside the image, and so is a missing working directory.
//!
//! A target nested in an earlier pseudo-filesystem mount (`/dev/pts` in the `/dev` tmpfs) is
//! created by runc in that in-memory filesystem, not in the image, so it is not checked. A
//! target nested in an earlier bind mount is checked inside the bind's source, a host directory
//! the engine does not provide targets in: missing there, it is refused.

use std::path::Path;

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::filesystems::clean_absolute;
use crate::plan::{Item, MountEntry, Plan};
use crate::rootfs::{FileKind, ImageRoot};

/// Whether `path` is `base` or below it (component-wise).
fn is_under(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What kind of target a mount needs: a directory, unless it binds a file.
fn expected_kind(m: &MountEntry, plan: &Plan, state_dir: &Path) -> Result<FileKind> {
    if !m.is_bind() {
        return Ok(FileKind::Directory);
    }
    // State files do not exist yet when preflight runs; they are regular files.
    if plan
        .files()
        .any(|(name, _, _)| state_dir.join(name) == Path::new(&m.source))
    {
        return Ok(FileKind::Regular);
    }
    let meta = std::fs::metadata(&m.source).map_err(|e| Error::InvalidOption {
        field: "binds",
        reason: format!("bind source {}: {e}", m.source),
    })?;
    Ok(if meta.is_dir() {
        FileKind::Directory
    } else {
        FileKind::Regular
    })
}

/// A mount target the image lacks, for the skeleton root to provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The mount destination (absolute, normalized).
    pub destination: String,
    /// What it must be: a directory, or a regular file for the bind mount of a file.
    pub kind: FileKind,
}

/// Check that `dest` exists with the right kind, in the rootfs or in the covering bind;
/// `Ok(false)` when it is missing from the rootfs itself (not covered by an earlier mount).
fn check_target(
    root: &ImageRoot,
    earlier: &[&MountEntry],
    dest: &str,
    expected: FileKind,
    what: &'static str,
) -> Result<bool> {
    if !clean_absolute(dest) {
        return Err(Error::InvalidOption {
            field: "mounts",
            reason: format!("{what} {dest:?} is not a normalized absolute path"),
        });
    }
    let cover = earlier
        .iter()
        .filter(|p| p.destination != dest && is_under(dest, &p.destination))
        .max_by_key(|p| p.destination.len());
    let found = match cover {
        Some(p) if !p.is_bind() => return Ok(true),
        Some(p) => {
            let rel = &dest[p.destination.len()..];
            let found = ImageRoot::open(Path::new(&p.source))?.kind(rel)?;
            if found.is_none() {
                return Err(Error::MissingTarget {
                    destination: dest.to_owned(),
                    what,
                    rootfs: p.source.clone().into(),
                });
            }
            found
        }
        None => root.kind(dest)?,
    };
    match found {
        None => Ok(false),
        Some(k) if k == expected => Ok(true),
        Some(k) => Err(Error::WrongTargetType {
            destination: dest.to_owned(),
            found: k.describe(),
            expected: expected.describe(),
            rootfs: root.path().to_owned(),
        }),
    }
}

/// Check every mount target of `plan` in the image (or in the bind covering it): one that
/// exists must have the right kind; the ones the image lacks are returned, so that the engine
/// provides them and runc never creates one inside the image.
#[implements(
    "filesystems.root",
    "filesystems.bind-mounts",
    "filesystems.missing-targets"
)]
fn check_mount_targets(plan: &Plan, root: &ImageRoot, state_dir: &Path) -> Result<Vec<Missing>> {
    let mounts: Vec<&MountEntry> = plan.mounts().collect();
    let mut missing = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let expected = expected_kind(m, plan, state_dir)?;
        if !check_target(root, &mounts[..i], &m.destination, expected, "mount target")? {
            missing.push(Missing {
                destination: m.destination.clone(),
                kind: expected,
            });
        }
    }
    Ok(missing)
}

/// Kernel filesystems the plan mounts: a working directory inside one is refused, as a
/// `/proc/self/fd/N` one reached a runtime's leaked host descriptor (CVE-2024-21626).
const KERNEL_FS_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Check the working directory: an absolute path outside the kernel filesystems that resolves,
/// inside the root and without leaving it, to a directory. One the image lacks is returned, for
/// [`crate::skeleton`] to provide as an empty directory outside the image (Docker creates it in
/// the container's layer); runc would create it inside the image.
#[implements("process.cwd", "filesystems.root")]
fn check_working_dir(plan: &Plan, root: &ImageRoot) -> Result<Option<Missing>> {
    let mounts: Vec<&MountEntry> = plan.mounts().collect();
    for e in plan.entries() {
        if let Item::Cwd { path } = &e.item
            && path != "/"
        {
            let dest = path.trim_end_matches('/');
            if KERNEL_FS_DIRS.iter().any(|k| is_under(dest, k)) {
                return Err(Error::InvalidOption {
                    field: "working directory",
                    reason: format!("{dest} is inside a kernel filesystem (/proc, /sys, /dev)"),
                });
            }
            if !check_target(
                root,
                &mounts,
                dest,
                FileKind::Directory,
                "working directory",
            )? {
                return Ok(Some(Missing {
                    destination: dest.to_owned(),
                    kind: FileKind::Directory,
                }));
            }
        }
    }
    Ok(None)
}

/// Check every mount target and the working directory of `plan` against the image at `root`;
/// return the targets the image lacks (mount targets in mount order, then the working
/// directory), for [`crate::skeleton`].
pub fn check(plan: &Plan, root: &ImageRoot, state_dir: &Path) -> Result<Vec<Missing>> {
    let mut missing = check_mount_targets(plan, root, state_dir)?;
    missing.extend(check_working_dir(plan, root)?);
    Ok(missing)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::ids;
    use locald_spec_macros::verifies;
    use std::fs;

    fn plan_with(mounts: &[MountEntry], cwd: &str) -> Plan {
        let mut p = Plan::default();
        for m in mounts {
            p.push(ids::FILESYSTEMS_BIND_MOUNTS, Item::Mount(m.clone()));
        }
        p.push(ids::PROCESS_CWD, Item::Cwd { path: cwd.into() });
        p
    }

    fn proc_mount() -> MountEntry {
        MountEntry::new("/proc", "proc", "proc", &[])
    }

    #[test]
    fn is_under_is_component_wise() {
        assert!(is_under("/dev/pts", "/dev"));
        assert!(is_under("/dev", "/dev"));
        assert!(!is_under("/devices", "/dev"));
        assert!(is_under("/x", "/"));
    }

    /// A generated /etc/passwd state file and its bind, as identity plans them.
    fn push_generated_passwd(plan: &mut Plan) {
        plan.push(
            ids::IDENTITY_PASSWD_CURRENT_USER,
            Item::File {
                name: "passwd".into(),
                contents: String::new(),
                mode: 0o644,
                mount_at: Some("/etc/passwd".into()),
            },
        );
        plan.push(
            ids::IDENTITY_PASSWD_CURRENT_USER,
            Item::Mount(MountEntry::new(
                "/etc/passwd",
                "bind",
                "/s/passwd",
                &["bind"],
            )),
        );
    }

    #[test]
    #[verifies("filesystems.root", "filesystems.missing-targets")]
    fn missing_mount_target_is_returned_with_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let mut plan = plan_with(&[proc_mount()], "/");
        push_generated_passwd(&mut plan);
        let missing = check(&plan, &root, Path::new("/s")).unwrap();
        assert_eq!(
            missing,
            [
                Missing {
                    destination: "/proc".into(),
                    kind: FileKind::Directory
                },
                Missing {
                    destination: "/etc/passwd".into(),
                    kind: FileKind::Regular
                }
            ]
        );
        fs::create_dir(dir.path().join("proc")).unwrap();
        assert!(
            check(&plan_with(&[proc_mount()], "/"), &root, Path::new("/s"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    #[verifies("filesystems.root")]
    fn nested_pseudo_fs_targets_are_not_checked() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("dev")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let mounts = [
            MountEntry::new("/dev", "tmpfs", "tmpfs", &[]),
            MountEntry::new("/dev/pts", "devpts", "devpts", &[]),
        ];
        check(&plan_with(&mounts, "/"), &root, Path::new("/s")).unwrap();
    }

    #[test]
    #[verifies("filesystems.root")]
    fn file_bind_needs_a_file_target() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc/passwd")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let mut plan = plan_with(&[], "/");
        push_generated_passwd(&mut plan);
        let err = check(&plan, &root, Path::new("/s")).unwrap_err();
        assert!(matches!(err, Error::WrongTargetType { .. }), "{err}");
    }

    #[test]
    #[verifies("filesystems.root")]
    fn escaping_symlink_target_is_resolved_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        // /proc -> /etc on the host would exist; inside the root /etc does not.
        std::os::unix::fs::symlink("/etc", dir.path().join("proc")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let missing = check(&plan_with(&[proc_mount()], "/"), &root, Path::new("/s")).unwrap();
        assert_eq!(missing.len(), 1, "{missing:?}");
    }

    #[test]
    #[verifies("process.cwd", "filesystems.root", "filesystems.missing-targets")]
    fn a_missing_working_directory_is_returned_and_a_kernel_fs_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("app")).unwrap();
        fs::write(dir.path().join("file"), "").unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        assert!(
            check(&plan_with(&[], "/app/"), &root, Path::new("/s"))
                .unwrap()
                .is_empty()
        );
        let missing = check(&plan_with(&[], "/srv/app"), &root, Path::new("/s")).unwrap();
        assert_eq!(
            missing,
            [Missing {
                destination: "/srv/app".into(),
                kind: FileKind::Directory
            }]
        );
        // An existing non-directory cannot be a working directory.
        let err = check(&plan_with(&[], "/file"), &root, Path::new("/s")).unwrap_err();
        assert!(matches!(err, Error::WrongTargetType { .. }), "{err}");
        // CVE-2024-21626 shape: a cwd through /proc/self/fd, with /proc mounted as in every
        // plan; likewise anything under /sys and /dev.
        for cwd in ["/proc/self/fd/7", "/sys/fs/cgroup", "/dev/shm"] {
            let err = check(&plan_with(&[proc_mount()], cwd), &root, Path::new("/s")).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOption {
                        field: "working directory",
                        ..
                    }
                ),
                "{cwd}: {err}"
            );
        }
    }

    #[test]
    #[verifies("filesystems.root", "filesystems.bind-mounts")]
    fn target_under_a_bind_is_checked_in_the_bind_source() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        let src = tempfile::tempdir().unwrap();
        fs::create_dir(src.path().join("sub")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let s = src.path().to_str().unwrap();
        let mounts = [
            MountEntry::new("/data", "bind", s, &["rbind"]),
            MountEntry::new("/data/sub", "tmpfs", "tmpfs", &[]),
        ];
        assert!(
            check(&plan_with(&mounts, "/"), &root, Path::new("/s"))
                .unwrap()
                .is_empty()
        );
        // Missing in the bind's source, a host directory: refused, not provided.
        let mounts = [
            MountEntry::new("/data", "bind", s, &["rbind"]),
            MountEntry::new("/data/none", "tmpfs", "tmpfs", &[]),
        ];
        let err = check(&plan_with(&mounts, "/"), &root, Path::new("/s")).unwrap_err();
        assert!(
            matches!(&err, Error::MissingTarget { destination, .. } if destination == "/data/none"),
            "{err}"
        );
    }
}
