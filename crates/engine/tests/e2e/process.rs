use super::*;

#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn exit_status_propagates(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], "exit 7");
    assert_eq!(out.code, 7, "{out:#?}");
}

#[verifies("process.args")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn args_are_entrypoint_plus_cmd_and_override_replaces_cmd(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let cfg = image_config_file(
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
fn no_command_is_refused_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    run(Mode::Root, &rootfs, &[], &[]).refused("no command");
}

#[verifies("process.cwd")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn cwd_is_working_dir(mode: Mode) {
    let rootfs = Rootfs::build(Users::App);
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "WorkingDir": "/home/app", "Cmd": ["pwd"] }),
    );
    let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
    assert_eq!(out.ok(), "/home/app\n");
    // No WorkingDir: `/`.
    let out = run(mode, &rootfs, &[], &["pwd"]);
    assert_eq!(out.ok(), "/\n");
}

#[verifies("process.cwd", "filesystems.root", "filesystems.layer.targets")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn missing_working_dir_is_provided_outside_the_image(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    // Measured: runc 1.1 as root creates a missing cwd inside the rootfs; Docker creates it
    // in the container's layer. The engine provides it in the skeleton root.
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "WorkingDir": "/srv/app", "Cmd": ["sh", "-c", "pwd; ls -A"] }),
    );
    let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
    assert_eq!(out.ok(), "/srv/app\n", "an empty directory");
    assert!(!rootfs.path().join("srv").exists(), "created in the image");
    // Inside a kernel filesystem it is refused (CVE-2024-21626's /proc/self/fd/N).
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "WorkingDir": "/proc/self/fd/7", "Cmd": ["pwd"] }),
    );
    run(mode, &rootfs, &["--image-config", &cfg], &[]).refused("kernel filesystem");
}

#[verifies("process.terminal", "environment.term", "filesystems.dev-pts")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

#[verifies("process.terminal", "environment.term")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn no_terminal_unless_asked(mode: Mode) {
    let script = "tty || true; test -t 0 || echo stdin-not-a-tty; echo TERM=${TERM-unset}";
    let out = sh(mode, Users::RootOnly, &[], script);
    assert_eq!(out.ok(), "not a tty\nstdin-not-a-tty\nTERM=unset\n");
}

#[test]
#[verifies("process.terminal")]
fn tty_without_a_terminal_is_refused_root() {
    sh(Mode::Root, Users::RootOnly, &["--tty"], "true").refused("needs a terminal");
}

/// Soft 1024 (or the hard limit when lower), hard the engine's own: the engine inherits
/// this process's limits (through setpriv for the test user too).
#[verifies("process.rlimits.nofile")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

/// The engine itself runs under the restrictive umask 0077; the workload still sees 0022
/// (from the bundle, not inherited) and creates files accordingly.
#[verifies("process.umask")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

/// The workload's `oom_score_adj` is the engine's own when positive, else 0: an engine at 0
/// gives 0; one raised to 300 plans 300 (`explain`) and its workload runs at 300. A negative
/// engine value needs `CAP_SYS_RESOURCE`, which this project's machines do not grant even to
/// root (measured: `CapEff` lacks bit 24, and writing -500 fails); the unit tests cover it.
#[verifies("process.oom-score-adj")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn oom_score_adj_follows_the_engine_but_never_below_zero(mode: Mode) {
    use std::os::unix::process::CommandExt;
    let rootfs = Rootfs::build(Users::RootOnly);
    let out = run(mode, &rootfs, &[], &["cat", "/proc/self/oom_score_adj"]);
    assert_eq!(out.ok(), "0\n");
    let root = rootfs.path().to_str().unwrap().to_owned();
    let at_300 = |args: &[&str]| {
        let mut cmd = engine_command(mode, &rootfs);
        cmd.args(args);
        // SAFETY: between fork and exec only open(2), write(2) and close(2) of a static path
        // and value: nothing allocates.
        unsafe {
            cmd.pre_exec(|| {
                use nix::libc;
                let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, c"300".as_ptr().cast(), 3);
                libc::close(fd);
                if n != 3 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().expect("spawn locald-engine");
        assert!(out.status.success(), "{args:?}: {out:#?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let plan = at_300(&["explain", "--rootfs", &root, "--", "true"]);
    assert!(
        plan.lines()
            .any(|l| l.starts_with("process.oom-score-adj") && l.ends_with("oom_score_adj 300")),
        "{plan}"
    );
    let ran = at_300(&[
        "run",
        "--rootfs",
        &root,
        "--",
        "cat",
        "/proc/self/oom_score_adj",
    ]);
    assert_eq!(ran, "300\n");
}

/// The CLI's `--entrypoint` and `--workdir` replace the image's, the arguments after `--`
/// following the entrypoint; `--annotation` and `--cgroups-path` are accepted by the runtime.
#[verifies("process.entrypoint", "process.working-dir", "lifecycle.annotations")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn entrypoint_and_workdir_flags(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({"config": {"Entrypoint": ["/bin/false"], "Cmd": ["ignored"], "WorkingDir": "/"}}),
    );
    let out = run(
        mode,
        &rootfs,
        &[
            "--image-config",
            &cfg,
            "--entrypoint",
            "/bin/sh",
            "-w",
            "/tmp",
            "--annotation",
            "dev.locald.project=e2e",
        ],
        &["-c", "pwd; echo \"$0 $#\""],
    );
    assert_eq!(out.ok(), "/tmp\n/bin/sh 0\n");
}
