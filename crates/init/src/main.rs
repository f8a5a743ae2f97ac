//! `locald-init`: the init the engine runs as PID 1 of a container.
//!
//! ```text
//! locald-init [-g] [--userns UID:GID] [--parent-death SIG] [--lifeline FD] [--] CMD [ARG...]
//! ```
//!
//! It runs `CMD` as its only child, the workload, forwards to it the signals it receives, reaps
//! every child (orphans included) and exits with the workload's status. The chapter "Signals and
//! PID 1" (`book/src/signals.md`) specifies it; each function names the requirements it
//! implements.
//!
//! The whole program is one loop over a signalfd (polled with the engine's lifeline, when it has
//! one): every signal but the synchronous ones stays blocked, so nothing runs asynchronously and
//! nothing is lost between two reads.
//!
//! Every container pays for its init, in memory and in start time, so it is written against the
//! C library alone, as tini and catatonit are: no Rust standard library (`no_std`, and
//! `no_main`: C's `main` below is the entry point), no heap but for a script's `argv`
//! ([`execv`]), messages formatted by `core::fmt` into a buffer on the stack ([`Writer`]).
//! `ci/test` builds it statically linked with musl, with the cargo profile `init` (panic =
//! abort, LTO, stripped): about 40 KB, a thirtieth of the std build with static glibc, and it
//! starts faster than tini-static (README, Decisions: "locald-init: no_std, linked statically
//! with musl").
//!
//! Two functions of musl do not do what this init needs, so it does their work itself: musl's
//! signal sets leave out signals 32 to 34, and 34 is the SIGRTMIN of glibc programs, which the
//! init must forward ([`SigMask`]); musl's `execvp` neither runs a script without `#!` with
//! `/bin/sh` nor searches glibc's default `PATH` ([`execvp`]).

#![no_std]
#![no_main]

// Under panic = unwind, which the dev and test profiles use and which cargo does not let one
// package override, a binary needs std's unwinding runtime: std is linked in for that alone.
// The `init` profile aborts instead, and the handler below replaces it.
#[cfg(not(panic = "abort"))]
extern crate std;

use core::ffi::{CStr, c_char, c_int, c_long, c_void};
use core::fmt::{self, Write as _};
use libc::pid_t;
use locald_spec_macros::implements;

// Without std, the `libc` crate leaves linking the C library to the program (its documentation,
// "Cargo Features"); static or not as the target says.
#[cfg(panic = "abort")]
#[link(name = "c")]
unsafe extern "C" {}

#[cfg(panic = "abort")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing here panics but on a bug (an index out of bounds); die of SIGABRT, as C's assert.
    // SAFETY: abort(3) has no preconditions.
    unsafe { libc::abort() }
}

/// `locald-init: MESSAGE` on stderr, MESSAGE formatted as by `format!`.
macro_rules! warn {
    ($($message:tt)*) => {
        print(libc::STDERR_FILENO, format_args!("locald-init: {}\n", format_args!($($message)*)))
    };
}

/// [`warn!`], then exit 1: the init itself failed.
macro_rules! die {
    ($($message:tt)*) => {{
        warn!($($message)*);
        exit(1)
    }};
}

/// [`warn!`] and the usage, then exit 2.
macro_rules! usage_error {
    ($($message:tt)*) => {{
        warn!($($message)*);
        print(libc::STDERR_FILENO, format_args!("{USAGE}\n"));
        exit(2)
    }};
}

const USAGE: &str = "usage: locald-init [-g] [--userns UID:GID] [--parent-death SIG] [--lifeline FD] [--] CMD [ARG...]";

