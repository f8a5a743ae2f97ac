//! Mount targets the image lacks, provided without writing into it: the skeleton root.
//!
//! runc creates a missing mount target inside the root filesystem, and the root filesystem is
//! the image directory, shared by every container started from it. When [`crate::preflight`]
//! finds targets the image lacks, `root.path` becomes `<state>/rootfs`, a *skeleton* that
//! mirrors the image: each directory on the resolved path of a missing target (`/` and its
//! ancestors included) is a new directory holding, for each entry of the image's directory, the
//! same symlink, or an empty directory or file with a recursive bind mount of the image's entry
//! on it; the missing targets and their missing parents are new empty directories or files.
//! The binds come before every other mount, so the container sees the image's files at their
//! paths and the engine's mounts on top of them.
//!
//! Everything is a [`Plan`] entry tagged `filesystems.missing-targets`: the nodes
//! ([`Item::Skeleton`]) are written with the rest of the state directory, atomically, and the
//! binds are ordinary mounts, performed by the runtime (rootful or rootless, the engine needs no
//! privilege). With no target missing the plan is left as it is: `root.path` stays the image.
//!
//! ```
//! use locald_engine::skeleton::Node;
//!
//! let n = Node::Symlink { path: "/bin".into(), target: "usr/bin".into() };
//! assert_eq!(n.to_string(), "skeleton symlink /bin -> usr/bin");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fmt;
use std::path::Path;

use locald_spec_macros::implements;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::filesystems::clean_absolute;
use crate::ids;
use crate::plan::{Entry, Item, MountEntry, Plan};
use crate::preflight::Missing;
use crate::rootfs::{FileKind, ImageRoot};

/// The skeleton's directory inside the state directory (the runtime-spec's conventional name
/// for a bundle's root filesystem).
pub const ROOTFS_DIR: &str = "rootfs";

/// Mode of the directories created for missing targets (runc's, for the ones it creates).
pub const NEW_DIR_MODE: u32 = 0o755;

/// Mode of the empty files the skeleton holds (mount points of file binds).
pub const FILE_MODE: u32 = 0o644;

/// Symlinks followed while resolving one target (Linux's limit, `MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// One node of the skeleton, created under `<state>/rootfs` with the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "node", rename_all = "kebab-case")]
pub enum Node {
    /// A directory: a mirrored image directory, a mount point, or a missing target.
    Directory {
        /// Its path inside the container.
        path: String,
        /// Its permission bits (the image's for a mirrored one).
        mode: u32,
        /// The image directory's owner for a mirrored one, given to the skeleton directory when
        /// the engine runs as root; `None` for a new one (the engine's user owns it).
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<(u32, u32)>,
    },
    /// An empty regular file: the mount point of a bind of a file.
    File {
        /// Its path inside the container.
        path: String,
    },
    /// A symlink, as the image has it.
    Symlink {
        /// Its path inside the container.
        path: String,
        /// Its target, verbatim.
        target: String,
    },
}

