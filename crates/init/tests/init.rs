//! Runs the `locald-init` binary on real workloads, outside any container: the init is not PID 1
//! here, so these tests also exercise it as a child subreaper. Timeouts only turn a hang into a
//! failure; nothing asserts on how fast anything is.
//!
//! The binary under test is the one the engine runs: the static musl build of the `init` profile
//! ([`locald_testkit::static_init`]), not cargo's dev build of this package (glibc, unwinding).

use locald_spec_macros::verifies;
use nix::libc;
use nix::sys::signal::{SigSet, Signal};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The static `locald-init`, built once (a failed build fails the test).
fn init_bin() -> String {
    let path = locald_testkit::static_init();
    path.to_str().expect("a UTF-8 workspace path").to_owned()
}

/// Long enough for a loaded CI machine; only there to detect hangs.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The init running a workload, its stdout read line by line. Dropping it kills whatever is
/// left of the init and its descendants.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    /// Starts `cmd` (the init) with stdout piped.
    fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start locald-init");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next line the workload wrote to stdout.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .expect("a line from the workload before the timeout")
    }

    /// Reads lines until one equals `wanted`; returns those before it.
    fn lines_until(&self, wanted: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self.line();
            if line == wanted {
                return seen;
            }
            seen.push(line);
        }
    }

    fn signal(&self, signo: i32) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        let rc = unsafe { libc::kill(self.pid(), signo) };
        assert_eq!(rc, 0, "kill({}, {signo})", self.pid());
    }

    /// Asserts that the init has not exited (reaping did not end it), then that TERM ends it
    /// with 128 + 15, as the workload it forwards TERM to dies of it.
    fn is_still_running_and_ends_on_sigterm(&mut self) {
        assert!(
            self.child.try_wait().expect("try_wait").is_none(),
            "the init is still running"
        );
        self.signal(libc::SIGTERM);
        assert_eq!(self.wait().code(), Some(143));
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for locald-init") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "locald-init did not exit within {TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            for pid in descendants(self.pid()) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Kills a process the init may no longer own (it outlived the init) when a test ends.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if stat(self.0).is_some_and(|s| s.comm == "sleep") {
            // SAFETY: as above.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

/// `locald-init ARGS...`
fn init(args: &[&str]) -> Command {
    let mut cmd = Command::new(init_bin());
    cmd.args(args);
    cmd
}

/// Runs the init to completion; returns its status and stderr.
fn run(args: &[&str]) -> (ExitStatus, String) {
    let mut running = Running::start(init(args).stderr(Stdio::piped()));
    let status = running.wait();
    let mut stderr = String::new();
    if let Some(mut err) = running.child.stderr.take() {
        err.read_to_string(&mut stderr).expect("read stderr");
    }
    (status, stderr)
}

/// Waits until `cond` holds, or fails naming `what`.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The fields of /proc/PID/stat these tests look at.
#[derive(Debug, Clone)]
struct Stat {
    pid: i32,
    comm: String,
    state: char,
    ppid: i32,
    pgrp: i32,
    tpgid: i32,
}

fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    Some(Stat {
        pid: text[..open].trim().parse().ok()?,
        comm: text[open + 1..close].to_owned(),
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        tpgid: rest.get(5)?.parse().ok()?,
    })
}

fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process whose parent is `pid`, zombies included.
fn children(pid: i32) -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .filter(|s| s.ppid == pid)
        .collect()
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for c in children(pid) {
        out.extend(descendants(c.pid));
        out.push(c.pid);
    }
    out
}

/// Alive: it exists and is not a zombie.
fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s.state != 'Z')
}

/// Waits until the init has a child running `comm`, i.e. the workload has been executed, so that
/// the init's signal mask and signalfd are certainly in place.
fn wait_for_workload(init: &Running, comm: &str) -> Stat {
    let mut found = None;
    eventually(&format!("the workload `{comm}` to run"), || {
        found = children(init.pid()).into_iter().find(|c| c.comm == comm);
        found.is_some()
    });
    found.expect("found")
}

/// Waits until the process whose PID the workload printed (`line`) has executed `comm`. Until
/// then it is a copy of the shell, with the shell's trap handlers: a signal sent to it there
/// would be caught and lost.
fn wait_for_exec(line: &str, comm: &str) -> i32 {
    let pid: i32 = line
        .parse()
        .unwrap_or_else(|_| panic!("a pid, not {line:?}"));
    eventually(&format!("{pid} to execute {comm}"), || {
        stat(pid).is_some_and(|s| s.comm == comm)
    });
    pid
}

