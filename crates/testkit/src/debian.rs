//! A real Debian root filesystem (`debootstrap --variant=minbase bookworm`), built once per
//! workspace into `<workspace>/target/debian-rootfs` and reused.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::init::workspace;
use crate::prereq::missing;

/// The suite the rootfs is built from.
pub const DEBIAN_SUITE: &str = "bookworm";

/// Packages added to minbase: programs that look up the running user in ways of their own
/// (`ssh-keygen` refuses to run without a passwd entry; Python's `getpass.getuser()`, in the
/// standard library, asks `pwd`). Written into the marker, so a rootfs built with another list
/// is rebuilt.
pub const DEBIAN_EXTRA_PACKAGES: &str = "openssh-client,python3-minimal,libpython3.11-stdlib";

/// Whether the marker at `path` records a build of this package list.
fn complete(marker: &Path) -> bool {
    fs::read_to_string(marker).is_ok_and(|s| s == DEBIAN_EXTRA_PACKAGES)
}

fn mark_complete(marker: &Path) {
    fs::write(marker, DEBIAN_EXTRA_PACKAGES)
        .unwrap_or_else(|e| panic!("write {}: {e}", marker.display()));
}

/// The first `URIs:` of the host's `/etc/apt/sources.list.d/debian.sources` (the mirror apt
/// uses), else deb.debian.org.
fn mirror() -> String {
    fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter_map(|l| l.strip_prefix("URIs:"))
                .flat_map(|u| u.split_whitespace())
                .find(|u| u.ends_with("/debian"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

fn debootstrap() -> PathBuf {
    [
        "/usr/sbin/debootstrap",
        "/sbin/debootstrap",
        "/usr/bin/debootstrap",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .unwrap_or_else(|| missing("debootstrap (apt-get install -y debootstrap)"))
}

/// The Debian minbase rootfs, built on first use: `debootstrap --variant=minbase bookworm`
/// with `DEBIAN_EXTRA_PACKAGES` from the host's Debian mirror into `<workspace>/target/debian-rootfs/rootfs`, complete once
/// the marker `<workspace>/target/debian-rootfs/complete` exists (an interrupted build is
/// redone). An exclusive lock on `<workspace>/target/debian-rootfs/lock` makes parallel test
/// processes wait for one build. The directories down to the rootfs are made traversable
/// (o+x) so the rootless test user can use it; an untraversable ancestor outside the workspace
/// fails the test. Building needs root, debootstrap and the mirror; without them the test fails.
#[track_caller]
pub fn debian_rootfs() -> PathBuf {
    let base = workspace().join("target/debian-rootfs");
    let root = base.join("rootfs");
    let marker = base.join("complete");
    if !complete(&marker) {
        build(&base, &root, &marker);
    }
    make_traversable(&root);
    root
}

/// A copy of [`debian_rootfs`] owned by `uid` and `gid` (every entry), built on first use into
/// `<workspace>/target/debian-rootfs-UID/rootfs` under the same kind of lock and marker: the
/// image as an unprivileged user who extracted it would own it, which the engine's
/// unprivileged writable layer needs (its user namespace maps only that user).
#[track_caller]
pub fn debian_rootfs_for(uid: u32, gid: u32) -> PathBuf {
    let source = debian_rootfs();
    let base = workspace().join(format!("target/debian-rootfs-{uid}"));
    let root = base.join("rootfs");
    let marker = base.join("complete");
    if !complete(&marker) {
        crate::prereq::require_root();
        fs::create_dir_all(&base).unwrap_or_else(|e| panic!("mkdir {}: {e}", base.display()));
        let lock = File::create(base.join("lock")).expect("debian-rootfs copy lock file");
        let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .unwrap_or_else(|(_, e)| panic!("lock debian-rootfs copy: {e}"));
        if !complete(&marker) {
            if root.exists() {
                fs::remove_dir_all(&root).expect("remove an incomplete or outdated copy");
            }
            let out = Command::new("cp")
                .arg("-a")
                .arg(&source)
                .arg(&root)
                .output()
                .expect("run cp");
            assert!(out.status.success(), "cp -a {}: {out:?}", source.display());
            crate::tree::chown_tree(&root, uid, gid);
            mark_complete(&marker);
        }
    }
    make_traversable(&root);
    root
}

/// debootstrap into `root` under an exclusive lock, unless another process finished meanwhile.
#[track_caller]
fn build(base: &Path, root: &Path, marker: &Path) {
    crate::prereq::require_root();
    fs::create_dir_all(base).unwrap_or_else(|e| panic!("mkdir {}: {e}", base.display()));
    let lock = File::create(base.join("lock")).expect("debian-rootfs lock file");
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .unwrap_or_else(|(_, e)| panic!("lock debian-rootfs: {e}"));
    if complete(marker) {
        return;
    }
    if root.exists() {
        fs::remove_dir_all(root).expect("remove an incomplete or outdated debian rootfs");
    }
    let out = Command::new(debootstrap())
        .arg("--variant=minbase")
        .arg(format!("--include={DEBIAN_EXTRA_PACKAGES}"))
        .arg(DEBIAN_SUITE)
        .arg(root)
        .arg(mirror())
        .output()
        .expect("run debootstrap");
    if !out.status.success() {
        missing(&format!(
            "a Debian {DEBIAN_SUITE} rootfs (debootstrap failed: {}{})",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    mark_complete(marker);
}

/// o+x on `path` and its ancestors inside the workspace (those not already so); an ancestor
/// outside it that the test user cannot traverse fails the test, naming it.
fn make_traversable(path: &Path) {
    let ws = workspace();
    for dir in path.ancestors() {
        let meta = fs::metadata(dir).unwrap_or_else(|e| panic!("stat {}: {e}", dir.display()));
        let mode = meta.permissions().mode();
        if mode & 0o001 != 0 {
            continue;
        }
        if !dir.starts_with(&ws) {
            missing(&format!(
                "a Debian rootfs the rootless test user can reach ({} is not traversable: \
                 move the workspace or chmod o+x it)",
                dir.display()
            ));
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o001))
            .unwrap_or_else(|e| panic!("chmod o+x {}: {e}", dir.display()));
    }
}
