//! Run a prepared bundle under runc, in the namespaces that hold its layer (see `runtime::launch`).
//!
//! `runc run` runs in the foreground with the caller's stdout and stderr, stdin from /dev/null
//! unless the process has a terminal or the caller asks for its own ([`Runtime::with_stdin`]),
//! and forwards signals it receives to the container. Its
//! exit status is the container's (128+N when the container was killed by signal N). `runc run`
//! deletes the container itself when it ends; only when runc did not (it was killed, or failed
//! to) is `runc delete --force` run, which spares every ordinary run a second start of runc.
//! [`Running::stop`] (or a
//! [`Stopper`] from another thread) stops it: the stop signal through `runc kill`, then SIGKILL
//! after a grace period (see [`crate::stopping`]).
//!
//! runc keeps its own state under `--root`: the state root's `runtime` directory
//! ([`crate::state`]), never the bundle, so a bundle can be removed and its container still be
//! found and stopped.

#[cfg(feature = "runc")]
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
#[cfg(feature = "runc")]
use std::process::{Command, Stdio};
#[cfg(feature = "runc")]
use std::time::Duration;

#[cfg(feature = "runc")]
use locald_spec_macros::implements;

#[cfg(feature = "runc")]
use crate::bundle::{Bundle, BundleFacts};
#[cfg(feature = "runc")]
use crate::error::{Error, Result};
#[cfg(feature = "runc")]
use crate::stopping;

#[cfg(all(target_os = "linux", feature = "runc"))]
mod launch;
#[cfg(all(target_os = "linux", feature = "libcontainer"))]
pub mod libcontainer;
#[cfg(feature = "runc")]
mod spawn;
#[cfg(all(target_os = "linux", feature = "runc"))]
pub(crate) use launch::in_user_namespace;
mod log;
mod stop;

pub use log::{ENGINE_FAILED, NOT_EXECUTABLE, NOT_FOUND, failure_status};
pub use stop::{Container, StopPolicy, Stopped};

/// A handle on an OCI runtime binary (runc).
#[cfg(feature = "runc")]
#[derive(Debug, Clone)]
pub struct Runtime {
    binary: PathBuf,
    state_root: Option<PathBuf>,
    parent_death_signal: bool,
    inherit_stdin: bool,
}

/// Find `name` in `$PATH`.
#[cfg(feature = "runc")]
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(feature = "runc")]
fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    p.is_file()
}

/// The exit code for a finished process: its code, or 128+N when killed by signal N.
pub fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

#[cfg(feature = "runc")]
impl Runtime {
    /// Find `runc` on `PATH`.
    ///
    /// ```no_run
    /// let runtime = locald_engine::Runtime::find()?;
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    pub fn find() -> Result<Self> {
        let binary = which("runc").ok_or_else(|| Error::RuntimeNotFound {
            name: "runc".into(),
        })?;
        Ok(Self::at(binary))
    }

    /// The runtime binary at `binary`, with the defaults: runc's state root, no parent-death
    /// signal, stdin from /dev/null.
    fn at(binary: PathBuf) -> Self {
        Runtime {
            binary,
            state_root: None,
            parent_death_signal: false,
            inherit_stdin: false,
        }
    }

    /// Use the runtime binary at `path` (or, without a `/`, that name looked up on `PATH`).
    pub fn with_binary(path: &Path) -> Result<Self> {
        let binary = if path.components().count() == 1 && !path.is_absolute() {
            which(&path.to_string_lossy())
        } else {
            is_executable(path).then(|| path.to_owned())
        }
        .ok_or_else(|| Error::RuntimeNotFound {
            name: path.display().to_string(),
        })?;
        Ok(Self::at(binary))
    }

