//! Safe, bounded reads inside an image's root filesystem.
//!
//! Every path inside an image is hostile (runc CVE-2019-19921, CVE-2021-30465, CVE-2024-21626):
//! a symlink at `/etc/passwd` may point at the host's `/etc/shadow`, a FIFO may hang a reader,
//! a huge file may exhaust memory. So every lookup goes through `pathrs`, which resolves paths
//! as if the image directory were `/` (symlinks and `..` cannot leave it), the file type is
//! checked on the resolved `O_PATH` handle before anything is opened for reading, the reopen
//! uses `O_NONBLOCK`, and reads stop at a byte limit.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The default limit for one file read from the image: 4 MiB.
pub const DEFAULT_READ_LIMIT: u64 = 4 * 1024 * 1024;

/// What went wrong resolving or opening a path, in words, for a message that names the path.
///
/// pathrs's own text names only the system call ("openat2 subpath failed") and keeps the errno
/// in its sources: a symlink loop (ELOOP) and a path or name too long (ENAMETOOLONG) are said
/// as such, any other error is its text followed by each of its sources'.
#[cfg(target_os = "linux")]
pub(crate) fn path_error(e: &(dyn std::error::Error + 'static)) -> String {
    use nix::libc::{ELOOP, ENAMETOOLONG};
    match errno_of(e) {
        Some(ELOOP) => "a symlink loop (too many levels of symbolic links)".into(),
        Some(ENAMETOOLONG) => "too long (ENAMETOOLONG: a name over 255 bytes or the path over \
                               4096)"
            .into(),
        _ => {
            let mut msg = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                source = s.source();
            }
            msg
        }
    }
}

/// The errno an error or one of its sources carries (pathrs, nix or std).
#[cfg(target_os = "linux")]
fn errno_of(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(p) = e.downcast_ref::<pathrs::error::Error>()
            && let pathrs::error::ErrorKind::OsError(Some(n)) = p.kind()
        {
            return Some(n);
        }
        if let Some(n) = e.downcast_ref::<nix::errno::Errno>() {
            return Some(*n as i32);
        }
        if let Some(n) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
        {
            return Some(n);
        }
        at = e.source();
    }
    None
}

/// The type of an inode found inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A regular file.
    Regular,
    /// A symbolic link (only seen when not following the last component).
    Symlink,
    /// A FIFO, socket, or device node.
    Special,
}

impl FileKind {
    /// A short description for error messages (`a directory`, ...).
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Directory => "a directory",
            FileKind::Regular => "a regular file",
            FileKind::Symlink => "a symlink",
            FileKind::Special => "a FIFO, socket or device",
        }
    }
}

/// One entry found inside the image, symlinks not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// Its name (one path component; `/` for the root).
    pub name: String,
    /// Its type.
    pub kind: FileKind,
    /// Its permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Its owner: (uid, gid) as stored on the host.
    pub owner: (u32, u32),
    /// A symlink's target, as stored in the link.
    pub link: Option<String>,
}

/// What [`ImageRoot::walk_owners`] calls for each entry: its path inside the root and its
/// owner (uid, gid).
pub type OwnerVisitor<'a> = dyn FnMut(&str, (u32, u32)) -> Result<()> + 'a;

/// One existing component of a path inside the image, as [`ImageRoot::walk_path`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathEntry {
    /// Its path inside the root, symlinks resolved (`/` for the root).
    pub path: String,
    /// Its type.
    pub kind: FileKind,
    /// Its permission bits.
    pub mode: u32,
    /// Its owner: (uid, gid) as stored on the host.
    pub owner: (u32, u32),
}

/// Where a path leads inside the image (see [`ImageRoot::walk_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathWalk {
    /// The root, then each existing component in order, resolved.
    pub existing: Vec<PathEntry>,
    /// The components after the last existing one, which the image lacks.
    pub missing: Vec<String>,
}

impl PathWalk {
    /// The resolved path of the last existing component.
    pub fn resolved(&self) -> String {
        self.existing
            .last()
            .map_or_else(|| "/".to_owned(), |e| e.path.clone())
    }

