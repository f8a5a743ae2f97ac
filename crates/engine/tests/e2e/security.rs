use super::*;

#[verifies("security.capabilities.default", "security.no-new-privileges")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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
#[verifies("security.capabilities.default")]
fn a_non_root_user_gains_no_capabilities_root() {
    let script = "grep -E '^Cap(Prm|Eff|Amb)' /proc/self/status";
    let out = sh(Mode::Root, Users::RootOnly, &["--user", "1234"], script);
    assert_eq!(
        out.ok(),
        "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"
    );
}

#[verifies("security.masked-paths", "security.readonly-paths")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

/// `run --rootfs ROOTFS ARGS... -- sh -c SCRIPT` on `rootfs` (a Debian tree), the engine
/// copied beside `carrier` for the test user.
fn on_debian(mode: Mode, debian: &Path, args: &[&str], script: &str) -> Output {
    let carrier = Rootfs::build(Users::RootOnly);
    run_dir(mode, &carrier, debian, args, &["sh", "-c", script])
}

/// The official postgres and redis entrypoints' pattern on a Debian root: root `chown`s its
/// data directory to the service's user and switches to it (`setpriv`, as gosu does; `su`), with
/// no_new_privs set. Rootless this holds with the test user's subordinate ids, which it must
/// have; under `runc spec`'s three capabilities the `chown` fails with EPERM.
#[verifies(
    "security.capabilities.default",
    "security.no-new-privileges",
    "security.seccomp.default"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_root_entrypoint_chowns_its_data_and_switches_user(mode: Mode) {
    subordinate_ranges(mode);
    let debian = debian_for(mode);
    let script = "set -e; mkdir -p /data/db; echo hi > /data/db/f; chown -R 999:999 /data/db; \
        chmod 700 /data/db; stat -c %u:%g /data/db/f; \
        setpriv --reuid=999 --regid=999 --clear-groups sh -c \
          'id -u; id -g; echo more >> /data/db/f; wc -l < /data/db/f'; \
        su -s /bin/sh nobody -c 'id -un; whoami'; \
        setpriv --reuid=1000 --regid=1000 --clear-groups id -u; \
        grep NoNewPrivs /proc/self/status";
    let out = on_debian(mode, &debian, &[], script);
    assert_eq!(
        out.ok(),
        "999:999\n999\n999\n2\nnobody\nnobody\n1000\nNoNewPrivs:\t1\n"
    );
}

/// `--cap-add` and `--cap-drop`, Docker's rule: `ALL` dropped leaves only the added ones; an
/// added one joins the default set; a dropped one is gone (root can no longer `chown`); the
/// inheritable and ambient sets stay empty and no_new_privs set; an unknown name is refused,
/// naming the flag and the name, before anything runs.
#[verifies("security.capabilities.caller")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_caller_adds_and_drops_capabilities(mode: Mode) {
    let script = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status";
    let only = sh(
        mode,
        Users::RootOnly,
        &["--cap-drop", "ALL", "--cap-add", "net_bind_service"],
        script,
    );
    assert_eq!(
        only.ok(),
        "CapInh:\t0000000000000000\nCapPrm:\t0000000000000400\n\
         CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n\
         CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
    );
    // NET_RAW (13) added to Podman's eleven.
    let added = sh(mode, Users::RootOnly, &["--cap-add", "CAP_NET_RAW"], script);
    assert_eq!(
        added.ok(),
        "CapInh:\t0000000000000000\nCapPrm:\t00000000800425fb\n\
         CapEff:\t00000000800425fb\nCapBnd:\t00000000800425fb\n\
         CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
    );
    let dropped = sh(
        mode,
        Users::RootOnly,
        &["--cap-drop", "chown"],
        "touch /tmp/f; busybox chown 0:0 /tmp/f && echo chowned; busybox chown 1:1 /tmp/f 2>&1 || \
         echo refused",
    );
    let text = dropped.ok();
    assert!(text.starts_with("chowned\n"), "{text}");
    assert!(text.ends_with("refused\n"), "{text}");
    let unknown = sh(mode, Users::RootOnly, &["--cap-add", "NET_RAWW"], "true");
    unknown.refused("--cap-add");
    unknown.refused("CAP_NET_RAWW");
    sh(mode, Users::RootOnly, &["--cap-drop", "bogus"], "true").refused("--cap-drop");
}
/// `/proc/interrupts` (present on this project's machines) reads empty: it is masked with the
/// other side channels, which the host may lack.
#[verifies("security.masked-paths.side-channels")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn side_channel_paths_are_masked(mode: Mode) {
    if !Path::new("/proc/interrupts").exists() {
        locald_testkit::missing("/proc/interrupts on the host");
    }
    let script = "wc -c < /proc/interrupts; cat /proc/self/mountinfo";
    let out = sh(mode, Users::RootOnly, &[], script);
    let text = out.ok();
    assert_eq!(text.lines().next(), Some("0"), "{text}");
    assert!(
        mountinfo(text)
            .iter()
            .any(|m| m.mount_point == "/proc/interrupts"),
        "{text}"
    );
}

