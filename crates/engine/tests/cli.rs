//! The command line as a user meets it: a first run from a fresh clone, the exit statuses of
//! usage errors, errors that name the flags typed, stdin with `-i`, Ctrl-C, a reader that goes
//! away, `explain`'s output, shell completions.

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::*;
use locald_engine::cli::STATIC_INIT;
use locald_spec_macros::verifies;
use locald_testkit::{Rootfs, Users, require_root, require_runc, static_init};
use nix::sys::signal::Signal;

/// Long enough to detect a hang, never a speed assertion.
const HANG: Duration = Duration::from_secs(60);

/// What a finished engine printed and how it ended.
fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn locald-engine");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The engine binary without an init from the environment: what a new user runs.
fn bare(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("LOCALD_INIT");
    cmd
}

/// A copy of the engine in a cargo target directory of its own (`BASE/target/debug`), with a
/// dynamically linked `locald-init` beside it, as `cargo build` of a fresh clone leaves them
/// (the engine itself stands in for cargo's dynamic debug init).
fn fresh_clone_build(base: &Path) -> (PathBuf, PathBuf) {
    let target = base.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::fs::write(target.join(".rustc_info.json"), "{}").unwrap();
    let bin = target.join("debug/locald-engine");
    link_or_copy(Path::new(BIN), &bin);
    link_or_copy(Path::new(BIN), &target.join("debug/locald-init"));
    (target, bin)
}

/// The `--target-dir` of the build command in `hint`, which must be the README's and
/// `ci/test`'s build of the static init.
fn build_target_dir(hint: &str) -> PathBuf {
    let build = "cargo build -p locald-init --profile init --target x86_64-unknown-linux-musl \
                 --target-dir ";
    let at = hint
        .find(build)
        .unwrap_or_else(|| panic!("no build command in {hint}"));
    let rest = &hint[at + build.len()..];
    PathBuf::from(rest.split_whitespace().next().unwrap())
}

/// `cargo run -p locald-engine -- run --rootfs R -- id` from a fresh clone: the dynamic init
/// beside the debug engine is passed over; with no static build yet, every fix the error names
/// works as written — building the static init where the command puts it, `--init-path`,
/// `--no-init`.
#[test]
#[verifies("stopping.init.default")]
fn a_first_run_from_a_fresh_clone_works_once_the_error_is_followed() {
    require_root();
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    let (target, bin) = fresh_clone_build(rootfs.base());
    let run = |extra: &[&str]| {
        output(
            bare(&bin)
                .args(["run", "--rootfs"])
                .arg(rootfs.path())
                .args(extra)
                .args(["--", "id", "-u"]),
        )
    };
    let out = run(&[]);
    out.refused("no static locald-init found");
    assert!(out.stderr.contains("dynamically linked"), "{out:#?}");
    // The build goes where this engine looks: its own target directory's static build.
    let built_into = build_target_dir(&out.stderr);
    assert_eq!(built_into, target.join("static"), "{out:#?}");
    assert!(
        out.stderr
            .contains("rustup target add x86_64-unknown-linux-musl"),
        "{out:#?}"
    );
    // Each fix, followed.
    let init = static_init();
    assert_eq!(
        run(&["--init-path", init.to_str().unwrap()]).ok().trim(),
        "0"
    );
    assert_eq!(run(&["--no-init"]).ok().trim(), "0");
    let lands = built_into.join(STATIC_INIT.strip_prefix("static/").unwrap());
    std::fs::create_dir_all(lands.parent().unwrap()).unwrap();
    std::fs::copy(&init, &lands).unwrap();
    assert_eq!(run(&[]).ok().trim(), "0");
}

