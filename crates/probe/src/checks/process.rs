//! process.md: the open-file limit, the terminal and the OOM-killer adjustment.

use locald_spec_macros::verifies;

use super::{Ctx, has_terminal, read};
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

#[verifies("process.oom-score-adj")]
pub(super) fn oom_score_adj(_ctx: &Ctx) -> Verdict {
    match read("/proc/self/oom_score_adj") {
        Ok(text) => oom_score_adj_verdict(text.trim()),
        Err(e) => Verdict::fail(e),
    }
}

/// process.oom-score-adj, as the workload can see it: not negative (the engine's own value,
/// which the requirement allows above 0, is not visible here).
fn oom_score_adj_verdict(text: &str) -> Verdict {
    match text.parse::<i32>() {
        Ok(v) if v >= 0 => Verdict::pass(format!("oom_score_adj {v}")),
        Ok(v) => Verdict::fail(format!(
            "oom_score_adj {v}: the OOM killer would spare the workload before the user's \
             other programs"
        )),
        Err(_) => Verdict::fail(format!("/proc/self/oom_score_adj holds {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn a_negative_oom_score_adj_fails() {
        for (text, outcome) in [
            ("0", Outcome::Pass),
            ("100", Outcome::Pass),
            ("-1", Outcome::Fail),
            ("-997", Outcome::Fail),
            ("x", Outcome::Fail),
        ] {
            assert_eq!(oom_score_adj_verdict(text).outcome, outcome, "{text}");
        }
    }
}