const HELP: &str = "
Runs CMD as its child, forwards the signals it receives to CMD, reaps every child
and exits with CMD's exit status (128+N when signal N killed it, 127 when CMD is
not found, 126 when it cannot be executed).

  -g             forward signals to CMD's process group instead of CMD alone
  --parent-death SIG
                 when the engine is gone (told by the lifeline, or without one by
                 the death of the init's parent, the runtime), forward signal
                 number SIG to CMD as if the init had received it
  --lifeline FD  the read end of a pipe whose only write end the engine holds:
                 hung up at the start, CMD is not started; hung up later, SIG
                 (default SIGTERM) is forwarded to CMD
  --userns UID:GID
                 run CMD in a new user namespace in which the init's own uid and
                 gid are UID and GID
  -h, --help     print this help
  -V, --version  print the version";

/// What the kernel sends a process that faulted: left unblocked with their default action, so
/// that a fault of the init kills it, and never forwarded.
const SYNCHRONOUS: [c_int; 7] = [
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The signals glibc reserves for its threads (SIGCANCEL, SIGSETXID) and keeps out of every
/// signal set: neither blocked nor forwarded, as by tini and catatonit built with glibc.
const GLIBC_INTERNAL: [c_int; 2] = [32, 33];

/// The highest signal number on Linux (x86_64, aarch64: every architecture but MIPS).
const LAST_SIGNAL: c_int = 64;

/// A set of signals as the kernel reads it: bit N-1 stands for signal N. The init passes its sets
/// straight to the system calls rather than through the C library's `sigset_t`, whose functions
/// leave out the library's own reserved signals: musl's (`sigfillset`, `sigaddset`) leave out 32,
/// 33 and 34, and 34 is glibc's SIGRTMIN, which a glibc workload uses.
type SigMask = u64;

/// Signal `signo` alone.
fn sig(signo: c_int) -> SigMask {
    1 << (signo - 1)
}

/// An `errno` value; shown as `strerror(3)` words it.
#[derive(Clone, Copy, PartialEq)]
struct Errno(c_int);

impl Errno {
    fn last() -> Errno {
        // SAFETY: errno is thread-local and always readable.
        Errno(unsafe { *libc::__errno_location() })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // SAFETY: strerror returns a NUL-terminated string, valid until the next call; the init
        // has a single thread.
        let text = unsafe { CStr::from_ptr(libc::strerror(self.0)) };
        Lossy(text.to_bytes()).fmt(f)
    }
}

/// The result of a C call that returns -1 and sets errno on failure.
fn check<T: PartialEq + From<i8>>(ret: T) -> Result<T, Errno> {
    if ret == T::from(-1) {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// # Safety
///
/// The C runtime calls it with `argc` strings in `argv`, followed by a null pointer.
#[unsafe(no_mangle)]
unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // First of all, so that a signal arriving from now on waits in the queue for the loop.
    let blocked = blocked_signals();
    if let Err(e) = set_signal_mask(blocked) {
        die!("cannot block signals: {e}");
    }
    // SAFETY: as the caller promises (argc is never negative).
    let args = unsafe { core::slice::from_raw_parts(argv, argc as usize) };
    let Options {
        group,
        userns,
        parent_death,
        lifeline,
        argv,
    } = parse_args(args);
    let stop = parent_death.unwrap_or(libc::SIGTERM);
    let lifeline = lifeline.filter(|&fd| is_pipe(fd));
    match lifeline {
        // An engine already gone gets no workload started.
        Some(fd) if engine_is_gone(fd) => {
            warn!("the engine is gone: the workload is not started");
            exit(128 + stop)
        }
        Some(_) => {}
        None => {
            if let Some(sig) = parent_death {
                ask_for_parent_death_signal(sig);
            }
        }
    }
    close_inherited_fds(lifeline);
    let signals = signalfd(blocked).unwrap_or_else(|e| die!("cannot create a signalfd: {e}"));
    default_dispositions();
    become_subreaper();
    let workload = spawn(argv, should_take_terminal(), userns);
    let lifeline = lifeline.map(|fd| Lifeline { fd, stop });
    supervise(signals, lifeline, workload, group)
}

/// Every signal but the synchronous ones and glibc's two internal ones.
#[implements("signals.init.forward")]
fn blocked_signals() -> SigMask {
    let mut mask = SigMask::MAX;
    for s in SYNCHRONOUS.into_iter().chain(GLIBC_INTERNAL) {
        mask &= !sig(s);
    }
    mask
}

/// The kernel's sigset is 8 bytes: [`SigMask`].
const SIGSET_SIZE: usize = size_of::<SigMask>();

fn set_signal_mask(mask: SigMask) -> Result<(), Errno> {
    // SAFETY: `mask` outlives the call; the old mask is not asked for.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK as c_long,
            &mask as *const SigMask,
            core::ptr::null_mut::<SigMask>(),
            SIGSET_SIZE,
        )
    };
    check(ret).map(drop)
}

fn signalfd(mask: SigMask) -> Result<c_int, Errno> {
    // SAFETY: as above; -1 asks for a new descriptor, close-on-exec.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            -1 as c_long,
            &mask as *const SigMask,
            SIGSET_SIZE,
            libc::SFD_CLOEXEC as c_long,
        )
    };
    check(ret).map(|fd| fd as c_int)
}

