//! The checks: every requirement observable from inside the container, one file per chapter
//! of the book (`identity.rs` holds the checks of `book/src/identity.md`).
//!
//! A check is a function of [`Ctx`] returning a [`Verdict`], annotated with `#[verifies]` for
//! the requirement IDs it observes (an unknown ID is a compile error). Nothing else registers
//! it: the build script reads the chapter files with the spec's own link scanner and generates
//! [`CHECKS`] from those attributes, so the registry, the names the results carry and the links
//! `locald-spec` sees are one. A chapter's checks verify only that chapter's requirements.
//!
//! Adding a check: write the function in its chapter's file with `#[verifies("id")]`; a new
//! chapter is a new file and a `mod` line here. The results come in the book's chapter order.

use std::collections::BTreeMap;
use std::net::IpAddr;

use nix::unistd::{Gid, Uid};

use crate::parse::{self, GroupEntry, IdMapping, Mount, PasswdEntry};
use crate::{Finding, Verdict};

// The chapters: `book/src/<chapter>.md` each.
mod dns;
mod environment;
mod filesystems;
mod identity;
mod isolation;
mod names;
mod process;
mod security;

include!(concat!(env!("OUT_DIR"), "/checks.rs"));

/// What the checks observe, read once.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Mounts from `/proc/self/mountinfo`.
    pub mounts: Vec<Mount>,
    /// `/proc/self/status` fields.
    pub status: BTreeMap<String, String>,
    /// `/etc/passwd` entries, `None` when unreadable.
    pub passwd: Option<Vec<PasswdEntry>>,
    /// `/etc/group` entries, `None` when unreadable.
    pub group: Option<Vec<GroupEntry>>,
    /// The process environment.
    pub env: BTreeMap<String, String>,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Host namespace links (`pid` → `pid:[4026531836]`), given by the runner.
    pub host_ns: BTreeMap<String, String>,
    /// The host uid and gid that started the engine, given by the runner.
    pub caller: Option<(u32, u32)>,
    /// The host's `/etc/resolv.conf` (empty when it has none), given by the runner.
    pub host_resolv_conf: Option<String>,
    /// The host's `/etc/hosts` (empty when it has none), given by the runner.
    pub host_hosts: Option<String>,
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

impl Ctx {
    /// Read everything from the running process and its container; the arguments are what the
    /// runner knows of the host.
    pub fn gather(
        host_ns: BTreeMap<String, String>,
        caller: Option<(u32, u32)>,
        host_resolv_conf: Option<String>,
        host_hosts: Option<String>,
    ) -> Ctx {
        Ctx {
            mounts: parse::parse_mountinfo(&read("/proc/self/mountinfo").unwrap_or_default()),
            status: parse::parse_status(&read("/proc/self/status").unwrap_or_default()),
            passwd: read("/etc/passwd").ok().map(|t| parse::parse_passwd(&t)),
            group: read("/etc/group").ok().map(|t| parse::parse_group(&t)),
            env: std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
            uid: Uid::current().as_raw(),
            gid: Gid::current().as_raw(),
            host_ns,
            caller,
            host_resolv_conf,
            host_hosts,
        }
    }

    fn mount(&self, path: &str) -> Option<&Mount> {
        parse::mount_at(&self.mounts, path)
    }

    fn passwd_entry(&self) -> Option<&PasswdEntry> {
        self.passwd.as_ref()?.iter().find(|e| e.uid == self.uid)
    }

    fn uid_map(&self) -> Result<Vec<IdMapping>, String> {
        read("/proc/self/uid_map").map(|t| parse::parse_id_map(&t))
    }

    fn in_user_namespace(&self) -> bool {
        self.uid_map().is_ok_and(|m| !parse::is_identity_map(&m))
    }
}

/// A check: its chapter, its name, the requirements it observes, and the function.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The chapter (`identity`): the file `checks/<chapter>.rs` and the IDs' first segment.
    pub chapter: &'static str,
    /// The function's path in this crate (`checks::identity::passwd_current_user`), as the
    /// spec's link scanner names it.
    pub name: &'static str,
    /// The requirement IDs: the function's `#[verifies]`.
    pub ids: &'static [&'static str],
    /// The check.
    pub run: fn(&Ctx) -> Verdict,
}

