//! `locald-engine`: prepare, explain and run OCI bundles from an image rootfs and config.
//!
//! ```text
//! locald-engine run     --rootfs DIR [options] [-- CMD [ARG...]]
//! locald-engine prepare --rootfs DIR --bundle DIR [options] [-- CMD [ARG...]]
//! locald-engine start   --bundle DIR
//! locald-engine mount   --bundle DIR
//! locald-engine explain --rootfs DIR [--json] [options] [-- CMD [ARG...]]
//! locald-engine remove  --bundle DIR [--force]
//! locald-engine ps
//! locald-engine rm      [--force] ID...
//! ```
//!
//! Every container gets its own writable layer over the image (see `locald_engine::layer`).
//! Run as a non-root user (or with `--rootless`), the container gets a user namespace with the
//! single mapping: the caller's uid and gid become 0 inside; unprivileged, the engine creates
//! that namespace itself and runs runc inside it.
//!
//! The command runs under the static `locald-init` as PID 1 (`--init-path PATH`, else
//! `$LOCALD_INIT`, else `locald-init` next to this executable; `--no-init` turns it off).
//! SIGTERM or SIGINT to `run` stops the container: the image's `StopSignal` (else SIGTERM),
//! then SIGKILL after `--stop-timeout SECS` (default 10); `run` exits with the container's
//! status (128+N when signal N ended it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use locald_engine::state::{self, StateRoot};
use locald_engine::{BindMount, DnsOptions, NetworkMode, RunOptions, Runtime, bundle, options};
use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

#[derive(Parser)]
#[command(
    name = "locald-engine",
    version,
    about = "Run OCI image rootfs trees under runc"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prepare a bundle, run it under runc, remove it, and exit with the container's status.
    Run {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Seconds between the stop signal (on SIGTERM or SIGINT to the engine) and SIGKILL.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        stop_timeout: u64,
    },
    /// Write a bundle (config.json, the container's layer, generated files) into a new
    /// directory and print its path. Mounts nothing; run it with `start`.
    Prepare {
        #[command(flatten)]
        common: Common,
        /// The bundle directory to create; it must not exist.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
    },
    /// Run a prepared bundle under runc (its layer mounted in a namespace of its own) and exit
    /// with the container's status; the bundle stays.
    Start {
        /// The bundle directory `prepare` wrote.
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Seconds between the stop signal (on SIGTERM or SIGINT to the engine) and SIGKILL.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        stop_timeout: u64,
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
    /// Print the plan: every decision with the requirement ID that asks for it.
    Explain {
        #[command(flatten)]
        common: Common,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The bundle directory the generated files would live in.
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
    },
}

#[derive(Args)]
struct RuntimeArgs {
    /// The OCI runtime binary (default: runc on PATH).
    #[arg(long, value_name = "PATH")]
    runtime: Option<PathBuf>,
    /// The engine's state root: bundles/ and the runtime's state (default: /var/lib/locald-engine
    /// for root, ~/.local/share/locald-engine otherwise).
    #[arg(long, value_name = "DIR")]
    state_root: Option<PathBuf>,
}

impl RuntimeArgs {
    fn state_root(&self) -> CliResult<StateRoot> {
        let path = self
            .state_root
            .clone()
            .unwrap_or_else(state::default_state_root);
        StateRoot::open(&path).map_err(Failure::from)
    }