impl Node {
    /// The node's path inside the container.
    pub fn path(&self) -> &str {
        match self {
            Node::Directory { path, .. } | Node::File { path } | Node::Symlink { path, .. } => path,
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Directory { path, mode, .. } => {
                write!(f, "skeleton dir {path} (mode {mode:o})")
            }
            Node::File { path } => write!(f, "skeleton file {path}"),
            Node::Symlink { path, target } => write!(f, "skeleton symlink {path} -> {target}"),
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// What the skeleton holds besides mirrors: the image directories that become skeleton
/// directories, and the paths the image lacks.
#[derive(Debug, Default)]
struct Shape {
    /// Resolved paths of image directories mirrored by a skeleton directory.
    mirrored: BTreeSet<String>,
    /// Paths created empty: a directory or a regular file.
    created: BTreeMap<String, FileKind>,
}

fn unreachable_target(root: &ImageRoot, m: &Missing, reason: String) -> Error {
    Error::TargetUnreachable {
        destination: m.destination.clone(),
        reason,
        rootfs: root.path().to_owned(),
    }
}

/// Resolve `m.destination` inside the image as runc resolves a mount destination (securejoin:
/// symlinks followed inside the root, `..` taken lexically): the deepest existing directory on
/// the way and the components below it that do not exist.
fn resolve(root: &ImageRoot, m: &Missing) -> Result<(String, Vec<String>)> {
    let mut queue: VecDeque<String> = m.destination.split('/').map(str::to_owned).collect();
    let mut current = "/".to_string();
    let mut missing: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = queue.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                if missing.pop().is_none() {
                    current = parent(&current).to_owned();
                }
                continue;
            }
            _ if !missing.is_empty() => {
                missing.push(c);
                continue;
            }
            _ => {}
        }
        let path = join(&current, &c);
        let Some(entry) = root.lookup(&path)? else {
            missing.push(c);
            continue;
        };
        match entry.kind {
            FileKind::Directory => current = path,
            FileKind::Symlink => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(unreachable_target(
                        root,
                        m,
                        "too many levels of symbolic links".into(),
                    ));
                }
                let target = entry.link.unwrap_or_default();
                if target.starts_with('/') {
                    current = "/".into();
                }
                for t in target.rsplit('/') {
                    queue.push_front(t.to_owned());
                }
            }
            other => {
                return Err(unreachable_target(
                    root,
                    m,
                    format!("{path} is {}, not a directory", other.describe()),
                ));
            }
        }
    }
    if missing.is_empty() {
        // preflight found it missing; it exists now.
        return Err(unreachable_target(
            root,
            m,
            format!("{current} changed while being examined"),
        ));
    }
    Ok((current, missing))
}

impl Shape {
    /// Add one missing target: its existing ancestors become skeleton directories, the rest is
    /// created.
    fn add(&mut self, root: &ImageRoot, m: &Missing) -> Result<()> {
        let (existing, missing) = resolve(root, m)?;
        let mut dir = existing.as_str();
        loop {
            self.mirrored.insert(dir.to_owned());
            if dir == "/" {
                break;
            }
            dir = parent(dir);
        }
        let mut path = existing.clone();
        for (i, c) in missing.iter().enumerate() {
            path = join(&path, c);
            let kind = if i + 1 == missing.len() {
                m.kind
            } else {
                FileKind::Directory
            };
            match self.created.get(&path) {
                Some(k) if *k != kind => {
                    return Err(unreachable_target(
                        root,
                        m,
                        format!(
                            "{path} would have to be both {} and {}",
                            k.describe(),
                            kind.describe()
                        ),
                    ));
                }
                _ => {
                    self.created.insert(path.clone(), kind);
                }
            }
        }
        Ok(())
    }
}

/// Turns a [`Shape`] into plan entries, mirroring the image's directories.
struct Emitter<'a> {
    root: &'a ImageRoot,
    shape: &'a Shape,
    /// The image's host path without a trailing `/`.
    image: &'a str,
    readonly: bool,
    /// Destinations of the plan's own mounts: an entry at one of them needs no bind.
    covered: HashSet<&'a str>,
    out: Vec<Entry>,
}

