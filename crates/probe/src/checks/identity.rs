//! identity.md: the running uid and gid have entries in `/etc/passwd` and `/etc/group`, and the
//! additional groups are the ones `/etc/group` lists the user in.

use locald_spec_macros::verifies;

use super::Ctx;
use crate::Verdict;

#[verifies("identity.passwd.current-user")]
pub(super) fn passwd_current_user(ctx: &Ctx) -> Verdict {
    match (&ctx.passwd, ctx.passwd_entry()) {
        (None, _) => Verdict::fail("/etc/passwd is not readable"),
        (_, Some(e)) => Verdict::pass(format!("uid {} is `{}` in /etc/passwd", ctx.uid, e.name)),
        (Some(all), None) => Verdict::fail(format!(
            "no entry for uid {} among {} entries of /etc/passwd",
            ctx.uid,
            all.len()
        )),
    }
}

#[verifies("identity.group.current-group")]
pub(super) fn group_current_group(ctx: &Ctx) -> Verdict {
    match &ctx.group {
        None => Verdict::fail("/etc/group is not readable"),
        Some(all) => match all.iter().find(|g| g.gid == ctx.gid) {
            Some(g) => Verdict::pass(format!("gid {} is `{}` in /etc/group", ctx.gid, g.name)),
            None => Verdict::fail(format!(
                "no entry for gid {} among {} entries of /etc/group",
                ctx.gid,
                all.len()
            )),
        },
    }
}

#[verifies("identity.user.additional-gids")]
pub(super) fn additional_gids(ctx: &Ctx) -> Verdict {
    let Some(user) = ctx.passwd_entry() else {
        return Verdict::not_applicable(format!("uid {} has no passwd entry", ctx.uid));
    };
    let groups = match nix::unistd::getgroups() {
        Ok(g) => g,
        Err(e) => return Verdict::fail(format!("getgroups: {e}")),
    };
    let mut actual: Vec<u32> = groups
        .iter()
        .map(|g| g.as_raw())
        .filter(|g| *g != ctx.gid)
        .collect();
    actual.sort_unstable();
    actual.dedup();
    let mut expected: Vec<u32> = ctx
        .group
        .iter()
        .flatten()
        .filter(|g| g.members.contains(&user.name) && g.gid != ctx.gid)
        .map(|g| g.gid)
        .collect();
    expected.sort_unstable();
    expected.dedup();
    if actual == expected {
        Verdict::pass(format!(
            "additional gids {actual:?}: the groups of /etc/group listing `{}`",
            user.name
        ))
    } else if actual.is_empty() {
        Verdict::not_applicable(format!(
            "no additional gids, /etc/group lists `{}` in {expected:?}: right only if a group \
             was given",
            user.name
        ))
    } else {
        Verdict::fail(format!(
            "additional gids {actual:?}, but /etc/group lists `{}` in {expected:?}",
            user.name
        ))
    }
}