fn sh(script: &str) -> Vec<&str> {
    vec!["--", "sh", "-c", script]
}

#[test]
#[verifies("signals.init.exit-status")]
fn exit_status_is_the_workloads() {
    for (script, code) in [("exit 0", 0), ("exit 7", 7), ("exit 255", 255)] {
        let (status, _) = run(&sh(script));
        assert_eq!(status.code(), Some(code), "workload `{script}`");
    }
}

#[test]
#[verifies("signals.init.exit-status")]
fn death_by_signal_exits_128_plus_n() {
    // 34 is a real-time signal: a status that nix's WaitStatus cannot represent.
    for (script, code) in [
        ("kill -9 $$", 137),
        ("kill -15 $$", 143),
        ("kill -34 $$", 162),
    ] {
        let (status, _) = run(&sh(script));
        assert_eq!(status.code(), Some(code), "workload `{script}`");
    }
}

#[test]
#[verifies("signals.init.forward", "signals.init.exit-status")]
fn sigterm_stops_a_sleeping_workload() {
    let mut init = Running::start(&mut init(&["sleep", "1000"]));
    wait_for_workload(&init, "sleep");
    init.signal(libc::SIGTERM);
    assert_eq!(init.wait().code(), Some(143));
}

#[test]
#[verifies("signals.init.exec-failure")]
fn missing_command_exits_127() {
    for cmd in [
        "/nonexistent/locald-init-test",
        "locald-init-no-such-command",
    ] {
        let (status, stderr) = run(&["--", cmd, "arg"]);
        assert_eq!(status.code(), Some(127), "command {cmd}");
        assert!(
            stderr.contains(cmd) && stderr.contains("No such file or directory"),
            "stderr names the command and the error: {stderr:?}"
        );
    }
}

#[test]
#[verifies("signals.init.exec-failure")]
fn non_executable_command_exits_126() {
    let file = std::env::temp_dir().join(format!("locald-init-noexec-{}", std::process::id()));
    std::fs::write(&file, "#!/bin/sh\necho should not run\n").expect("write test file");
    let path = file.to_str().expect("utf-8 temp path");
    // Mode 0644: no execute bit, which even root needs.
    let (status, stderr) = run(&["--", path]);
    std::fs::remove_file(&file).expect("remove test file");
    assert_eq!(status.code(), Some(126));
    assert!(
        stderr.contains(path) && stderr.contains("Permission denied"),
        "stderr names the command and the error: {stderr:?}"
    );
    let (status, stderr) = run(&["--", "/"]);
    assert_eq!(status.code(), Some(126), "a directory");
    assert!(
        stderr.contains("\"/\""),
        "stderr names the command: {stderr:?}"
    );
}

/// Writes `text` to `dir/name` with `mode`.
fn write_file(dir: &std::path::Path, name: &str, text: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.to_str().expect("utf-8 temp path").to_owned()
}

#[test]
#[verifies("signals.init.exec-failure")]
fn script_without_interpreter_line_runs_with_bin_sh() {
    // The kernel refuses an executable file without `#!` (ENOEXEC); glibc's execvp, and so the
    // init, runs it with /bin/sh, by path or found in PATH, its arguments passed on.
    let dir = tempfile_dir("noshebang");
    let script = write_file(&dir, "script", "echo \"ran $0 $*\"\nexit 3\n", 0o755);
    let mut running = Running::start(&mut init(&["--", &script, "a", "b c"]));
    assert_eq!(running.line(), format!("ran {script} a b c"), "by path");
    assert_eq!(running.wait().code(), Some(3));
    let path = format!("{}:/bin:/usr/bin", dir.display());
    let mut running = Running::start(init(&["--", "script", "d"]).env("PATH", path));
    assert_eq!(running.line(), format!("ran {script} d"), "found in PATH");
    assert_eq!(running.wait().code(), Some(3));
    std::fs::remove_dir_all(&dir).expect("remove test dir");
}

