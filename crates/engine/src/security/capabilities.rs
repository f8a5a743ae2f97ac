//! The caller's capability changes (`--cap-add`, `--cap-drop`), applied to the default set the
//! way Docker's `TweakCapabilities` does (moby `oci/caps/utils.go`).
//!
//! Names are normalized as Docker normalizes them (any case, `CAP_` prefix optional) and must be
//! capabilities(7) names; `ALL` stands for every one. Only the bounding, effective and permitted
//! sets change: the inheritable and ambient sets stay empty whatever is added
//! ([`crate::spec`]), so an added capability serves only a root process (CVE-2022-29162).

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::options::RunOptions;
use crate::plan::{Item, Plan};
use crate::requirement;

/// The name that stands for every capability (`--cap-add ALL`, `--cap-drop ALL`).
pub const ALL: &str = "ALL";

/// Every capability capabilities(7) lists, up to Linux 5.9's `CAP_CHECKPOINT_RESTORE`. The
/// runtime skips those the running kernel lacks (runc logs "ignoring unknown or unavailable
/// capabilities").
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability name as the caller may type it (`net_raw`, `NET_RAW`, `CAP_NET_RAW`, `ALL`),
/// normalized to its capabilities(7) name (or `ALL`); an unknown one is an error naming it.
///
/// ```
/// use locald_engine::security::capabilities::normalize;
///
/// assert_eq!(normalize("net_raw").unwrap(), "CAP_NET_RAW");
/// assert_eq!(normalize("CAP_CHOWN").unwrap(), "CAP_CHOWN");
/// assert_eq!(normalize("all").unwrap(), "ALL");
/// assert!(normalize("NET_RAWW").unwrap_err().contains("CAP_NET_RAWW"));
/// ```
#[implements("security.capabilities.caller")]
pub fn normalize(name: &str) -> std::result::Result<String, String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == ALL {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if ALL_CAPABILITIES.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(format!(
            "unknown capability {full:?} (capabilities(7) names it, e.g. NET_RAW or CAP_NET_RAW; \
             ALL for every one)"
        ))
    }
}

/// Every name of `names` normalized; the first unknown one is an error of option `field`.
fn normalize_all(names: &[String], field: &'static str) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| normalize(n).map_err(|reason| Error::InvalidOption { field, reason }))
        .collect()
}

/// The capabilities after the caller's changes, from `defaults`: Docker's three cases (`ALL`
/// added: every capability but the dropped ones; `ALL` dropped: only the added ones; else the
/// defaults less the dropped ones, plus the added ones), each name once. Each comes with
/// whether the caller added it (rather than kept it from the defaults).
///
/// ```
/// use locald_engine::security::capabilities::tweak;
///
/// let defaults = ["CAP_CHOWN", "CAP_KILL"];
/// let caps = tweak(&defaults, &["NET_RAW".into()], &["chown".into()])?;
/// assert_eq!(caps, [("CAP_KILL".to_string(), false), ("CAP_NET_RAW".to_string(), true)]);
/// let caps = tweak(&defaults, &["KILL".into()], &["ALL".into()])?;
/// assert_eq!(caps, [("CAP_KILL".to_string(), true)]);
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("security.capabilities.caller")]
pub fn tweak(defaults: &[&str], add: &[String], drop: &[String]) -> Result<Vec<(String, bool)>> {
    let add = normalize_all(add, "cap_add")?;
    let drop = normalize_all(drop, "cap_drop")?;
    let dropped = |c: &str| drop.iter().any(|d| d == c);
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut put = |c: &str, added: bool| {
        if !out.iter().any(|(have, _)| have == c) {
            out.push((c.to_owned(), added));
        }
    };
    if add.iter().any(|a| a == ALL) {
        for c in ALL_CAPABILITIES.iter().filter(|c| !dropped(c)) {
            put(c, !defaults.contains(c));
        }
    } else if dropped(ALL) {
        for c in &add {
            put(c, true);
        }
    } else {
        for c in defaults.iter().filter(|c| !dropped(c)) {
            put(c, false);
        }
        for c in &add {
            put(c, !defaults.contains(&c.as_str()) || dropped(c));
        }
    }
    Ok(out)
}