/// The command line.
struct Options<'a> {
    /// `-g`: signal the workload's process group.
    group: bool,
    /// `--userns UID:GID`: the workload's ids in a nested user namespace.
    userns: Option<(u32, u32)>,
    /// `--parent-death SIG`: the stop signal, forwarded when the engine is gone.
    parent_death: Option<c_int>,
    /// `--lifeline FD`: the read end of a pipe whose write end the engine holds until it dies.
    lifeline: Option<c_int>,
    /// `CMD` and its arguments: the tail of the init's own `argv`, so that the null pointer
    /// after it ends this one too and `argv.as_ptr()` can be passed to `execv`.
    argv: &'a [*const c_char],
}

/// Reads the options and `CMD` with its arguments.
fn parse_args(args: &[*const c_char]) -> Options<'_> {
    // SAFETY: every pointer in `args` is a NUL-terminated string (see `main`).
    let arg = |i: usize| {
        args.get(i)
            .map(|&a| unsafe { CStr::from_ptr(a) }.to_bytes())
    };
    let mut group = false;
    let mut userns = None;
    let mut parent_death = None;
    let mut lifeline = None;
    let mut i = 1;
    while let Some(a) = arg(i) {
        match a {
            b"-g" => group = true,
            b"--userns" => {
                i += 1;
                let ids = arg(i).and_then(parse_ids);
                userns = Some(ids.unwrap_or_else(|| usage_error!("--userns needs UID:GID")));
            }
            b"--parent-death" => {
                i += 1;
                let sig = arg(i)
                    .and_then(decimal::<c_int>)
                    .filter(|s| (1..=64).contains(s));
                parent_death = Some(
                    sig.unwrap_or_else(|| usage_error!("--parent-death needs a signal number")),
                );
            }
            b"--lifeline" => {
                i += 1;
                // Not a standard stream: a terminal hangs up too.
                let fd = arg(i).and_then(decimal::<c_int>).filter(|&fd| fd > 2);
                lifeline = Some(
                    fd.unwrap_or_else(|| usage_error!("--lifeline needs a descriptor above 2")),
                );
            }
            b"--" => {
                i += 1;
                break;
            }
            b"-h" | b"--help" => {
                print(libc::STDOUT_FILENO, format_args!("{USAGE}\n{HELP}\n"));
                exit(0);
            }
            b"-V" | b"--version" => {
                let version = env!("CARGO_PKG_VERSION");
                print(libc::STDOUT_FILENO, format_args!("locald-init {version}\n"));
                exit(0);
            }
            [b'-', _, ..] => usage_error!("unknown option {}", Lossy(a)),
            _ => break,
        }
        i += 1;
    }
    if i >= args.len() {
        usage_error!("no command given");
    }
    Options {
        group,
        userns,
        parent_death,
        lifeline,
        argv: &args[i..],
    }
}

/// Without a lifeline: have the kernel send `sig` to the init when its parent — the runtime —
/// dies: the signal is blocked like every other, so it reaches the loop, which forwards it to
/// the workload as the stop signal. A runtime killed with the engine (`lifecycle.engine-death`) thus stops the
/// container gracefully instead of leaving it unsupervised. The kernel sends it even to a PID
/// namespace's init: blocked signals are never ignored (kernel/signal.c, `sig_ignored`).
#[implements("signals.init.parent-death")]
fn ask_for_parent_death_signal(sig: c_int) {
    // SAFETY: prctl(2) with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as c_long) } == -1 {
        warn!("cannot ask for a parent-death signal: {}", Errno::last());
    }
}