/// `explain` runs nothing: without an init it plans without one and says so; an init the user
/// names must still be usable.
#[test]
#[verifies("stopping.init.default")]
fn explain_works_without_an_init_saying_so() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let (_, bin) = fresh_clone_build(rootfs.base());
    let explain = |cmd: &mut Command| {
        output(
            cmd.args(["explain", "--rootfs"])
                .arg(rootfs.path())
                .args(["--", "true"]),
        )
    };
    let out = explain(&mut bare(&bin));
    assert!(out.ok().contains("process.args"), "{out:#?}");
    assert!(out.stderr.contains("planning without an init"), "{out:#?}");
    assert!(!out.stdout.contains("/dev/init"), "{out:#?}");
    explain(bare(&bin).env("LOCALD_INIT", "/nonexistent/locald-init"))
        .refused("LOCALD_INIT /nonexistent/locald-init: ");
    let with_init = explain(bare(&bin).env("LOCALD_INIT", static_init()));
    assert!(with_init.ok().contains("/dev/init"), "{with_init:#?}");
    assert!(with_init.stderr.is_empty(), "{with_init:#?}");
}

fn explain(args: &[&str], rootfs: &Rootfs) -> Output {
    output(
        Command::new(BIN)
            .args(["explain", "--no-init", "--rootfs"])
            .arg(rootfs.path())
            .args(args)
            .args(["--", "true"]),
    )
}

#[test]
fn explain_leads_with_a_summary_by_requirement() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let out = explain(&[], &rootfs);
    let text = out.ok();
    let (summary, rest) = text.split_once("\n\n").expect("a summary, then the list");
    let mut lines = summary.lines();
    let head = lines.next().unwrap();
    assert!(
        head.contains(" decisions for ") && head.contains(" requirements"),
        "{head}"
    );
    let summary: Vec<&str> = lines.collect();
    let ids: Vec<&str> = summary
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "one line per requirement, in ID order");
    assert!(
        summary
            .iter()
            .any(|l| l.contains("security.capabilities.default") && l.contains("capability x")),
        "{summary:#?}"
    );
    // Then every decision, each naming a requirement of the summary.
    assert!(rest.lines().count() > ids.len());
    for l in rest.lines() {
        assert!(ids.contains(&l.split_whitespace().next().unwrap()), "{l}");
    }
}

#[test]
fn explain_json_writes_permission_bits_in_octal() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let out = explain(&["--json"], &rootfs);
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let modes: Vec<&serde_json::Value> = entries
        .iter()
        .filter_map(|e| e.get("mode").or_else(|| e.get("mask")))
        .collect();
    assert!(modes.len() > 3, "{v:#}");
    for m in modes {
        let s = m.as_str().unwrap_or_else(|| panic!("{m} is not a string"));
        assert!(
            s.len() == 4 && s.chars().all(|c| ('0'..='7').contains(&c)),
            "{s}"
        );
    }
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "umask" && e["mask"] == "0022"),
        "{v:#}"
    );
    let summary = v["summary"].as_array().unwrap();
    let total: u64 = summary
        .iter()
        .map(|s| s["decisions"].as_u64().unwrap())
        .sum();
    assert_eq!(total, entries.len() as u64);
}

/// Run `args` with stdout a pipe nobody reads (its read end closed before the engine writes)
/// and return how the engine ended and what it printed on stderr.
fn with_reader_gone(args: &[&str]) -> (ExitStatus, String) {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    (child.wait().unwrap(), err)
}