    /// Whether the whole path exists.
    pub fn exists(&self) -> bool {
        self.missing.is_empty()
    }

    /// The last existing entry (the path's own, when it exists).
    pub fn last(&self) -> &PathEntry {
        self.existing.last().expect("the root is always there")
    }

    /// The full resolved path: the resolved existing part and the missing components.
    pub fn full(&self) -> String {
        let mut p = self.resolved();
        for m in &self.missing {
            if !p.ends_with('/') {
                p.push('/');
            }
            p.push_str(m);
        }
        p
    }
}

/// An image root filesystem opened for confined reads.
///
/// ```no_run
/// use locald_engine::ImageRoot;
///
/// let root = ImageRoot::open("/path/to/rootfs".as_ref())?;
/// // `None`: the image has no /etc/passwd. An escaping symlink would resolve inside the root.
/// let passwd: Option<String> = root.read_to_string("/etc/passwd")?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub struct ImageRoot {
    path: PathBuf,
    limit: u64,
    #[cfg(target_os = "linux")]
    root: pathrs::Root,
    /// The components [`ImageRoot::walk_path`] resolved so far, by the in-root path it
    /// resolved (`/etc/hosts` after `/etc`), to what it found: planning walks the same
    /// prefixes (`/`, `/etc`, `/dev`) for every mount target, each component an openat2, a
    /// stat and a readlink of /proc. The engine never writes to the image; what a plan sees
    /// of it is one snapshot either way, which the runtime resolves again when it mounts.
    #[cfg(target_os = "linux")]
    walked: std::sync::Mutex<std::collections::HashMap<String, PathEntry>>,
}

impl std::fmt::Debug for ImageRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageRoot")
            .field("path", &self.path)
            .field("limit", &self.limit)
            .finish()
    }
}

impl ImageRoot {
    /// The host path of the root (as given to [`ImageRoot::open`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte limit for one read.
    pub fn read_limit(&self) -> u64 {
        self.limit
    }

    /// Change the byte limit for one read (default [`DEFAULT_READ_LIMIT`]).
    pub fn with_read_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Read a whole file as UTF-8 text. See [`ImageRoot::read`].
    pub fn read_to_string(&self, path: &str) -> Result<Option<String>> {
        match self.read(path)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Error::ImageFile {
                    path: path.to_owned(),
                    reason: "not valid UTF-8".into(),
                }),
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::Read;
    use std::os::fd::{AsFd, AsRawFd};
    use std::path::Path;

    use nix::fcntl::{AtFlags, readlinkat};
    use nix::sys::stat::{FileStat, SFlag, fstat, fstatat};
    use pathrs::flags::OpenFlags;

    use super::{
        DEFAULT_READ_LIMIT, FileKind, ImageEntry, ImageRoot, OwnerVisitor, PathEntry, PathWalk,
    };
    use crate::error::{Error, Result};

    fn utf8(path: &str, name: std::ffi::OsString) -> Result<String> {
        name.into_string().map_err(|n| Error::ImageFile {
            path: path.to_owned(),
            reason: format!("{} is not valid UTF-8", n.to_string_lossy()),
        })
    }