/// The engine's lifeline (`--lifeline FD`): the read end of a pipe whose only write end the
/// engine holds for as long as the container may run, so that a hang-up means the engine is
/// gone. The init keeps it (close-on-exec: the workload never sees it) and treats its hang-up
/// as the engine's stop: the stop signal, `stop`, forwarded once.
///
/// It stands in for the parent-death signal, which misses an engine killed just before the
/// init starts: the kernel sends that signal only for a parent that dies after the request,
/// and the runtime, killed with the engine, can die between exec'ing the init and the request;
/// a PID namespace's init cannot look for its parent either (getppid(2) returns 0 there). The
/// pipe is level-triggered: a hang-up is there to be seen whenever the init looks.
#[implements("signals.init.parent-death", "lifecycle.engine-death")]
struct Lifeline {
    fd: c_int,
    stop: c_int,
}

/// Whether `fd` is open and a pipe's read end: anything else given as a lifeline (a
/// descriptor the runtime did not pass, a socket, a write end, which reports an error rather
/// than a hang-up once its readers are gone) is not one, and the init asks for the
/// parent-death signal instead.
fn is_pipe(fd: c_int) -> bool {
    // SAFETY: an all-zero stat is valid, and fstat(2) writes at most its size; fcntl(2) with
    // integer arguments.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    unsafe {
        libc::fstat(fd, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFIFO
            && libc::fcntl(fd, libc::F_GETFL) & libc::O_ACCMODE == libc::O_RDONLY
    }
}

/// Whether the engine has died already: its lifeline `fd` reports a hang-up, the pipe's last
/// write end closed.
#[implements("signals.init.parent-death", "lifecycle.engine-death")]
fn engine_is_gone(fd: c_int) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one pollfd, valid for the call; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
    ready == 1 && pfd.revents & libc::POLLHUP != 0
}

/// `UID:GID`, both decimal.
fn parse_ids(s: &[u8]) -> Option<(u32, u32)> {
    let colon = s.iter().position(|&b| b == b':')?;
    Some((decimal(&s[..colon])?, decimal(&s[colon + 1..])?))
}

/// Digits only: no sign, no space.
fn decimal<T: core::str::FromStr>(s: &[u8]) -> Option<T> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(s).ok()?.parse().ok()
}

/// Closes every descriptor above 2 the init inherited but `keep` (the lifeline), which becomes
/// close-on-exec; all the init opens later is close-on-exec too.
#[implements("signals.init.fds")]
fn close_inherited_fds(keep: Option<c_int>) {
    // The range in i64, where `fd - 1` and the kernel's `unsigned int` maximum both fit; each
    // bound passed as the `unsigned long` a system call argument is, on 32-bit targets too.
    let last = i64::from(u32::MAX);
    // SAFETY: no descriptor above 2 but `keep` is owned by anything in this process yet.
    let close_range = |first: i64, last: i64| unsafe {
        first > last
            || libc::syscall(
                libc::SYS_close_range,
                first as libc::c_ulong,
                last as libc::c_ulong,
                0 as libc::c_ulong,
            ) == 0
    };
    let closed = match keep {
        Some(fd) => {
            // SAFETY: fcntl(2) with integer arguments.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            close_range(3, i64::from(fd) - 1) && close_range(i64::from(fd) + 1, last)
        }
        None => close_range(3, last),
    };
    if closed {
        return;
    }
    // Linux older than 5.9 has no close_range: close what /proc/self/fd lists. Closing entries
    // while reading is safe there: the kernel lists the table from the position reached on.
    // SAFETY: a NUL-terminated path.
    let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
    if dir.is_null() {
        return warn!("cannot close inherited file descriptors: /proc/self/fd is unreadable");
    }
    // SAFETY: `dir` is open until the closedir below; readdir's entry is valid until the next
    // call, and its name is NUL-terminated.
    unsafe {
        let own = libc::dirfd(dir);
        loop {
            let entry = libc::readdir(dir);
            if entry.is_null() {
                break;
            }
            let name = CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes();
            if let Some(fd) = decimal::<c_int>(name)
                && fd > 2
                && fd != own
                && Some(fd) != keep
            {
                libc::close(fd);
            }
        }
        libc::closedir(dir);
    }
}

