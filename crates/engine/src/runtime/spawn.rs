//! Starting the runtime process: `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn(3)` starts
//! a program, with the engine's own steps between the clone and the exec.
//!
//! `std::process::Command` forks as soon as a command has a `pre_exec` step, and the runtime's
//! child must have several (the layer's namespace and mount, the parent-death signal, the
//! lifeline, the log's descriptor, an empty signal mask). A fork copies the engine's page
//! tables and write-protects its memory, so the engine then takes a copy-on-write fault for
//! every page it writes until the child has executed the runtime (41 faults a run). A child
//! that shares the engine's memory and runs while the engine's thread is suspended, until it
//! executes the runtime or exits, copies nothing: that is how musl and glibc implement
//! `posix_spawn`, which cannot run these steps. nix's `sched::clone` makes the system call.
//! It took 125 µs off `run` (1,000 paired runs, the book's performance chapter).
//!
//! What the child may do follows from sharing the memory of a suspended thread: only
//! async-signal-safe system calls on data prepared before the clone, no allocation (another
//! thread of the engine may hold the allocator's lock), and no signal handler of the engine
//! may run in it: every signal is blocked around the clone, and the child sets each handled
//! signal back to its default action before it clears its mask. A failed step or exec is
//! written to memory the engine reads once the clone returns.
//!
//! Elsewhere than on Linux the command is built and refused: the runtime needs Linux.

// What only Linux's `spawn` reads.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::ffi::{CString, OsStr};
use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
#[cfg(target_os = "linux")]
use std::os::unix::ffi::OsStringExt;
#[cfg(target_os = "linux")]
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

#[cfg(target_os = "linux")]
use nix::libc;

/// Why the child did not execute the runtime: what it was doing, and the system's error
/// number (0 when there is none, the step says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    pub(crate) what: &'static str,
    pub(crate) errno: i32,
}

impl Failed {
    /// A failure of `what` with the calling thread's `errno`.
    pub(crate) fn last(what: &'static str) -> Failed {
        Failed {
            what,
            errno: io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }
    }

    /// A failure of `what` with the error number of `e` (an error made from an error number,
    /// as system calls' are, allocates nothing).
    pub(crate) fn os(what: &'static str) -> impl Fn(io::Error) -> Failed {
        move |e| Failed {
            what,
            errno: e.raw_os_error().unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.errno == 0 {
            f.write_str(self.what)
        } else {
            write!(
                f,
                "{}: {}",
                self.what,
                io::Error::from_raw_os_error(self.errno)
            )
        }
    }
}

/// A step the child runs before it executes the program.
type Step = Box<dyn FnMut() -> Result<(), Failed> + Send>;

/// A program to start, its arguments, and what the child does first.
pub(crate) struct Command {
    /// The program's path first, executed as `argv[0]` says.
    argv: Vec<CString>,
    /// An argument with a NUL byte, reported by `spawn`.
    bad: Option<String>,
    stdin_null: bool,
    process_group: bool,
    steps: Vec<Step>,
}

fn c_string(s: &OsStr) -> Result<CString, String> {
    CString::new(s.as_bytes()).map_err(|_| format!("{} contains a NUL byte", s.to_string_lossy()))
}

impl Command {
    /// `program` (a path: it is executed as given, never looked up on `PATH`), with itself
    /// as `argv[0]`.
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Command {
        let (program, bad) = match c_string(program.as_ref()) {
            Ok(p) => (p, None),
            Err(e) => (CString::default(), Some(e)),
        };
        Command {
            argv: vec![program],
            bad,
            stdin_null: false,
            process_group: false,
            steps: Vec::new(),
        }
    }

    /// Append an argument.
    pub(crate) fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        match c_string(arg.as_ref()) {
            Ok(a) => self.argv.push(a),
            Err(e) => {
                self.bad.get_or_insert(e);
            }
        }
        self
    }

    /// Append arguments.
    pub(crate) fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Standard input from `/dev/null` instead of the engine's.
    pub(crate) fn stdin_null(&mut self) -> &mut Command {
        self.stdin_null = true;
        self
    }

    /// A process group of its own, led by the child.
    pub(crate) fn process_group(&mut self) -> &mut Command {
        self.process_group = true;
        self
    }

