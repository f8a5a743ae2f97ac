//! Writing the engine's entries into the container's writable layer, before it is mounted.

use std::path::Path;

use crate::error::{Error, Result};
#[cfg(target_os = "linux")]
use crate::plan::Item;
use crate::plan::Plan;

/// Write the plan's layer entries ([`Item::LayerDir`], [`Item::LayerFile`], in plan order,
/// parents first) into `upper`, a fresh directory the engine just created: directories with
/// the planned mode, files with their contents and mode. Every path is resolved inside
/// `upper` (pathrs), so nothing can lead the writes out of it.
///
/// Owners: an entry mirrored from the image carries the image's owner, which the engine sets
/// when it runs as root; an unprivileged engine can only leave its own user, which is the
/// container's root under the single mapping.
///
/// ```no_run
/// # let plan = locald_engine::Plan::default();
/// locald_engine::layer::write(&plan, "/var/lib/locald-engine/bundles/c1/layer/upper".as_ref())?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[cfg(target_os = "linux")]
pub fn write(plan: &Plan, upper: &Path) -> Result<()> {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;

    use pathrs::flags::OpenFlags;
    use pathrs::{InodeType, Root};

    // pathrs says only "pathrs create failed" at the top of its error: the errno (ENOSPC on a
    // full state root, say) is in its sources, so the message names the whole chain, and a
    // symlink loop or a name too long in words (`rootfs::path_error`).
    let fail = |path: &str, op: &'static str, e: &(dyn std::error::Error + 'static)| {
        Error::io(
            upper.join(path.trim_start_matches('/')),
            op,
            std::io::Error::other(crate::rootfs::path_error(e)),
        )
    };
    let root = Root::open(upper).map_err(|e| fail("/", "open", &e))?;
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    // Set the exact mode (the umask cleared bits; mkdir(2) ignores the setgid bit) and, when
    // the engine may, the owner.
    let finish =
        |path: &str, fd: std::os::fd::BorrowedFd<'_>, mode: u32, owner: Option<(u32, u32)>| {
            if let Some((uid, gid)) = owner
                && (uid, gid) != me
                && me.0 == 0
            {
                nix::unistd::fchown(
                    fd,
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )
                .map_err(|e| fail(path, "chown", &e))?;
            }
            nix::sys::stat::fchmod(fd, nix::sys::stat::Mode::from_bits_truncate(mode))
                .map_err(|e| fail(path, "chmod", &e))
        };
    // Directories are created writable by the engine and get their planned mode (a mirrored
    // 0555 root, say) only once everything below them is written, deepest first.
    let mut dirs = Vec::new();
    for e in plan.entries() {
        match &e.item {
            Item::LayerDir { path, mode, owner } => {
                if path != "/" {
                    let perm = std::fs::Permissions::from_mode(0o700);
                    if let Err(err) = root.create(path, &InodeType::Directory(perm)) {
                        let exists = matches!(
                            err.kind(),
                            pathrs::error::ErrorKind::OsError(Some(nix::libc::EEXIST))
                        );
                        if !exists {
                            return Err(fail(path, "create directory", &err));
                        }
                    }
                }
                dirs.push((path, *mode, *owner));
            }
            Item::LayerFile {
                path,
                contents,
                mode,
                owner,
            } => {
                let perm = std::fs::Permissions::from_mode(mode & 0o777);
                let mut f = root
                    .create_file(
                        path,
                        OpenFlags::O_WRONLY
                            | OpenFlags::O_CREAT
                            | OpenFlags::O_EXCL
                            | OpenFlags::O_NOFOLLOW,
                        &perm,
                    )
                    .map_err(|err| fail(path, "create", &err))?;
                f.write_all(contents.as_bytes())
                    .map_err(|err| fail(path, "write", &err))?;
                finish(path, f.as_fd(), *mode, *owner)?;
            }
            _ => {}
        }
    }
    for (path, mode, owner) in dirs.into_iter().rev() {
        // One openat2 in the root; resolving then reopening the handle goes through procfs,
        // some thirty system calls (see ImageRoot::read).
        let dir = root
            .open_subpath(
                path,
                OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY | OpenFlags::O_NOFOLLOW,
            )
            .map_err(|err| fail(path, "open directory", &err))?;
        finish(path, dir.as_fd(), mode, owner)?;
    }
    Ok(())
}

/// Writing a layer needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn write(_plan: &Plan, _upper: &Path) -> Result<()> {
    Err(Error::Unsupported {
        what: "writing a container's layer",
    })
}
