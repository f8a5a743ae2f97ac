//! process.md: the open-file limit and the terminal.

use locald_spec_macros::verifies;

use super::{Ctx, has_terminal};
use crate::Verdict;

#[verifies("process.rlimits.nofile")]
pub(super) fn rlimit_nofile(_ctx: &Ctx) -> Verdict {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        // Only the soft limit is the engine's to choose; the hard one is whatever the engine
        // (or the host's init) runs with, which the probe cannot know.
        Ok((soft, hard)) => Verdict::from_bool(
            soft == hard.min(1024),
            format!("soft {soft}, hard {hard} (want soft 1024, or the hard limit when lower)"),
        ),
        Err(e) => Verdict::fail(format!("getrlimit: {e}")),
    }
}

#[verifies("process.terminal")]
pub(super) fn no_terminal(_ctx: &Ctx) -> Verdict {
    if has_terminal() {
        Verdict::not_applicable("the process has a terminal: right only if the caller asked")
    } else {
        Verdict::pass("no terminal on stdin, stdout or stderr (none was asked for)")
    }
}