    /// A step for the child, after the earlier ones and before the exec.
    ///
    /// # Safety
    /// The step runs in a child that shares the engine's memory (see the module's
    /// documentation): async-signal-safe system calls only, nothing allocated or freed, no
    /// panic (a panic allocates and takes locks), nothing written but its own locals and what
    /// it captured for that purpose. Every signal is blocked while it runs.
    pub(crate) unsafe fn pre_exec(
        &mut self,
        step: impl FnMut() -> Result<(), Failed> + Send + 'static,
    ) -> &mut Command {
        self.steps.push(Box::new(step));
        self
    }

    /// Start the program: `Ok` once it has been executed, `Err` with the step or the exec
    /// that failed (the child then exited and was reaped).
    #[cfg(target_os = "linux")]
    pub(crate) fn spawn(&mut self) -> io::Result<Child> {
        use nix::sched::{CloneFlags, clone};

        if let Some(bad) = &self.bad {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, bad.clone()));
        }
        let env: Vec<CString> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let devnull: Option<OwnedFd> = if self.stdin_null {
            Some(std::fs::File::open("/dev/null")?.into())
        } else {
            None
        };
        let devnull_fd = devnull.as_ref().map(AsRawFd::as_raw_fd);
        let process_group = self.process_group;
        let program = self.argv[0].as_ptr();
        let steps = &mut self.steps;
        let mut stack = Stack::new()?;
        // What the engine reports unless the child says otherwise: a child killed before its
        // exec (by a signal, or its stack's guard page) never does.
        let mut failed = Some(Failed {
            what: "the child ended before it executed the program",
            errno: 0,
        });
        let report = &mut failed;
        let child = move || -> isize {
            // SAFETY: async-signal-safe system calls on data prepared above; see the module's
            // documentation.
            let outcome: Result<(), Failed> = unsafe {
                child_setup(devnull_fd, process_group).and_then(|()| {
                    for step in steps.iter_mut() {
                        step()?;
                    }
                    // Last, as posix_spawn does: the steps run with every signal blocked.
                    // The runtime starts with none blocked (`stopping.runtime-signals`).
                    crate::stopping::set_signal_mask(0, None).map_err(|e| Failed {
                        what: "clear the signal mask",
                        errno: e,
                    })?;
                    *report = None;
                    libc::execve(program, argv.as_ptr(), envp.as_ptr());
                    Err(Failed::last("execute"))
                })
            };
            if let Err(f) = outcome {
                *report = Some(f);
            }
            127
        };
        // No handler of the engine may run in the child before it has reset them: every
        // signal blocked, the C library's own too (the raw call, as its posix_spawn blocks
        // them; its pthread_sigmask would leave them out).
        let mut mask = 0u64;
        // SAFETY: rt_sigprocmask(2) into a local.
        unsafe { crate::stopping::set_signal_mask(!0, Some(&mut mask)) }
            .map_err(io::Error::from_raw_os_error)?;
        // SAFETY: CLONE_VFORK suspends this thread until the child has executed the program
        // or exited, so `stack`, `failed` and everything the closure borrows outlive it; the
        // child does only what the module's documentation allows.
        let cloned = unsafe {
            clone(
                Box::new(child),
                stack.usable(),
                CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK,
                Some(libc::SIGCHLD),
            )
        };
        // SAFETY: rt_sigprocmask(2), the mask saved above restored exactly.
        let _ = unsafe { crate::stopping::set_signal_mask(mask, None) };
        drop(devnull);
        let pid = cloned.map_err(io::Error::from)?;
        let mut child = Child { pid, status: None };
        match failed {
            None => Ok(child),
            Some(f) => {
                let _ = child.wait();
                Err(io::Error::new(
                    match f.errno {
                        0 => io::ErrorKind::Other,
                        e => io::Error::from_raw_os_error(e).kind(),
                    },
                    f.to_string(),
                ))
            }
        }
    }

    /// Starting the runtime needs Linux's `clone`.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn spawn(&mut self) -> io::Result<Child> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "starting a runtime (Linux only)",
        ))
    }
}