/// Replace the planned default capabilities by the caller's set, when the caller changed it:
/// the kept defaults stay entries of `security.capabilities.default`, the added ones become
/// entries of `security.capabilities.caller`. Other duties' capabilities (the nested user
/// namespace's `CAP_SETFCAP`, for the init) are left alone.
#[implements("security.capabilities.caller")]
pub(crate) fn plan_caller_capabilities(plan: &mut Plan, opts: &RunOptions) -> Result<()> {
    if opts.cap_add.is_empty() && opts.cap_drop.is_empty() {
        return Ok(());
    }
    let caps = tweak(super::DEFAULT_CAPABILITIES, &opts.cap_add, &opts.cap_drop)?;
    let default = requirement!("security.capabilities.default");
    plan.entries_mut()
        .retain(|e| !(e.requirement == default && matches!(e.item, Item::Capability { .. })));
    for (name, added) in caps {
        let requirement = if added {
            requirement!("security.capabilities.caller")
        } else {
            default
        };
        plan.push(requirement, Item::Capability { name });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    fn names(caps: &[(String, bool)]) -> Vec<&str> {
        caps.iter().map(|(c, _)| c.as_str()).collect()
    }

    #[test]
    #[verifies("security.capabilities.caller")]
    fn docker_rules_for_add_and_drop() {
        let d = super::super::DEFAULT_CAPABILITIES;
        // Nothing asked: the defaults, unchanged.
        assert_eq!(names(&tweak(d, &[], &[]).unwrap()), d);
        // Drop one, add one.
        let caps = tweak(d, &["net_raw".into()], &["CAP_CHOWN".into()]).unwrap();
        assert!(!names(&caps).contains(&"CAP_CHOWN"));
        assert_eq!(caps.last().unwrap(), &("CAP_NET_RAW".to_string(), true));
        // ALL added: every capability but the dropped ones.
        let caps = tweak(d, &["ALL".into()], &["SYS_ADMIN".into()]).unwrap();
        assert_eq!(caps.len(), ALL_CAPABILITIES.len() - 1);
        assert!(!names(&caps).contains(&"CAP_SYS_ADMIN"));
        // ALL dropped: only the added ones.
        let caps = tweak(d, &["NET_BIND_SERVICE".into()], &["all".into()]).unwrap();
        assert_eq!(caps, [("CAP_NET_BIND_SERVICE".to_string(), true)]);
        // Added and dropped both: added after the drop, as Docker does.
        let caps = tweak(d, &["KILL".into()], &["KILL".into()]).unwrap();
        assert!(caps.contains(&("CAP_KILL".to_string(), true)));
        // A default added again is listed once, kept.
        let caps = tweak(d, &["CHOWN".into()], &[]).unwrap();
        assert_eq!(names(&caps), d);
    }

    #[test]
    #[verifies("security.capabilities.caller")]
    fn an_unknown_name_is_an_error_naming_it() {
        let err = tweak(&[], &["NET_RAWW".into()], &[]).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { field: "cap_add", reason } if reason.contains("\"CAP_NET_RAWW\"")),
            "{err}"
        );
        let err = tweak(&[], &[], &["bogus".into()]).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidOption {
                    field: "cap_drop",
                    ..
                }
            ),
            "{err}"
        );
        // Every listed name is one oci-spec (and so config.json) accepts.
        for c in ALL_CAPABILITIES {
            serde_json::from_value::<oci_spec::runtime::Capability>(c.into())
                .unwrap_or_else(|e| panic!("{c}: {e}"));
        }
    }

    #[test]
    #[verifies("security.capabilities.caller", "security.no-new-privileges")]
    fn the_spec_keeps_inheritable_and_ambient_empty_and_no_new_privileges() {
        let mut plan = Plan::default();
        super::super::plan_security(&mut plan);
        let opts = RunOptions {
            cap_add: vec!["ALL".into()],
            ..Default::default()
        };
        plan_caller_capabilities(&mut plan, &opts).unwrap();
        let json = serde_json::to_value(plan.to_spec().unwrap()).unwrap();
        let caps = &json["process"]["capabilities"];
        assert_eq!(
            caps["bounding"].as_array().unwrap().len(),
            ALL_CAPABILITIES.len()
        );
        assert!(caps.get("inheritable").is_none() && caps.get("ambient").is_none());
        assert_eq!(json["process"]["noNewPrivileges"], true);
        assert!(plan.entries().iter().any(|e| e.requirement
            == requirement!("security.capabilities.caller")
            && e.item
                == Item::Capability {
                    name: "CAP_SYS_ADMIN".into()
                }));
    }
}
