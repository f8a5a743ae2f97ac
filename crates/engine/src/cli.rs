//! The `locald-engine` command line's side of the library, kept here so that it is tested like
//! the rest: the flags `run`, `prepare` and `explain` share ([`Options`], parsed by clap's value
//! parsers) and their conversion into [`RunOptions`]; the static init they run under
//! ([`find_init`]); library errors reworded to name the flag a user typed ([`Failure`]); and
//! what `explain` prints ([`explain_text`], [`explain_json`]).
//!
//! ```
//! use clap::Parser;
//! use locald_engine::cli::Options;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     options: Options,
//! }
//!
//! let cli = Cli::try_parse_from([
//!     "locald-engine", "--rootfs", "/img", "--env", "PORT=8080", "--add-host", "db:192.0.2.7",
//!     "--", "serve",
//! ])?;
//! let opts = cli.options.run_options(None);
//! assert_eq!(opts.env, [("PORT".to_string(), "8080".to_string())]);
//! assert_eq!(opts.extra_hosts[0].name, "db");
//! assert_eq!(opts.args, Some(vec!["serve".to_string()]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser;
use clap::{Args, ValueEnum};
use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::error::Error;
use crate::options::{self, BindMount, DnsOptions, ExtraHost, NetworkMode, RunOptions};
use crate::plan::Plan;
use crate::runtime::ENGINE_FAILED;
use crate::security::seccomp::{Profile, Seccomp};

pub mod run_flags;

/// The network mode flag (`--network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// Share the host network namespace.
    Host,
    /// A private network namespace with only loopback.
    #[value(alias = "private")]
    None,
}

impl From<Network> for NetworkMode {
    fn from(n: Network) -> Self {
        match n {
            Network::Host => NetworkMode::Host,
            Network::None => NetworkMode::Private,
        }
    }
}