/// Like `cat`, the engine ends quietly, killed by SIGPIPE, when the reader of its output goes
/// away (`explain | head -1`, `ps | head -1`): no panic, no message.
#[test]
fn a_reader_that_goes_away_ends_explain_and_ps_quietly() {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    let root = rootfs.path().to_str().unwrap();
    let state = rootfs.base().join("state");
    let state = state.to_str().unwrap();
    for args in [
        &["explain", "--no-init", "--rootfs", root, "--", "true"][..],
        &[
            "explain",
            "--json",
            "--no-init",
            "--rootfs",
            root,
            "--",
            "true",
        ][..],
        &["ps", "--state-root", state][..],
        &["--help"][..],
    ] {
        let (status, err) = with_reader_gone(args);
        assert_eq!(
            status.signal(),
            Some(Signal::SIGPIPE as i32),
            "{args:?}: {status:?} {err}"
        );
        assert!(err.is_empty(), "{args:?}: {err}");
    }
    // And through a real pipe into `head -1`: one line, nothing on stderr.
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("{BIN} explain --no-init --rootfs {root} -- true | head -1"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// Usage errors exit 125 like the engine's other failures (docker's flag errors do); help and
/// version exit 0; the help shows the table.
#[test]
#[verifies("lifecycle.exit-status")]
fn usage_errors_exit_125_and_help_exits_0() {
    for args in [
        &["run", "--bogus"][..],
        &["run", "--rootfs", "/", "--env", "NOVALUE"],
        &["run", "--rootfs", "/", "--bind", "/only"],
        &["run", "--rootfs", "/", "--add-host", "db"],
        &["run"],
        &["nosuch"],
        &[],
        &["rm"],
        &["completions", "tcsh"],
        &["refresh"],
        &["refresh", "--bundle", "/", "--add-host", "db"],
    ] {
        let out = output(Command::new(BIN).args(args));
        assert_eq!(out.code, 125, "{args:?}: {out:#?}");
        assert!(out.stdout.is_empty(), "{out:#?}");
        assert!(!out.stderr.is_empty(), "{out:#?}");
    }
    let help = output(Command::new(BIN).arg("--help"));
    assert!(help.ok().contains("125"), "{help:#?}");
    assert!(help.stdout.contains("128+N"), "{help:#?}");
    output(Command::new(BIN).arg("--version")).ok();
    let run_help = output(Command::new(BIN).args(["run", "--help"]));
    let text = run_help.ok();
    assert!(text.contains("-i, --interactive"), "{text}");
    assert!(
        text.contains("/dev/null"),
        "what stdin is without -i: {text}"
    );
    assert!(
        text.contains("{\"config\":"),
        "the minimal image configuration: {text}"
    );
}

/// `refresh` names the flag behind a refused option and says when a directory is no bundle;
/// it rewrites a prepared bundle's /etc/hosts (`names.hosts.refresh`, whose end-to-end tests
/// refresh a running container).
#[test]
#[verifies("names.hosts.refresh")]
fn refresh_rewrites_a_prepared_bundle_and_names_the_flags() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let root = rootfs.path().to_str().unwrap();
    let bundle = rootfs.scratch().join("bundle");
    let b = bundle.to_str().unwrap();
    let prepare = [
        "prepare",
        "--no-init",
        "--id",
        "web",
        "--rootfs",
        root,
        "--bundle",
        b,
        "--",
        "true",
    ];
    output(Command::new(BIN).args(prepare)).ok();
    let refresh = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["refresh", "--bundle", b]).args(extra);
        output(&mut cmd)
    };
    refresh(&["--add-host", "bad name:192.0.2.7"]).refused("--add-host: \"bad name\"");
    refresh(&["--dns-search=bad domain"]).refused("--dns-search: ");
    refresh(&["--add-host", "cache:192.0.2.9"]).ok();
    let hosts = std::fs::read_to_string(bundle.join("hosts")).unwrap();
    assert!(hosts.contains("127.0.0.1\tweb\n"), "{hosts}");
    assert!(hosts.contains("192.0.2.9\tcache\n"), "{hosts}");
    let not_bundle = rootfs.scratch().to_str().unwrap().to_owned();
    let out = output(Command::new(BIN).args(["refresh", "--bundle", &not_bundle]));
    out.refused("not a bundle");
}

