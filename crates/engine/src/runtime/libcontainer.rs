//! Running a prepared bundle in-process with youki's libcontainer, as locald's setuid shim
//! does (the `libcontainer` feature, Linux only).
//!
//! The caller is real root (the shim is setuid root; the bundle was prepared by the
//! unprivileged user, with `IdMapping::new(uid, gid)` so that `config.json` maps that user to
//! the container's root). [`Libcontainer::spawn`] moves the calling thread into a mount
//! namespace of its own, mounts the container's layer on the bundle's `rootfs` there
//! ([`crate::layer::mount`]), and creates and starts the container with libcontainer's
//! `ContainerBuilder`; the container's processes are children of the caller. libcontainer
//! keeps its state in the state root given to [`Libcontainer::new`] — a root-owned directory,
//! never the user's bundle, which the user must be able to remove (`lifecycle.bundle`).
//!
//! The stop policy is the one runc's containers have ([`StopPolicy`]): [`Running`] implements
//! [`Container`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use libcontainer::container::Container as LcContainer;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use locald_spec_macros::implements;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::{Container, StopPolicy, Stopped};
use crate::bundle::Bundle;
use crate::error::{Error, Result};

/// The default state root of libcontainer run by root: in `/run`, a tmpfs that a reboot
/// empties, like the containers it describes (youki's own default is `/run/youki`).
pub const DEFAULT_STATE_ROOT: &str = "/run/locald-engine/libcontainer";

/// youki's libcontainer, keeping its state under a state root.
///
/// ```no_run
/// use locald_engine::Bundle;
/// use locald_engine::runtime::libcontainer::Libcontainer;
///
/// // In the setuid shim: the bundle the unprivileged locald prepared.
/// let bundle = Bundle::open("/home/dev/.local/share/locald/bundles/web".as_ref())?;
/// let running = Libcontainer::new(locald_engine::runtime::libcontainer::DEFAULT_STATE_ROOT)
///     .spawn(&bundle)?;
/// let code = running.wait()?;
/// std::process::exit(code);
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Libcontainer {
    state_root: PathBuf,
}

fn lc_err(action: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Runtime {
        runtime: PathBuf::from("libcontainer"),
        action,
        reason: e.to_string(),
    }
}

impl Libcontainer {
    /// libcontainer with its state (one directory per container) under `state_root`, created
    /// private (0700) when missing.
    pub fn new(state_root: impl Into<PathBuf>) -> Self {
        Libcontainer {
            state_root: state_root.into(),
        }
    }

    /// The state root.
    pub fn state_root(&self) -> &Path {
        &self.state_root
    }

    /// Start the container of `bundle` and return it running.
    ///
    /// Moves the calling thread into a mount namespace of its own and mounts the layer there:
    /// call it from the thread of a process that exists for this container (locald's shim), or
    /// from a thread that may stay there. Needs real root; a bundle whose user namespace the
    /// engine creates (`UsernsCreator::Engine`, the unprivileged CLI's shape) is refused, since
    /// libcontainer creates the user namespace from `config.json` itself.
    #[implements("filesystems.layer.private")]
    pub fn spawn(&self, bundle: &Bundle) -> Result<Running> {
        if bundle.engine_userns().is_some() {
            return Err(Error::Layer {
                bundle: bundle.state_dir.clone(),
                reason:
                    "prepared for a user namespace the engine creates (UsernsCreator::Engine); \
                         libcontainer creates it from config.json: prepare the bundle with \
                         IdMapping::new(uid, gid)"
                        .into(),
            });
        }
        refuse_unloadable_filter(bundle)?;
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::Layer {
                bundle: bundle.state_dir.clone(),
                reason: "libcontainer needs real root to mount the layer and create the \
                         container (locald's shim is setuid root)"
                    .into(),
            });
        }
        crate::state::ensure_private_dir(&self.state_root)?;
        crate::layer::enter_private_mount_namespace()?;
        crate::layer::mount(&bundle.state_dir)?;
        let mut container = ContainerBuilder::new(bundle.id.clone(), SyscallType::Linux)
            .with_root_path(&self.state_root)
            .map_err(|e| lc_err("create", e))?
            .validate_id()
            .map_err(|e| lc_err("create", e))?
            .as_init(&bundle.state_dir)
            .with_systemd(false)
            .with_detach(false)
            .build()
            .map_err(|e| lc_err("create", e))?;
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(lc_err("start", e));
        }
        let pid = match container.pid() {
            Some(pid) => pid.as_raw(),
            None => {
                let _ = container.delete(true);
                return Err(lc_err("start", "no init pid after start"));
            }
        };
        Ok(Running {
            root: container.root.clone(),
            pid,
            code: None,
            stop: StopPolicy::for_bundle(bundle),
            deleted: false,
        })
    }
}

/// Built without the `libcontainer-seccomp` feature, libcontainer 0.7 skips `linux.seccomp`
/// (its `libseccomp` feature is off: process/init/process.rs only logs "seccomp not
/// available"), so a bundle with a filter is refused rather than run unconfined
/// (`security.seccomp.default`).
#[implements("security.seccomp.default")]
fn refuse_unloadable_filter(bundle: &Bundle) -> Result<()> {
    refuse_filter_without_libseccomp(bundle, cfg!(feature = "libcontainer-seccomp"))
}

