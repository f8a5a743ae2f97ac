use super::*;
use crate::ids;
use crate::plan::Item;
use locald_spec_macros::verifies;
use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
use std::os::unix::fs::PermissionsExt;

/// A tiny rootfs with every default mount target (no binaries: nothing is run here).
fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["proc", "dev", "sys", "etc", "tmp"] {
        fs::create_dir(dir.path().join(d)).unwrap();
    }
    fs::write(
        dir.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n",
    )
    .unwrap();
    fs::write(dir.path().join("etc/group"), "root:x:0:\n").unwrap();
    for f in ["hostname", "hosts", "resolv.conf"] {
        fs::write(dir.path().join("etc").join(f), "").unwrap();
    }
    dir
}

fn image(user: Option<&str>) -> ImageConfiguration {
    let mut c = ConfigBuilder::default().cmd(vec!["sh".to_string()]);
    if let Some(u) = user {
        c = c.user(u);
    }
    ImageConfigurationBuilder::default()
        .config(c.build().unwrap())
        .build()
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
#[verifies("filesystems.root", "identity.passwd.current-user")]
fn prepare_writes_config_and_generated_files() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let b = prepare(
        &image(Some("1234")),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap();
    assert_eq!(
        entries(&state),
        [
            "config.json",
            "group",
            "hostname",
            "hosts",
            "passwd",
            "resolv.conf"
        ]
    );
    assert_eq!(mode(&state), 0o755);
    for f in ["passwd", "group", "hostname", "hosts", "resolv.conf"] {
        assert_eq!(mode(&state.join(f)), 0o644, "{f}");
    }
    assert_eq!(fs::read_to_string(state.join("hostname")).unwrap(), "c1\n");
    let passwd = fs::read_to_string(state.join("passwd")).unwrap();
    assert_eq!(
        passwd,
        "root:x:0:0:root:/root:/bin/sh\nuser1234:x:1234:0:container user:/:/bin/sh\n"
    );
    let spec = Spec::load(&b.config_path).unwrap();
    assert_eq!(spec, b.spec);
    let root_path = spec.root().as_ref().unwrap().path();
    assert_eq!(root_path, &fs::canonicalize(root.path()).unwrap());
    assert!(root_path.is_absolute());
    assert_eq!(spec.hostname().as_deref(), Some("c1"));
    // Nothing but the state dir was created beside it.
    assert_eq!(entries(parent.path()), ["c1"]);
    // The image was not touched.
    assert_eq!(
        fs::read_to_string(root.path().join("etc/passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    b.remove().unwrap();
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.root", "filesystems.missing-targets")]
fn missing_mount_target_is_provided_without_touching_the_image() {
    let root = rootfs();
    fs::remove_dir(root.path().join("proc")).unwrap();
    let before = locald_testkit::tree_manifest(root.path());
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let b = prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap();
    assert_eq!(
        entries(&state),
        [
            "config.json",
            "group",
            "hostname",
            "hosts",
            "passwd",
            "resolv.conf",
            "rootfs"
        ]
    );
    assert_eq!(
        entries(&state.join("rootfs")),
        ["dev", "etc", "proc", "sys", "tmp"]
    );
    let spec = Spec::load(&b.config_path).unwrap();
    assert_eq!(spec.root().as_ref().unwrap().path(), &state.join("rootfs"));
    assert_eq!(b.rootfs, fs::canonicalize(root.path()).unwrap());
    assert_eq!(locald_testkit::tree_manifest(root.path()), before);
    b.remove().unwrap();
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies(
    "filesystems.root",
    "filesystems.missing-targets",
    "identity.passwd.current-user"
)]
fn missing_passwd_target_is_provided() {
    let root = rootfs();
    fs::remove_file(root.path().join("etc/passwd")).unwrap();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap();
    assert_eq!(
        entries(&state.join("rootfs/etc")),
        ["group", "hostname", "hosts", "passwd", "resolv.conf"]
    );
    assert_eq!(
        fs::metadata(state.join("rootfs/etc/passwd")).unwrap().len(),
        0
    );
    assert!(
        !root.path().join("etc/passwd").exists(),
        "must not create it"
    );
}

#[test]
#[verifies("filesystems.missing-targets")]
fn target_that_cannot_be_provided_fails_and_leaves_nothing() {
    let root = rootfs();
    fs::remove_dir_all(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc"), "").unwrap();
    let parent = tempfile::tempdir().unwrap();
    let err = prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &parent.path().join("c1"),
        "c1",
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::TargetUnreachable { destination, .. } if destination == "/etc/passwd"),
        "{err}"
    );
    assert!(entries(parent.path()).is_empty());
}

#[test]
fn unknown_user_fails_and_leaves_nothing() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let err = prepare(
        &image(Some("ghost")),
        root.path(),
        &RunOptions::default(),
        &parent.path().join("c1"),
        "c1",
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnknownUser { .. }));
    assert!(entries(parent.path()).is_empty());
}

#[test]
fn existing_state_dir_is_never_replaced() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    fs::create_dir(&state).unwrap();
    fs::write(state.join("keep"), "x").unwrap();
    let err = prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap_err();
    assert!(matches!(err, Error::StateDirExists { .. }));
    assert_eq!(entries(&state), ["keep"]);
    assert_eq!(entries(parent.path()), ["c1"]);
}

#[test]
fn rename_never_replaces_an_empty_dir_created_concurrently() {
    // rename(2) would silently replace an empty directory; RENAME_NOREPLACE must not.
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    fs::create_dir(&state).unwrap();
    let err = write_state(&Plan::default(), &Spec::default(), &state).unwrap_err();
    assert!(matches!(err, Error::StateDirExists { .. }), "{err}");
    assert_eq!(entries(parent.path()), ["c1"]);
}

#[test]
fn failure_mid_write_leaves_nothing_behind() {
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let mut plan = Plan::default();
    plan.push(
        ids::IDENTITY_PASSWD_CURRENT_USER,
        Item::File {
            name: "passwd".into(),
            contents: "root:x:0:0::/:/bin/sh\n".into(),
            mode: 0o644,
            mount_at: None,
        },
    );
    // The first file is written into the temp dir; the second fails.
    plan.push(
        ids::IDENTITY_GROUP_CURRENT_GROUP,
        Item::File {
            name: "../escape".into(),
            contents: String::new(),
            mode: 0o644,
            mount_at: None,
        },
    );
    let err = write_state(&plan, &Spec::default(), &state).unwrap_err();
    assert!(matches!(err, Error::Spec { .. }), "{err}");
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.root")]
fn state_dir_inside_rootfs_is_refused() {
    let root = rootfs();
    let state = root.path().join("tmp/c1");
    let err = prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                field: "state_dir",
                ..
            }
        ),
        "{err}"
    );
    assert!(entries(&root.path().join("tmp")).is_empty());
}

