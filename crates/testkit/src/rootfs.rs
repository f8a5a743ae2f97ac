//! Minimal real root filesystems: one static busybox plus applet links and mount targets.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::prereq::require_busybox;

/// Applets linked to busybox in `/bin`.
pub const APPLETS: &[&str] = &[
    "sh", "id", "cat", "whoami", "hostname", "env", "ls", "grep", "sleep", "mount", "echo",
    "printf", "test", "true", "false", "stat", "readlink", "head", "tail", "wc", "cut", "sed",
    "awk", "tr", "touch", "mkdir", "rm", "pwd", "uname", "sort", "kill", "ps", "tty",
];

/// Which users the image's /etc/passwd and /etc/group hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Users {
    /// Only root (uid 0, gid 0).
    RootOnly,
    /// Empty /etc/passwd and /etc/group (the files exist as mount targets).
    NoEntries,
    /// root plus `app` (uid 1000, gid 1000), also a member of `staff` (gid 50).
    App,
}

impl Users {
    fn files(self) -> (&'static str, &'static str) {
        match self {
            Users::RootOnly => ("root:x:0:0:root:/root:/bin/sh\n", "root:x:0:\n"),
            Users::NoEntries => ("", ""),
            Users::App => (
                "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n",
                "root:x:0:\nstaff:x:50:app\napp:x:1000:\n",
            ),
        }
    }
}

/// A rootfs in a fresh temporary directory, removed on drop.
///
/// Layout: `<tmp>/rootfs` (the image) and `<tmp>/scratch` (for image configs and the like);
/// every directory created is 0755 so an unprivileged test user can traverse it.
#[derive(Debug)]
pub struct Rootfs {
    dir: tempfile::TempDir,
    root: PathBuf,
    scratch: PathBuf,
}

fn mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn mkdir(path: &Path, m: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    mode(path, m);
}

fn write(path: &Path, contents: &str, m: u32) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    mode(path, m);
}

impl Rootfs {
    /// Build a busybox rootfs; a missing busybox-static fails the test.
    #[track_caller]
    pub fn build(users: Users) -> Rootfs {
        let busybox = require_busybox();
        let dir = tempfile::Builder::new()
            .prefix("locald-rootfs-")
            .tempdir()
            .expect("create temp dir");
        // tempdirs are 0700: the rootless test user must be able to traverse this one.
        mode(dir.path(), 0o755);
        let root = dir.path().join("rootfs");
        let scratch = dir.path().join("scratch");
        mkdir(&scratch, 0o755);
        mkdir(&root, 0o755);
        for d in ["bin", "proc", "dev", "sys", "etc", "home", "mnt", "usr/bin"] {
            mkdir(&root.join(d), 0o755);
        }
        mkdir(&root.join("tmp"), 0o1777);
        mkdir(&root.join("root"), 0o700);
        fs::copy(&busybox, root.join("bin/busybox")).expect("copy busybox");
        mode(&root.join("bin/busybox"), 0o755);
        for applet in APPLETS {
            symlink("busybox", root.join("bin").join(applet)).expect("applet link");
        }
        let (passwd, group) = users.files();
        write(&root.join("etc/passwd"), passwd, 0o644);
        write(&root.join("etc/group"), group, 0o644);
        for f in ["hosts", "hostname", "resolv.conf"] {
            write(&root.join("etc").join(f), "", 0o644);
        }
        if users == Users::App {
            mkdir(&root.join("home/app"), 0o755);
        }
        Rootfs { dir, root, scratch }
    }

    /// The rootfs directory (absolute).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A 0755 directory beside the rootfs, outside it.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// The temporary directory holding both.
    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// Write a world-readable file into the scratch directory and return its path.
    pub fn write_scratch(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.scratch.join(name);
        write(&p, contents, 0o644);
        p
    }
}
