use super::*;

#[verifies(
    "filesystems.proc",
    "filesystems.dev",
    "filesystems.dev-pts",
    "filesystems.dev-shm",
    "filesystems.dev-mqueue",
    "filesystems.sys",
    "filesystems.cgroup"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn default_mounts_are_present(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], "cat /proc/self/mountinfo");
    let text = out.ok();
    let info = mountinfo(text);
    let at = |p: &str| mount_at(&info, p).unwrap_or_else(|| panic!("{p} mounted:\n{text}"));

    let proc = at("/proc");
    assert_eq!(proc.fstype, "proc");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(proc.has(o), "/proc {o}: {}", proc.options);
    }

    let dev = at("/dev");
    assert_eq!(dev.fstype, "tmpfs");
    assert!(dev.has("nosuid"), "/dev nosuid: {}", dev.options);
    for o in ["mode=755", "size=65536k"] {
        assert!(dev.has_super(o), "/dev {o}: {}", dev.super_options);
    }

    let pts = at("/dev/pts");
    assert_eq!(pts.fstype, "devpts");
    for o in ["nosuid", "noexec"] {
        assert!(pts.has(o), "/dev/pts {o}: {}", pts.options);
    }
    for o in ["mode=620", "ptmxmode=666"] {
        assert!(pts.has_super(o), "/dev/pts {o}: {}", pts.super_options);
    }
    // gid=5 only when gid 5 is mapped: never with the rootless single mapping.
    assert_eq!(
        pts.has_super("gid=5"),
        mode == Mode::Root,
        "{}",
        pts.super_options
    );

    let shm = at("/dev/shm");
    assert_eq!(shm.fstype, "tmpfs");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(shm.has(o), "/dev/shm {o}: {}", shm.options);
    }
    assert!(shm.has_super("size=65536k"), "{}", shm.super_options);

    let mqueue = at("/dev/mqueue");
    assert_eq!(mqueue.fstype, "mqueue");
    for o in ["nosuid", "nodev", "noexec"] {
        assert!(mqueue.has(o), "/dev/mqueue {o}: {}", mqueue.options);
    }

    let sys = at("/sys");
    // Rootless with the host network: a read-only bind of the host's sysfs.
    assert_eq!(sys.fstype, "sysfs");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(sys.has(o), "/sys {o}: {}", sys.options);
    }

    // runc (cgroup v1) mounts a tmpfs at /sys/fs/cgroup holding the container's
    // hierarchies, each read-only; the tmpfs is read-only too. (Rootless with the host
    // network, the host's own cgroup mounts come along with the bind of /sys, hidden under
    // the container's.)
    let cgroup = at("/sys/fs/cgroup");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(cgroup.has(o), "/sys/fs/cgroup {o}: {}", cgroup.options);
    }
    let cgroups: Vec<_> = info
        .iter()
        .filter(|m| m.parent == cgroup.id && m.fstype.starts_with("cgroup"))
        .collect();
    assert!(!cgroups.is_empty(), "cgroup hierarchies:\n{text}");
    for c in cgroups {
        assert!(c.has("ro"), "{} read-only: {}", c.mount_point, c.options);
    }
}

#[verifies("filesystems.proc", "isolation.namespaces.pid")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn proc_is_the_containers_own(mode: Mode) {
    // sh is PID 1; the process reading /proc/self is its child (`; true` keeps sh from
    // exec'ing the last command in its own place).
    let out = sh(
        mode,
        Users::RootOnly,
        &["--no-init"],
        "echo $$; cut -d' ' -f4 /proc/self/stat; true",
    );
    assert_eq!(out.ok(), "1\n1\n");
}

#[verifies("filesystems.dev", "filesystems.dev-shm")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn dev_holds_the_default_devices(mode: Mode) {
    let script = "ls /dev; stat -c %a /dev/shm; echo x > /dev/shm/f && cat /dev/shm/f";
    let out = sh(mode, Users::RootOnly, &[], script);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue", "fd",
        "stdin", "stdout", "stderr",
    ] {
        assert!(lines.contains(&dev), "/dev/{dev}: {text}");
    }
    assert!(
        text.ends_with("\n1777\nx\n"),
        "/dev/shm mode 1777 and usable: {text}"
    );
}

