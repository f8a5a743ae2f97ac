//! Removing a directory tree the engine made, without ever leaving its filesystem.
//!
//! Written by hand rather than with `std::fs::remove_dir_all`: removal must stop at a mount
//! point (a container root still mounted, a host directory bound somewhere) instead of
//! descending into it, and must open up directories the engine's user owns but cannot enter
//! (overlayfs leaves `work/work` at mode 0; a workload may `chmod 0` its own directories),
//! which `remove_dir_all` does neither of.

use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, open, openat};
use nix::sys::stat::{FchmodatFlags, FileStat, Mode, SFlag, fchmodat, fstat, fstatat};
use nix::unistd::UnlinkatFlags;

use crate::error::{Error, Result};

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Remove `path` and everything below it, staying on the filesystem `path` is on: an entry on
/// another device (a mount point) is an error naming it, and nothing below it is touched.
pub fn remove_one_filesystem(path: &Path) -> Result<()> {
    let dir =
        open(path, dir_flags(), Mode::empty()).map_err(|e| Error::io(path, "open", e.into()))?;
    let st = fstat(&dir).map_err(|e| Error::io(path, "stat", e.into()))?;
    let euid = nix::unistd::geteuid().as_raw();
    remove_contents(&dir, &st, path, st.st_dev, euid)?;
    drop(dir);
    std::fs::remove_dir(path).map_err(|e| Error::io(path, "remove", e))
}

/// Give the directory `name` below `parent` (at `at`, for errors) mode 0700, its last component
/// never followed: how the engine's user opens up a directory of its own that overlayfs
/// created mode 000.
pub(crate) fn open_up<N: nix::NixPath + ?Sized>(
    parent: &OwnedFd,
    name: &N,
    at: &Path,
) -> Result<()> {
    fchmodat(
        parent,
        name,
        Mode::from_bits_truncate(0o700),
        FchmodatFlags::NoFollowSymlink,
    )
    .map_err(|e| Error::io(at, "chmod", e.into()))
}

/// The directory `name` below `parent`, open, and its status; an error, with nothing changed,
/// when it is on another device than `dev`. One the engine's user cannot enter is opened up
/// ([`open_up`]) once it is known to be on `dev`: a mount point's root is never chmodded.
fn open_dir(parent: &OwnedFd, name: &CStr, at: &Path, dev: u64) -> Result<(OwnedFd, FileStat)> {
    let not_descended = || {
        Error::io(
            at,
            "remove",
            std::io::Error::other("a mount point (another filesystem): not descended into"),
        )
    };
    let fd = match openat(parent, name, dir_flags(), Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::EACCES) => {
            let st = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| Error::io(at, "stat", e.into()))?;
            if st.st_dev != dev {
                return Err(not_descended());
            }
            open_up(parent, name, at)?;
            openat(parent, name, dir_flags(), Mode::empty())
                .map_err(|e| Error::io(at, "open", e.into()))?
        }
        Err(e) => return Err(Error::io(at, "open", e.into())),
    };
    let st = fstat(&fd).map_err(|e| Error::io(at, "stat", e.into()))?;
    if st.st_dev != dev {
        return Err(not_descended());
    }
    Ok((fd, st))
}

/// The names in the directory `dir`, without `.` and `..`, and whether each is a directory
/// (`None`: the filesystem did not say). Read with getdents64(2) on `dir` itself, whose offset
/// is at the start (it was just opened): no second descriptor, no libc `DIR`.
fn entries(dir: &OwnedFd, at: &Path) -> Result<Vec<(CString, Option<bool>)>> {
    use rustix::fs::{FileType, RawDir};
    let mut buf = Vec::with_capacity(8192);
    let mut names = RawDir::new(dir, buf.spare_capacity_mut());
    let mut out = Vec::new();
    while let Some(entry) = names.next() {
        let entry = entry.map_err(|e| Error::io(at, "read", e.into()))?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Directory => Some(true),
            FileType::Unknown => None,
            _ => Some(false),
        };
        out.push((name.to_owned(), is_dir));
    }
    Ok(out)
}

fn remove_contents(dir: &OwnedFd, st: &FileStat, at: &Path, dev: u64, euid: u32) -> Result<()> {
    // Entries of a directory without write permission (a mirrored 0555 one) cannot be removed
    // until it has it; the engine's user owns what it created.
    if st.st_mode & 0o300 != 0o300 && st.st_uid == euid {
        nix::sys::stat::fchmod(dir, Mode::from_bits_truncate((st.st_mode & 0o7777) | 0o700))
            .map_err(|e| Error::io(at, "chmod", e.into()))?;
    }
    for (name, is_dir) in entries(dir, at)? {
        let child =
            at.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.to_bytes()));
        let is_dir = match is_dir {
            Some(d) => d,
            None => {
                let st = fstatat(dir, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|e| Error::io(&child, "stat", e.into()))?;
                SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
            }
        };
        if is_dir {
            let (sub, sub_st) = open_dir(dir, &name, &child, dev)?;
            remove_contents(&sub, &sub_st, &child, dev, euid)?;
            drop(sub);
            nix::unistd::unlinkat(dir, name.as_c_str(), UnlinkatFlags::RemoveDir)
                .map_err(|e| Error::io(&child, "remove", e.into()))?;
        } else {
            nix::unistd::unlinkat(dir, name.as_c_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(|e| Error::io(&child, "remove", e.into()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn removes_a_tree_with_unreadable_directories() {
        let base = tempfile::tempdir().unwrap();
        let top = base.path().join("b");
        std::fs::create_dir_all(top.join("work/work/x")).unwrap();
        std::fs::write(top.join("work/work/x/f"), "f").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", top.join("link")).unwrap();
        std::fs::set_permissions(
            top.join("work/work/x"),
            std::fs::Permissions::from_mode(0o0),
        )
        .unwrap();
        std::fs::set_permissions(top.join("work/work"), std::fs::Permissions::from_mode(0o0))
            .unwrap();
        remove_one_filesystem(&top).unwrap();
        assert!(!top.exists());
        assert!(
            Path::new("/etc/passwd").exists(),
            "the symlink's target stays"
        );
    }

    #[test]
    fn a_mount_point_inside_is_not_descended_into() {
        needs_root();
        // This thread's own mount namespace: the tmpfs never reaches the host's.
        crate::layer::enter_private_mount_namespace().unwrap();
        let base = tempfile::tempdir().unwrap();
        let top = base.path().join("b");
        std::fs::create_dir_all(top.join("rootfs")).unwrap();
        std::fs::write(top.join("file"), "x").unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            &top.join("rootfs"),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        std::fs::write(top.join("rootfs/data"), "precious").unwrap();
        let err = remove_one_filesystem(&top).unwrap_err();
        assert!(err.to_string().contains("mount point"), "{err}");
        assert_eq!(
            std::fs::read_to_string(top.join("rootfs/data")).unwrap(),
            "precious"
        );
        // Unmounted before the temporary directory's removal, which cannot remove a mount
        // point and says nothing: every run left its `b/rootfs` in /tmp.
        nix::mount::umount(&top.join("rootfs")).unwrap();
    }

    fn needs_root() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test mounts a tmpfs: run the tests as root (ci/test does)"
        );
    }
}