    fn kind_of(st: &FileStat) -> FileKind {
        match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => FileKind::Directory,
            SFlag::S_IFREG => FileKind::Regular,
            SFlag::S_IFLNK => FileKind::Symlink,
            _ => FileKind::Special,
        }
    }

    /// What a walk records of the file at `path` (in the root) with status `st`.
    fn entry_of(path: String, st: &FileStat) -> PathEntry {
        PathEntry {
            path,
            kind: kind_of(st),
            mode: st.st_mode & 0o7777,
            owner: (st.st_uid, st.st_gid),
        }
    }

    /// `Ok(None)` when the path (or one of its parents) does not exist.
    fn missing_or(path: &str, err: pathrs::error::Error) -> Result<Option<pathrs::Handle>> {
        match err.kind() {
            // ENOTDIR: a parent is a file, so the path cannot exist either.
            pathrs::error::ErrorKind::OsError(Some(nix::libc::ENOENT))
            | pathrs::error::ErrorKind::OsError(Some(nix::libc::ENOTDIR)) => Ok(None),
            _ => Err(Error::ImageFile {
                path: path.to_owned(),
                reason: format!(
                    "cannot resolve inside the root: {}",
                    super::path_error(&err)
                ),
            }),
        }
    }

    fn walk_err(path: &str, reason: String) -> Error {
        Error::ImageFile {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_owned()
            },
            reason,
        }
    }

    /// List `dir` (at `path` inside the root, `""` for the root), visit each entry, then
    /// descend into its subdirectories: only the open ancestors hold descriptors.
    fn walk_dir(
        dir: &mut nix::dir::Dir,
        path: &str,
        depth: usize,
        visit: &mut OwnerVisitor<'_>,
    ) -> Result<()> {
        use nix::fcntl::OFlag;
        use nix::sys::stat::Mode;
        let mut subdirs = Vec::new();
        let fd = dir.as_raw_fd();
        for e in dir.iter() {
            let e = e.map_err(|e| walk_err(path, format!("read: {e}")))?;
            let raw = e.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let name = std::str::from_utf8(raw).map_err(|_| {
                walk_err(
                    path,
                    format!(
                        "holds a name that is not UTF-8: {}",
                        e.file_name().to_string_lossy()
                    ),
                )
            })?;
            let child = format!("{path}/{name}");
            // SAFETY: `fd` belongs to `dir`, which outlives this borrow.
            let dfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let st = fstatat(dfd, name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| walk_err(&child, format!("stat: {e}")))?;
            visit(&child, (st.st_uid, st.st_gid))?;
            if kind_of(&st) == FileKind::Directory {
                subdirs.push((name.to_owned(), child));
            }
        }
        for (name, child) in subdirs {
            if depth >= crate::limits::MAX_WALK_DEPTH {
                return Err(walk_err(
                    &child,
                    format!(
                        "is nested deeper than {} directories (limits.walk-depth)",
                        crate::limits::MAX_WALK_DEPTH
                    ),
                ));
            }
            let mut sub = nix::dir::Dir::openat(
                &*dir,
                name.as_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| walk_err(&child, format!("open: {e}")))?;
            walk_dir(&mut sub, &child, depth + 1, visit)?;
        }
        Ok(())
    }

    impl ImageRoot {
        /// Open `path` (a host directory) as an image root.
        pub fn open(path: &Path) -> Result<Self> {
            let root = pathrs::Root::open(path).map_err(|e| {
                Error::io(
                    path,
                    "open rootfs",
                    std::io::Error::other(super::path_error(&e)),
                )
            })?;
            Ok(ImageRoot {
                path: path.to_owned(),
                limit: DEFAULT_READ_LIMIT,
                root,
                walked: Default::default(),
            })
        }

        fn resolve(&self, path: &str, follow: bool) -> Result<Option<pathrs::Handle>> {
            let res = if follow {
                self.root.resolve(path)
            } else {
                self.root.resolve_nofollow(path)
            };
            match res {
                Ok(h) => Ok(Some(h)),
                Err(e) => missing_or(path, e),
            }
        }

        /// The directory at `path` inside the root (symlinks inside the root followed), open
        /// for reading: one openat2 in the root, where reopening a resolved handle would go
        /// through procfs (see `read`). O_DIRECTORY refuses anything else.
        fn open_dir(&self, path: &str) -> std::result::Result<std::fs::File, pathrs::error::Error> {
            self.root
                .open_subpath(path, OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
        }

        fn stat(path: &str, fd: impl AsFd) -> Result<FileStat> {
            fstat(fd).map_err(|e| Error::ImageFile {
                path: path.to_owned(),
                reason: format!("fstat: {e}"),
            })
        }

        /// The type of `path` inside the root, following symlinks inside the root;
        /// `Ok(None)` when it does not exist.
        pub fn kind(&self, path: &str) -> Result<Option<FileKind>> {
            match self.resolve(path, true)? {
                None => Ok(None),
                Some(h) => Ok(Some(kind_of(&Self::stat(path, &h)?))),
            }
        }

        /// The entry `name` with status `st`, its symlink's target read at `at` relative to
        /// `dir`; errors name `path`.
        fn entry(
            path: &str,
            name: String,
            (dir, at): (impl AsFd, &str),
            st: &FileStat,
        ) -> Result<ImageEntry> {
            let kind = kind_of(st);
            let link = match kind {
                FileKind::Symlink => Some(Self::readlink(path, dir, at)?),
                _ => None,
            };
            Ok(ImageEntry {
                name,
                kind,
                mode: st.st_mode & 0o7777,
                owner: (st.st_uid, st.st_gid),
                link,
            })
        }

        /// The target of the symlink at `at` relative to `dir` (both inside the root; `at`
        /// empty for a handle of the symlink itself), read into a buffer on the heap.
        /// `Root::readlink` would resolve the path a second time and read into a 128 KB array
        /// on the stack, whose probe faulted in 32 stack pages on every first lookup of a run
        /// (#14).
        fn readlink(path: &str, dir: impl AsFd, at: &str) -> Result<String> {
            let target = readlinkat(dir.as_fd(), at).map_err(|e| Error::ImageFile {
                path: path.to_owned(),
                reason: if at.is_empty() {
                    format!("readlink: {e}")
                } else {
                    format!("readlink {at}: {e}")
                },
            })?;
            utf8(path, target)
        }

        /// The entry at `path` inside the root, its last component not followed (a symlink is
        /// reported as one, with its target); `Ok(None)` when it does not exist.
        pub fn lookup(&self, path: &str) -> Result<Option<ImageEntry>> {
            let Some(h) = self.resolve(path, false)? else {
                return Ok(None);
            };
            let st = Self::stat(path, &h)?;
            let name = path.rsplit('/').find(|c| !c.is_empty()).unwrap_or("/");
            Self::entry(path, name.to_owned(), (&h, ""), &st).map(Some)
        }

        /// The entries of the directory at `path` inside the root (symlinks inside the root
        /// followed to reach it), sorted by name, without `.` and `..`; each entry's own type,
        /// a symlink not followed. Names and link targets must be UTF-8: they become mount
        /// paths.
        pub fn list_dir(&self, path: &str) -> Result<Vec<ImageEntry>> {
            let bad = |reason: String| Error::ImageFile {
                path: path.to_owned(),
                reason,
            };
            let handle = self
                .resolve(path, true)?
                .ok_or_else(|| bad("does not exist".into()))?;
            drop(handle);
            let dir = self
                .open_dir(path)
                .map_err(|e| bad(format!("open directory: {}", super::path_error(&e))))?;
            // Listed through the open descriptor, and every entry examined relative to it
            // without following it, so nothing outside this directory is looked at.
            let fd_path = format!("/proc/self/fd/{}", dir.as_raw_fd());
            let mut out = Vec::new();
            for e in std::fs::read_dir(&fd_path).map_err(|e| bad(format!("read: {e}")))? {
                let e = e.map_err(|e| bad(format!("read: {e}")))?;
                let name = utf8(path, e.file_name())?;
                let st = fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|e| bad(format!("stat {name}: {e}")))?;
                let entry = Self::entry(path, name.clone(), (&dir, name.as_str()), &st)?;
                out.push(entry);
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        }

        /// Where `path` leads inside the root: its existing part resolved component by
        /// component (symlinks followed, inside the root), each with its type, mode and owner,
        /// and the components that do not exist. A component that is a dangling symlink, a
        /// symlink loop, or a non-directory with components after it is an error naming
        /// `path`: the engine could not say where a target there would land.
        pub fn walk_path(&self, path: &str) -> Result<PathWalk> {
            let bad = |reason: String| Error::ImageFile {
                path: path.to_owned(),
                reason,
            };
            let names: Vec<&str> = path
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect();
            if names.contains(&"..") {
                return Err(bad("contains `..`".into()));
            }
            let mut walk = PathWalk {
                existing: Vec::new(),
                missing: Vec::new(),
            };
            let top = match self.walked_before("/") {
                Some(top) => top,
                None => {
                    let top = self
                        .resolve("/", true)?
                        .ok_or_else(|| bad("no root".into()))?;
                    self.remember("/", entry_of("/".into(), &Self::stat("/", &top)?))
                }
            };
            walk.existing.push(top);
            for (i, name) in names.iter().enumerate() {
                let here = walk.resolved();
                let parent_kind = walk.existing.last().map(|e| e.kind);
                if parent_kind != Some(FileKind::Directory) {
                    return Err(bad(format!("{here} is not a directory")));
                }
                let candidate = if here == "/" {
                    format!("/{name}")
                } else {
                    format!("{here}/{name}")
                };
                if let Some(entry) = self.walked_before(&candidate) {
                    walk.existing.push(entry);
                    continue;
                }
                match self.root.resolve(&candidate) {
                    Ok(h) => {
                        let st = Self::stat(path, &h)?;
                        let canonical = self.in_root_path(path, &h)?;
                        walk.existing
                            .push(self.remember(&candidate, entry_of(canonical, &st)));
                    }
                    Err(e) => match e.kind() {
                        pathrs::error::ErrorKind::OsError(Some(nix::libc::ENOENT)) => {
                            if let Some(link) = self.lookup(&candidate)? {
                                return Err(bad(format!(
                                    "{candidate} is a dangling symlink to {}",
                                    link.link.unwrap_or_default()
                                )));
                            }
                            walk.missing = names[i..].iter().map(|n| n.to_string()).collect();
                            return Ok(walk);
                        }
                        _ => {
                            return Err(bad(format!(
                                "cannot resolve {candidate}: {}",
                                super::path_error(&e)
                            )));
                        }
                    },
                }
            }
            Ok(walk)
        }

        /// What an earlier walk found at `candidate` (an in-root path, symlinks in its parent
        /// resolved), if one did.
        fn walked_before(&self, candidate: &str) -> Option<PathEntry> {
            let walked = self.walked.lock().unwrap_or_else(|e| e.into_inner());
            walked.get(candidate).cloned()
        }

        /// Remember what a walk found at `candidate`, and return it.
        fn remember(&self, candidate: &str, entry: PathEntry) -> PathEntry {
            let mut walked = self.walked.lock().unwrap_or_else(|e| e.into_inner());
            walked.insert(candidate.to_owned(), entry.clone());
            entry
        }

        /// The path inside the root of an open handle (from the kernel's own record of it).
        fn in_root_path(&self, path: &str, h: &pathrs::Handle) -> Result<String> {
            let link =
                std::fs::read_link(format!("/proc/thread-self/fd/{}", h.as_fd().as_raw_fd()))
                    .map_err(|e| Error::ImageFile {
                        path: path.to_owned(),
                        reason: format!("cannot tell where it resolved: {e}"),
                    })?;
            let inner = link
                .strip_prefix(&self.path)
                .map_err(|_| Error::ImageFile {
                    path: path.to_owned(),
                    reason: format!(
                        "resolved to {}, outside {} (the root moved?)",
                        link.display(),
                        self.path.display()
                    ),
                })?;
            let inner = utf8(path, inner.as_os_str().to_owned())?;
            Ok(format!("/{inner}"))
        }

        /// Visit every entry of the tree (symlinks not followed, nothing outside it opened):
        /// `visit(path, owner)` for each, the root first; stops at the first `Err` the visitor
        /// returns. Each directory is opened relative to its parent with `O_NOFOLLOW`; a tree
        /// nested deeper than [`crate::limits::MAX_WALK_DEPTH`] directories is refused.
        pub fn walk_owners(&self, visit: &mut OwnerVisitor<'_>) -> Result<()> {
            let top = self
                .open_dir("/")
                .map_err(|e| walk_err("/", format!("open: {}", super::path_error(&e))))?;
            let st = Self::stat("/", &top)?;
            visit("/", (st.st_uid, st.st_gid))?;
            let mut top = nix::dir::Dir::from_fd(top.into())
                .map_err(|e| walk_err("/", format!("open: {e}")))?;
            walk_dir(&mut top, "", 1, visit)
        }

        /// Read a whole regular file, at most [`ImageRoot::read_limit`] bytes.
        ///
        /// `Ok(None)` when the file does not exist; an error naming the file when it is not a
        /// regular file (FIFO, device, socket, directory), is too large, or cannot be read.
        #[locald_spec_macros::implements("identity.image-files.confined")]
        pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
            let Some(handle) = self.resolve(path, true)? else {
                return Ok(None);
            };
            let bad = |reason: String| Error::ImageFile {
                path: path.to_owned(),
                reason,
            };
            // Check the type on the O_PATH handle first: opening a FIFO for reading would block
            // and opening a device could have side effects.
            let before = Self::stat(path, &handle)?;
            if kind_of(&before) != FileKind::Regular {
                return Err(bad(format!(
                    "is {}, not a regular file",
                    kind_of(&before).describe()
                )));
            }
            // Opened by a second lookup inside the root rather than by reopening the handle:
            // pathrs reopens an O_PATH handle through /proc/thread-self/fd with its procfs
            // checks, about thirty system calls, three quarters of prepare()'s (measured with
            // strace on crates/engine/benches/prepare.rs); openat2 in the root is one. What
            // the second lookup finds must be the inode checked above (a swap in between is
            // refused below), and O_NONBLOCK keeps a FIFO swapped in from blocking the open.
            drop(handle);
            let file = self
                .root
                .open_subpath(
                    path,
                    OpenFlags::O_RDONLY | OpenFlags::O_NONBLOCK | OpenFlags::O_NOCTTY,
                )
                .map_err(|e| bad(format!("open: {}", super::path_error(&e))))?;
            // Verify the inode we opened is the one we checked.
            let after = Self::stat(path, &file)?;
            if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino)
                || kind_of(&after) != FileKind::Regular
            {
                return Err(bad("changed while being opened".into()));
            }
            if after.st_size as u64 > self.limit {
                return Err(bad(format!("larger than the {} byte limit", self.limit)));
            }
            // Room for the whole file and one byte more: read in one call, then its end seen
            // (a file that grew meanwhile still stops at the limit below).
            let mut buf = Vec::with_capacity(after.st_size as usize + 1);
            file.take(self.limit + 1)
                .read_to_end(&mut buf)
                .map_err(|e| bad(format!("read: {e}")))?;
            if buf.len() as u64 > self.limit {
                return Err(bad(format!("larger than the {} byte limit", self.limit)));
            }
            Ok(Some(buf))
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl ImageRoot {
    /// Open `path` as an image root (Linux only).
    pub fn open(_path: &Path) -> Result<Self> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// The type of `path` inside the root (Linux only).
    pub fn kind(&self, _path: &str) -> Result<Option<FileKind>> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// Read a whole regular file (Linux only).
    pub fn read(&self, _path: &str) -> Result<Option<Vec<u8>>> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// The entry at `path`, not followed (Linux only).
    pub fn lookup(&self, _path: &str) -> Result<Option<ImageEntry>> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// The entries of a directory (Linux only).
    pub fn list_dir(&self, _path: &str) -> Result<Vec<ImageEntry>> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// Where a path leads inside the image (Linux only).
    pub fn walk_path(&self, _path: &str) -> Result<PathWalk> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }

    /// Visit every entry of the tree (Linux only).
    pub fn walk_owners(&self, _visit: &mut OwnerVisitor<'_>) -> Result<()> {
        Err(Error::Unsupported {
            what: "reading an image rootfs",
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        dir
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tree();
        let root = ImageRoot::open(dir.path()).unwrap();
        assert_eq!(root.read("/etc/passwd").unwrap(), None);
        assert_eq!(root.read("/nope/passwd").unwrap(), None);
        assert_eq!(root.kind("/etc/passwd").unwrap(), None);
    }

    #[test]
    fn parent_is_a_file_counts_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("etc"), "not a dir").unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        assert_eq!(root.read("/etc/passwd").unwrap(), None);
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn absolute_symlink_resolves_inside_the_root() {
        let host = tempfile::tempdir().unwrap();
        let shadow = host.path().join("shadow");
        fs::write(&shadow, "root:SECRET-HASH:1::::::\n").unwrap();
        let dir = tree();
        // An absolute link to a host file outside the root, as a hostile image would ship.
        symlink(&shadow, dir.path().join("etc/passwd")).unwrap();
        let inner = dir.path().join(shadow.strip_prefix("/").unwrap());
        fs::create_dir_all(inner.parent().unwrap()).unwrap();
        fs::write(&inner, "inside:x:1:1::/:/bin/sh\n").unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let got = root.read_to_string("/etc/passwd").unwrap().unwrap();
        assert_eq!(got, "inside:x:1:1::/:/bin/sh\n");
        assert!(!got.contains("SECRET"));
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn dotdot_symlink_cannot_escape() {
        let dir = tree();
        symlink(
            "../../../../../../etc/hostname",
            dir.path().join("etc/passwd"),
        )
        .unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        // Clamped to the root: /etc/hostname inside the image, which does not exist.
        assert_eq!(root.read("/etc/passwd").unwrap(), None);
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn fifo_is_refused_without_hanging() {
        let dir = tree();
        let fifo = dir.path().join("etc/group");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(root.read("/etc/group").map(|_| ())).unwrap());
        let res = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO must not hang");
        let err = res.unwrap_err().to_string();
        assert!(err.contains("/etc/group"), "{err}");
        assert!(err.contains("FIFO"), "{err}");
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn directory_is_refused() {
        let dir = tree();
        fs::create_dir(dir.path().join("etc/passwd")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let err = root.read("/etc/passwd").unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn oversize_file_is_refused_naming_it() {
        let dir = tree();
        fs::write(dir.path().join("etc/passwd"), vec![b'a'; 2048]).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap().with_read_limit(1024);
        let err = root.read("/etc/passwd").unwrap_err().to_string();
        assert!(err.contains("/etc/passwd") && err.contains("1024"), "{err}");
        fs::write(dir.path().join("etc/passwd"), vec![b'a'; 1024]).unwrap();
        assert_eq!(root.read("/etc/passwd").unwrap().unwrap().len(), 1024);
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn default_limit_is_4_mib() {
        let dir = tree();
        fs::write(
            dir.path().join("etc/passwd"),
            vec![b'a'; DEFAULT_READ_LIMIT as usize + 1],
        )
        .unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        assert!(root.read("/etc/passwd").is_err());
    }

    /// Walks that share a prefix reuse what an earlier walk resolved (`walked`): each finds
    /// what a walk through a root opened afresh finds, through a symlinked directory, an
    /// absolute symlink kept inside the root, and a missing tail.
    #[test]
    fn a_walk_finds_what_a_fresh_root_finds() {
        let dir = tree();
        let d = dir.path();
        fs::create_dir_all(d.join("real/etc/ssl")).unwrap();
        fs::write(d.join("real/etc/hosts"), "").unwrap();
        fs::remove_dir(d.join("etc")).unwrap();
        symlink("real/etc", d.join("etc")).unwrap();
        symlink("/real/etc/ssl", d.join("real/etc/certs")).unwrap();
        let paths = [
            "/etc/hosts",
            "/etc/ssl",
            "/etc/certs/x",
            "/etc/hosts",
            "/real/etc/certs",
            "/etc/missing/deeper",
            "/",
        ];
        let shared = ImageRoot::open(d).unwrap();
        for path in paths {
            let fresh = ImageRoot::open(d).unwrap().walk_path(path).unwrap();
            assert_eq!(shared.walk_path(path).unwrap(), fresh, "{path}");
        }
        let certs = shared.walk_path("/etc/certs/x").unwrap();
        assert_eq!(certs.existing.last().unwrap().path, "/real/etc/ssl");
        assert_eq!(certs.missing, ["x"]);
    }

    /// Found by the hostile image corpus: a symlink loop in an image path was reported as
    /// "openat2 subpath failed" (pathrs's name for the system call), and a name too long the
    /// same way: the path was named, what is wrong with it was not.
    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn a_symlink_loop_and_a_name_too_long_are_named_as_such() {
        let dir = tree();
        symlink("passwd", dir.path().join("etc/passwd")).unwrap();
        symlink("b", dir.path().join("etc/a")).unwrap();
        symlink("a", dir.path().join("etc/b")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        for (path, err) in [
            ("/etc/passwd", root.read("/etc/passwd").unwrap_err()),
            ("/etc/a", root.kind("/etc/a/x").unwrap_err()),
            ("/etc/a", root.walk_path("/etc/a/x").unwrap_err()),
            ("/etc/a", root.list_dir("/etc/a").unwrap_err()),
        ] {
            let err = err.to_string();
            assert!(err.contains(path), "{err}");
            assert!(err.contains("symlink loop"), "{err}");
            assert!(!err.contains("openat2"), "{err}");
        }
        let long = format!("/etc/{}", "n".repeat(300));
        for err in [
            root.read(&long).unwrap_err(),
            root.walk_path(&long).unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(err.contains(&long) && err.contains("too long"), "{err}");
            assert!(!err.contains("openat2"), "{err}");
        }
    }

    #[test]
    #[locald_spec_macros::verifies("identity.image-files.confined")]
    fn invalid_utf8_is_an_error() {
        let dir = tree();
        fs::write(dir.path().join("etc/passwd"), [0xff, 0xfe]).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let err = root.read_to_string("/etc/passwd").unwrap_err().to_string();
        assert!(err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn lookup_does_not_follow_and_list_dir_reports_entries() {
        let dir = tree();
        fs::write(dir.path().join("etc/hosts"), "").unwrap();
        fs::set_permissions(
            dir.path().join("etc/hosts"),
            std::os::unix::fs::PermissionsExt::from_mode(0o640),
        )
        .unwrap();
        symlink("/etc", dir.path().join("link")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        let link = root.lookup("/link").unwrap().unwrap();
        assert_eq!(link.kind, FileKind::Symlink);
        assert_eq!(link.link.as_deref(), Some("/etc"));
        assert_eq!(link.name, "link");
        assert_eq!(root.lookup("/").unwrap().unwrap().kind, FileKind::Directory);
        assert_eq!(root.lookup("/nope").unwrap(), None);
        let names: Vec<_> = root
            .list_dir("/")
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("etc".to_string(), FileKind::Directory),
                ("link".to_string(), FileKind::Symlink)
            ]
        );
        let listed = root.list_dir("/").unwrap();
        assert_eq!(listed[1].link.as_deref(), Some("/etc"));
        assert_eq!(listed[0].link, None);
        // Through the link, inside the root.
        let etc = root.list_dir("/link").unwrap();
        assert_eq!(etc.len(), 1);
        assert_eq!((etc[0].name.as_str(), etc[0].mode), ("hosts", 0o640));
        assert!(root.list_dir("/nope").is_err());
    }

    #[test]
    fn kind_reports_types() {
        let dir = tree();
        fs::write(dir.path().join("etc/hosts"), "").unwrap();
        symlink("/etc", dir.path().join("link")).unwrap();
        let root = ImageRoot::open(dir.path()).unwrap();
        assert_eq!(root.kind("/etc").unwrap(), Some(FileKind::Directory));
        assert_eq!(root.kind("/etc/hosts").unwrap(), Some(FileKind::Regular));
        assert_eq!(root.kind("/link").unwrap(), Some(FileKind::Directory));
    }
}