#[verifies("filesystems.cgroup")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn cgroup_hierarchies_are_read_only(mode: Mode) {
    let script = "ls /sys/fs/cgroup/pids >/dev/null && echo listed; \
                  touch /sys/fs/cgroup/pids/x 2>&1; mkdir /sys/fs/cgroup/x 2>&1; true";
    let out = sh(mode, Users::RootOnly, &[], script);
    let text = out.ok();
    assert!(
        text.starts_with("listed\n"),
        "the hierarchy is readable: {text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for l in &lines[1..] {
        assert!(l.ends_with("Read-only file system"), "{text}");
    }
}

#[test]
#[verifies("filesystems.sys", "isolation.namespaces.network")]
fn sysfs_is_mounted_with_private_network_rootless() {
    let out = sh(
        Mode::Rootless,
        Users::RootOnly,
        &["--network", "none"],
        "cat /proc/self/mountinfo; echo; ls /sys/class/net",
    );
    let text = out.ok();
    assert_eq!(fstype_at(text, "/sys"), Some("sysfs"), "{text}");
    let sys = mount_options(text, "/sys").unwrap();
    assert!(sys.split(',').any(|o| o == "ro"), "/sys read-only: {sys}");
    // Only loopback in a private network namespace.
    assert!(text.trim_end().ends_with("\nlo"), "{text}");
}

/// The root is an overlay of the container's own: a write lands in its layer, the next
/// container from the image does not see it, and the image stays as it was.
#[verifies("filesystems.root", "filesystems.layer.private")]
#[verifies_in(rootless, "filesystems.layer.unprivileged")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn root_is_the_containers_own_overlay(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let script = "echo from-the-container > /tmp/marker && cat /tmp/marker && \
                  grep ' / ' /proc/mounts | cut -d' ' -f3";
    let out = run(mode, &rootfs, &[], &["sh", "-c", script]);
    assert_eq!(out.ok(), "from-the-container\noverlay\n");
    assert!(
        !rootfs.path().join("tmp/marker").exists(),
        "the image is untouched"
    );
    let out = run(
        mode,
        &rootfs,
        &[],
        &["sh", "-c", "cat /tmp/marker || echo none"],
    );
    assert_eq!(
        out.ok(),
        "none\n",
        "a second container starts from the image"
    );
}

/// With a read-only root, `/tmp` is a writable tmpfs (nosuid, nodev, 1777) and `/` refuses
/// writes; nothing lands in the image's `/tmp`.
#[verifies("filesystems.tmp")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn tmp_is_a_tmpfs_with_a_read_only_root(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let script = "echo x > /tmp/f && echo TMP-OK; echo y > /rootfile && echo ROOT-WROTE; \
                  stat -c %a /tmp; cat /proc/self/mountinfo";
    let out = run(mode, &rootfs, &["--readonly-rootfs"], &["sh", "-c", script]);
    let text = out.ok();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("TMP-OK"), "{out:#?}");
    assert_eq!(lines.next(), Some("1777"), "{out:#?}");
    assert_eq!(fstype_at(text, "/tmp"), Some("tmpfs"), "{text}");
    let info = mountinfo(text);
    let tmp = mount_at(&info, "/tmp").expect("/tmp mount");
    assert!(
        tmp.has("nosuid") && tmp.has("nodev") && tmp.has("rw"),
        "{text}"
    );
    assert!(mount_at(&info, "/").expect("/ mount").has("ro"), "{text}");
    assert!(out.stderr.contains("rootfile"), "{out:#?}");
    assert!(!rootfs.path().join("rootfile").exists());
    assert!(!rootfs.path().join("tmp/f").exists());
}

/// Without a read-only root nothing is mounted on `/tmp`: it is the image's own directory.
#[verifies("filesystems.tmp")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn tmp_is_the_images_own_without_read_only_root(mode: Mode) {
    let text = sh(mode, Users::RootOnly, &[], "cat /proc/self/mountinfo")
        .ok()
        .to_owned();
    assert_eq!(fstype_at(&text, "/tmp"), None, "{text}");
}

#[verifies("filesystems.bind-mounts")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn bind_mounts_are_mounted_read_only_on_request(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    rootfs.write_scratch("hello.txt", "hello from the host\n");
    let rw = rootfs.base().join("rw");
    std::fs::create_dir(&rw).unwrap();
    std::os::unix::fs::chown(&rw, Some(rootless_uid(mode)), None).unwrap();
    let ro_bind = format!("{}:/mnt:ro", rootfs.scratch().display());
    let rw_bind = format!("{}:/home", rw.display());
    let script = "cat /mnt/hello.txt; echo x > /mnt/new.txt && echo WROTE; \
                  echo y > /home/new.txt && echo WROTE-RW; true";
    let opts = ["--bind", &ro_bind, "--bind", &rw_bind];
    let out = run(mode, &rootfs, &opts, &["sh", "-c", script]);
    assert_eq!(out.ok(), "hello from the host\nWROTE-RW\n");
    assert!(!rootfs.scratch().join("new.txt").exists());
    assert_eq!(std::fs::read_to_string(rw.join("new.txt")).unwrap(), "y\n");
}