/// The flags that describe a container: shared by `run`, `prepare` and `explain`.
#[derive(Debug, Clone, Args)]
pub struct Options {
    /// The image root filesystem: a directory (used in place, never modified).
    #[arg(long, value_name = "DIR")]
    pub rootfs: PathBuf,
    /// The OCI image configuration JSON (default: an empty configuration). The minimal form is
    /// `{"config": {"Cmd": ["sh"]}}`: `architecture`, `os` and `rootfs` may be left out.
    #[arg(long, value_name = "FILE")]
    pub image_config: Option<PathBuf>,
    /// Run as this user: name, uid, name:group, uid:gid, ...
    #[arg(long, value_name = "SPEC")]
    pub user: Option<String>,
    /// Network mode.
    #[arg(long, value_enum, default_value = "host")]
    pub network: Network,
    /// Container hostname (default: the id made a hostname; a 64-hex-digit id gives its first 12
    /// characters).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Add a line to the container's /etc/hosts: NAME:IP (repeatable).
    #[arg(long = "add-host", value_name = "NAME:IP", value_parser = parse_extra_host)]
    pub add_hosts: Vec<ExtraHost>,
    /// The /etc/resolv.conf flags.
    #[command(flatten)]
    pub dns: DnsFlags,
    /// Set an environment variable (repeatable), replacing the image's value.
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Bind-mount a host path: `SRC:DEST[:ro]` (repeatable).
    #[arg(long = "bind", value_name = "SRC:DEST[:ro]", value_parser = bind_parser())]
    pub binds: Vec<BindMount>,
    /// Allocate a terminal (stdin must be one).
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Use the rootless single mapping even when running as root.
    #[arg(long)]
    pub rootless: bool,
    /// Rootless: map only your own uid and gid (to 0), even when /etc/subuid and /etc/subgid
    /// give you subordinate ids; a non-root --user then runs in a nested user namespace.
    #[arg(long)]
    pub single_mapping: bool,
    /// Add a capability to the default set: NAME, CAP_NAME, or ALL (repeatable).
    #[arg(long = "cap-add", value_name = "CAP", value_parser = parse_capability)]
    pub cap_add: Vec<String>,
    /// Drop a capability from the default set: NAME, CAP_NAME, or ALL (repeatable).
    #[arg(long = "cap-drop", value_name = "CAP", value_parser = parse_capability)]
    pub cap_drop: Vec<String>,
    /// Set a namespaced kernel parameter: KEY=VALUE (repeatable; kernel.shm*, kernel.msg*,
    /// kernel.sem, fs.mqueue.*, kernel.domainname, and net.* with --network none).
    #[arg(long = "sysctl", value_name = "KEY=VALUE", value_parser = parse_sysctl)]
    pub sysctls: Vec<(String, String)>,
    /// The seccomp filter, as docker run spells it: seccomp=unconfined for none, or
    /// seccomp=PATH for a profile in Docker's format (default: Docker's default profile).
    #[arg(long = "security-opt", value_name = "seccomp=unconfined|PATH", value_parser = parse_security_opt)]
    pub seccomp: Vec<Seccomp>,
    /// Mount the rootfs read-only.
    #[arg(long)]
    pub readonly_rootfs: bool,
    /// Container id (default: generated).
    #[arg(long)]
    pub id: Option<String>,
    /// The static locald-init to run the command under as PID 1 (default: $LOCALD_INIT, else
    /// `locald-init` next to the locald-engine executable, else, for an engine run from a cargo
    /// target directory, its static build in TARGET/static).
    #[arg(long, value_name = "PATH", conflicts_with = "no_init")]
    pub init_path: Option<PathBuf>,
    /// Run the command itself as PID 1, without an init.
    #[arg(long)]
    pub no_init: bool,
    /// Replace the image's Entrypoint with PROGRAM (one path, as `docker run --entrypoint`
    /// and `podman run --entrypoint` take it); the image's Cmd is dropped, so the command is
    /// PROGRAM followed by the arguments after `--`.
    #[arg(long, value_name = "PROGRAM", value_parser = parse_entrypoint)]
    pub entrypoint: Option<String>,
    /// The working directory inside the container, replacing the image's WorkingDir: an
    /// absolute path (docker's and podman's `--workdir`, `-w`).
    #[arg(long, short = 'w', value_name = "DIR", value_parser = parse_workdir)]
    pub workdir: Option<String>,
    /// The container's cgroup, as the runtime configuration's `linux.cgroupsPath`: `/a/b`
    /// relative to the cgroup root, or `slice:prefix:name` for systemd. The whole path, not a
    /// parent as docker's and podman's `--cgroup-parent` (under which they create a group per
    /// container).
    #[arg(long, value_name = "PATH", value_parser = parse_cgroups_path)]
    pub cgroups_path: Option<String>,
    /// Add an annotation to the bundle's config.json: KEY=VALUE (repeatable; docker's and
    /// podman's `--annotation`), for the runtime and tools, never seen by the workload.
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_annotation)]
    pub annotations: Vec<(String, String)>,
    /// Command and arguments, replacing the image's Cmd.
    #[arg(last = true, value_name = "CMD")]
    pub args: Vec<String>,
}

/// The flags of `refresh`: a bundle and the names its container should see now (the whole
/// current list, as for `run`), rewritten into its `/etc/hosts` and `/etc/resolv.conf`
/// ([`crate::names::refresh`]).
#[derive(Debug, Clone, Args)]
pub struct RefreshFlags {
    /// The bundle directory `prepare` (or `run`) wrote.
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,
    /// A line of the container's /etc/hosts: NAME:IP (repeatable; replaces those given before).
    #[arg(long = "add-host", value_name = "NAME:IP", value_parser = parse_extra_host)]
    pub add_hosts: Vec<ExtraHost>,
    /// The /etc/resolv.conf flags.
    #[command(flatten)]
    pub dns: DnsFlags,
}