impl Emitter<'_> {
    fn node(&mut self, node: Node) {
        self.out.push(Entry {
            requirement: ids::FILESYSTEMS_MISSING_TARGETS,
            item: Item::Skeleton(node),
        });
    }

    /// A recursive bind of the image's entry at `path`, unless a mount of the plan covers it.
    fn bind(&mut self, path: &str) -> Result<()> {
        if self.covered.contains(path) {
            return Ok(());
        }
        let source = format!("{}{path}", self.image);
        let mut options = vec!["rbind".to_string()];
        if self.readonly {
            options.push("ro".into());
            options.extend(
                kept_flags(Path::new(&source))?
                    .iter()
                    .map(|f| f.to_string()),
            );
        }
        self.out.push(Entry {
            requirement: ids::FILESYSTEMS_MISSING_TARGETS,
            item: Item::Mount(MountEntry {
                destination: path.to_owned(),
                typ: "bind".into(),
                source,
                options,
            }),
        });
        Ok(())
    }

    /// A skeleton directory at `dir` mirroring the image's.
    fn mirror(&mut self, dir: &str, mode: u32, owner: (u32, u32)) -> Result<()> {
        self.node(Node::Directory {
            path: dir.to_owned(),
            mode,
            owner: Some(owner),
        });
        for e in self.root.list_dir(dir)? {
            let path = join(dir, &e.name);
            if self.shape.mirrored.contains(&path) && e.kind == FileKind::Directory {
                self.mirror(&path, e.mode, e.owner)?;
                continue;
            }
            match e.kind {
                FileKind::Symlink => self.node(Node::Symlink {
                    path,
                    target: e.link.unwrap_or_default(),
                }),
                FileKind::Directory => {
                    self.node(Node::Directory {
                        path: path.clone(),
                        mode: e.mode,
                        owner: Some(e.owner),
                    });
                    self.bind(&path)?;
                }
                FileKind::Regular | FileKind::Special => {
                    self.node(Node::File { path: path.clone() });
                    self.bind(&path)?;
                }
            }
        }
        self.create_below(dir);
        Ok(())
    }

    /// The created nodes whose parent is `dir`, recursively.
    fn create_below(&mut self, dir: &str) {
        let children: Vec<(String, FileKind)> = self
            .shape
            .created
            .iter()
            .filter(|(p, _)| parent(p) == dir)
            .map(|(p, k)| (p.clone(), *k))
            .collect();
        for (path, kind) in children {
            if kind == FileKind::Directory {
                self.node(Node::Directory {
                    path: path.clone(),
                    mode: NEW_DIR_MODE,
                    owner: None,
                });
                self.create_below(&path);
            } else {
                self.node(Node::File { path });
            }
        }
    }
}

/// The mount flags of the filesystem holding `source` that a read-only bind of it must repeat:
/// runc makes a bind read-only by remounting it with exactly the options listed, and in a user
/// namespace the kernel refuses (EPERM) a remount that would drop `nosuid`, `nodev`, `noexec` or
/// change the atime mode of a mount the namespace does not own (mount_namespaces(7), "locked"
/// flags). A bind inherits them anyway, so repeating them changes nothing else.
#[cfg(target_os = "linux")]
fn kept_flags(source: &Path) -> Result<Vec<&'static str>> {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let flags = statvfs(source)
        .map_err(|e| Error::io(source, "statvfs", e.into()))?
        .flags();
    let mut out = Vec::new();
    for (flag, option) in [
        (FsFlags::ST_NOSUID, "nosuid"),
        (FsFlags::ST_NODEV, "nodev"),
        (FsFlags::ST_NOEXEC, "noexec"),
        (FsFlags::ST_NODIRATIME, "nodiratime"),
    ] {
        if flags.contains(flag) {
            out.push(option);
        }
    }
    // ST_RELATIME (<sys/statvfs.h>); nix leaves the name out on musl.
    let relatime = FsFlags::from_bits_retain(0x1000);
    out.push(if flags.contains(FsFlags::ST_NOATIME) {
        "noatime"
    } else if flags.contains(relatime) {
        "relatime"
    } else {
        "strictatime"
    });
    Ok(out)
}

#[cfg(not(target_os = "linux"))]
fn kept_flags(_source: &Path) -> Result<Vec<&'static str>> {
    Ok(Vec::new())
}

/// Provide the `missing` targets outside the image: point `root.path` at the skeleton in
/// `state_dir` and insert, right after the root entry, its nodes and binds. No change when
/// nothing is missing.
#[implements("filesystems.missing-targets")]
pub(crate) fn plan(
    plan: &mut Plan,
    root: &ImageRoot,
    state_dir: &Path,
    missing: &[Missing],
) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let mut shape = Shape::default();
    for m in missing {
        shape.add(root, m)?;
    }
    let image = root.path().to_str().ok_or_else(|| Error::InvalidOption {
        field: "rootfs",
        reason: format!("{} is not valid UTF-8", root.path().display()),
    })?;
    let readonly = plan
        .entries()
        .iter()
        .any(|e| matches!(e.item, Item::Root { readonly: true, .. }));
    let (root_mode, root_owner) = root
        .lookup("/")?
        .map_or((NEW_DIR_MODE, (0, 0)), |e| (e.mode, e.owner));
    let mut emitter = Emitter {
        root,
        shape: &shape,
        image: image.trim_end_matches('/'),
        readonly,
        covered: plan.mounts().map(|m| m.destination.as_str()).collect(),
        out: Vec::new(),
    };
    emitter.mirror("/", root_mode, root_owner)?;
    let out = emitter.out;
    let entries = plan.entries_mut();
    let at = entries
        .iter()
        .position(|e| matches!(e.item, Item::Root { .. }))
        .ok_or_else(|| Error::Spec {
            reason: "the plan has no root entry".into(),
        })?;
    if let Item::Root { path, .. } = &mut entries[at].item {
        *path = state_dir.join(ROOTFS_DIR);
    }
    entries.splice(at + 1..at + 1, out);
    Ok(())
}