/// The child's stack: a mapping of its own, below it a page nothing may access, so that an
/// overflow faults instead of writing over the engine's memory. Only the pages the child
/// touches are ever allocated (a zeroed buffer on the heap cost 15 page faults a start).
#[cfg(target_os = "linux")]
struct Stack {
    base: std::ptr::NonNull<std::ffi::c_void>,
    /// The whole mapping's length, and the guard's (one page) at its start.
    len: usize,
    guard: usize,
}

#[cfg(target_os = "linux")]
impl Stack {
    /// The usable part; the steps' frames are small.
    const USABLE: usize = 64 * 1024;

    fn new() -> io::Result<Stack> {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, mprotect};
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| usize::try_from(p).ok())
            .unwrap_or(4096);
        let guard = page;
        let len = Self::USABLE.div_ceil(page) * page + guard;
        let size = std::num::NonZeroUsize::new(len).expect("non-zero");
        // SAFETY: a new private anonymous mapping, owned by the returned value.
        let base = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_STACK,
            )
        }
        .map_err(io::Error::from)?;
        let stack = Stack { base, len, guard };
        // SAFETY: the mapping's first page, which nothing references.
        unsafe { mprotect(stack.base, guard, ProtFlags::PROT_NONE) }.map_err(io::Error::from)?;
        Ok(stack)
    }

    /// The pages above the guard.
    fn usable(&mut self) -> &mut [u8] {
        // SAFETY: readable and writable memory this value owns, `len - guard` bytes long.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.base.as_ptr().cast::<u8>().add(self.guard),
                self.len - self.guard,
            )
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `new`, no longer used once the child has executed.
        let _ = unsafe { nix::sys::mman::munmap(self.base, self.len) };
    }
}

/// The child's own state before the steps: default actions for the signals the engine
/// handles ([`crate::stopping::default_signal_actions`]), standard input, process group.
/// Signals stay blocked until just before the exec.
///
/// # Safety
/// Only in the child of [`Command::spawn`].
#[cfg(target_os = "linux")]
unsafe fn child_setup(devnull: Option<i32>, process_group: bool) -> Result<(), Failed> {
    // SAFETY: in the child, as `default_signal_actions` requires.
    unsafe { crate::stopping::default_signal_actions() }.map_err(|errno| Failed {
        what: "reset a signal's action",
        errno,
    })?;
    if let Some(fd) = devnull {
        // dup2 clears close-on-exec on the copy, except on a descriptor copied onto itself.
        // SAFETY: plain system calls on descriptors this child owns.
        let rc = unsafe {
            if fd == 0 {
                libc::fcntl(0, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 0)
            }
        };
        if rc == -1 {
            return Err(Failed::last("standard input from /dev/null"));
        }
    }
    // SAFETY: a plain system call.
    if process_group && unsafe { libc::setpgid(0, 0) } != 0 {
        return Err(Failed::last("process group"));
    }
    Ok(())
}

/// A child started by [`Command::spawn`], reaped by [`Child::wait`] or [`Child::try_wait`].
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(crate) struct Child {
    pid: nix::unistd::Pid,
    status: Option<ExitStatus>,
}

/// None exists where the runtime cannot be started.
#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
pub(crate) struct Child {
    never: std::convert::Infallible,
}

#[cfg(not(target_os = "linux"))]
impl Child {
    pub(crate) fn id(&self) -> u32 {
        match self.never {}
    }

    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self.never {}
    }

    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        match self.never {}
    }

    pub(crate) fn kill(&mut self) -> io::Result<()> {
        match self.never {}
    }
}

