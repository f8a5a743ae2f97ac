//! `locald-init`: the init the engine runs as PID 1 of a container.
//!
//! ```text
//! locald-init [-g] [--userns UID:GID] [--] CMD [ARG...]
//! ```
//!
//! It runs `CMD` as its only child, the workload, forwards to it the signals it receives, reaps
//! every child (orphans included) and exits with the workload's status. The chapter "Signals and
//! PID 1" (`book/src/signals.md`) specifies it; each function names the requirements it
//! implements.
//!
//! The whole program is one loop over a signalfd: every signal but the synchronous ones stays
//! blocked, so nothing runs asynchronously and nothing is lost between two reads.

use locald_spec_macros::implements;
use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{
    ForkResult, Pid, execvp, fork, getpgrp, getpid, isatty, setpgid, tcgetpgrp, tcsetpgrp,
};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;

const USAGE: &str = "usage: locald-init [-g] [--userns UID:GID] [--] CMD [ARG...]";

const HELP: &str = "
Runs CMD as its child, forwards the signals it receives to CMD, reaps every child
and exits with CMD's exit status (128+N when signal N killed it, 127 when CMD is
not found, 126 when it cannot be executed).

  -g             forward signals to CMD's process group instead of CMD alone
  --userns UID:GID
                 run CMD in a new user namespace in which the init's own uid and
                 gid are UID and GID
  -h, --help     print this help
  -V, --version  print the version";

/// What the kernel sends a process that faulted: left unblocked with their default action, so
/// that a fault of the init kills it, and never forwarded.
const SYNCHRONOUS: [Signal; 7] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

fn main() {
    // First of all, so that a signal arriving from now on waits in the queue for the loop.
    let blocked = blocked_signals();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&blocked), None) {
        die(&format!("cannot block signals: {e}"));
    }
    let Options {
        group,
        userns,
        argv,
    } = parse_args();
    close_inherited_fds();
    let signals = SignalFd::with_flags(&blocked, SfdFlags::SFD_CLOEXEC)
        .unwrap_or_else(|e| die(&format!("cannot create a signalfd: {e}")));
    default_dispositions();
    become_subreaper();
    let workload = spawn(&argv, should_take_terminal(), userns);
    std::process::exit(supervise(&signals, workload, group));
}

/// Every signal but the synchronous ones (glibc keeps its two internal signals out too).
#[implements("signals.init.forward")]
fn blocked_signals() -> SigSet {
    let mut set = SigSet::all();
    for s in SYNCHRONOUS {
        set.remove(s);
    }
    set
}

/// The command line.
struct Options {
    /// `-g`: signal the workload's process group.
    group: bool,
    /// `--userns UID:GID`: the workload's ids in a nested user namespace.
    userns: Option<(u32, u32)>,
    /// `CMD` and its arguments.
    argv: Vec<CString>,
}

/// Reads the options and `CMD` with its arguments.
fn parse_args() -> Options {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(OsStringExt::into_vec)
        .collect();
    let mut group = false;
    let mut userns = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.as_slice() {
            b"-g" => group = true,
            b"--userns" => {
                i += 1;
                let value = args.get(i).map(|v| String::from_utf8_lossy(v));
                userns = Some(
                    value
                        .as_deref()
                        .and_then(parse_ids)
                        .unwrap_or_else(|| usage_error("--userns needs UID:GID")),
                );
            }
            b"--" => {
                i += 1;
                break;
            }
            b"-h" | b"--help" => {
                let _ = writeln!(std::io::stdout(), "{USAGE}\n{HELP}");
                std::process::exit(0);
            }
            b"-V" | b"--version" => {
                let _ = writeln!(
                    std::io::stdout(),
                    "locald-init {}",
                    env!("CARGO_PKG_VERSION")
                );
                std::process::exit(0);
            }
            [b'-', _, ..] => {
                usage_error(&format!("unknown option {}", String::from_utf8_lossy(arg)))
            }
            _ => break,
        }
        i += 1;
    }
    if i == args.len() {
        usage_error("no command given");
    }
    let argv = args[i..]
        .iter()
        // Arguments come from a C argv: they cannot contain a NUL byte.
        .filter_map(|a| CString::new(a.as_slice()).ok())
        .collect();
    Options {
        group,
        userns,
        argv,
    }
}

/// `UID:GID`, both decimal.
fn parse_ids(s: &str) -> Option<(u32, u32)> {
    let (u, g) = s.split_once(':')?;
    let id = |x: &str| {
        x.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| x.parse().ok())
            .flatten()
    };
    Some((id(u)?, id(g)?))
}

