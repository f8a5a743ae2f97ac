//! Every container's own copy-on-write root (the chapter "Filesystems", `filesystems.layer.*`),
//! rootful and rootless, on a real Debian tree and on busybox: what a root workload writes
//! never reaches the image or another container.

use std::process::Stdio;

use crate::common::*;
use locald_spec_macros::{variants, verifies};
use locald_testkit::{Rootfs, Users, require_runc, tree_manifest};

/// What package installs and account tools do to a Debian root: writes under /etc, /var, /usr
/// and /tmp, `useradd -m` (which replaces /etc/passwd and /etc/group by rename), an append to
/// /etc/hosts. Afterwards the image is byte-identical and a second container sees none of it.
fn a_root_workload_changes_its_own_root_only(mode: Mode) {
    require_runc();
    let debian = debian_for(mode);
    let carrier = Rootfs::build(Users::RootOnly);
    let before = tree_manifest(&debian);
    let script = "set -e; echo x > /etc/locald-e2e; mkdir -p /var/lib/locald-e2e; \
        echo y > /var/lib/locald-e2e/f; echo z > /usr/local/bin/locald-e2e; \
        echo t > /tmp/locald-e2e; useradd -m alice; echo '192.0.2.1 db' >> /etc/hosts; \
        id -u alice; test -d /home/alice && echo home; getent hosts db; \
        cat /etc/locald-e2e /var/lib/locald-e2e/f /usr/local/bin/locald-e2e /tmp/locald-e2e";
    let out = run_dir(mode, &carrier, &debian, &[], &["sh", "-c", script]);
    assert_eq!(out.code, 0, "{out:#?}");
    let stdout = &out.stdout;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{stdout}");
    assert_eq!(lines[1], "home", "{stdout}");
    assert!(
        lines[2].starts_with("192.0.2.1") && lines[2].ends_with("db"),
        "{stdout}"
    );
    assert_eq!(lines[3..], ["x", "y", "z", "t"], "{stdout}");
    assert_eq!(tree_manifest(&debian), before, "the run changed the image");
    let script = "for f in /etc/locald-e2e /var/lib/locald-e2e /usr/local/bin/locald-e2e \
        /tmp/locald-e2e /home/alice; do test -e $f && echo leaked $f; done; \
        getent passwd alice || echo no-alice; grep -c 192.0.2.1 /etc/hosts || true";
    let out = run_dir(mode, &carrier, &debian, &[], &["sh", "-c", script]);
    assert_eq!(out.stdout, "no-alice\n0\n", "{out:#?}");
}

#[test]
#[verifies(
    "filesystems.root",
    "filesystems.layer.private",
    "filesystems.layer.engine-files"
)]
fn a_root_workload_changes_its_own_root_only_root() {
    a_root_workload_changes_its_own_root_only(Mode::Root);
}

#[test]
#[verifies(
    "filesystems.root",
    "filesystems.layer.private",
    "filesystems.layer.engine-files",
    "filesystems.layer.unprivileged"
)]
fn a_root_workload_changes_its_own_root_only_rootless() {
    a_root_workload_changes_its_own_root_only(Mode::Rootless);
}

/// The container's root in its `/proc/self/mountinfo` text: its filesystem type, and whether
/// it is mounted volatile.
fn root_mount(text: &str) -> (String, bool) {
    let info = mountinfo(text);
    let m = mount_at(&info, "/").unwrap_or_else(|| panic!("no / in {text}"));
    // Newer kernels (6.18 here) show the option as `fsync=volatile`.
    let volatile = m.has_super("volatile") || m.has_super("fsync=volatile");
    (m.fstype.to_owned(), volatile)
}

/// The root of a container `run` throws away with its bundle is a volatile overlay; a bundle
/// prepared and started, which stays, has an ordinary one (its writes are synced as any
/// file's) and starts again; after its run the bundle is gone.
#[verifies("filesystems.layer.volatile")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn only_a_layer_thrown_away_with_its_run_is_volatile(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = crate::lifecycle::state_root(mode, &rootfs);
    let (run, started) =
        crate::lifecycle::run_then_start_kept(mode, &rootfs, &sr, &["cat", "/proc/self/mountinfo"]);
    assert_eq!(root_mount(run.ok()), ("overlay".into(), true), "{run:#?}");
    assert_eq!(
        root_mount(started.ok()),
        ("overlay".into(), false),
        "{started:#?}"
    );
    // Started again: overlayfs left its `work` directory mode 000, which the unprivileged
    // engine must look into for the mark of a volatile mount.
    let srs = sr.to_str().unwrap();
    let bundle = sr.join("bundles").join(crate::lifecycle::KEPT);
    let again = engine(
        mode,
        &rootfs,
        &[
            "start",
            "--state-root",
            srs,
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    );
    assert_eq!(
        root_mount(again.ok()),
        ("overlay".into(), false),
        "{again:#?}"
    );
    engine(
        mode,
        &rootfs,
        &["rm", "--state-root", srs, crate::lifecycle::KEPT],
    )
    .ok();
}