/// Default dispositions for SIGCHLD and the synchronous signals. An ignored SIGCHLD (inherited
/// from whoever started the init) would make the kernel discard the status of every child, the
/// workload's included; an ignored SIGSEGV would let the init survive one sent with kill(2).
#[implements("signals.init.reap", "signals.init.forward")]
fn default_dispositions() {
    for s in [libc::SIGCHLD].into_iter().chain(SYNCHRONOUS) {
        // SAFETY: installs no handler, only the default disposition.
        if unsafe { libc::signal(s, libc::SIG_DFL) } == libc::SIG_ERR {
            warn!("cannot reset signal {s}: {}", Errno::last());
        }
    }
}

#[implements("signals.init.subreaper")]
fn become_subreaper() {
    // SAFETY: getpid(2) and prctl(2) with integer arguments have no memory-safety preconditions.
    let failed = unsafe {
        libc::getpid() != 1 && libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as c_long) == -1
    };
    if failed {
        let e = Errno::last();
        warn!("cannot become a child subreaper ({e}): orphans will not be reaped");
    }
}

/// Whether to give the terminal to the workload: only when stdin is a terminal and the init's
/// own process group is in the foreground there (never steal it from a shell that started the
/// init in the background).
#[implements("signals.init.tty")]
fn should_take_terminal() -> bool {
    // SAFETY: these calls take a descriptor number and nothing else.
    unsafe {
        libc::isatty(libc::STDIN_FILENO) == 1
            && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp()
    }
}

/// Forks the workload and returns its PID.
#[implements("signals.init.tty")]
fn spawn(argv: &[*const c_char], take_terminal: bool, userns: Option<(u32, u32)>) -> pid_t {
    // SAFETY: the init is single-threaded, so the child may do whatever the parent could.
    match unsafe { libc::fork() } {
        -1 => die!("cannot fork: {}", Errno::last()),
        0 => {
            if let Some((uid, gid)) = userns
                && let Err((what, e)) = enter_user_namespace(uid, gid)
            {
                warn!(
                    "cannot run the command as {uid}:{gid} in a nested user namespace: {what}: {e}"
                );
                // SAFETY: leaves at once, as a failed exec does.
                unsafe { libc::_exit(126) }
            }
            exec_workload(argv, take_terminal)
        }
        child => {
            // As the child does: whichever runs first, `-g` finds the group.
            // SAFETY: setpgid(2) has no memory-safety preconditions.
            unsafe { libc::setpgid(child, child) };
            child
        }
    }
}

