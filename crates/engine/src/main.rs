//! `locald-engine`: prepare, explain and run OCI bundles from an image rootfs and config.
//!
//! ```text
//! locald-engine run     --rootfs DIR [-i] [options] [-- CMD [ARG...]]
//!                       options include --entrypoint PROGRAM, -w DIR, --cgroups-path PATH,
//!                       --annotation KEY=VALUE
//! locald-engine prepare --rootfs DIR --bundle DIR [options] [-- CMD [ARG...]]
//! locald-engine start   --bundle DIR [-i]
//! locald-engine mount   --bundle DIR
//! locald-engine explain --rootfs DIR [--json] [options] [-- CMD [ARG...]]
//! locald-engine remove  --bundle DIR [--force]
//! locald-engine refresh --bundle DIR [--add-host NAME:IP]... [--dns IP]...
//! locald-engine ps
//! locald-engine rm      [--force] ID...
//! locald-engine completions bash|zsh|fish|elvish|powershell
//! locald-engine man     [DIR]
//! ```
//!
//! The flags that describe a container, their conversion into `RunOptions`, the search for the
//! init and the wording of errors live in the library (`locald_engine::cli`); this file holds
//! the commands and the signal handling.
//!
//! Every container gets its own writable layer over the image (see `locald_engine::layer`).
//! Run as a non-root user (or with `--rootless`), the container gets a user namespace with the
//! single mapping: the caller's uid and gid become 0 inside; unprivileged, the engine creates
//! that namespace itself and runs runc inside it.
//!
//! The command runs under the static `locald-init` as PID 1 (`--init-path PATH`, else
//! `$LOCALD_INIT`, else `locald-init` next to this executable, else the workspace's static
//! build when this executable lies in a cargo target directory; `--no-init` turns it off).
//! SIGTERM to `run` stops the container: the image's `StopSignal` (else SIGTERM), then SIGKILL
//! after `--stop-timeout SECS` (default 10). SIGINT (Ctrl-C) is forwarded to the container as
//! `docker run` forwards it; the second says that the engine waits, the third kills the
//! container. `run` exits with the container's status (128+N when signal N ended it).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use locald_engine::cli::{Failure, Options, RefreshFlags, StateFlag};
use locald_engine::runtime::ENGINE_FAILED;
use locald_engine::state::{self, StateRoot};
use locald_engine::{RunOptions, Runtime, bundle};
use locald_spec_macros::implements;

/// The exit statuses, shown after `--help` and in the man page (`lifecycle.exit-status`).
const EXIT_STATUS: &str = "\
Exit status (docker run's):
  0        success (run, start: the container exited 0)
  1-124    run, start: the container's own status
  125      the engine failed: a usage error, a refused option, the runtime's failure
  126      the command cannot be executed
  127      the command cannot be found
  128+N    run, start: the container was killed by signal N (130 SIGINT, 137 SIGKILL, 143 SIGTERM)";