/// A volatile layer is mounted once: overlayfs marks its work directory and refuses that
/// directory afterwards with a bare EINVAL. Started a second time, the bundle is refused in
/// words that say why, rootful and rootless (where overlayfs leaves its own work directory
/// mode 000 and the engine must open it up to find the mark). The bundle is the library's
/// volatile kind (`RunOptions::volatile_layer`, which the command line sets only for `run`,
/// which never starts a bundle twice): its record is marked as `prepare()` marks it then.
#[verifies("filesystems.layer.volatile")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_volatile_layer_started_again_is_refused_in_words(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let sr = crate::lifecycle::state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    let id = "volatile-twice";
    let bundle = sr.join("bundles").join(id);
    let b = bundle.to_str().unwrap();
    let root = rootfs.path().to_str().unwrap();
    engine(
        mode,
        &rootfs,
        &[
            "prepare",
            "--id",
            id,
            "--rootfs",
            root,
            "--bundle",
            b,
            "--",
            "cat",
            "/proc/self/mountinfo",
        ],
    )
    .ok();
    // Rewritten in place, so the file keeps its owner, the engine's user.
    let record = bundle.join("locald-bundle.json");
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(info.get("volatile"), None, "a kept bundle's record: {info}");
    info["volatile"] = true.into();
    std::fs::write(&record, serde_json::to_vec(&info).unwrap()).unwrap();
    let start = || {
        engine(
            mode,
            &rootfs,
            &["start", "--state-root", srs, "--bundle", b],
        )
    };
    let first = start();
    assert_eq!(
        root_mount(first.ok()),
        ("overlay".into(), true),
        "{first:#?}"
    );
    let again = start();
    again.refused("mounted volatile before");
    assert!(!again.stderr.contains("Invalid argument"), "{again:#?}");
    engine(mode, &rootfs, &["rm", "--state-root", srs, id]).ok();
    assert!(!bundle.exists(), "rm removed the bundle");
}

