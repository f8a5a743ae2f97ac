//! The state root: where the engine keeps its bundles and the runtime keeps its state, and why
//! no other user can plant or swap anything there.
//!
//! ```text
//! STATE_ROOT/            0700, owned by the engine's user
//!   bundles/ID/          one bundle per container (see crate::bundle)
//!   runtime/             the OCI runtime's own state (`runc --root`), made when a container
//!                        is first started
//! ```
//!
//! Commands that only read (`ps`) create nothing: a missing `runtime` directory means no
//! container, and the engine never starts the runtime on it just to list (runc creates its
//! `--root` for any command), so a full state filesystem can still be listed.
//!
//! The runtime is handed path strings (`runc run --bundle PATH`) and resolves them later, so
//! the paths must not be changeable by anyone else in between: every directory from `/` down to
//! the state root is opened without following symlinks and checked to be owned by root or the
//! engine's user, and a directory other users may write to (`/tmp`) is only crossed when it is
//! sticky, so they cannot rename or replace what the engine's user owns in it
//! ([`ensure_private_dir`], `confinement.state-dir`). A directory another user created first
//! (`/tmp/locald-engine-1000` made by uid 1001) is refused, never used.

use std::path::{Component, Path, PathBuf};

use locald_spec_macros::implements;

use crate::error::{Error, Result};

/// The root-owned state root.
pub const ROOT_STATE_ROOT: &str = "/var/lib/locald-engine";

/// The bundles directory inside a state root.
pub const BUNDLES_DIR: &str = "bundles";

/// The runtime's state directory (`runc --root`) inside a state root.
pub const RUNTIME_DIR: &str = "runtime";

/// Mode of the directories the engine creates on the way to and inside its state root.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The effective uid (0 off Linux, where nothing here runs).
pub(crate) fn euid() -> u32 {
    #[cfg(target_os = "linux")]
    return nix::unistd::geteuid().as_raw();
    #[cfg(not(target_os = "linux"))]
    0
}

/// `Some(dir)` when the environment variable names an absolute path.
fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// Whether `dir` is an existing directory owned by `uid` (symlinks not followed).
fn owned_dir(dir: &Path, uid: u32) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == uid)
    }
    #[cfg(not(unix))]
    {
        let _ = uid;
        dir.is_dir()
    }
}

/// The default state root for the calling user.
///
/// Root: [`ROOT_STATE_ROOT`]. Another user: `$XDG_DATA_HOME/locald-engine`, else
/// `$HOME/.local/share/locald-engine` when `$HOME` is a directory the user owns (container
/// layers can grow large, so they go where the user's data goes, as rootless Podman's storage
/// does), else `$XDG_RUNTIME_DIR/locald-engine` when it is the user's, else
/// `TMPDIR/locald-engine-UID` — every component of which [`ensure_private_dir`] checks.
///
/// ```
/// let root = locald_engine::state::default_state_root();
/// assert!(root.is_absolute());
/// ```
pub fn default_state_root() -> PathBuf {
    let uid = euid();
    if uid == 0 {
        return PathBuf::from(ROOT_STATE_ROOT);
    }
    if let Some(d) = env_dir("XDG_DATA_HOME") {
        return d.join("locald-engine");
    }
    if let Some(h) = env_dir("HOME").filter(|h| owned_dir(h, uid)) {
        return h.join(".local/share/locald-engine");
    }
    if let Some(r) = env_dir("XDG_RUNTIME_DIR").filter(|r| owned_dir(r, uid)) {
        return r.join("locald-engine");
    }
    std::env::temp_dir().join(format!("locald-engine-{uid}"))
}

