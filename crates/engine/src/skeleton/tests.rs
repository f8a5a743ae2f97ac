use super::*;
use crate::options::{BindMount, RunOptions};
use locald_spec_macros::verifies;
use oci_spec::image::{ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

fn image() -> ImageConfiguration {
    ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .cmd(vec!["/app/run".to_string()])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// A `FROM scratch`-like image: `/app/run`, `/bin/busybox`, `/bin/sh -> busybox`, `/lib ->
/// bin` and nothing else (no /proc, /dev, /sys, /etc).
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(dir.path().join("app")).unwrap();
    fs::write(dir.path().join("app/run"), "").unwrap();
    fs::create_dir_all(dir.path().join("bin")).unwrap();
    fs::write(dir.path().join("bin/busybox"), "").unwrap();
    symlink("busybox", dir.path().join("bin/sh")).unwrap();
    symlink("bin", dir.path().join("lib")).unwrap();
    dir
}

/// Every directory the default plan mounts on, plus /etc with the identity and name files.
fn complete(dir: &Path) {
    for d in ["proc", "dev", "sys", "etc"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
    for f in ["hostname", "hosts", "resolv.conf"] {
        fs::write(dir.join("etc").join(f), "").unwrap();
    }
}

fn plan_for(rootfs: &Path, opts: &RunOptions) -> Result<Plan> {
    crate::bundle::plan(&image(), rootfs, opts, Path::new("/state/c1"), "c1").map(|(p, _)| p)
}

fn skeleton_entries(plan: &Plan) -> Vec<String> {
    plan.entries()
        .iter()
        .filter(|e| e.requirement == ids::FILESYSTEMS_MISSING_TARGETS)
        .map(|e| e.item.to_string())
        .collect()
}

fn real(dir: &Path) -> String {
    fs::canonicalize(dir).unwrap().to_str().unwrap().to_owned()
}

fn root_entry(plan: &Plan) -> (PathBuf, bool) {
    plan.entries()
        .iter()
        .find_map(|e| match &e.item {
            Item::Root { path, readonly } => Some((path.clone(), *readonly)),
            _ => None,
        })
        .unwrap()
}

#[test]
#[verifies("filesystems.missing-targets", "filesystems.root")]
fn nothing_missing_leaves_the_plan_as_it_was() {
    let dir = scratch();
    complete(dir.path());
    let p = plan_for(dir.path(), &RunOptions::default()).unwrap();
    assert!(skeleton_entries(&p).is_empty());
    assert_eq!(root_entry(&p).0, fs::canonicalize(dir.path()).unwrap());
    assert!(
        !p.entries()
            .iter()
            .any(|e| matches!(e.item, Item::Skeleton(_)))
    );
}

#[test]
#[verifies("filesystems.missing-targets")]
fn a_scratch_image_gets_a_skeleton_mirroring_its_top_level() {
    let dir = scratch();
    let img = real(dir.path());
    let p = plan_for(dir.path(), &RunOptions::default()).unwrap();
    assert_eq!(root_entry(&p), (PathBuf::from("/state/c1/rootfs"), false));
    assert_eq!(
        skeleton_entries(&p),
        [
            "skeleton dir / (mode 755)".to_string(),
            "skeleton dir /app (mode 755)".into(),
            format!("mount {img}/app on /app type bind (rbind)"),
            "skeleton dir /bin (mode 755)".into(),
            format!("mount {img}/bin on /bin type bind (rbind)"),
            "skeleton symlink /lib -> bin".into(),
            "skeleton dir /dev (mode 755)".into(),
            "skeleton dir /etc (mode 755)".into(),
            "skeleton file /etc/group".into(),
            "skeleton file /etc/hostname".into(),
            "skeleton file /etc/hosts".into(),
            "skeleton file /etc/passwd".into(),
            "skeleton file /etc/resolv.conf".into(),
            "skeleton dir /proc (mode 755)".into(),
            "skeleton dir /sys (mode 755)".into(),
        ]
    );
    // The skeleton comes right after the root, so its binds precede every other mount.
    let first_other_mount = p
        .entries()
        .iter()
        .position(|e| {
            matches!(e.item, Item::Mount(_)) && e.requirement != ids::FILESYSTEMS_MISSING_TARGETS
        })
        .unwrap();
    let last_skeleton = p
        .entries()
        .iter()
        .rposition(|e| e.requirement == ids::FILESYSTEMS_MISSING_TARGETS)
        .unwrap();
    assert!(last_skeleton < first_other_mount);
    assert!(matches!(p.entries()[0].item, Item::Root { .. }));
    assert_eq!(p.entries()[1].requirement, ids::FILESYSTEMS_MISSING_TARGETS);
    for e in p.entries() {
        assert!(ids::ALL.contains(&e.requirement), "{}", e.requirement);
    }
    let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
    assert_eq!(json["root"]["path"], "/state/c1/rootfs");
    assert_eq!(json["mounts"][0]["destination"], "/app");
    assert_eq!(json["mounts"][0]["source"], format!("{img}/app"));
}

#[test]
#[verifies("filesystems.missing-targets", "filesystems.tmp")]
fn with_a_read_only_root_every_bind_is_read_only() {
    let dir = scratch();
    let opts = RunOptions {
        readonly_rootfs: true,
        ..Default::default()
    };
    let p = plan_for(dir.path(), &opts).unwrap();
    assert!(root_entry(&p).1);
    let binds: Vec<_> = p
        .entries()
        .iter()
        .filter(|e| e.requirement == ids::FILESYSTEMS_MISSING_TARGETS)
        .filter_map(|e| match &e.item {
            Item::Mount(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(binds.len(), 2);
    for m in binds {
        // Read-only, repeating the flags of the mount the image lives on.
        let kept = kept_flags(Path::new(&m.source)).unwrap();
        assert!(kept.iter().any(|f| f.ends_with("atime")), "{kept:?}");
        let want: Vec<String> = ["rbind", "ro"]
            .into_iter()
            .chain(kept)
            .map(String::from)
            .collect();
        assert_eq!(m.options, want);
    }
    // /tmp, a tmpfs with a read-only root, is provided too.
    assert!(
        skeleton_entries(&p)
            .iter()
            .any(|e| e == "skeleton dir /tmp (mode 755)")
    );
}

#[test]
#[verifies("filesystems.missing-targets", "filesystems.bind-mounts")]
fn a_missing_file_inside_an_existing_directory_mirrors_that_directory_too() {
    let dir = scratch();
    complete(dir.path());
    // A distroless-like /etc: no hosts file.
    fs::remove_file(dir.path().join("etc/hosts")).unwrap();
    fs::write(dir.path().join("etc/os-release"), "ID=test\n").unwrap();
    fs::create_dir(dir.path().join("etc/ssl")).unwrap();
    fs::set_permissions(dir.path().join("etc"), fs::Permissions::from_mode(0o751)).unwrap();
    let host = tempfile::NamedTempFile::new().unwrap();
    let opts = RunOptions {
        binds: vec![BindMount {
            source: host.path().to_owned(),
            destination: "/etc/hosts".into(),
            readonly: true,
        }],
        ..Default::default()
    };
    let img = real(dir.path());
    let p = plan_for(dir.path(), &opts).unwrap();
    assert_eq!(
        skeleton_entries(&p),
        [
            "skeleton dir / (mode 755)".to_string(),
            "skeleton dir /app (mode 755)".into(),
            format!("mount {img}/app on /app type bind (rbind)"),
            "skeleton dir /bin (mode 755)".into(),
            format!("mount {img}/bin on /bin type bind (rbind)"),
            // The plan mounts on /dev, /proc and /sys: mount points only, no bind.
            "skeleton dir /dev (mode 755)".into(),
            "skeleton dir /etc (mode 751)".into(),
            // Covered by the generated files' binds.
            "skeleton file /etc/group".into(),
            "skeleton file /etc/hostname".into(),
            "skeleton file /etc/os-release".into(),
            format!("mount {img}/etc/os-release on /etc/os-release type bind (rbind)"),
            "skeleton file /etc/passwd".into(),
            "skeleton file /etc/resolv.conf".into(),
            "skeleton dir /etc/ssl (mode 755)".into(),
            format!("mount {img}/etc/ssl on /etc/ssl type bind (rbind)"),
            "skeleton file /etc/hosts".into(),
            "skeleton symlink /lib -> bin".into(),
            "skeleton dir /proc (mode 755)".into(),
            "skeleton dir /sys (mode 755)".into(),
        ]
    );
}

#[test]
#[verifies("filesystems.missing-targets")]
fn a_target_is_resolved_through_symlinks_as_runc_resolves_it() {
    let dir = scratch();
    complete(dir.path());
    fs::create_dir(dir.path().join("run")).unwrap();
    fs::remove_file(dir.path().join("etc/resolv.conf")).unwrap();
    symlink(
        "../run/systemd/resolve/stub-resolv.conf",
        dir.path().join("etc/resolv.conf"),
    )
    .unwrap();
    let host = tempfile::NamedTempFile::new().unwrap();
    let opts = RunOptions {
        binds: vec![BindMount {
            source: host.path().to_owned(),
            destination: "/etc/resolv.conf".into(),
            readonly: true,
        }],
        ..Default::default()
    };
    let img = real(dir.path());
    let p = plan_for(dir.path(), &opts).unwrap();
    let s = skeleton_entries(&p);
    // /etc is the image's (bound), /run a skeleton holding the link's missing target.
    assert!(
        s.contains(&format!("mount {img}/etc on /etc type bind (rbind)")),
        "{s:#?}"
    );
    for want in [
        "skeleton dir /run (mode 755)",
        "skeleton dir /run/systemd (mode 755)",
        "skeleton dir /run/systemd/resolve (mode 755)",
        "skeleton file /run/systemd/resolve/stub-resolv.conf",
    ] {
        assert!(s.iter().any(|e| e == want), "{want}: {s:#?}");
    }
}

#[test]
#[verifies("filesystems.missing-targets")]
fn dotdot_after_a_missing_component_is_lexical() {
    let dir = scratch();
    let root = ImageRoot::open(&fs::canonicalize(dir.path()).unwrap()).unwrap();
    symlink("nope/../app/x", dir.path().join("via")).unwrap();
    let m = Missing {
        destination: "/via".into(),
        kind: FileKind::Directory,
    };
    assert_eq!(
        resolve(&root, &m).unwrap(),
        ("/app".to_string(), vec!["x".to_string()])
    );
}

#[test]
#[verifies("filesystems.missing-targets")]
fn targets_that_cannot_be_provided_are_refused_naming_them() {
    let dir = scratch();
    fs::write(dir.path().join("etc"), "not a directory").unwrap();
    let err = plan_for(dir.path(), &RunOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::TargetUnreachable { destination, reason, .. }
            if destination == "/etc/passwd" && reason == "/etc is a regular file, not a directory"),
        "{err}"
    );
    let dir = scratch();
    symlink("loop", dir.path().join("loop")).unwrap();
    let root = ImageRoot::open(&fs::canonicalize(dir.path()).unwrap()).unwrap();
    let m = Missing {
        destination: "/loop/x".into(),
        kind: FileKind::Directory,
    };
    let err = resolve(&root, &m).unwrap_err();
    assert!(err.to_string().contains("symbolic links"), "{err}");
}

#[test]
#[verifies("filesystems.missing-targets")]
fn write_creates_the_nodes_with_their_modes() {
    let dir = scratch();
    fs::set_permissions(dir.path().join("app"), fs::Permissions::from_mode(0o555)).unwrap();
    let p = plan_for(dir.path(), &RunOptions::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    write(&p, out.path()).unwrap();
    let r = out.path().join(ROOTFS_DIR);
    let mode = |p: &str| {
        fs::symlink_metadata(r.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode(""), 0o755);
    assert_eq!(mode("app"), 0o555);
    assert_eq!(mode("etc"), 0o755);
    assert_eq!(mode("etc/passwd"), FILE_MODE);
    assert_eq!(fs::read_link(r.join("lib")).unwrap(), Path::new("bin"));
    assert!(
        fs::read_dir(r.join("app")).unwrap().next().is_none(),
        "a mount point only"
    );
    assert_eq!(fs::metadata(r.join("etc/passwd")).unwrap().len(), 0);
    let mut names: Vec<_> = fs::read_dir(&r)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "bin", "dev", "etc", "lib", "proc", "sys"]);
}

#[test]
#[verifies("filesystems.missing-targets")]
fn mirrored_directories_keep_the_image_owner_and_new_ones_the_engines() {
    // Rootful only: unprivileged, the engine's user is container 0 and owns what it creates.
    locald_testkit::require_root();
    use std::os::unix::fs::MetadataExt;
    let dir = scratch();
    complete(dir.path());
    // A missing bind target under a non-root user's own directory mirrors that directory.
    fs::create_dir(dir.path().join("home")).unwrap();
    fs::create_dir(dir.path().join("home/app")).unwrap();
    fs::write(dir.path().join("home/app/.profile"), "").unwrap();
    std::os::unix::fs::chown(dir.path().join("home/app"), Some(1000), Some(1001)).unwrap();
    fs::set_permissions(
        dir.path().join("home/app"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let src = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        binds: vec![BindMount {
            source: src.path().to_owned(),
            destination: "/home/app/data".into(),
            readonly: false,
        }],
        ..Default::default()
    };
    let p = plan_for(dir.path(), &opts).unwrap();
    let out = tempfile::tempdir().unwrap();
    write(&p, out.path()).unwrap();
    let r = out.path().join(ROOTFS_DIR);
    let owner = |p: &str| {
        let m = fs::symlink_metadata(r.join(p)).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o7777)
    };
    assert_eq!(owner("home/app"), (1000, 1001, 0o700));
    assert_eq!(owner("home"), (0, 0, 0o755));
    // The missing target itself is new: the engine's.
    assert_eq!(owner("home/app/data"), (0, 0, NEW_DIR_MODE));
}

#[test]
#[verifies("filesystems.missing-targets")]
fn write_never_creates_through_a_symlink() {
    let mut p = Plan::default();
    for n in [
        Node::Directory {
            path: "/".into(),
            mode: 0o755,
            owner: None,
        },
        Node::Symlink {
            path: "/etc".into(),
            target: "/tmp".into(),
        },
        Node::File {
            path: "/etc/x".into(),
        },
    ] {
        p.push(ids::FILESYSTEMS_MISSING_TARGETS, Item::Skeleton(n));
    }
    let out = tempfile::tempdir().unwrap();
    let err = write(&p, out.path()).unwrap_err();
    assert!(err.to_string().contains("/etc/x"), "{err}");
    assert!(!out.path().join("rootfs/etc/x").exists());
}

#[test]
#[verifies("filesystems.missing-targets")]
fn a_skeleton_without_owner_write_permission_is_made_removable() {
    let state = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::set_permissions(outside.path(), fs::Permissions::from_mode(0o500)).unwrap();
    let r = state.path().join(ROOTFS_DIR);
    fs::create_dir_all(r.join("etc/ssl")).unwrap();
    symlink(outside.path(), r.join("etc/out")).unwrap();
    for (d, m) in [("etc/ssl", 0o500), ("etc", 0o555), ("", 0o555)] {
        fs::set_permissions(r.join(d), fs::Permissions::from_mode(m)).unwrap();
    }
    make_removable(state.path()).unwrap();
    let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&r), 0o755);
    assert_eq!(mode(&r.join("etc")), 0o755);
    assert_eq!(mode(&r.join("etc/ssl")), 0o700);
    // Through no symlink.
    assert_eq!(mode(outside.path()), 0o500);
    fs::set_permissions(outside.path(), fs::Permissions::from_mode(0o700)).unwrap();
    // Nothing to do without a skeleton.
    make_removable(outside.path()).unwrap();
}
