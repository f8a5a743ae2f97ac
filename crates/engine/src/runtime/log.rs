//! The runtime's own log, kept apart from the container's output, so that a failure of the
//! runtime (a target it refused, a command it could not execute) is told from the workload's
//! exit status: runc exits 1 either way.
//!
//! runc writes its log (`--log`, `--log-format json`) into an anonymous memory file the engine
//! created and passes as `/proc/self/fd/N`; once runc has exited, the engine reads the entries
//! of level `error` or `fatal`.

// Only the runc backend reads a runtime log; the failure statuses are every caller's.
#![cfg_attr(not(feature = "runc"), allow(dead_code))]

use locald_spec_macros::implements;

use crate::error::Result;

/// The exit status of a command that could not be found (POSIX shells, Docker).
pub const NOT_FOUND: u8 = 127;
/// The exit status of a command that could not be executed.
pub const NOT_EXECUTABLE: u8 = 126;
/// The exit status of the engine's own failures, and the runtime's (as `docker run`'s).
pub const ENGINE_FAILED: u8 = 125;

/// runc's log for one container (off Linux, where no runtime runs, an empty one).
#[derive(Debug)]
pub(crate) struct RuntimeLog {
    #[cfg(target_os = "linux")]
    file: std::fs::File,
}

#[cfg(not(target_os = "linux"))]
impl RuntimeLog {
    pub(crate) fn new() -> Result<RuntimeLog> {
        Ok(RuntimeLog {})
    }

    pub(crate) fn args(&self) -> [String; 0] {
        []
    }

    pub(crate) fn error(&mut self) -> Option<String> {
        None
    }
}

#[cfg(target_os = "linux")]
impl RuntimeLog {
    pub(crate) fn new() -> Result<RuntimeLog> {
        use std::os::fd::OwnedFd;
        let fd: OwnedFd = nix::sys::memfd::memfd_create(
            c"locald-runtime-log",
            nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
        )
        .map_err(|e| crate::error::Error::io("memfd", "create", e.into()))?;
        // Above the lifeline's descriptor, which the runtime's child takes over last
        // (`launch::Launch::prepare`): the log's number is in the runtime's arguments.
        let min = crate::spec::LIFELINE_FD + 1;
        let n = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(min))
            .map_err(|e| crate::error::Error::io("memfd", "dup", e.into()))?;
        // SAFETY: `n` is the new descriptor fcntl(2) just returned, owned by nothing else.
        let fd: OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(n) };
        Ok(RuntimeLog { file: fd.into() })
    }

    /// The descriptor number to pass on (its close-on-exec flag cleared in the child).
    pub(crate) fn raw_fd(&self) -> i32 {
        std::os::fd::AsRawFd::as_raw_fd(&self.file)
    }

    /// The runtime's arguments naming the log.
    pub(crate) fn args(&self) -> [String; 4] {
        [
            "--log".into(),
            format!("/proc/self/fd/{}", self.raw_fd()),
            "--log-format".into(),
            "json".into(),
        ]
    }

    /// The error the runtime logged, if any: its messages joined.
    pub(crate) fn error(&mut self) -> Option<String> {
        use std::io::{Read, Seek};
        let mut text = String::new();
        self.file.rewind().ok()?;
        self.file.read_to_string(&mut text).ok()?;
        let msgs: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| matches!(v["level"].as_str(), Some("error" | "fatal")))
            .filter_map(|v| v["msg"].as_str().map(str::to_owned))
            .collect();
        (!msgs.is_empty()).then(|| msgs.join("; "))
    }
}

/// The exit status for a runtime failure `msg`: 127 when the command was not found, 126 when it
/// could not be executed, else 125 (Docker's convention for `docker run`).
///
/// ```
/// use locald_engine::runtime::failure_status;
/// assert_eq!(failure_status("exec: \"nosuch\": executable file not found in $PATH"), 127);
/// assert_eq!(failure_status("exec: \"/etc\": permission denied"), 126);
/// assert_eq!(failure_status("error mounting \"proc\" to rootfs"), 125);
/// ```
#[implements("lifecycle.exit-status")]
pub fn failure_status(msg: &str) -> u8 {
    let exec = msg.contains("exec: ") || msg.contains("exec ");
    if exec && (msg.contains("not found") || msg.contains("no such file or directory")) {
        NOT_FOUND
    } else if exec && msg.contains("permission denied") {
        NOT_EXECUTABLE
    } else {
        ENGINE_FAILED
    }
}