/// `--dns`, `--dns-search` and `--dns-option`, shared by `run`, `prepare` and `refresh`.
#[derive(Debug, Clone, Args)]
pub struct DnsFlags {
    /// A nameserver for /etc/resolv.conf, replacing the host's (repeatable).
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<std::net::IpAddr>,
    /// A search domain for /etc/resolv.conf, replacing the host's (repeatable; `.` for none).
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// A resolver option for /etc/resolv.conf, replacing the host's (repeatable).
    #[arg(long = "dns-option", value_name = "OPTION")]
    pub dns_options: Vec<String>,
}

impl DnsFlags {
    /// The resolv.conf overrides the flags give.
    pub fn options(&self) -> DnsOptions {
        DnsOptions {
            servers: self.dns.clone(),
            search: self.dns_search.clone(),
            options: self.dns_options.clone(),
        }
    }
}

impl RefreshFlags {
    /// What the flags ask [`crate::names::refresh`] to write.
    pub fn refresh(&self) -> crate::names::Refresh {
        crate::names::Refresh {
            extra_hosts: self.add_hosts.clone(),
            dns: self.dns.options(),
        }
    }
}

/// The reason of a run option's error, without the field name the library gives it: clap's
/// message already names the flag.
fn reason(e: Error) -> String {
    match e {
        Error::InvalidOption { reason, .. } => reason,
        e => e.to_string(),
    }
}

/// `--env KEY=VALUE`.
fn parse_env(s: &str) -> Result<(String, String), String> {
    options::parse_env_var(s).map_err(reason)
}

/// `--bind SRC:DEST[:ro]`. Taken as an `OsString` so that a path that is not UTF-8 is refused
/// by this parser, in an error naming `--bind` and the path, not by clap's generic "invalid UTF-8
/// was detected in one or more arguments" (the runtime's config.json holds paths as JSON
/// strings, so a non-UTF-8 one cannot be passed on).
fn bind_parser() -> impl TypedValueParser<Value = BindMount> {
    clap::builder::OsStringValueParser::new().try_map(|os| match os.to_str() {
        Some(s) => s.parse().map_err(reason),
        None => Err(format!(
            "{} is not UTF-8; a mount's paths are JSON strings in the runtime's config.json",
            os.to_string_lossy()
        )),
    })
}

/// `--entrypoint PROGRAM`: not empty (the library refuses an empty entrypoint; docker's
/// `--entrypoint ""`, which falls back to the image's Cmd, has no equivalent here).
fn parse_entrypoint(s: &str) -> Result<String, String> {
    crate::process::caller_command(&[s.to_owned()], None)
        .map(|_| s.to_owned())
        .map_err(reason)
}

/// `--workdir DIR`: an absolute path.
fn parse_workdir(s: &str) -> Result<String, String> {
    crate::process::caller_working_dir(s).map_err(reason)
}

/// `--cgroups-path PATH`: checked as `RunOptions::cgroups_path` is.
fn parse_cgroups_path(s: &str) -> Result<String, String> {
    crate::isolation::check_cgroups_path(s)
        .map(|()| s.to_owned())
        .map_err(reason)
}

/// `--annotation KEY=VALUE`: a key that is not empty.
fn parse_annotation(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(("", _)) => Err(format!("{s:?}: the key is empty")),
        Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
        None => Err(format!("{s:?}: expected KEY=VALUE")),
    }
}

/// `--add-host NAME:IP`.
fn parse_extra_host(s: &str) -> Result<ExtraHost, String> {
    s.parse().map_err(reason)
}

/// `--cap-add`, `--cap-drop`: a capability name, normalized (`net_raw` is `CAP_NET_RAW`).
fn parse_capability(s: &str) -> Result<String, String> {
    crate::security::capabilities::normalize(s)
}

