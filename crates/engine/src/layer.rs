//! The container's own root filesystem: an overlay of the image, never written, and a writable
//! layer of the container's own.
//!
//! ```text
//! BUNDLE/rootfs          the overlay's mount point (root.path in config.json)
//! BUNDLE/layer/upper     the container's writable layer (overlayfs upperdir)
//! BUNDLE/layer/work      overlayfs' work directory
//! image directory        the read-only lower layer, shared by every container
//! ```
//!
//! Everything a container writes — its workload, the runtime creating a missing mount target —
//! lands in its own `upper`; the image and every other container never see it (kernel
//! `Documentation/filesystems/overlayfs.rst`). The engine itself writes into `upper` before the
//! container starts, while preparing the bundle without privileges and without mounting anything
//! ([`plan`], [`write()`]):
//!
//! - `/etc/passwd` and `/etc/group`, generated, so that `useradd` and other tools that rename
//!   over them work (a bind-mounted file cannot be replaced: EBUSY);
//! - the directories the kernel filesystems are mounted on (`/proc`, `/dev`, `/sys`, `/tmp`)
//!   whenever the image's entry is not a plain directory — a symlink there would make the
//!   runtime mount or write through it (runc CVE-2025-31133, CVE-2025-52565, CVE-2025-52881);
//! - mount targets and the working directory the image lacks, and an empty file where a
//!   generated file is bind-mounted and the image has no regular file;
//! - the ancestors of all of these, mirroring the image's directories (mode, owner), so that the
//!   merged view shows the image's attributes.
//!
//! Mounting the overlay is a separate step ([`mount`]) for whoever runs the runtime: the CLI does
//! it in a mount namespace of its own (and, unprivileged, a user namespace of its own) just
//! before it starts runc; a privileged caller such as locald's setuid shim calls [`mount`] in its
//! own mount namespace before starting youki's libcontainer.

use std::collections::HashSet;
use std::path::Path;

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::plan::{Item, MountEntry, Plan, Requirement};
use crate::requirement;
use crate::rootfs::{FileKind, ImageRoot, PathWalk};

mod owners;
mod write;

#[cfg(target_os = "linux")]
pub(crate) mod mount;

pub use owners::check_mapped_owners;
pub use write::write;

#[cfg(target_os = "linux")]
pub use mount::{LayerMount, enter_private_mount_namespace, is_mounted, mount, unmount};

/// The overlay's mount point inside the bundle (`root.path`).
pub const ROOTFS_DIR: &str = "rootfs";
/// The directory of the container's layer (`upper` and `work`) inside the bundle.
pub const LAYER_DIR: &str = "layer";
/// The container's writable layer inside the bundle.
pub const UPPER_DIR: &str = "layer/upper";
/// overlayfs' work directory inside the bundle.
pub const WORK_DIR: &str = "layer/work";

/// Mode of directories the engine creates where the image has nothing to mirror.
pub const NEW_DIR_MODE: u32 = 0o755;

/// Mode of the empty files the engine puts where a generated file is bind-mounted.
pub const PLACEHOLDER_MODE: u32 = 0o644;