/// capget(2) and capset(2)'s header, version 3: 64 capabilities as two 32-bit words per set.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// One 32-bit word of each set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_SETFCAP: u32 = 31;

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
/// On failure, returns the step that failed and its error.
#[implements("isolation.namespaces.user-nested")]
fn enter_user_namespace(uid: u32, gid: u32) -> Result<(), (&'static str, Errno)> {
    let header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `header` and the two words of `data` are what capget(2) reads and writes.
    check(unsafe { libc::syscall(libc::SYS_capget, &raw const header, data.as_mut_ptr()) })
        .map_err(|e| ("read the init's capabilities", e))?;
    let permitted = u64::from(data[0].permitted) | u64::from(data[1].permitted) << 32;
    let keep = permitted & !(1 << CAP_SETFCAP);
    // SAFETY: geteuid(2) and getegid(2) cannot fail; unshare(2) takes flags only.
    let (outer_uid, outer_gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    check(unsafe { libc::unshare(libc::CLONE_NEWUSER) })
        .map_err(|e| ("unshare(CLONE_NEWUSER)", e))?;
    // Unprivileged, gid_map can only be written once setgroups is denied.
    write_file(c"/proc/self/setgroups", format_args!("deny"))?;
    write_file(c"/proc/self/uid_map", format_args!("{uid} {outer_uid} 1\n"))?;
    write_file(c"/proc/self/gid_map", format_args!("{gid} {outer_gid} 1\n"))?;
    // Each capability the kernel knows, up to the first it refuses to read.
    for cap in 0..64 {
        // SAFETY: prctl(2) with integer arguments.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as c_long) } == -1 {
            break;
        }
        if keep & (1 << cap) == 0 {
            // SAFETY: as above.
            check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as c_long) })
                .map_err(|e| ("drop from the bounding set", e))?;
        }
    }
    let (clear_all, zero) = (libc::PR_CAP_AMBIENT_CLEAR_ALL as c_long, 0 as c_long);
    // SAFETY: as above.
    check(unsafe { libc::prctl(libc::PR_CAP_AMBIENT, clear_all, zero, zero, zero) })
        .map_err(|e| ("clear the ambient set", e))?;
    let word = |i: u32| CapData {
        effective: (keep >> (32 * i)) as u32,
        permitted: (keep >> (32 * i)) as u32,
        inheritable: 0,
    };
    let data = [word(0), word(1)];
    // SAFETY: as for capget.
    check(unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) })
        .map_err(|e| ("set the effective, permitted and inheritable sets", e))?;
    Ok(())
}

/// Writes `text` to the file `path`, which must exist.
fn write_file(path: &'static CStr, text: fmt::Arguments) -> Result<(), (&'static str, Errno)> {
    let what = path.to_str().unwrap_or("a /proc file");
    // SAFETY: a NUL-terminated path.
    let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })
        .map_err(|e| (what, e))?;
    let mut out = Writer::new(fd);
    let _ = out.write_fmt(text);
    let written = out.finish();
    // SAFETY: `fd` was opened above and is not used after.
    unsafe { libc::close(fd) };
    written.map_err(|e| (what, e))
}

/// In the forked child: a process group of its own, the terminal if `take_terminal`, a clean
/// signal state, then `execvp`; exits 127 or 126 if that fails.
#[implements(
    "signals.init.tty",
    "signals.init.signal-state",
    "signals.init.exec-failure"
)]
fn exec_workload(argv: &[*const c_char], take_terminal: bool) -> ! {
    // SAFETY: setpgid(2) and getpid(2) have no memory-safety preconditions.
    unsafe { libc::setpgid(0, 0) };
    // Every signal is still blocked, so tcsetpgrp from a background group gets no SIGTTOU.
    if take_terminal && unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid()) } == -1 {
        warn!("cannot give the terminal to the command: {}", Errno::last());
    }
    // The raw system call: the C library's sigaction refuses its own internal signals, which
    // may have been inherited ignored too. An all-zero kernel sigaction is SIG_DFL.
    let default = [0u64; 4];
    for signo in 1..=LAST_SIGNAL {
        // SAFETY: `default` outlives the call. SIGKILL and SIGSTOP refuse (EINVAL), harmlessly.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signo as c_long,
                default.as_ptr(),
                0usize,
                SIGSET_SIZE,
            )
        };
    }
    let _ = set_signal_mask(0);
    let e = execvp(argv);
    let code = if e == Errno(libc::ENOENT) { 127 } else { 126 };
    // SAFETY: argv[0] is a NUL-terminated string (see `main`).
    let cmd = unsafe { CStr::from_ptr(argv[0]) };
    warn!("cannot execute \"{}\": {e}", Lossy(cmd.to_bytes()));
    // SAFETY: leaves at once, without running the exit handlers the parent will run.
    unsafe { libc::_exit(code) }
}

