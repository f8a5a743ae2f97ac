//! Docker as a configuration of the comparison: Debian's `docker.io`, its daemon started by the
//! runner on a socket, data root and exec root of its own (nothing of a Docker the machine may
//! run is touched), and stopped afterwards, on failure too.
//!
//! `docker` runs the probe as `docker run --rm --network host IMAGE /locald-probe ...`, the
//! rootfs imported as the image; `docker --init` adds `--init` (docker-init, tini, as PID 1).
//! The host's network is locald's mode, so both grade the same DNS and `/etc/hosts` rules as
//! `locald-root`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Env, Run, first_line, ok, probe_output, rootfs_tar, which};
use crate::Finding;

/// The daemon's own socket: never the machine's `/run/docker.sock`.
pub const SOCKET_DIR: &str = "/run";

/// How long the daemon may take to answer, and to stop.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The daemon's command line: its own socket, data root, exec root and pid file; no bridge and
/// no iptables rules (the probe runs on the host's network), the cgroupfs driver (no systemd).
pub fn dockerd_args(socket: &Path, data_root: &Path, exec_root: &Path) -> Vec<String> {
    vec![
        "--data-root".into(),
        data_root.display().to_string(),
        "--exec-root".into(),
        exec_root.display().to_string(),
        "--pidfile".into(),
        exec_root.join("dockerd.pid").display().to_string(),
        "--host".into(),
        format!("unix://{}", socket.display()),
        "--bridge=none".into(),
        "--iptables=false".into(),
        "--ip6tables=false".into(),
        "--exec-opt".into(),
        "native.cgroupdriver=cgroupfs".into(),
    ]
}

/// `docker run`'s arguments for the probe: `--rm --network host`, `--init` when asked.
pub fn run_args(image: &str, init: bool, probe_args: &[String]) -> Vec<String> {
    let mut args = vec![
        "run".into(),
        "--rm".into(),
        "--network".into(),
        "host".into(),
    ];
    if init {
        args.push("--init".into());
    }
    args.push(image.into());
    args.extend(probe_args.iter().cloned());
    args
}

