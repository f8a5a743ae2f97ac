//! Mounting the container's layer: an overlay of the image (lower), `layer/upper` and
//! `layer/work`, on the bundle's `rootfs`.
//!
//! Everything is opened by handle first ([`LayerMount::open`]): the bundle directory without
//! following symlinks, its `rootfs`, `upper` and `work` relative to it, the image directory
//! recorded when the bundle was prepared. The mount itself ([`LayerMount::mount_now`]) runs in
//! the mount namespace the layer is for, often a new one, where the kernel refuses layers held
//! by handles from the old one ("failed to clone upperpath"): so there each directory is opened
//! again by its path, checked to be the very inode opened before (device and inode number), and
//! put in place of the old handle's descriptor number, and the overlay is given those as
//! `/proc/self/fd/N`. Every step is a plain system call on prepared data, allocating nothing:
//! safe to run in a child process between fork (or a clone that shares the caller's memory)
//! and exec.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use locald_spec_macros::implements;
use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::{Mode, fstat};

use crate::bundle::BundleInfo;
use crate::error::{Error, Result};

use super::{ROOTFS_DIR, UPPER_DIR, WORK_DIR};

/// One directory of the layer: its handle (whose descriptor number the reopened one takes),
/// its path, and its identity.
#[derive(Debug)]
struct Dir {
    fd: OwnedFd,
    path: CString,
    dev: u64,
    ino: u64,
}

impl Dir {
    fn new(fd: OwnedFd, path: &Path) -> Result<Dir> {
        let st = fstat(&fd).map_err(|e| Error::io(path, "stat", e.into()))?;
        let path = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
            .map_err(|_| Error::io(path, "open", std::io::ErrorKind::InvalidInput.into()))?;
        Ok(Dir {
            fd,
            path,
            dev: widen(st.st_dev),
            ino: widen(st.st_ino),
        })
    }

