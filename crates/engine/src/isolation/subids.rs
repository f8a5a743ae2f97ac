//! Subordinate ids: the ranges of host ids an administrator delegated to a user in
//! `/etc/subuid` and `/etc/subgid` (subuid(5)), mapped into a user namespace the user creates
//! through the setuid helpers newuidmap(1) and newgidmap(1).
//!
//! The layout is rootless Podman's (podman-unshare(1)): the user's own uid and gid are the
//! container's 0, the `N` ids of its first range the container's 1 to `N`. An unprivileged
//! process can write only its own id into `uid_map` (user_namespaces(7)); the helpers check
//! the delegation and write the rest. newgidmap leaves `setgroups` allowed when a range comes
//! from `/etc/subgid`, so the workload can switch groups as well as users.

use std::path::{Path, PathBuf};
#[cfg(all(target_os = "linux", feature = "runc"))]
use std::process::Command;

use locald_spec_macros::implements;

#[cfg(all(target_os = "linux", feature = "runc"))]
use crate::error::{Error, Result};
#[cfg(all(target_os = "linux", feature = "runc"))]
use crate::options::IdMapping;
use crate::options::SubordinateIds;

/// The subordinate uid file.
pub const SUBUID_FILE: &str = "/etc/subuid";
/// The subordinate gid file.
pub const SUBGID_FILE: &str = "/etc/subgid";
/// The helper that writes a uid map with subordinate uids.
pub const NEWUIDMAP: &str = "newuidmap";
/// The helper that writes a gid map with subordinate gids.
pub const NEWGIDMAP: &str = "newgidmap";

/// What to do to get subordinate ids, for messages.
pub const HOW_TO_GET_RANGES: &str = "give your user subordinate ids (as root: usermod \
    --add-subuids 100000-165535 --add-subgids 100000-165535 USER) and install newuidmap and \
    newgidmap (Debian: apt-get install uidmap)";

/// The first range of subuid(5)-formatted `text` that names the user (by `name` or by `uid`):
/// `(first id, count)`. Malformed lines and empty ranges are skipped, as the helpers do.
///
/// ```
/// use locald_engine::isolation::subids::first_range;
///
/// let text = "alice:100000:65536\n1001:200000:1000\n";
/// assert_eq!(first_range(text, Some("alice"), 1000), Some((100000, 65536)));
/// assert_eq!(first_range(text, Some("bob"), 1001), Some((200000, 1000)));
/// assert_eq!(first_range(text, Some("carol"), 1002), None);
/// ```
#[implements("isolation.namespaces.user-ranges")]
pub fn first_range(text: &str, name: Option<&str>, uid: u32) -> Option<(u32, u32)> {
    let uid = uid.to_string();
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if f.next().is_some() || (Some(who) != name && who != uid) {
            return None;
        }
        let (start, count): (u32, u32) = (start.parse().ok()?, count.parse().ok()?);
        // The container's ids run 1..=count: keep them below (uid_t)-1.
        let count = count.min(u32::MAX - 1);
        (count > 0 && start.checked_add(count - 1).is_some()).then_some((start, count))
    })
}

/// The user's subordinate ids from the two files' texts: `None` unless both give a range.
///
/// ```
/// use locald_engine::isolation::subids::from_files;
///
/// let ids = from_files("me:100000:65536\n", "me:100000:65536\n", Some("me"), 1000).unwrap();
/// assert_eq!((ids.uid_start, ids.gid_count), (100000, 65536));
/// assert!(from_files("me:100000:65536\n", "", Some("me"), 1000).is_none());
/// ```
pub fn from_files(
    subuid: &str,
    subgid: &str,
    name: Option<&str>,
    uid: u32,
) -> Option<SubordinateIds> {
    let (uid_start, uid_count) = first_range(subuid, name, uid)?;
    let (gid_start, gid_count) = first_range(subgid, name, uid)?;
    Some(SubordinateIds {
        uid_start,
        uid_count,
        gid_start,
        gid_count,
    })
}