#[test]
#[verifies("signals.init.exec-failure")]
fn path_search_goes_past_a_file_it_may_not_execute() {
    // PATH=A:B, A/cmd not executable, B/cmd executable: B/cmd runs, as with glibc's execvp.
    let dir = tempfile_dir("pathsearch");
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir(&a).expect("mkdir a");
    std::fs::create_dir(&b).expect("mkdir b");
    write_file(&a, "cmd", "#!/bin/sh\nexit 1\n", 0o644);
    write_file(&b, "cmd", "#!/bin/sh\nexit 4\n", 0o755);
    let path = format!("{}:{}", a.display(), b.display());
    let status = init(&["--", "cmd"])
        .env("PATH", &path)
        .status()
        .expect("run locald-init");
    assert_eq!(status.code(), Some(4), "B/cmd ran");
    // Only the one it may not execute: 126 and EACCES, not 127.
    let out = init(&["--", "cmd"])
        .env("PATH", a.as_os_str())
        .output()
        .expect("run locald-init");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    // No PATH at all: the C library's default, which holds sh.
    let status = init(&["--", "sh", "-c", "exit 5"])
        .env_remove("PATH")
        .status()
        .expect("run locald-init");
    assert_eq!(status.code(), Some(5), "sh found without PATH");
    std::fs::remove_dir_all(&dir).expect("remove test dir");
}

#[test]
#[verifies("signals.init.reap")]
fn orphans_are_all_reaped() {
    // The inner sh starts 200 `cat`s reading the init's stdin and exits at once: they outlive
    // their parent and are reparented to the init. They exit when the test closes that stdin.
    let script = "exec 3<&0
        sh -c 'i=0; while [ $i -lt 200 ]; do cat <&3 >/dev/null & i=$((i+1)); done'
        echo spawned
        exec sleep 1000";
    let mut init = Running::start(init(&sh(script)).stdin(Stdio::piped()));
    let stdin: ChildStdin = init.child.stdin.take().expect("piped stdin");
    assert_eq!(init.line(), "spawned");
    let orphans = children(init.pid()).len() - 1;
    assert_eq!(orphans, 200, "the 200 orphans are the init's children");
    drop(stdin);
    eventually("the init to reap all 200 orphans", || {
        children(init.pid()).len() == 1
    });
    let left = children(init.pid());
    assert!(
        left[0].state != 'Z',
        "the workload is alive and no zombie is left: {left:?}"
    );
    init.is_still_running_and_ends_on_sigterm();
}

#[test]
#[verifies("signals.init.subreaper", "signals.init.reap")]
fn orphan_grandchild_is_reparented_to_the_init() {
    let script = "exec 3<&0
        sh -c 'cat <&3 >/dev/null & echo $!'
        exec sleep 1000";
    let mut init = Running::start(init(&sh(script)).stdin(Stdio::piped()));
    let stdin = init.child.stdin.take().expect("piped stdin");
    let grandchild: i32 = init.line().parse().expect("the orphan's pid");
    assert_ne!(init.pid(), 1, "this test needs the init not to be PID 1");
    eventually("the orphan to be reparented to the init", || {
        stat(grandchild).is_some_and(|s| s.ppid == init.pid())
    });
    drop(stdin);
    eventually("the init to reap the orphan", || {
        stat(grandchild).is_none_or(|s| s.ppid != init.pid())
    });
    init.is_still_running_and_ends_on_sigterm();
}

#[test]
#[verifies("signals.init.forward")]
fn as_pid_1_signals_from_inside_and_outside_are_forwarded() {
    // PID 1 of a new PID namespace gets only the signals it is prepared for: here one from its
    // own workload (USR1, sent back to it) and one from outside the namespace (TERM).
    let script = r#"trap 'got=1; echo usr1' USR1
        echo "ppid $PPID"
        kill -USR1 1
        while [ -z "$got" ]; do sleep 0.01; done
        exec sleep 1000"#;
    let mut unshare = Command::new("unshare");
    if !nix::unistd::geteuid().is_root() {
        unshare.args(["--user", "--map-root-user"]);
    }
    unshare.args([
        "--pid",
        "--fork",
        "--mount-proc",
        &init_bin(),
        "--",
        "sh",
        "-c",
        script,
    ]);
    let mut running = Running::start(&mut unshare);
    assert_eq!(
        running.line(),
        "ppid 1",
        "the init is PID 1 of the namespace"
    );
    assert_eq!(running.line(), "usr1", "a signal from inside the namespace");
    let mut init = None;
    eventually("the init's workload to execute sleep", || {
        init = children(running.pid()).first().map(|c| c.pid);
        init.is_some_and(|i| children(i).iter().any(|c| c.comm == "sleep"))
    });
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(init.expect("init"), libc::SIGTERM) }, 0);
    assert_eq!(running.wait().code(), Some(143), "a signal from outside");
}

