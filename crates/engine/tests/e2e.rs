//! End-to-end tests: the `locald-engine` binary runs a busybox rootfs under real runc, as root
//! and rootless (as the unprivileged user `locald-test`, whose uid/gid become 0 inside), and
//! the tests look at what the workload observes.
//!
//! Modules mirror the specification's chapters; each test names the requirements it observes
//! with `#[verifies]`. A missing prerequisite (runc, busybox-static, root, the test user) fails
//! the test with a message naming it, in every environment: a test that returned early would be
//! recorded as passed and count as evidence.

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use locald_spec_macros::verifies;
use locald_testkit::{Rootfs, Users, require_root, require_runc, static_init};

mod identity {
    use super::*;

    fn current_uid_has_passwd_entry(mode: Mode) {
        let out = sh(mode, Users::RootOnly, &[], "id -u; id -un; id -gn");
        assert_eq!(out.ok(), "0\nroot\nroot\n");
    }

    #[test]
    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    fn current_uid_has_passwd_entry_root() {
        current_uid_has_passwd_entry(Mode::Root);
    }

    #[test]
    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    fn current_uid_has_passwd_entry_rootless() {
        current_uid_has_passwd_entry(Mode::Rootless);
    }

    fn uid_0_gets_an_entry_when_the_image_has_none(mode: Mode) {
        let script = "id -un; id -gn; cat /etc/passwd /etc/group";
        let out = sh(mode, Users::NoEntries, &[], script);
        assert_eq!(
            out.ok(),
            "root\nroot\nroot:x:0:0:container user:/:/bin/sh\nroot:x:0:\n"
        );
    }

    #[test]
    #[verifies("identity.passwd.current-user", "identity.group.current-group")]
    fn uid_0_gets_an_entry_when_the_image_has_none_root() {
        uid_0_gets_an_entry_when_the_image_has_none(Mode::Root);
    }

    #[test]
    #[verifies("identity.passwd.current-user", "identity.group.current-group")]
    fn uid_0_gets_an_entry_when_the_image_has_none_rootless() {
        uid_0_gets_an_entry_when_the_image_has_none(Mode::Rootless);
    }

    #[test]
    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "environment.home"
    )]
    fn numeric_uid_missing_from_image_resolves_root() {
        let script = "id -u; id -g; id -un; whoami; echo $HOME; cat /etc/passwd";
        let out = sh(Mode::Root, Users::RootOnly, &["--user", "1234"], script);
        assert_eq!(
            out.ok(),
            "1234\n0\nuser1234\nuser1234\n/\n\
             root:x:0:0:root:/root:/bin/sh\nuser1234:x:1234:0:container user:/:/bin/sh\n"
        );
    }

    #[test]
    #[verifies("identity.user.resolve", "identity.group.current-group")]
    fn numeric_gid_missing_from_image_gets_a_group_entry_root() {
        let script = "id -g; id -gn; cat /etc/group";
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &["--user", "1234:4321"],
            script,
        );
        assert_eq!(out.ok(), "4321\ngroup4321\nroot:x:0:\ngroup4321:x:4321:\n");
    }

    #[test]
    #[verifies("identity.user.resolve")]
    fn image_user_is_used_and_the_option_replaces_it_root() {
        let rootfs = Rootfs::build(Users::App);
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "User": "app", "Cmd": ["id", "-un"] }),
        );
        let out = run(Mode::Root, &rootfs, &["--image-config", &cfg], &[]);
        assert_eq!(out.ok(), "app\n");
        let opts = ["--image-config", &cfg, "--user", "root"];
        assert_eq!(run(Mode::Root, &rootfs, &opts, &[]).ok(), "root\n");
    }

    #[test]
    #[verifies("identity.user.resolve", "identity.user.additional-gids")]
    fn named_user_gets_its_groups_root() {
        let script = "id -un; id -u; id -g; id -G";
        let out = sh(Mode::Root, Users::App, &["--user", "app"], script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..3], ["app", "1000", "1000"]);
        let groups: Vec<&str> = lines[3].split(' ').collect();
        assert_eq!(groups, ["1000", "50"], "primary, then staff: {text}");
    }

    #[test]
    #[verifies("identity.user.resolve", "identity.user.additional-gids")]
    fn explicit_group_replaces_supplementary_groups_root() {
        let out = sh(Mode::Root, Users::App, &["--user", "app:0"], "id -u; id -G");
        assert_eq!(out.ok(), "1000\n0\n");
    }

    #[test]
    #[verifies("identity.user.resolve")]
    fn unknown_user_is_refused_naming_it_root() {
        sh(Mode::Root, Users::RootOnly, &["--user", "ghost"], "true").refused("`ghost`");
    }

    #[test]
    #[verifies("identity.user.resolve", "isolation.namespaces.user")]
    fn unmapped_uid_is_refused_rootless() {
        sh(Mode::Rootless, Users::App, &["--user", "app"], "true").refused("not mapped");
    }

    /// The generated files are the container's: root appends to them and replaces them by
    /// rename (what useradd does), and the image keeps its own.
    fn generated_files_are_the_containers(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        let script = "echo 'alice:x:1000:1000::/home/alice:/bin/sh' >> /etc/passwd && \
                      cp /etc/group /tmp/g && echo 'alice:x:1000:' >> /tmp/g && \
                      mv /tmp/g /etc/group && echo 1.2.3.4 db >> /etc/hosts && \
                      id -un alice && grep -c alice /etc/group && tail -1 /etc/hosts && \
                      stat -c %a /etc/passwd /etc/group";
        let out = run(mode, &rootfs, &[], &["sh", "-c", script]);
        assert_eq!(out.ok(), "alice\n1\n1.2.3.4 db\n644\n644\n");
        assert_eq!(
            std::fs::read_to_string(rootfs.path().join("etc/passwd")).unwrap(),
            "root:x:0:0:root:/root:/bin/sh\n"
        );
    }

    #[test]
    #[verifies(
        "identity.passwd.current-user",
        "identity.group.current-group",
        "filesystems.layer.engine-files"
    )]
    fn generated_files_are_the_containers_root() {
        generated_files_are_the_containers(Mode::Root);
    }

    #[test]
    #[verifies(
        "identity.passwd.current-user",
        "identity.group.current-group",
        "filesystems.layer.engine-files"
    )]
    fn generated_files_are_the_containers_rootless() {
        generated_files_are_the_containers(Mode::Rootless);
    }
}

mod filesystems {
    use super::*;

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