/// The flags of the library-only options (`--entrypoint`, `--workdir`, `--cgroups-path`,
/// `--annotation`) reach the plan, and a bad value exits 125 naming the flag before anything
/// is written.
#[test]
#[verifies(
    "process.entrypoint",
    "process.working-dir",
    "isolation.cgroups-path",
    "lifecycle.annotations"
)]
fn library_only_options_have_flags_checked_by_name() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let root = rootfs.path().to_str().unwrap();
    let explain = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["explain", "--no-init", "--json", "--rootfs", root])
            .args(extra)
            .args(["--", "hi"]);
        output(&mut cmd)
    };
    let out = explain(&[
        "--entrypoint",
        "/bin/echo",
        "-w",
        "/tmp",
        "--cgroups-path",
        "/locald/shop/web",
        "--annotation",
        "dev.locald.project=shop=1",
        "--annotation",
        "empty=",
    ]);
    let plan: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    let says = |requirement: &str| -> Vec<String> {
        plan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["requirement"] == requirement)
            .map(|e| e.to_string())
            .collect()
    };
    let joined = |r: &str| says(r).join("\n");
    assert!(joined("process.entrypoint").contains("/bin/echo"), "{plan}");
    assert!(joined("process.entrypoint").contains("hi"), "{plan}");
    assert!(joined("process.working-dir").contains("/tmp"), "{plan}");
    assert!(
        joined("isolation.cgroups-path").contains("/locald/shop/web"),
        "{plan}"
    );
    let annotations = joined("lifecycle.annotations");
    assert!(annotations.contains("dev.locald.project"), "{plan}");
    assert!(
        annotations.contains("shop=1"),
        "the value keeps its `=`: {plan}"
    );
    for (flag, value, needle) in [
        ("--workdir", "relative", "not an absolute path"),
        ("-w", "relative", "not an absolute path"),
        ("--cgroups-path", "/locald/../system.slice", "`..`"),
        ("--cgroups-path", "", ""),
        ("--annotation", "novalue", "expected KEY=VALUE"),
        ("--annotation", "=v", "the key is empty"),
        ("--entrypoint", "", "empty"),
    ] {
        let out = explain(&[&format!("{flag}={value}")]);
        assert_eq!(out.code, 125, "{flag}={value}: {out:#?}");
        let long = match flag {
            "-w" => "--workdir",
            f => f,
        };
        assert!(out.stderr.contains(long), "{flag}={value}: {out:#?}");
        assert!(out.stderr.contains(needle), "{flag}={value}: {out:#?}");
        assert!(out.stdout.is_empty(), "{out:#?}");
    }
}

/// Errors name the flag the user typed, never the library's field names.
#[test]
fn errors_name_the_flags_typed() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let root = rootfs.path().to_str().unwrap();
    let file = rootfs.write_scratch("rootfs.tar", "");
    let bundle = rootfs.scratch().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    std::os::unix::fs::symlink("/nonexistent/dir", rootfs.path().join("gone")).unwrap();
    for (args, needle) in [
        (
            vec![
                "explain",
                "--no-init",
                "--rootfs",
                root,
                "--add-host",
                "bad name:192.0.2.7",
            ],
            "--add-host: \"bad name\"",
        ),
        (
            vec!["explain", "--no-init", "--rootfs", file.to_str().unwrap()],
            "a regular file, not a directory",
        ),
        (
            vec!["explain", "--no-init", "--rootfs", "/nonexistent/rootfs"],
            "--rootfs /nonexistent/rootfs: ",
        ),
        (
            vec!["explain", "--no-init", "--rootfs", root, "--hostname=-x"],
            "--hostname: ",
        ),
        (
            vec![
                "explain",
                "--no-init",
                "--rootfs",
                root,
                "--workdir",
                "/gone",
                "--",
                "/bin/true",
            ],
            "--workdir: image file /gone: /gone is a dangling symlink",
        ),
        (
            vec!["explain", "--no-init", "--rootfs", root, "--user", "nosuch"],
            "user `nosuch` (from --user) is not in the image's /etc/passwd",
        ),
        (
            vec![
                "explain",
                "--no-init",
                "--rootfs",
                root,
                "--user",
                "0:nosuch",
            ],
            "group `nosuch` (from --user) is not in the image's /etc/group",
        ),
        (
            vec![
                "prepare",
                "--no-init",
                "--rootfs",
                root,
                "--bundle",
                bundle.to_str().unwrap(),
            ],
            "--bundle ",
        ),
        (
            vec!["ps", "--state-root", "/tmp/../tmp/x"],
            "--state-root: ",
        ),
        (
            vec!["ps", "--runtime", "/nonexistent/runc"],
            "--runtime PATH",
        ),
    ] {
        let out = output(Command::new(BIN).args(&args));
        out.refused(needle);
        assert!(!out.stderr.contains("run option"), "{out:#?}");
        assert!(!out.stderr.contains("state_dir"), "{out:#?}");
    }
}

