use super::*;
use crate::options::RunOptions;
use crate::plan::{Entry, Requirement};
use locald_spec_macros::verifies;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

fn image() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for d in ["proc", "dev", "sys", "etc"] {
        fs::create_dir(dir.path().join(d)).unwrap();
    }
    dir
}

/// The default mounts and the given extra entries, completed against `dir`.
fn complete(dir: &Path, extra: Vec<(Requirement, Item)>) -> crate::Result<Vec<Entry>> {
    let mut plan = Plan::default();
    plan.push(
        requirement!("filesystems.root"),
        Item::Root {
            image: dir.into(),
            readonly: false,
        },
    );
    for (req, m) in crate::filesystems::default_mounts(&RunOptions::default()) {
        plan.push(req, Item::Mount(m));
    }
    for (req, item) in extra {
        plan.push(req, item);
    }
    let root = ImageRoot::open(dir)?;
    super::plan(&mut plan, &root, &["/state/hosts".to_string()])?;
    Ok(plan.entries().to_vec())
}

fn layer_paths(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match &e.item {
            Item::LayerDir { path, .. } => Some(format!("{path}/")),
            Item::LayerFile { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// An empty engine-generated /etc/passwd, as the identity duty plans it.
fn passwd_file() -> (Requirement, Item) {
    (
        requirement!("identity.passwd.current-user"),
        Item::LayerFile {
            path: "/etc/passwd".into(),
            contents: String::new(),
            mode: 0o644,
            owner: None,
        },
    )
}

/// What refusing `extra` against `dir` says.
fn refusal(dir: &Path, extra: Vec<(Requirement, Item)>) -> String {
    complete(dir, extra)
        .expect_err("the plan should be refused")
        .to_string()
}

fn hosts_bind() -> (Requirement, Item) {
    (
        requirement!("names.hosts.localhost"),
        Item::Mount(MountEntry::new(
            "/etc/hosts",
            "bind",
            "/state/hosts",
            &["bind"],
        )),
    )
}

#[test]
#[verifies("filesystems.layer.targets")]
fn an_image_with_every_target_gets_only_its_root_mirrored() {
    let dir = image();
    let entries = complete(dir.path(), vec![]).unwrap();
    assert_eq!(layer_paths(&entries), ["//"]);
    // The layer entries come right after the root entry.
    assert!(matches!(entries[0].item, Item::Root { .. }));
    assert!(matches!(&entries[1].item, Item::LayerDir { path, mode: 0o755, .. } if path == "/"));
}

#[test]
#[verifies("filesystems.layer.targets", "confinement.mount-targets")]
fn kernel_filesystem_mount_points_are_always_plain_directories() {
    let dir = image();
    fs::remove_dir(dir.path().join("proc")).unwrap();
    fs::remove_dir(dir.path().join("sys")).unwrap();
    fs::remove_dir(dir.path().join("dev")).unwrap();
    // A missing one, one linking out of the root, one that is a file.
    symlink("/etc", dir.path().join("sys")).unwrap();
    fs::write(dir.path().join("dev"), "").unwrap();
    let entries = complete(dir.path(), vec![]).unwrap();
    assert_eq!(layer_paths(&entries), ["//", "/proc/", "/dev/", "/sys/"]);
}

#[test]
#[verifies("filesystems.layer.targets", "filesystems.layer.engine-files")]
fn a_generated_files_target_is_a_regular_file_in_the_layer_unless_the_image_has_one() {
    let dir = image();
    let entries = complete(dir.path(), vec![hosts_bind()]).unwrap();
    assert_eq!(layer_paths(&entries), ["//", "/etc/", "/etc/hosts"]);
    fs::write(dir.path().join("etc/hosts"), "").unwrap();
    assert_eq!(
        layer_paths(&complete(dir.path(), vec![hosts_bind()]).unwrap()),
        ["//"]
    );
    // A symlink to a host file, a FIFO, a directory: replaced in the layer, never followed.
    for hostile in ["symlink", "fifo", "dir"] {
        let dir = image();
        let p = dir.path().join("etc/hosts");
        match hostile {
            "symlink" => symlink("/etc/shadow", &p).unwrap(),
            "fifo" => {
                nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap()
            }
            _ => fs::create_dir(&p).unwrap(),
        }
        assert_eq!(
            layer_paths(&complete(dir.path(), vec![hosts_bind()]).unwrap()),
            ["//", "/etc/", "/etc/hosts"],
            "{hostile}"
        );
    }
}

#[test]
#[verifies("confinement.mount-targets")]
fn an_etc_leading_into_proc_is_refused() {
    let dir = image();
    fs::remove_dir(dir.path().join("etc")).unwrap();
    symlink("/proc/self", dir.path().join("etc")).unwrap();
    fs::create_dir_all(dir.path().join("proc/self")).unwrap();
    for entry in [hosts_bind(), passwd_file()] {
        let err = refusal(dir.path(), vec![entry]);
        assert!(err.contains("inside /proc"), "{err}");
    }
}

#[test]
#[verifies("filesystems.layer.targets")]
fn dangling_symlinks_and_loops_are_refused_naming_them() {
    let dir = image();
    symlink("/nowhere", dir.path().join("data")).unwrap();
    let bind = |dest: &str| {
        (
            requirement!("filesystems.bind-mounts"),
            Item::Mount(MountEntry::new(dest, "bind", "/tmp", &["rbind"])),
        )
    };
    let err = refusal(dir.path(), vec![bind("/data")]);
    assert!(err.contains("dangling symlink"), "{err}");
    symlink("loop2", dir.path().join("loop1")).unwrap();
    symlink("loop1", dir.path().join("loop2")).unwrap();
    let err = refusal(dir.path(), vec![bind("/loop1/x")]);
    assert!(err.contains("/loop1"), "{err}");
}

/// A generated file under a caller's bind is refused, the bind counted where the runtime
/// mounts it: `/betc`, a symlink to `/etc` in the image, hides `/etc/passwd` as `/etc` does.
#[test]
#[verifies("filesystems.layer.engine-files", "filesystems.layer.targets")]
fn a_generated_file_under_a_bind_mount_is_refused() {
    let dir = image();
    symlink("/etc", dir.path().join("betc")).unwrap();
    for destination in ["/etc", "/betc"] {
        let err = refusal(
            dir.path(),
            vec![
                (
                    requirement!("filesystems.bind-mounts"),
                    Item::Mount(MountEntry::new(destination, "bind", "/tmp", &["rbind"])),
                ),
                passwd_file(),
            ],
        );
        assert!(
            err.contains("hidden under the bind mount on /etc"),
            "{destination}: {err}"
        );
    }
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn every_entry_must_be_owned_by_a_mapped_id() {
    let dir = image();
    fs::create_dir_all(dir.path().join("a/b")).unwrap();
    fs::write(dir.path().join("a/b/f"), "").unwrap();
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let root = ImageRoot::open(dir.path()).unwrap();
    check_mapped_owners(&root, &crate::IdMapping::new(me.0, me.1)).unwrap();
    if me.0 == 0 {
        std::os::unix::fs::lchown(dir.path().join("a/b/f"), Some(4242), None).unwrap();
        let err = check_mapped_owners(&root, &crate::IdMapping::new(0, 0)).unwrap_err();
        assert!(
            matches!(&err, Error::UnmappedOwner { path, uid: 4242, .. } if path == "/a/b/f"),
            "{err}"
        );
    }
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn the_ownership_walk_refuses_a_tree_too_deep() {
    let dir = image();
    let mut p = dir.path().to_path_buf();
    for _ in 0..crate::limits::MAX_WALK_DEPTH + 1 {
        p.push("d");
    }
    fs::create_dir_all(&p).unwrap();
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let root = ImageRoot::open(dir.path()).unwrap();
    let err = check_mapped_owners(&root, &crate::IdMapping::new(me.0, me.1)).unwrap_err();
    assert!(err.to_string().contains("nested deeper than 256"), "{err}");
}

#[test]
#[verifies("filesystems.layer.targets", "filesystems.read-only-tmpfs")]
fn a_tmpfs_mount_point_whose_parent_the_image_lacks_is_created_with_it() {
    let ro = RunOptions {
        readonly_rootfs: true,
        ..Default::default()
    };
    let tmpfs = || -> Vec<(Requirement, Item)> {
        crate::filesystems::read_only_tmpfs_mounts(&ro)
            .into_iter()
            .map(|m| (requirement!("filesystems.read-only-tmpfs"), Item::Mount(m)))
            .collect()
    };
    // A FROM scratch image: no /run, no /var.
    let dir = image();
    let entries = complete(dir.path(), tmpfs()).unwrap();
    assert_eq!(layer_paths(&entries), ["//", "/run/", "/var/", "/var/tmp/"]);
    // Each mount point carries its tmpfs's mode, which runc 1.1 gives the tmpfs; the parent it
    // needed is an ordinary directory.
    let modes: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.item {
            Item::LayerDir { path, mode, .. } => Some((path.as_str(), *mode)),
            _ => None,
        })
        .collect();
    assert_eq!(
        modes[1..],
        [("/run", 0o755), ("/var", 0o755), ("/var/tmp", 0o1777)]
    );
    // A /var that is a symlink, or a file, is refused naming the mount point.
    for make in [
        |d: &Path| symlink("/etc", d.join("var")).unwrap(),
        |d: &Path| fs::write(d.join("var"), "").unwrap(),
    ] {
        let dir = image();
        make(dir.path());
        let err = complete(dir.path(), tmpfs()).unwrap_err();
        assert!(
            matches!(&err, Error::TargetUnreachable { destination, .. } if destination == "/var/tmp"),
            "{err}"
        );
    }
}

/// Found by the hostile image corpus: a write into the layer that met a symlink loop (or a name
/// too long) was reported with pathrs's own words, "pathrs create failed: openat2 subpath
/// failed", which say neither.
#[test]
#[verifies("filesystems.layer.targets")]
fn a_layer_write_through_a_symlink_loop_or_a_name_too_long_says_so() {
    let upper = tempfile::tempdir().unwrap();
    symlink("loop", upper.path().join("loop")).unwrap();
    let file = |path: String| {
        let mut plan = Plan::default();
        plan.push(
            requirement!("filesystems.layer.targets"),
            Item::LayerFile {
                path,
                contents: "x\n".into(),
                mode: 0o644,
                owner: None,
            },
        );
        write(&plan, upper.path()).unwrap_err().to_string()
    };
    let err = file("/loop/f".into());
    assert!(
        err.contains("loop/f") && err.contains("symlink loop"),
        "{err}"
    );
    let long = "n".repeat(300);
    let err = file(format!("/{long}"));
    assert!(err.contains(&long) && err.contains("too long"), "{err}");
    assert!(!err.contains("openat2"), "{err}");
}
