use super::*;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// On a failed assertion, make sure no container outlives the test.
struct Cleanup {
    engine: std::process::Child,
    runc_root: std::path::PathBuf,
    id: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.engine.kill();
            let _ = Command::new("runc")
                .arg("--root")
                .arg(&self.runc_root)
                .args(["delete", "--force", &self.id])
                .status();
        }
    }
}

#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn sigterm_to_the_engine_reaches_the_workload(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    let mut cmd = engine_command(mode, &rootfs);
    let id = format!("e2e-signals-{}-{mode:?}", std::process::id()).to_lowercase();
    let runc_root = default_runtime_root(mode);
    own_rootfs(mode, &rootfs);
    // sh as PID 1 receives SIGTERM only because it installs a handler (trap).
    let script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 1; done";
    let mut child = cmd
        .args(["run", "--id", &id, "--rootfs"])
        .arg(rootfs.path())
        .args(["--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn engine");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // Lines arrive through a channel so a broken forwarder fails the test by timeout
    // instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    let mut guard = Cleanup {
        engine: child,
        runc_root,
        id,
    };
    let next = || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("output in time")
    };
    assert_eq!(next(), "ready");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(next(), "got-term");
    let status = guard.engine.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{status:?}");
}