/// The host uid that container root is in `mode`.
fn rootless_uid(mode: Mode) -> u32 {
    match mode {
        Mode::Root => 0,
        Mode::Rootless => rootless_host_ids().0,
    }
}

#[test]
#[verifies(
    "filesystems.bind-mounts",
    "filesystems.root",
    "filesystems.layer.targets"
)]
fn bind_to_a_missing_destination_is_provided_outside_the_rootfs_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    rootfs.write_scratch("hello.txt", "hello\n");
    let bind = format!("{}:/data", rootfs.scratch().display());
    let out = run(
        Mode::Root,
        &rootfs,
        &["--bind", &bind],
        &["cat", "/data/hello.txt"],
    );
    assert_eq!(out.ok(), "hello\n");
    assert!(!rootfs.path().join("data").exists());
}

#[verifies("filesystems.root", "filesystems.layer.targets")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn missing_mount_target_is_provided_without_touching_the_rootfs(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    std::fs::remove_dir(rootfs.path().join("proc")).unwrap();
    let script = "test -e /proc/self/status && echo proc";
    assert_eq!(
        run(mode, &rootfs, &[], &["sh", "-c", script]).ok(),
        "proc\n"
    );
    assert!(!rootfs.path().join("proc").exists());
}

mod rootfs {
    use crate::*;

    use locald_testkit::tree_manifest;

    #[verifies(
        "filesystems.root",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn rootfs_is_byte_identical_after_runs(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        own_rootfs(mode, &rootfs);
        let before = tree_manifest(rootfs.path());
        let script = "id; cat /etc/passwd /etc/group >/dev/null; ls -R / >/dev/null 2>&1; true";
        run(mode, &rootfs, &[], &["sh", "-c", script]).ok();
        if mode == Mode::Root {
            run(mode, &rootfs, &["--user", "1234"], &["id"]).ok();
        }
        let after = tree_manifest(rootfs.path());
        assert_eq!(before, after, "the run changed the image rootfs");
    }

    /// A state root inside the image is refused before anything is created: not the state
    /// root, not the directories on the way to it, whether it is missing, below a directory
    /// the image has (`/tmp`), or reached through a symlink to the image from outside it.
    #[verifies("filesystems.root")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn a_state_root_inside_the_image_is_refused_writing_nothing(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        own_rootfs(mode, &rootfs);
        let link = rootfs.base().join("image-link");
        std::os::unix::fs::symlink(rootfs.path(), &link).unwrap();
        let before = tree_manifest(rootfs.path());
        for state_root in [
            rootfs.path().join("var/lib/st"),
            rootfs.path().join("tmp/st"),
            link.join("var/lib/st"),
        ] {
            let sr = state_root.to_str().unwrap();
            run(mode, &rootfs, &["--state-root", sr], &["true"]).refused("inside the image");
            assert_eq!(
                tree_manifest(rootfs.path()),
                before,
                "--state-root {sr}: the refused run wrote into the image"
            );
        }
        assert!(!rootfs.path().join("var").exists());
    }

    #[test]
    fn state_is_removed_after_the_run_root() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let state_root = rootfs.base().join("state");
        let sr = state_root.to_str().unwrap();
        run(
            Mode::Root,
            &rootfs,
            &["--state-root", sr, "--id", "keepme"],
            &["true"],
        )
        .ok();
        assert!(Path::new(sr).join("bundles").is_dir());
        assert!(!Path::new(sr).join("bundles/keepme").exists());
        assert_eq!(
            std::fs::read_dir(Path::new(sr).join("bundles"))
                .unwrap()
                .count(),
            0
        );
    }
}

mod missing_targets {
    use crate::*;

    use locald_testkit::tree_manifest;