    #[test]
    #[verifies(
        "filesystems.proc",
        "filesystems.dev",
        "filesystems.dev-pts",
        "filesystems.dev-shm",
        "filesystems.dev-mqueue",
        "filesystems.sys",
        "filesystems.cgroup"
    )]
    fn default_mounts_are_present_root() {
        default_mounts_are_present(Mode::Root);
    }

    #[test]
    #[verifies(
        "filesystems.proc",
        "filesystems.dev",
        "filesystems.dev-pts",
        "filesystems.dev-shm",
        "filesystems.dev-mqueue",
        "filesystems.sys",
        "filesystems.cgroup"
    )]
    fn default_mounts_are_present_rootless() {
        default_mounts_are_present(Mode::Rootless);
    }

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

    #[test]
    #[verifies("filesystems.proc", "isolation.namespaces.pid")]
    fn proc_is_the_containers_own_root() {
        proc_is_the_containers_own(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.proc", "isolation.namespaces.pid")]
    fn proc_is_the_containers_own_rootless() {
        proc_is_the_containers_own(Mode::Rootless);
    }

    fn dev_holds_the_default_devices(mode: Mode) {
        let script = "ls /dev; stat -c %a /dev/shm; echo x > /dev/shm/f && cat /dev/shm/f";
        let out = sh(mode, Users::RootOnly, &[], script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        for dev in [
            "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue",
            "fd", "stdin", "stdout", "stderr",
        ] {
            assert!(lines.contains(&dev), "/dev/{dev}: {text}");
        }
        assert!(
            text.ends_with("\n1777\nx\n"),
            "/dev/shm mode 1777 and usable: {text}"
        );
    }

    #[test]
    #[verifies("filesystems.dev", "filesystems.dev-shm")]
    fn dev_holds_the_default_devices_root() {
        dev_holds_the_default_devices(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.dev", "filesystems.dev-shm")]
    fn dev_holds_the_default_devices_rootless() {
        dev_holds_the_default_devices(Mode::Rootless);
    }

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
    #[verifies("filesystems.cgroup")]
    fn cgroup_hierarchies_are_read_only_root() {
        cgroup_hierarchies_are_read_only(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.cgroup")]
    fn cgroup_hierarchies_are_read_only_rootless() {
        cgroup_hierarchies_are_read_only(Mode::Rootless);
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

    #[test]
    #[verifies("filesystems.root", "filesystems.layer.private")]
    fn root_is_the_containers_own_overlay_root() {
        root_is_the_containers_own_overlay(Mode::Root);
    }

    #[test]
    #[verifies(
        "filesystems.root",
        "filesystems.layer.private",
        "filesystems.layer.unprivileged"
    )]
    fn root_is_the_containers_own_overlay_rootless() {
        root_is_the_containers_own_overlay(Mode::Rootless);
    }

    /// With a read-only root, `/tmp` is a writable tmpfs (nosuid, nodev, 1777) and `/` refuses
    /// writes; nothing lands in the image's `/tmp`.
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

    #[test]
    #[verifies("filesystems.tmp")]
    fn tmp_is_a_tmpfs_with_a_read_only_root_root() {
        tmp_is_a_tmpfs_with_a_read_only_root(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.tmp")]
    fn tmp_is_a_tmpfs_with_a_read_only_root_rootless() {
        tmp_is_a_tmpfs_with_a_read_only_root(Mode::Rootless);
    }

    /// Without a read-only root nothing is mounted on `/tmp`: it is the image's own directory.
    fn tmp_is_the_images_own_without_read_only_root(mode: Mode) {
        let text = sh(mode, Users::RootOnly, &[], "cat /proc/self/mountinfo")
            .ok()
            .to_owned();
        assert_eq!(fstype_at(&text, "/tmp"), None, "{text}");
    }

    #[test]
    #[verifies("filesystems.tmp")]
    fn tmp_is_the_images_own_without_read_only_root_root() {
        tmp_is_the_images_own_without_read_only_root(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.tmp")]
    fn tmp_is_the_images_own_without_read_only_root_rootless() {
        tmp_is_the_images_own_without_read_only_root(Mode::Rootless);
    }

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
    #[verifies("filesystems.bind-mounts")]
    fn bind_mounts_are_mounted_read_only_on_request_root() {
        bind_mounts_are_mounted_read_only_on_request(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.bind-mounts")]
    fn bind_mounts_are_mounted_read_only_on_request_rootless() {
        bind_mounts_are_mounted_read_only_on_request(Mode::Rootless);
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

    #[test]
    #[verifies("filesystems.root", "filesystems.layer.targets")]
    fn missing_mount_target_is_provided_without_touching_the_rootfs_root() {
        missing_mount_target_is_provided_without_touching_the_rootfs(Mode::Root);
    }

    #[test]
    #[verifies("filesystems.root", "filesystems.layer.targets")]
    fn missing_mount_target_is_provided_without_touching_the_rootfs_rootless() {
        missing_mount_target_is_provided_without_touching_the_rootfs(Mode::Rootless);
    }
}

mod environment {
    use super::*;

    fn path_default_when_image_has_no_env(mode: Mode) {
        let out = sh(mode, Users::RootOnly, &[], "echo \"$PATH\"");
        assert_eq!(
            out.ok(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        );
    }

    #[test]
    #[verifies("environment.path-default")]
    fn path_default_when_image_has_no_env_root() {
        path_default_when_image_has_no_env(Mode::Root);
    }

    #[test]
    #[verifies("environment.path-default")]
    fn path_default_when_image_has_no_env_rootless() {
        path_default_when_image_has_no_env(Mode::Rootless);
    }

    fn image_env_is_preserved(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        let cfg = image_config(
            &rootfs,
            serde_json::json!({
                "Env": [
                    "PATH=/bin",
                    "EMPTY=",
                    "GREETING=hello world",
                    "EQ=a=b",
                    "CNB_PLATFORM_API=0.12",
                    "HOME=/srv",
                ],
                "Cmd": ["env"],
            }),
        );
        let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
        let lines: Vec<&str> = out.ok().lines().collect();
        for want in [
            "PATH=/bin",
            "EMPTY=",
            "GREETING=hello world",
            "EQ=a=b",
            "CNB_PLATFORM_API=0.12",
            "HOME=/srv",
        ] {
            assert!(lines.contains(&want), "{want} in {lines:?}");
        }
        // The image's PATH and HOME win over the defaults.
        assert_eq!(lines.iter().filter(|l| l.starts_with("PATH=")).count(), 1);
        assert_eq!(lines.iter().filter(|l| l.starts_with("HOME=")).count(), 1);
    }

    #[test]
    #[verifies(
        "environment.image-env",
        "environment.path-default",
        "environment.home"
    )]
    fn image_env_is_preserved_root() {
        image_env_is_preserved(Mode::Root);
    }

    #[test]
    #[verifies(
        "environment.image-env",
        "environment.path-default",
        "environment.home"
    )]
    fn image_env_is_preserved_rootless() {
        image_env_is_preserved(Mode::Rootless);
    }

    fn home_and_hostname_defaults(mode: Mode) {
        let opts = ["--id", "0123456789abcdef"];
        let script = "echo \"$HOME $HOSTNAME ${TERM:-noterm}\"";
        let out = sh(mode, Users::RootOnly, &opts, script);
        assert_eq!(out.ok(), "/root 0123456789ab noterm\n");
    }

    #[test]
    #[verifies("environment.home", "environment.hostname", "environment.term")]
    fn home_and_hostname_defaults_root() {
        home_and_hostname_defaults(Mode::Root);
    }

    #[test]
    #[verifies("environment.home", "environment.hostname", "environment.term")]
    fn home_and_hostname_defaults_rootless() {
        home_and_hostname_defaults(Mode::Rootless);
    }

    #[test]
    #[verifies(
        "environment.override",
        "environment.home",
        "environment.hostname",
        "environment.term"
    )]
    fn overrides_hostname_and_home_root() {
        let rootfs = Rootfs::build(Users::App);
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "Env": ["GREETING=hello", "KEEP=1"] }),
        );
        let out = run(
            Mode::Root,
            &rootfs,
            &[
                "--image-config",
                &cfg,
                "--user",
                "app",
                "--hostname",
                "web",
                "--env",
                "GREETING=bye",
                "--env",
                "HOSTNAME=from-caller",
                "--env",
                "NEW=",
            ],
            &[
                "sh",
                "-c",
                "echo $GREETING $KEEP $HOME $HOSTNAME $(hostname) ${TERM:-noterm} NEW=${NEW-unset}",
            ],
        );
        assert_eq!(out.ok(), "bye 1 /home/app from-caller web noterm NEW=\n");
    }
}

mod process {
    use super::*;

    fn exit_status_propagates(mode: Mode) {
        let out = sh(mode, Users::RootOnly, &[], "exit 7");
        assert_eq!(out.code, 7, "{out:#?}");
    }

    #[test]
    fn exit_status_propagates_root() {
        exit_status_propagates(Mode::Root);
    }

    #[test]
    fn exit_status_propagates_rootless() {
        exit_status_propagates(Mode::Rootless);
    }

    fn args_are_entrypoint_plus_cmd_and_override_replaces_cmd(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "Entrypoint": ["echo", "entry"], "Cmd": ["cmd"] }),
        );
        let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
        assert_eq!(out.ok(), "entry cmd\n");
        let out = run(mode, &rootfs, &["--image-config", &cfg], &["over"]);
        assert_eq!(out.ok(), "entry over\n");
    }

    #[test]
    #[verifies("process.args")]
    fn args_are_entrypoint_plus_cmd_and_override_replaces_cmd_root() {
        args_are_entrypoint_plus_cmd_and_override_replaces_cmd(Mode::Root);
    }

    #[test]
    #[verifies("process.args")]
    fn args_are_entrypoint_plus_cmd_and_override_replaces_cmd_rootless() {
        args_are_entrypoint_plus_cmd_and_override_replaces_cmd(Mode::Rootless);
    }

    #[test]
    #[verifies("process.args")]
    fn no_command_is_refused_root() {
        let rootfs = Rootfs::build(Users::RootOnly);
        run(Mode::Root, &rootfs, &[], &[]).refused("no command");
    }

    fn cwd_is_working_dir(mode: Mode) {
        let rootfs = Rootfs::build(Users::App);
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "WorkingDir": "/home/app", "Cmd": ["pwd"] }),
        );
        let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
        assert_eq!(out.ok(), "/home/app\n");
        // No WorkingDir: `/`.
        let out = run(mode, &rootfs, &[], &["pwd"]);
        assert_eq!(out.ok(), "/\n");
    }

    #[test]
    #[verifies("process.cwd")]
    fn cwd_is_working_dir_root() {
        cwd_is_working_dir(Mode::Root);
    }

    #[test]
    #[verifies("process.cwd")]
    fn cwd_is_working_dir_rootless() {
        cwd_is_working_dir(Mode::Rootless);
    }

    fn missing_working_dir_is_provided_outside_the_image(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        // Measured: runc 1.1 as root creates a missing cwd inside the rootfs; Docker creates it
        // in the container's layer. The engine provides it in the skeleton root.
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "WorkingDir": "/srv/app", "Cmd": ["sh", "-c", "pwd; ls -A"] }),
        );
        let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
        assert_eq!(out.ok(), "/srv/app\n", "an empty directory");
        assert!(!rootfs.path().join("srv").exists(), "created in the image");
        // Inside a kernel filesystem it is refused (CVE-2024-21626's /proc/self/fd/N).
        let cfg = image_config(
            &rootfs,
            serde_json::json!({ "WorkingDir": "/proc/self/fd/7", "Cmd": ["pwd"] }),
        );
        run(mode, &rootfs, &["--image-config", &cfg], &[]).refused("kernel filesystem");
    }

    #[test]
    #[verifies("process.cwd", "filesystems.root", "filesystems.layer.targets")]
    fn missing_working_dir_is_provided_outside_the_image_root() {
        missing_working_dir_is_provided_outside_the_image(Mode::Root);
    }

    #[test]
    #[verifies("process.cwd", "filesystems.root", "filesystems.layer.targets")]
    fn missing_working_dir_is_provided_outside_the_image_rootless() {
        missing_working_dir_is_provided_outside_the_image(Mode::Rootless);
    }

    fn tty_gets_a_terminal_and_term(mode: Mode) {
        require_runc();
        let rootfs = Rootfs::build(Users::RootOnly);
        // `script` (util-linux) gives the engine a pseudo-terminal on stdin, as a user's shell
        // would.
        if !Path::new("/usr/bin/script").exists() {
            locald_testkit::missing("script (apt-get install -y bsdutils)");
        }
        let inner = format!(
            "{} run --tty --rootfs {} -- sh -c 'tty; echo TERM=$TERM; exit 4'",
            engine_binary(mode, &rootfs),
            rootfs.path().display()
        );
        let out = with_init(mode, command_as(mode, "/usr/bin/script"))
            .args(["-qec", &inner, "/dev/null"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{out:?}");
        assert!(text.contains("/dev/pts/0\r\n"), "{text:?}");
        assert!(text.contains("TERM=xterm\r\n"), "{text:?}");
    }

    #[test]
    #[verifies("process.terminal", "environment.term", "filesystems.dev-pts")]
    fn tty_gets_a_terminal_and_term_root() {
        tty_gets_a_terminal_and_term(Mode::Root);
    }

    #[test]
    #[verifies("process.terminal", "environment.term", "filesystems.dev-pts")]
    fn tty_gets_a_terminal_and_term_rootless() {
        tty_gets_a_terminal_and_term(Mode::Rootless);
    }

    fn no_terminal_unless_asked(mode: Mode) {
        let script = "tty || true; test -t 0 || echo stdin-not-a-tty; echo TERM=${TERM-unset}";
        let out = sh(mode, Users::RootOnly, &[], script);
        assert_eq!(out.ok(), "not a tty\nstdin-not-a-tty\nTERM=unset\n");
    }

    #[test]
    #[verifies("process.terminal", "environment.term")]
    fn no_terminal_unless_asked_root() {
        no_terminal_unless_asked(Mode::Root);
    }

    #[test]
    #[verifies("process.terminal", "environment.term")]
    fn no_terminal_unless_asked_rootless() {
        no_terminal_unless_asked(Mode::Rootless);
    }

    #[test]
    #[verifies("process.terminal")]
    fn tty_without_a_terminal_is_refused_root() {
        sh(Mode::Root, Users::RootOnly, &["--tty"], "true").refused("needs a terminal");
    }

    /// Soft 1024 (or the hard limit when lower), hard the engine's own: the engine inherits
    /// this process's limits (through setpriv for the test user too).
    fn nofile_limit(mode: Mode) {
        use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
        let out = sh(mode, Users::RootOnly, &[], "ulimit -n; ulimit -Hn");
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let show = |n: u64| {
            if n == RLIM_INFINITY {
                "unlimited".to_owned()
            } else {
                n.to_string()
            }
        };
        assert_eq!(
            out.ok(),
            format!("{}\n{}\n", show(hard.min(1024)), show(hard))
        );
    }

    #[test]
    #[verifies("process.rlimits.nofile")]
    fn nofile_limit_root() {
        nofile_limit(Mode::Root);
    }

    #[test]
    #[verifies("process.rlimits.nofile")]
    fn nofile_limit_rootless() {
        nofile_limit(Mode::Rootless);
    }

    /// The engine itself runs under the restrictive umask 0077; the workload still sees 0022
    /// (from the bundle, not inherited) and creates files accordingly.
    fn umask_is_0022(mode: Mode) {
        use std::os::unix::process::CommandExt;
        require_runc();
        let rootfs = Rootfs::build(Users::RootOnly);
        let root = rootfs.path().to_str().unwrap().to_owned();
        let mut cmd = engine_command(mode, &rootfs);
        // SAFETY: umask(2) is async-signal-safe and touches only the child's own state.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
                Ok(())
            });
        }
        let script = "umask; grep '^Umask:' /proc/self/status; \
                      rm -f /tmp/umask-probe; touch /tmp/umask-probe; stat -c %a /tmp/umask-probe";
        let out = cmd
            .args(["run", "--rootfs", &root, "--", "sh", "-c", script])
            .output()
            .expect("spawn locald-engine");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:#?}");
        assert_eq!(stdout, "0022\nUmask:\t0022\n644\n", "{out:#?}");
    }

    #[test]
    #[verifies("process.umask")]
    fn umask_is_0022_root() {
        umask_is_0022(Mode::Root);
    }

    #[test]
    #[verifies("process.umask")]
    fn umask_is_0022_rootless() {
        umask_is_0022(Mode::Rootless);
    }
}