#[test]
#[verifies("signals.init.forward")]
fn storm_of_standard_signals() {
    // Standard signals coalesce: the workload sees between 1 and 1000 of them. What is certain:
    // the init survives the storm and the SIGTERM sent after it is delivered.
    let script = r#"n=0
        trap 'n=$((n+1))' USR1
        trap 'echo "usr1=$n"; kill $p; exit 0' TERM
        sleep 1000 & p=$!
        echo $p
        while :; do wait $p; done"#;
    let mut init = Running::start(&mut init(&sh(script)));
    wait_for_exec(&init.line(), "sleep");
    for _ in 0..1000 {
        init.signal(libc::SIGUSR1);
    }
    assert!(
        init.child.try_wait().expect("try_wait").is_none(),
        "the init survived"
    );
    assert!(alive(init.pid()));
    init.signal(libc::SIGTERM);
    let line = init.line();
    let n: u32 = line
        .strip_prefix("usr1=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output {line:?}"));
    assert!((1..=1000).contains(&n), "{n} SIGUSR1 delivered");
    assert_eq!(init.wait().code(), Some(0));
}

/// Set in the child that counts real-time signals (see `count_realtime_signals`).
const HELPER: &str = "LOCALD_INIT_TEST_HELPER";

#[test]
#[verifies("signals.init.forward")]
fn realtime_signals_are_each_forwarded() {
    if std::env::var_os(HELPER).is_some() {
        count_realtime_signals();
    }
    // The workload is this very test binary, running this test in helper mode.
    const SENT: usize = 1000;
    let exe = std::env::current_exe().expect("test binary path");
    let exe = exe.to_str().expect("utf-8 path");
    let name = "realtime_signals_are_each_forwarded";
    let mut init = Running::start(
        init(&[
            "--",
            exe,
            name,
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER, "1"),
    );
    init.lines_until("helper: ready");
    let rtmin = libc::SIGRTMIN();
    for _ in 0..SENT {
        init.signal(rtmin);
    }
    init.signal(rtmin + 1);
    let counted = init
        .lines_until("helper: done")
        .into_iter()
        .find_map(|l| l.strip_prefix("helper: count=")?.parse::<usize>().ok())
        .expect("the helper's count");
    assert_eq!(counted, SENT, "every SIGRTMIN forwarded once");
    assert_eq!(init.wait().code(), Some(0));
}

/// The workload of `realtime_signals_are_each_forwarded`: counts SIGRTMIN until SIGRTMIN+1.
fn count_realtime_signals() -> ! {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static DONE: AtomicBool = AtomicBool::new(false);
    extern "C" fn on_signal(signo: libc::c_int) {
        if signo == libc::SIGRTMIN() {
            COUNT.fetch_add(1, Ordering::SeqCst);
        } else {
            DONE.store(true, Ordering::SeqCst);
        }
    }
    for signo in [libc::SIGRTMIN(), libc::SIGRTMIN() + 1] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(libc::sigaction(signo, &action, std::ptr::null_mut()), 0);
        }
    }
    // On a line of its own: the harness has already written "test NAME ... " without a newline.
    println!("\nhelper: ready");
    while !DONE.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // SIGRTMIN sorts before SIGRTMIN+1, so all were delivered before it; a handler still running
    // in the harness's other thread gets a moment to finish (only a failing run waits for it).
    let deadline = Instant::now() + Duration::from_secs(5);
    while COUNT.load(Ordering::SeqCst) < 1000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("helper: count={}", COUNT.load(Ordering::SeqCst));
    println!("helper: done");
    std::process::exit(0)
}

#[test]
#[verifies("signals.init.forward")]
fn group_flag_signals_the_whole_process_group() {
    // With -g, SIGTERM reaches the backgrounded sleep too (same process group as the shell).
    let script = "trap 'echo sh-term' TERM
        sleep 1000 & echo $!
        wait
        echo done";
    let mut init = Running::start(&mut init(&["-g", "--", "sh", "-c", script]));
    let sleep = wait_for_exec(&init.line(), "sleep");
    let _cleanup = KillOnDrop(sleep);
    init.signal(libc::SIGTERM);
    assert_eq!(init.line(), "sh-term");
    assert_eq!(init.line(), "done");
    assert_eq!(init.wait().code(), Some(0));
    eventually(
        "the backgrounded sleep to die of the forwarded SIGTERM",
        || !alive(sleep),
    );
}

