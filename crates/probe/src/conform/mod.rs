//! The conformance runner behind `locald-conform`: builds a root filesystem around the static
//! probe and runs it under each engine configuration available on this machine.
//!
//! | name | what runs the probe |
//! |---|---|
//! | `locald-root` | `locald-engine run --rootfs R -- /locald-probe --json`, as root |
//! | `locald-rootless` | the same as the unprivileged user `locald-test` (`setpriv`) |
//! | `locald-private` | `locald-engine run --network none ...`, as root: a private network namespace |
//! | `runc-spec` | `runc run` of the bundle `runc spec` writes, with only root path, args and `terminal: false` changed |
//! | `podman` | `podman --runtime runc --cgroup-manager cgroupfs run --rm` of the rootfs imported as an image |
//! | `docker` | `docker run --rm --network host` of the rootfs imported as an image, under a `dockerd` the runner starts on its own socket and data root ([`docker`]) |
//! | `docker --init` | the same with `--init` (docker-init, tini, is PID 1) |
//! | `youki` | `locald-engine run --runtime youki ...`, as root, when youki is installed |
//! | `libcontainer` | `libcontainer_shim prepare` then `libcontainer_shim run` (the engine's example shaped like locald's setuid shim: the bundle run in-process by youki's `libcontainer` crate), as root |
//!
//! A configuration whose tool (or privilege) is missing is recorded as unavailable with the
//! reason. The results file ([`Conformance`]) has this shape:
//!
//! ```json
//! {"generated_at": "2025-01-01T00:00:00Z",
//!  "engines": [{"name": "locald-root", "description": "...", "version": "...",
//!               "available": true}],
//!  "results": [{"engine": "locald-root", "id": "process.rlimits.nofile",
//!               "check": "checks::rlimit_nofile", "outcome": "pass",
//!               "detail": "soft 1024, hard 1024 (want 1024/1024)"}]}
//! ```

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::Parser;
use locald_conformance::{CheckResult, Conformance, Engine};

use crate::{Finding, Outcome, table};

pub mod docker;
pub mod kubernetes;

/// The configurations, in matrix order.
pub const ENGINES: [&str; 9] = [
    "locald-root",
    "locald-rootless",
    "locald-private",
    "runc-spec",
    "podman",
    "docker",
    "docker --init",
    "youki",
    "libcontainer",
];

/// The unprivileged user the rootless configuration runs as (`LOCALD_TEST_USER` overrides).
pub const TEST_USER: &str = "locald-test";