/// [`refuse_unloadable_filter`] for a libcontainer built with libseccomp or without: a
/// parameter, so that the tests, which always build it with, check the refusal too.
fn refuse_filter_without_libseccomp(bundle: &Bundle, with_libseccomp: bool) -> Result<()> {
    let has_filter = bundle
        .spec
        .linux()
        .as_ref()
        .is_some_and(|l| l.seccomp().is_some());
    if has_filter && !with_libseccomp {
        return Err(lc_err(
            "create",
            "config.json has a seccomp filter (linux.seccomp) and this libcontainer was built \
             without libseccomp, so it would run the container unconfined: build locald-engine \
             with the libcontainer-seccomp feature (Debian libseccomp-dev), or prepare the \
             bundle with Seccomp::Unconfined",
        ));
    }
    Ok(())
}

/// A container started by [`Libcontainer::spawn`]: its init is a child of the caller. Dropping
/// it without [`Running::wait`] kills it and deletes its state.
#[derive(Debug)]
pub struct Running {
    root: PathBuf,
    pid: i32,
    code: Option<i32>,
    stop: StopPolicy,
    deleted: bool,
}

impl Running {
    /// The pid of the container's first process (the init) in the caller's PID namespace.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The container's state directory (libcontainer's `STATE_ROOT/ID`).
    pub fn state_dir(&self) -> &Path {
        &self.root
    }

    /// Wait for the container to end, delete it (its state and cgroups), and return its exit
    /// code (128+N when signal N ended it).
    pub fn wait(mut self) -> Result<i32> {
        let code = Container::wait(&mut self);
        let deleted = self.delete();
        let code = code?;
        deleted?;
        Ok(code)
    }

    /// Stop the container with the bundle's stop signal, SIGKILL after `timeout` (the policy
    /// every runtime shares, [`StopPolicy`]), then delete it.
    pub fn stop(mut self, timeout: Duration) -> Result<Stopped> {
        let stopped = StopPolicy {
            timeout,
            ..self.stop
        }
        .stop(&mut self);
        let deleted = self.delete();
        let stopped = stopped?;
        deleted?;
        Ok(stopped)
    }

    /// libcontainer's delete: its state directory and the container's cgroups.
    fn delete(&mut self) -> Result<()> {
        if self.deleted {
            return Ok(());
        }
        self.deleted = true;
        match LcContainer::load(self.root.clone()) {
            Ok(mut c) => c.delete(true).map_err(|e| lc_err("delete", e)),
            // Never written, or already gone.
            Err(_) if !self.root.exists() => Ok(()),
            Err(e) => Err(lc_err("delete", e)),
        }
    }

    fn wait_status(&mut self, flags: Option<WaitPidFlag>) -> Result<Option<i32>> {
        if let Some(code) = self.code {
            return Ok(Some(code));
        }
        loop {
            match waitpid(Pid::from_raw(self.pid), flags) {
                Ok(WaitStatus::Exited(_, code)) => self.code = Some(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => self.code = Some(128 + sig as i32),
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(lc_err("wait", e)),
            }
            return Ok(self.code);
        }
    }
}

impl Container for Running {
    /// The init has executed: its executable is no longer the caller's (libcontainer's init
    /// is a fork of the caller until it executes the container's program).
    fn started(&mut self) -> bool {
        let exe = |pid: &str| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        match (exe(&self.pid.to_string()), exe("self")) {
            (Some(theirs), Some(ours)) => theirs != ours,
            _ => false,
        }
    }

    fn signal(&mut self, signal: i32) -> Result<()> {
        if self.code.is_some() {
            return Ok(());
        }
        let sig = nix::sys::signal::Signal::try_from(signal).map_err(|e| lc_err("kill", e))?;
        nix::sys::signal::kill(Pid::from_raw(self.pid), sig).map_err(|e| lc_err("kill", e))
    }

    fn try_wait(&mut self) -> Result<Option<i32>> {
        self.wait_status(Some(WaitPidFlag::WNOHANG))
    }

    fn wait(&mut self) -> Result<i32> {
        Ok(self.wait_status(None)?.unwrap_or(0))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.code.is_none() && !self.deleted {
            let _ = Container::kill(self);
            let _ = Container::wait(self);
        }
        let _ = self.delete();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::seccomp::Seccomp;
    use locald_spec_macros::verifies;
    use locald_testkit::{Rootfs, Users};

    /// A bundle prepared (rootful, no init) with `seccomp`, and what it lives in.
    fn prepared(seccomp: Seccomp) -> (Rootfs, tempfile::TempDir, Bundle) {
        let rootfs = Rootfs::build(Users::RootOnly);
        let state = tempfile::tempdir().unwrap();
        let opts = crate::RunOptions {
            seccomp,
            ..crate::RunOptions::default()
        };
        let image = locald_testkit::image_config(serde_json::json!({ "Cmd": ["true"] }));
        let bundle =
            crate::prepare(&image, rootfs.path(), &opts, &state.path().join("c"), "c").unwrap();
        (rootfs, state, bundle)
    }

    /// Built without libseccomp, libcontainer would skip the bundle's filter and run the
    /// container unconfined: such a bundle is refused, naming the fix; an unconfined bundle,
    /// or a libcontainer with libseccomp, runs.
    #[test]
    #[verifies("security.seccomp.default")]
    fn a_filter_libcontainer_cannot_load_is_refused_not_skipped() {
        let (_rootfs, _state, filtered) = prepared(Seccomp::Default);
        let err = refuse_filter_without_libseccomp(&filtered, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("built without libseccomp"), "{err}");
        assert!(err.contains("libcontainer-seccomp"), "{err}");
        refuse_filter_without_libseccomp(&filtered, true).unwrap();
        let (_rootfs, _state, unconfined) = prepared(Seccomp::Unconfined);
        refuse_filter_without_libseccomp(&unconfined, false).unwrap();
    }
}