#[test]
#[verifies("signals.init.fds")]
fn workload_has_only_fds_0_1_2() {
    // Descriptors the test leaks on purpose: neither is close-on-exec.
    let null = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open /dev/null");
    let (read_end, write_end): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    let leaked = [
        null.as_raw_fd(),
        read_end.as_raw_fd(),
        write_end.as_raw_fd(),
    ];
    let list = "ls /proc/$$/fd; echo end";

    // Control: without the init, a workload sees them.
    let out = Command::new("sh")
        .args(["-c", list])
        .output()
        .expect("run sh");
    let fds: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    for fd in leaked {
        assert!(fds.contains(&fd), "control: fd {fd} is inherited: {fds:?}");
    }

    let init = Running::start(&mut init(&sh(&format!("{list}; exec sleep 1000"))));
    let fds: Vec<String> = init.lines_until("end");
    assert_eq!(fds, ["0", "1", "2"], "the workload's descriptors");
    // The init itself keeps nothing but its signalfd.
    for entry in std::fs::read_dir(format!("/proc/{}/fd", init.pid())).expect("init's fds") {
        let entry = entry.expect("fd entry");
        let fd: i32 = entry.file_name().to_str().unwrap().parse().unwrap();
        if fd > 2 {
            let target = std::fs::read_link(entry.path()).expect("readlink");
            assert_eq!(
                target.to_str(),
                Some("anon_inode:[signalfd]"),
                "init fd {fd}"
            );
        }
    }
    drop((null, read_end, write_end));
}

#[test]
#[verifies("signals.init.signal-state")]
fn workload_starts_with_default_signal_state() {
    // The test starts the init (and, as a control, the same command without it) with SIGUSR1
    // ignored and SIGUSR2 blocked.
    fn dirty(cmd: &mut Command) -> &mut Command {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGUSR1, libc::SIG_IGN);
                let mut set = SigSet::empty();
                set.add(Signal::SIGUSR2);
                set.thread_block().map_err(std::io::Error::from)
            })
        }
    }
    let show = ["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"];
    // Bit N-1 of the masks stands for signal N.
    let masks = |lines: &[String]| -> (u64, u64) {
        let field = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
        };
        (field("SigBlk:"), field("SigIgn:"))
    };
    let out = dirty(Command::new(show[0]).args(&show[1..]))
        .output()
        .expect("run grep");
    let control: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let (blocked, ignored) = masks(&control);
    assert!(
        blocked & (1 << (libc::SIGUSR2 - 1)) != 0 && ignored & (1 << (libc::SIGUSR1 - 1)) != 0,
        "control: the dirty state is inherited: {control:?}"
    );

    let mut args = vec!["--"];
    args.extend(show);
    let mut init = Running::start(dirty(&mut init(&args)));
    let lines = [init.line(), init.line()];
    assert_eq!(
        masks(&lines),
        (0, 0),
        "the workload's mask and ignored set: {lines:?}"
    );
    assert_eq!(init.wait().code(), Some(0));
}

#[test]
#[verifies("signals.init.job-control")]
fn job_control_signals_to_the_init() {
    // SIGWINCH comes after TSTP, TTIN and TTOU in number order, so once the workload has seen
    // it, any of them that was forwarded has been seen too.
    let script = r#"for s in TSTP TTIN TTOU WINCH; do trap "echo $s" $s; done
        trap 'kill $p; exit 0' TERM
        sleep 1000 & p=$!
        echo $p
        while :; do wait $p; done"#;
    let mut init = Running::start(&mut init(&sh(script)));
    wait_for_exec(&init.line(), "sleep");
    for signo in [libc::SIGTTIN, libc::SIGTTOU, libc::SIGTSTP, libc::SIGWINCH] {
        init.signal(signo);
    }
    let seen = init.lines_until("WINCH");
    assert_eq!(seen, ["TSTP"], "TSTP forwarded, TTIN and TTOU not");
    let state = stat(init.pid()).expect("init's stat").state;
    assert_ne!(state, 'T', "the init is not stopped");
    init.signal(libc::SIGTERM);
    assert_eq!(init.wait().code(), Some(0));
}