#[derive(Parser)]
#[command(
    name = "locald-engine",
    version,
    about = "Run OCI image rootfs trees under runc",
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prepare a bundle, run it under runc, remove it, and exit with the container's status.
    ///
    /// Without a terminal, Ctrl-C (SIGINT) is forwarded to the container, as `docker run` does;
    /// a second one says the engine is waiting for the container to stop, a third kills it
    /// (SIGKILL). SIGTERM stops it: the image's StopSignal, then SIGKILL after --stop-timeout.
    Run(RunArgs),
    /// Write a bundle (config.json, the container's layer, generated files) into a new
    /// directory and print its path. Mounts nothing; run it with `start`.
    Prepare {
        #[command(flatten)]
        options: Options,
        /// The bundle directory to create; it must not exist.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
    },
    /// Run a prepared bundle under runc (its layer mounted in a namespace of its own) and exit
    /// with the container's status; the bundle stays. Signals as for `run`.
    Start {
        /// The bundle directory `prepare` wrote.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        #[command(flatten)]
        runtime: RuntimeArgs,
        #[command(flatten)]
        attach: Attach,
    },
    /// As root: mount a prepared bundle's layer on its rootfs in this mount namespace, for an
    /// OCI runtime run by hand (`runc run --bundle DIR ID`); `remove` unmounts it.
    Mount {
        /// The bundle directory `prepare` wrote.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
    },
    /// Remove a bundle directory that `prepare` wrote; refused while its container exists.
    Remove {
        /// The bundle directory; it must hold the engine's locald-bundle.json.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// Kill and delete the container first if it still exists.
        #[arg(long, short = 'f')]
        force: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Rewrite a prepared or running container's /etc/hosts and /etc/resolv.conf in place:
    /// the engine's own lines, then the extra hosts and DNS flags given now (the whole list).
    Refresh {
        #[command(flatten)]
        flags: RefreshFlags,
    },
    /// List the containers of the state root: id, status, bundle.
    Ps {
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Remove containers of the state root by id (their bundles too); refused while one runs,
    /// unless --force, which kills it.
    Rm {
        /// Kill and delete a container that still runs.
        #[arg(long, short = 'f')]
        force: bool,
        /// Container ids.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Print the plan: a summary by requirement, then every decision with the requirement ID
    /// that asks for it. Runs nothing: without an init it plans without one, saying so.
    Explain {
        #[command(flatten)]
        options: Options,
        /// Print JSON instead of text (permission bits as octal strings, "0755").
        #[arg(long)]
        json: bool,
        /// The bundle directory the generated files would live in.
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
    },
    /// Print a shell completion script for SHELL.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (locald-engine.1 and one per command) into DIR, or print
    /// locald-engine.1 without DIR.
    Man {
        /// The directory to write them into (created if missing).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `run`'s flags.
#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    options: Options,
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    attach: Attach,
}

#[derive(Args, Debug)]
struct RuntimeArgs {
    /// The OCI runtime binary (default: runc on PATH).
    #[arg(long, value_name = "PATH")]
    runtime: Option<PathBuf>,
    /// The engine's state root: bundles/ and the runtime's state (default: /var/lib/locald-engine
    /// for root, ~/.local/share/locald-engine otherwise).
    #[arg(long, value_name = "DIR")]
    state_root: Option<PathBuf>,
}

/// How `run` and `start` attach to the container.
#[derive(Args, Debug)]
struct Attach {
    /// Seconds between the stop signal (on SIGTERM to the engine) and SIGKILL.
    #[arg(long, value_name = "SECS", default_value_t = locald_engine::cli::run_flags::DEFAULT_STOP_TIMEOUT)]
    stop_timeout: u64,
    /// Keep stdin open: the container reads the engine's stdin. Without -i its stdin is
    /// /dev/null, unless -t gives it a terminal.
    #[arg(long, short = 'i')]
    interactive: bool,
}

impl RuntimeArgs {
    /// The state root's path (`--state-root`, else the default), not yet checked or created.
    fn state_root_path(&self) -> PathBuf {
        self.state_root
            .clone()
            .unwrap_or_else(state::default_state_root)
    }

    /// The state root, checked and created ([`StateRoot::open`]).
    fn state_root(&self) -> CliResult<StateRoot> {
        Ok(StateRoot::open(&self.state_root_path())?)
    }

    /// The runtime, its state in `state_root`.
    fn runtime(&self, state_root: &StateRoot) -> CliResult<Runtime> {
        Ok(self
            .runtime_binary()?
            .with_state_root(state_root.runtime_root()))
    }

    /// The runtime binary (`--runtime`, else runc on PATH), its state root not yet set.
    fn runtime_binary(&self) -> CliResult<Runtime> {
        Ok(match &self.runtime {
            Some(p) => Runtime::with_binary(p),
            None => Runtime::find(),
        }?)
    }
}

type CliResult<T> = Result<T, Failure>;

/// Refuse `--tty` unless the engine's own stdin is a terminal: runc opens the caller's terminal
/// for the container's console, and would otherwise fail far less clearly.
#[implements("process.terminal")]
fn require_terminal_for_tty(opts: &RunOptions) -> CliResult<()> {
    if opts.tty && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err("--tty needs a terminal on stdin".into());
    }
    Ok(())
}

fn run(options: &Options, rt: &RuntimeArgs, attach: &Attach) -> CliResult<u8> {
    options.check_rootfs()?;
    let image = options.image()?;
    let mut opts = options.run_options_for(options.init()?, &image)?;
    // `run` removes the bundle when the container ends, as `docker run --rm` and Podman's
    // `--rm`, which mounts such a layer volatile too.
    opts.volatile_layer = true;
    require_terminal_for_tty(&opts)?;
    let id = options.id();
    // Planned, and so checked, before anything is written: a refused image or option (or a
    // state root inside the image) leaves no state root behind (`identity.image-files.confined`,
    // `filesystems.root`).
    let state_path = rt.state_root_path();
    let planned = bundle::Planned::new(
        &image,
        &options.rootfs,
        &opts,
        &state::bundle_dir_at(&state_path, &id)?,
        &id,
    )?;
    let runtime = rt
        .runtime_binary()?
        .with_parent_death_signal(true)
        .with_stdin(attach.interactive);
    let state_root = StateRoot::open(&state_path)?;
    let runtime = runtime.with_state_root(state_root.runtime_root());
    // What engines killed while preparing left behind.
    state_root.sweep()?;
    let dir = planned.state_dir();
    // A bundle left by an engine that was killed: removed, unless its container still runs.
    if std::fs::symlink_metadata(dir).is_ok() {
        runtime.remove(dir, false).map_err(|e| {
            format!(
                "{e} (a container with id {id} already exists: `locald-engine rm --force {id}`)"
            )
        })?;
    }
    let bundle = planned.write()?;
    let result = run_forwarding_signals(
        &runtime,
        &bundle::BundleFacts::of(&bundle),
        attach.stop_timeout(),
    );
    let removed = bundle.remove();
    // The process exits next, and its memory goes with it: freeing the bundle's thousand
    // allocations one by one first (the runtime spec's and the plan's seccomp names, mostly)
    // took 30 µs of each run (the book's performance chapter).
    std::mem::forget(bundle);
    let code = result?;
    removed?;
    Ok(u8::try_from(code).unwrap_or(255))
}

impl Attach {
    fn stop_timeout(&self) -> Duration {
        Duration::from_secs(self.stop_timeout)
    }
}

/// `prepare`: write the bundle, print its path.
fn prepare(options: &Options, dir: &Path) -> CliResult<u8> {
    options.check_rootfs()?;
    let id = options.id();
    let image = options.image()?;
    let opts = options.run_options_for(options.init()?, &image)?;
    let b = locald_engine::prepare(&image, &options.rootfs, &opts, dir, &id)
        .map_err(|e| Failure::engine(e, StateFlag::Bundle))?;
    println!("{}", b.state_dir.display());
    Ok(0)
}

/// `start`: run a prepared bundle, leave it in place.
fn start(dir: &Path, rt: &RuntimeArgs, attach: &Attach) -> CliResult<u8> {
    // Its facts, not `Bundle::open`: that parses the whole runtime spec, whose deserializer
    // links the regex engine into this binary (`bundle::BundleFacts`).
    let bundle =
        bundle::BundleFacts::open(dir).map_err(|e| Failure::engine(e, StateFlag::Bundle))?;
    let state_root = rt.state_root()?;
    let runtime = rt
        .runtime(&state_root)?
        .with_parent_death_signal(true)
        .with_stdin(attach.interactive);
    let code = run_forwarding_signals(&runtime, &bundle, attach.stop_timeout())?;
    Ok(u8::try_from(code).unwrap_or(255))
}

/// `explain`: the plan, as text or JSON. It runs nothing, so a missing init is no reason to
/// refuse: the plan is made without one, and stderr says so (an init the user named is still
/// refused).
fn explain(options: &Options, json: bool, bundle: Option<&Path>) -> CliResult<u8> {
    options.check_rootfs()?;
    let id = options.id();
    let init = match options.init() {
        Ok(init) => init,
        Err(e) if !e.explicit => {
            eprintln!(
                "locald-engine: planning without an init, which `run` needs (this plan has no \
                 /dev/init): {e}"
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    let state_dir = bundle.map_or_else(
        || {
            state::default_state_root()
                .join(state::BUNDLES_DIR)
                .join(&id)
        },
        Path::to_owned,
    );
    let image = options.image()?;
    let opts = options.run_options_for(init, &image)?;
    let (plan, _) = bundle::plan(&image, &options.rootfs, &opts, &state_dir, &id)
        .map_err(|e| Failure::engine(e, StateFlag::Bundle))?;
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, &locald_engine::cli::explain_json(&id, &plan))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        out.write_all(locald_engine::cli::explain_text(&plan).as_bytes())
    };
    written.map_err(|e| format!("writing the plan: {e}"))?;
    Ok(0)
}

/// `remove --bundle DIR`: refuses while runc knows the container, unless forced.
fn remove(dir: &Path, force: bool, rt: &RuntimeArgs) -> CliResult<u8> {
    let state_root = rt.state_root()?;
    let bundle_failure = |e| Failure::engine(e, StateFlag::Bundle);
    match rt.runtime(&state_root) {
        Ok(runtime) => runtime.remove(dir, force).map_err(bundle_failure)?,
        // Without a runtime nothing can say the container is gone: only a forced removal.
        Err(e) if force => {
            eprintln!("locald-engine: {e}; removing the bundle anyway (--force)");
            bundle::remove(dir).map_err(bundle_failure)?
        }
        Err(e) => {
            return Err(format!("{e}; cannot tell whether the container still runs").into());
        }
    }
    Ok(0)
}

/// `ps`: the bundles of the state root and their containers' status.
fn ps(rt: &RuntimeArgs) -> CliResult<u8> {
    let state_root = rt.state_root()?;
    let runtime = rt.runtime(&state_root)?;
    let known: std::collections::HashMap<String, String> = runtime.list()?.into_iter().collect();
    let mut rows = Vec::new();
    let entries = std::fs::read_dir(state_root.bundles())
        .map_err(|e| format!("{}: {e}", state_root.bundles().display()))?;
    for e in entries.flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') {
            continue;
        }
        let status = known
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "no container".into());
        rows.push((id, status, e.path()));
    }
    for (id, status) in &known {
        if !rows.iter().any(|(r, _, _)| r == id) {
            rows.push((id.clone(), status.clone(), PathBuf::from("-")));
        }
    }
    rows.sort();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<24} {:<14} BUNDLE", "ID", "STATUS");
    for (id, status, path) in rows {
        if writeln!(out, "{id:<24} {status:<14} {}", path.display()).is_err() {
            break;
        }
    }
    Ok(0)
}