/// 50 containers from one image at once, each writing the same path and reading its own value
/// back: with a shared writable image 29 of 30 read another's value.
fn parallel_containers_never_see_each_others_writes(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let before = tree_manifest(rootfs.path());
    let children: Vec<_> = (0..50)
        .map(|i| {
            engine_command(mode, &rootfs)
                .args(["run", "--rootfs"])
                .arg(rootfs.path())
                .args([
                    "--",
                    "sh",
                    "-c",
                    &format!("echo {i} > /tmp/me; sleep 0.5; cat /tmp/me"),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut wrong = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "container {i}: {out:#?}");
        let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if got != i.to_string() {
            wrong.push((i, got));
        }
    }
    assert!(wrong.is_empty(), "collisions: {wrong:?}");
    assert_eq!(tree_manifest(rootfs.path()), before);
}

#[test]
#[verifies("filesystems.layer.private")]
fn parallel_containers_never_see_each_others_writes_root() {
    parallel_containers_never_see_each_others_writes(Mode::Root);
}

#[test]
#[verifies("filesystems.layer.private", "filesystems.layer.unprivileged")]
fn parallel_containers_never_see_each_others_writes_rootless() {
    parallel_containers_never_see_each_others_writes(Mode::Rootless);
}

/// The unprivileged engine refuses, before anything runs, an image it could not copy up
/// (owned by root, unmapped in its user namespace), naming a file and the fixes; read-only it
/// runs it.
#[test]
#[verifies("filesystems.layer.unprivileged")]
fn a_root_owned_image_is_refused_unless_read_only_rootless() {
    require_runc();
    let image = Rootfs::build(Users::RootOnly);
    // The engine binary and init live beside `carrier`, which is given to the test user; the
    // image stays root's.
    let carrier = Rootfs::build(Users::RootOnly);
    let run_on = |opts: &[&str]| {
        run_dir(
            Mode::Rootless,
            &carrier,
            image.path(),
            opts,
            &["sh", "-c", "echo ran"],
        )
    };
    if !runs_as_test_user(Mode::Rootless) {
        return;
    }
    let out = run_on(&[]);
    assert_eq!(out.code, 125, "{out:#?}");
    assert!(
        out.stderr.contains("belongs to uid 0") && out.stderr.contains("--readonly-rootfs"),
        "{out:#?}"
    );
    let out = run_on(&["--readonly-rootfs"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "ran\n"), "{out:#?}");
}

/// A real Debian minbase rootfs (`debootstrap --variant=minbase bookworm`, built once into
/// `target/debian-rootfs`): what the busybox tree cannot show — glibc's NSS (`getent`), bash as
/// root's shell, coreutils' `id` — seen through the engine's generated files and mounts.
mod debian {
    use crate::*;

    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "identity.group.current-group",
        "environment.path-default",
        "environment.home",
        "environment.hostname"
    )]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn a_debian_workload_sees_a_sane_container(mode: Mode) {
        require_runc();
        let debian = debian_for(mode);
        // The busybox rootfs is only the carrier of the engine and init copies the rootless
        // test user can execute (see `engine_binary`); the container runs on the Debian tree.
        let carrier = Rootfs::build(Users::RootOnly);
        let script = "id -un; id -gn; getent passwd $(id -u); echo ---; env; echo ---; \
                      cat /proc/self/mountinfo";
        let out = run_dir(mode, &carrier, &debian, &[], &["sh", "-c", script]);
        assert_eq!(out.code, 0, "{out:#?}");
        let stdout = out.stdout;
        let mut parts = stdout.split("---\n");
        let (who, env, mounts) = (
            parts.next().unwrap(),
            parts.next().expect("env"),
            parts.next().expect("mountinfo"),
        );
        assert_eq!(
            who, "root\nroot\nroot:x:0:0:root:/root:/bin/bash\n",
            "{stdout}"
        );
        let env: Vec<&str> = env.lines().collect();
        for want in [
            format!("PATH={}", locald_engine::environment::DEFAULT_PATH),
            "HOME=/root".to_string(),
        ] {
            assert!(env.contains(&want.as_str()), "{want} in {env:?}");
        }
        assert!(env.iter().any(|v| v.starts_with("HOSTNAME=")), "{env:?}");
        // The kernel filesystems on a real distribution's tree; the requirements are claimed by
        // `filesystems::default_mounts_are_present`, which checks their options.
        for (point, fstype) in [
            ("/proc", "proc"),
            ("/dev", "tmpfs"),
            ("/dev/pts", "devpts"),
            ("/dev/shm", "tmpfs"),
            ("/dev/mqueue", "mqueue"),
            ("/sys", "sysfs"),
        ] {
            assert_eq!(fstype_at(mounts, point), Some(fstype), "{point}: {mounts}");
        }
        let info = mountinfo(mounts);
        assert!(
            mount_at(&info, "/etc/passwd").is_none(),
            "in the layer: {mounts}"
        );
        assert_eq!(
            mount_at(&info, "/").map(|m| m.fstype),
            Some("overlay"),
            "{mounts}"
        );
        assert!(mount_at(&info, "/sys/fs/cgroup").is_some(), "{mounts}");
    }

    #[test]
    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "identity.group.current-group",
        "environment.home"
    )]
    fn debian_names_resolve_for_a_named_user_and_a_numeric_uid_it_lacks_root() {
        require_runc();
        let debian = locald_testkit::debian_rootfs();
        let carrier = Rootfs::build(Users::RootOnly);
        let script = "echo $(id -un) $(id -gn) $HOME; getent passwd $(id -u) | cut -d: -f1,6";
        let who = |user: &str| {
            let out = run_dir(
                Mode::Root,
                &carrier,
                &debian,
                &["--user", user],
                &["sh", "-c", script],
            );
            assert_eq!(out.code, 0, "{user}: {out:#?}");
            out.stdout
        };
        // The image's own entry: Debian's `man` user, uid 6, primary group `man` (12).
        assert_eq!(who("man"), "man man /var/cache/man\nman:/var/cache/man\n");
        // A uid and gid the image lacks: the engine's entries, resolved by glibc.
        assert_eq!(who("1234:1234"), "user1234 group1234 /\nuser1234:/\n");
    }
}

/// A layer is mounted once: on a bundle whose `rootfs` has its layer mounted already,
/// `mount` is refused, and so is `start` (each would stack a second overlay on the same upper
/// directory, which overlayfs leaves undefined); `remove` then unmounts the one layer and
/// removes the whole bundle.
#[test]
#[verifies("filesystems.layer.private")]
fn a_mounted_layer_is_not_mounted_again_root() {
    require_runc();
    let mode = Mode::Root;
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = crate::lifecycle::state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    let id = "mounted-twice";
    let bundle = sr.join("bundles").join(id);
    let b = bundle.to_str().unwrap();
    let root = rootfs.path().to_str().unwrap();
    let prepare = [
        "prepare", "--id", id, "--rootfs", root, "--bundle", b, "--", "true",
    ];
    engine(mode, &rootfs, &prepare).ok();
    let target = bundle.join("rootfs").canonicalize().unwrap();
    let mounts_on_rootfs = || {
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        mountinfo(&table)
            .iter()
            .filter(|m| std::path::Path::new(m.mount_point) == target)
            .count()
    };
    engine(mode, &rootfs, &["mount", "--bundle", b]).ok();
    assert_eq!(mounts_on_rootfs(), 1);
    engine(mode, &rootfs, &["mount", "--bundle", b]).refused("has a mount on it already");
    let start = ["start", "--state-root", srs, "--bundle", b];
    engine(mode, &rootfs, &start).refused("has a mount on it already");
    assert_eq!(mounts_on_rootfs(), 1, "nothing stacked on the layer");
    engine(
        mode,
        &rootfs,
        &["remove", "--state-root", srs, "--bundle", b],
    )
    .ok();
    assert_eq!(mounts_on_rootfs(), 0);
    assert!(!bundle.exists(), "remove removed the bundle");
}