/// The directories the engine mounts kernel filesystems on that must be plain directories in
/// the container's root, whatever the image has there.
pub const KERNEL_FS_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Whether `path` is `base` or below it (component-wise).
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The parent of an absolute path (`/` for a top-level one) and its last component.
fn split_last(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// What the layer planner adds, deduplicated by path, in order (parents first).
struct Additions {
    root: String,
    seen: HashSet<String>,
    entries: Vec<(Requirement, Item)>,
}

impl Additions {
    fn dir(&mut self, req: Requirement, path: String, mode: u32, owner: Option<(u32, u32)>) {
        if self.seen.insert(path.clone()) {
            self.entries
                .push((req, Item::LayerDir { path, mode, owner }));
        }
    }

    /// Mirror the directories on the resolved path of `walk`'s existing part, the root first,
    /// into the layer (walked again by its resolved path: a symlink on the way, `/etc ->
    /// /usr/etc`, puts `/usr` there, which the walk of `/etc` did not visit).
    fn mirror(&mut self, root: &ImageRoot, req: Requirement, walk: &PathWalk) -> Result<()> {
        let resolved = root.walk_path(&walk.resolved())?;
        for e in &resolved.existing {
            if e.kind == FileKind::Directory {
                self.dir(req, e.path.clone(), e.mode, Some(e.owner));
            }
        }
        Ok(())
    }

    /// Mirror `walk`'s existing directories and create its missing components as new
    /// directories; returns the full resolved path.
    fn provide_dirs(
        &mut self,
        root: &ImageRoot,
        req: Requirement,
        walk: &PathWalk,
    ) -> Result<String> {
        self.mirror(root, req, walk)?;
        let mut path = walk.resolved();
        for m in &walk.missing {
            path = join(&path, m);
            self.dir(req, path.clone(), NEW_DIR_MODE, None);
        }
        Ok(path)
    }

    fn file(&mut self, req: Requirement, path: String, contents: String, mode: u32) -> Result<()> {
        if !self.seen.insert(path.clone()) {
            return Err(Error::TargetUnreachable {
                destination: path,
                reason: "two files of the engine would land on the same path".into(),
                rootfs: self.root.clone().into(),
            });
        }
        self.entries.push((
            req,
            Item::LayerFile {
                path,
                contents,
                mode,
                owner: None,
            },
        ));
        Ok(())
    }
}

/// Walk `path`, a directory's, inside the image: when it exists it must be a directory.
fn walk_dir(root: &ImageRoot, path: &str) -> Result<PathWalk> {
    let walk = root.walk_path(path)?;
    if walk.exists() && walk.last().kind != FileKind::Directory {
        return Err(Error::ImageFile {
            path: path.to_owned(),
            reason: format!("{} is not a directory", walk.resolved()),
        });
    }
    Ok(walk)
}

/// The planned mounts that cover `path`: the innermost earlier mount whose destination is an
/// ancestor of it (or is it).
fn covering<'a>(mounts: &'a [MountEntry], path: &str, exclude: &str) -> Option<&'a MountEntry> {
    mounts
        .iter()
        .filter(|m| m.destination != exclude && is_under(path, &m.destination))
        .max_by_key(|m| m.destination.len())
}

fn unreachable(root: &ImageRoot, destination: &str, reason: String) -> Error {
    Error::TargetUnreachable {
        destination: destination.to_owned(),
        reason,
        rootfs: root.path().to_owned(),
    }
}

/// Refuse a path whose resolution in the image ends under a kernel filesystem the plan mounts
/// (`/proc`, `/sys`, `/dev`): the runtime would resolve it there, after those are mounted, and
/// reach the kernel's files instead of the image's (the shape of CVE-2024-21626, a working
/// directory through `/proc/self/fd`, and of a bind target planted under `/proc`).
#[implements("confinement.mount-targets")]
fn refuse_kernel_fs(root: &ImageRoot, what: &str, lexical: &str, resolved: &str) -> Result<()> {
    if let Some(k) = KERNEL_FS_DIRS.iter().find(|k| is_under(resolved, k)) {
        return Err(unreachable(
            root,
            lexical,
            format!(
                "{what} resolves to {resolved} in the image, inside {k}, where a kernel \
                 filesystem is mounted"
            ),
        ));
    }
    Ok(())
}

/// The mode of a mount point the layer creates: a tmpfs's own `mode=` option (`/var/tmp`'s
/// 1777), else [`NEW_DIR_MODE`]. runc 1.1 gives a tmpfs the mode of the directory it covers,
/// overriding the option, so the directory must carry it for the tmpfs to have it.
fn mount_point_mode(m: &MountEntry) -> u32 {
    let option = || {
        m.options
            .iter()
            .find_map(|o| o.strip_prefix("mode="))
            .and_then(|v| u32::from_str_radix(v, 8).ok())
            .filter(|v| *v <= 0o7777)
    };
    (m.typ == "tmpfs")
        .then(option)
        .flatten()
        .unwrap_or(NEW_DIR_MODE)
}