#[test]
#[verifies("identity.user.resolve")]
fn rootless_mapping_requires_uid_0() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        user: Some("1000".into()),
        id_mapping: Some(crate::IdMapping::new(1000, 1000)),
        ..Default::default()
    };
    let err = prepare(
        &image(None),
        root.path(),
        &opts,
        &parent.path().join("c"),
        "c",
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnmappedId {
                kind: "uid",
                id: 1000,
                field: "user"
            }
        ),
        "{err}"
    );
}

#[test]
fn config_json_is_deterministic() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let b = prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &parent.path().join("c1"),
        "c1",
    )
    .unwrap();
    let text = fs::read_to_string(&b.config_path).unwrap();
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(v["process"]["capabilities"][set], serde_json::json!(caps));
    }
    assert_eq!(config_json(&b.spec).unwrap(), text.as_bytes());
}

#[test]
#[verifies("filesystems.missing-targets")]
fn a_late_failure_removes_a_read_only_skeleton_even_unprivileged() {
    use crate::skeleton::Node;
    // Root may delete through any mode, so the write runs in a child that drops to nobody,
    // which cannot: a 0555 skeleton left as it is would stay behind as `.c1.XXXX.tmp`.
    locald_testkit::require_root();
    let parent = tempfile::tempdir().unwrap();
    fs::set_permissions(parent.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let state = parent.path().join("c1");
    // Created "concurrently": the rename into place fails after the skeleton is complete.
    fs::create_dir(&state).unwrap();
    let mut plan = Plan::default();
    for (path, mode) in [("/", 0o555), ("/etc", 0o555), ("/etc/ssl", 0o500)] {
        plan.push(
            ids::FILESYSTEMS_MISSING_TARGETS,
            Item::Skeleton(Node::Directory {
                path: path.into(),
                mode,
                owner: None,
            }),
        );
    }
    // SAFETY: the child only drops privileges, writes and exits; nextest runs this test alone
    // in its process.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let nobody = nix::unistd::Uid::from_raw(65534);
            let ok = nix::unistd::setgroups(&[]).is_ok()
                && nix::unistd::setgid(nix::unistd::Gid::from_raw(65534)).is_ok()
                && nix::unistd::setuid(nobody).is_ok()
                && matches!(
                    write_state(&plan, &Spec::default(), &state),
                    Err(Error::StateDirExists { .. })
                );
            // SAFETY: leave without running the parent's destructors or test harness.
            unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
        }
    }
    assert_eq!(entries(parent.path()), ["c1"], "nothing left beside it");
}

#[test]
#[verifies("filesystems.missing-targets")]
fn a_prepared_bundle_with_a_read_only_skeleton_is_removable_by_path_and_nothing_else_is() {
    let root = rootfs();
    fs::remove_dir(root.path().join("proc")).unwrap();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    prepare(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap();
    assert_eq!(
        mode(&state.join("rootfs")),
        0o555,
        "the skeleton copies the image's mode"
    );
    // Not a bundle: refused, untouched.
    let other = parent.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("keep"), "x").unwrap();
    let err = remove_state_dir(&other).unwrap_err().to_string();
    assert!(err.contains("not a bundle"), "{err}");
    assert!(other.join("keep").exists());
    remove_state_dir(&state).unwrap();
    assert_eq!(entries(parent.path()), ["other"]);
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
}