/// The script of the seccomp tests: the filter mode, then a user namespace (no capability
/// needed: only the filter denies it) and a mount namespace (denied without `CAP_SYS_ADMIN`
/// whatever the filter).
const SECCOMP_SCRIPT: &str = "grep '^Seccomp:' /proc/self/status; \
    unshare -U true 2>&1 && echo userns-ok || echo userns-denied; \
    unshare -m true 2>&1 && echo mountns-ok || echo mountns-denied";

/// Docker's default profile is loaded (`Seccomp: 2`, filter mode) and denies with EPERM what the
/// kernel alone would allow: a new user namespace. `--security-opt seccomp=unconfined` loads
/// none, and the same call succeeds.
#[verifies("security.seccomp.default", "security.seccomp.caller")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_default_filter_denies_a_user_namespace_and_unconfined_allows_it(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], SECCOMP_SCRIPT);
    let text = out.ok();
    assert!(text.starts_with("Seccomp:\t2\n"), "{text}");
    assert!(
        text.contains("Operation not permitted\nuserns-denied\n"),
        "{text}"
    );
    assert!(text.ends_with("mountns-denied\n"), "{text}");
    let out = sh(
        mode,
        Users::RootOnly,
        &["--security-opt", "seccomp=unconfined"],
        SECCOMP_SCRIPT,
    );
    let text = out.ok();
    assert!(text.starts_with("Seccomp:\t0\n"), "{text}");
    assert!(text.contains("\nuserns-ok\n"), "{text}");
    // Still denied by the kernel: the container has no CAP_SYS_ADMIN.
    assert!(text.ends_with("mountns-denied\n"), "{text}");
}

/// `--cap-add SYS_ADMIN` brings the syscalls Docker's profile grants with it: a mount
/// namespace can then be created.
#[test]
#[verifies("security.seccomp.default")]
fn an_added_capability_brings_its_syscalls_root() {
    let out = sh(
        Mode::Root,
        Users::RootOnly,
        &["--cap-add", "SYS_ADMIN"],
        SECCOMP_SCRIPT,
    );
    let text = out.ok();
    assert!(text.starts_with("Seccomp:\t2\n"), "{text}");
    assert!(text.ends_with("userns-ok\nmountns-ok\n"), "{text}");
}

/// The caller's profile (`--security-opt seccomp=PATH`) is the one loaded: here every syscall
/// is allowed but `mkdir`, which fails with the errno the profile names (EACCES).
#[verifies("security.seccomp.caller")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_callers_profile_is_loaded(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let profile = rootfs.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64",
            "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    own_rootfs(mode, &rootfs);
    let opt = format!("seccomp={}", profile.display());
    let script = "grep '^Seccomp:' /proc/self/status; mkdir /tmp/d 2>&1 || echo mkdir-denied; \
        unshare -U true && echo userns-ok";
    let out = run(
        mode,
        &rootfs,
        &["--security-opt", &opt],
        &["sh", "-c", script],
    );
    let text = out.ok();
    assert!(text.starts_with("Seccomp:\t2\n"), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    assert!(text.ends_with("mkdir-denied\nuserns-ok\n"), "{text}");
}

/// A malformed profile is refused before anything runs, naming the flag, the file and the field.
#[test]
#[verifies("security.seccomp.caller")]
fn a_malformed_profile_is_refused_naming_the_field_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let profile = rootfs.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = run(Mode::Root, &rootfs, &["--security-opt", &opt], &["true"]);
    out.refused("syscalls[0].action: unknown variant `SCMP_ACT_ALOW`");
    out.refused("--security-opt");
}

/// Rootless under the single mapping, a non-root user runs in the user namespace the init
/// creates with `unshare(CLONE_NEWUSER)`, which Docker's profile denies: the bundle's filter
/// allows exactly that call, and a mount namespace stays denied.
#[test]
#[verifies("security.seccomp.nested-userns")]
fn the_nested_user_namespace_works_under_the_filter_rootless() {
    let mode = Mode::Rootless;
    subordinate_ranges(mode);
    let out = sh(
        mode,
        Users::RootOnly,
        &["--single-mapping", "--user", "1000:1000"],
        &format!("id -u; {SECCOMP_SCRIPT}"),
    );
    let text = out.ok();
    assert!(text.starts_with("1000\nSeccomp:\t2\n"), "{text}");
    assert!(text.contains("\nuserns-ok\n"), "{text}");
    assert!(text.ends_with("mountns-denied\n"), "{text}");
}