/// Makes the pty `slave` the controlling terminal and stdin of `cmd`, in a new session (what runc
/// does for `terminal: true`).
fn on_terminal(cmd: &mut Command, slave: OwnedFd) -> &mut Command {
    cmd.stdin(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

#[test]
#[verifies("signals.init.tty")]
fn workload_is_the_terminals_foreground_group() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let script = "cat /proc/$$/stat; exec sleep 1000";
    let mut init = Running::start(on_terminal(&mut init(&sh(script)), pty.slave));
    let workload = parse_stat(&init.line()).expect("the workload's stat");
    assert_eq!(workload.ppid, init.pid());
    assert_eq!(workload.pgrp, workload.pid, "a process group of its own");
    assert_eq!(
        workload.tpgid, workload.pid,
        "the terminal's foreground group"
    );
    wait_for_workload(&init, "sleep");
    // Ctrl-C on the terminal reaches the foreground group: the workload dies of SIGINT.
    let mut master = std::fs::File::from(pty.master);
    master.write_all(b"\x03").expect("write ^C");
    assert_eq!(init.wait().code(), Some(128 + libc::SIGINT));
}

#[test]
#[verifies("signals.init.tty")]
fn background_init_does_not_take_the_terminal() {
    // An interactive-style shell (`sh -m`, job control on) owns the terminal and runs the init
    // twice: as a background job (it must not take the terminal) and in the foreground.
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let init = init_bin();
    let script = format!(
        "{init} -- sh -c 'cat /proc/$$/stat' & wait
        {init} -- sh -c 'cat /proc/$$/stat'
        echo \"shell $$\""
    );
    let mut shell = Running::start(on_terminal(
        Command::new("sh").args(["-m", "-c", &script]),
        pty.slave,
    ));
    let background = parse_stat(&shell.line()).expect("the background workload's stat");
    let foreground = parse_stat(&shell.line()).expect("the foreground workload's stat");
    let shell_pid: i32 = shell
        .line()
        .strip_prefix("shell ")
        .and_then(|p| p.parse().ok())
        .expect("the shell's pid");
    assert_eq!(
        background.pgrp, background.pid,
        "a process group of its own"
    );
    assert_eq!(
        background.tpgid, shell_pid,
        "the terminal stays with the shell while the init runs in the background"
    );
    assert_eq!(
        foreground.tpgid, foreground.pid,
        "in the foreground, the workload gets it"
    );
    assert_eq!(shell.wait().code(), Some(0));
    drop(pty.master);
}

#[test]
#[verifies("isolation.namespaces.user-nested")]
fn userns_runs_the_workload_as_the_given_ids_over_the_callers_own() {
    let dir = tempfile_dir("userns");
    let script = "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; \
                  cat /proc/self/setgroups; echo x > \"$1/written\"; stat -c %u:%g \"$1/written\"";
    let out = Command::new(init_bin())
        .args(["--userns", "1000:1001", "--", "sh", "-c", script, "sh"])
        .arg(&dir)
        .output()
        .expect("run locald-init");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (euid, egid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let fields: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (uid_map, gid_map) = (euid.to_string(), egid.to_string());
    assert_eq!(
        fields,
        [
            vec!["1000"],
            vec!["1001"],
            vec!["1000", uid_map.as_str(), "1"],
            vec!["1001", gid_map.as_str(), "1"],
            vec!["deny"],
            // The caller's own ids, seen from inside.
            vec!["1000:1001"],
        ],
        "{stdout}"
    );
    // On the host the file belongs to the caller.
    let meta = std::fs::metadata(dir.join("written")).expect("the workload wrote the file");
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (euid.as_raw(), egid.as_raw()));
    std::fs::remove_dir_all(&dir).expect("remove test dir");
}

/// The `CapEff`, `CapBnd` and `CapAmb` masks a `--userns` workload reports (its `CapInh`
/// must be empty).
fn nested_caps(ids: &str) -> (u64, u64, u64) {
    let out = Command::new(init_bin())
        .args([
            "--userns",
            ids,
            "--",
            "grep",
            "-E",
            "^Cap(Inh|Eff|Bnd|Amb):",
            "/proc/self/status",
        ])
        .output()
        .expect("run locald-init");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mask = |name: &str| {
        let line = stdout.lines().find(|l| l.starts_with(name)).expect(name);
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("CapInh:"), 0, "{stdout}");
    (mask("CapEff:"), mask("CapBnd:"), mask("CapAmb:"))
}

/// This process's own permitted capability mask.
fn own_permitted() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapPrm:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
#[verifies("isolation.namespaces.user-nested")]
fn userns_workload_gets_no_capability_beyond_the_inits_and_never_setfcap() {
    const CAP_SETFCAP: u64 = 1 << 31;
    let allowed = own_permitted() & !CAP_SETFCAP;
    // A non-zero uid in the nested namespace: nothing effective after exec, and a bounding set
    // that a file with capabilities cannot exceed.
    let (eff, bnd, amb) = nested_caps("1000:1001");
    assert_eq!((eff, amb), (0, 0));
    assert_eq!(bnd, allowed, "bounding {bnd:x}, allowed {allowed:x}");
    // uid 0 there (only the gid differs): what the init holds, never the whole new namespace's.
    let (eff, bnd, _) = nested_caps("0:1001");
    assert_eq!(bnd & CAP_SETFCAP, 0, "bounding {bnd:x}");
    assert_eq!(eff, allowed, "effective {eff:x}, allowed {allowed:x}");
}

#[test]
#[verifies("isolation.namespaces.user-nested")]
fn userns_needs_uid_and_gid() {
    for bad in [&["--userns", "1000", "--", "true"][..], &["--userns"][..]] {
        let (status, stderr) = run(bad);
        assert_eq!(status.code(), Some(2), "{bad:?}");
        assert!(stderr.contains("--userns needs UID:GID"), "{stderr}");
    }
}

#[test]
#[verifies(
    "isolation.namespaces.user-nested",
    "signals.init.forward",
    "signals.init.exit-status"
)]
fn userns_workload_gets_forwarded_signals_and_its_status_passes_through() {
    // Stopping a nested workload works as for any other: SIGTERM is forwarded across the
    // nested user namespace, and death by signal or an exit code comes back unchanged.
    let mut init = Running::start(&mut init(&["--userns", "1000:1001", "--", "sleep", "1000"]));
    wait_for_workload(&init, "sleep");
    init.signal(libc::SIGTERM);
    assert_eq!(init.wait().code(), Some(143));
    let (status, _) = run(&["--userns", "1000:1001", "--", "sh", "-c", "exit 82"]);
    assert_eq!(status.code(), Some(82));
}

