//! environment.md: `HOME`, `PATH`, `HOSTNAME` and `TERM` as the engine sets them.

use locald_spec_macros::verifies;

use super::{Ctx, has_terminal, hostname};
use crate::Verdict;

/// The default `PATH` of environment.path-default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[verifies("environment.home")]
pub(super) fn home_from_passwd(ctx: &Ctx) -> Verdict {
    let home = ctx.env.get("HOME");
    let Some(entry) = ctx.passwd_entry() else {
        return Verdict::fail(format!(
            "HOME={home:?}, but uid {} has no passwd entry to take it from",
            ctx.uid
        ));
    };
    let want = if entry.home.is_empty() {
        "/"
    } else {
        entry.home.as_str()
    };
    match home {
        None => Verdict::fail(format!("HOME is not set (passwd home: {want})")),
        Some(h) if h == want => Verdict::pass(format!("HOME={h}, the passwd entry's home")),
        Some(h) => Verdict::fail(format!("HOME={h}, but the passwd entry's home is {want}")),
    }
}

#[verifies("environment.path-default")]
pub(super) fn path_default(ctx: &Ctx) -> Verdict {
    match ctx.env.get("PATH") {
        None => Verdict::fail("PATH is not set"),
        Some(p) if p == DEFAULT_PATH => Verdict::pass(format!("PATH={p}")),
        Some(p) => Verdict::not_applicable(format!(
            "PATH={p} is not the default: set by the image or the caller?"
        )),
    }
}

#[verifies("environment.hostname")]
pub(super) fn hostname_env(ctx: &Ctx) -> Verdict {
    let name = match hostname() {
        Ok(n) => n,
        Err(e) => return Verdict::fail(e),
    };
    match ctx.env.get("HOSTNAME") {
        None => Verdict::fail(format!("HOSTNAME is not set (hostname is {name:?})")),
        Some(h) if *h == name => Verdict::pass(format!("HOSTNAME={h}, the hostname")),
        Some(h) => Verdict::not_applicable(format!(
            "HOSTNAME={h} differs from the hostname {name:?}: set by the image or the caller?"
        )),
    }
}

#[verifies("environment.term")]
pub(super) fn term_without_terminal(ctx: &Ctx) -> Verdict {
    let term = ctx.env.get("TERM");
    match (has_terminal(), term) {
        (false, None) => Verdict::pass("no terminal and no TERM"),
        (false, Some(t)) => Verdict::fail(format!("TERM={t} but the process has no terminal")),
        (true, Some(t)) => Verdict::pass(format!("terminal with TERM={t}")),
        (true, None) => Verdict::fail("the process has a terminal but no TERM"),
    }
}

/// The files by which other engines mark their containers, as systemd's `detect_container`
/// reads them: Podman's and Docker's.
const MARKER_FILES: [&str; 2] = ["/run/.containerenv", "/.dockerenv"];

#[verifies("environment.container")]
pub(super) fn container_marked(ctx: &Ctx) -> Verdict {
    match ctx.env.get("container") {
        Some(v) if !v.is_empty() => Verdict::pass(format!("container={v}")),
        Some(_) => Verdict::fail("container is set but empty: \"not in a container\" to systemd"),
        None => match MARKER_FILES
            .iter()
            .find(|f| std::path::Path::new(f).exists())
        {
            Some(f) => Verdict::pass(format!("no container variable, but the marker file {f}")),
            None => Verdict::fail(format!(
                "no container variable and none of {}",
                MARKER_FILES.join(", ")
            )),
        },
    }
}