#[cfg(target_os = "linux")]
impl Child {
    /// Its process id.
    pub(crate) fn id(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    fn waitpid(&mut self, flags: i32) -> io::Result<Option<ExitStatus>> {
        if let Some(st) = self.status {
            return Ok(Some(st));
        }
        let mut raw = 0;
        loop {
            // SAFETY: waitpid(2) into a local.
            let rc = unsafe { libc::waitpid(self.pid.as_raw(), &mut raw, flags) };
            if rc == 0 {
                return Ok(None);
            }
            if rc > 0 {
                let st = ExitStatus::from_raw(raw);
                self.status = Some(st);
                return Ok(Some(st));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Its status, if it has exited (then reaped), without waiting.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.waitpid(libc::WNOHANG)
    }

    /// Wait for it to exit, reap it, and return its status.
    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        self.waitpid(0)
            .map(|st| st.expect("waitpid without WNOHANG returns a status"))
    }

    /// SIGKILL, unless it was already reaped (its pid may then be another process's).
    pub(crate) fn kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL).map_err(io::Error::from)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn runs_the_program_with_its_arguments() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "exit $(($1 + 2))", "sh", "5"]);
        let st = cmd.spawn().unwrap().wait().unwrap();
        assert_eq!(st.code(), Some(7));
    }

    #[test]
    fn a_failed_exec_is_an_error_naming_it() {
        let e = Command::new("/nonexistent/program").spawn().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("execute: "), "{e}");
    }

    /// The error of starting `/bin/true` after `step`.
    fn spawn_error(step: impl FnMut() -> Result<(), Failed> + Send + 'static) -> io::Error {
        let mut cmd = Command::new("/bin/true");
        // SAFETY: the tests' steps make at most plain system calls and allocate nothing.
        unsafe {
            cmd.pre_exec(step);
        }
        cmd.spawn().unwrap_err()
    }

    #[test]
    fn a_failed_step_stops_the_child_and_names_the_step() {
        let e = spawn_error(|| {
            Err(Failed {
                what: "the step",
                errno: libc::EPERM,
            })
        });
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().starts_with("the step: "), "{e}");
    }

    #[test]
    fn a_child_killed_before_its_exec_is_an_error_not_a_start() {
        let e = spawn_error(|| {
            // SAFETY: two plain system calls.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            Ok(())
        });
        assert_eq!(
            e.to_string(),
            "the child ended before it executed the program"
        );
    }

    #[test]
    fn an_argument_with_a_nul_byte_is_refused_before_anything_starts() {
        let mut cmd = Command::new("/bin/true");
        cmd.arg("a\0b");
        let e = cmd.spawn().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    /// What `program` prints about itself when started with stdin from /dev/null, in a group
    /// of its own, while the caller blocks SIGUSR1 (standard output to a file, by a step),
    /// and its pid.
    fn own_view(program: &str, args: &[&str]) -> (String, u32) {
        use std::os::fd::AsRawFd;
        let out = tempfile::NamedTempFile::new().unwrap();
        let fd = out.as_file().as_raw_fd();
        let mut blocked = nix::sys::signal::SigSet::empty();
        blocked.add(nix::sys::signal::Signal::SIGUSR1);
        let before = blocked
            .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
            .unwrap();
        let mut cmd = Command::new(program);
        cmd.args(args).stdin_null().process_group();
        // SAFETY: one plain system call.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 1) == -1 {
                    return Err(Failed::last("dup2"));
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        before.thread_set_mask().unwrap();
        assert!(child.wait().unwrap().success());
        (std::fs::read_to_string(out.path()).unwrap(), child.id())
    }

    #[test]
    fn the_child_gets_dev_null_its_own_group_and_no_blocked_signal() {
        let (stdin, _) = own_view("/bin/readlink", &["/proc/self/fd/0"]);
        assert_eq!(stdin, "/dev/null\n");
        // Field 5 of its own stat: its process group, led by itself.
        let (stat, pid) = own_view("/usr/bin/cut", &["-d", " ", "-f5", "/proc/self/stat"]);
        assert_eq!(stat.trim(), pid.to_string());
        let (status, _) = own_view("/bin/grep", &["-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line.rsplit('\t').next().unwrap(), 16).unwrap()
        };
        assert_eq!(field("SigBlk:"), 0, "{status}");
        // SIGPIPE (13, bit 12), which Rust's runtime ignores, is back to its default.
        assert_eq!(field("SigIgn:") & (1 << 12), 0, "{status}");
    }

    #[test]
    fn try_wait_and_kill_reap_once() {
        let mut child = Command::new("/bin/sleep").arg("30").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().unwrap();
        let st = child.wait().unwrap();
        assert_eq!(st.signal(), Some(libc::SIGKILL));
        // Reaped: a second kill sends nothing, a second wait returns the same status.
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}