/// glibc's `execvp` (posix/execvpe.c): `argv[0]` is executed as is when it contains a slash, else
/// looked up in each directory of `PATH` (`/bin:/usr/bin`, glibc's `_CS_PATH`, when unset), the
/// search going on past a directory where it is missing or may not be executed; a file the
/// kernel does not recognise as executable (ENOEXEC: a script without `#!`) is run with
/// `/bin/sh`. Returns the error when nothing could be executed, EACCES if a file was found but
/// refused. musl's `execvp` (src/process/execvp.c) runs no script without `#!`, and its default
/// `PATH` starts with `/usr/local/bin`.
#[implements("signals.init.exec-failure")]
fn execvp(argv: &[*const c_char]) -> Errno {
    // SAFETY: argv[0] is a NUL-terminated string (see `main`).
    let file = unsafe { CStr::from_ptr(argv[0]) }.to_bytes();
    if file.is_empty() {
        return Errno(libc::ENOENT);
    }
    if file.contains(&b'/') {
        return execv(argv[0], argv);
    }
    if file.len() > libc::NAME_MAX as usize {
        return Errno(libc::ENAMETOOLONG);
    }
    // SAFETY: getenv's result, when not null, is a NUL-terminated string.
    let path = match unsafe { libc::getenv(c"PATH".as_ptr()) } {
        p if p.is_null() => b"/bin:/usr/bin".as_slice(),
        p => unsafe { CStr::from_ptr(p) }.to_bytes(),
    };
    let mut found_but_refused = false;
    // A directory, a slash, the file name and its NUL.
    let mut candidate = [0u8; libc::PATH_MAX as usize + libc::NAME_MAX as usize + 2];
    for dir in path.split(|&b| b == b':') {
        if dir.len() >= libc::PATH_MAX as usize {
            continue;
        }
        candidate[..dir.len()].copy_from_slice(dir);
        let mut end = dir.len();
        // An empty entry is the working directory: the file name alone.
        if !dir.is_empty() {
            candidate[end] = b'/';
            end += 1;
        }
        candidate[end..end + file.len()].copy_from_slice(file);
        candidate[end + file.len()] = 0;
        let e = execv(candidate.as_ptr().cast(), argv);
        match e.0 {
            libc::EACCES => found_but_refused = true,
            libc::ENOENT | libc::ESTALE | libc::ENOTDIR | libc::ENODEV | libc::ETIMEDOUT => {}
            _ => return e,
        }
    }
    Errno(if found_but_refused {
        libc::EACCES
    } else {
        libc::ENOENT
    })
}

/// Executes the file `path` with `argv` and the init's environment, and a file without `#!`
/// (ENOEXEC) with `/bin/sh path ARG...`; returns the error of the last attempt.
fn execv(path: *const c_char, argv: &[*const c_char]) -> Errno {
    // SAFETY: `path` is NUL-terminated and `argv` ends with a null pointer (see `Options`).
    unsafe { libc::execv(path, argv.as_ptr()) };
    let e = Errno::last();
    if e != Errno(libc::ENOEXEC) {
        return e;
    }
    // `/bin/sh`, the file, the arguments after argv[0], and calloc's zeroes end it.
    let len = argv.len() + 2;
    // SAFETY: a fresh zeroed array of `len` pointers, filled below within its bounds; it is left
    // to the exec (or to the `_exit` that follows a failure).
    unsafe {
        let sh_argv = libc::calloc(len, size_of::<*const c_char>()).cast::<*const c_char>();
        if sh_argv.is_null() {
            return Errno(libc::ENOMEM);
        }
        *sh_argv = c"/bin/sh".as_ptr();
        *sh_argv.add(1) = path;
        core::ptr::copy_nonoverlapping(argv.as_ptr().add(1), sh_argv.add(2), argv.len() - 1);
        libc::execv(c"/bin/sh".as_ptr(), sh_argv);
    }
    Errno::last()
}