mod security {
    use super::*;

    fn capabilities_and_no_new_privileges(mode: Mode) {
        let script = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status";
        let out = sh(mode, Users::RootOnly, &[], script);
        // Podman's eleven: CHOWN (0), DAC_OVERRIDE (1), FOWNER (3), FSETID (4), KILL (5),
        // SETGID (6), SETUID (7), SETPCAP (8), NET_BIND_SERVICE (10), SYS_CHROOT (18),
        // SETFCAP (31).
        assert_eq!(
            out.ok(),
            "CapInh:\t0000000000000000\nCapPrm:\t00000000800405fb\n\
             CapEff:\t00000000800405fb\nCapBnd:\t00000000800405fb\n\
             CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
        );
    }

    #[test]
    #[verifies("security.capabilities.default", "security.no-new-privileges")]
    fn capabilities_and_no_new_privileges_root() {
        capabilities_and_no_new_privileges(Mode::Root);
    }

    #[test]
    #[verifies("security.capabilities.default", "security.no-new-privileges")]
    fn capabilities_and_no_new_privileges_rootless() {
        capabilities_and_no_new_privileges(Mode::Rootless);
    }

    #[test]
    #[verifies("security.capabilities.default")]
    fn a_non_root_user_gains_no_capabilities_root() {
        let script = "grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status";
        let out = sh(Mode::Root, Users::RootOnly, &["--user", "1234"], script);
        assert_eq!(
            out.ok(),
            "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"
        );
    }