/// The target triple of the static probe.
pub const PROBE_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Command line of `locald-conform`.
#[derive(Debug, Parser)]
#[command(
    name = "locald-conform",
    version,
    about = "Run the locald probe under every available engine configuration and write the conformance matrix"
)]
pub struct Cli {
    /// The locald-engine binary (default: next to this executable).
    #[arg(long, value_name = "PATH")]
    pub engine_bin: Option<PathBuf>,
    /// The static locald-probe binary (default: built with cargo).
    #[arg(long, value_name = "PATH")]
    pub probe: Option<PathBuf>,
    /// The engine's `libcontainer_shim` example, which runs a bundle through youki's
    /// libcontainer crate as locald's shim does (default: `examples/libcontainer_shim` next to
    /// this executable, where `cargo build --workspace --all-targets` puts it).
    #[arg(long, value_name = "PATH")]
    pub libcontainer_shim: Option<PathBuf>,
    /// The static locald-init the engine runs as PID 1 (default: built with cargo).
    #[arg(long, value_name = "PATH")]
    pub init: Option<PathBuf>,
    /// The results file (default: target/locald-spec/conformance.json of the workspace).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print a Kubernetes batch/v1 Job (JSON, for `kubectl apply -f`) that runs the probe from
    /// IMAGE, an image holding the static probe as /locald-probe; run nothing.
    #[arg(long, value_name = "IMAGE")]
    pub kubernetes: Option<String>,
    /// Add the probe's findings in FILE (`kubectl logs job/locald-probe`) to the results file as
    /// the configuration `kubernetes`; run nothing.
    #[arg(long, value_name = "FILE", conflicts_with = "kubernetes")]
    pub kubernetes_log: Option<PathBuf>,
    /// Write the probe's root filesystem (the static probe as /locald-probe, busybox) as a tar
    /// archive to FILE, to import as an image (`docker import FILE REF`); run nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kubernetes", "kubernetes_log"])]
    pub rootfs_tar: Option<PathBuf>,
    /// Run only this configuration (repeatable): locald-root, locald-rootless, locald-private,
    /// runc-spec, podman, docker, "docker --init", youki, libcontainer.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

/// Formats seconds since the epoch as RFC 3339 UTC (`2025-01-31T12:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Whether an ELF image has a program interpreter (is dynamically linked); `None` when it is
/// not an ELF file. A static binary is what runs in a root filesystem holding nothing else.
pub fn elf_has_interpreter(elf: &[u8]) -> Option<bool> {
    goblin::elf::Elf::parse(elf)
        .ok()
        .map(|e| e.interpreter.is_some())
}

/// The directory the runner's own executable lives in (`<target>/debug`).
fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The version of the crate `name` in the workspace's Cargo.lock (what the examples were built
/// with).
fn locked_version(name: &str) -> Option<String> {
    let lock = fs::read_to_string(workspace_root().join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    lines.find(|l| *l == format!("name = \"{name}\""))?;
    let version = lines.next()?.strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_owned())
}

/// The workspace this crate was built from.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cargo target directory the runner was built into (`<target>/debug/locald-conform`).
pub fn target_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    exe_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds the static probe with cargo into `<target>/static` (a separate target directory,
/// shared with the static `locald-init` the tests build, so that it never waits for the lock of
/// a `cargo test` that runs this runner) and returns its path: glibc, made static by
/// `-C target-feature=+crt-static`.
pub fn build_probe() -> Result<PathBuf, String> {
    build_static(StaticBuild {
        bin: "locald-probe",
        target: PROBE_TARGET,
        profile: "probe",
        rustflags: "-C target-feature=+crt-static",
    })
}

/// Builds the static `locald-init` (the engine's PID 1) there as `ci/test` does: musl (static
/// by default), cargo profile `init`.
pub fn build_init() -> Result<PathBuf, String> {
    build_static(StaticBuild {
        bin: "locald-init",
        target: "x86_64-unknown-linux-musl",
        profile: "init",
        rustflags: "",
    })
}

/// A binary of the package of the same name, for a target, with a cargo profile and RUSTFLAGS.
struct StaticBuild {
    bin: &'static str,
    target: &'static str,
    profile: &'static str,
    rustflags: &'static str,
}

fn build_static(b: StaticBuild) -> Result<PathBuf, String> {
    let StaticBuild {
        bin,
        target,
        profile,
        rustflags,
    } = b;
    let dir = target_dir().join("static");
    let out = dir.join(target).join(profile).join(bin);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "build",
            "-p",
            bin,
            "--bin",
            bin,
            "--profile",
            profile,
            "--target",
            target,
        ])
        .env("RUSTFLAGS", rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", &dir)
        .current_dir(workspace_root())
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(out),
        // Without cargo (an installed runner), a probe built before still serves.
        _ if out.is_file() => Ok(out),
        Ok(s) => Err(format!(
            "building the static {bin} failed ({s}); pass its path"
        )),
        Err(e) => Err(format!(
            "cannot run {} to build {bin}: {e}; pass its path",
            Path::new(&cargo).display()
        )),
    }
}

fn chmod(path: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

fn mkdir(path: &Path, mode: u32) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    chmod(path, mode)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    chmod(path, 0o644)
}