/// `--security-opt seccomp=unconfined|PATH`: no filter, or the profile in the file `PATH`,
/// read and checked now (`security.seccomp.caller`); any other option is refused, naming it.
#[implements("security.seccomp.caller")]
fn parse_security_opt(s: &str) -> Result<Seccomp, String> {
    let Some(value) = s.strip_prefix("seccomp=") else {
        return Err(format!(
            "{s:?}: this engine supports only seccomp=unconfined and seccomp=PATH (a profile in \
             Docker's format)"
        ));
    };
    match value {
        "" => Err("seccomp=: name a profile file, or unconfined".into()),
        "unconfined" => Ok(Seccomp::Unconfined),
        path => {
            let bytes = crate::limits::read_input_file(
                Path::new(path),
                crate::limits::MAX_SECCOMP_PROFILE_BYTES,
            )
            .map_err(|e| format!("{path}: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|e| format!("{path}: {e}"))?;
            Profile::from_json(&text)
                .map(|p| Seccomp::Custom(Box::new(p)))
                .map_err(|e| format!("{path}: {e}"))
        }
    }
}

/// `--sysctl KEY=VALUE`.
fn parse_sysctl(s: &str) -> Result<(String, String), String> {
    crate::isolation::sysctls::parse(s).map_err(reason)
}

/// The rootless mapping for the calling user: with its subordinate ids unless `single`
/// (`isolation.namespaces.user-ranges`).
#[cfg(target_os = "linux")]
fn rootless_mapping(single: bool) -> Option<crate::IdMapping> {
    let mapping = options::current_user_mapping()?;
    match crate::isolation::subids::current_user() {
        Some(sub) if !single => Some(mapping.with_subordinate(sub)),
        _ => Some(mapping),
    }
}

/// The rootless mapping for the calling user (no subordinate ids off Linux).
#[cfg(not(target_os = "linux"))]
fn rootless_mapping(_single: bool) -> Option<crate::IdMapping> {
    options::current_user_mapping()
}

fn euid_is_root() -> bool {
    crate::state::euid() == 0
}

impl Options {
    /// The run options for the image `image`: [`Options::run_options`], then, under the single
    /// mapping, a workload user that is not root in the nested user namespace
    /// ([`crate::isolation::nested::nest_workload_user`]).
    pub fn run_options_for(
        &self,
        init: Option<PathBuf>,
        image: &ImageConfiguration,
    ) -> Result<RunOptions, Failure> {
        crate::isolation::nested::nest_workload_user(self.run_options(init), image, &self.rootfs)
            .map_err(|e| Failure::engine(e, StateFlag::StateRoot))
    }

    /// The run options these flags ask for, running the command under `init` (see
    /// [`Options::init`]). A caller that is not root, or `--rootless`, gets the rootless
    /// mapping: its subordinate ids above the single mapping when it has them and the helpers
    /// are installed, unless `--single-mapping` ([`options::current_user_mapping`]).
    pub fn run_options(&self, init: Option<PathBuf>) -> RunOptions {
        RunOptions {
            user: self.user.clone(),
            env: self.env.clone(),
            args: (!self.args.is_empty()).then(|| self.args.clone()),
            hostname: self.hostname.clone(),
            network: self.network.into(),
            extra_hosts: self.add_hosts.clone(),
            dns: self.dns.options(),
            tty: self.tty,
            id_mapping: if self.rootless || !euid_is_root() {
                rootless_mapping(self.single_mapping)
            } else {
                None
            },
            binds: self.binds.clone(),
            readonly_rootfs: self.readonly_rootfs,
            init,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            sysctls: self.sysctls.clone(),
            entrypoint: self.entrypoint.clone().map(|e| vec![e]),
            working_dir: self.workdir.clone(),
            cgroups_path: self.cgroups_path.clone(),
            annotations: self.annotations.iter().cloned().collect(),
            seccomp: self.seccomp.last().cloned().unwrap_or_default(),
            ..RunOptions::default()
        }
    }

    /// The image configuration `--image-config` names, else an empty one.
    pub fn image(&self) -> Result<ImageConfiguration, Failure> {
        match &self.image_config {
            None => Ok(ImageConfiguration::default()),
            Some(p) => crate::limits::read_image_config(p)
                .map_err(|e| Failure::engine(e, StateFlag::StateRoot)),
        }
    }

    /// Refuse a `--rootfs` that exists but is not a directory, saying what it is: a file given
    /// there (an image archive, say) would otherwise fail as "not a directory" deep inside.
    pub fn check_rootfs(&self) -> Result<(), Failure> {
        let Ok(meta) = std::fs::metadata(&self.rootfs) else {
            // Missing: the library says so, naming the path.
            return Ok(());
        };
        if meta.is_dir() {
            return Ok(());
        }
        let what = if meta.is_file() {
            "a regular file"
        } else {
            "a special file"
        };
        Err(Failure::new(format!(
            "--rootfs {}: {what}, not a directory; --rootfs takes the image's root filesystem \
             unpacked into a directory (for a tar archive: mkdir DIR && tar -xf FILE -C DIR)",
            self.rootfs.display()
        )))
    }

    /// The init: `--init-path`, else `$LOCALD_INIT`, else the default places ([`find_init`]);
    /// none with `--no-init`.
    pub fn init(&self) -> Result<Option<PathBuf>, InitNotFound> {
        if self.no_init {
            return Ok(None);
        }
        let exe = std::env::current_exe().map_err(|e| InitNotFound {
            explicit: false,
            message: format!("cannot locate the locald-engine executable: {e}"),
        })?;
        let env = std::env::var_os("LOCALD_INIT");
        find_init(self.init_path.as_deref(), env.as_deref(), &exe).map(Some)
    }

    /// The container id: `--id`, else a generated one.
    pub fn id(&self) -> String {
        self.id.clone().unwrap_or_else(generated_id)
    }
}

/// A 64-hex-digit id, unique enough per host: time, pid and a per-process counter.
pub fn generated_id() -> String {
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

/// The static init inside a cargo target directory, as `ci/test` and the README build it.
pub const STATIC_INIT: &str = "static/x86_64-unknown-linux-musl/init/locald-init";

/// The command that builds it, run in the workspace, with its target directory.
fn build_init_command(target_dir: &str) -> String {
    format!(
        "cargo build -p locald-init --profile init --target x86_64-unknown-linux-musl \
         --target-dir {target_dir}"
    )
}

/// No usable init, and what would fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitNotFound {
    /// Whether the user named the init (`--init-path`, `LOCALD_INIT`).
    pub explicit: bool,
    /// What was looked at, and the fixes.
    pub message: String,
}

impl fmt::Display for InitNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The cargo target directory an engine at `exe` was built into: the nearest of its
/// directory's parent and grandparent (`target/debug`, `target/TRIPLE/release`) that holds
/// what cargo writes at a target directory's top (`.rustc_info.json`, `CACHEDIR.TAG`).
pub fn cargo_target_dir(exe: &Path) -> Option<PathBuf> {
    exe.parent()?
        .ancestors()
        .skip(1)
        .take(2)
        .find(|d| d.join(".rustc_info.json").is_file() || d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_owned)
}

/// The workspace a target directory belongs to, when it is its `target` (the locald
/// workspace holds `crates/init`).
fn workspace_of(target_dir: &Path) -> Option<&Path> {
    let ws = target_dir.parent()?;
    ws.join("crates/init/Cargo.toml").is_file().then_some(ws)
}

/// The places a static init is looked for by default, best first, with what each is: next to
/// the engine, then, for an engine in a cargo target directory, the static build there.
pub fn default_inits(exe: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut out = vec![(exe.with_file_name("locald-init"), "next to locald-engine")];
    if let Some(t) = cargo_target_dir(exe) {
        out.push((t.join(STATIC_INIT), "the static build"));
    }
    out
}

/// `path`, absolute, when it is a usable init (see [`crate::stopping::check_init`]); else why
/// not.
fn usable_init(path: &Path) -> Result<PathBuf, String> {
    let abs = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    crate::stopping::check_init(&abs).map_err(reason_of_init)?;
    Ok(abs)
}

fn reason_of_init(e: Error) -> String {
    match e {
        Error::Init { reason, .. } => reason,
        e => e.to_string(),
    }
}

/// What fixes a missing init, each a command that works as written for the engine at `exe`.
fn init_fixes(exe: &Path) -> String {
    let build = match cargo_target_dir(exe) {
        Some(t) => match workspace_of(&t) {
            Some(ws) if t == ws.join("target") => format!(
                "cd {} && {}",
                ws.display(),
                build_init_command("target/static")
            ),
            Some(ws) => format!(
                "cd {} && {}",
                ws.display(),
                build_init_command(&t.join("static").display().to_string())
            ),
            None => format!(
                "in the locald workspace: {}",
                build_init_command(&t.join("static").display().to_string())
            ),
        },
        None => format!(
            "in the locald workspace: {}, then: install -m 755 \
             target/{STATIC_INIT} {}",
            build_init_command("target/static"),
            exe.with_file_name("locald-init").display()
        ),
    };
    format!(
        "any of these fixes it:\n  build it: {build} (the musl target: rustup target add \
         x86_64-unknown-linux-musl)\n  name a static locald-init: --init-path PATH, or set \
         LOCALD_INIT=PATH\n  run the command without an init: --no-init"
    )
}

/// The init to run the command under: `init_path` (`--init-path`), else `env`
/// (`$LOCALD_INIT`), else the first static one of [`default_inits`] for the engine at `exe` —
/// a dynamically linked `locald-init` beside the engine (what `cargo build` of the workspace
/// leaves in `target/debug`) is passed over for the static build. A missing or unusable one is
/// an error naming every place looked at and the fixes, each of which works as written.
///
/// ```
/// use locald_engine::cli::find_init;
///
/// let err = find_init(Some("/nonexistent/init".as_ref()), None, "/usr/bin/locald-engine".as_ref())
///     .unwrap_err();
/// assert!(err.explicit && err.message.starts_with("--init-path /nonexistent/init: "));
/// ```
#[implements("stopping.init.default")]
pub fn find_init(
    init_path: Option<&Path>,
    env: Option<&OsStr>,
    exe: &Path,
) -> Result<PathBuf, InitNotFound> {
    let explicit = init_path.map(|p| (p, "--init-path")).or_else(|| {
        env.filter(|p| !p.is_empty())
            .map(|p| (Path::new(p), "LOCALD_INIT"))
    });
    if let Some((path, source)) = explicit {
        return usable_init(path).map_err(|reason| InitNotFound {
            explicit: true,
            message: format!("{source} {}: {reason}", path.display()),
        });
    }
    let mut looked = String::new();
    for (path, what) in default_inits(exe) {
        match usable_init(&path) {
            Ok(p) => return Ok(p),
            Err(reason) => {
                // check_init's own advice follows its first `;`: the fixes below replace it.
                let reason = reason.split_once(';').map_or(reason.as_str(), |(r, _)| r);
                looked.push_str(&format!("\n  {} ({what}): {reason}", path.display()));
            }
        }
    }
    Err(InitNotFound {
        explicit: false,
        message: format!("no static locald-init found:{looked}\n{}", init_fixes(exe)),
    })
}

/// Which flag holds the directory a bundle is written into: the state root (`run`, whose
/// bundle is `STATE_ROOT/bundles/ID`) or `--bundle` (`prepare`, `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFlag {
    /// `--state-root DIR`.
    StateRoot,
    /// `--bundle DIR`.
    Bundle,
}

impl StateFlag {
    fn flag(self) -> &'static str {
        match self {
            StateFlag::StateRoot => "--state-root",
            StateFlag::Bundle => "--bundle",
        }
    }
}

