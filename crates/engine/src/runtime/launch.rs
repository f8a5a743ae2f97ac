//! Starting the runtime where the container's layer is mounted.
//!
//! The runtime process is started as a child that, between its clone and exec, moves into the
//! namespaces that hold the layer and mounts it (steps of `spawn::Command`, so only
//! async-signal-safe system calls run there):
//!
//! - as root: a mount namespace of its own (`/` a recursive slave, so nothing propagates back
//!   to the host's), the layer mounted on the bundle's `rootfs`;
//! - with a user namespace the engine creates ([`UsernsCreator::Engine`]): a user namespace
//!   and a mount namespace it owns. The child signals the engine through a pipe once it has
//!   unshared; a thread of the engine writes the child's `uid_map`, `setgroups` (`deny`) and
//!   `gid_map` (what an unprivileged user may write for a namespace it created: its own ids,
//!   user_namespaces(7)) and lets the child go on, which mounts the layer as root of its
//!   namespace and executes the runtime there.
//!
//! The mount lives as long as that namespace: until the runtime and the container are gone.
//!
//! Last, the child takes the engine's death as its own (`lifecycle.engine-death`): SIGKILL as
//! its parent-death signal, and, for a container to stop with the engine, the read end of the
//! engine's lifeline pipe as descriptor [`LIFELINE_FD`], which the runtime passes on to the
//! container's init (`--preserve-fds 1`). The engine alone holds the write end, until the
//! container has ended: the init keeps the read end (close-on-exec, away from the workload),
//! starts nothing for an engine already gone, and forwards the stop signal when the pipe hangs
//! up (`signals.init.parent-death`).
//!
//! [`UsernsCreator::Engine`]: crate::UsernsCreator::Engine

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use locald_spec_macros::implements;

use crate::bundle::BundleFacts;
use crate::error::{Error, Result};
use crate::layer::LayerMount;
use crate::options::IdMapping;
use crate::spec::LIFELINE_FD;

use super::spawn::{Command, Failed};

/// What a failed `make_rslave` and `mount_now` report.
const RSLAVE: &str = "make / a recursive slave";
const MOUNT: &str = "mount the layer";

/// What the runtime's child must do before it executes the runtime.
pub(crate) struct Launch {
    /// The helper thread that writes the id maps, for an engine-created user namespace.
    mapper: Option<std::thread::JoinHandle<Result<()>>>,
    /// The pipe ends the child uses (the id maps', the lifeline's read end); the engine closes
    /// its copies once the child has exec'd, so the mapper sees EOF if the child died first.
    child_ends: Vec<OwnedFd>,
    /// The lifeline's write end, held until the container has ended (see the module's
    /// documentation), when the container gets one.
    lifeline: Option<OwnedFd>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("pipe", "create", e.into()))
}