    fn runtime(&self, state_root: &StateRoot) -> CliResult<Runtime> {
        let rt = match &self.runtime {
            Some(p) => Runtime::with_binary(p),
            None => Runtime::find(),
        }
        .map_err(Failure::from)?;
        Ok(rt.with_state_root(state_root.runtime_root()))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Network {
    /// Share the host network namespace.
    Host,
    /// A private network namespace with only loopback.
    #[value(alias = "private")]
    None,
}

#[derive(Args)]
struct Common {
    /// The image root filesystem (used in place, never modified).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// The OCI image configuration JSON (default: an empty configuration).
    #[arg(long, value_name = "FILE")]
    image_config: Option<PathBuf>,
    /// Run as this user: name, uid, name:group, uid:gid, ...
    #[arg(long, value_name = "SPEC")]
    user: Option<String>,
    /// Network mode.
    #[arg(long, value_enum, default_value = "host")]
    network: Network,
    /// Container hostname (default: the first 12 characters of the id).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Add a line to the container's /etc/hosts: NAME:IP (repeatable).
    #[arg(long = "add-host", value_name = "NAME:IP")]
    add_hosts: Vec<String>,
    /// A nameserver for /etc/resolv.conf, replacing the host's (repeatable).
    #[arg(long = "dns", value_name = "IP")]
    dns: Vec<std::net::IpAddr>,
    /// A search domain for /etc/resolv.conf, replacing the host's (repeatable; `.` for none).
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    dns_search: Vec<String>,
    /// A resolver option for /etc/resolv.conf, replacing the host's (repeatable).
    #[arg(long = "dns-option", value_name = "OPTION")]
    dns_options: Vec<String>,
    /// Set an environment variable (repeatable), replacing the image's value.
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Bind-mount a host path: SRC:DEST[:ro] (repeatable).
    #[arg(long = "bind", value_name = "SRC:DEST[:ro]")]
    binds: Vec<String>,
    /// Allocate a terminal.
    #[arg(long, short = 't')]
    tty: bool,
    /// Use the rootless single mapping even when running as root.
    #[arg(long)]
    rootless: bool,
    /// Mount the rootfs read-only.
    #[arg(long)]
    readonly_rootfs: bool,
    /// Container id (default: generated).
    #[arg(long)]
    id: Option<String>,
    /// The static locald-init to run the command under as PID 1 (default: $LOCALD_INIT, else
    /// `locald-init` next to the locald-engine executable).
    #[arg(long, value_name = "PATH", conflicts_with = "no_init")]
    init_path: Option<PathBuf>,
    /// Run the command itself as PID 1, without an init.
    #[arg(long)]
    no_init: bool,
    /// Command and arguments, replacing the image's Cmd.
    #[arg(last = true, value_name = "CMD")]
    args: Vec<String>,
}

/// Why the CLI failed, with the exit status that says so: 125 for the engine's own failures
/// and the runtime's, 126 and 127 when the command cannot be executed or found (Docker's
/// statuses for `docker run`).
#[derive(Debug)]
struct Failure {
    status: u8,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            status: locald_engine::runtime::ENGINE_FAILED,
            message,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::from(message.to_owned())
    }
}

impl From<locald_engine::Error> for Failure {
    fn from(e: locald_engine::Error) -> Self {
        let status = match &e {
            locald_engine::Error::Start { status, .. } => *status,
            _ => locald_engine::runtime::ENGINE_FAILED,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

type CliResult<T> = Result<T, Failure>;

fn parse_env(kv: &str) -> CliResult<(String, String)> {
    kv.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("--env {kv:?}: expected KEY=VALUE").into())
}

fn parse_bind(spec: &str) -> CliResult<BindMount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, readonly) = match parts.as_slice() {
        [s, d] => (s, d, false),
        [s, d, "ro"] => (s, d, true),
        [s, d, "rw"] => (s, d, false),
        _ => return Err(format!("--bind {spec:?}: expected SRC:DEST[:ro]").into()),
    };
    Ok(BindMount {
        source: std::path::absolute(source).map_err(|e| format!("--bind {source}: {e}"))?,
        destination: (*destination).to_owned(),
        readonly,
    })
}

fn euid_is_root() -> bool {
    #[cfg(target_os = "linux")]
    return nix::unistd::geteuid().is_root();
    #[cfg(not(target_os = "linux"))]
    false
}

impl Common {
    fn image(&self) -> CliResult<ImageConfiguration> {
        match &self.image_config {
            None => Ok(ImageConfiguration::default()),
            Some(p) => locald_engine::limits::read_image_config(p).map_err(Failure::from),
        }
    }

    fn options(&self) -> CliResult<RunOptions> {
        Ok(RunOptions {
            user: self.user.clone(),
            env: self
                .env
                .iter()
                .map(|kv| parse_env(kv))
                .collect::<CliResult<_>>()?,
            args: (!self.args.is_empty()).then(|| self.args.clone()),
            hostname: self.hostname.clone(),
            network: match self.network {
                Network::Host => NetworkMode::Host,
                Network::None => NetworkMode::Private,
            },
            extra_hosts: self
                .add_hosts
                .iter()
                .map(|h| {
                    h.parse()
                        .map_err(|e| Failure::from(format!("--add-host: {e}")))
                })
                .collect::<CliResult<_>>()?,
            dns: DnsOptions {
                servers: self.dns.clone(),
                search: self.dns_search.clone(),
                options: self.dns_options.clone(),
            },
            tty: self.tty,
            id_mapping: if self.rootless || !euid_is_root() {
                options::current_user_mapping()
            } else {
                None
            },
            binds: self
                .binds
                .iter()
                .map(|b| parse_bind(b))
                .collect::<CliResult<_>>()?,
            readonly_rootfs: self.readonly_rootfs,
            init: self.init()?,
        })
    }