    /// Open the path again in the current mount namespace, check it is the same directory, and
    /// put it at this handle's descriptor number. Async-signal-safe.
    fn reopen_here(&self) -> std::io::Result<()> {
        use nix::libc;
        // SAFETY: plain system calls on a NUL-terminated path and a local stat buffer.
        unsafe {
            let fd = libc::open(
                self.path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0
                || widen(st.st_dev) != self.dev
                || widen(st.st_ino) != self.ino
            {
                libc::close(fd);
                // A layer directory changed between the check and the mount. An error number,
                // not a message: the runtime's child, which shares the engine's memory, must
                // not allocate (`runtime::spawn`).
                return Err(std::io::Error::from_raw_os_error(libc::ESTALE));
            }
            let target = self.fd.as_raw_fd();
            if libc::dup3(fd, target, libc::O_CLOEXEC) < 0 {
                let e = std::io::Error::last_os_error();
                libc::close(fd);
                return Err(e);
            }
            libc::close(fd);
        }
        Ok(())
    }
}

/// A device or inode number as `u64`: `dev_t` and `ino_t` are 32 bits on some 32-bit targets.
#[allow(clippy::useless_conversion)]
fn widen(n: impl Into<u64>) -> u64 {
    n.into()
}

/// The container's layer, opened and ready to be mounted (see the module documentation).
#[derive(Debug)]
pub struct LayerMount {
    dirs: [Dir; 4],
    target: CString,
    /// The overlay's options, each with whether it has `volatile`, tried in turn: as planned,
    /// with `userxattr` (for kernels that want it said inside a user namespace), and for a
    /// volatile layer both again without `volatile`, whatever the volatile mount's error (a
    /// kernel before 5.10 has no such option; one refuses it with `EIO` while the upper
    /// filesystem has an unseen writeback error): the layer then is an ordinary one.
    data: Vec<(CString, bool)>,
    readonly: bool,
    bundle: std::path::PathBuf,
}

fn dir_flags() -> OFlag {
    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Open `rel` (a relative path of plain directories) below `dir`, no symlinks followed.
fn open_below(dir: &OwnedFd, base: &Path, rel: &str) -> Result<OwnedFd> {
    let mut fd: Option<OwnedFd> = None;
    for name in rel.split('/') {
        let parent = fd.as_ref().unwrap_or(dir);
        let next = openat(parent, name, dir_flags(), Mode::empty())
            .map_err(|e| Error::io(base.join(rel), "open", e.into()))?;
        fd = Some(next);
    }
    fd.ok_or_else(|| Error::io(base.join(rel), "open", std::io::ErrorKind::NotFound.into()))
}

/// Where overlayfs marks a work directory once a `volatile` overlay used it (overlayfs.rst,
/// Volatile mount: "$workdir/work/incompat/volatile", never removed by the kernel): the
/// directories on the way, both created mode 000 by the kernel, then the mark.
const VOLATILE_MARK: [&str; 3] = ["work", "incompat", "volatile"];

/// Refuse a layer a volatile overlay used before: overlayfs refuses to mount it again,
/// volatile or not, with a bare `EINVAL` ("overlay with incompat feature 'volatile' cannot be
/// mounted" in the kernel's log), and after a crash of the host its upper layer may have lost
/// writes. A volatile layer (`filesystems.layer.volatile`) is made for one run: mounted once.
#[implements("filesystems.layer.volatile")]
fn refuse_volatile_remount(work: &Dir, bundle: &Path) -> Result<()> {
    let [kernel_work, incompat, mark] = VOLATILE_MARK;
    let at = |names: &[&str]| bundle.join(WORK_DIR).join(names.join("/"));
    // One name at a time, each a directory opened without following a symlink: the layer's
    // owner could have put a link where overlayfs's directories were, and root (locald's
    // setuid shim, mounting a bundle its daemon prepared) must not be led out of the bundle.
    let Some(work_dir) = open_mark_dir(&work.fd, kernel_work, &at(&[kernel_work]))? else {
        return Ok(());
    };
    let Some(incompat_dir) = open_mark_dir(&work_dir, incompat, &at(&[kernel_work, incompat]))?
    else {
        return Ok(());
    };
    match nix::sys::stat::fstatat(
        &incompat_dir,
        mark,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::io(at(&VOLATILE_MARK), "stat", e.into())),
        Ok(_) => Err(Error::Layer {
            bundle: bundle.to_owned(),
            reason: "its layer was mounted volatile before, and a volatile layer is mounted once \
                     (overlayfs marks its work directory and refuses it afterwards; its writes \
                     were never synced): remove the bundle and prepare it again"
                .into(),
        }),
    }
}

/// The directory `name` below `parent` on the way to overlayfs's volatile mark, opened
/// without following a symlink; `None` when it is not there, not a directory, or another
/// user's this one cannot look into: the kernel decides then. Overlayfs creates it mode 000;
/// an unprivileged owner (the engine's user, who mounted the layer before) first gives itself
/// the search permission, which changes nothing the kernel reads. Root needs none, and
/// changes nothing.
fn open_mark_dir(parent: &OwnedFd, name: &str, path: &Path) -> Result<Option<OwnedFd>> {
    use nix::errno::Errno;
    let euid = nix::unistd::geteuid();
    let fd = match openat(parent, name, dir_flags(), Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::EACCES) => return Ok(None),
        Err(e) => return Err(Error::io(path, "open", e.into())),
    };
    let st = fstat(&fd).map_err(|e| Error::io(path, "stat", e.into()))?;
    if euid.is_root() || st.st_uid != euid.as_raw() || st.st_mode & 0o100 != 0 {
        return Ok(Some(fd));
    }
    crate::tree::open_up(parent, name, path)?;
    // The handle opened before the chmod still names the same directory; a search through
    // an O_PATH handle checks the directory's mode now.
    Ok(Some(fd))
}

/// Refuse a bundle whose `rootfs` has something mounted on it already (another device than the
/// bundle directory's), most likely its own layer, mounted by `locald-engine mount` or a run
/// still going: a second overlay on the same upper and work directories is what overlayfs.rst
/// calls undefined behaviour ("upperdir is in-use by another mount" in the kernel's log), and
/// the bundle's removal then deleted files through the one left mounted.
#[implements("filesystems.layer.private")]
fn refuse_mounted_rootfs(bundle: &OwnedFd, rootfs: &Dir, bundle_dir: &Path) -> Result<()> {
    if !mounted_on(bundle, &rootfs.fd, bundle_dir)? {
        return Ok(());
    }
    Err(Error::Layer {
        bundle: bundle_dir.to_owned(),
        reason: format!(
            "{} has a mount on it already (its layer, mounted by `locald-engine mount` or by a \
             run that is still going?); a layer is mounted once: `umount {}` first, or \
             `locald-engine remove`, which unmounts and removes the bundle",
            bundle_dir.join(ROOTFS_DIR).display(),
            bundle_dir.join(ROOTFS_DIR).display()
        ),
    })
}

/// Refuse to mount a volatile layer for a bundle another user owns: overlayfs leaves
/// directories of the mounting user's, mode 000, in the layer's work directory, and the
/// bundle's owner (locald's daemon, after its setuid shim ran the container) could not remove
/// them.
#[implements("filesystems.layer.volatile")]
fn refuse_volatile_for_another_owner(bundle: &OwnedFd, bundle_dir: &Path) -> Result<()> {
    let st = fstat(bundle).map_err(|e| Error::io(bundle_dir, "stat", e.into()))?;
    if st.st_uid == nix::unistd::geteuid().as_raw() {
        return Ok(());
    }
    Err(Error::Layer {
        bundle: bundle_dir.to_owned(),
        reason: format!(
            "its layer is volatile, and a volatile layer is mounted by the user who removes \
             the bundle (uid {}, its owner): overlayfs would leave directories of this user's \
             in it that the owner could not remove; prepare it without volatile_layer",
            st.st_uid
        ),
    })
}