/// What `-i` gives the container: the engine's stdin; without it, /dev/null.
fn stdin_with_and_without_interactive(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let cat = |opts: &[&str]| {
        let mut child = engine_command(mode, &rootfs)
            .args(["run", "--rootfs"])
            .arg(rootfs.path())
            .args(opts)
            .args(["--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Written and closed before the container starts: the pipe holds it until then.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hi\n").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(cat(&["-i"]), "hi\n");
    assert_eq!(cat(&["--interactive", "--no-init"]), "hi\n");
    assert_eq!(cat(&[]), "", "without -i, stdin is /dev/null");
}

#[test]
fn interactive_forwards_stdin_root() {
    stdin_with_and_without_interactive(Mode::Root);
}

#[test]
fn interactive_forwards_stdin_rootless() {
    stdin_with_and_without_interactive(Mode::Rootless);
}

/// A `locald-engine run` in the background, without a terminal, its stdout and stderr read
/// line by line; dropped while still running, it is killed (and its container with it).
struct Background {
    engine: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

fn lines(from: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    rx
}

impl Background {
    /// Start `sh -c SCRIPT`, which must print `ready` once it runs.
    fn start(mode: Mode, rootfs: &Rootfs, script: &str) -> Self {
        require_runc();
        let mut engine = spawn_piped(
            engine_command(mode, rootfs)
                .args(["run", "--rootfs"])
                .arg(rootfs.path())
                .args(["--", "sh", "-c", script]),
        );
        let stdout = lines(engine.stdout.take().unwrap());
        let stderr = lines(engine.stderr.take().unwrap());
        let bg = Background {
            engine,
            stdout,
            stderr,
        };
        assert_eq!(
            bg.stdout.recv_timeout(HANG).expect("ready in time"),
            "ready"
        );
        bg
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.engine.id() as i32)
    }

    /// Send `sig` and wait (bounded) until the engine has taken it, so that the next one is
    /// never merged with it.
    fn signal(&self, sig: Signal) {
        nix::sys::signal::kill(self.pid(), sig).unwrap();
        let status = format!("/proc/{}/status", self.pid());
        let bit = 1u64 << (sig as u32 - 1);
        let deadline = Instant::now() + HANG;
        loop {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            let pending = text
                .lines()
                .find_map(|l| l.strip_prefix("ShdPnd:"))
                .map_or(0, |m| u64::from_str_radix(m.trim(), 16).unwrap());
            if pending & bit == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{sig} never taken");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The next line on stderr; a hang fails the test.
    fn stderr_line(&self) -> String {
        self.stderr.recv_timeout(HANG).expect("a message in time")
    }

    /// Wait for the engine to exit; a hang fails the test.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + HANG;
        loop {
            if let Some(st) = self.engine.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "locald-engine run did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.engine.kill();
        let _ = self.engine.wait();
    }
}

/// Ctrl-C reaches the workload as SIGINT, as under `docker run`: `sleep` dies of it and the
/// run ends with 130; SIGTERM stops the container with its stop signal: 143.
fn interrupt_is_forwarded(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let script = "echo ready; exec sleep 1000";
    let mut bg = Background::start(mode, &rootfs, script);
    bg.signal(Signal::SIGINT);
    assert_eq!(bg.wait().code(), Some(130));
    let mut bg = Background::start(mode, &rootfs, script);
    bg.signal(Signal::SIGTERM);
    assert_eq!(bg.wait().code(), Some(143));
    // A workload that handles SIGINT sees SIGINT, not the stop signal.
    let script = "trap 'echo got-int; exit 7' INT; trap 'echo got-term; exit 8' TERM; \
                  echo ready; while :; do sleep 1; done";
    let mut bg = Background::start(mode, &rootfs, script);
    bg.signal(Signal::SIGINT);
    assert_eq!(bg.stdout.recv_timeout(HANG).unwrap(), "got-int");
    assert_eq!(bg.wait().code(), Some(7));
}

#[test]
#[verifies("lifecycle.interrupt")]
fn interrupt_is_forwarded_as_docker_run_does_root() {
    interrupt_is_forwarded(Mode::Root);
}

#[test]
#[verifies("lifecycle.interrupt")]
fn interrupt_is_forwarded_as_docker_run_does_rootless() {
    interrupt_is_forwarded(Mode::Rootless);
}

/// A workload that ignores SIGINT: the second Ctrl-C says the engine is waiting and what the
/// next does; the third kills the container.
fn repeated_interrupts(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let mut bg = Background::start(mode, &rootfs, "trap '' INT; echo ready; exec sleep 1000");
    bg.signal(Signal::SIGINT);
    bg.signal(Signal::SIGINT);
    let waiting = bg.stderr_line();
    assert!(
        waiting.contains("waiting for container") && waiting.contains("Ctrl-C once more"),
        "{waiting}"
    );
    assert!(waiting.contains("SIGKILL"), "{waiting}");
    assert!(bg.engine.try_wait().unwrap().is_none(), "still running");
    bg.signal(Signal::SIGINT);
    assert!(bg.stderr_line().contains("killing container"));
    assert_eq!(bg.wait().code(), Some(137));
}

#[test]
#[verifies("lifecycle.interrupt")]
fn a_second_interrupt_says_the_engine_waits_and_a_third_kills_root() {
    repeated_interrupts(Mode::Root);
}

#[test]
#[verifies("lifecycle.interrupt")]
fn a_second_interrupt_says_the_engine_waits_and_a_third_kills_rootless() {
    repeated_interrupts(Mode::Rootless);
}

#[test]
fn shell_completions_come_from_the_command_line_definition() {
    for (shell, marker) in [
        ("bash", "_locald__engine()"),
        ("zsh", "#compdef locald-engine"),
        ("fish", "complete -c locald-engine"),
    ] {
        let out = output(Command::new(BIN).args(["completions", shell]));
        let text = out.ok();
        assert!(text.contains(marker), "{shell}: {text}");
        for flag in ["rootfs", "add-host", "interactive", "state-root"] {
            assert!(text.contains(flag), "{shell} lacks {flag}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    output(Command::new(BIN).arg("man").arg(dir.path().join("man1"))).ok();
    assert!(dir.path().join("man1/locald-engine-rm.1").is_file());
    let page = output(Command::new(BIN).arg("man"));
    assert!(page.ok().contains(".TH locald-engine"), "{page:#?}");
}

/// No command of the binary parses a whole runtime spec: oci-spec's deserializer validates
/// `execCPUAffinity` with a regular expression, which links the regex engine (a third of the
/// release binary's code, and most of the data relocated at every start: `run` took 0.23 ms
/// longer with it). `start` and `refresh` read a bundle's facts instead
/// (`bundle::BundleFacts`). Functions and data, not file symbols: those name every code unit of
/// a dependency built, linked or not.
#[test]
fn the_binary_links_no_regex_engine() {
    let bytes = std::fs::read(BIN).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert!(elf.syms.len() > 1000, "the binary has its symbol table");
    let linked: Vec<&str> = elf
        .syms
        .iter()
        .filter(|s| {
            matches!(
                s.st_type(),
                goblin::elf::sym::STT_FUNC | goblin::elf::sym::STT_OBJECT
            )
        })
        .filter_map(|s| elf.strtab.get_at(s.st_name))
        .filter(|name| name.contains("regex_automata") || name.contains("regex_syntax"))
        .take(3)
        .collect();
    assert!(linked.is_empty(), "{linked:?}");
}