/// Run every check and return one finding per (check, requirement).
pub fn run_all(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in CHECKS {
        let v = (c.run)(ctx);
        for id in c.ids {
            out.push(Finding {
                id: (*id).to_owned(),
                check: c.name.to_owned(),
                outcome: v.outcome,
                detail: v.detail.clone(),
            });
        }
    }
    out
}

/// Every requirement ID the checks verify, sorted, each once.
pub fn probed_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = CHECKS.iter().flat_map(|c| c.ids.iter().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------
// What several chapters observe.

/// The UTS name.
fn hostname() -> Result<String, String> {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .map_err(|e| format!("gethostname: {e}"))
}

/// Whether any of the standard descriptors is a terminal.
fn has_terminal() -> bool {
    [0, 1, 2].into_iter().any(|fd| {
        // SAFETY: isatty only inspects the descriptor.
        unsafe { nix::libc::isatty(fd) == 1 }
    })
}

fn own_ns(kind: &str) -> Result<String, String> {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.display().to_string())
        .map_err(|e| format!("/proc/self/ns/{kind}: {e}"))
}

/// Compares our namespace of `kind` with the host's one the runner passed.
fn ns_vs_host(ctx: &Ctx, kind: &str) -> Result<(String, Option<bool>), String> {
    let own = own_ns(kind)?;
    Ok((own.clone(), ctx.host_ns.get(kind).map(|h| *h != own)))
}

/// Whether the container shares the host's network namespace (`Ok(true)`), has one of its own
/// (`Ok(false)`), or the runner did not say (a not-applicable verdict).
fn host_network(ctx: &Ctx) -> Result<bool, Verdict> {
    match ns_vs_host(ctx, "net") {
        Err(e) => Err(Verdict::fail(e)),
        Ok((_, Some(private))) => Ok(!private),
        Ok((own, None)) => Err(Verdict::not_applicable(format!(
            "{own}; the host's net namespace was not given (--host-ns): host or private \
             network unknown"
        ))),
    }
}

/// Lists addresses for a detail.
fn show_ips(ips: &[IpAddr]) -> String {
    if ips.is_empty() {
        "nothing".into()
    } else {
        ips.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry holds every chapter file's checks, each named by its path, verifying its own
    /// chapter's requirements only.
    #[test]
    fn every_chapter_registers_its_checks_under_their_paths() {
        let chapters: Vec<&str> = CHECKS.iter().map(|c| c.chapter).collect();
        for chapter in [
            "identity",
            "environment",
            "filesystems",
            "process",
            "security",
            "isolation",
            "names",
            "dns",
        ] {
            assert!(chapters.contains(&chapter), "no check of {chapter}");
        }
        let mut names: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        for c in CHECKS {
            let func = c.name.rsplit("::").next().unwrap_or_default();
            assert_eq!(c.name, format!("checks::{}::{func}", c.chapter));
            assert!(!c.ids.is_empty(), "{} verifies nothing", c.name);
            for id in c.ids {
                assert!(
                    id.starts_with(&format!("{}.", c.chapter)),
                    "{} verifies {id}, a requirement of another chapter",
                    c.name
                );
            }
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len(), "check names are unique");
        assert!(probed_ids().contains(&"filesystems.dev-shm"));
    }

    /// Chapters run in the book's order, and each file's checks in its order.
    #[test]
    fn checks_run_in_report_order() {
        let first: Vec<&str> = CHECKS.iter().take(3).map(|c| c.name).collect();
        assert_eq!(
            first,
            [
                "checks::identity::passwd_current_user",
                "checks::identity::group_current_group",
                "checks::identity::additional_gids"
            ]
        );
        assert_eq!(
            CHECKS.last().map(|c| c.name),
            Some("checks::dns::resolv_conf_private_network")
        );
    }
}