/// The helper `name` (newuidmap, newgidmap): on `PATH`, else in `/usr/bin`, where Debian's
/// `uidmap` installs it (the engine may run with a `PATH` that lacks it).
pub fn helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| is_setuid_executable(p))
}

/// Whether `p` is a setuid executable file: the helpers do nothing useful otherwise.
fn is_setuid_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o4111 == 0o4111)
}

/// The calling user's subordinate ids: its (real uid's) ranges in both files, when both
/// helpers are installed; `None` otherwise, and the engine keeps the single mapping.
#[cfg(target_os = "linux")]
pub fn current_user() -> Option<SubordinateIds> {
    helper(NEWUIDMAP)?;
    helper(NEWGIDMAP)?;
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    from_files(
        &std::fs::read_to_string(SUBUID_FILE).ok()?,
        &std::fs::read_to_string(SUBGID_FILE).ok()?,
        name.as_deref(),
        uid.as_raw(),
    )
}

/// The calling user's subordinate ids: none off Linux, where the engine creates no user
/// namespace.
#[cfg(not(target_os = "linux"))]
pub fn current_user() -> Option<SubordinateIds> {
    None
}

/// The helpers' arguments for process `pid`: `PID 0 OWN 1 1 START COUNT`.
#[cfg(all(target_os = "linux", feature = "runc"))]
fn helper_args(pid: i32, own: u32, start: u32, count: u32) -> Vec<String> {
    let mut args = vec![pid.to_string()];
    args.extend([0, own, 1, 1, start, count].map(|n| n.to_string()));
    args
}

/// Run one helper; its failure is an error carrying what it printed.
#[cfg(all(target_os = "linux", feature = "runc"))]
fn run_helper(name: &'static str, args: &[String]) -> Result<()> {
    let path = helper(name).ok_or_else(|| {
        Error::io(
            name,
            "find",
            std::io::Error::other(format!("{name} is not installed; {HOW_TO_GET_RANGES}")),
        )
    })?;
    let out = Command::new(&path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io(&path, "run", e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::io(
        &path,
        "run",
        std::io::Error::other(format!(
            "{} ({})",
            String::from_utf8_lossy(&out.stderr).trim(),
            out.status
        )),
    ))
}

/// Write the maps of process `pid`'s new user namespace with the helpers: the caller's ids
/// to 0, the subordinate ranges to 1..=N.
#[cfg(all(target_os = "linux", feature = "runc"))]
#[implements("isolation.namespaces.user-ranges", "filesystems.layer.unprivileged")]
pub(crate) fn write_maps(pid: i32, mapping: &IdMapping, sub: &SubordinateIds) -> Result<()> {
    run_helper(
        NEWUIDMAP,
        &helper_args(pid, mapping.host_uid, sub.uid_start, sub.uid_count),
    )?;
    run_helper(
        NEWGIDMAP,
        &helper_args(pid, mapping.host_gid, sub.gid_start, sub.gid_count),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    #[test]
    #[verifies("isolation.namespaces.user-ranges")]
    fn the_first_range_of_the_user_by_name_or_uid() {
        let text = "# comment\nbad line\nalice:x:5\nalice:100000:0\nalice:100000:65536\n\
                    alice:300000:10\n4242:500000:7\n";
        assert_eq!(first_range(text, Some("alice"), 1), Some((100000, 65536)));
        assert_eq!(first_range(text, None, 4242), Some((500000, 7)));
        assert_eq!(first_range(text, Some("alic"), 1), None);
        // A range that would run past the last id is not one.
        assert_eq!(first_range("u:4294967295:2\n", Some("u"), 1), None);
        assert_eq!(
            first_range("u:0:4294967295\n", Some("u"), 1),
            Some((0, u32::MAX - 1))
        );
    }

    #[test]
    #[cfg(feature = "runc")]
    #[verifies("isolation.namespaces.user-ranges")]
    fn helper_arguments_map_the_caller_to_0_and_the_range_above() {
        assert_eq!(
            helper_args(77, 1001, 100000, 65536),
            ["77", "0", "1001", "1", "1", "100000", "65536"]
        );
        assert_eq!(helper_args(77, 1001, 3_000_000_000, 5)[5], "3000000000");
    }
}