    /// The init's host path: `--init-path`, else `$LOCALD_INIT`, else `locald-init` next to
    /// this executable; none with `--no-init`. A missing one is an error naming where it was
    /// looked for (that it is static is checked when the bundle is prepared).
    #[implements("stopping.init.default")]
    fn init(&self) -> CliResult<Option<PathBuf>> {
        if self.no_init {
            return Ok(None);
        }
        let (path, source) = if let Some(p) = &self.init_path {
            (p.clone(), "--init-path")
        } else if let Some(p) = std::env::var_os("LOCALD_INIT").filter(|p| !p.is_empty()) {
            (PathBuf::from(p), "LOCALD_INIT")
        } else {
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot locate the locald-engine executable: {e}"))?;
            (exe.with_file_name("locald-init"), "next to locald-engine")
        };
        match std::fs::canonicalize(&path) {
            Ok(p) => Ok(Some(p)),
            Err(e) => Err(format!(
                "init not found: {} ({source}): {e}; build a static locald-init there, pass \
                 --init-path PATH or set LOCALD_INIT, or run without an init (--no-init)",
                path.display()
            )
            .into()),
        }
    }

    fn id(&self) -> String {
        self.id.clone().unwrap_or_else(generated_id)
    }
}

/// A 64-hex-digit id, unique enough per host: time, pid and a per-process counter.
fn generated_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = String::new();
    for round in 0..4u64 {
        // RandomState is seeded randomly per process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(round);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// Refuse `--tty` unless the engine's own stdin is a terminal: runc opens the caller's terminal
/// for the container's console, and would otherwise fail far less clearly.
#[implements("process.terminal")]
fn require_terminal_for_tty(opts: &RunOptions) -> CliResult<()> {
    if opts.tty && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err("--tty needs a terminal on stdin".into());
    }
    Ok(())
}

fn run(common: &Common, rt: &RuntimeArgs, stop_timeout: Duration) -> CliResult<u8> {
    let image = common.image()?;
    let opts = common.options()?;
    require_terminal_for_tty(&opts)?;
    let id = common.id();
    let state_root = rt.state_root()?;
    let runtime = rt.runtime(&state_root)?.with_parent_death_signal(true);
    // What engines killed while preparing left behind.
    state_root.sweep().map_err(Failure::from)?;
    let dir = state_root.bundle_dir(&id).map_err(Failure::from)?;
    // A bundle left by an engine that was killed: removed, unless its container still runs.
    if std::fs::symlink_metadata(&dir).is_ok() {
        runtime.remove(&dir, false).map_err(|e| {
            format!(
                "{e} (a container with id {id} already exists: `locald-engine rm --force {id}`)"
            )
        })?;
    }
    let bundle =
        locald_engine::prepare(&image, &common.rootfs, &opts, &dir, &id).map_err(Failure::from)?;
    let result = run_forwarding_signals(&runtime, &bundle, stop_timeout);
    let removed = bundle.remove();
    let code = result.map_err(Failure::from)?;
    removed.map_err(Failure::from)?;
    Ok(u8::try_from(code).unwrap_or(255))
}

/// `start`: run a prepared bundle, leave it in place.
fn start(dir: &Path, rt: &RuntimeArgs, stop_timeout: Duration) -> CliResult<u8> {
    let bundle = bundle::Bundle::open(dir).map_err(Failure::from)?;
    let state_root = rt.state_root()?;
    let runtime = rt.runtime(&state_root)?.with_parent_death_signal(true);
    let code = run_forwarding_signals(&runtime, &bundle, stop_timeout).map_err(Failure::from)?;
    Ok(u8::try_from(code).unwrap_or(255))
}

/// `remove --bundle DIR`: refuses while runc knows the container, unless forced.
fn remove(dir: &Path, force: bool, rt: &RuntimeArgs) -> CliResult<u8> {
    let state_root = rt.state_root()?;
    match rt.runtime(&state_root) {
        Ok(runtime) => runtime.remove(dir, force).map_err(Failure::from)?,
        // Without a runtime nothing can say the container is gone: only a forced removal.
        Err(e) if force => {
            eprintln!("locald-engine: {e}; removing the bundle anyway (--force)");
            bundle::remove(dir).map_err(Failure::from)?
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
    let known: std::collections::HashMap<String, String> =
        runtime.list().map_err(Failure::from)?.into_iter().collect();
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
    state_root.sweep().map_err(Failure::from)?;
    for id in ids {
        let dir = state_root.bundle_dir(id).map_err(Failure::from)?;
        if std::fs::symlink_metadata(&dir).is_err() {
            // A container without a bundle (its bundle removed by hand): delete it from runc.
            match runtime.status(&state_root.runtime_root(), id) {
                Some(s) if s != "stopped" && !force => {
                    return Err(format!("container {id} is {s}; use --force to kill it").into());
                }
                Some(_) => runtime
                    .delete(&state_root.runtime_root(), id)
                    .map_err(Failure::from)?,
                None => {
                    return Err(
                        format!("no container {id} in {}", state_root.path().display()).into(),
                    );
                }
            }
            continue;
        }
        runtime.remove(&dir, force).map_err(Failure::from)?;
    }
    Ok(0)
}

/// Run the bundle. SIGTERM and SIGINT sent to the engine stop the container: its stop signal
/// (the image's `StopSignal`, else SIGTERM) to its PID 1, then SIGKILL after `stop_timeout`.
/// SIGHUP and SIGQUIT are forwarded to runc, which forwards them to the container. Either way
/// the engine lives on to delete the container and its state, and returns its exit status.
#[cfg(target_os = "linux")]
#[implements("stopping.signal", "stopping.timeout")]
fn run_forwarding_signals(
    runtime: &Runtime,
    bundle: &bundle::Bundle,
    stop_timeout: Duration,
) -> locald_engine::Result<i32> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(sig);
    }
    // Blocked before any thread exists, so every thread inherits the mask and the signals wait
    // for `sigwait`; std resets the mask in the runc child.
    let _ = set.thread_block();
    let running = runtime.spawn(bundle)?;
    let stopper = running.stopper();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(running.pid()).unwrap_or(0));
    if pid.as_raw() > 0 {
        std::thread::spawn(move || {
            let mut stopping = false;
            while let Ok(sig) = set.wait() {
                if sig != Signal::SIGINT && sig != Signal::SIGTERM {
                    let _ = nix::sys::signal::kill(pid, sig);
                    continue;
                }
                if stopper.send_stop_signal().is_err() {
                    // Not created yet (or already gone): runc forwards what it receives
                    // (a real-time stop signal nix cannot name falls back to SIGTERM).
                    let sig = Signal::try_from(stopper.stop_signal()).unwrap_or(Signal::SIGTERM);
                    let _ = nix::sys::signal::kill(pid, sig);
                }
                if !stopping {
                    stopping = true;
                    let stopper = stopper.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(stop_timeout);
                        let _ = stopper.kill();
                    });
                }
            }
        });
    }
    running.wait()
}