    /// Use `dir` as runc's `--root` instead of the per-user default (the default state root's
    /// `runtime` directory, see [`crate::state`]).
    pub fn with_state_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_root = Some(dir.into());
        self
    }

    /// Stop the container with the engine: the runtime process gets SIGKILL as its
    /// parent-death signal (when the thread that spawned it ends, runc dies with it), and the
    /// container's init gets the engine's lifeline, a pipe whose only write end [`Running`]
    /// holds: once the engine's process is gone, the init forwards the stop signal to the
    /// workload as if the engine had stopped it (`signals.init.parent-death`). Only for a
    /// caller whose spawning thread lives as long as the container (the CLI's main thread): a
    /// pool thread that ends early kills runc, and the container runs on unsupervised until
    /// the [`Running`] is waited for, stopped or dropped, which all delete it.
    pub fn with_parent_death_signal(mut self, on: bool) -> Self {
        self.parent_death_signal = on;
        self
    }

    /// Give the container the caller's stdin (`locald-engine run -i`), as `docker run -i`
    /// does, instead of /dev/null; a process with a terminal reads its terminal either way.
    pub fn with_stdin(mut self, inherit: bool) -> Self {
        self.inherit_stdin = inherit;
        self
    }

    /// The runtime binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// runc's `--root`: the explicit one, else the default state root's `runtime` directory.
    pub fn state_root(&self) -> PathBuf {
        self.state_root
            .clone()
            .unwrap_or_else(|| crate::state::default_state_root().join(crate::state::RUNTIME_DIR))
    }

    /// Start `runc run` for `bundle` and return the running container.
    ///
    /// Without a terminal, runc gets a process group of its own, so a terminal's Ctrl-C reaches
    /// only the caller, which forwards it once with [`Running::signal`] (runc forwards what it
    /// receives to the container; two copies would reach the workload otherwise). With a
    /// terminal runc stays in the caller's group, since it must control the terminal. runc
    /// starts with no signal blocked, whatever the caller blocks.
    pub fn spawn(&self, bundle: &Bundle) -> Result<Running<'_>> {
        self.spawn_facts(&BundleFacts::of(bundle))
    }

    /// [`Runtime::spawn`] for a bundle known by its facts ([`BundleFacts::open`] reads them
    /// from its directory without parsing its whole runtime spec).
    #[implements("stopping.runtime-signals")]
    pub fn spawn_facts(&self, bundle: &BundleFacts) -> Result<Running<'_>> {
        let root = self.state_root();
        crate::state::ensure_private_dir(&root)?;
        let tty = bundle.terminal();
        let mut log = log::RuntimeLog::new()?;
        let mut cmd = spawn::Command::new(&self.binary);
        cmd.arg("--root").arg(&root).args(log.args()).arg("run");
        // The engine's lifeline (`launch::Launch::prepare`): for a container that is to stop
        // with the engine, as with the parent-death signal, and only for an init that takes
        // one, never for a workload without the init, which would keep it.
        let lifeline = self.parent_death_signal && crate::spec::takes_lifeline(bundle.args());
        if lifeline {
            cmd.args(["--preserve-fds", "1"]);
        }
        cmd.arg("--bundle").arg(&bundle.state_dir).arg(&bundle.id);
        if !tty {
            if !self.inherit_stdin {
                cmd.stdin_null();
            }
            cmd.process_group();
        }
        let stop_signal = bundle.info.stop_signal;
        #[cfg(target_os = "linux")]
        let log_fd = log.raw_fd();
        // SAFETY: fcntl(2): async-signal-safe. The child's signal mask is emptied by `spawn`.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::fcntl(log_fd, nix::libc::F_SETFD, 0) != 0 {
                    return Err(spawn::Failed::last("pass the runtime's log"));
                }
                Ok(())
            });
        }
        #[cfg(target_os = "linux")]
        let launch = launch::Launch::prepare(
            &mut cmd,
            bundle,
            self.parent_death_signal.then_some(stopping::SIGKILL),
            lifeline,
        )?;
        let child = cmd.spawn();
        #[cfg(target_os = "linux")]
        let mapped = launch.spawned();
        #[cfg(not(target_os = "linux"))]
        let mapped: Result<Option<std::os::fd::OwnedFd>> = Ok(None);
        let (child, lifeline) = match (child, mapped) {
            (Ok(c), Ok(lifeline)) => (c, lifeline),
            (Ok(mut c), Err(e)) => {
                let _ = c.kill();
                let _ = c.wait();
                return Err(e);
            }
            (Err(e), Err(m)) => {
                return Err(Error::Runtime {
                    runtime: self.binary.clone(),
                    action: "run",
                    reason: format!("{e} ({m})"),
                });
            }
            (Err(e), Ok(_)) => {
                return Err(Error::Runtime {
                    runtime: self.binary.clone(),
                    action: "run",
                    reason: e.to_string(),
                });
            }
        };
        let _ = &mut log;
        Ok(Running {
            runtime: self,
            child: Some(child),
            state_root: root,
            id: bundle.id.clone(),
            stop_signal,
            log,
            _lifeline: lifeline,
        })
    }

    /// Remove a prepared bundle ([`crate::bundle::remove`]) after checking that runc no
    /// longer knows its container: one that is created, running or paused is refused
    /// ([`Error::ContainerExists`]) unless `force`, which kills and deletes it first; one that
    /// stopped is deleted from runc's state.
    #[implements("lifecycle.remove")]
    pub fn remove(&self, bundle_dir: &Path, force: bool) -> Result<()> {
        let info = crate::bundle::BundleInfo::read(bundle_dir)?;
        let root = self.state_root();
        if let Some(status) = self.status(&root, &info.id) {
            if status != "stopped" && !force {
                return Err(Error::ContainerExists {
                    id: info.id,
                    status,
                });
            }
            self.delete(&root, &info.id)?;
            // The engine that ran it may have removed the bundle meanwhile, as it does when its
            // container ends.
            return match crate::bundle::remove(bundle_dir) {
                Err(Error::NotABundle { .. }) if std::fs::symlink_metadata(bundle_dir).is_err() => {
                    Ok(())
                }
                other => other,
            };
        }
        crate::bundle::remove(bundle_dir)
    }

    /// The containers runc knows under this runtime's state root: (id, status). Creates
    /// nothing: a state root without runc's directory has no containers, and runc is not
    /// started on it (runc 1.1 creates its `--root` for any command, `list` included, which
    /// on a full filesystem fails with ENOSPC).
    pub fn list(&self) -> Result<Vec<(String, String)>> {
        let root = self.state_root();
        if !crate::state::check_private_dir(&root)? {
            return Ok(Vec::new());
        }
        let out = Command::new(&self.binary)
            .arg("--root")
            .arg(&root)
            .args(["list", "--format", "json"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Runtime {
                runtime: self.binary.clone(),
                action: "list",
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(Error::Runtime {
                runtime: self.binary.clone(),
                action: "list",
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        Some((
                            c.get("id")?.as_str()?.to_owned(),
                            c.get("status")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Run `bundle` in the foreground and return the container's exit code; the container is
    /// deleted afterwards whatever happened.
    ///
    /// runc reports its own failures (e.g. a missing binary in the image) on stderr with a
    /// non-zero status that cannot be told apart from the workload's.
    pub fn run(&self, bundle: &Bundle) -> Result<i32> {
        self.spawn(bundle)?.wait()
    }

    /// `runc kill ID SIGNAL`: send signal number `signal` to the container's PID 1.
    pub fn kill(&self, state_root: &Path, id: &str, signal: i32) -> Result<()> {
        let out = Command::new(&self.binary)
            .arg("--root")
            .arg(state_root)
            .args(["kill", id, &signal.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Runtime {
                runtime: self.binary.clone(),
                action: "kill",
                reason: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Runtime {
                runtime: self.binary.clone(),
                action: "kill",
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// The container's status as `runc state ID` reports it (`created`, `running`, ...), or
    /// `None` when runc does not know it (yet). Without runc's state directory runc knows no
    /// container, and is not started (it would create the directory).
    pub fn status(&self, state_root: &Path, id: &str) -> Option<String> {
        if std::fs::symlink_metadata(state_root).is_err() {
            return None;
        }
        let out = Command::new(&self.binary)
            .arg("--root")
            .arg(state_root)
            .args(["state", id])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.get("status")?.as_str().map(str::to_owned)
    }

    /// Delete the container after `runc run` ended: `runc delete --force ID` when runc left
    /// its state behind (`STATE_ROOT/ID`, removed by runc itself when `run` ends normally);
    /// nothing otherwise.
    pub fn cleanup(&self, state_root: &Path, id: &str) -> Result<()> {
        // runc refuses ids with a `/`; never look outside the state root for one.
        if !id.contains('/')
            && id != ".."
            && std::fs::symlink_metadata(state_root.join(id))
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(());
        }
        self.delete(state_root, id)
    }

    /// `runc delete --force ID`; a container that no longer exists is not an error.
    pub fn delete(&self, state_root: &Path, id: &str) -> Result<()> {
        let out = Command::new(&self.binary)
            .arg("--root")
            .arg(state_root)
            .args(["delete", "--force", id])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Runtime {
                runtime: self.binary.clone(),
                action: "delete",
                reason: e.to_string(),
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("does not exist") {
            Ok(())
        } else {
            Err(Error::Runtime {
                runtime: self.binary.clone(),
                action: "delete",
                reason: stderr.trim().to_owned(),
            })
        }
    }
}

/// A container started by [`Runtime::spawn`]. Dropping it without [`Running::wait`] kills
/// runc and deletes the container.
#[cfg(feature = "runc")]
#[derive(Debug)]
pub struct Running<'a> {
    runtime: &'a Runtime,
    child: Option<spawn::Child>,
    state_root: PathBuf,
    id: String,
    stop_signal: i32,
    log: log::RuntimeLog,
    /// The write end of the engine's lifeline, held as long as the container may still start
    /// (`launch::Launch::prepare`).
    _lifeline: Option<std::os::fd::OwnedFd>,
}

/// A handle that stops a running container from another thread (see [`Running::stopper`]).
#[cfg(feature = "runc")]
#[derive(Debug, Clone)]
pub struct Stopper {
    runtime: Runtime,
    state_root: PathBuf,
    id: String,
    stop_signal: i32,
    /// The `runc run` process, killed directly should `runc kill` fail (Linux only: that needs
    /// nix's `kill`).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    runc_pid: u32,
}

#[cfg(feature = "runc")]
impl Stopper {
    /// The signal that stops the container (the image's `StopSignal`, else SIGTERM).
    pub fn stop_signal(&self) -> i32 {
        self.stop_signal
    }

    /// Send the stop signal to the container's PID 1.
    #[implements("stopping.signal")]
    pub fn send_stop_signal(&self) -> Result<()> {
        self.runtime
            .kill(&self.state_root, &self.id, self.stop_signal)
    }

    /// Kill the container with SIGKILL; should runc fail to, kill `runc run` itself (the
    /// container is then deleted with `runc delete --force`, which kills what is left).
    #[implements("stopping.timeout")]
    pub fn kill(&self) -> Result<()> {
        let r = self
            .runtime
            .kill(&self.state_root, &self.id, stopping::SIGKILL);
        #[cfg(target_os = "linux")]
        if r.is_err()
            && let Ok(pid) = i32::try_from(self.runc_pid)
            && pid > 0
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        r
    }
}

#[cfg(feature = "runc")]
impl Running<'_> {
    /// The pid of the `runc run` process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, spawn::Child::id)
    }

    /// Send signal `sig` to runc, which forwards it to the container's init process.
    #[cfg(target_os = "linux")]
    pub fn signal(&self, sig: nix::sys::signal::Signal) -> Result<()> {
        let pid = i32::try_from(self.pid()).unwrap_or(0);
        if pid <= 0 {
            return Ok(());
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(|e| Error::Runtime {
            runtime: self.runtime.binary.clone(),
            action: "signal",
            reason: e.to_string(),
        })
    }

    /// The signal that stops the container (the image's `StopSignal`, else SIGTERM).
    pub fn stop_signal(&self) -> i32 {
        self.stop_signal
    }

    /// A handle that stops this container from another thread while this one waits.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            runtime: self.runtime.clone(),
            state_root: self.state_root.clone(),
            id: self.id.clone(),
            stop_signal: self.stop_signal,
            runc_pid: self.pid(),
        }
    }

    /// Stop the container: its stop signal to PID 1, up to `timeout` (usually
    /// [`stopping::DEFAULT_STOP_TIMEOUT`]) for it to exit, then SIGKILL. The container is
    /// deleted afterwards.
    ///
    /// ```no_run
    /// # use locald_engine::{prepare, RunOptions, Runtime, stopping};
    /// # let image = oci_spec::image::ImageConfiguration::default();
    /// # let bundle = prepare(&image, "/r".as_ref(), &RunOptions::default(), "/s".as_ref(), "c")?;
    /// let runtime = Runtime::find()?;
    /// let running = runtime.spawn(&bundle)?;
    /// let stopped = running.stop(stopping::DEFAULT_STOP_TIMEOUT)?;
    /// println!("exit {} (killed: {})", stopped.code, stopped.killed);
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    /// The policy is the one every runtime shares ([`StopPolicy`]).
    #[implements("stopping.signal", "stopping.timeout")]
    pub fn stop(mut self, timeout: Duration) -> Result<Stopped> {
        let stopper = self.stopper();
        let mut child = self.child.take().expect("stopped once");
        let stopped = StopPolicy::new(self.stop_signal, timeout).stop(&mut RuncRun {
            child: &mut child,
            stopper: &stopper,
        });
        self.runtime.cleanup(&self.state_root, &self.id)?;
        let stopped = stopped?;
        let code = self.runtime_failure(stopped.code)?;
        Ok(Stopped {
            code,
            killed: stopped.killed,
        })
    }

    /// `code`, unless runc failed on its own (it logged an error and exited non-zero): then
    /// [`Error::Start`] with the runtime's message and the status that says what kind of failure
    /// it was ([`failure_status`]).
    #[implements("lifecycle.exit-status")]
    fn runtime_failure(&mut self, code: i32) -> Result<i32> {
        if code == 0 {
            return Ok(0);
        }
        match self.log.error() {
            Some(reason) => Err(Error::Start {
                status: failure_status(&reason),
                reason,
            }),
            None => Ok(code),
        }
    }

    /// Wait for the container to exit, delete it, and return its exit code.
    ///
    /// The caller must not leave SIGCHLD ignored: the kernel would then reap runc itself and
    /// this wait fail with ECHILD (the command line restores its default action at start,
    /// `stopping.runtime-signals`; a library leaves process-wide dispositions to its caller).
    pub fn wait(mut self) -> Result<i32> {
        let mut child = self.child.take().expect("waited once");
        let status = child.wait().map_err(|e| Error::Runtime {
            runtime: self.runtime.binary.clone(),
            action: "run",
            reason: e.to_string(),
        });
        let deleted = self.runtime.cleanup(&self.state_root, &self.id);
        let code = exit_code(status?);
        deleted?;
        self.runtime_failure(code)
    }
}

/// A `runc run` process as the stop policy sees it: the container runs once runc says so,
/// signals go through `runc kill`.
#[cfg(feature = "runc")]
struct RuncRun<'a> {
    child: &'a mut spawn::Child,
    stopper: &'a Stopper,
}

#[cfg(feature = "runc")]
impl RuncRun<'_> {
    fn run_err(&self, e: std::io::Error) -> Error {
        Error::Runtime {
            runtime: self.stopper.runtime.binary.clone(),
            action: "run",
            reason: e.to_string(),
        }
    }
}

#[cfg(feature = "runc")]
impl Container for RuncRun<'_> {
    fn started(&mut self) -> bool {
        let s = self.stopper;
        s.runtime.status(&s.state_root, &s.id).as_deref() == Some("running")
    }

    fn signal(&mut self, signal: i32) -> Result<()> {
        let s = self.stopper;
        s.runtime.kill(&s.state_root, &s.id, signal)
    }

    fn try_wait(&mut self) -> Result<Option<i32>> {
        match self.child.try_wait() {
            Ok(st) => Ok(st.map(exit_code)),
            Err(e) => Err(self.run_err(e)),
        }
    }

    fn wait(&mut self) -> Result<i32> {
        match self.child.wait() {
            Ok(st) => Ok(exit_code(st)),
            Err(e) => Err(self.run_err(e)),
        }
    }

    fn kill(&mut self) -> Result<()> {
        self.stopper.kill()
    }
}

#[cfg(feature = "runc")]
impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = self.runtime.delete(&self.state_root, &self.id);
        }
    }
}

#[cfg(all(test, feature = "runc"))]
mod tests {
    use super::*;

    #[test]
    fn missing_runtime_is_a_clear_error() {
        let err = Runtime::with_binary(Path::new("/nonexistent/runc")).unwrap_err();
        assert!(matches!(err, Error::RuntimeNotFound { .. }));
        assert!(err.to_string().contains("/nonexistent/runc"));
        let err = Runtime::with_binary(Path::new("no-such-runtime-xyz")).unwrap_err();
        assert!(err.to_string().contains("no-such-runtime-xyz"));
    }

    #[cfg(unix)]
    #[test]
    fn cleanup_runs_delete_only_when_runc_left_its_state() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let fake = dir.path().join("runc");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = Runtime::with_binary(&fake).unwrap();
        let root = dir.path().join("state");
        std::fs::create_dir(&root).unwrap();
        // `runc run` ended normally: it removed ROOT/ID itself; no second runc.
        rt.cleanup(&root, "c1").unwrap();
        assert!(!log.exists());
        // runc was killed: its state is left; `delete --force` removes the container.
        std::fs::create_dir(root.join("c1")).unwrap();
        rt.cleanup(&root, "c1").unwrap();
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            logged,
            format!("--root {} delete --force c1\n", root.display())
        );
    }

    /// Found by the fault tests (`state_root_full_*` in tests/faults.rs): `ps` on a state root
    /// whose filesystem is full failed with ENOSPC, because opening the state root created
    /// runc's directory and `runc list` creates its `--root` too. Listing creates nothing.
    #[cfg(target_os = "linux")]
    #[test]
    fn listing_a_state_root_creates_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // What runc 1.1 does with its --root for every command: creates it.
        let fake = dir.path().join("runc");
        std::fs::write(&fake, "#!/bin/sh\nmkdir -p \"$2\"\necho '[]'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let state = dir.path().join("state");
        let root = crate::state::StateRoot::open(&state).unwrap();
        let rt = Runtime::with_binary(&fake)
            .unwrap()
            .with_state_root(root.runtime_root());
        assert_eq!(rt.list().unwrap(), Vec::<(String, String)>::new());
        assert_eq!(rt.status(&root.runtime_root(), "c1"), None);
        let mut made: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        made.sort();
        assert_eq!(made, ["bundles"], "no runtime directory made to list");
    }

    #[cfg(unix)]
    #[test]
    fn exit_codes_follow_the_shell_convention() {
        let st = Command::new("sh").args(["-c", "exit 7"]).status().unwrap();
        assert_eq!(exit_code(st), 7);
        let st = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .unwrap();
        assert_eq!(exit_code(st), 128 + 15);
    }
}