/// `rm ID...`: `remove` by id, in the state root.
fn rm(ids: &[String], force: bool, rt: &RuntimeArgs) -> CliResult<u8> {
    let state_root = rt.state_root()?;
    let runtime = rt.runtime(&state_root)?;
    state_root.sweep()?;
    for id in ids {
        let dir = state_root.bundle_dir(id)?;
        if std::fs::symlink_metadata(&dir).is_err() {
            // A container without a bundle (its bundle removed by hand): delete it from runc.
            match runtime.status(&state_root.runtime_root(), id) {
                Some(s) if s != "stopped" && !force => {
                    return Err(format!("container {id} is {s}; use --force to kill it").into());
                }
                Some(_) => runtime.delete(&state_root.runtime_root(), id)?,
                None => {
                    return Err(
                        format!("no container {id} in {}", state_root.path().display()).into(),
                    );
                }
            }
            continue;
        }
        runtime.remove(&dir, force)?;
    }
    Ok(0)
}

/// `completions SHELL`: the script, from the clap definitions.
fn completions(shell: clap_complete::Shell) -> CliResult<u8> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "locald-engine",
        &mut std::io::stdout(),
    );
    Ok(0)
}

/// `man [DIR]`: the man pages, from the clap definitions.
fn man(dir: Option<&Path>) -> CliResult<u8> {
    let written = match dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map_err(|e| format!("{}: {e}", dir.display())),
        None => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| e.to_string()),
    };
    written?;
    Ok(0)
}

