//! A closed pipe ends a command quietly, as it ends `cat` or `grep`.
//!
//! The Rust runtime ignores `SIGPIPE`, so a write to a pipe whose reader has gone (`locald-spec
//! check --json | head -1`) fails with `EPIPE` and `println!` panics ("failed printing to stdout:
//! Broken pipe", exit 101). Every front end calls [`restore_default`] first thing in `main`: the
//! kernel then ends the process with `SIGPIPE` at the first such write, with no message — for
//! every subcommand at once, including those whose printing lives in other crates.

/// Restores the default action of `SIGPIPE` (terminate). A no-op outside Unix.
pub fn restore_default() {
    #[cfg(unix)]
    // SAFETY: called at the start of `main`, before any thread is spawned; SIG_DFL is a valid
    // disposition for SIGPIPE and no handler of ours is replaced.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