/// A fresh directory under the temp dir, owned by the caller.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("locald-init-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("create test dir");
    dir
}

/// `--parent-death SIG`: when the init's parent dies, the workload gets SIG, as if the init had
/// been sent it. The parent here is a shell that starts the init in the background and exits;
/// the workload reports the signal through a file, since nobody is left to read its output.
#[test]
#[verifies("signals.init.parent-death")]
fn the_parents_death_reaches_the_workload() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("got");
    orphan_the_init(
        &format!("--parent-death {}", libc::SIGUSR1),
        &marker,
        "trap 'echo got-usr1 > {m}; exit 0' USR1; echo ready > {m}.ready; \
         while :; do sleep 0.1; done",
    );
    eventually("the workload got the parent-death signal", || {
        std::fs::read_to_string(&marker).is_ok_and(|t| t == "got-usr1\n")
    });
    // Without the option, the parent's death goes unnoticed.
    let quiet = dir.path().join("quiet");
    orphan_the_init(
        "",
        &quiet,
        "trap 'echo signalled > {m}; exit 0' USR1 TERM HUP; echo ready > {m}.ready; sleep 2; \
         echo untouched > {m}",
    );
    eventually("the workload finished on its own", || {
        std::fs::read_to_string(&quiet).is_ok_and(|t| t == "untouched\n")
    });
}

/// A pipe for `--lifeline 3`: `cmd` gets its read end as descriptor 3; the write end, returned,
/// is the engine's (close-on-exec: the init never holds it).
fn lifeline(cmd: &mut Command) -> OwnedFd {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let r_fd = r.as_raw_fd();
    // SAFETY: dup2(2) and fcntl(2) on descriptors the child owns: async-signal-safe. The read
    // end moves into the closure, so it stays open until the spawn.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &r;
            let rc = if r_fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(r_fd, 3)
            };
            if rc == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    w
}