/// Closes every descriptor above 2 the init inherited; all it opens later is close-on-exec.
#[implements("signals.init.fds")]
fn close_inherited_fds() {
    let last = libc::c_uint::MAX as usize;
    // SAFETY: no descriptor above 2 is owned by anything in this process yet.
    if unsafe { libc::syscall(libc::SYS_close_range, 3usize, last, 0usize) } == 0 {
        return;
    }
    // Linux older than 5.9 has no close_range: close what /proc/self/fd lists.
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return warn("cannot close inherited file descriptors: /proc/self/fd is unreadable");
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: as above; the directory's own descriptor is already closed (EBADF, ignored).
        unsafe { libc::close(fd) };
    }
}

/// Default dispositions for SIGCHLD and the synchronous signals. An ignored SIGCHLD (inherited
/// from whoever started the init) would make the kernel discard the status of every child, the
/// workload's included; Rust's runtime handles SIGSEGV and SIGBUS, and would survive one sent
/// with kill(2).
#[implements("signals.init.reap", "signals.init.forward")]
fn default_dispositions() {
    for s in std::iter::once(Signal::SIGCHLD).chain(SYNCHRONOUS) {
        // SAFETY: installs no handler, only the default disposition.
        if let Err(e) = unsafe { signal(s, SigHandler::SigDfl) } {
            warn(&format!("cannot reset {s}: {e}"));
        }
    }
}

#[implements("signals.init.subreaper")]
fn become_subreaper() {
    if getpid() != Pid::from_raw(1)
        && let Err(e) = nix::sys::prctl::set_child_subreaper(true)
    {
        warn(&format!(
            "cannot become a child subreaper ({e}): orphans will not be reaped"
        ));
    }
}

/// Whether to give the terminal to the workload: only when stdin is a terminal and the init's
/// own process group is in the foreground there (never steal it from a shell that started the
/// init in the background).
#[implements("signals.init.tty")]
fn should_take_terminal() -> bool {
    let stdin = std::io::stdin();
    isatty(&stdin).unwrap_or(false) && tcgetpgrp(&stdin).is_ok_and(|fg| fg == getpgrp())
}

/// Forks the workload and returns its PID.
#[implements("signals.init.tty")]
fn spawn(argv: &[CString], take_terminal: bool, userns: Option<(u32, u32)>) -> Pid {
    // SAFETY: the init is single-threaded, so the child may do whatever the parent could.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            // As the child does: whichever runs first, `-g` finds the group.
            let _ = setpgid(child, child);
            child
        }
        Ok(ForkResult::Child) => {
            if let Some((uid, gid)) = userns
                && let Err(e) = enter_user_namespace(uid, gid)
            {
                warn(&format!(
                    "cannot run the command as {uid}:{gid} in a nested user namespace: {e}"
                ));
                // SAFETY: leaves at once, as a failed exec does.
                unsafe { libc::_exit(126) }
            }
            exec_workload(argv, take_terminal)
        }
        Err(e) => die(&format!("cannot fork: {e}")),
    }
}

/// In the forked child, before the exec: a new user namespace whose only uid (gid) mapping is
/// `uid` (`gid`) to the caller's own effective uid (gid), with setgroups(2) denied, as
/// `unshare --user --map-user=UID --map-group=GID` does. The process then is `uid`:`gid`, and
/// every file of its former ids belongs to `uid`:`gid`. The kernel allows these one-line
/// mappings of the caller's own ids without privilege, except that mapping the parent's uid 0
/// needs `CAP_SETFCAP` at the unshare (user_namespaces(7)); the engine grants it to the init.
///
/// A new user namespace gives its creator every capability in it, and its bounding set is full:
/// a workload that is uid 0 there, or that executes a file with capabilities, would get them.
/// So the child then confines itself to the capabilities the init was given, without
/// `CAP_SETFCAP` (granted only for the unshare): the bounding, permitted and effective sets
/// become that set, and the inheritable and ambient sets are cleared, as runc leaves them.
#[implements("isolation.namespaces.user-nested")]
fn enter_user_namespace(uid: u32, gid: u32) -> Result<(), String> {
    use caps::{CapSet, Capability};
    let (outer_uid, outer_gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let mut keep = caps::read(None, CapSet::Permitted)
        .map_err(|e| format!("read the init's capabilities: {e}"))?;
    keep.remove(&Capability::CAP_SETFCAP);
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    let write = |file: &str, text: String| {
        std::fs::write(file, &text).map_err(|e| format!("write {text:?} to {file}: {e}"))
    };
    // Unprivileged, gid_map can only be written once setgroups is denied.
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {outer_uid} 1\n"))?;
    write("/proc/self/gid_map", format!("{gid} {outer_gid} 1\n"))?;
    let confine = |what: &str, e: caps::errors::CapsError| format!("{what}: {e}");
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| confine("drop from the bounding set", e))?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| confine("clear the ambient set", e))?;
    caps::clear(None, CapSet::Inheritable).map_err(|e| confine("clear inheritable", e))?;
    caps::set(None, CapSet::Effective, &keep).map_err(|e| confine("set effective", e))?;
    caps::set(None, CapSet::Permitted, &keep).map_err(|e| confine("set permitted", e))
}