/// The main loop: forward, reap, and return the exit code once the workload is gone.
#[implements("signals.init.forward", "signals.init.job-control")]
fn supervise(signals: c_int, lifeline: Option<Lifeline>, workload: pid_t, group: bool) -> c_int {
    let mut watched = lifeline;
    loop {
        // Only while there is a lifeline to watch does the loop poll(2) before each read; else
        // the read below waits alone.
        if let Some(l) = &watched {
            let mut fds = [(signals, libc::POLLIN), (l.fd, 0)].map(|(fd, events)| libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            // SAFETY: two pollfds, valid for the call.
            match check(unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) }) {
                Ok(_) => {}
                Err(Errno(libc::EINTR)) => continue,
                Err(e) => die!("cannot wait for signals: {e}"),
            }
            if fds[1].revents != 0 {
                // The engine is gone: stop the workload as it would have. Whatever poll
                // reports, the lifeline is watched no more (an error would be reported for
                // ever).
                if fds[1].revents & libc::POLLHUP != 0 {
                    forward(l.stop, workload, group);
                }
                watched = None;
            }
            if fds[0].revents & libc::POLLIN == 0 {
                continue;
            }
        }
        // SAFETY: an all-zero signalfd_siginfo is valid, and read(2) writes at most its size.
        let mut info: libc::signalfd_siginfo = unsafe { core::mem::zeroed() };
        let size = size_of::<libc::signalfd_siginfo>();
        let ret = unsafe { libc::read(signals, (&raw mut info).cast::<c_void>(), size) };
        let signo = match check(ret) {
            Ok(_) => info.ssi_signo as c_int,
            Err(Errno(libc::EINTR)) => continue,
            Err(e) => die!("cannot read signals: {e}"),
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
fn forward(signo: c_int, workload: pid_t, group: bool) {
    // SAFETY: kill(2) has no memory-safety preconditions. ESRCH (already gone) is ignored.
    if !(group && unsafe { libc::kill(-workload, signo) } == 0) {
        unsafe { libc::kill(workload, signo) };
    }
}

/// Reaps every terminated child; returns the exit code when the workload was among them.
#[implements("signals.init.reap")]
fn reap(workload: pid_t) -> Option<c_int> {
    let mut code = None;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid place for the kernel to write to.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            // 0: children remain but none has terminated; -1: ECHILD, no child at all.
            return code;
        }
        if pid == workload {
            code = Some(exit_code(status));
        }
    }
}

/// The shell's convention: the exit status, or 128 + N for a death by signal N.
#[implements("signals.init.exit-status")]
fn exit_code(status: c_int) -> c_int {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Bytes shown as text, invalid UTF-8 replaced, as `String::from_utf8_lossy` does.
struct Lossy<'a>(&'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        Ok(())
    }
}

/// Text for a descriptor, formatted into a buffer on the stack and written in one write(2) when
/// it fits in the buffer's 1 KiB (so that a message does not interleave with what the workload
/// writes, and a /proc map file gets its line in one write, as it requires), in pieces when not.
struct Writer {
    fd: c_int,
    buf: [u8; 1024],
    len: usize,
    error: Option<Errno>,
}

impl Writer {
    fn new(fd: c_int) -> Writer {
        Writer {
            fd,
            buf: [0; 1024],
            len: 0,
            error: None,
        }
    }

    fn flush(&mut self) {
        let mut done = 0;
        while done < self.len && self.error.is_none() {
            let rest = &self.buf[done..self.len];
            // SAFETY: `rest` is valid for reads of its length.
            match check(unsafe { libc::write(self.fd, rest.as_ptr().cast(), rest.len()) }) {
                Ok(n) if n > 0 => done += n as usize,
                Ok(_) => self.error = Some(Errno(libc::EIO)),
                Err(e) => self.error = Some(e),
            }
        }
        self.len = 0;
    }

    /// Writes what is left; the first error, if any.
    fn finish(mut self) -> Result<(), Errno> {
        self.flush();
        self.error.map_or(Ok(()), Err)
    }
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut s = s.as_bytes();
        while !s.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
            self.len += n;
            s = &s[n..];
        }
        Ok(())
    }
}

/// Writes `text` to `fd`; never fails (the stream may be closed or unwritable).
fn print(fd: c_int, text: fmt::Arguments) {
    let mut out = Writer::new(fd);
    let _ = out.write_fmt(text);
    let _ = out.finish();
}

fn exit(code: c_int) -> ! {
    // SAFETY: exit(3) has no preconditions; the init registers no exit handler.
    unsafe { libc::exit(code) }
}