/// The flag a user typed for a run option the library names by its field (`extra_hosts` is
/// `--add-host`), `reason` telling the DNS flags apart.
pub fn flag_of(field: &str, reason: &str, state: StateFlag) -> Option<&'static str> {
    Some(match field {
        "user" => "--user",
        "env" => "--env",
        "args" => "the command after --",
        "hostname" => "--hostname",
        "extra_hosts" => "--add-host",
        "dns" if reason.starts_with("search domain") => "--dns-search",
        "dns" if reason.starts_with("option") => "--dns-option",
        "dns" => "--dns",
        "binds" => "--bind",
        "cap_add" => "--cap-add",
        "cap_drop" => "--cap-drop",
        "sysctls" => "--sysctl",
        "entrypoint" => "--entrypoint",
        "working_dir" => "--workdir",
        "cgroups_path" => "--cgroups-path",
        "annotations" => "--annotation",
        "seccomp" => "--security-opt",
        // The CLI always has an init unless told not to.
        "init" => "--no-init",
        "id" => "--id",
        "rootfs" => "--rootfs",
        "state_dir" | "state directory" => state.flag(),
        _ => return None,
    })
}

/// Why a command failed: a message that names what the user typed, the causes behind it, and
/// the exit status that says what kind of failure it was: 125 for the engine's own failures,
/// the runtime's and usage errors, 126 and 127 when the command cannot be executed or found
/// (`lifecycle.exit-status`, Docker's statuses for `docker run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub status: u8,
    message: String,
    /// The error's causes, outermost first.
    causes: Vec<String>,
}