/// In the forked child: a process group of its own, the terminal if `take_terminal`, a clean
/// signal state, then `execvp`; exits 127 or 126 if that fails.
#[implements(
    "signals.init.tty",
    "signals.init.signal-state",
    "signals.init.exec-failure"
)]
fn exec_workload(argv: &[CString], take_terminal: bool) -> ! {
    let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // Every signal is still blocked, so tcsetpgrp from a background group gets no SIGTTOU.
    if take_terminal && let Err(e) = tcsetpgrp(std::io::stdin(), getpid()) {
        warn(&format!("cannot give the terminal to the command: {e}"));
    }
    // The raw system call: glibc's sigaction refuses its two internal signals (32 and 33),
    // which may have been inherited ignored too. An all-zero kernel sigaction is SIG_DFL.
    let default = [0u64; 4];
    for signo in 1..=libc::SIGRTMAX() {
        // SAFETY: `default` outlives the call. SIGKILL and SIGSTOP refuse (EINVAL), harmlessly.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signo as libc::c_long,
                default.as_ptr(),
                0usize,
                8usize,
            )
        };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let Err(e) = execvp(&argv[0], argv);
    let code = if e == Errno::ENOENT { 127 } else { 126 };
    warn(&format!(
        "cannot execute \"{}\": {}",
        argv[0].to_string_lossy(),
        e.desc()
    ));
    // SAFETY: leaves at once, without running the exit handlers the parent will run.
    unsafe { libc::_exit(code) }
}

/// The main loop: forward, reap, and return the exit code once the workload is gone.
#[implements("signals.init.forward", "signals.init.job-control")]
fn supervise(signals: &SignalFd, workload: Pid, group: bool) -> i32 {
    loop {
        let signo = match signals.read_signal() {
            Ok(Some(info)) => info.ssi_signo as i32,
            Ok(None) | Err(Errno::EINTR) => continue,
            Err(e) => die(&format!("cannot read signals: {e}")),
        };
        match signo {
            libc::SIGCHLD => {
                if let Some(code) = reap(workload) {
                    return code;
                }
            }
            // Sent to the init's own group for touching the terminal from the background:
            // not the workload's business. Blocked, they cannot stop the init.
            libc::SIGTTIN | libc::SIGTTOU => {}
            _ => forward(signo, workload, group),
        }
    }
}

/// Sends `signo` to the workload, or to its process group with `-g` (to the workload alone if
/// it has left its group). The number is passed as is: real-time signals included.
#[implements("signals.init.forward")]
fn forward(signo: i32, workload: Pid, group: bool) {
    let pid = workload.as_raw();
    // SAFETY: kill(2) has no memory-safety preconditions. ESRCH (already gone) is ignored.
    if !(group && unsafe { libc::kill(-pid, signo) } == 0) {
        unsafe { libc::kill(pid, signo) };
    }
}

/// Reaps every terminated child; returns the exit code when the workload was among them.
///
/// libc's `waitpid` rather than nix's: nix cannot represent a death by a real-time signal and
/// would turn the workload's status into an error after the kernel had already discarded it.
#[implements("signals.init.reap")]
fn reap(workload: Pid) -> Option<i32> {
    let mut code = None;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid place for the kernel to write to.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            // 0: children remain but none has terminated; -1: ECHILD, no child at all.
            return code;
        }
        if pid == workload.as_raw() {
            code = Some(exit_code(status));
        }
    }
}

/// The shell's convention: the exit status, or 128 + N for a death by signal N.
#[implements("signals.init.exit-status")]
fn exit_code(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Writes to stderr; never panics (stderr may be closed or unwritable).
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "locald-init: {message}");
}

fn die(message: &str) -> ! {
    warn(message);
    std::process::exit(1)
}

fn usage_error(message: &str) -> ! {
    warn(message);
    let _ = writeln!(std::io::stderr(), "{USAGE}");
    std::process::exit(2)
}
