//! Hostile images: `prepare` reads an image's files without leaving its root, without hanging
//! and without unbounded memory, and on every refusal writes nothing at all.
//!
//! No container runs here: these are the reads the engine does on the host, as the user who
//! runs it, before runc starts.

#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use locald_engine::{Error, RunOptions, prepare};
use locald_spec_macros::verifies;
use oci_spec::image::ImageConfiguration;

/// A rootfs holding every mount target the default plan needs, with `etc` filled by `setup`.
fn image_tree(setup: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        fs::create_dir(dir.path().join(d)).unwrap();
    }
    for f in ["hostname", "hosts", "resolv.conf"] {
        fs::write(dir.path().join("etc").join(f), "").unwrap();
    }
    setup(dir.path());
    dir
}

/// `prepare` on a thread, failing the test if it takes longer than 20 s (a hang).
fn prepare_in_time(rootfs: &Path, state: &Path) -> Result<locald_engine::Bundle, Error> {
    let (rootfs, state) = (rootfs.to_owned(), state.to_owned());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let res = prepare(
            &ImageConfiguration::default(),
            &rootfs,
            &RunOptions {
                args: Some(vec!["sh".into()]),
                ..RunOptions::default()
            },
            &state,
            "hostile",
        );
        let _ = tx.send(res);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("prepare must not hang on a hostile image")
}

/// Every path below `root` with its type, size, mode and modification time: any write changes
/// it, and unlike a content hash it does not read a gigabyte of sparse zeros.
fn snapshot(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            out.push(format!(
                "{} {:o} {} {}.{}",
                e.path().display(),
                m.mode(),
                m.len(),
                m.mtime(),
                m.mtime_nsec()
            ));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Assert `prepare` refuses the image naming `file`, leaves no state directory (nor anything
/// else beside it) and does not change the image.
fn refused_naming(rootfs: &Path, file: &str, why: &str) {
    let before = snapshot(rootfs);
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let err = prepare_in_time(rootfs, &state).unwrap_err().to_string();
    assert!(err.contains(file) && err.contains(why), "{err}");
    assert_eq!(
        fs::read_dir(parent.path()).unwrap().count(),
        0,
        "nothing is written beside the state directory"
    );
    assert_eq!(before, snapshot(rootfs), "the image is unchanged");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_passwd_symlink_to_a_host_file_reads_the_images_own_path() {
    let host = tempfile::tempdir().unwrap();
    let secret = host.path().join("shadow");
    fs::write(&secret, "root:HOST-SECRET:0:0::/:/bin/sh\n").unwrap();
    let image = image_tree(|root| {
        symlink(&secret, root.join("etc/passwd")).unwrap();
        fs::write(root.join("etc/group"), "").unwrap();
        // The same path inside the image, where the link must land.
        let inner = root.join(secret.strip_prefix("/").unwrap());
        fs::create_dir_all(inner.parent().unwrap()).unwrap();
        fs::write(&inner, "img:x:7:7::/:/bin/sh\n").unwrap();
    });
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let bundle = prepare_in_time(image.path(), &state).unwrap();
    let passwd = fs::read_to_string(state.join("layer/upper/etc/passwd")).unwrap();
    // The link resolved inside the image: its entry, then the engine's own root entry.
    assert!(!passwd.contains("HOST-SECRET"), "{passwd}");
    assert!(passwd.starts_with("img:x:7:7::/:/bin/sh\n"), "{passwd}");
    bundle.remove().unwrap();
}

#[test]
#[verifies("identity.image-files.confined")]
fn etc_a_symlink_to_the_root_never_reaches_the_hosts_etc() {
    // /etc -> / inside the image: /etc/passwd is the image's /passwd, never the host's.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("passwd"), "img:x:7:7::/:/bin/sh\n").unwrap();
    symlink("/", dir.path().join("etc")).unwrap();
    let root = locald_engine::ImageRoot::open(dir.path()).unwrap();
    let files = locald_engine::identity::IdentityFiles::read(&root).unwrap();
    assert_eq!(files.passwd.as_deref(), Some("img:x:7:7::/:/bin/sh\n"));
    assert_eq!(files.group, None, "the host's /etc/group is not read");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_fifo_at_etc_group_is_refused_without_hanging() {
    let image = image_tree(|root| {
        nix::unistd::mkfifo(
            &root.join("etc/group"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap()
    });
    refused_naming(image.path(), "/etc/group", "FIFO");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_one_gigabyte_passwd_is_refused_without_reading_it() {
    let image = image_tree(|root| {
        // Sparse: a gigabyte of apparent size, no disk.
        let f = fs::File::create(root.join("etc/passwd")).unwrap();
        f.set_len(1 << 30).unwrap();
    });
    refused_naming(image.path(), "/etc/passwd", "limit");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_directory_at_etc_passwd_is_refused() {
    let image = image_tree(|root| fs::create_dir(root.join("etc/passwd")).unwrap());
    refused_naming(image.path(), "/etc/passwd", "directory");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_device_node_at_etc_passwd_is_refused() {
    // Creating a device node needs root (an image extracted by root may hold one).
    locald_testkit::require_root();
    let image = image_tree(|root| {
        // /dev/zero's numbers: a reader would never reach the end.
        nix::sys::stat::mknod(
            &root.join("etc/passwd"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            nix::sys::stat::makedev(1, 5),
        )
        .unwrap()
    });
    refused_naming(image.path(), "/etc/passwd", "device");
}

#[test]
#[verifies("identity.image-files.confined")]
fn a_passwd_that_is_not_utf8_is_refused() {
    let image = image_tree(|root| fs::write(root.join("etc/passwd"), [0xff, 0xfe, b'\n']).unwrap());
    refused_naming(image.path(), "/etc/passwd", "UTF-8");
}