/// A state root that [`StateRoot::open`] has checked and created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// Check (and create, mode 0700) the state root at `path` and its `bundles` directory,
    /// and check its `runtime` directory when there is one; see [`ensure_private_dir`]. The
    /// `runtime` directory is made by [`crate::Runtime::spawn`] when a container first starts,
    /// so that a command that only lists creates nothing there.
    ///
    /// ```no_run
    /// let root = locald_engine::state::StateRoot::open("/var/lib/locald-engine".as_ref())?;
    /// let bundle = root.bundle_dir("web-1")?;
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    pub fn open(path: &Path) -> Result<StateRoot> {
        let path = absolute(path)?;
        #[cfg(target_os = "linux")]
        ensure_private_dirs(&path, &[(BUNDLES_DIR, true), (RUNTIME_DIR, false)])?;
        #[cfg(not(target_os = "linux"))]
        {
            ensure_private_dir(&path)?;
            ensure_private_dir(&path.join(BUNDLES_DIR))?;
        }
        Ok(StateRoot { path })
    }

    /// Check the state root at `path` as [`StateRoot::open`] does, creating nothing: for
    /// commands that only read. Its directories may not exist (none of them: no containers).
    ///
    /// ```no_run
    /// let root = locald_engine::state::StateRoot::open_existing("/var/lib/locald-engine".as_ref())?;
    /// let ids = root.bundle_ids()?;
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    pub fn open_existing(path: &Path) -> Result<StateRoot> {
        let path = absolute(path)?;
        for dir in [path.clone(), path.join(BUNDLES_DIR), path.join(RUNTIME_DIR)] {
            if !check_private_dir(&dir)? {
                break;
            }
        }
        Ok(StateRoot { path })
    }

    /// The names of the bundle directories, sorted (temporary ones, `.ID.*.tmp`, left out);
    /// none when there is no `bundles` directory.
    pub fn bundle_ids(&self) -> Result<Vec<String>> {
        let dir = self.bundles();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, "read", e)),
        };
        let mut ids = Vec::new();
        for e in entries {
            let name = e.map_err(|e| Error::io(&dir, "read", e))?.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with('.') {
                ids.push(name.into_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The state root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the bundles.
    pub fn bundles(&self) -> PathBuf {
        self.path.join(BUNDLES_DIR)
    }

    /// The runtime's state directory (`runc --root`).
    pub fn runtime_root(&self) -> PathBuf {
        self.path.join(RUNTIME_DIR)
    }

    /// Remove what engines killed while preparing left in `bundles`: temporary directories
    /// `.ID.PID.XXXXXX.tmp` whose PID no longer runs. Returns how many were removed. (A PID
    /// reused since is left alone: removing less is safe.)
    #[implements("lifecycle.engine-death")]
    pub fn sweep(&self) -> Result<usize> {
        let dir = self.bundles();
        let mut removed = 0;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io(&dir, "read", e)),
        };
        for e in entries {
            let e = e.map_err(|e| Error::io(&dir, "read", e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = stale_temp_pid(&name) else {
                continue;
            };
            if process_alive(pid) {
                continue;
            }
            #[cfg(target_os = "linux")]
            crate::tree::remove_one_filesystem(&e.path())?;
            removed += 1;
        }
        Ok(removed)
    }

    /// The bundle directory of container `id` (which must be a valid container id).
    pub fn bundle_dir(&self, id: &str) -> Result<PathBuf> {
        crate::names::check_container_id(id)?;
        Ok(self.bundles().join(id))
    }
}

/// The bundle directory of container `id` (which must be a valid container id) in the state
/// root at `path`, as [`StateRoot::bundle_dir`] of [`StateRoot::open`]`(path)` names it, but
/// checking and creating nothing: for a caller that plans the bundle, and so refuses a bad
/// image or option, before the state root is made.
///
/// ```
/// let dir = locald_engine::state::bundle_dir_at("/var/lib/locald-engine".as_ref(), "web-1")?;
/// assert_eq!(dir, std::path::Path::new("/var/lib/locald-engine/bundles/web-1"));
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn bundle_dir_at(path: &Path, id: &str) -> Result<PathBuf> {
    StateRoot {
        path: absolute(path)?,
    }
    .bundle_dir(id)
}

/// The engine PID in the name of a temporary bundle directory (`.ID.PID.XXXXXX.tmp`).
fn stale_temp_pid(name: &str) -> Option<i32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let _random = parts.next()?;
    parts.next()?.parse().ok()
}

/// Whether process `pid` exists (a signal 0 reaches it, or exists without permission).
fn process_alive(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    return !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    );
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// `path` made absolute against the current directory; `..` components are refused (they
/// would make the checked path differ from the one handed on).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, "make absolute", e))?;
    if abs.components().any(|c| c == Component::ParentDir) {
        return Err(Error::InvalidOption {
            field: "state directory",
            reason: format!("{} contains `..`", path.display()),
        });
    }
    Ok(abs)
}

/// Create the directory `path` (and missing parents, mode 0700) and check that no user but
/// the engine's own and root can change what it or any directory above it holds:
///
/// - no component is a symlink (each is opened with `O_NOFOLLOW`, relative to the one above);
/// - every component is a directory owned by root or the engine's user;
/// - a directory writable by group or others (`/tmp`) is crossed only when it is sticky, so
///   others cannot rename or remove the entry below it;
/// - `path` itself is owned by the engine's user and not writable by group or others.
///
/// Refuses, naming the directory and its owner, what another user created or can write.
///
/// ```no_run
/// locald_engine::state::ensure_private_dir("/tmp/locald-engine-1000".as_ref())?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[cfg(target_os = "linux")]
#[implements("confinement.state-dir")]
pub fn ensure_private_dir(path: &Path) -> Result<()> {
    private_dir(path, true).map(|_| ())
}

/// Check `path` as [`ensure_private_dir`] does, creating nothing: `Ok(false)` when it (or a
/// directory above it) does not exist, an error when what exists is unsafe.
///
/// ```no_run
/// let exists = locald_engine::state::check_private_dir("/var/lib/locald-engine/runtime".as_ref())?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[cfg(target_os = "linux")]
pub fn check_private_dir(path: &Path) -> Result<bool> {
    private_dir(path, false)
}

/// [`ensure_private_dir`] (`create`) or [`check_private_dir`]: whether `path` exists.
#[cfg(target_os = "linux")]
fn private_dir(path: &Path, create: bool) -> Result<bool> {
    Ok(walk_private(path, create, euid())?.is_some())
}