    /// A `FROM scratch`-like rootfs: a static busybox at /bin/busybox and /bin/sh linked to
    /// it, nothing else (no /proc, /dev, /sys, /tmp, /etc).
    fn scratch_rootfs() -> Rootfs {
        let rootfs = Rootfs::build(Users::RootOnly);
        for e in std::fs::read_dir(rootfs.path()).unwrap() {
            let e = e.unwrap();
            if e.file_name() != "bin" {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
        for e in std::fs::read_dir(rootfs.path().join("bin")).unwrap() {
            let e = e.unwrap();
            if e.file_name() != "busybox" && e.file_name() != "sh" {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        let mut top: Vec<_> = std::fs::read_dir(rootfs.path().join("bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(top, ["busybox", "sh"]);
        rootfs
    }

    #[verifies(
        "filesystems.layer.targets",
        "filesystems.root",
        "filesystems.proc",
        "filesystems.dev",
        "identity.passwd.current-user"
    )]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn a_scratch_image_runs_and_stays_untouched(mode: Mode) {
        let rootfs = scratch_rootfs();
        own_rootfs(mode, &rootfs);
        let before = tree_manifest(rootfs.path());
        // Only busybox and sh exist: every other command is a busybox applet by name.
        let script = "b=/bin/busybox; $b id -u; $b head -n1 /etc/passwd; \
                      echo x >/dev/null && echo devnull; \
                      $b test -e /proc/self/status && echo proc; \
                      $b test -d /sys/fs && echo sys; \
                      $b touch /new-at-top && echo wrote-top";
        let out = run(mode, &rootfs, &[], &["/bin/sh", "-c", script]);
        let lines: Vec<&str> = out.ok().lines().collect();
        assert_eq!(lines.len(), 6, "{out:#?}");
        assert_eq!(lines[0], "0");
        assert!(lines[1].starts_with("root:x:0:0:"), "generated: {out:#?}");
        assert_eq!(lines[2..], ["devnull", "proc", "sys", "wrote-top"]);
        // A read-only root: the layer mounted read-only, /tmp a tmpfs.
        let script = "/bin/busybox touch /tmp/t && echo tmp; \
                      /bin/busybox touch /bin/new 2>/dev/null || echo bin-ro; \
                      /bin/busybox touch /new 2>/dev/null || echo root-ro";
        let out = run(
            mode,
            &rootfs,
            &["--readonly-rootfs"],
            &["/bin/sh", "-c", script],
        );
        assert_eq!(out.ok(), "tmp\nbin-ro\nroot-ro\n");
        assert_eq!(
            tree_manifest(rootfs.path()),
            before,
            "the runs changed the image"
        );
    }

    /// An image whose root directory is 0555: the layer mirrors the mode, and the engine,
    /// unprivileged, must still remove the bundle after the run.
    #[test]
    #[verifies("filesystems.layer.targets")]
    fn a_read_only_image_root_is_mirrored_and_cleaned_up_rootless() {
        use std::os::unix::fs::PermissionsExt;
        let rootfs = scratch_rootfs();
        std::fs::set_permissions(rootfs.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let state_root = rootfs.base().join("state");
        std::fs::create_dir(&state_root).unwrap();
        let (uid, gid) = rootless_host_ids();
        std::os::unix::fs::chown(&state_root, Some(uid), Some(gid)).unwrap();
        let sr = state_root.to_str().unwrap();
        let script = "/bin/busybox stat -c %a /";
        let out = run(
            Mode::Rootless,
            &rootfs,
            &["--state-root", sr],
            &["/bin/sh", "-c", script],
        );
        assert_eq!(out.ok(), "555\n");
        assert_eq!(
            std::fs::read_dir(state_root.join("bundles"))
                .unwrap()
                .count(),
            0,
            "bundle left behind"
        );
        std::fs::set_permissions(rootfs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A scratch image owned by root on a filesystem mounted `nosuid,nodev,noatime`, run
    /// rootless with a read-only root: its layer (missing targets included) mounts read-only in
    /// the engine's user namespace, with no copy-up, so root's files need no mapping. The tmpfs
    /// lives in a private mount namespace of `unshare`, gone when it exits.
    #[test]
    #[verifies("filesystems.layer.targets", "filesystems.layer.unprivileged")]
    fn a_root_owned_image_on_a_locked_mount_runs_read_only_rootless() {
        require_root();
        require_runc();
        let rootfs = scratch_rootfs();
        let engine = engine_binary(Mode::Rootless, &rootfs);
        let (uid, gid) = rootless_host_ids();
        let mnt = rootfs.base().join("locked");
        std::fs::create_dir(&mnt).unwrap();
        let (mnt, src) = (mnt.display(), rootfs.path().display());
        let script = format!(
            "mount -t tmpfs -o nosuid,nodev,noatime,mode=755 tmpfs {mnt} && cp -a {src}/. {mnt}/ \
             && exec setpriv --reuid={uid} --regid={gid} --clear-groups -- {engine} run \
             --rootfs {mnt} --readonly-rootfs -- /bin/busybox echo ok"
        );
        let out = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/")
            .output()
            .expect("spawn unshare");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(stdout, "ok\n", "{out:?}");
    }
}

/// With a read-only root, `/run` (0755) and `/var/tmp` (1777) are writable tmpfs mounts; as
/// root the image's `/run` is copied in, rootless it starts empty; the image stays untouched.
/// With a writable root nothing is mounted on either.
#[verifies("filesystems.read-only-tmpfs")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn run_and_var_tmp_are_tmpfs_with_a_read_only_root(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    std::fs::create_dir_all(rootfs.path().join("run/lock")).unwrap();
    std::fs::write(rootfs.path().join("run/lock/shipped"), "").unwrap();
    let script = "echo 1 > /run/app.pid && echo RUN-OK; echo x > /var/tmp/f && echo VAR-TMP-OK; \
                  stat -c %a /run /var/tmp; ls /run/lock; cat /proc/self/mountinfo";
    let out = run(mode, &rootfs, &["--readonly-rootfs"], &["sh", "-c", script]);
    let text = out.ok();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("RUN-OK"), "{out:#?}");
    assert_eq!(lines.next(), Some("VAR-TMP-OK"), "{out:#?}");
    assert_eq!(lines.next(), Some("755"), "{out:#?}");
    assert_eq!(lines.next(), Some("1777"), "{out:#?}");
    let copied = mode == Mode::Root;
    assert_eq!(lines.next() == Some("shipped"), copied, "{out:#?}");
    let info = mountinfo(text);
    for dir in ["/run", "/var/tmp"] {
        let m = mount_at(&info, dir).unwrap_or_else(|| panic!("{dir} mounted: {text}"));
        assert_eq!(m.fstype, "tmpfs", "{text}");
        assert!(m.has("rw") && m.has("nosuid") && m.has("nodev"), "{text}");
    }
    assert!(!rootfs.path().join("run/app.pid").exists());
    assert!(!rootfs.path().join("var/tmp/f").exists());
    let text = sh(mode, Users::RootOnly, &[], "cat /proc/self/mountinfo")
        .ok()
        .to_owned();
    assert_eq!(fstype_at(&text, "/run"), None, "{text}");
    assert_eq!(fstype_at(&text, "/var/tmp"), None, "{text}");
}

/// A caller's bind of `/etc/hosts` and `/etc/resolv.conf` (the kubelet's case) is what the
/// workload reads, mounted once; the engine's `/etc/hostname` is still its own.
#[verifies("filesystems.bind-mounts.replace-generated")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_callers_bind_replaces_the_generated_name_files(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let hosts = rootfs.write_scratch("etc-hosts", "192.0.2.9 pinned\n");
    let resolv = rootfs.write_scratch("resolv.conf", "nameserver 192.0.2.53\n");
    let hosts_bind = format!("{}:/etc/hosts", hosts.display());
    let resolv_bind = format!("{}:/etc/resolv.conf:ro", resolv.display());
    let script = "cat /etc/hosts /etc/resolv.conf; echo ---; cat /proc/self/mountinfo";
    let out = run(
        mode,
        &rootfs,
        &[
            "--bind",
            &hosts_bind,
            "--bind",
            &resolv_bind,
            "--hostname",
            "h1",
        ],
        &["sh", "-c", script],
    );
    let text = out.ok();
    let (files, mounts) = text.split_once("---\n").unwrap();
    assert_eq!(
        files, "192.0.2.9 pinned\nnameserver 192.0.2.53\n",
        "{out:#?}"
    );
    let info = mountinfo(mounts);
    for path in ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"] {
        let n = info.iter().filter(|m| m.mount_point == path).count();
        assert_eq!(n, 1, "{path} mounted once: {mounts}");
    }
    let out = run(mode, &rootfs, &[], &["cat", "/etc/hosts"]);
    assert!(out.ok().contains("localhost"), "{out:#?}");
    // An option that would only shape the replaced file is refused, not dropped.
    let out = run(
        mode,
        &rootfs,
        &["--bind", &hosts_bind, "--add-host", "db:192.0.2.7"],
        &["true"],
    );
    out.refused("--add-host");
}