/// A kernel filesystem's mount point must be a plain directory at its own path; where the
/// image has anything else (nothing, a symlink, a file) the layer gets an empty directory, as
/// Docker's init layer does. Only top-level ones are provided this way (all the engine
/// mounts); a deeper one whose ancestors are not plain directories is refused.
#[implements("confinement.mount-targets", "filesystems.layer.targets")]
fn provide_kernel_fs_dir(root: &ImageRoot, add: &mut Additions, m: &MountEntry) -> Result<()> {
    let (parent, name) = split_last(&m.destination);
    let parent_walk = root.walk_path(parent)?;
    // No symlink on the way, and what exists of it is directories: a parent the image lacks
    // (`/var` of `/var/tmp` in a `FROM scratch` image) is created in the layer.
    if parent_walk.full() != parent || parent_walk.last().kind != FileKind::Directory {
        return Err(unreachable(
            root,
            &m.destination,
            format!(
                "the {} mount point's parent {parent} is not a plain directory in the image",
                m.typ
            ),
        ));
    }
    if !parent_walk.exists() {
        let req = requirement!("filesystems.layer.targets");
        let dir = add.provide_dirs(root, req, &parent_walk)?;
        add.dir(req, join(&dir, name), mount_point_mode(m), None);
        return Ok(());
    }
    let own = root.lookup(&m.destination)?;
    match own {
        Some(e) if e.kind == FileKind::Directory => {}
        _ => {
            add.mirror(
                root,
                requirement!("filesystems.layer.targets"),
                &parent_walk,
            )?;
            add.dir(
                requirement!("filesystems.layer.targets"),
                join(parent, name),
                mount_point_mode(m),
                None,
            );
        }
    }
    Ok(())
}

/// Plan a generated file the engine writes into the layer (`/etc/passwd`): its directory is
/// resolved inside the image (a symlinked `/etc` leads where the image points it) and
/// mirrored, and the file replaces whatever the image has at that name.
#[implements("filesystems.layer.engine-files")]
fn plan_layer_file(
    root: &ImageRoot,
    add: &mut Additions,
    mounts: &[MountEntry],
    req: Requirement,
    path: &str,
    contents: String,
    mode: u32,
) -> Result<String> {
    let (parent, name) = split_last(path);
    let walk = walk_dir(root, parent)?;
    let dir = walk.full();
    refuse_kernel_fs(root, path, path, &dir)?;
    let target = join(&dir, name);
    if let Some(m) = covering(mounts, &target, "") {
        return Err(unreachable(
            root,
            path,
            format!(
                "it would be hidden under the {} mount on {}",
                m.typ, m.destination
            ),
        ));
    }
    add.provide_dirs(root, req, &walk)?;
    add.file(req, target.clone(), contents, mode)?;
    Ok(target)
}

