use super::*;
use crate::plan::Item;
use crate::requirement;
use locald_spec_macros::verifies;
use std::os::unix::fs::PermissionsExt;

/// A tiny rootfs with every default mount target (no binaries: nothing is run here).
fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
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
    image_with(user, None)
}

fn image_with(user: Option<&str>, cwd: Option<&str>) -> ImageConfiguration {
    locald_testkit::image_config(
        serde_json::json!({ "Cmd": ["sh"], "User": user, "WorkingDir": cwd }),
    )
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
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn prepared(
    root: &Path,
    opts: &RunOptions,
    img: &ImageConfiguration,
) -> (tempfile::TempDir, Bundle) {
    let parent = tempfile::tempdir().unwrap();
    let b = prepare(img, root, opts, &parent.path().join("c1"), "c1").unwrap();
    (parent, b)
}

/// `prepare` of container `c1` into `state`, which must fail: its error.
fn refused(root: &Path, opts: &RunOptions, img: &ImageConfiguration, state: &Path) -> Error {
    prepare(img, root, opts, state, "c1").unwrap_err()
}

#[test]
#[verifies(
    "filesystems.root",
    "filesystems.layer.private",
    "filesystems.layer.engine-files",
    "identity.passwd.current-user",
    "lifecycle.bundle"
)]
fn prepare_writes_config_layer_and_generated_files() {
    let root = rootfs();
    let before = locald_testkit::tree_manifest(root.path());
    let (parent, b) = prepared(root.path(), &RunOptions::default(), &image(Some("1234")));
    let state = &b.state_dir;
    assert_eq!(
        entries(state),
        [
            "config.json",
            "hostname",
            "hosts",
            "layer",
            "locald-bundle.json",
            "resolv.conf",
            "rootfs"
        ]
    );
    assert_eq!(mode(state), 0o700);
    assert_eq!(entries(&state.join("layer")), ["upper", "work"]);
    assert!(entries(&state.join("rootfs")).is_empty(), "a mount point");
    assert!(
        entries(&state.join("layer/work")).is_empty(),
        "overlayfs wants it empty"
    );
    let upper = state.join("layer/upper");
    // The layer's root mirrors the image's root (the merged `/` shows its attributes).
    assert_eq!(mode(&upper), 0o755);
    assert_eq!(
        entries(&upper.join("etc")),
        ["group", "hostname", "hosts", "passwd", "resolv.conf"]
            .into_iter()
            .filter(|f| *f == "group" || *f == "passwd")
            .collect::<Vec<_>>()
    );
    assert_eq!(
        fs::read_to_string(upper.join("etc/passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\nuser1234:x:1234:0:container user:/:/bin/sh\n"
    );
    assert_eq!(mode(&upper.join("etc/passwd")), 0o644);
    for f in ["hostname", "hosts", "resolv.conf"] {
        assert_eq!(mode(&state.join(f)), 0o644, "{f}");
    }
    assert_eq!(fs::read_to_string(state.join("hostname")).unwrap(), "c1\n");
    let spec = Spec::load(&b.config_path).unwrap();
    assert_eq!(spec, b.spec);
    assert_eq!(spec.root().as_ref().unwrap().path(), Path::new("rootfs"));
    assert_eq!(spec.hostname().as_deref(), Some("c1"));
    // The generated names files are writable binds; passwd and group are no binds at all.
    let mounts = spec.mounts().as_ref().unwrap();
    let hosts = mounts
        .iter()
        .find(|m| m.destination() == Path::new("/etc/hosts"))
        .unwrap();
    assert!(
        !hosts
            .options()
            .as_ref()
            .unwrap()
            .contains(&"ro".to_string())
    );
    assert!(
        !mounts
            .iter()
            .any(|m| m.destination() == Path::new("/etc/passwd"))
    );
    let info = BundleInfo::read(state).unwrap();
    assert_eq!(info.image, fs::canonicalize(root.path()).unwrap());
    assert_eq!((info.readonly, info.engine_userns), (false, None));
    // Nothing but the bundle was created beside it, and the image was not touched.
    assert_eq!(entries(parent.path()), ["c1"]);
    assert_eq!(locald_testkit::tree_manifest(root.path()), before);
    b.remove().unwrap();
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.layer.targets", "filesystems.root")]
fn missing_mount_targets_are_created_in_the_layer_not_the_image() {
    let root = rootfs();
    fs::remove_dir(root.path().join("proc")).unwrap();
    fs::remove_file(root.path().join("etc/hosts")).unwrap();
    let before = locald_testkit::tree_manifest(root.path());
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let upper = b.state_dir.join("layer/upper");
    assert!(upper.join("proc").is_dir());
    assert_eq!(fs::metadata(upper.join("etc/hosts")).unwrap().len(), 0);
    assert!(
        !upper.join("etc/hostname").exists(),
        "the image has a regular one"
    );
    assert!(b.plan.entries().iter().any(|e| e.requirement
        == requirement!("filesystems.layer.targets")
        && e.item
            == Item::LayerDir {
                path: "/proc".into(),
                mode: crate::layer::NEW_DIR_MODE,
                owner: None
            }));
    assert_eq!(locald_testkit::tree_manifest(root.path()), before);
}

#[test]
#[verifies(
    "filesystems.layer.targets",
    "filesystems.layer.engine-files",
    "identity.passwd.current-user"
)]
fn a_missing_etc_is_created_with_the_generated_files() {
    let root = rootfs();
    fs::remove_dir_all(root.path().join("etc")).unwrap();
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let etc = b.state_dir.join("layer/upper/etc");
    assert_eq!(
        entries(&etc),
        ["group", "hostname", "hosts", "passwd", "resolv.conf"]
    );
    assert_eq!(mode(&etc), 0o755);
    assert_eq!(
        fs::read_to_string(etc.join("passwd")).unwrap(),
        "root:x:0:0:container user:/:/bin/sh\n"
    );
    assert!(!root.path().join("etc").exists(), "must not create it");
}

#[test]
#[verifies("filesystems.layer.engine-files", "filesystems.layer.targets")]
fn a_symlinked_etc_is_followed_inside_the_root() {
    let root = rootfs();
    fs::create_dir(root.path().join("usr")).unwrap();
    fs::set_permissions(root.path().join("usr"), fs::Permissions::from_mode(0o751)).unwrap();
    fs::rename(root.path().join("etc"), root.path().join("usr/etc")).unwrap();
    // Absolute: it must resolve inside the root, not on the host.
    std::os::unix::fs::symlink("/usr/etc", root.path().join("etc")).unwrap();
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let upper = b.state_dir.join("layer/upper");
    assert!(
        !upper.join("etc").exists(),
        "the image's /etc symlink stays visible"
    );
    assert_eq!(mode(&upper.join("usr")), 0o751, "mirrored from the image");
    assert!(
        fs::read_to_string(upper.join("usr/etc/passwd"))
            .unwrap()
            .starts_with("root:x:0:0:root:")
    );
    let hosts = b
        .spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.source().as_deref() == Some(b.state_dir.join("hosts").as_path()))
        .unwrap();
    assert_eq!(hosts.destination(), Path::new("/usr/etc/hosts"));
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
fn a_dev_symlink_gets_a_plain_directory_in_the_layer() {
    // The image of runc CVE-2026-41579's shape: /dev resolves inside the root, but a runtime
    // joining "ROOTFS/dev/ptmx" without resolving it would write on the host.
    let root = rootfs();
    fs::remove_dir(root.path().join("dev")).unwrap();
    fs::create_dir_all(root.path().join("p/q/r")).unwrap();
    std::os::unix::fs::symlink("/p/q/r", root.path().join("usr")).unwrap();
    std::os::unix::fs::symlink("/usr/../../dev", root.path().join("dev")).unwrap();
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let dev = b.state_dir.join("layer/upper/dev");
    assert!(
        fs::symlink_metadata(&dev).unwrap().is_dir(),
        "a real directory"
    );
    assert!(entries(&dev).is_empty());
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn a_working_directory_leading_into_proc_is_refused_even_with_a_decoy() {
    let root = rootfs();
    // The decoy makes /proc/self/fd/7 exist in the image; a check of the literal path passed.
    fs::create_dir_all(root.path().join("proc/self/fd/7")).unwrap();
    std::os::unix::fs::symlink("/proc/self/fd/7", root.path().join("work")).unwrap();
    let parent = tempfile::tempdir().unwrap();
    let err = refused(
        root.path(),
        &RunOptions::default(),
        &image_with(None, Some("/work")),
        &parent.path().join("c1"),
    );
    // The image's WorkingDir, named as the image-spec spells it.
    assert_eq!(err.field(), Some("WorkingDir"), "{err}");
    assert!(err.to_string().contains("/proc/self/fd/7"), "{err}");
    assert!(entries(parent.path()).is_empty());
    // The caller's, named as the option (the command line's --workdir).
    let err = refused(
        root.path(),
        &RunOptions::default().with_working_dir("/work"),
        &image_with(None, None),
        &parent.path().join("c2"),
    );
    assert_eq!(err.field(), Some("working_dir"), "{err}");
    assert!(entries(parent.path()).is_empty());
}

/// What the image's tree refuses of a working directory (a dangling symlink on its way, a file
/// where the directory should be) names the field it came from, as the kernel-filesystem
/// refusal above does.
#[test]
#[verifies("filesystems.layer.targets", "process.cwd")]
fn a_working_directory_the_tree_refuses_names_its_field() {
    let root = rootfs();
    std::os::unix::fs::symlink("/nonexistent/dir", root.path().join("gone")).unwrap();
    fs::write(root.path().join("file"), "").unwrap();
    let parent = tempfile::tempdir().unwrap();
    for (dir, says) in [
        ("/gone", "dangling symlink"),
        ("/gone/sub", "dangling symlink"),
        ("/file", "expected a directory"),
    ] {
        let err = refused(
            root.path(),
            &RunOptions::default(),
            &image_with(None, Some(dir)),
            &parent.path().join("c1"),
        );
        assert_eq!(err.field(), Some("WorkingDir"), "{dir}: {err}");
        assert!(err.to_string().contains(says), "{dir}: {err}");
        let err = refused(
            root.path(),
            &RunOptions::default().with_working_dir(dir),
            &image_with(None, None),
            &parent.path().join("c2"),
        );
        assert_eq!(err.field(), Some("working_dir"), "{dir}: {err}");
        assert!(err.to_string().contains(says), "{dir}: {err}");
    }
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.layer.targets", "process.cwd")]
fn a_missing_working_directory_is_created_in_the_layer() {
    let root = rootfs();
    let (_p, b) = prepared(
        root.path(),
        &RunOptions::default(),
        &image_with(None, Some("/srv/app")),
    );
    assert!(b.state_dir.join("layer/upper/srv/app").is_dir());
    assert!(!root.path().join("srv").exists());
}

#[test]
#[verifies("filesystems.layer.targets")]
fn a_target_that_crosses_a_file_fails_and_leaves_nothing() {
    let root = rootfs();
    fs::remove_dir_all(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc"), "").unwrap();
    let parent = tempfile::tempdir().unwrap();
    let err = refused(
        root.path(),
        &RunOptions::default(),
        &image(None),
        &parent.path().join("c1"),
    );
    assert!(err.to_string().contains("/etc is not a directory"), "{err}");
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn an_unprivileged_layer_refuses_an_image_it_could_not_copy_up() {
    let root = rootfs();
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    // A mapping of some other host user: the image (ours) is unmapped for it.
    let other = me.0.wrapping_add(4242);
    let opts = RunOptions {
        id_mapping: Some(
            crate::IdMapping::new(other, other).created_by(crate::UsernsCreator::Engine),
        ),
        ..Default::default()
    };
    let parent = tempfile::tempdir().unwrap();
    let err = refused(root.path(), &opts, &image(None), &parent.path().join("c1"));
    assert!(
        matches!(&err, Error::UnmappedOwner { path, uid, .. } if path == "/" && *uid == me.0),
        "{err}"
    );
    assert!(err.to_string().contains("--readonly-rootfs"), "{err}");
    assert!(entries(parent.path()).is_empty());
    // Read-only, nothing is ever copied up: accepted.
    let ro = RunOptions {
        readonly_rootfs: true,
        ..opts
    };
    prepare(
        &image(None),
        root.path(),
        &ro,
        &parent.path().join("c2"),
        "c2",
    )
    .unwrap();
}

#[test]
#[verifies("limits.exec")]
fn an_input_over_a_limit_fails_and_leaves_nothing() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        env: (0..5000).map(|i| (format!("V{i}"), "x".into())).collect(),
        ..Default::default()
    };
    let err = refused(root.path(), &opts, &image(None), &parent.path().join("c1"));
    assert!(matches!(err, Error::Limit { field: "Env", .. }), "{err}");
    assert!(entries(parent.path()).is_empty());
}

#[test]
fn unknown_user_fails_and_leaves_nothing() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let err = refused(
        root.path(),
        &RunOptions::default(),
        &image(Some("ghost")),
        &parent.path().join("c1"),
    );
    assert!(matches!(err, Error::UnknownUser { .. }));
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("lifecycle.bundle")]
fn existing_state_dir_is_never_replaced() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    fs::create_dir(&state).unwrap();
    fs::write(state.join("keep"), "x").unwrap();
    let err = refused(root.path(), &RunOptions::default(), &image(None), &state);
    assert!(matches!(err, Error::StateDirExists { .. }));
    assert_eq!(entries(&state), ["keep"]);
    assert_eq!(entries(parent.path()), ["c1"]);
}

fn info() -> BundleInfo {
    BundleInfo {
        format: INFO_FORMAT,
        id: "c1".into(),
        image: "/".into(),
        readonly: false,
        volatile: false,
        engine_userns: None,
        stop_signal: 15,
    }
}

#[test]
#[verifies("lifecycle.bundle")]
fn rename_never_replaces_an_empty_dir_created_concurrently() {
    // rename(2) would silently replace an empty directory; RENAME_NOREPLACE must not.
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    fs::create_dir(&state).unwrap();
    let err = write_bundle(&Plan::default(), &Spec::default(), &info(), &state).unwrap_err();
    assert!(matches!(err, Error::StateDirExists { .. }), "{err}");
    assert_eq!(entries(parent.path()), ["c1"]);
}

#[test]
#[verifies("lifecycle.bundle")]
fn failure_mid_write_leaves_nothing_behind() {
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("c1");
    let mut plan = Plan::default();
    plan.push(
        requirement!("names.hostname.file"),
        Item::File {
            name: "hostname".into(),
            contents: "c1\n".into(),
            mode: 0o644,
            mount_at: None,
        },
    );
    // The first file is written into the temp dir; the second fails.
    plan.push(
        requirement!("names.hosts.localhost"),
        Item::File {
            name: "../escape".into(),
            contents: String::new(),
            mode: 0o644,
            mount_at: None,
        },
    );
    let err = write_bundle(&plan, &Spec::default(), &info(), &state).unwrap_err();
    assert!(matches!(err, Error::Spec { .. }), "{err}");
    assert!(entries(parent.path()).is_empty());
}

#[test]
#[verifies("filesystems.root")]
fn state_dir_inside_rootfs_is_refused() {
    let root = rootfs();
    let state = root.path().join("tmp/c1");
    let err = refused(root.path(), &RunOptions::default(), &image(None), &state);
    assert_eq!(err.field(), Some("state_dir"), "{err}");
    assert!(entries(&root.path().join("tmp")).is_empty());
}

/// A bundle directory reached through a symlink to the image is inside the image too: refused
/// as such, before anything is created on the way to it.
#[test]
#[verifies("filesystems.root")]
fn state_dir_through_a_symlink_into_rootfs_is_refused() {
    let root = rootfs();
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("image");
    std::os::unix::fs::symlink(root.path(), &link).unwrap();
    let before = locald_testkit::tree_manifest(root.path());
    for state in [link.join("c1"), link.join("var/lib/c1")] {
        let err = refused(root.path(), &RunOptions::default(), &image(None), &state);
        assert_eq!(err.field(), Some("state_dir"), "{err}");
        assert!(err.to_string().contains("inside the image"), "{err}");
    }
    assert_eq!(locald_testkit::tree_manifest(root.path()), before);
}

/// `Planned::new` checks and writes nothing, not even the bundle's missing parent; `write`
/// then creates it and the bundle, as `prepare` would.
#[test]
#[verifies("lifecycle.bundle", "identity.image-files.confined")]
fn planning_writes_nothing_until_written() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("state/bundles/c1");
    let planned = Planned::new(
        &image(None),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap();
    assert_eq!(planned.state_dir(), state);
    assert!(entries(parent.path()).is_empty());
    let err = Planned::new(
        &image(Some("ghost")),
        root.path(),
        &RunOptions::default(),
        &state,
        "c1",
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnknownUser { .. }), "{err}");
    assert!(entries(parent.path()).is_empty());
    let b = planned.clone().write().unwrap();
    assert_eq!(b.state_dir, state);
    assert!(b.config_path.is_file());
    assert_eq!(mode(&parent.path().join("state")), 0o700);
    let again = planned.write().unwrap_err();
    assert!(matches!(again, Error::StateDirExists { .. }), "{again}");
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
    let err = refused(root.path(), &opts, &image(None), &parent.path().join("c1"));
    assert!(
        matches!(
            err,
            Error::UnmappedId {
                kind: "uid",
                id: 1000,
                field: "user",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn config_json_is_deterministic() {
    let root = rootfs();
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let text = fs::read_to_string(&b.config_path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for set in ["bounding", "effective", "permitted"] {
        let caps = v["process"]["capabilities"][set].as_array().unwrap();
        let mut sorted = caps.clone();
        sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(caps, &sorted, "{set} sorted");
    }
    assert_eq!(config_json(&b.spec).unwrap(), text.as_bytes());
    // Nothing but the sets' order changed: the text reads back as the spec.
    let back: oci_spec::runtime::Spec = serde_json::from_str(&text).unwrap();
    assert_eq!(back, b.spec);
}

/// A spec whose every hash-ordered member (`HASHED_MEMBERS`) holds several entries.
fn hashed_spec() -> oci_spec::runtime::Spec {
    use oci_spec::runtime::{
        Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxResourcesBuilder, Spec,
    };
    use std::collections::{HashMap, HashSet};
    let caps: HashSet<Capability> = [
        Capability::SysAdmin,
        Capability::Chown,
        Capability::NetRaw,
        Capability::Kill,
        Capability::Setuid,
    ]
    .into();
    let map = |prefix: &str| -> HashMap<String, String> {
        (0..8)
            .map(|i| (format!("{prefix}{i}"), format!("v{i}")))
            .collect()
    };
    let mut spec = Spec::default();
    let mut process = spec.process().clone().unwrap();
    process.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            .build()
            .unwrap(),
    ));
    spec.set_process(Some(process));
    // Decoys: an annotation named like a member, holding text shaped like one.
    let mut annotations = map("a");
    annotations.insert(
        "capabilities".into(),
        "{\"bounding\": [\"b\", \"a\"]}".into(),
    );
    annotations.insert("z".into(), "\n    \"capabilities\": {\n".into());
    spec.set_annotations(Some(annotations));
    spec.set_linux(Some(
        LinuxBuilder::default()
            .sysctl(map("net.s"))
            .resources(
                LinuxResourcesBuilder::default()
                    .unified(map("u."))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    ));
    spec
}

#[test]
fn config_json_sorts_what_hash_maps_and_sets_hold() {
    let spec = hashed_spec();
    let json = config_json(&spec).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let sorted = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_RAW",
        "CAP_SETUID",
        "CAP_SYS_ADMIN",
    ];
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(
            v["process"]["capabilities"][set],
            serde_json::json!(sorted),
            "{set}"
        );
    }
    let text = String::from_utf8(json.clone()).unwrap();
    for (name, first, last) in [
        ("annotations", "\"a0\"", "\"z\""),
        ("sysctl", "\"net.s0\"", "\"net.s7\""),
        ("unified", "\"u.0\"", "\"u.7\""),
    ] {
        let keys: Vec<usize> = (0..8)
            .map(|i| text.find(&first.replace('0', &i.to_string())).unwrap())
            .collect();
        assert!(keys.is_sorted(), "{name}: {keys:?}");
        assert!(text.find(first) < text.find(last), "{name}");
    }
    // Nothing but the order changed: the text reads back as the spec, and as the whole-value
    // canonical form reads it.
    let back: oci_spec::runtime::Spec = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, spec);
    let mut whole = serde_json::to_value(&spec).unwrap();
    for set in whole["process"]["capabilities"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        set.as_array_mut()
            .unwrap()
            .sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    assert_eq!(v, whole);
    // The same bytes whatever order this process's hash maps iterate in: each read-back spec
    // has maps and sets of its own, seeded anew.
    for _ in 0..8 {
        let again: oci_spec::runtime::Spec = serde_json::from_slice(&json).unwrap();
        assert_eq!(config_json(&again).unwrap(), json);
    }
}

#[test]
fn config_json_leaves_absent_and_empty_members_as_they_are() {
    use oci_spec::runtime::Spec;
    let without_caps = {
        let mut s = Spec::default();
        let mut p = s.process().clone().unwrap();
        p.set_capabilities(None);
        s.set_process(Some(p));
        s
    };
    let without_process = {
        let mut s = Spec::default();
        s.set_process(None);
        s
    };
    let empty_maps = {
        let mut s = without_caps.clone();
        s.set_annotations(Some(Default::default()));
        s
    };
    for spec in [without_caps, without_process, empty_maps] {
        assert_eq!(
            config_json(&spec).unwrap(),
            serde_json::to_vec_pretty(&spec).unwrap()
        );
    }
}

#[test]
#[verifies("lifecycle.bundle", "filesystems.layer.targets")]
fn a_late_failure_removes_a_read_only_layer_even_unprivileged() {
    // Root may delete through any mode, so the write runs in a child that drops to nobody,
    // which cannot: a 0555 mirrored directory left as it is would stay behind as `.c1.XXXX.tmp`.
    locald_testkit::require_root();
    let parent = tempfile::tempdir().unwrap();
    fs::set_permissions(parent.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let state = parent.path().join("c1");
    // Created "concurrently": the rename into place fails after the layer is complete.
    fs::create_dir(&state).unwrap();
    let mut plan = Plan::default();
    for (path, mode) in [("/", 0o555), ("/etc", 0o555), ("/etc/ssl", 0o500)] {
        plan.push(
            requirement!("filesystems.layer.targets"),
            Item::LayerDir {
                path: path.into(),
                mode,
                owner: None,
            },
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
                    write_bundle(&plan, &Spec::default(), &info(), &state),
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
#[verifies("lifecycle.remove")]
fn remove_deletes_a_bundle_and_refuses_anything_else() {
    let root = rootfs();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let (parent, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    assert_eq!(
        mode(&b.state_dir.join("layer/upper")),
        0o555,
        "mirrors the image"
    );
    // What `runc spec` makes beside real data: a config.json, but not the engine's bundle.
    let other = parent.path().join("other");
    fs::create_dir_all(other.join("rootfs/data")).unwrap();
    fs::write(other.join("config.json"), "{}").unwrap();
    fs::write(other.join("rootfs/data/keep"), "x").unwrap();
    let err = remove(&other).unwrap_err();
    assert!(matches!(err, Error::NotABundle { .. }), "{err}");
    assert!(other.join("rootfs/data/keep").exists());
    remove(&b.state_dir).unwrap();
    assert_eq!(entries(parent.path()), ["other"]);
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
#[verifies("lifecycle.bundle")]
fn a_bundle_reads_back_from_its_directory() {
    let root = rootfs();
    let (_p, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let again = Bundle::open(&b.state_dir).unwrap();
    assert_eq!(
        (again.id.as_str(), &again.spec, &again.info),
        ("c1", &b.spec, &b.info)
    );
    assert!(matches!(
        Bundle::open(root.path()).unwrap_err(),
        Error::NotABundle { .. }
    ));
}

#[test]
#[verifies("lifecycle.remove")]
fn concurrent_removals_of_one_bundle_both_succeed() {
    // `rm --force` and the engine that ran the container both remove its bundle when the
    // container dies; without the lock one of them failed on an entry the other had removed.
    let root = rootfs();
    for _ in 0..20 {
        let (parent, b) = prepared(root.path(), &RunOptions::default(), &image(None));
        // Enough entries that the two walks overlap.
        for i in 0..200 {
            fs::write(b.state_dir.join(format!("layer/upper/f{i}")), "x").unwrap();
        }
        let dir = b.state_dir.clone();
        let other = std::thread::spawn(move || remove(&dir));
        let mine = remove(&b.state_dir);
        let theirs = other.join().unwrap();
        // The one that came second either waited for the first (and found nothing left to do)
        // or started after it finished (and found no bundle, as `Bundle::remove` and
        // `Runtime::remove` take it); never an error half-way.
        let fine = |r: &Result<()>| match r {
            Ok(()) => true,
            Err(Error::NotABundle { reason, .. }) => reason.contains("No such file"),
            Err(_) => false,
        };
        assert!(
            fine(&mine) && fine(&theirs) && (mine.is_ok() || theirs.is_ok()),
            "{mine:?} / {theirs:?}"
        );
        assert_eq!(entries(parent.path()), Vec::<String>::new());
    }
}

/// locald's shape of an app container in one `prepare`: its own cgroups path, the launcher
/// plus a shell command, a working directory, annotations, and (rootless) the image's non-root
/// user. The config.json written is the one that runs: nothing is edited afterwards.
#[test]
#[verifies(
    "isolation.cgroups-path",
    "lifecycle.annotations",
    "process.entrypoint",
    "process.working-dir",
    "isolation.namespaces.user-nested"
)]
fn one_prepare_sets_every_callers_field_without_an_edit_afterwards() {
    let root = rootfs();
    fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002:app:/home/app:/bin/sh\n",
    )
    .unwrap();
    fs::write(root.path().join("etc/group"), "root:x:0:\napp:x:1002:\n").unwrap();
    let opts = RunOptions {
        id_mapping: Some(crate::IdMapping::new(4000, 4000)),
        // The nested user namespace is the init's to create.
        init: Some(locald_testkit::static_init()),
        ..RunOptions::default()
    }
    .mapped_to(crate::MappedUser::ProcessUser)
    .with_entrypoint(["/cnb/lifecycle/launcher"])
    .with_args(["sh", "-c", "exec web"])
    .with_working_dir("/srv/app")
    .with_cgroups_path("/locald/web")
    .with_annotation("dev.locald.service", "web")
    .with_annotation("dev.locald.project", "");
    let (_parent, b) = prepared(root.path(), &opts, &image(Some("app")));
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(b.state_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(json["linux"]["cgroupsPath"], "/locald/web");
    assert_eq!(
        json["annotations"],
        serde_json::json!({ "dev.locald.service": "web", "dev.locald.project": "" })
    );
    assert_eq!(
        json["process"]["args"],
        serde_json::json!([
            "/dev/init",
            "--userns",
            "1001:1002",
            "--parent-death",
            "15",
            "--lifeline",
            "3",
            "--",
            "/cnb/lifecycle/launcher",
            "sh",
            "-c",
            "exec web"
        ]),
        "the init maps the host user onto the image's user, then runs locald's command"
    );
    assert_eq!(json["process"]["cwd"], "/srv/app");
    // The missing working directory is created in the layer, as the image's would be.
    assert!(
        b.plan
            .entries()
            .iter()
            .any(|e| matches!(&e.item, Item::LayerDir { path, .. } if path == "/srv/app")),
        "{:#?}",
        b.plan.entries()
    );
    // The host user is the image's user inside: the init's nested namespace maps it there.
    assert!(b.plan.entries().contains(&crate::plan::Entry {
        requirement: requirement!("isolation.namespaces.user-nested"),
        item: Item::NestedUserNamespace {
            uid: 1001,
            gid: 1002
        },
    }));
    assert_eq!(
        json["process"]["user"]["uid"], 0,
        "runc starts the init as the mapped root"
    );
}

#[test]
#[verifies("lifecycle.annotations", "isolation.cgroups-path")]
fn without_the_options_the_bundle_has_no_annotations_and_no_cgroups_path() {
    let root = rootfs();
    let (_parent, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(b.state_dir.join("config.json")).unwrap()).unwrap();
    assert!(json.get("annotations").is_none(), "{}", json["annotations"]);
    assert!(json["linux"].get("cgroupsPath").is_none());
}

#[test]
#[verifies("lifecycle.annotations", "isolation.cgroups-path")]
fn bad_annotations_and_cgroups_paths_are_refused_before_anything_is_written() {
    let root = rootfs();
    let parent = tempfile::tempdir().unwrap();
    let bundle = parent.path().join("c1");
    for (opts, field) in [
        (
            RunOptions::default().with_annotation("", "x"),
            "annotations",
        ),
        (
            RunOptions::default().with_annotation("k", "a\0b"),
            "annotations",
        ),
        (RunOptions::default().with_cgroups_path(""), "cgroups_path"),
        (
            RunOptions::default().with_cgroups_path("/locald/../system.slice"),
            "cgroups_path",
        ),
        (
            RunOptions::default().with_cgroups_path("/locald//web"),
            "cgroups_path",
        ),
    ] {
        let err = prepare(&image(None), root.path(), &opts, &bundle, "c1").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { field: f, .. } if *f == field),
            "{opts:?}: {err}"
        );
        assert!(!bundle.exists(), "nothing written for {opts:?}");
    }
}

/// locald's shape: the project's checkout bind-mounted and the working directory at the mount
/// point itself, or inside it; one missing in the checkout is refused naming it.
#[test]
#[verifies("process.working-dir", "process.cwd")]
fn a_working_directory_at_or_inside_a_bind_mount_is_checked_in_its_source() {
    let root = rootfs();
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("web")).unwrap();
    let base = RunOptions::default().with_bind(crate::BindMount::new(src.path(), "/workspace"));
    for cwd in ["/workspace", "/workspace/", "/workspace/web"] {
        let (_p, b) = prepared(
            root.path(),
            &base.clone().with_working_dir(cwd),
            &image(None),
        );
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(b.state_dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(json["process"]["cwd"], cwd);
    }
    let parent = tempfile::tempdir().unwrap();
    let err = prepare(
        &image(None),
        root.path(),
        &base.with_working_dir("/workspace/api"),
        &parent.path().join("c1"),
        "c1",
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::MissingTarget { destination, .. } if destination == "/workspace/api"),
        "{err}"
    );
    // Named as the bind's source, not as the image's root.
    assert!(
        err.to_string()
            .contains("the source of the bind mount it lies in"),
        "{err}"
    );
}

/// The options a layer's mount tries, with `lowerdir=` and the rest cut off.
fn attempts(bundle: &Path) -> Vec<(String, bool)> {
    crate::layer::LayerMount::open(bundle)
        .expect("the layer opens")
        .attempts()
        .into_iter()
        .map(|(d, v)| {
            (
                d[..d.find("lowerdir=").unwrap()].replace("index=off,", ""),
                v,
            )
        })
        .collect()
}

/// A bundle prepared with a volatile layer.
fn prepared_volatile(root: &Path) -> (tempfile::TempDir, Bundle) {
    let opts = RunOptions {
        volatile_layer: true,
        ..RunOptions::default()
    };
    prepared(root, &opts, &image(None))
}

/// Why opening the layer of `bundle` is refused (an [`Error::Layer`] naming that bundle).
fn layer_refusal(bundle: &Path) -> String {
    match crate::layer::LayerMount::open(bundle) {
        Err(Error::Layer {
            bundle: named,
            reason,
        }) if named == bundle => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
#[verifies("filesystems.layer.volatile")]
fn a_volatile_layer_is_recorded_and_mounted_once() {
    let root = rootfs();
    let (_parent, b) = prepared_volatile(root.path());
    assert!(BundleInfo::read(&b.state_dir).unwrap().volatile);
    let s = |t: &str| t.to_owned();
    assert_eq!(
        attempts(&b.state_dir),
        [
            (s("volatile,"), true),
            (s("userxattr,volatile,"), true),
            (s(""), false),
            (s("userxattr,"), false),
        ]
    );
    // What overlayfs leaves in the work directory once a volatile overlay used it.
    fs::create_dir_all(b.state_dir.join("layer/work/work/incompat/volatile")).unwrap();
    let reason = layer_refusal(&b.state_dir);
    assert!(reason.contains("mounted volatile before"), "{reason}");
    // A layer prepared to be kept is not volatile, and its record says nothing of it (an
    // engine from before the field reads it).
    let (_parent, kept) = prepared(root.path(), &RunOptions::default(), &image(None));
    assert!(!BundleInfo::read(&kept.state_dir).unwrap().volatile);
    let record = fs::read_to_string(kept.state_dir.join(INFO_FILE)).unwrap();
    assert!(!record.contains("volatile"), "{record}");
    assert_eq!(
        attempts(&kept.state_dir),
        [(s(""), false), (s("userxattr,"), false)]
    );
}

/// The look for overlayfs's volatile mark never follows a link out of the bundle, and never
/// changes what it finds: a bundle's owner could put a symlink where overlayfs's own `work`
/// directory is, and root (locald's setuid shim) opens bundles its daemon prepared. Here the
/// link leads to a directory of root's holding a mark, both mode 000 as overlayfs makes them.
#[test]
#[verifies("filesystems.layer.volatile")]
fn the_volatile_mark_is_never_looked_for_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let root = rootfs();
    let (_parent, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("work");
    fs::create_dir_all(elsewhere.join("incompat/volatile")).unwrap();
    // Innermost first: once the outer one is mode 000, only root could reach the inner one.
    let dirs = [elsewhere.join("incompat"), elsewhere.clone()];
    for d in &dirs {
        fs::set_permissions(d, fs::Permissions::from_mode(0o000)).unwrap();
    }
    std::os::unix::fs::symlink(&elsewhere, b.state_dir.join("layer/work/work")).unwrap();
    crate::layer::LayerMount::open(&b.state_dir).expect("no mark inside the bundle");
    for d in &dirs {
        assert_eq!(mode(d), 0o000, "{} changed", d.display());
    }
    for d in dirs.iter().rev() {
        fs::set_permissions(d, fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// A volatile layer of a bundle another user owns (what locald's daemon prepares and its
/// setuid shim mounts) is refused before anything is mounted.
#[test]
#[verifies("filesystems.layer.volatile")]
fn a_volatile_layer_is_refused_for_another_users_bundle() {
    locald_testkit::require_root();
    let root = rootfs();
    let (_parent, b) = prepared_volatile(root.path());
    std::os::unix::fs::chown(&b.state_dir, Some(65534), None).unwrap();
    let reason = layer_refusal(&b.state_dir);
    assert!(reason.contains("uid 65534"), "{reason}");
    // Not volatile, the same bundle opens.
    let (_parent, kept) = prepared(root.path(), &RunOptions::default(), &image(None));
    std::os::unix::fs::chown(&kept.state_dir, Some(65534), None).unwrap();
    crate::layer::LayerMount::open(&kept.state_dir).expect("an ordinary layer opens");
}

/// What `start` and `refresh` read back of a bundle (`BundleFacts::open`, a few members of
/// config.json) is what the bundle in hand says (`BundleFacts::of`, from the spec itself), for
/// a bundle where each fact differs from its default: a terminal, the init's lifeline, a
/// hostname, a private network, a caller's bind over /etc/hosts after the engine's own.
#[test]
#[verifies("lifecycle.bundle")]
fn a_bundles_facts_read_back_as_its_spec_says() {
    let root = rootfs();
    let host_file = tempfile::NamedTempFile::new().unwrap();
    let opts = RunOptions {
        tty: true,
        init: Some(locald_testkit::static_init()),
        hostname: Some("web".into()),
        network: crate::NetworkMode::Private,
        binds: vec![crate::BindMount::new(host_file.path(), "/etc/hosts")],
        ..RunOptions::default()
    };
    let (_parent, b) = prepared(root.path(), &opts, &image(None));
    let read = BundleFacts::open(&b.state_dir).unwrap();
    assert_eq!(read, BundleFacts::of(&b));
    assert!(read.terminal());
    assert!(
        crate::spec::takes_lifeline(read.args()),
        "{:?}",
        read.args()
    );
    assert_eq!(read.hostname(), Some("web"));
    assert!(read.network_namespace());
    // The last mount at /etc/hosts is the caller's; the engine's resolv.conf is its own.
    assert_eq!(
        read.mount_source(Path::new("/etc/hosts")),
        Some(host_file.path())
    );
    assert_eq!(
        read.mount_source(Path::new("/etc/resolv.conf")),
        Some(b.state_dir.join("resolv.conf").as_path())
    );
    assert_eq!(read.mount_source(Path::new("/nowhere")), None);
    // And the defaults: no terminal, the image's command alone, the host's network.
    let (_parent, plain) = prepared(root.path(), &RunOptions::default(), &image(None));
    let read = BundleFacts::open(&plain.state_dir).unwrap();
    assert_eq!(read, BundleFacts::of(&plain));
    assert!(!read.terminal() && !read.network_namespace());
    assert_eq!(read.args(), ["sh"]);
}

/// Members other than the facts' are skipped unread, whatever they hold (oci-spec's `Spec`
/// would check `execCPUAffinity` against its pattern; the runtime still does); a config.json
/// that is not JSON, gives a fact's member the wrong type, is a FIFO or is over the limit is
/// refused as not a bundle, naming config.json, without blocking.
#[test]
#[verifies("lifecycle.bundle")]
fn a_bundles_facts_refuse_a_bad_config_json() {
    let root = rootfs();
    let (_parent, b) = prepared(root.path(), &RunOptions::default(), &image(None));
    let config = b.state_dir.join(CONFIG_FILE);
    let write = |text: &str| {
        fs::remove_file(&config).unwrap();
        fs::write(&config, text).unwrap();
    };
    write(
        r#"{"process": {"args": ["x"], "execCPUAffinity": {"initial": "not a list"}},
            "linux": {"namespaces": [{"type": "network"}], "seccomp": 7}, "mounts": null}"#,
    );
    let read = BundleFacts::open(&b.state_dir).unwrap();
    assert!(read.network_namespace() && !read.terminal() && read.args() == ["x"]);
    let refused = |why: &str| {
        let err = BundleFacts::open(&b.state_dir).unwrap_err();
        assert!(matches!(err, Error::NotABundle { .. }), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    };
    write("{\n  \"process\": \n");
    refused("(config.json: EOF while parsing a value at line 3 column 0)");
    write(r#"{"process": {"terminal": "yes"}}"#);
    refused("config.json: invalid type: string \"yes\", expected a boolean at line 1 column 30");
    write(r#"{"mounts": [{"source": "/x"}]}"#);
    refused("missing field `destination`");
    fs::remove_file(&config).unwrap();
    nix::unistd::mkfifo(&config, nix::sys::stat::Mode::S_IRWXU).unwrap();
    refused("config.json: not a regular file");
    fs::remove_file(&config).unwrap();
    fs::File::create(&config)
        .unwrap()
        .set_len(MAX_CONFIG_BYTES + 1)
        .unwrap();
    refused("config.json: 33554433 bytes, more than the limit");
    // Without the engine's record it is no bundle at all, whatever config.json holds.
    fs::remove_file(b.state_dir.join(INFO_FILE)).unwrap();
    write(r#"{"ociVersion": "1.0.2"}"#);
    refused("locald-bundle.json: No such file");
}