/// Run the bundle, forwarding the engine's signals (see [`on_signal`]); the engine lives on to
/// delete the container and its state, and returns its exit status.
///
/// One thread does it all: the signals, and SIGCHLD for the runtime's exit, are blocked and read
/// from a signalfd(2), and the stop timeout is the poll's. A second thread that waited in
/// `sigwait` cost every run its creation and, at the engine's exit, its teardown (see the
/// book's performance chapter).
#[cfg(target_os = "linux")]
#[implements("stopping.signal", "stopping.timeout", "lifecycle.interrupt")]
fn run_forwarding_signals(
    runtime: &Runtime,
    bundle: &bundle::BundleFacts,
    stop_timeout: Duration,
) -> locald_engine::Result<i32> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    use std::os::fd::AsFd;
    use std::time::Instant;
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
    ] {
        set.add(sig);
    }
    // Blocked before the runtime starts, so that none arriving meanwhile is lost: they wait for
    // the signalfd. The runtime's child unblocks them before its exec (`runtime::spawn`: a
    // child inherits the mask). No other thread could take SIGCHLD and leave the loop below
    // waiting: the engine has none here, and the id mapper that `spawn` may start inherits
    // this mask and is joined in it; and SIGCHLD is at its default action (`restore_signals`),
    // not ignored, which would reap runc without a signal.
    let _ = set.thread_block();
    let running = runtime.spawn_facts(bundle)?;
    let runc = nix::unistd::Pid::from_raw(i32::try_from(running.pid()).unwrap_or(0));
    let signals = match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
        Ok(fd) if runc.as_raw() > 0 => fd,
        _ => {
            // Nothing would read them: let them act as they would without the engine's wait.
            let _ = set.thread_unblock();
            return running.wait();
        }
    };
    let mut forwarder = Forwarder {
        stopper: running.stopper(),
        runc,
        id: bundle.id.clone(),
        interrupts: 0,
        stopping: false,
        kill_at: None,
        stop_timeout,
    };
    // Until runc has exited: looked at without reaping it (WNOWAIT), which `wait` does below.
    while let Ok(WaitStatus::StillAlive) = waitid(
        Id::Pid(runc),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
    ) {
        let timeout = match forwarder.kill_at {
            None => PollTimeout::NONE,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                // Rounded up: a poll that wakes a millisecond early would spin until the kill.
                let ms = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, timeout);
        if forwarder.kill_at.is_some_and(|at| Instant::now() >= at) {
            forwarder.kill_at = None;
            let _ = forwarder.stopper.kill();
        }
        while let Ok(Some(info)) = signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) | Err(_) => {}
                Ok(sig) => forwarder.on_signal(sig),
            }
        }
    }
    running.wait()
}

