//! What the robustness tests (`hostile_images.rs`, `faults.rs`) share: the engine run under a
//! hang guard, and the book's generated lists kept current.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::Output;

/// Run `cmd` (the engine) to its end, failing the test if it has not ended after `bound` (a
/// hang guard, not a timing assertion). `signal_when`: SIGTERM to the engine once that file
/// exists.
pub fn run_bounded(mut cmd: Command, bound: Duration, signal_when: Option<&Path>) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn locald-engine");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    if let Some(file) = signal_when {
        let deadline = Instant::now() + bound;
        while !file.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    match rx.recv_timeout(bound) {
        Ok(out) => {
            let out = out.expect("wait for locald-engine");
            Output {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("the engine hung: still running after {bound:?}");
        }
    }
}

/// Assert that the book's generated page `book/src/robustness/NAME` holds `want`;
/// `LOCALD_BLESS=1` writes it first. `how` says how to regenerate it.
pub fn book_page_is_current(name: &str, want: &str, how: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/robustness")
        .join(name);
    if std::env::var_os("LOCALD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "{} is stale: {how}", path.display());
}

/// The name of `mode` in ids and messages.
pub fn mode_name(mode: crate::common::Mode) -> &'static str {
    match mode {
        crate::common::Mode::Root => "root",
        crate::common::Mode::Rootless => "rootless",
    }
}