    fn masked_and_readonly_paths(mode: Mode) {
        let script = "wc -c < /proc/keys; ls /sys/firmware | wc -l; cat /proc/self/mountinfo";
        let out = sh(mode, Users::RootOnly, &[], script);
        let text = out.ok();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("0"), "/proc/keys masked: {text}");
        assert_eq!(lines.next(), Some("0"), "/sys/firmware masked: {text}");
        // runc skips paths the kernel lacks (this machine has no /proc/sysrq-trigger).
        let readonly = [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ];
        for p in readonly.into_iter().filter(|p| Path::new(p).exists()) {
            let opts = mount_options(text, p).unwrap_or_else(|| panic!("{p} mounted: {text}"));
            assert!(opts.split(',').any(|o| o == "ro"), "{p} read-only: {opts}");
        }
    }

    #[test]
    #[verifies("security.masked-paths", "security.readonly-paths")]
    fn masked_and_readonly_paths_root() {
        masked_and_readonly_paths(Mode::Root);
    }

    #[test]
    #[verifies("security.masked-paths", "security.readonly-paths")]
    fn masked_and_readonly_paths_rootless() {
        masked_and_readonly_paths(Mode::Rootless);
    }

    #[test]
    #[verifies("security.readonly-paths")]
    fn proc_sys_cannot_be_written_root() {
        let script = "{ echo x > /proc/sys/kernel/domainname; } 2>&1 || true";
        let out = sh(Mode::Root, Users::RootOnly, &[], script);
        assert!(out.ok().contains("Read-only file system"), "{out:#?}");
    }

    #[test]
    #[verifies("security.devices.deny-all")]
    fn device_cgroup_denies_by_default_root() {
        // cgroup v1 (this project's machines): the container's own devices cgroup is visible.
        let list = "/sys/fs/cgroup/devices/devices.list";
        let script = format!("test -e {list} && cat {list} || echo no-devices-cgroup");
        let out = sh(Mode::Root, Users::RootOnly, &[], &script);
        let text = out.ok();
        if text.trim() == "no-devices-cgroup" {
            locald_testkit::missing("a cgroup v1 devices hierarchy");
        }
        assert!(!text.contains("a *:* rwm"), "allow-all device rule: {text}");
        assert!(text.contains("c 1:3 rwm"), "/dev/null allowed: {text}");
    }

    #[test]
    #[verifies("security.devices.deny-all")]
    fn a_host_device_outside_the_allow_list_cannot_be_opened_root() {
        // /dev/loop-control (10:237) opens without any capability, and runc does not allow it:
        // bound into the container, opening it must fail with EPERM from the device cgroup.
        let device = Path::new("/dev/loop-control");
        if !device.exists() {
            locald_testkit::missing("/dev/loop-control (modprobe loop)");
        }
        let rootfs = Rootfs::build(Users::RootOnly);
        std::fs::write(rootfs.path().join("device"), "").unwrap();
        let bind = format!("{}:/device", device.display());
        let script = "(exec 3</dev/null) && echo null-ok; (exec 3</device) 2>&1 || echo denied";
        let out = run(
            Mode::Root,
            &rootfs,
            &["--bind", &bind],
            &["sh", "-c", script],
        );
        let text = out.ok();
        assert!(text.starts_with("null-ok\n"), "{text}");
        assert!(text.contains("Operation not permitted"), "{text}");
        assert!(text.ends_with("denied\n"), "{text}");
    }
}

mod isolation {
    use super::*;

    const NAMESPACES: &[&str] = &["pid", "ipc", "uts", "mnt", "net", "user"];

    fn host_namespace(ns: &str) -> String {
        std::fs::read_link(format!("/proc/self/ns/{ns}"))
            .unwrap()
            .display()
            .to_string()
    }

    fn namespaces_are_private_except_network(mode: Mode) {
        let script = format!(
            "echo $$; test -e /proc/{}/status && echo host-visible || echo host-hidden; \
             for n in pid ipc uts mnt net user; do readlink /proc/self/ns/$n; done",
            std::process::id()
        );
        let out = sh(mode, Users::RootOnly, &["--no-init"], &script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "1", "PID 1 in a private pid namespace");
        assert_eq!(lines[1], "host-hidden", "no host process is visible");
        for (ns, inside) in NAMESPACES.iter().zip(&lines[2..]) {
            let shared = match *ns {
                "net" => true,
                "user" => mode == Mode::Root,
                _ => false,
            };
            assert_eq!(*inside == host_namespace(ns), shared, "{ns}: {inside}");
        }
    }

    #[test]
    #[verifies(
        "isolation.namespaces.pid",
        "isolation.namespaces.ipc",
        "isolation.namespaces.uts",
        "isolation.namespaces.mount",
        "isolation.namespaces.network",
        "isolation.namespaces.user"
    )]
    fn namespaces_are_private_except_network_root() {
        namespaces_are_private_except_network(Mode::Root);
    }

    #[test]
    #[verifies(
        "isolation.namespaces.pid",
        "isolation.namespaces.ipc",
        "isolation.namespaces.uts",
        "isolation.namespaces.mount",
        "isolation.namespaces.network",
        "isolation.namespaces.user"
    )]
    fn namespaces_are_private_except_network_rootless() {
        namespaces_are_private_except_network(Mode::Rootless);
    }

    #[test]
    #[verifies("isolation.namespaces.uts", "names.hostname.default")]
    fn the_hostname_is_the_containers_not_the_hosts_root() {
        let host = nix::unistd::gethostname().unwrap();
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &["--hostname", "inside"],
            "hostname",
        );
        assert_eq!(out.ok(), "inside\n");
        assert_eq!(nix::unistd::gethostname().unwrap(), host);
    }

    #[test]
    #[verifies("isolation.namespaces.network")]
    fn private_network_has_its_own_namespace_root() {
        let script = "readlink /proc/self/ns/net; ls /sys/class/net";
        let out = sh(Mode::Root, Users::RootOnly, &["--network", "none"], script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_ne!(lines[0], host_namespace("net"));
        assert_eq!(lines[1..], ["lo"]);
    }

    fn single_mapping(mode: Mode) {
        let out = sh(
            mode,
            Users::RootOnly,
            &[],
            "cat /proc/self/uid_map /proc/self/gid_map",
        );
        let maps: Vec<Vec<String>> = out
            .ok()
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect();
        match mode {
            // No user namespace: the initial namespace's identity mapping.
            Mode::Root => assert_eq!(maps[0], ["0", "0", "4294967295"]),
            Mode::Rootless => {
                let (uid, gid) = rootless_host_ids();
                assert_eq!(
                    maps,
                    [["0", &uid.to_string(), "1"], ["0", &gid.to_string(), "1"]]
                );
            }
        }
    }

    #[test]
    #[verifies("isolation.namespaces.user")]
    fn user_namespace_has_the_single_mapping_rootless() {
        single_mapping(Mode::Rootless);
    }

    #[test]
    #[verifies("isolation.namespaces.user")]
    fn no_user_namespace_as_root() {
        single_mapping(Mode::Root);
    }
}