/// The kind a bind target must have: a file for a file source (a generated state file or a
/// host file), else a directory.
fn bind_kind(m: &MountEntry, state_files: &[String]) -> Result<FileKind> {
    if state_files.contains(&m.source) {
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

/// Check a target (or the working directory) nested in an earlier bind mount inside that
/// bind's source, a host directory: it must exist there with the right kind; the engine never
/// creates anything in a caller's host directory.
fn check_in_bind_source(
    bind: &MountEntry,
    dest: &str,
    expected: FileKind,
    what: &'static str,
) -> Result<()> {
    // The destination itself is the source's root (a working directory at a bind mount's
    // destination, as locald's project checkout is).
    let rel = match &dest[bind.destination.len()..] {
        "" => "/",
        rel => rel,
    };
    let found = ImageRoot::open(Path::new(&bind.source))?.kind(rel)?;
    match found {
        None => Err(Error::MissingTarget {
            destination: dest.to_owned(),
            what,
            rootfs: bind.source.clone().into(),
        }),
        Some(k) if k == expected => Ok(()),
        Some(k) => Err(Error::WrongTargetType {
            destination: dest.to_owned(),
            found: k.describe(),
            expected: expected.describe(),
            rootfs: bind.source.clone().into(),
        }),
    }
}

/// A bind target in the image: a generated state file's target always ends up a regular file
/// (an empty one replaces whatever the image has, as Docker's init layer does); a caller's
/// target must exist with the source's kind, or is created (with its missing parents) in the
/// layer.
#[implements("filesystems.layer.targets", "confinement.mount-targets")]
fn plan_bind_target(
    root: &ImageRoot,
    add: &mut Additions,
    m: &mut MountEntry,
    req: Requirement,
    kind: FileKind,
    generated: bool,
) -> Result<String> {
    let (parent, name) = split_last(&m.destination);
    let parent_walk = walk_dir(root, parent)?;
    let dir = parent_walk.full();
    refuse_kernel_fs(root, "the bind target", &m.destination, &dir)?;
    let lexical = m.destination.clone();
    if generated {
        let target = join(&dir, name);
        let own = if parent_walk.exists() {
            root.lookup(&target)?
        } else {
            None
        };
        if own.is_none_or(|e| e.kind != FileKind::Regular) {
            add.provide_dirs(root, req, &parent_walk)?;
            add.file(req, target.clone(), String::new(), PLACEHOLDER_MODE)?;
        }
        // Mounted on the resolved path: the runtime has no symlink left to follow.
        m.destination = target.clone();
        return Ok(target);
    }
    let walk = root.walk_path(&lexical)?;
    let full = walk.full();
    refuse_kernel_fs(root, "the bind target", &lexical, &full)?;
    if walk.exists() {
        let found = walk.last().kind;
        if found != kind {
            return Err(Error::WrongTargetType {
                destination: lexical,
                found: found.describe(),
                expected: kind.describe(),
                rootfs: root.path().to_owned(),
            });
        }
    } else if kind == FileKind::Directory {
        add.provide_dirs(root, req, &walk)?;
    } else {
        let mut dirs = walk.clone();
        let file = dirs.missing.pop().expect("missing is not empty");
        let dir = add.provide_dirs(root, req, &dirs)?;
        add.file(req, join(&dir, &file), String::new(), PLACEHOLDER_MODE)?;
    }
    // The destination stays as the caller wrote it: the runtime resolves it the same way, in
    // a root no other container can change.
    Ok(full)
}

/// The working directory: resolved inside the image, it must not lead into a kernel filesystem
/// (CVE-2024-21626); one the image lacks is created in the layer (Docker creates it in the
/// container's layer too).
#[implements(
    "process.cwd",
    "filesystems.layer.targets",
    "confinement.mount-targets"
)]
fn plan_working_dir(
    root: &ImageRoot,
    add: &mut Additions,
    mounts: &[MountEntry],
    cwd: &str,
    from_image: bool,
) -> Result<()> {
    // Named where it came from: the image's `WorkingDir` or the caller's option.
    let refused = |reason: String| {
        if from_image {
            Error::ImageConfig {
                field: "WorkingDir",
                reason,
            }
        } else {
            Error::InvalidOption {
                field: "working_dir",
                reason,
            }
        }
    };
    let dest = cwd.trim_end_matches('/');
    if dest.is_empty() {
        return Ok(());
    }
    if KERNEL_FS_DIRS.iter().any(|k| is_under(dest, k)) {
        return Err(refused(format!(
            "{dest} is inside a kernel filesystem (/proc, /sys, /dev)"
        )));
    }
    if let Some(m) = covering(mounts, dest, "") {
        if m.is_bind() {
            return check_in_bind_source(m, dest, FileKind::Directory, "working directory");
        }
        return Ok(());
    }
    // What the image's tree says of the path (a dangling symlink on the way, a file where a
    // directory should be) is named as the field's too: the user fixes the field or the image.
    let walk = root.walk_path(dest).map_err(|e| refused(e.to_string()))?;
    let full = walk.full();
    if KERNEL_FS_DIRS.iter().any(|k| is_under(&full, k)) {
        return Err(refused(format!(
            "{dest} resolves to {full} in the image, inside a kernel filesystem (/proc, /sys, \
             /dev)"
        )));
    }
    if let Some(m) = covering(mounts, &full, "") {
        if m.is_bind() {
            return check_in_bind_source(m, &full, FileKind::Directory, "working directory");
        }
        return Ok(());
    }
    if walk.exists() {
        let found = walk.last().kind;
        if found != FileKind::Directory {
            return Err(refused(
                Error::WrongTargetType {
                    destination: dest.to_owned(),
                    found: found.describe(),
                    expected: FileKind::Directory.describe(),
                    rootfs: root.path().to_owned(),
                }
                .to_string(),
            ));
        }
        return Ok(());
    }
    add.provide_dirs(root, requirement!("process.cwd"), &walk)
        .map(|_| ())
        .map_err(|e| refused(e.to_string()))
}

