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

#[verifies("stopping.init.default", "stopping.signal")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

#[verifies("stopping.timeout")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

#[verifies("stopping.signal")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn image_stop_signal_is_sent_first(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let cfg = image_config_file(&rootfs, serde_json::json!({ "StopSignal": "SIGUSR1" }));
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

#[verifies("stopping.init.default")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn statuses_pass_through_the_init(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], "kill -9 $$");
    assert_eq!(out.code, 137, "{out:#?}");
    let out = sh(mode, Users::RootOnly, &[], "exit 7");
    assert_eq!(out.code, 7, "{out:#?}");
    let rootfs = Rootfs::build(Users::RootOnly);
    let out = run(mode, &rootfs, &[], &["no-such-command"]);
    assert_eq!(out.code, 127, "{out:#?}");
}

#[verifies("stopping.init.default")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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

#[verifies("stopping.init.default")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn pid_1_is_the_init(mode: Mode) {
    let script = "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$";
    let out = sh(mode, Users::RootOnly, &[], script);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("/dev/init --parent-death 15 --lifeline 3 -- sh -c {script} "),
        "{text}"
    );
    assert_ne!(lines[1], "1", "the workload is not PID 1: {text}");
}

#[verifies("stopping.init.default")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn no_init_makes_the_workload_pid_1(mode: Mode) {
    let script = "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; \
                  test -e /dev/init && echo init-present || echo no-init";
    let out = sh(mode, Users::RootOnly, &["--no-init"], script);
    assert_eq!(out.ok(), format!("1\nsh -c {script} \nno-init\n"));
}

#[verifies("stopping.init.readonly")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
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
#[verifies("stopping.init.default")]
fn a_missing_or_dynamic_init_is_refused_naming_it() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let root = rootfs.path().to_str().unwrap();
    // No init found at all is tests/cli.rs' first-run test (the build directory has the
    // static one).
    engine(
        Mode::Root,
        &rootfs,
        &[
            "run",
            "--init-path",
            "/nonexistent/init",
            "--rootfs",
            root,
            "--",
            "true",
        ],
    )
    .refused("--init-path /nonexistent/init: No such file");
    // The engine itself is dynamically linked.
    engine(
        Mode::Root,
        &rootfs,
        &["run", "--init-path", BIN, "--rootfs", root, "--", "true"],
    )
    .refused("dynamically linked");
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

/// locald's shim stopping a service through youki's libcontainer (`Running::stop`, the
/// `libcontainer_shim stop` example): the bundle's stop signal first — SIGTERM, or the image's
/// `StopSignal` — through the init to the workload, and SIGKILL once the grace period is over
/// for a workload that ignores it (PID 1 without the init).
#[test]
#[verifies("stopping.signal", "stopping.timeout", "stopping.init.default")]
fn running_stop_under_libcontainer_root() {
    require_root();
    let rootfs = Rootfs::build(Users::RootOnly);
    let shim = example("libcontainer_shim");
    let pid = std::process::id();
    let sleep = Some(vec!["sleep".to_string(), "1000".to_string()]);
    let trap = "trap 'exit 42' USR1; while :; do sleep 0.1; done";
    let usr1 = locald_testkit::image_config(serde_json::json!({ "StopSignal": "SIGUSR1" }));
    let none = oci_spec::image::ImageConfiguration::default;
    let cases = [
        // (case, image, init, args, grace, code, killed)
        ("term", none(), true, sleep.clone(), 60_000, 143, false),
        ("kill", none(), false, sleep, 1_000, 137, true),
        (
            "usr1",
            usr1,
            true,
            Some(vec!["sh".into(), "-c".into(), trap.into()]),
            60_000,
            42,
            false,
        ),
    ];
    for (case, image, init, args, grace, code, killed) in cases {
        let opts = RunOptions {
            args,
            init: init.then(static_init),
            ..RunOptions::default()
        };
        let state = rootfs.base().join(format!("lc-{case}"));
        let id = format!("e2e-lc-stop-{case}-{pid}");
        let bundle = prepare(&image, rootfs.path(), &opts, &state, &id).unwrap();
        let started = Instant::now();
        let out = Command::new(&shim)
            .arg("stop")
            .arg(&state)
            // Long enough for the workload to be up (the shell's trap set) when it is stopped.
            .args(["1500", &grace.to_string()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let took = started.elapsed();
        bundle.remove().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{case}: {out:?}");
        assert_eq!(
            stdout,
            format!("code {code} killed {killed}\n"),
            "{case}: {out:?}"
        );
        if killed {
            // SIGKILL only once the grace period is over.
            assert!(
                took >= Duration::from_millis(1500 + grace),
                "{case}: {took:?}"
            );
        } else {
            assert!(took < Duration::from_secs(30), "{case}: {took:?}");
        }
    }
}