/// `write(2)` of all of `buf` on a raw descriptor: async-signal-safe.
fn raw_write(fd: i32, buf: &[u8]) -> std::io::Result<()> {
    // SAFETY: `buf` is valid for its length; a short write of at most 4 bytes to a pipe does
    // not happen (PIPE_BUF).
    let n = unsafe { nix::libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n == buf.len() as isize {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `read(2)` of one byte on a raw descriptor: async-signal-safe. `Ok(false)` at end of file.
fn raw_read_byte(fd: i32) -> std::io::Result<bool> {
    let mut b = 0u8;
    loop {
        // SAFETY: one byte into a local.
        let n = unsafe { nix::libc::read(fd, (&raw mut b).cast(), 1) };
        match n {
            1 => return Ok(true),
            0 => return Ok(false),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

fn unshare(flags: i32) -> std::io::Result<()> {
    // SAFETY: a plain system call.
    if unsafe { nix::libc::unshare(flags) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Write the single mapping of `mapping` for process `pid`'s new user namespace, or, with
/// subordinate ids, have the setuid helpers write it with the ranges
/// ([`crate::isolation::subids::write_maps`]).
#[implements("filesystems.layer.unprivileged", "isolation.namespaces.user")]
fn write_maps(pid: i32, mapping: &IdMapping) -> Result<()> {
    if let Some(sub) = &mapping.subordinate {
        return crate::isolation::subids::write_maps(pid, mapping, sub);
    }
    let write = |file: &str, text: String| -> Result<()> {
        let path = format!("/proc/{pid}/{file}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| Error::io(&path, "write", e))
    };
    write("uid_map", format!("0 {} 1\n", mapping.host_uid))?;
    // An unprivileged writer must deny setgroups(2) before it may write gid_map.
    write("setgroups", "deny\n".into())?;
    write("gid_map", format!("0 {} 1\n", mapping.host_gid))
}

impl Launch {
    /// Arrange for `cmd` (the runtime) to run where the layer of `bundle` is mounted; with
    /// `parent_death_signal`, the runtime gets that signal when the engine's spawning thread
    /// ends (the init then gets its own, see `signals.init.parent-death`); with `lifeline`, the
    /// engine's lifeline becomes the child's descriptor [`LIFELINE_FD`]. Call
    /// [`Launch::spawned`] right after `cmd.spawn()`, whatever it returned.
    #[implements("filesystems.layer.private", "lifecycle.engine-death")]
    pub(crate) fn prepare(
        cmd: &mut Command,
        bundle: &BundleFacts,
        parent_death_signal: Option<i32>,
        lifeline: bool,
    ) -> Result<Launch> {
        let layer = LayerMount::open_with(&bundle.state_dir, &bundle.info)?;
        let ppid = std::process::id() as i32;
        let pdeath = parent_death_signal.unwrap_or(0);
        let (lifeline_r, lifeline_w) = if lifeline {
            pipe().map(|(r, w)| (Some(r), Some(w)))?
        } else {
            (None, None)
        };
        let lifeline_r_fd = lifeline_r.as_ref().map(AsRawFd::as_raw_fd);
        let finish = move || -> std::result::Result<(), Failed> {
            if pdeath != 0 {
                // SAFETY: plain system calls. Checked after: the engine may already be gone.
                unsafe { nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, pdeath as u64) };
                if unsafe { nix::libc::getppid() } != ppid {
                    return Err(Failed {
                        what: "the engine exited",
                        errno: 0,
                    });
                }
            }
            // Last: the descriptor it lands on may have been one of the pipes used above (the
            // runtime's log never is, see `log::RuntimeLog::new`). dup2 clears close-on-exec on
            // the copy; a read end that already is descriptor 3 keeps it, so clear it there.
            // SAFETY: plain system calls on descriptors this child owns.
            let kept = unsafe {
                match lifeline_r_fd {
                    None => 0,
                    Some(LIFELINE_FD) => nix::libc::fcntl(LIFELINE_FD, nix::libc::F_SETFD, 0),
                    Some(fd) => nix::libc::dup2(fd, LIFELINE_FD),
                }
            };
            if kept == -1 {
                return Err(Failed::last("pass the lifeline"));
            }
            Ok(())
        };
        match bundle.info.engine_userns {
            None => {
                if !nix::unistd::geteuid().is_root() {
                    return Err(Error::Layer {
                        bundle: bundle.state_dir.clone(),
                        reason: "only root can mount the layer outside a user namespace of its \
                                 own; prepare the bundle with the user namespace created by the \
                                 engine (UsernsCreator::Engine, what `locald-engine` does for a \
                                 non-root user)"
                            .into(),
                    });
                }
                // SAFETY: the closure makes only async-signal-safe system calls.
                unsafe {
                    cmd.pre_exec(move || {
                        unshare(nix::libc::CLONE_NEWNS).map_err(Failed::os("unshare"))?;
                        crate::layer::mount::make_rslave().map_err(Failed::os(RSLAVE))?;
                        layer.mount_now().map_err(Failed::os(MOUNT))?;
                        finish()
                    });
                }
                Ok(Launch {
                    mapper: None,
                    child_ends: lifeline_r.into_iter().collect(),
                    lifeline: lifeline_w,
                })
            }
            Some(mapping) => {
                let (ready_r, ready_w) = pipe()?;
                let (go_r, go_w) = pipe()?;
                let (ready_w_fd, go_r_fd) = (ready_w.as_raw_fd(), go_r.as_raw_fd());
                let (ready_r_fd, go_w_fd) = (ready_r.as_raw_fd(), go_w.as_raw_fd());
                // SAFETY: the closure makes only async-signal-safe system calls.
                unsafe {
                    cmd.pre_exec(move || {
                        // The engine's ends, inherited by the clone: with its copy of the write
                        // end held here, the read below would never see the engine die (a
                        // SIGKILLed engine left this child waiting forever).
                        nix::libc::close(ready_r_fd);
                        nix::libc::close(go_w_fd);
                        unshare(nix::libc::CLONE_NEWUSER | nix::libc::CLONE_NEWNS)
                            .map_err(Failed::os("unshare"))?;
                        let pid = nix::libc::getpid();
                        raw_write(ready_w_fd, &pid.to_ne_bytes())
                            .map_err(Failed::os("signal the id mapper"))?;
                        if !raw_read_byte(go_r_fd).map_err(Failed::os("wait for the id maps"))? {
                            return Err(Failed {
                                what: "the engine could not map the user namespace",
                                errno: 0,
                            });
                        }
                        crate::layer::mount::make_rslave().map_err(Failed::os(RSLAVE))?;
                        layer.mount_now().map_err(Failed::os(MOUNT))?;
                        finish()
                    });
                }
                let mapper = std::thread::spawn(move || -> Result<()> {
                    let mut ready = std::fs::File::from(ready_r);
                    let mut pid = [0u8; 4];
                    if ready.read_exact(&mut pid).is_err() {
                        // The child died before it unshared; spawn reports why.
                        return Ok(());
                    }
                    let pid = i32::from_ne_bytes(pid);
                    write_maps(pid, &mapping)?;
                    std::fs::File::from(go_w)
                        .write_all(b"g")
                        .map_err(|e| Error::io("pipe", "write", e))
                });
                Ok(Launch {
                    mapper: Some(mapper),
                    child_ends: [ready_w, go_r].into_iter().chain(lifeline_r).collect(),
                    lifeline: lifeline_w,
                })
            }
        }
    }

    /// After `spawn`: close the child's pipe ends and collect the mapper's error, which
    /// explains a failed spawn better than the child's own error does. Returns the lifeline's
    /// write end, if any, to be held until the container has ended.
    pub(crate) fn spawned(mut self) -> Result<Option<OwnedFd>> {
        self.child_ends.clear();
        if let Some(m) = self.mapper.take() {
            m.join().unwrap_or_else(|_| {
                Err(Error::Spec {
                    reason: "the id mapper thread panicked".into(),
                })
            })?;
        }
        Ok(self.lifeline)
    }
}

/// Run `work` in a child process, in a new user namespace with `mapping` (written as for the
/// runtime, [`write_maps`]: the caller's ids to 0, its subordinate ranges above): there the
/// child is root over every id the container could give files to. The child was forked from
/// this process; `work` runs in it and its error comes back as text. Used to remove what a
/// container left to subordinate ids (`lifecycle.remove-mapped`).
#[implements("lifecycle.remove-mapped")]
pub(crate) fn in_user_namespace(
    mapping: &IdMapping,
    what: &std::path::Path,
    work: impl FnOnce() -> Result<()>,
) -> Result<()> {
    use nix::unistd::{ForkResult, fork};
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // SAFETY: the child makes system calls and runs `work`, which allocates: glibc's fork
    // leaves the allocator usable in the child; the child never returns, it `_exit`s.
    match unsafe { fork() }.map_err(|e| Error::io(what, "fork", e.into()))? {
        ForkResult::Child => {
            drop((ready_r, go_w, err_r));
            // The fork holds a copy of every lifeline's write end the engine holds: it dies with
            // the engine's thread, so that no container's init waits on this removal to see its
            // engine gone (one killed before this line finishes its removal, then exits).
            // SAFETY: prctl(2) with integer arguments.
            unsafe { nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL as u64) };
            let outcome = (|| -> std::result::Result<(), String> {
                unshare(nix::libc::CLONE_NEWUSER).map_err(|e| format!("unshare: {e}"))?;
                raw_write(ready_w.as_raw_fd(), b"r").map_err(|e| e.to_string())?;
                if !raw_read_byte(go_r.as_raw_fd()).map_err(|e| e.to_string())? {
                    return Err("the engine could not map the user namespace".into());
                }
                work().map_err(|e| e.to_string())
            })();
            let code = match outcome {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = raw_write(err_w.as_raw_fd(), msg.as_bytes());
                    1
                }
            };
            // SAFETY: ends the forked child without running the parent's exit handlers.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop((ready_w, go_r, err_w));
            let mut ready = std::fs::File::from(ready_r);
            let mut byte = [0u8; 1];
            let mapped = match ready.read_exact(&mut byte) {
                Ok(()) => write_maps(child.as_raw(), mapping).and_then(|()| {
                    std::fs::File::from(go_w)
                        .write_all(b"g")
                        .map_err(|e| Error::io("pipe", "write", e))
                }),
                // The child failed before it unshared: its own message says why.
                Err(_) => Ok(()),
            };
            let mut msg = String::new();
            let _ = std::fs::File::from(err_r).read_to_string(&mut msg);
            let status = nix::sys::wait::waitpid(child, None)
                .map_err(|e| Error::io(what, "wait for the remover", e.into()))?;
            mapped?;
            match status {
                nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(Error::io(
                    what,
                    "remove in the container's user namespace",
                    std::io::Error::other(if msg.is_empty() {
                        format!("{other:?}")
                    } else {
                        msg
                    }),
                )),
            }
        }
    }
}