/// The Docker client that belongs to the daemon: the `docker` beside `dockerd`'s package
/// (`/usr/bin/docker` for Debian's `/usr/sbin/dockerd`), else the one on PATH.
fn client_for(dockerd: &Path) -> Option<PathBuf> {
    let dir = dockerd.parent()?;
    [
        dir.join("docker"),
        dir.parent()?.join("bin/docker"),
        PathBuf::from("/usr/bin/docker"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .or_else(|| which("docker"))
}

/// A daemon of the runner's own, with the probe's image imported. Dropping it stops the daemon
/// (SIGTERM, then SIGKILL), the containerd it started, and unmounts what they left.
pub struct Daemon {
    child: Child,
    client: PathBuf,
    socket: PathBuf,
    dir: PathBuf,
    /// The imported image's reference.
    pub image: String,
    /// `Docker 20.10.24+dfsg1 (containerd 1.6.20~ds1, runc 1.1.5+ds1)`.
    pub version: String,
}

impl Daemon {
    /// Why the Docker configurations cannot run here, if they cannot.
    pub fn unavailable() -> Option<String> {
        if which("dockerd").is_none() {
            return Some("dockerd is not installed (apt-get install -y docker.io)".into());
        }
        if !nix::unistd::geteuid().is_root() {
            return Some("not running as root (the runner starts its own dockerd)".into());
        }
        None
    }

    /// Starts `dockerd` below the run's directory, waits for it to answer, and imports the
    /// probe's rootfs as an image.
    pub(super) fn start(env: &Env) -> Result<Daemon, String> {
        let dockerd = which("dockerd").ok_or("dockerd is not installed")?;
        let client = client_for(&dockerd).ok_or("no docker client beside dockerd")?;
        let dir = env.base.join("docker");
        let (data, exec) = (dir.join("data"), dir.join("exec"));
        for d in [&data, &exec] {
            fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        let socket = Path::new(SOCKET_DIR)
            .join(format!("locald-conform-docker-{}.sock", std::process::id()));
        let log_path = dir.join("dockerd.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("create {}: {e}", log_path.display()))?;
        let err_log = log.try_clone().map_err(|e| format!("dockerd log: {e}"))?;
        let mut cmd = Command::new(&dockerd);
        cmd.args(dockerd_args(&socket, &data, &exec))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log);
        // Should the runner die, the daemon is told to stop.
        // SAFETY: prctl is async-signal-safe and touches only the child.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("start {}: {e}", dockerd.display()))?;
        let mut daemon = Daemon {
            child,
            client,
            socket,
            dir,
            image: format!("locald-conform-probe:{}", std::process::id()),
            version: String::new(),
        };
        daemon.wait_ready(&log_path)?;
        daemon.version = daemon.server_version();
        let tar = rootfs_tar(env)?;
        ok(
            daemon.docker().arg("import").arg(&tar).arg(&daemon.image),
            "docker import",
        )?;
        Ok(daemon)
    }

    /// `docker -H unix://SOCKET`.
    fn docker(&self) -> Command {
        let mut c = Command::new(&self.client);
        c.arg("-H").arg(format!("unix://{}", self.socket.display()));
        c.stdin(Stdio::null());
        c
    }

    fn wait_ready(&mut self, log: &Path) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let ready = self
                .docker()
                .args(["version", "--format", "{{.Server.Version}}"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            let tail = || {
                let text = fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(5)..].join("\n")
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("dockerd exited with {status}: {}", tail()));
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "dockerd did not answer within {}s: {}",
                    START_TIMEOUT.as_secs(),
                    tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn server_version(&self) -> String {
        let format = "Docker {{.Server.Version}}{{range .Server.Components}}\
                      {{if ne .Name \"Engine\"}}; {{.Name}} {{.Version}}{{end}}{{end}}";
        first_line(self.docker().args(["version", "--format", format]))
            .unwrap_or_else(|| "Docker (version unknown)".into())
    }

    /// Runs the probe with `docker run --rm --network host`, and `--init` when asked.
    pub(super) fn run_probe(&self, env: &Env, init: bool) -> Result<Vec<Finding>, String> {
        probe_output(
            self.docker()
                .args(run_args(&self.image, init, &env.probe_args())),
            if init {
                "docker run --init"
            } else {
                "docker run"
            },
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.docker().args(["rmi", "-f", &self.image]).output();
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            if start.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The containerd the daemon started, should it have outlived it.
        let pidfile = self.dir.join("exec/containerd/containerd.pid");
        if let Some(pid) = fs::read_to_string(pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        unmount_below(&self.dir);
        let _ = fs::remove_file(&self.socket);
    }
}

/// Detaches every mount below `dir`, deepest first, so the run's directory can be removed.
fn unmount_below(dir: &Path) {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = crate::parse::parse_mountinfo(&text)
        .into_iter()
        .map(|m| PathBuf::from(m.mount_point))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// `docker` or `docker --init` under a daemon started for the run (or the reason there is none).
pub(super) fn run(env: &Env, daemon: Option<&Result<Daemon, String>>, init: bool) -> Run {
    match daemon {
        None => Run::Unavailable(Daemon::unavailable().unwrap_or_default()),
        Some(Err(e)) => Run::Ran(Err(e.clone())),
        Some(Ok(d)) => Run::Ran(d.run_probe(env, init)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_gets_a_socket_and_roots_of_its_own_and_no_network_setup() {
        let args = dockerd_args(
            Path::new("/run/x.sock"),
            Path::new("/t/data"),
            Path::new("/t/exec"),
        );
        let line = args.join(" ");
        for want in [
            "--data-root /t/data",
            "--exec-root /t/exec",
            "--pidfile /t/exec/dockerd.pid",
            "--host unix:///run/x.sock",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--exec-opt native.cgroupdriver=cgroupfs",
        ] {
            assert!(line.contains(want), "{line}");
        }
    }

    #[test]
    fn the_probe_runs_on_the_hosts_network_with_init_when_asked() {
        let probe = vec!["/locald-probe".to_owned(), "--json".to_owned()];
        assert_eq!(
            run_args("img:1", false, &probe).join(" "),
            "run --rm --network host img:1 /locald-probe --json"
        );
        assert_eq!(
            run_args("img:1", true, &probe).join(" "),
            "run --rm --network host --init img:1 /locald-probe --json"
        );
    }
}