mod names {
    use super::*;

    fn hostname_is_the_first_12_characters_of_the_id(mode: Mode) {
        let opts = ["--id", "abcdef0123456789-e2e"];
        let script = "hostname; cat /proc/sys/kernel/hostname; echo $HOSTNAME";
        let out = sh(mode, Users::RootOnly, &opts, script);
        assert_eq!(out.ok(), "abcdef012345\nabcdef012345\nabcdef012345\n");
    }

    #[test]
    #[verifies("names.hostname.default", "environment.hostname")]
    fn hostname_is_the_first_12_characters_of_the_id_root() {
        hostname_is_the_first_12_characters_of_the_id(Mode::Root);
    }

    #[test]
    #[verifies("names.hostname.default", "environment.hostname")]
    fn hostname_is_the_first_12_characters_of_the_id_rootless() {
        hostname_is_the_first_12_characters_of_the_id(Mode::Rootless);
    }

    #[test]
    #[verifies("names.hostname.default")]
    fn id_characters_a_hostname_cannot_hold_are_replaced_root() {
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &["--id", "e2e_test+x"],
            "hostname",
        );
        assert_eq!(out.ok(), "e2e-test-x\n");
    }

    #[test]
    #[verifies("names.hostname.default")]
    fn hostname_option_wins_and_is_validated_root() {
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &["--hostname", "web-1"],
            "hostname",
        );
        assert_eq!(out.ok(), "web-1\n");
        sh(
            Mode::Root,
            Users::RootOnly,
            &["--hostname", "bad name"],
            "true",
        )
        .refused("not a valid hostname");
    }
}

mod signals {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    /// On a failed assertion, make sure no container outlives the test.
    struct Cleanup {
        engine: std::process::Child,
        runc_root: std::path::PathBuf,
        id: String,
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = self.engine.kill();
                let _ = Command::new("runc")
                    .arg("--root")
                    .arg(&self.runc_root)
                    .args(["delete", "--force", &self.id])
                    .status();
            }
        }
    }

    fn sigterm_to_the_engine_reaches_the_workload(mode: Mode) {
        require_runc();
        let rootfs = Rootfs::build(Users::RootOnly);
        let mut cmd = engine_command(mode, &rootfs);
        let id = format!("e2e-signals-{}-{mode:?}", std::process::id()).to_lowercase();
        let runc_root = default_runtime_root(mode);
        own_rootfs(mode, &rootfs);
        // sh as PID 1 receives SIGTERM only because it installs a handler (trap).
        let script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 1; done";
        let mut child = cmd
            .args(["run", "--id", &id, "--rootfs"])
            .arg(rootfs.path())
            .args(["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn engine");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        // Lines arrive through a channel so a broken forwarder fails the test by timeout
        // instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        });
        let mut guard = Cleanup {
            engine: child,
            runc_root,
            id,
        };
        let next = || {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("output in time")
        };
        assert_eq!(next(), "ready");
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        assert_eq!(next(), "got-term");
        let status = guard.engine.wait().unwrap();
        assert_eq!(status.code(), Some(3), "{status:?}");
    }

    #[test]
    fn sigterm_to_the_engine_reaches_the_workload_root() {
        sigterm_to_the_engine_reaches_the_workload(Mode::Root);
    }

    #[test]
    fn sigterm_to_the_engine_reaches_the_workload_rootless() {
        sigterm_to_the_engine_reaches_the_workload(Mode::Rootless);
    }
}

mod rootfs {
    use super::*;
    use locald_testkit::tree_manifest;

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

    #[test]
    #[verifies(
        "filesystems.root",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    fn rootfs_is_byte_identical_after_runs_root() {
        rootfs_is_byte_identical_after_runs(Mode::Root);
    }

    #[test]
    #[verifies(
        "filesystems.root",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    fn rootfs_is_byte_identical_after_runs_rootless() {
        rootfs_is_byte_identical_after_runs(Mode::Rootless);
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

mod cli {
    use super::*;
    use locald_engine::ids;

    #[test]
    fn explain_lists_every_entry_with_a_known_requirement_id() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let root = rootfs.path().to_str().unwrap();
        let out = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args([
                "explain", "--rootfs", root, "--id", "c1", "--json", "--", "sh",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = v["entries"].as_array().unwrap();
        assert!(!entries.is_empty());
        for e in entries {
            let id = e["requirement"].as_str().unwrap();
            assert!(ids::ALL.contains(&id), "{id}");
        }
        let text = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args(["explain", "--rootfs", root, "--id", "c1", "--", "sh"])
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.contains("filesystems.proc"), "{text}");
        assert!(text.contains("process.args"), "{text}");
        for id in [
            ids::STOPPING_INIT_DEFAULT,
            ids::STOPPING_INIT_READONLY,
            ids::STOPPING_SIGNAL,
        ] {
            assert!(text.contains(id), "{id}: {text}");
        }
    }

    #[test]
    fn missing_runtime_is_a_clear_error() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let out = Command::new(BIN)
            .args(["run", "--runtime", "/nonexistent/runc", "--rootfs"])
            .arg(rootfs.path())
            .args(["--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("/nonexistent/runc") && err.contains("not found"),
            "{err}"
        );
    }

    #[test]
    fn prepare_writes_a_bundle_and_prints_its_path() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let bundle = rootfs.base().join("bundle");
        let out = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args(["prepare", "--rootfs"])
            .arg(rootfs.path())
            .arg("--bundle")
            .arg(&bundle)
            .args(["--id", "c1", "--", "sh"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            bundle.to_str().unwrap()
        );
        for f in [
            "config.json",
            "locald-bundle.json",
            "layer/upper/etc/passwd",
        ] {
            assert!(bundle.join(f).is_file(), "{f}");
        }
    }
}

mod stopping {
    use super::*;
    use locald_engine::{RunOptions, Runtime, prepare, stopping::DEFAULT_STOP_TIMEOUT};
    use nix::sys::signal::Signal;
    use std::io::{BufRead, BufReader};
    use std::process::{ExitStatus, Stdio};
    use std::sync::mpsc::Receiver;
    use std::time::{Duration, Instant};

    /// Long enough to detect a hang, never a speed assertion: a container that ignored the
    /// stop signal ends after the 10 s grace period with 137, which the tests tell apart by
    /// the status, not by the time.
    const HANG: Duration = Duration::from_secs(60);

    /// runc's `--root` the engine uses in `mode`.
    fn runc_root(mode: Mode, _id: &str) -> std::path::PathBuf {
        default_runtime_root(mode)
    }

    /// A `locald-engine run` in the background, its stdout read line by line; dropped while
    /// still running, it is killed and its container deleted.
    struct Background {
        engine: std::process::Child,
        lines: Receiver<String>,
        runc_root: std::path::PathBuf,
        id: String,
        done: bool,
    }

    impl Background {
        fn start(mode: Mode, rootfs: &Rootfs, tag: &str, opts: &[&str], cmd: &[&str]) -> Self {
            require_runc();
            let id = format!("e2e-{tag}-{}-{mode:?}", std::process::id()).to_lowercase();
            let mut engine = engine_command(mode, rootfs)
                .args(["run", "--id", &id, "--rootfs"])
                .arg(rootfs.path())
                .args(opts)
                .arg("--")
                .args(cmd)
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn locald-engine");
            let (tx, rx) = std::sync::mpsc::channel();
            let stdout = engine.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let _ = tx.send(line.unwrap_or_default());
                }
            });
            Background {
                engine,
                lines: rx,
                runc_root: runc_root(mode, &id),
                id,
                done: false,
            }
        }