/// Builds the probe's root filesystem at `root`: the static probe as `/locald-probe`, Debian's
/// static busybox as `/bin/busybox` (with `/bin/sh`), and the mount targets the engine needs
/// (`/proc`, `/dev`, `/sys`, `/tmp`, `/etc/passwd` holding only root, `/etc/group`, `/etc/hosts`,
/// `/etc/hostname`, `/etc/resolv.conf`). Every directory is 0755 (`/tmp` 1777), so an
/// unprivileged user can traverse it.
pub fn build_rootfs(root: &Path, probe: &Path) -> Result<(), String> {
    mkdir(root, 0o755)?;
    for d in ["bin", "proc", "dev", "sys", "etc"] {
        mkdir(&root.join(d), 0o755)?;
    }
    mkdir(&root.join("tmp"), 0o1777)?;
    mkdir(&root.join("root"), 0o700)?;
    let busybox = Path::new("/bin/busybox");
    match fs::read(busybox).ok().as_deref().map(elf_has_interpreter) {
        Some(Some(false)) => {
            fs::copy(busybox, root.join("bin/busybox"))
                .map_err(|e| format!("copy busybox: {e}"))?;
            chmod(&root.join("bin/busybox"), 0o755)?;
            symlink("busybox", root.join("bin/sh")).map_err(|e| format!("link sh: {e}"))?;
        }
        _ => {
            return Err(
                "a static /bin/busybox is missing (apt-get install -y busybox-static)".into(),
            );
        }
    }
    fs::copy(probe, root.join("locald-probe"))
        .map_err(|e| format!("copy {}: {e}", probe.display()))?;
    chmod(&root.join("locald-probe"), 0o755)?;
    write(&root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    write(&root.join("etc/group"), "root:x:0:\n")?;
    for f in ["hosts", "hostname", "resolv.conf"] {
        write(&root.join("etc").join(f), "")?;
    }
    Ok(())
}

/// `chown -R` without following symlinks.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(|e| format!("chown {}: {e}", path.display()))?;
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        for e in fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
            let e = e.map_err(|e| format!("{}: {e}", path.display()))?;
            chown_tree(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// The runner's own namespaces as `/proc/self/ns` links, comma-separated, for `--host-ns`.
pub fn host_namespaces() -> String {
    ["pid", "ipc", "uts", "mnt", "net", "user", "cgroup"]
        .iter()
        .filter_map(|k| fs::read_link(format!("/proc/self/ns/{k}")).ok())
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The largest host file (`/etc/resolv.conf`, `/etc/hosts`) passed to the probe: one argument must stay below the
/// kernel's MAX_ARG_STRLEN (128 KiB); a real file is a few hundred bytes.
const MAX_HOST_FILE_ARG: usize = 64 * 1024;

/// The runner's `/etc/resolv.conf`, for `--host-resolv-conf`: empty when there is none (as the
/// engines read it), `None` when it is unreadable or too large to pass.
pub fn host_resolv_conf() -> Option<String> {
    host_file("/etc/resolv.conf")
}

/// The runner's `/etc/hosts`, for `--host-hosts`, read as [`host_resolv_conf`] is.
pub fn host_hosts() -> Option<String> {
    host_file("/etc/hosts")
}

fn host_file(path: &str) -> Option<String> {
    match fs::read_to_string(path) {
        Ok(t) if t.len() <= MAX_HOST_FILE_ARG => Some(t),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(String::new()),
        Err(_) => None,
    }
}

/// Finds `name` on PATH or in the sbin directories.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    })
}

fn euid_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Everything the runs share.
struct Env {
    base: PathBuf,
    rootfs: PathBuf,
    host_ns: String,
    host_resolv_conf: Option<String>,
    host_hosts: Option<String>,
    engine_bin: PathBuf,
    libcontainer_shim: PathBuf,
    init: PathBuf,
    runc: Option<PathBuf>,
}

impl Env {
    /// `locald-engine`'s arguments to run the probe: `run OPTIONS... --init-path INIT --rootfs
    /// ROOTFS -- PROBE ARGS...` (`init` is where the user running the engine can reach it).
    fn engine_run_args(&self, init: &Path, options: &[&OsStr]) -> Vec<OsString> {
        self.engine_run_args_on(&self.rootfs, init, options)
    }

    /// [`Env::engine_run_args`] on another copy of the rootfs.
    fn engine_run_args_on(&self, rootfs: &Path, init: &Path, options: &[&OsStr]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["run".into()];
        args.extend(options.iter().map(|o| o.to_os_string()));
        args.extend([
            "--init-path".into(),
            init.into(),
            "--rootfs".into(),
            rootfs.into(),
            "--".into(),
        ]);
        args.extend(self.probe_args().into_iter().map(OsString::from));
        args
    }

    /// The probe's command line: `/locald-probe --json` and what the runner knows of the host.
    fn probe_args(&self) -> Vec<String> {
        let mut args = vec![
            "/locald-probe".to_owned(),
            "--json".to_owned(),
            "--host-ns".to_owned(),
            self.host_ns.clone(),
        ];
        if let Some(text) = &self.host_resolv_conf {
            args.extend(["--host-resolv-conf".to_owned(), text.clone()]);
        }
        if let Some(text) = &self.host_hosts {
            args.extend(["--host-hosts".to_owned(), text.clone()]);
        }
        args
    }
}

/// What one configuration produced.
enum Run {
    Unavailable(String),
    Ran(Result<Vec<Finding>, String>),
}

/// Runs `cmd` (whose last arguments start the probe with `--json`) and parses the probe's
/// output; the probe exits 1 when a check failed, which is a result, not an error.
fn probe_output(cmd: &mut Command, what: &str) -> Result<Vec<Finding>, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let code = out.status.code();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match (code, serde_json::from_str::<Vec<Finding>>(&stdout)) {
        (Some(0 | 1), Ok(r)) if !r.is_empty() => Ok(r),
        (_, Err(e)) => Err(format!(
            "{what} exited with {}; no probe output ({e}); stderr: {}",
            out.status,
            stderr.trim()
        )),
        _ => Err(format!(
            "{what} exited with {}; stderr: {}",
            out.status,
            stderr.trim()
        )),
    }
}

fn locald_version(env: &Env) -> String {
    let engine = first_line(Command::new(&env.engine_bin).arg("--version"))
        .unwrap_or_else(|| "locald-engine (version unknown)".into());
    let runc = env
        .runc
        .as_ref()
        .and_then(|r| first_line(Command::new(r).arg("--version")))
        .unwrap_or_else(|| "runc missing".into());
    format!("{engine}; {runc}")
}

/// This engine as root, in `network` mode (`host`, locald's, or `none`, a private namespace).
fn run_locald_root(env: &Env, network: &str) -> Run {
    if !euid_is_root() {
        return Run::Unavailable("not running as root".into());
    }
    if let Some(r) = locald_prereq(env) {
        return Run::Unavailable(r);
    }
    Run::Ran(probe_output(
        Command::new(&env.engine_bin)
            .args(env.engine_run_args(&env.init, &["--network".as_ref(), network.as_ref()])),
        &format!("locald-engine run --network {network}"),
    ))
}

/// This engine's bundle under youki instead of runc: locald itself runs bundles with youki's
/// `libcontainer`, so a bundle must work under both. Shown for comparison (its results are not
/// this engine's evidence: the name does not start with `locald-`).
fn run_locald_youki(env: &Env) -> Run {
    if !euid_is_root() {
        return Run::Unavailable("not running as root".into());
    }
    if let Some(r) = locald_prereq(env) {
        return Run::Unavailable(r);
    }
    let Some(youki) = which("youki") else {
        return Run::Unavailable(
            "youki is not installed (cargo install youki --no-default-features --features v1,v2,seccomp)"
                .into(),
        );
    };
    Run::Ran(probe_output(
        Command::new(&env.engine_bin)
            .args(env.engine_run_args(&env.init, &["--runtime".as_ref(), youki.as_os_str()])),
        "locald-engine run --runtime youki",
    ))
}

/// This engine's bundle run in-process by youki's `libcontainer` crate, the way locald's setuid
/// shim runs it: `libcontainer_shim prepare ROOTFS BUNDLE -- PROBE...` then
/// `libcontainer_shim run BUNDLE`, as root. Shown for comparison, as `youki` is.
fn run_libcontainer(env: &Env) -> Run {
    if !euid_is_root() {
        return Run::Unavailable("not running as root".into());
    }
    if !env.libcontainer_shim.is_file() {
        return Run::Unavailable(format!(
            "no libcontainer_shim at {} (cargo build -p locald-engine --features libcontainer \
             --example libcontainer_shim, or pass --libcontainer-shim)",
            env.libcontainer_shim.display()
        ));
    }
    let bundle = env.base.join("libcontainer-bundle");
    let prepared = Command::new(&env.libcontainer_shim)
        .arg("prepare")
        .arg(&env.rootfs)
        .arg(&bundle)
        .arg("--")
        .args(env.probe_args())
        // The engine takes only an absolute init path.
        .env(
            "LOCALD_INIT",
            fs::canonicalize(&env.init).unwrap_or_else(|_| env.init.clone()),
        )
        .stdin(Stdio::null())
        .output();
    match prepared {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Run::Ran(Err(format!(
                "libcontainer_shim prepare exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Err(e) => return Run::Ran(Err(format!("cannot start libcontainer_shim: {e}"))),
    }
    Run::Ran(probe_output(
        Command::new(&env.libcontainer_shim).arg("run").arg(&bundle),
        "libcontainer_shim run",
    ))
}

fn locald_prereq(env: &Env) -> Option<String> {
    if !env.engine_bin.is_file() {
        return Some(format!(
            "no locald-engine at {} (cargo build -p locald-engine, or pass --engine-bin)",
            env.engine_bin.display()
        ));
    }
    if env.runc.is_none() {
        return Some("runc is not installed (apt-get install -y runc)".into());
    }
    None
}

fn run_locald_rootless(env: &Env) -> Run {
    if let Some(r) = locald_prereq(env) {
        return Run::Unavailable(r);
    }
    if !euid_is_root() {
        // Already unprivileged: the engine maps us to 0 by itself.
        let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
        return Run::Ran(probe_output(
            Command::new(&env.engine_bin)
                .args(env.engine_run_args(&env.init, &[]))
                .arg("--caller")
                .arg(format!("{uid}:{gid}")),
            "locald-engine run (rootless)",
        ));
    }
    let name = std::env::var("LOCALD_TEST_USER").unwrap_or_else(|_| TEST_USER.to_owned());
    let user = match nix::unistd::User::from_name(&name) {
        Ok(Some(u)) => u,
        _ => {
            return Run::Unavailable(format!(
                "user {name} does not exist (ci/install-deps creates it)"
            ));
        }
    };
    if which("setpriv").is_none() {
        return Run::Unavailable("setpriv is not installed (util-linux)".into());
    }
    // The build directory may not be traversable by the user: hard-link (else copy) the
    // engine into the 0755 temporary directory beside the rootfs.
    let engine = env.base.join("locald-engine");
    if !engine.exists()
        && fs::hard_link(&env.engine_bin, &engine).is_err()
        && let Err(e) = fs::copy(&env.engine_bin, &engine)
    {
        return Run::Ran(Err(format!("copy the engine for {name}: {e}")));
    }
    let init = env.base.join("locald-init");
    if !init.exists()
        && fs::hard_link(&env.init, &init).is_err()
        && let Err(e) = fs::copy(&env.init, &init)
    {
        return Run::Ran(Err(format!("copy the init for {name}: {e}")));
    }
    let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
    // The unprivileged engine's layer needs an image the user owns, as one they extracted
    // themselves would be: a copy of the rootfs given to them.
    let rootfs = env.base.join(format!("rootfs-{name}"));
    if !rootfs.exists()
        && let Err(e) = build_rootfs(&rootfs, &env.rootfs.join("locald-probe"))
            .and_then(|()| chown_tree(&rootfs, uid, gid))
    {
        return Run::Ran(Err(format!("a rootfs for {name}: {e}")));
    }
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg("--clear-groups")
        .arg("--")
        .arg(&engine)
        .args(env.engine_run_args_on(&rootfs, &init, &[]))
        .arg("--caller")
        .arg(format!("{uid}:{gid}"))
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/")
        .env("USER", &name);
    Run::Ran(probe_output(
        &mut cmd,
        &format!("locald-engine run as {name}"),
    ))
}

fn run_runc_spec(env: &Env) -> Run {
    let Some(runc) = &env.runc else {
        return Run::Unavailable("runc is not installed (apt-get install -y runc)".into());
    };
    if !euid_is_root() {
        return Run::Unavailable("not running as root (runc spec's defaults are rootful)".into());
    }
    Run::Ran(runc_spec(env, runc))
}

fn runc_spec(env: &Env, runc: &Path) -> Result<Vec<Finding>, String> {
    let bundle = env.base.join("runc-bundle");
    mkdir(&bundle, 0o755)?;
    let out = Command::new(runc)
        .arg("spec")
        .current_dir(&bundle)
        .output()
        .map_err(|e| format!("runc spec: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "runc spec: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = bundle.join("config.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("runc spec's config.json: {e}"))?;
    // Only what it takes to run the probe: the root, the arguments, and no terminal (the
    // output is captured; runc refuses a terminal without one).
    config["root"]["path"] = env.rootfs.display().to_string().into();
    config["process"]["args"] = serde_json::json!(env.probe_args());
    config["process"]["terminal"] = false.into();
    fs::write(&path, config.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    let state = env.base.join("runc-state");
    let id = format!("locald-conform-{}", std::process::id());
    let result = probe_output(
        Command::new(runc)
            .arg("--root")
            .arg(&state)
            .arg("run")
            .arg("--bundle")
            .arg(&bundle)
            .arg(&id),
        "runc run",
    );
    let _ = Command::new(runc)
        .arg("--root")
        .arg(&state)
        .args(["delete", "--force", &id])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
    result
}

fn run_podman(env: &Env) -> Run {
    let Some(podman) = which("podman") else {
        return Run::Unavailable("podman is not installed".into());
    };
    if !euid_is_root() {
        return Run::Unavailable(
            "not running as root (this configuration is rootful Podman)".into(),
        );
    }
    Run::Ran(podman_run(env, &podman))
}

/// Runs `cmd`; its standard error is the error when it fails.
fn ok(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The probe's rootfs as a tar archive, for the engines that import it as an image (written
/// once per run).
fn rootfs_tar(env: &Env) -> Result<PathBuf, String> {
    let tar = env.base.join("rootfs.tar");
    if !tar.is_file() {
        ok(
            Command::new("tar")
                .arg("-C")
                .arg(&env.rootfs)
                .arg("-cf")
                .arg(&tar)
                .arg("."),
            "tar the rootfs",
        )?;
    }
    Ok(tar)
}

fn podman_run(env: &Env, podman: &Path) -> Result<Vec<Finding>, String> {
    let tar = rootfs_tar(env)?;
    let image = format!("localhost/locald-conform-probe:{}", std::process::id());
    ok(
        Command::new(podman).arg("import").arg(&tar).arg(&image),
        "podman import",
    )?;
    let result = probe_output(
        Command::new(podman)
            .args([
                "--runtime",
                "runc",
                "--cgroup-manager",
                "cgroupfs",
                "run",
                "--rm",
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=4096:4096",
                &image,
            ])
            .args(env.probe_args()),
        "podman run",
    );
    let _ = ok(
        Command::new(podman).args(["rmi", "-f", &image]),
        "podman rmi",
    );
    result
}

fn describe(name: &str) -> &'static str {
    match name {
        "locald-root" => "locald-engine run under runc, as root",
        "locald-private" => {
            "locald-engine run --network none under runc, as root (a private network namespace)"
        }
        "locald-rootless" => {
            "locald-engine run under runc as the unprivileged user locald-test (single uid/gid mapping)"
        }
        "runc-spec" => {
            "runc run of the bundle `runc spec` writes (root path, args and terminal: false changed)"
        }
        "youki" => {
            "locald-engine run as root with youki (youki's libcontainer, the runtime locald embeds) instead of runc"
        }
        "libcontainer" => {
            "the engine's bundle run in-process by youki's libcontainer crate as root, as locald's setuid shim runs it (the libcontainer_shim example)"
        }
        "docker" => {
            "docker run --rm --network host of the rootfs imported as an image, under Debian's dockerd started on a socket and data root of its own (--bridge=none --iptables=false, cgroupfs driver)"
        }
        "docker --init" => {
            "the same docker run with --init: docker-init (tini) is PID 1 and the probe its child"
        }
        _ => {
            "podman --runtime runc --cgroup-manager cgroupfs run --rm --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
        }
    }
}

fn version(name: &str, env: &Env, docker: Option<&Result<docker::Daemon, String>>) -> String {
    match name {
        "docker" | "docker --init" => docker
            .and_then(|d| d.as_ref().ok())
            .map(|d| d.version.clone())
            .unwrap_or_default(),
        "locald-root" | "locald-rootless" | "locald-private" => locald_version(env),
        "libcontainer" => {
            let engine = locald_version(env);
            format!(
                "{}; libcontainer {}",
                engine.split(';').next().unwrap_or_default(),
                locked_version("libcontainer").unwrap_or_else(|| "(version unknown)".into())
            )
        }
        "runc-spec" => env
            .runc
            .as_ref()
            .and_then(|r| first_line(Command::new(r).arg("--version")))
            .unwrap_or_default(),
        "youki" => which("youki")
            .and_then(|p| first_line(Command::new(p).arg("--version")))
            .map(|v| {
                // The engine's own line, without the runc version it reports for runc runs.
                let engine = locald_version(env);
                format!("{}; {v}", engine.split(';').next().unwrap_or_default())
            })
            .unwrap_or_default(),
        _ => which("podman")
            .and_then(|p| first_line(Command::new(p).arg("--version")))
            .unwrap_or_default(),
    }
}

/// The matrix: one row per (requirement, check), one column per engine.
pub fn matrix(report: &Conformance) -> String {
    let engines: Vec<&str> = report.engines.iter().map(|e| e.name.as_str()).collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in &report.results {
        if !keys.contains(&(r.id.as_str(), r.check.as_str())) {
            keys.push((r.id.as_str(), r.check.as_str()));
        }
    }
    keys.sort();
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(id, check)| {
            let mut row = vec![
                (*id).to_owned(),
                check.trim_start_matches("checks::").to_owned(),
            ];
            for e in &engines {
                let cell = report
                    .results
                    .iter()
                    .find(|r| r.engine == *e && r.id == *id && r.check == *check)
                    .map_or("-", |r| match r.outcome {
                        Outcome::Pass => "pass",
                        Outcome::Fail => "FAIL",
                        Outcome::NotApplicable => "n/a",
                    });
                row.push(cell.to_owned());
            }
            row
        })
        .collect();
    let mut header = vec!["requirement", "check"];
    header.extend(engines.iter());
    let mut out = table(&header, &rows);
    for e in &report.engines {
        out.push_str(&format!(
            "\n{}: {}{}",
            e.name,
            if e.available {
                e.version.clone()
            } else {
                "unavailable".into()
            },
            e.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    out.push('\n');
    out
}

/// The static probe: `--probe`, else built with cargo; refused unless it is a static ELF
/// executable, the only kind that runs in a root filesystem holding nothing else.
fn static_probe(cli: &Cli) -> Result<PathBuf, String> {
    let probe = match &cli.probe {
        Some(p) => p.clone(),
        None => build_probe()?,
    };
    let bytes = fs::read(&probe).map_err(|e| format!("probe {}: {e}", probe.display()))?;
    if elf_has_interpreter(&bytes) != Some(false) {
        return Err(format!(
            "probe {} is not a static ELF executable (build it with RUSTFLAGS=\"-C \
             target-feature=+crt-static\" --target {PROBE_TARGET})",
            probe.display()
        ));
    }
    Ok(probe)
}

/// The run's temporary directory.
fn work_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("locald-conform-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))
}

/// Runs the configurations `cli` selects and writes the report; `Err` for a failure to run at
/// all (a configuration that is unavailable, or whose checks fail, is a result).
pub fn run(cli: &Cli) -> Result<(Conformance, PathBuf, bool), String> {
    for name in &cli.only {
        if !ENGINES.contains(&name.as_str()) {
            return Err(format!(
                "--only {name}: unknown configuration (one of {})",
                ENGINES.join(", ")
            ));
        }
    }
    let selected: Vec<&str> = ENGINES
        .iter()
        .copied()
        .filter(|e| cli.only.is_empty() || cli.only.iter().any(|o| o == e))
        .collect();
    let generated_at = rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let probe = static_probe(cli)?;
    // The engine checks the init itself (static, executable) and names it when it is not.
    let init = match &cli.init {
        Some(p) => p.clone(),
        None => build_init()?,
    };
    let dir = work_dir()?;
    // Temporary directories are 0700: the rootless user must traverse this one.
    chmod(dir.path(), 0o755)?;
    let rootfs = dir.path().join("rootfs");
    build_rootfs(&rootfs, &probe)?;
    let env = Env {
        base: dir.path().to_path_buf(),
        rootfs,
        host_ns: host_namespaces(),
        host_resolv_conf: host_resolv_conf(),
        host_hosts: host_hosts(),
        engine_bin: cli
            .engine_bin
            .clone()
            .unwrap_or_else(|| exe_dir().join("locald-engine")),
        libcontainer_shim: cli
            .libcontainer_shim
            .clone()
            .unwrap_or_else(|| exe_dir().join("examples/libcontainer_shim")),
        init,
        runc: which("runc"),
    };
    let mut engines = Vec::new();
    let mut results = Vec::new();
    let mut all_ran = true;
    // One daemon serves both Docker configurations; dropping it (after the loop, or on any
    // early return) stops it.
    let docker = (selected.iter().any(|n| n.starts_with("docker"))
        && docker::Daemon::unavailable().is_none())
    .then(|| docker::Daemon::start(&env));
    for name in selected {
        let run = match name {
            "locald-root" => run_locald_root(&env, "host"),
            "locald-private" => run_locald_root(&env, "none"),
            "locald-rootless" => run_locald_rootless(&env),
            "runc-spec" => run_runc_spec(&env),
            "youki" => run_locald_youki(&env),
            "libcontainer" => run_libcontainer(&env),
            "docker" => docker::run(&env, docker.as_ref(), false),
            "docker --init" => docker::run(&env, docker.as_ref(), true),
            _ => run_podman(&env),
        };
        let mut info = Engine {
            name: name.to_owned(),
            description: describe(name).to_owned(),
            version: String::new(),
            available: false,
            reason: None,
        };
        match run {
            Run::Unavailable(reason) => info.reason = Some(reason),
            Run::Ran(outcome) => {
                info.available = true;
                info.version = version(name, &env, docker.as_ref());
                match outcome {
                    Ok(rs) => results.extend(rs.into_iter().map(|f| CheckResult::new(name, f))),
                    Err(e) => {
                        all_ran = false;
                        info.reason = Some(format!("the run produced no results: {e}"));
                    }
                }
            }
        }
        engines.push(info);
    }
    drop(docker);
    let report = Conformance {
        generated_at,
        engines,
        results,
    };
    let out = out_file(cli);
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    fs::write(&out, report.to_json()).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok((report, out, all_ran))
}

/// `locald-conform`'s main: exit 0 when every available configuration produced results, 1
/// when one did not, 2 when the runner could not run.
pub fn main() -> ExitCode {
    main_with(&Cli::parse())
}

/// The results file `cli` names, or the workspace's.
fn out_file(cli: &Cli) -> PathBuf {
    cli.out
        .clone()
        .unwrap_or_else(|| workspace_root().join(locald_conformance::CONFORMANCE_FILE))
}

/// `--kubernetes-log FILE`: the findings of a cluster's run added to the results file.
fn add_kubernetes_log(cli: &Cli, log: &Path) -> Result<String, String> {
    let text = fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let out = out_file(cli);
    let mut report = Conformance::read(&out)?.unwrap_or_default();
    let n = kubernetes::add_log(&mut report, &text, log)?;
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    fs::write(&out, report.to_json()).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(format!(
        "{n} findings of `{}` added to {}",
        kubernetes::ENGINE,
        out.display()
    ))
}

/// `--rootfs-tar FILE`: the probe's root filesystem as an archive.
fn write_rootfs_tar(cli: &Cli, file: &Path) -> Result<String, String> {
    let dir = work_dir()?;
    let rootfs = dir.path().join("rootfs");
    build_rootfs(&rootfs, &static_probe(cli)?)?;
    ok(
        Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(file)
            .arg("."),
        "tar the rootfs",
    )?;
    Ok(format!(
        "{}: the probe's root filesystem; import it as an image, e.g. docker import {} \
         locald-probe:latest",
        file.display(),
        file.display()
    ))
}

/// Runs with options parsed elsewhere (`locald-spec conform`), printing the matrix.
pub fn main_with(cli: &Cli) -> ExitCode {
    let other = if let Some(image) = &cli.kubernetes {
        let job = serde_json::to_string_pretty(&kubernetes::job_manifest(image))
            .expect("a manifest serializes");
        println!("{job}");
        return ExitCode::SUCCESS;
    } else if let Some(log) = &cli.kubernetes_log {
        Some(add_kubernetes_log(cli, log))
    } else {
        cli.rootfs_tar.as_ref().map(|f| write_rootfs_tar(cli, f))
    };
    match other {
        Some(Ok(said)) => {
            println!("{said}");
            return ExitCode::SUCCESS;
        }
        Some(Err(e)) => {
            eprintln!("locald-conform: {e}");
            return ExitCode::from(2);
        }
        None => {}
    }
    match run(cli) {
        Ok((report, out, all_ran)) => {
            print!("{}", matrix(&report));
            println!("results: {}", out.display());
            if all_ran {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("locald-conform: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn elf_detection() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_has_interpreter(&me), Some(true));
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn the_matrix_marks_failures_and_unavailable_engines() {
        let report: Conformance = serde_json::from_value(serde_json::json!({
            "generated_at": rfc3339(0),
            "engines": [
                {"name": "locald-root", "description": "d", "version": "v", "available": true},
                {"name": "podman", "description": "d", "version": "", "available": false,
                 "reason": "podman is not installed"}
            ],
            "results": [{"engine": "locald-root", "id": "a.b", "check": "checks::c",
                         "outcome": "fail", "detail": "x"}]
        }))
        .expect("a report");
        let m = matrix(&report);
        assert!(m.contains("a.b          c      FAIL         -"), "{m}");
        assert!(
            m.contains("podman: unavailable (podman is not installed)"),
            "{m}"
        );
    }
}