/// Create the plan's skeleton nodes under `dir/rootfs` (`dir`: the state directory being
/// written). Each node's parent must be a directory created before it, so nothing is ever
/// created through a symlink.
#[implements("filesystems.missing-targets")]
pub(crate) fn write(plan: &Plan, dir: &Path) -> Result<()> {
    let base = dir.join(ROOTFS_DIR);
    let mut dirs: HashSet<&str> = HashSet::new();
    let mut modes = Vec::new();
    for e in plan.entries() {
        let Item::Skeleton(node) = &e.item else {
            continue;
        };
        let path = node.path();
        let placed = if path == "/" {
            dirs.is_empty() && matches!(node, Node::Directory { .. })
        } else {
            clean_absolute(path) && dirs.contains(parent(path))
        };
        if !placed {
            return Err(Error::Spec {
                reason: format!("skeleton entry {path} is not inside a skeleton directory"),
            });
        }
        let host = if path == "/" {
            base.clone()
        } else {
            base.join(&path[1..])
        };
        create(node, &host)?;
        if let Node::Directory { mode, owner, .. } = node {
            chown_as_image(&host, *owner)?;
            dirs.insert(path);
            modes.push((host, *mode));
        }
    }
    // Deepest first, so a directory without write permission is filled before it is closed.
    for (path, mode) in modes.iter().rev() {
        set_mode(path, *mode)?;
    }
    Ok(())
}

/// Make the skeleton under `state_dir` removable by its owner: a mirrored directory keeps the
/// image's mode, and one without owner write permission (an image root of 0555) would stop an
/// unprivileged `remove_dir_all` (root is not stopped). Directories only, symlinks never
/// followed; nothing to do without a skeleton.
pub(crate) fn make_removable(state_dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fn walk(dir: &Path) -> Result<()> {
            let meta = match std::fs::symlink_metadata(dir) {
                Ok(m) if m.is_dir() => m,
                _ => return Ok(()),
            };
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o700 != 0o700 {
                set_mode(dir, mode | 0o700)?;
            }
            for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read", e))? {
                let e = e.map_err(|e| Error::io(dir, "read", e))?;
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path())?;
                }
            }
            Ok(())
        }
        walk(&state_dir.join(ROOTFS_DIR))
    }
    #[cfg(not(unix))]
    {
        let _ = state_dir;
        Ok(())
    }
}

/// Give a mirrored directory its image directory's owner, when the engine runs as root: a
/// non-root user's own directory (`/home/app`) stays theirs. Unprivileged, the engine's user is
/// container 0 and owns what it creates, as it owns an image it extracted.
#[cfg(target_os = "linux")]
fn chown_as_image(host: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    match owner {
        Some((uid, gid)) if nix::unistd::geteuid().is_root() => {
            std::os::unix::fs::lchown(host, Some(uid), Some(gid))
                .map_err(|e| Error::io(host, "chown", e))
        }
        _ => Ok(()),
    }
}

#[cfg(not(target_os = "linux"))]
fn chown_as_image(_host: &Path, _owner: Option<(u32, u32)>) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn create(node: &Node, host: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    match node {
        Node::Directory { .. } => std::fs::DirBuilder::new()
            .mode(0o700)
            .create(host)
            .map_err(|e| Error::io(host, "create", e)),
        Node::File { .. } => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(host)
            .map(drop)
            .map_err(|e| Error::io(host, "create", e)),
        Node::Symlink { target, .. } => {
            std::os::unix::fs::symlink(target, host).map_err(|e| Error::io(host, "symlink", e))
        }
    }
}

#[cfg(not(unix))]
fn create(_node: &Node, _host: &Path) -> Result<()> {
    Err(Error::Unsupported {
        what: "a skeleton root",
    })
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, "chmod", e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