#[cfg(not(target_os = "linux"))]
fn run_forwarding_signals(
    runtime: &Runtime,
    bundle: &bundle::Bundle,
    _stop_timeout: Duration,
) -> locald_engine::Result<i32> {
    runtime.run(bundle)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            common,
            runtime,
            stop_timeout,
        } => run(common, runtime, Duration::from_secs(*stop_timeout)),
        Command::Start {
            bundle,
            runtime,
            stop_timeout,
        } => start(bundle, runtime, Duration::from_secs(*stop_timeout)),
        #[cfg(target_os = "linux")]
        Command::Mount { bundle } => locald_engine::layer::mount(bundle)
            .map(|()| 0)
            .map_err(Failure::from),
        #[cfg(not(target_os = "linux"))]
        Command::Mount { .. } => Err("mount needs Linux".into()),
        Command::Ps { runtime } => ps(runtime),
        Command::Rm {
            force,
            ids,
            runtime,
        } => rm(ids, *force, runtime),
        Command::Prepare { common, bundle } => (|| {
            let id = common.id();
            let b = locald_engine::prepare(
                &common.image()?,
                &common.rootfs,
                &common.options()?,
                bundle,
                &id,
            )
            .map_err(Failure::from)?;
            println!("{}", b.state_dir.display());
            Ok(0)
        })(),
        Command::Remove {
            bundle,
            force,
            runtime,
        } => remove(bundle, *force, runtime),
        Command::Explain {
            common,
            json,
            bundle,
        } => (|| {
            let id = common.id();
            let state_dir = bundle.clone().unwrap_or_else(|| {
                state::default_state_root()
                    .join(state::BUNDLES_DIR)
                    .join(&id)
            });
            let (plan, _) = bundle::plan(
                &common.image()?,
                &common.rootfs,
                &common.options()?,
                &state_dir,
                &id,
            )
            .map_err(Failure::from)?;
            if *json {
                let v = serde_json::json!({ "id": id, "entries": plan.entries() });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(|e| Failure::from(e.to_string()))?
                );
            } else {
                print!("{plan}");
            }
            Ok(0)
        })(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("locald-engine: {}", e.message);
            // 125, like docker run, so engine failures are distinguishable from common
            // workload statuses; 126/127 when the command cannot be executed or found.
            ExitCode::from(e.status)
        }
    }
}