impl Failure {
    /// A failure of the engine's own (status 125) with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            status: ENGINE_FAILED,
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// A library error, reworded to name the flag behind a run option (the library's messages
    /// name its fields: `run option extra_hosts`), the bundle's directory named by `state`;
    /// its causes kept.
    pub fn engine(e: Error, state: StateFlag) -> Self {
        let status = match &e {
            Error::Start { status, .. } => *status,
            _ => ENGINE_FAILED,
        };
        let message = match &e {
            Error::InvalidOption { field, reason } | Error::Limit { field, reason } => {
                match flag_of(field, reason, state) {
                    Some(flag) => format!("{flag}: {reason}"),
                    None => e.to_string(),
                }
            }
            Error::UnmappedId { field: "user", .. }
            | Error::UnknownUser { field: "user", .. }
            | Error::UnknownGroup { field: "user", .. } => {
                e.to_string().replace("(from user)", "(from --user)")
            }
            Error::ImageConfigFile { path, reason } => {
                format!("--image-config {}: {reason}", path.display())
            }
            Error::Io {
                path,
                op: op @ ("resolve rootfs" | "open rootfs"),
                ..
            } => format!("--rootfs {}: {op}", path.display()),
            Error::StateDirExists { path } => {
                format!("{} {}: already exists", state.flag(), path.display())
            }
            Error::UnsafeStateDir { .. } => format!("{}: {e}", state.flag()),
            Error::RuntimeNotFound { name } => format!(
                "OCI runtime `{name}` not found; install runc, or name it with --runtime PATH"
            ),
            _ => e.to_string(),
        };
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        Failure {
            status,
            message,
            causes,
        }
    }
}