/// [`ensure_private_dir`] of `path` (absolute), then of each of `children` (a name below it, and
/// whether to create it or only check it when it exists), each child checked from `path`'s
/// descriptor instead of by a walk from `/` of its own.
#[cfg(target_os = "linux")]
fn ensure_private_dirs(path: &Path, children: &[(&str, bool)]) -> Result<()> {
    let uid = euid();
    let Some((dir, st)) = walk_private(path, true, uid)? else {
        return Err(Error::io(
            path,
            "create",
            std::io::ErrorKind::NotFound.into(),
        ));
    };
    for (name, create) in children {
        step_private(
            &dir,
            &st,
            &path.join(name),
            name.as_ref(),
            *create,
            true,
            uid,
        )?;
    }
    Ok(())
}

/// How the state root's directories are opened: as handles, never through a symlink.
#[cfg(target_os = "linux")]
fn dir_handle_flags() -> nix::fcntl::OFlag {
    use nix::fcntl::OFlag;
    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Walk `path` from `/` (see [`ensure_private_dir`]) for the user `uid`: the open directory
/// and its status, or `None` when it (or a directory on the way) does not exist and `create`
/// is false.
#[cfg(target_os = "linux")]
fn walk_private(
    path: &Path,
    create: bool,
    uid: u32,
) -> Result<Option<(std::os::fd::OwnedFd, nix::sys::stat::FileStat)>> {
    use nix::fcntl::open;
    use nix::sys::stat::{Mode, fstat};

    let path = absolute(path)?;
    let mut dir = open("/", dir_handle_flags(), Mode::empty())
        .map_err(|e| Error::io("/", "open", e.into()))?;
    let mut here = PathBuf::from("/");
    let mut parent = fstat(&dir).map_err(|e| Error::io("/", "stat", e.into()))?;
    let names: Vec<_> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        here.push(name);
        let last = i + 1 == names.len();
        match step_private(&dir, &parent, &here, name, create, last, uid)? {
            Some((fd, st)) => (dir, parent) = (fd, st),
            None => return Ok(None),
        }
    }
    Ok(Some((dir, parent)))
}

/// One directory of [`walk_private`]: `name` in `dir` (whose status is `parent`), at `here`,
/// opened without following a symlink (created mode 0700 when missing and `create`) and checked:
/// `dir` not writable by other users unless sticky, `name` owned by root or the engine's user,
/// and, when it is the `last` one, by the engine's user (`uid`) and not writable by group or
/// others.
#[cfg(target_os = "linux")]
fn step_private(
    dir: &std::os::fd::OwnedFd,
    parent: &nix::sys::stat::FileStat,
    here: &Path,
    name: &std::ffi::OsStr,
    create: bool,
    last: bool,
    uid: u32,
) -> Result<Option<(std::os::fd::OwnedFd, nix::sys::stat::FileStat)>> {
    use nix::errno::Errno;
    use nix::fcntl::openat;
    use nix::sys::stat::{Mode, fstat, mkdirat};

    let refuse = |dir: &Path, reason: String| Error::UnsafeStateDir {
        path: dir.to_owned(),
        reason,
    };
    let flags = dir_handle_flags();
    if parent.st_mode & 0o022 != 0 && parent.st_mode & 0o1000 == 0 {
        return Err(refuse(
            here.parent().unwrap_or(Path::new("/")),
            "is writable by other users and not sticky, so they could replace what is in it".into(),
        ));
    }
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) if !create => return Ok(None),
        Err(Errno::ENOENT) => {
            match mkdirat(dir, name, Mode::from_bits_truncate(PRIVATE_DIR_MODE)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(Error::io(here, "create", e.into())),
            }
            openat(dir, name, flags, Mode::empty())
                .map_err(|e| Error::io(here, "open", e.into()))?
        }
        Err(Errno::ELOOP) | Err(Errno::ENOTDIR) => {
            return Err(refuse(here, "is a symlink or not a directory".into()));
        }
        Err(e) => return Err(Error::io(here, "open", e.into())),
    };
    let st = fstat(&fd).map_err(|e| Error::io(here, "stat", e.into()))?;
    if st.st_uid != 0 && st.st_uid != uid {
        return Err(refuse(
            here,
            format!(
                "belongs to uid {}, not to you (uid {uid}) or root",
                st.st_uid
            ),
        ));
    }
    if last {
        if st.st_uid != uid {
            return Err(refuse(
                here,
                format!("belongs to uid {}, not to you (uid {uid})", st.st_uid),
            ));
        }
        if st.st_mode & 0o022 != 0 {
            return Err(refuse(
                here,
                format!(
                    "is writable by group or others (mode {:04o}); chmod go-w it",
                    st.st_mode & 0o7777
                ),
            ));
        }
    }
    Ok(Some((fd, st)))
}

/// Create `path` (not available off Linux beyond a plain `create_dir_all`).
#[cfg(not(target_os = "linux"))]
pub fn ensure_private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, "create", e))
}

/// Whether `path` is a directory (off Linux, nothing more is checked).
#[cfg(not(target_os = "linux"))]
pub fn check_private_dir(path: &Path) -> Result<bool> {
    Ok(path.is_dir())
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
