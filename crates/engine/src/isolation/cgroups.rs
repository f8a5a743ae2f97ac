//! The container's control group: the caller's `linux.cgroupsPath`, checked and written
//! unchanged (`isolation.cgroups-path`).

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::options::RunOptions;
use crate::plan::{Item, Plan};
use crate::requirement;

/// Check a cgroups path: not empty, no NUL, no `.` or `..` component (it could then name a
/// group outside the caller's hierarchy), and no empty component in an absolute path. The
/// systemd driver's `slice:prefix:name` form has no `/` and passes as it is.
///
/// ```
/// use locald_engine::isolation::check_cgroups_path;
///
/// assert!(check_cgroups_path("/locald/web").is_ok());
/// assert!(check_cgroups_path("locald.slice:locald:web").is_ok());
/// assert!(check_cgroups_path("/locald/../system.slice").is_err());
/// assert!(check_cgroups_path("").is_err());
/// ```
#[implements("isolation.cgroups-path")]
pub fn check_cgroups_path(path: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidOption {
        field: "cgroups_path",
        reason: format!("{path:?} {reason}"),
    };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.contains('\0') {
        return Err(bad("contains NUL"));
    }
    let rest = path.strip_prefix('/').unwrap_or(path);
    if rest
        .split('/')
        .any(|c| c == "." || c == ".." || (path.contains('/') && c.is_empty()))
    {
        return Err(bad(
            "has an empty, `.` or `..` component; give the group's path as it is",
        ));
    }
    Ok(())
}

/// Push the caller's cgroups path, if any.
#[implements("isolation.cgroups-path")]
pub(crate) fn plan_cgroups_path(plan: &mut Plan, opts: &RunOptions) -> Result<()> {
    if let Some(path) = &opts.cgroups_path {
        check_cgroups_path(path)?;
        plan.push(
            requirement!("isolation.cgroups-path"),
            Item::CgroupsPath { path: path.clone() },
        );
    }
    Ok(())
}