        /// The next line of output; a hang fails the test.
        fn next(&self) -> String {
            self.lines.recv_timeout(HANG).expect("output in time")
        }

        fn signal(&self, sig: Signal) {
            let pid = nix::unistd::Pid::from_raw(self.engine.id() as i32);
            nix::sys::signal::kill(pid, sig).unwrap();
        }

        /// Wait for the engine to exit; a hang fails the test.
        fn wait(&mut self) -> ExitStatus {
            let deadline = Instant::now() + HANG;
            while Instant::now() < deadline {
                if let Some(st) = self.engine.try_wait().unwrap() {
                    self.done = true;
                    return st;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("locald-engine run did not exit within {HANG:?}");
        }
    }

    impl Drop for Background {
        fn drop(&mut self) {
            if !self.done {
                let _ = self.engine.kill();
                let _ = self.engine.wait();
                let _ = Command::new("runc")
                    .arg("--root")
                    .arg(&self.runc_root)
                    .args(["delete", "--force", &self.id])
                    .status();
            }
        }
    }

    fn sigterm_stops_sleep_under_the_init(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        // `sleep` ignores SIGTERM as PID 1; as the init's child it dies of it.
        let script = "echo ready; exec sleep 1000";
        let mut bg = Background::start(mode, &rootfs, "sleep", &[], &["sh", "-c", script]);
        assert_eq!(bg.next(), "ready");
        bg.signal(Signal::SIGTERM);
        let st = bg.wait();
        // 137 would mean SIGKILL at the end of the grace period: the SIGTERM did not work.
        assert_eq!(st.code(), Some(143), "{st:?}");
    }

    #[test]
    #[verifies("stopping.init.default", "stopping.signal")]
    fn sigterm_stops_sleep_under_the_init_root() {
        sigterm_stops_sleep_under_the_init(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.default", "stopping.signal")]
    fn sigterm_stops_sleep_under_the_init_rootless() {
        sigterm_stops_sleep_under_the_init(Mode::Rootless);
    }

    fn sigkill_follows_the_grace_period(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        // Without an init, `sleep` is PID 1 and never receives SIGTERM.
        let script = "echo ready; exec sleep 1000";
        let opts = ["--no-init", "--stop-timeout", "1"];
        let mut bg = Background::start(mode, &rootfs, "grace", &opts, &["sh", "-c", script]);
        assert_eq!(bg.next(), "ready");
        bg.signal(Signal::SIGTERM);
        let st = bg.wait();
        assert_eq!(st.code(), Some(137), "{st:?}");
    }

    #[test]
    #[verifies("stopping.timeout")]
    fn sigkill_follows_the_grace_period_root() {
        sigkill_follows_the_grace_period(Mode::Root);
    }

    #[test]
    #[verifies("stopping.timeout")]
    fn sigkill_follows_the_grace_period_rootless() {
        sigkill_follows_the_grace_period(Mode::Rootless);
    }

    fn image_stop_signal_is_sent_first(mode: Mode) {
        let rootfs = Rootfs::build(Users::RootOnly);
        let cfg = image_config(&rootfs, serde_json::json!({ "StopSignal": "SIGUSR1" }));
        let script = "trap 'echo got-usr1; exit 5' USR1; trap 'echo got-term; exit 6' TERM; \
                      echo ready; while :; do sleep 1; done";
        let opts = ["--image-config", cfg.as_str()];
        let mut bg = Background::start(mode, &rootfs, "usr1", &opts, &["sh", "-c", script]);
        assert_eq!(bg.next(), "ready");
        bg.signal(Signal::SIGTERM);
        assert_eq!(bg.next(), "got-usr1");
        let st = bg.wait();
        assert_eq!(st.code(), Some(5), "{st:?}");
    }

    #[test]
    #[verifies("stopping.signal")]
    fn image_stop_signal_is_sent_first_root() {
        image_stop_signal_is_sent_first(Mode::Root);
    }

    #[test]
    #[verifies("stopping.signal")]
    fn image_stop_signal_is_sent_first_rootless() {
        image_stop_signal_is_sent_first(Mode::Rootless);
    }

    fn statuses_pass_through_the_init(mode: Mode) {
        let out = sh(mode, Users::RootOnly, &[], "kill -9 $$");
        assert_eq!(out.code, 137, "{out:#?}");
        let out = sh(mode, Users::RootOnly, &[], "exit 7");
        assert_eq!(out.code, 7, "{out:#?}");
        let rootfs = Rootfs::build(Users::RootOnly);
        let out = run(mode, &rootfs, &[], &["no-such-command"]);
        assert_eq!(out.code, 127, "{out:#?}");
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn statuses_pass_through_the_init_root() {
        statuses_pass_through_the_init(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn statuses_pass_through_the_init_rootless() {
        statuses_pass_through_the_init(Mode::Rootless);
    }

    fn orphans_are_reaped(mode: Mode) {
        // The inner sh leaves `sleep 1` orphaned; it is reparented to PID 1, the init, which
        // must reap it once it exits, while the container still runs.
        let script = "sh -c 'sleep 1 & echo $! > /dev/shm/orphan'; o=$(cat /dev/shm/orphan); \
                      echo ppid=$(cut -d' ' -f4 /proc/$o/stat); sleep 4; \
                      if test -e /proc/$o; then echo state=$(cut -d' ' -f3 /proc/$o/stat); \
                      else echo reaped; fi; z=0; \
                      for f in /proc/[0-9]*/stat; do \
                        test \"$(cut -d' ' -f3 $f 2>/dev/null)\" = Z && z=$((z+1)); \
                      done; echo zombies=$z";
        let out = sh(mode, Users::RootOnly, &[], script);
        assert_eq!(out.ok(), "ppid=1\nreaped\nzombies=0\n");
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn orphans_are_reaped_root() {
        orphans_are_reaped(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn orphans_are_reaped_rootless() {
        orphans_are_reaped(Mode::Rootless);
    }

    fn pid_1_is_the_init(mode: Mode) {
        let script = "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$";
        let out = sh(mode, Users::RootOnly, &[], script);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("/dev/init --parent-death 15 -- sh -c {script} "),
            "{text}"
        );
        assert_ne!(lines[1], "1", "the workload is not PID 1: {text}");
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn pid_1_is_the_init_root() {
        pid_1_is_the_init(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn pid_1_is_the_init_rootless() {
        pid_1_is_the_init(Mode::Rootless);
    }

    fn no_init_makes_the_workload_pid_1(mode: Mode) {
        let script = "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; \
                      test -e /dev/init && echo init-present || echo no-init";
        let out = sh(mode, Users::RootOnly, &["--no-init"], script);
        assert_eq!(out.ok(), format!("1\nsh -c {script} \nno-init\n"));
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn no_init_makes_the_workload_pid_1_root() {
        no_init_makes_the_workload_pid_1(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn no_init_makes_the_workload_pid_1_rootless() {
        no_init_makes_the_workload_pid_1(Mode::Rootless);
    }

    fn init_is_read_only(mode: Mode) {
        let script = "cat /proc/self/mountinfo; \
                      (echo x >> /dev/init) 2>/dev/null && echo WROTE; \
                      (: > /dev/init) 2>/dev/null && echo TRUNCATED; \
                      rm -f /dev/init 2>/dev/null; test -e /dev/init && echo still-there";
        let out = sh(mode, Users::RootOnly, &[], script);
        let text = out.ok();
        assert!(
            !text.contains("WROTE") && !text.contains("TRUNCATED"),
            "{text}"
        );
        assert!(text.ends_with("still-there\n"), "{text}");
        let info = mountinfo(text);
        let init = mount_at(&info, "/dev/init").unwrap_or_else(|| panic!("/dev/init:\n{text}"));
        for o in ["ro", "nosuid", "nodev"] {
            assert!(init.has(o), "/dev/init {o}: {}", init.options);
        }
    }

    #[test]
    #[verifies("stopping.init.readonly")]
    fn init_is_read_only_root() {
        init_is_read_only(Mode::Root);
    }

    #[test]
    #[verifies("stopping.init.readonly")]
    fn init_is_read_only_rootless() {
        init_is_read_only(Mode::Rootless);
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn a_missing_or_dynamic_init_is_refused_naming_it() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let root = rootfs.path().to_str().unwrap();
        // No init found at all is tests/cli.rs' first-run test (the build directory has the
        // static one).
        let out = Command::new(BIN)
            .args(["run", "--init-path", "/nonexistent/init", "--rootfs", root])
            .args(["--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("/nonexistent/init") && err.contains("--init-path"),
            "{err}"
        );
        // The engine itself is dynamically linked.
        let out = Command::new(BIN)
            .args(["run", "--init-path", BIN, "--rootfs", root, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("dynamically linked"), "{err}");
    }

    #[test]
    #[verifies("stopping.signal", "stopping.timeout", "stopping.init.default")]
    fn running_stop_ends_the_container_root() {
        require_root();
        require_runc();
        let rootfs = Rootfs::build(Users::RootOnly);
        let image = oci_spec::image::ImageConfiguration::default();
        let runtime = Runtime::find().unwrap();
        let args = Some(vec!["sleep".to_string(), "1000".to_string()]);
        let pid = std::process::id();

        let with_init = RunOptions {
            args: args.clone(),
            init: Some(static_init()),
            ..RunOptions::default()
        };
        let state = rootfs.base().join("state-init");
        let id = format!("e2e-stop-init-{pid}");
        let bundle = prepare(&image, rootfs.path(), &with_init, &state, &id).unwrap();
        let stopped = runtime.spawn(&bundle).unwrap().stop(HANG).unwrap();
        bundle.remove().unwrap();
        assert_eq!((stopped.code, stopped.killed), (143, false), "{stopped:?}");

        let without = RunOptions {
            args,
            ..RunOptions::default()
        };
        let state = rootfs.base().join("state-bare");
        let id = format!("e2e-stop-bare-{pid}");
        let bundle = prepare(&image, rootfs.path(), &without, &state, &id).unwrap();
        let stopped = runtime
            .spawn(&bundle)
            .unwrap()
            .stop(Duration::from_secs(1))
            .unwrap();
        bundle.remove().unwrap();
        assert_eq!((stopped.code, stopped.killed), (137, true), "{stopped:?}");
        assert_eq!(DEFAULT_STOP_TIMEOUT, Duration::from_secs(10));
    }
}

/// A real Debian minbase rootfs (`debootstrap --variant=minbase bookworm`, built once into
/// `target/debian-rootfs`): what the busybox tree cannot show — glibc's NSS (`getent`), bash as
/// root's shell, coreutils' `id` — seen through the engine's generated files and mounts.
mod debian {
    use super::*;

    fn a_debian_workload_sees_a_sane_container(mode: Mode) {
        require_runc();
        let debian = debian_for(mode);
        // The busybox rootfs is only the carrier of the engine and init copies the rootless
        // test user can execute (see `engine_binary`); the container runs on the Debian tree.
        let carrier = Rootfs::build(Users::RootOnly);
        let script = "id -un; id -gn; getent passwd $(id -u); echo ---; env; echo ---; \
                      cat /proc/self/mountinfo";
        let out = engine_command(mode, &carrier)
            .args(["run", "--rootfs", debian.to_str().unwrap(), "--"])
            .args(["sh", "-c", script])
            .output()
            .expect("spawn locald-engine");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{out:#?}");
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
        "environment.path-default",
        "environment.home",
        "environment.hostname",
        "filesystems.proc",
        "filesystems.dev",
        "filesystems.dev-pts",
        "filesystems.dev-shm",
        "filesystems.dev-mqueue",
        "filesystems.sys",
        "filesystems.cgroup"
    )]
    fn a_debian_workload_sees_a_sane_container_root() {
        a_debian_workload_sees_a_sane_container(Mode::Root);
    }

    #[test]
    #[verifies(
        "identity.user.resolve",
        "identity.passwd.current-user",
        "identity.group.current-group",
        "environment.path-default",
        "environment.home",
        "environment.hostname",
        "filesystems.proc",
        "filesystems.dev",
        "filesystems.dev-pts",
        "filesystems.dev-shm",
        "filesystems.dev-mqueue",
        "filesystems.sys",
        "filesystems.cgroup"
    )]
    fn a_debian_workload_sees_a_sane_container_rootless() {
        a_debian_workload_sees_a_sane_container(Mode::Rootless);
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
            let out = engine_command(Mode::Root, &carrier)
                .args([
                    "run",
                    "--rootfs",
                    debian.to_str().unwrap(),
                    "--user",
                    user,
                    "--",
                ])
                .args(["sh", "-c", script])
                .output()
                .expect("spawn locald-engine");
            assert!(out.status.success(), "{user}: {out:#?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The image's own entry: Debian's `man` user, uid 6, primary group `man` (12).
        assert_eq!(who("man"), "man man /var/cache/man\nman:/var/cache/man\n");
        // A uid and gid the image lacks: the engine's entries, resolved by glibc.
        assert_eq!(who("1234:1234"), "user1234 group1234 /\nuser1234:/\n");
    }
}

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` as the workload reads them.
mod name_files {
    use super::*;

    /// The `nameserver` addresses of resolv.conf text, in order.
    fn nameservers(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("nameserver "))
            .map(|s| s.trim().to_owned())
            .collect()
    }

    /// The host's nameservers as the test reads them itself.
    fn host_nameservers() -> Vec<String> {
        nameservers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }

    fn name_files_are_generated_and_writable(mode: Mode) {
        let script = "hostname; cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; \
                      cat /etc/resolv.conf; echo ---; \
                      for f in hostname hosts resolv.conf; do \
                        (echo x >> /etc/$f) 2>/dev/null && echo writable $f; done; \
                      cat /proc/self/mountinfo";
        let out = sh(
            mode,
            Users::RootOnly,
            &["--id", "0123456789abcdef", "--add-host", "db:192.0.2.7"],
            script,
        );
        let stdout = out.ok();
        let mut parts = stdout.split("---\n");
        let (names, hosts, resolv, rest) = (
            parts.next().unwrap(),
            parts.next().expect("hosts"),
            parts.next().expect("resolv.conf"),
            parts.next().expect("mountinfo"),
        );
        assert_eq!(names, "0123456789ab\n0123456789ab\n", "{stdout}");
        let lines: Vec<&str> = hosts.lines().filter(|l| !l.starts_with('#')).collect();
        for want in [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "127.0.0.1\t0123456789ab",
            "::1\t0123456789ab",
            "192.0.2.7\tdb",
        ] {
            assert!(lines.contains(&want), "{want:?} in {hosts}");
        }
        // localhost comes before the hostname: a reverse lookup of 127.0.0.1 says localhost.
        assert_eq!(lines[0], "127.0.0.1\tlocalhost", "{hosts}");
        // Host network (the default): the host's servers, loopback ones included.
        assert_eq!(nameservers(resolv), host_nameservers(), "{resolv}");
        // The container's root may write them (Docker's binds are writable too).
        for f in ["hostname", "hosts", "resolv.conf"] {
            assert!(rest.contains(&format!("writable {f}\n")), "{f}: {rest}");
        }
        let info = mountinfo(rest);
        for f in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] {
            let m = mount_at(&info, f).unwrap_or_else(|| panic!("{f} is not mounted: {rest}"));
            assert!(m.has("rw"), "{f}: {rest}");
        }
    }

    #[test]
    #[verifies(
        "names.hostname.file",
        "names.hosts.localhost",
        "names.hosts.hostname",
        "names.hosts.extra",
        "dns.resolv-conf.host-network",
        "filesystems.layer.engine-files"
    )]
    fn name_files_are_generated_and_writable_root() {
        name_files_are_generated_and_writable(Mode::Root);
    }

    #[test]
    #[verifies(
        "names.hostname.file",
        "names.hosts.localhost",
        "names.hosts.hostname",
        "names.hosts.extra",
        "dns.resolv-conf.host-network",
        "filesystems.layer.engine-files"
    )]
    fn name_files_are_generated_and_writable_rootless() {
        name_files_are_generated_and_writable(Mode::Rootless);
    }

    fn private_network_resolv_conf_has_no_loopback_servers(mode: Mode) {
        let out = sh(
            mode,
            Users::RootOnly,
            &["--network", "none"],
            "cat /etc/resolv.conf",
        );
        let got = nameservers(out.ok());
        let mut want: Vec<String> = host_nameservers()
            .into_iter()
            .filter(|ns| !ns.starts_with("127.") && ns != "::1")
            .collect();
        if want.is_empty() {
            want = vec!["8.8.8.8".into(), "8.8.4.4".into()];
        }
        assert_eq!(got, want);
    }

    #[test]
    #[verifies("dns.resolv-conf.private-network")]
    fn private_network_resolv_conf_has_no_loopback_servers_root() {
        private_network_resolv_conf_has_no_loopback_servers(Mode::Root);
    }

    #[test]
    #[verifies("dns.resolv-conf.private-network")]
    fn private_network_resolv_conf_has_no_loopback_servers_rootless() {
        private_network_resolv_conf_has_no_loopback_servers(Mode::Rootless);
    }

    #[test]
    #[verifies("dns.resolv-conf.overrides", "names.hosts.extra")]
    fn dns_overrides_replace_the_hosts_settings_root() {
        let opts = [
            "--dns",
            "192.0.2.53",
            "--dns",
            "2001:db8::53",
            "--dns-search",
            "corp.example",
            "--dns-option",
            "ndots:2",
        ];
        let out = sh(
            Mode::Root,
            Users::RootOnly,
            &opts,
            "grep -v '^#' /etc/resolv.conf",
        );
        assert_eq!(
            out.ok(),
            "nameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp.example\noptions ndots:2\n"
        );
        // Values that would add lines are refused before anything runs.
        let bad = sh(
            Mode::Root,
            Users::RootOnly,
            &["--add-host", "a b:192.0.2.1"],
            "true",
        );
        bad.refused("--add-host");
        let bad = sh(
            Mode::Root,
            Users::RootOnly,
            &["--dns-option", "ndots:1 x"],
            "true",
        );
        bad.refused("dns");
    }

    /// glibc's resolver on a real Debian tree: `getent` goes through nsswitch's `files`.
    fn debian_resolves_localhost_its_name_and_extra_hosts(mode: Mode) {
        require_runc();
        let debian = debian_for(mode);
        let carrier = Rootfs::build(Users::RootOnly);
        let script = "getent ahostsv4 localhost | head -1; getent hosts ::1 | head -1; \
                      getent ahostsv4 $(hostname) | head -1; getent hosts db; hostname -f";
        let out = engine_command(mode, &carrier)
            .args(["run", "--rootfs", debian.to_str().unwrap()])
            .args([
                "--hostname",
                "web.local",
                "--add-host",
                "db:192.0.2.7",
                "--",
            ])
            .args(["sh", "-c", script])
            .output()
            .expect("spawn locald-engine");
        assert!(out.status.success(), "{out:#?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<Vec<&str>> = stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0][..2], ["127.0.0.1", "STREAM"], "{stdout}");
        assert_eq!(lines[0].get(2), Some(&"localhost"), "{stdout}");
        assert_eq!(lines[1][0], "::1", "{stdout}");
        assert!(lines[1].contains(&"localhost"), "{stdout}");
        assert_eq!(lines[2][..2], ["127.0.0.1", "STREAM"], "{stdout}");
        assert_eq!(lines[2].get(2), Some(&"web.local"), "{stdout}");
        assert_eq!(lines[3], ["192.0.2.7", "db"], "{stdout}");
        assert_eq!(lines[4], ["web.local"], "{stdout}");
    }

    #[test]
    #[verifies("names.hosts.localhost", "names.hosts.hostname", "names.hosts.extra")]
    fn debian_resolves_localhost_its_name_and_extra_hosts_root() {
        debian_resolves_localhost_its_name_and_extra_hosts(Mode::Root);
    }

    #[test]
    #[verifies("names.hosts.localhost", "names.hosts.hostname", "names.hosts.extra")]
    fn debian_resolves_localhost_its_name_and_extra_hosts_rootless() {
        debian_resolves_localhost_its_name_and_extra_hosts(Mode::Rootless);
    }

    #[test]
    #[verifies("names.hosts.host-network")]
    fn host_network_keeps_the_hosts_entries_root() {
        let host = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let out = sh(Mode::Root, Users::RootOnly, &[], "cat /etc/hosts");
        let hosts = out.ok();
        assert!(
            hosts.ends_with(&host) || host.is_empty(),
            "the host's file ends the container's: {hosts}"
        );
        let private = sh(
            Mode::Root,
            Users::RootOnly,
            &["--network", "none"],
            "cat /etc/hosts",
        );
        assert!(!private.ok().contains("The host's"), "{}", private.stdout);
    }
}

mod missing_targets {
    use super::*;
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

    #[test]
    #[verifies(
        "filesystems.layer.targets",
        "filesystems.root",
        "filesystems.proc",
        "filesystems.dev",
        "identity.passwd.current-user"
    )]
    fn a_scratch_image_runs_and_stays_untouched_root() {
        a_scratch_image_runs_and_stays_untouched(Mode::Root);
    }

    #[test]
    #[verifies(
        "filesystems.layer.targets",
        "filesystems.root",
        "filesystems.proc",
        "filesystems.dev",
        "identity.passwd.current-user"
    )]
    fn a_scratch_image_runs_and_stays_untouched_rootless() {
        a_scratch_image_runs_and_stays_untouched(Mode::Rootless);
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

mod runc_state {
    use super::*;

    /// `runc run` deletes the container itself when it ends, so the engine starts no second
    /// runc (`delete`) for an ordinary run; nothing may be left behind in runc's state.
    #[test]
    fn no_runc_state_is_left_after_a_run_root() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let id = format!("runc-state-{}", std::process::id());
        let runc_root = default_runtime_root(Mode::Root);
        let runc_root = runc_root.as_path();
        run(Mode::Root, &rootfs, &["--id", &id], &["true"]).ok();
        assert!(!runc_root.join(&id).exists());
        let out = Command::new(require_runc())
            .arg("--root")
            .arg(runc_root)
            .args(["state", &id])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
    }
}