/// What the engine does with the signals it receives while its container runs.
#[cfg(target_os = "linux")]
struct Forwarder {
    stopper: locald_engine::Stopper,
    /// The `runc run` process, which forwards what it receives to the container's PID 1.
    runc: nix::unistd::Pid,
    id: String,
    stop_timeout: Duration,
    /// SIGINTs received so far.
    interrupts: u32,
    /// Whether a SIGTERM has started stopping the container (once: later ones only forward).
    stopping: bool,
    /// When the SIGKILL after the stop timeout is due, until it has been sent (none when the
    /// timeout is too far to represent).
    kill_at: Option<std::time::Instant>,
}

#[cfg(target_os = "linux")]
impl Forwarder {
    /// - SIGTERM stops the container: its stop signal (the image's `StopSignal`, else SIGTERM)
    ///   to its PID 1, then SIGKILL after the stop timeout (`docker stop`'s way).
    /// - SIGINT (Ctrl-C; with a terminal it goes through the container's own) is forwarded
    ///   unchanged, as `docker run` does: docker/cli's `runContainer`
    ///   (cli/command/container/run.go) starts `ForwardAllSignals`
    ///   (cli/command/container/signals.go) under `--sig-proxy`, on by default, which passes
    ///   every signal it receives to the container through `ContainerKill`. A workload that
    ///   dies of it ends the run with 130 (128+SIGINT), as under docker, not 143. The docker CLI
    ///   gives up after the third SIGINT or SIGTERM (`forceExitAfter3TerminationSignals`,
    ///   cmd/docker/docker.go) and leaves the container running; the engine says at the second
    ///   that it is waiting and what the third does, and at the third kills the container
    ///   (SIGKILL), so that nothing outlives it.
    /// - SIGHUP and SIGQUIT are forwarded to runc, which forwards them to the container.
    fn on_signal(&mut self, sig: nix::sys::signal::Signal) {
        use nix::sys::signal::{Signal, kill};
        match sig {
            Signal::SIGTERM => {
                if self.stopper.send_stop_signal().is_err() {
                    // Not created yet (or already gone): runc forwards what it receives
                    // (a real-time stop signal nix cannot name falls back to SIGTERM).
                    let sig =
                        Signal::try_from(self.stopper.stop_signal()).unwrap_or(Signal::SIGTERM);
                    let _ = kill(self.runc, sig);
                }
                if !self.stopping {
                    self.stopping = true;
                    // None past what an Instant holds (--stop-timeout takes any u64): never.
                    self.kill_at = std::time::Instant::now().checked_add(self.stop_timeout);
                }
            }
            Signal::SIGINT => {
                self.interrupts += 1;
                let id = &self.id;
                match self.interrupts {
                    1 => {
                        let _ = kill(self.runc, sig);
                    }
                    2 => {
                        eprintln!(
                            "locald-engine: waiting for container {id} to stop (SIGINT \
                             forwarded again); press Ctrl-C once more to kill it (SIGKILL)"
                        );
                        let _ = kill(self.runc, sig);
                    }
                    _ => {
                        eprintln!("locald-engine: killing container {id} (SIGKILL)");
                        let _ = self.stopper.kill();
                    }
                }
            }
            _ => {
                let _ = kill(self.runc, sig);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn run_forwarding_signals(
    runtime: &Runtime,
    bundle: &bundle::BundleFacts,
    _stop_timeout: Duration,
) -> locald_engine::Result<i32> {
    runtime.spawn_facts(bundle)?.wait()
}

/// Restore the default actions of SIGPIPE and SIGCHLD.
/// - SIGPIPE, which the Rust runtime ignores: a reader that goes away (`locald-engine explain |
///   head -1`) then ends the engine quietly, as it ends `cat`, instead of a panic on the failed
///   write (what `locald_spec_core::sigpipe` does for locald-spec). The runtime and the
///   container are unaffected: the runtime's child resets SIGPIPE (`runtime::spawn`), as std
///   does in the children it starts.
/// - SIGCHLD, which a parent may have left ignored (an ignored disposition survives execve(2)):
///   the kernel would then reap the runtime itself and send no SIGCHLD, which the wait for it
///   reads (signal(7), "Signal dispositions"; wait(2), NOTES on SIGCHLD set to SIG_IGN).
#[implements("stopping.runtime-signals")]
fn restore_signals() {
    #[cfg(target_os = "linux")]
    // SAFETY: first thing in `main`, before any thread exists; SIG_DFL is a valid disposition
    // for both and replaces no handler of ours.
    unsafe {
        for sig in [
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::Signal::SIGCHLD,
        ] {
            let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl);
        }
    }
}

/// Parse the command line; a usage error exits 125 like the engine's other failures (docker's
/// `FlagErrorFunc`, cli/cobra.go, gives flag errors 125), `--help` and `--version` exit 0.
#[implements("lifecycle.exit-status")]
fn parse() -> Result<Cli, ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(run) = parse_run(&args) {
        return Ok(Cli {
            command: Command::Run(run),
        });
    }
    Cli::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(ENGINE_FAILED)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// `run`'s arguments read without clap (`cli::run_flags`), when `args` (the whole command line)
/// is a `run` that they take exactly as clap does: clap builds `run`'s 30 flags before it reads
/// one, cold code that took 0.2 ms of a `run` (the book's performance chapter). `None` sends
/// everything else, help, version and usage errors included, through the whole command line,
/// whose messages stay the only ones users see; the tests below check that every flag of `run`
/// is read there and that what is read equals clap's parse.
fn parse_run(args: &[OsString]) -> Option<RunArgs> {
    if args.get(1).is_none_or(|a| a != "run") {
        return None;
    }
    let flags = locald_engine::cli::run_flags::parse(&args[2..])?;
    Some(RunArgs {
        options: flags.options,
        runtime: RuntimeArgs {
            runtime: flags.runtime,
            state_root: flags.state_root,
        },
        attach: Attach {
            stop_timeout: flags.stop_timeout,
            interactive: flags.interactive,
        },
    })
}

/// dlmalloc, where the engine is built for musl as it ships: musl's own malloc (mallocng) was a
/// fifth of the engine's user time on `run`, with an `mmap` or `munmap` for many of its
/// allocations; with dlmalloc, `run` spends 0.43 ms less than the glibc build it replaced
/// (see the README's Decisions). glibc builds keep glibc's malloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// And musl's memcpy and memmove replaced (`locald_memcpy`, whose `replace-libc` feature gives
/// them their C names): musl's copy small blocks a byte at a time after a microcoded start-up,
/// and most of a `run`'s copies are a few bytes (the book's performance chapter).
#[cfg(target_env = "musl")]
use locald_memcpy as _;

fn main() -> ExitCode {
    // The removal of a layer holding subordinate ids' files forks and allocates in the child
    // (`launch::in_user_namespace`): dlmalloc's lock is then taken around every fork, so that
    // no other thread holds it into the child, as glibc's and musl's mallocs do for themselves.
    // SAFETY: called once, before any other thread exists.
    #[cfg(target_env = "musl")]
    unsafe {
        dlmalloc::enable_alloc_after_fork()
    };
    restore_signals();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match &cli.command {
        Command::Run(RunArgs {
            options,
            runtime,
            attach,
        }) => run(options, runtime, attach),
        Command::Start {
            bundle,
            runtime,
            attach,
        } => start(bundle, runtime, attach),
        #[cfg(target_os = "linux")]
        Command::Mount { bundle } => locald_engine::layer::mount(bundle)
            .map(|()| 0)
            .map_err(|e| Failure::engine(e, StateFlag::Bundle)),
        #[cfg(not(target_os = "linux"))]
        Command::Mount { .. } => Err("mount needs Linux".into()),
        Command::Ps { runtime } => ps(runtime),
        Command::Refresh { flags } => {
            locald_engine::names::refresh(&flags.bundle, &flags.refresh())
                .map(|_| 0)
                .map_err(|e| Failure::engine(e, StateFlag::Bundle))
        }
        Command::Rm {
            force,
            ids,
            runtime,
        } => rm(ids, *force, runtime),
        Command::Prepare { options, bundle } => prepare(options, bundle),
        Command::Remove {
            bundle,
            force,
            runtime,
        } => remove(bundle, *force, runtime),
        Command::Explain {
            options,
            json,
            bundle,
        } => explain(options, *json, bundle.as_deref()),
        Command::Completions { shell } => completions(*shell),
        Command::Man { dir } => man(dir.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("locald-engine: {e}");
            // 125, like docker run, so engine failures are distinguishable from common
            // workload statuses; 126/127 when the command cannot be executed or found.
            ExitCode::from(e.status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// `parse_run` takes a `run` exactly as the whole command line does, and leaves it
    /// everything else: help, version, usage errors, other commands.
    #[test]
    fn run_parses_alone_as_in_the_whole_command_line() {
        for line in [
            "run --rootfs /img -- /bin/true",
            "run --rootfs /img --image-config c.json -e A=1 --env B=2 -i -t --stop-timeout 3 \
             --state-root /s --runtime /bin/runc --cap-add CAP_NET_ADMIN --cap-drop ALL \
             --security-opt seccomp=unconfined --readonly-rootfs --init-path /init -w /app \
             --annotation k=v --add-host db:10.0.0.2 --bind /a:/b:ro -- sh -c exit",
            "run --rootfs /img -- --help",
            "run --rootfs=/img --no-init -- --version",
        ] {
            // `agreed` asserts that a line taken equals the whole command line's parse.
            assert!(
                agreed(&words(line)).is_some(),
                "{line}: not taken by parse_run"
            );
        }
        for line in [
            "run --help",
            "run -h",
            "run --version",
            "run --rootfs",
            "run --rootfs /img --stop-timeout soon",
            "run --rootfs /img --init-path /init --no-init",
            "run --rootfs /img --no-such-flag",
            "prepare --rootfs /img --bundle /b",
            "ps",
            "--version",
        ] {
            assert_eq!(agreed(&words(line)), None, "{line}: taken by parse_run");
            assert_eq!(
                clap_run(&words(line)),
                None,
                "{line}: the whole command line took it"
            );
        }
    }

    /// The whole command line's parse of `words` (after the program's name), as `parse_run`'s
    /// result prints.
    fn clap_run(words: &[OsString]) -> Option<String> {
        let line = std::iter::once(OsString::from("locald-engine")).chain(words.iter().cloned());
        match Cli::try_parse_from(line) {
            Ok(Cli {
                command: Command::Run(run),
            }) => Some(format!("{run:?}")),
            _ => None,
        }
    }

    /// `parse_run`'s result for `words`, checked against clap's: equal when it takes them.
    fn agreed(words: &[OsString]) -> Option<String> {
        let line: Vec<OsString> = std::iter::once(OsString::from("locald-engine"))
            .chain(words.iter().cloned())
            .collect();
        let fast = parse_run(&line).map(|r| format!("{r:?}"));
        if fast.is_some() {
            assert_eq!(fast, clap_run(words), "{words:?}");
        }
        fast
    }

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    /// Every flag of clap's `run`, with a value its parser takes: `run_flags` reads it, in
    /// each form clap takes (`--flag VALUE`, `--flag=VALUE`, `-f VALUE`), as clap does. A flag
    /// added to clap's `run` fails here until `run_flags` reads it (and this table has a value).
    #[test]
    fn every_flag_of_run_is_read_without_clap_as_clap_reads_it() {
        // Each flag with a value its parser takes (`NAME=VALUE`), or alone for a switch.
        const FLAGS: &str = "
            rootfs=/other image-config=c.json user=1000:1000 network=none hostname=box
            add-host=db:10.0.0.2 dns=192.0.2.53 dns-search=example.org dns-option=ndots:2
            env=A=1 bind=/a:/b:ro tty rootless single-mapping cap-add=net_admin cap-drop=ALL
            sysctl=net.ipv4.ip_forward=1 security-opt=seccomp=unconfined readonly-rootfs id=c1
            init-path=/init no-init entrypoint=/bin/sh workdir=/app cgroups-path=/locald/c1
            annotation=k=v runtime=/bin/runc state-root=/s stop-timeout=3 interactive";
        let values: Vec<(&str, Option<&str>)> = FLAGS
            .split_whitespace()
            .map(|f| f.split_once('=').map_or((f, None), |(n, v)| (n, Some(v))))
            .collect();
        let run = RunArgs::augment_args(clap::Command::new("run"));
        let mut read = 0;
        for arg in run.get_arguments() {
            let Some(long) = arg.get_long() else {
                assert_eq!(arg.get_id(), "args", "a flag without a long name");
                continue;
            };
            let Some((_, value)) = values.iter().find(|(l, _)| *l == long) else {
                panic!("--{long}: give it a value in this test, and read it in cli::run_flags");
            };
            let rootfs = if long == "rootfs" {
                ""
            } else {
                "--rootfs /img "
            };
            let mut forms = vec![];
            match value {
                Some(v) => {
                    forms.push(format!("run {rootfs}--{long} {v} -- cmd"));
                    forms.push(format!("run {rootfs}--{long}={v} -- cmd"));
                    if let Some(c) = arg.get_short() {
                        forms.push(format!("run {rootfs}-{c} {v} -- cmd"));
                    }
                }
                None => {
                    forms.push(format!("run {rootfs}--{long} -- cmd"));
                    if let Some(c) = arg.get_short() {
                        forms.push(format!("run {rootfs}-{c} -- cmd"));
                    }
                }
            }
            for line in forms {
                assert!(
                    agreed(&words(&line)).is_some(),
                    "{line}: not read without clap"
                );
            }
            read += 1;
        }
        assert_eq!(
            read,
            values.len(),
            "the table names a flag `run` does not have"
        );
    }

    /// The forms clap reads in its own way, and those it refuses: `run_flags` either leaves
    /// them to clap or reads them as clap does (`agreed` checks that).
    #[test]
    fn run_flags_take_only_what_clap_takes_the_same_way() {
        let taken = [
            "run --rootfs /img -it -- sh",
            "run --rootfs /img -ti -- sh",
            "run --rootfs /img -i -t",
            "run --rootfs /img -eA=1 -e=B=2 -e C=3 --env=D=4",
            "run --rootfs /img -itw /app -- sh",
            "run --rootfs /img --env A=1 --env A=2 --dns 192.0.2.1 --dns ::1",
            "run --rootfs /img --network private",
            "run --rootfs /img --user -",
            "run --rootfs /img --user=-1",
            "run --rootfs /img --stop-timeout 0",
            "run --rootfs /img -- a -- b",
            "run --rootfs /img --",
            "run --rootfs /img",
            "run --rootfs /img -- --rootfs /x --no-such-flag",
        ];
        for line in taken {
            assert!(
                agreed(&words(line)).is_some(),
                "{line}: not read without clap"
            );
        }
        let left_to_clap = [
            "run --rootfs /img -t -t",
            "run --rootfs /img --tty=true",
            "run --rootfs /img --user -x",
            "run --rootfs /img --user",
            "run --rootfs /img --rootfs /other",
            "run --rootfs /img --id a --id b",
            "run --rootfs /img --network NONE",
            "run --rootfs /img --stop-timeout -1",
            "run --rootfs /img --dns bad",
            "run --rootfs /img --env",
            "run --rootfs /img --annotation =v",
            "run --rootfs /img --cap-add NOT_A_CAP",
            "run --rootfs /img --workdir relative",
            "run --rootfs /img --security-opt apparmor=x",
            "run --rootfs /img stray -- sh",
            "run --rootfs /img -x",
            "run --rootfs /img --hostname -- sh",
            "run -- sh",
            "run --rootfs= -- x",
            "run --rootfs /img --state-root= -- x",
        ];
        for line in left_to_clap {
            assert_eq!(agreed(&words(line)), None, "{line}: read without clap");
        }
        // Either way, so long as the two agree.
        for line in [
            "run --rootfs /img --hostname= -- x",
            "run --rootfs /img --env= -- x",
            "run --rootfs /img -e -- x",
            "run --rootfs /img -ie A=1",
            "run --rootfs /img --stop-timeout +5",
            "run --rootfs /img --dns-option=",
        ] {
            agreed(&words(line));
        }
        // Not UTF-8: a path flag takes it, as clap's `PathBuf` does; a text flag, the command
        // and a bind mount leave it to clap, which refuses them.
        use std::os::unix::ffi::OsStringExt;
        let odd = || OsString::from_vec(b"/img\xff".to_vec());
        let path = [words("run --rootfs"), vec![odd()], words("-- sh")].concat();
        assert!(agreed(&path).is_some());
        for flag in ["--user", "--bind"] {
            let text = [words("run --rootfs /img"), vec![flag.into(), odd()]].concat();
            assert_eq!(agreed(&text), None, "{flag}");
        }
        let command = [words("run --rootfs /img --"), vec![odd()]].concat();
        assert_eq!(agreed(&command), None);
    }

    #[test]
    fn man_pages_cover_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("man1");
        man(Some(&out)).unwrap();
        for page in [
            "locald-engine.1",
            "locald-engine-run.1",
            "locald-engine-explain.1",
        ] {
            let text = std::fs::read_to_string(out.join(page)).unwrap();
            assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
        }
        let run = std::fs::read_to_string(out.join("locald-engine-run.1")).unwrap();
        assert!(
            run.contains("interactive") && run.contains("rootfs"),
            "{run}"
        );
        let main = std::fs::read_to_string(out.join("locald-engine.1")).unwrap();
        assert!(main.contains("125"), "the exit statuses: {main}");
    }
}