/// `--lifeline FD`: an init started after the engine died — the pipe's write end, which only
/// the engine held, already closed — starts no workload and exits 128+SIG. With the write end
/// held, or with no pipe at FD, the workload runs. The kernel's parent-death signal cannot
/// cover this case: it comes only for a parent that dies after the init asked.
#[test]
#[verifies("signals.init.parent-death", "lifecycle.engine-death")]
fn an_init_started_after_the_engine_died_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("echo ran > {}", marker.display());
    // The init with the lifeline's read end at 3, told it is at `fd`, the write end held while
    // it runs or closed before it starts; its status and stderr.
    let start = |fd: &str, engine_alive: bool| {
        let mut cmd = init(&[
            "--parent-death",
            "15",
            "--lifeline",
            fd,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let held = engine_alive.then(|| lifeline(&mut cmd));
        if !engine_alive {
            drop(lifeline(&mut cmd));
        }
        let mut running = Running::start(cmd.stderr(Stdio::piped()));
        let status = running.wait();
        drop(held);
        let mut stderr = String::new();
        running
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status, stderr)
    };
    let (status, stderr) = start("3", false);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("the engine is gone"), "{stderr}");
    assert!(!marker.exists(), "the workload ran for a dead engine");
    // A live engine; a runtime that passes no pipe there (libcontainer): not a lifeline.
    for (fd, engine_alive, case) in [("3", true, "a live engine"), ("1000", false, "no lifeline")] {
        let (status, stderr) = start(fd, engine_alive);
        assert_eq!(status.code(), Some(0), "{case}: {stderr}");
        assert!(marker.exists(), "the workload did not run with {case}");
        std::fs::remove_file(&marker).unwrap();
    }
    // Nor is a pipe's write end, which reports an error, never a hang-up, once its readers are
    // gone: the workload runs, and the init does not keep it (nor poll it for ever).
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(r);
    let w_fd = w.as_raw_fd();
    let w_dup = w.try_clone().unwrap();
    let mut cmd = init(&[
        "--lifeline",
        "3",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 1000",
    ]);
    // SAFETY: dup2(2) on descriptors the child owns: async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &w;
            if w_fd != 3 && libc::dup2(w_fd, 3) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(3, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let mut running = Running::start(&mut cmd);
    assert_eq!(running.line(), "ready");
    let pipe = format!("pipe:[{}]", nix::sys::stat::fstat(&w_dup).unwrap().st_ino);
    let fds = std::fs::read_dir(format!("/proc/{}/fd", running.pid())).unwrap();
    let mut kept = fds.filter_map(|e| std::fs::read_link(e.unwrap().path()).ok());
    assert!(
        kept.all(|l| l.to_str() != Some(pipe.as_str())),
        "the init keeps someone's write end open"
    );
    running.is_still_running_and_ends_on_sigterm();
    // Nor is a standard stream, which a terminal's hang-up would close.
    let (status, stderr) = run(&["--lifeline", "1", "--", "true"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--lifeline needs a descriptor above 2"),
        "{stderr}"
    );
}

/// The lifeline's hang-up while the workload runs — the engine gone, however it died — reaches
/// the workload as SIG, once; the workload never holds the pipe itself.
#[test]
#[verifies(
    "signals.init.parent-death",
    "lifecycle.engine-death",
    "signals.init.fds"
)]
fn the_lifelines_hang_up_stops_the_workload() {
    let usr1 = libc::SIGUSR1.to_string();
    let mut cmd = init(&[
        "--parent-death",
        &usr1,
        "--lifeline",
        "3",
        "--",
        "sh",
        "-c",
        "trap 'echo got-usr1; exit 7' USR1; \
         if [ -e /proc/$$/fd/3 ]; then echo holds-3; fi; echo ready; \
         while :; do sleep 0.1; done",
    ]);
    let engine = lifeline(&mut cmd);
    let mut init = Running::start(&mut cmd);
    assert_eq!(init.lines_until("ready"), Vec::<String>::new());
    // Still running while the engine holds its end.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        init.child.try_wait().unwrap().is_none(),
        "the init ended early"
    );
    drop(engine);
    assert_eq!(init.line(), "got-usr1");
    assert_eq!(init.wait().code(), Some(7));
}

/// A parent shell starts `locald-init OPTIONS -- sh -c WORKLOAD` in the background, waits for
/// the workload to write `MARKER.ready`, and exits, orphaning the init. `{m}` in `workload`
/// stands for the marker's path.
fn orphan_the_init(options: &str, marker: &std::path::Path, workload: &str) {
    let m = marker.display().to_string();
    let workload = workload.replace("{m}", &m);
    let parent = format!(
        "{init} {options} -- sh -c \"$0\" & while [ ! -e {m}.ready ]; do sleep 0.05; done; exit 0",
        init = init_bin(),
    );
    let status = Command::new("sh")
        .args(["-c", &parent, &workload])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}