impl From<Error> for Failure {
    /// A library error outside any bundle flag (`ps`, `rm`, `start`): named as the state root.
    fn from(e: Error) -> Self {
        Failure::engine(e, StateFlag::StateRoot)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::new(message)
    }
}

impl From<InitNotFound> for Failure {
    fn from(e: InitNotFound) -> Self {
        Failure::new(e.message)
    }
}

impl fmt::Display for Failure {
    /// The message, then each cause the text does not already hold (a library message often
    /// ends with its source's), joined by `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.message.clone();
        for c in &self.causes {
            if !text.contains(c.as_str()) {
                text.push_str(": ");
                text.push_str(c);
            }
        }
        f.write_str(&text)
    }
}

impl std::error::Error for Failure {}

/// The kind of a plan item, in words (`layer file`): the tag it is serialized with (`file`,
/// a file of the bundle, is a `state file`, as the plan prints it).
fn kind(item: &crate::plan::Item) -> String {
    match serde_json::to_value(item)
        .ok()
        .and_then(|v| v.get("kind")?.as_str().map(|k| k.replace('-', " ")))
    {
        Some(k) if k == "file" => "state file".into(),
        k => k.unwrap_or_default(),
    }
}

/// The plan's decisions by requirement, in ID order: each with the kinds of decision it asks
/// for and how many of each, in the plan's order.
fn by_requirement(plan: &Plan) -> Vec<(&'static str, Vec<(String, usize)>)> {
    let mut groups: Vec<(&'static str, Vec<(String, usize)>)> = Vec::new();
    for e in plan.entries() {
        let k = kind(&e.item);
        let id = e.requirement.as_str();
        let i = match groups.iter().position(|(r, _)| *r == id) {
            Some(i) => i,
            None => {
                groups.push((id, Vec::new()));
                groups.len() - 1
            }
        };
        let kinds = &mut groups[i].1;
        match kinds.iter_mut().find(|(name, _)| *name == k) {
            Some((_, n)) => *n += 1,
            None => kinds.push((k, 1)),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
}

/// `explain`'s text: a summary, one line per requirement (in ID order) with the kinds of
/// decision it asks for, then every decision in the plan's order.
///
/// ```
/// use locald_engine::plan::{Item, Plan};
///
/// let mut plan = Plan::default();
/// plan.push(locald_engine::requirement!("security.capabilities.default"), Item::Capability { name: "CAP_CHOWN".into() });
/// plan.push(locald_engine::requirement!("security.capabilities.default"), Item::Capability { name: "CAP_KILL".into() });
/// plan.push(locald_engine::requirement!("process.umask"), Item::Umask { mask: 0o022 });
/// let text = locald_engine::cli::explain_text(&plan);
/// assert!(text.starts_with("3 decisions for 2 requirements"));
/// assert!(text.contains("  security.capabilities.default    capability x2\n"));
/// ```
pub fn explain_text(plan: &Plan) -> String {
    let groups = by_requirement(plan);
    let mut out = format!(
        "{} decisions for {} requirements (each decision follows):\n",
        plan.entries().len(),
        groups.len()
    );
    for (requirement, kinds) in &groups {
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                if *n > 1 {
                    format!("{k} x{n}")
                } else {
                    k.clone()
                }
            })
            .collect();
        out.push_str(&format!("  {requirement:<32} {}\n", kinds.join(", ")));
    }
    out.push('\n');
    out.push_str(&plan.to_string());
    out
}

/// `explain --json`: the id, a summary (each requirement with its number of decisions) and
/// every decision, permission bits (`mode`, `mask`) as octal strings (`"0755"`), as they are
/// written everywhere else.
///
/// ```
/// use locald_engine::plan::{Item, Plan};
///
/// let mut plan = Plan::default();
/// plan.push(locald_engine::requirement!("process.umask"), Item::Umask { mask: 0o022 });
/// let v = locald_engine::cli::explain_json("c1", &plan);
/// assert_eq!(v["entries"][0]["mask"], "0022");
/// assert_eq!(v["summary"][0]["decisions"], 1);
/// ```
pub fn explain_json(id: &str, plan: &Plan) -> serde_json::Value {
    let mut entries = serde_json::to_value(plan.entries()).unwrap_or_default();
    for e in entries.as_array_mut().into_iter().flatten() {
        let Some(obj) = e.as_object_mut() else {
            continue;
        };
        for key in ["mode", "mask"] {
            if let Some(n) = obj.get(key).and_then(serde_json::Value::as_u64) {
                obj.insert(key.into(), format!("{n:04o}").into());
            }
        }
    }
    let summary: Vec<serde_json::Value> = by_requirement(plan)
        .into_iter()
        .map(|(r, kinds)| {
            let n: usize = kinds.iter().map(|(_, n)| n).sum();
            serde_json::json!({ "requirement": r, "decisions": n })
        })
        .collect();
    serde_json::json!({ "id": id, "summary": summary, "entries": entries })
}

#[cfg(test)]
mod tests;