impl LayerMount {
    /// Open the layer of the bundle at `bundle_dir` (written by [`crate::prepare`]).
    pub fn open(bundle_dir: &Path) -> Result<LayerMount> {
        Self::open_with(bundle_dir, &BundleInfo::read(bundle_dir)?)
    }

    /// [`LayerMount::open`] with the bundle's `locald-bundle.json` already read (a
    /// [`crate::Bundle`]'s, which holds it), not read again.
    pub(crate) fn open_with(bundle_dir: &Path, info: &BundleInfo) -> Result<LayerMount> {
        let bundle_dir = crate::state::absolute(bundle_dir)?;
        let bundle = open(&bundle_dir, dir_flags(), Mode::empty())
            .map_err(|e| Error::io(&bundle_dir, "open bundle", e.into()))?;
        let below = |rel: &str| -> Result<Dir> {
            Dir::new(
                open_below(&bundle, &bundle_dir, rel)?,
                &bundle_dir.join(rel),
            )
        };
        let image = open(
            &info.image,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(&info.image, "open image", e.into()))?;
        let dirs = [
            Dir::new(image, &info.image)?,
            below(UPPER_DIR)?,
            below(WORK_DIR)?,
            below(ROOTFS_DIR)?,
        ];
        refuse_mounted_rootfs(&bundle, &dirs[3], &bundle_dir)?;
        let fd = |d: &Dir| format!("/proc/self/fd/{}", d.fd.as_raw_fd());
        // No inodes index (as Docker's overlay2 passes where the kernel knows the option): an
        // index ties the upper layer to the lower's file handles, which not every filesystem
        // an image may live on provides.
        let index = if Path::new("/sys/module/overlay/parameters/index").exists() {
            "index=off,"
        } else {
            ""
        };
        let layers = format!(
            "{index}lowerdir={},upperdir={},workdir={}",
            fd(&dirs[0]),
            fd(&dirs[1]),
            fd(&dirs[2])
        );
        refuse_volatile_remount(&dirs[2], &bundle_dir)?;
        let mut data = Vec::new();
        if info.volatile {
            refuse_volatile_for_another_owner(&bundle, &bundle_dir)?;
            data.push((format!("volatile,{layers}"), true));
            data.push((format!("userxattr,volatile,{layers}"), true));
        }
        data.push((layers.clone(), false));
        data.push((format!("userxattr,{layers}"), false));
        Ok(LayerMount {
            target: CString::new(fd(&dirs[3])).expect("no NUL"),
            data: data
                .into_iter()
                .map(|(d, volatile)| (CString::new(d).expect("no NUL"), volatile))
                .collect(),
            dirs,
            readonly: info.readonly,
            bundle: bundle_dir,
        })
    }

    /// The overlay's options in the order [`LayerMount::mount_now`] tries them, each with
    /// whether it has `volatile`.
    #[cfg(test)]
    pub(crate) fn attempts(&self) -> Vec<(String, bool)> {
        self.data
            .iter()
            .map(|(d, v)| (d.to_string_lossy().into_owned(), *v))
            .collect()
    }