/// Complete the plan's layer against the image at `root`: resolve where each of the engine's
/// files and each mount target lands, check it, and add what the container's writable layer
/// must hold before the container starts (see the module documentation). Everything is
/// checked before anything is written; the image is only read.
///
/// `state_files` are the host paths of the generated state files the plan bind-mounts.
#[implements("filesystems.layer.targets")]
pub fn plan(plan: &mut Plan, root: &ImageRoot, state_files: &[String]) -> Result<()> {
    let root_dir = root.walk_path("/")?;
    let mut add = Additions {
        root: root.path().display().to_string(),
        seen: HashSet::new(),
        entries: Vec::new(),
    };
    // The layer's own root mirrors the image's: the merged `/` shows its mode and owner.
    add.mirror(root, requirement!("filesystems.root"), &root_dir)?;

    let mut entries = std::mem::take(plan.entries_mut());
    let mut earlier: Vec<MountEntry> = Vec::new();
    let mut files: Vec<(usize, Requirement, String, String, u32)> = Vec::new();
    for (i, e) in entries.iter_mut().enumerate() {
        match &mut e.item {
            Item::Mount(m) => {
                let cover = covering(&earlier, &m.destination, &m.destination).cloned();
                // Where the runtime will mount it, for the mounts, files and working directory
                // after it: the destination as written, but a caller's bind resolved in the
                // image (`/betc -> /etc` covers `/etc/passwd`).
                let mut lands_at = None;
                match cover {
                    // Inside an earlier kernel filesystem (/dev/pts in the /dev tmpfs): the
                    // runtime creates the target there, in memory.
                    Some(c) if !c.is_bind() => {}
                    Some(c) => {
                        let kind = if m.is_bind() {
                            bind_kind(m, state_files)?
                        } else {
                            FileKind::Directory
                        };
                        check_in_bind_source(&c, &m.destination, kind, "mount target")?;
                    }
                    None if m.is_bind() && !KERNEL_FS_DIRS.contains(&m.destination.as_str()) => {
                        let generated = state_files.contains(&m.source);
                        let kind = bind_kind(m, state_files)?;
                        lands_at = Some(plan_bind_target(
                            root,
                            &mut add,
                            m,
                            e.requirement,
                            kind,
                            generated,
                        )?);
                    }
                    None => provide_kernel_fs_dir(root, &mut add, m)?,
                }
                let mut seen = m.clone();
                if let Some(at) = lands_at {
                    seen.destination = at;
                }
                earlier.push(seen);
            }
            Item::LayerFile {
                path,
                contents,
                mode,
                ..
            } => files.push((
                i,
                e.requirement,
                path.clone(),
                std::mem::take(contents),
                *mode,
            )),
            _ => {}
        }
    }
    // The generated files go after every mount is known: none may be hidden under one.
    let mut resolved = Vec::new();
    for (i, req, path, contents, mode) in files {
        let target = plan_layer_file(root, &mut add, &earlier, req, &path, contents, mode)?;
        resolved.push((i, target));
    }
    let cwd = entries.iter().find_map(|e| match &e.item {
        Item::Cwd { path } => Some((path.clone(), e.requirement)),
        _ => None,
    });
    if let Some((cwd, req)) = cwd {
        let from_image = req == requirement!("process.cwd");
        plan_working_dir(root, &mut add, &earlier, &cwd, from_image)?;
    }
    // The generated files' entries move into the layer's ordered list (after their parents).
    let moved: HashSet<usize> = resolved.iter().map(|(i, _)| *i).collect();
    let mut out: Vec<crate::plan::Entry> = Vec::with_capacity(entries.len() + add.entries.len());
    let layer_at = entries
        .iter()
        .position(|e| matches!(e.item, Item::Root { .. }))
        .map_or(0, |p| p + 1);
    for (i, e) in entries.into_iter().enumerate() {
        if i == layer_at {
            for (req, item) in add.entries.drain(..) {
                out.push(crate::plan::Entry {
                    requirement: req,
                    item,
                });
            }
        }
        if !moved.contains(&i) {
            out.push(e);
        }
    }
    for (req, item) in add.entries.drain(..) {
        out.push(crate::plan::Entry {
            requirement: req,
            item,
        });
    }
    *plan.entries_mut() = out;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