    /// Mount the overlay now, in the calling process's mount namespace (see the module
    /// documentation). Only system calls on data prepared by [`LayerMount::open`]:
    /// async-signal-safe and allocating nothing, so it may run between `fork` and `exec`
    /// (`CommandExt::pre_exec`), or in a child that shares the caller's memory.
    pub fn mount_now(&self) -> std::io::Result<()> {
        for d in &self.dirs {
            d.reopen_here()?;
        }
        // No nosuid or nodev: the image's setuid programs (su, ping) must work, as they do
        // on Docker's and Podman's overlay roots.
        let flags = if self.readonly {
            nix::libc::MS_RDONLY
        } else {
            0
        };
        let mount = |data: &CString| {
            // SAFETY: every pointer is a NUL-terminated string owned by `self`.
            let rc = unsafe {
                nix::libc::mount(
                    c"overlay".as_ptr(),
                    self.target.as_ptr(),
                    c"overlay".as_ptr(),
                    flags,
                    data.as_ptr().cast(),
                )
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        // The first refusal is the one reported: that of the options as planned.
        let mut first = None;
        for (data, volatile) in &self.data {
            match mount(data) {
                Ok(()) => return Ok(()),
                Err(e) if *volatile || e.raw_os_error() == Some(nix::libc::EINVAL) => {
                    first.get_or_insert(e);
                }
                Err(e) => return Err(first.unwrap_or(e)),
            }
        }
        Err(first.unwrap_or_else(|| std::io::Error::from_raw_os_error(nix::libc::EINVAL)))
    }

    /// The error for a failed [`LayerMount::mount_now`], saying what usually causes it.
    pub fn mount_error(&self, e: std::io::Error) -> Error {
        let hint = match e.raw_os_error() {
            Some(nix::libc::EPERM) => {
                "mounting needs root, or (Linux 5.11 or later) a user namespace of one's own"
            }
            Some(nix::libc::ENODEV) => "the kernel has no overlay filesystem (modprobe overlay)",
            Some(nix::libc::EINVAL) => {
                "overlayfs refused the layer: the state directory's filesystem cannot hold an \
                 upper layer (overlayfs, NFS, or tmpfs before Linux 6.6 inside a user \
                 namespace); choose another --state-root"
            }
            _ => "",
        };
        Error::Layer {
            bundle: self.bundle.clone(),
            reason: if hint.is_empty() {
                format!("mount overlay: {e}")
            } else {
                format!("mount overlay: {e} ({hint})")
            },
        }
    }
}

/// Mount the layer of the bundle at `bundle_dir` on its `rootfs`, in the calling process's
/// mount namespace: what a privileged caller (locald's setuid shim) does, after
/// [`enter_private_mount_namespace`], before it starts the runtime on the bundle. Needs root,
/// or a user namespace of the caller's own that owns the mount namespace.
///
/// ```no_run
/// use locald_engine::layer;
///
/// layer::enter_private_mount_namespace()?;
/// layer::mount("/home/me/.local/share/locald-engine/bundles/web".as_ref())?;
/// // ... start the runtime on the bundle; the mount ends with the namespace.
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("filesystems.layer.private")]
pub fn mount(bundle_dir: &Path) -> Result<()> {
    let layer = LayerMount::open(bundle_dir)?;
    layer.mount_now().map_err(|e| layer.mount_error(e))
}

/// Unmount the layer of the bundle at `bundle_dir` when it is mounted in the calling process's
/// mount namespace.
pub fn unmount(bundle_dir: &Path) -> Result<()> {
    if !is_mounted(bundle_dir)? {
        return Ok(());
    }
    let target = bundle_dir.join(ROOTFS_DIR);
    nix::mount::umount2(&target, nix::mount::MntFlags::UMOUNT_NOFOLLOW)
        .map_err(|e| Error::io(&target, "unmount", e.into()))
}

/// Whether something is mounted on the bundle's `rootfs` in the calling process's mount
/// namespace (it is on another device than the bundle directory).
pub fn is_mounted(bundle_dir: &Path) -> Result<bool> {
    let bundle = open(bundle_dir, dir_flags(), Mode::empty())
        .map_err(|e| Error::io(bundle_dir, "open bundle", e.into()))?;
    let rootfs = match openat(&bundle, ROOTFS_DIR, dir_flags(), Mode::empty()) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Error::io(bundle_dir.join(ROOTFS_DIR), "open", e.into())),
    };
    mounted_on(&bundle, &rootfs, bundle_dir)
}

/// Whether the bundle's `rootfs` (open as `rootfs`) has something mounted on it: it is on
/// another device than the bundle directory (open as `bundle`).
fn mounted_on(bundle: &OwnedFd, rootfs: &OwnedFd, bundle_dir: &Path) -> Result<bool> {
    let a = fstat(bundle).map_err(|e| Error::io(bundle_dir, "stat", e.into()))?;
    let b = fstat(rootfs).map_err(|e| Error::io(bundle_dir.join(ROOTFS_DIR), "stat", e.into()))?;
    Ok(a.st_dev != b.st_dev)
}

/// Move the calling process into a mount namespace of its own in which no mount propagates
/// back to the host's (`unshare(CLONE_NEWNS)`, then `/` made a recursive slave), so that a
/// mounted layer is seen only by it and its children and disappears with them. Needs
/// `CAP_SYS_ADMIN`; the calling thread must be the process's only one, or only that thread
/// moves.
pub fn enter_private_mount_namespace() -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::io("/", "unshare mount namespace", e.into()))?;
    make_rslave().map_err(|e| Error::io("/", "make / a slave mount", e))
}

/// `mount --make-rslave /`: async-signal-safe.
pub(crate) fn make_rslave() -> std::io::Result<()> {
    // SAFETY: static NUL-terminated strings and null pointers, as mount(2) allows.
    let rc = unsafe {
        nix::libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            nix::libc::MS_REC | nix::libc::MS_SLAVE,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
