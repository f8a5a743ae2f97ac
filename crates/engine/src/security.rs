//! Security defaults: capabilities, no_new_privileges, masked and read-only paths, the device
//! rule, and the seccomp filter ([`seccomp`]).
//!
//! The capabilities are Podman's default set, what real images need as root (`chown`, switching
//! user), in the bounding, effective and permitted sets only. The rest is `runc spec`'s default,
//! which Docker, Podman and containerd share: no_new_privileges; the kernel interfaces under
//! /proc and /sys that leak host data masked, the /proc tunables read-only; and a device cgroup
//! that denies everything runc does not explicitly allow.

use locald_spec_macros::implements;

use crate::duties::Context;
use crate::error::Result;
use crate::plan::{Item, Plan};
use crate::requirement;

pub mod capabilities;
pub mod seccomp;

/// Default capabilities: Podman's set (containers/common `DefaultCapabilities`), Docker's
/// less NET_RAW, MKNOD and AUDIT_WRITE. They go in the bounding, effective and permitted sets
/// only: not inheritable (CVE-2022-29162 removed it from runc's and Docker's defaults) and not
/// ambient, so a non-root workload does not gain them.
#[implements("security.capabilities.default")]
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// What Docker grants beyond [`DEFAULT_CAPABILITIES`]: a process with these passes the
/// requirement too (the probe grades other engines by it), but the engine does not grant them.
pub const DOCKER_EXTRA_CAPABILITIES: &[&str] = &["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"];

/// Masked paths: `runc spec`'s list.
#[implements("security.masked-paths")]
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// The masked paths of published side channels, which current Docker, Podman and (powercap)
/// containerd mask beyond `runc spec`'s list; with them, each possible CPU's
/// `thermal_throttle` directory ([`side_channel_masked_paths`]).
#[implements("security.masked-paths.side-channels")]
pub const SIDE_CHANNEL_MASKED_PATHS: &[&str] =
    &["/proc/interrupts", "/sys/devices/virtual/powercap"];

/// Every side-channel path to mask on a host whose possible CPUs are `cpus`: the fixed ones and
/// `/sys/devices/system/cpu/cpuN/thermal_throttle` for each CPU, as moby lists them. runc
/// skips a masked path that does not exist, so listing a CPU without the directory costs
/// nothing.
///
/// ```
/// use locald_engine::security::side_channel_masked_paths;
///
/// let paths = side_channel_masked_paths(&[0, 1]);
/// assert_eq!(paths.last().map(String::as_str), Some("/sys/devices/system/cpu/cpu1/thermal_throttle"));
/// assert_eq!(paths.len(), 4);
/// ```
#[implements("security.masked-paths.side-channels")]
pub fn side_channel_masked_paths(cpus: &[u32]) -> Vec<String> {
    SIDE_CHANNEL_MASKED_PATHS
        .iter()
        .map(|p| (*p).to_owned())
        .chain(
            cpus.iter()
                .map(|c| format!("/sys/devices/system/cpu/cpu{c}/thermal_throttle")),
        )
        .collect()
}

/// Push the side-channel masked paths for the host's possible CPUs.
#[implements("security.masked-paths.side-channels")]
fn plan_side_channel_masks(plan: &mut Plan, cpus: &[u32]) {
    for path in side_channel_masked_paths(cpus) {
        plan.push(
            requirement!("security.masked-paths.side-channels"),
            Item::MaskedPath { path },
        );
    }
}

/// Read-only paths: `runc spec`'s list.
#[implements("security.readonly-paths")]
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Push the default capabilities (each goes into the bounding, effective and permitted sets;
/// see [`Plan::to_spec`]).
#[implements("security.capabilities.default")]
fn plan_capabilities(plan: &mut Plan) {
    for cap in DEFAULT_CAPABILITIES {
        plan.push(
            requirement!("security.capabilities.default"),
            Item::Capability {
                name: (*cap).into(),
            },
        );
    }
}

/// Set no_new_privileges: no execve (setuid binaries, file capabilities) can gain privileges.
#[implements("security.no-new-privileges")]
fn plan_no_new_privileges(plan: &mut Plan) {
    plan.push(
        requirement!("security.no-new-privileges"),
        Item::NoNewPrivileges { enabled: true },
    );
}

/// Push the masked paths (runc bind-mounts /dev/null over files and an empty read-only tmpfs
/// over directories).
#[implements("security.masked-paths")]
fn plan_masked_paths(plan: &mut Plan) {
    for p in MASKED_PATHS {
        plan.push(
            requirement!("security.masked-paths"),
            Item::MaskedPath { path: (*p).into() },
        );
    }
}

/// Push the read-only paths (runc remounts each read-only).
#[implements("security.readonly-paths")]
fn plan_readonly_paths(plan: &mut Plan) {
    for p in READONLY_PATHS {
        plan.push(
            requirement!("security.readonly-paths"),
            Item::ReadonlyPath { path: (*p).into() },
        );
    }
}

/// Push the leading deny-all device rule.
///
/// runc adds its allow-list of default devices after this rule; without the leading deny-all
/// the device cgroup would allow every device. Rootless runc ignores device cgroup rules
/// (measured: accepted, no error).
#[implements("security.devices.deny-all")]
fn plan_device_rule(plan: &mut Plan) {
    plan.push(
        requirement!("security.devices.deny-all"),
        Item::DeviceRule {
            allow: false,
            access: "rwm".into(),
        },
    );
}

/// Push capabilities, no_new_privileges, masked/read-only paths and the device rule.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_security(plan);
    plan_side_channel_masks(plan, &ctx.input.host_files.facts.possible_cpus);
    capabilities::plan_caller_capabilities(plan, ctx.options())?;
    // After every capability is planned: the profile's conditions read them.
    seccomp::plan_seccomp(plan, ctx)
}

/// The security entries, the same for every container.
fn plan_security(plan: &mut Plan) {
    plan_capabilities(plan);
    plan_no_new_privileges(plan);
    plan_masked_paths(plan);
    plan_readonly_paths(plan);
    plan_device_rule(plan);
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    fn planned() -> Plan {
        let mut p = Plan::default();
        plan_security(&mut p);
        p
    }

    fn items_of(p: &Plan, requirement: crate::Requirement) -> Vec<Item> {
        p.entries()
            .iter()
            .filter(|e| e.requirement == requirement)
            .map(|e| e.item.clone())
            .collect()
    }

    #[test]
    #[verifies("security.capabilities.default")]
    fn capabilities_are_podmans_eleven() {
        let caps: Vec<_> = items_of(&planned(), requirement!("security.capabilities.default"))
            .into_iter()
            .map(|i| match i {
                Item::Capability { name } => name,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(caps, DEFAULT_CAPABILITIES);
        for needed in ["CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE"] {
            assert!(caps.iter().any(|c| c == needed), "{needed}");
        }
        for never in DOCKER_EXTRA_CAPABILITIES.iter().chain(&["CAP_SYS_ADMIN"]) {
            assert!(!caps.iter().any(|c| c == never), "{never}");
        }
    }

    #[test]
    #[verifies("security.no-new-privileges")]
    fn no_new_privileges_is_set() {
        assert_eq!(
            items_of(&planned(), requirement!("security.no-new-privileges")),
            [Item::NoNewPrivileges { enabled: true }]
        );
    }

    #[test]
    #[verifies("security.masked-paths", "security.readonly-paths")]
    fn masked_and_readonly_paths_are_runcs_lists() {
        let p = planned();
        let masked: Vec<_> = items_of(&p, requirement!("security.masked-paths"));
        assert_eq!(masked.len(), MASKED_PATHS.len());
        for path in ["/proc/kcore", "/proc/keys", "/sys/firmware"] {
            assert!(
                masked.contains(&Item::MaskedPath { path: path.into() }),
                "{path}"
            );
        }
        let readonly: Vec<_> = items_of(&p, requirement!("security.readonly-paths"));
        assert_eq!(readonly.len(), READONLY_PATHS.len());
        for path in ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus"] {
            assert!(
                readonly.contains(&Item::ReadonlyPath { path: path.into() }),
                "{path}"
            );
        }
    }

    #[test]
    #[verifies("security.masked-paths.side-channels")]
    fn side_channels_are_masked_for_every_possible_cpu() {
        let mut p = Plan::default();
        plan_side_channel_masks(&mut p, &[0, 1, 3]);
        let paths: Vec<_> = items_of(&p, requirement!("security.masked-paths.side-channels"))
            .into_iter()
            .map(|i| match i {
                Item::MaskedPath { path } => path,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            paths,
            [
                "/proc/interrupts",
                "/sys/devices/virtual/powercap",
                "/sys/devices/system/cpu/cpu0/thermal_throttle",
                "/sys/devices/system/cpu/cpu1/thermal_throttle",
                "/sys/devices/system/cpu/cpu3/thermal_throttle",
            ]
        );
        let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
        assert_eq!(json["linux"]["maskedPaths"], serde_json::json!(paths));
        // None of them is in runc spec's list, which stays as it was.
        assert!(paths.iter().all(|p| !MASKED_PATHS.contains(&p.as_str())));
    }

    #[test]
    #[verifies("security.devices.deny-all")]
    fn device_rule_denies_all() {
        assert_eq!(
            items_of(&planned(), requirement!("security.devices.deny-all")),
            [Item::DeviceRule {
                allow: false,
                access: "rwm".into()
            }]
        );
    }

    #[test]
    #[verifies(
        "security.capabilities.default",
        "security.no-new-privileges",
        "security.masked-paths",
        "security.readonly-paths",
        "security.devices.deny-all"
    )]
    fn spec_carries_the_security_defaults() {
        let json = serde_json::to_value(planned().to_spec().unwrap()).unwrap();
        let caps = &json["process"]["capabilities"];
        for set in ["bounding", "effective", "permitted"] {
            let mut got: Vec<_> = caps[set]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            got.sort_unstable();
            assert_eq!(got, DEFAULT_CAPABILITIES, "{set}");
        }
        assert!(caps.get("inheritable").is_none(), "{caps}");
        assert!(caps.get("ambient").is_none(), "{caps}");
        assert_eq!(json["process"]["noNewPrivileges"], true);
        assert_eq!(
            json["linux"]["maskedPaths"],
            serde_json::json!(MASKED_PATHS)
        );
        assert_eq!(
            json["linux"]["readonlyPaths"],
            serde_json::json!(READONLY_PATHS)
        );
        assert_eq!(
            json["linux"]["resources"]["devices"],
            serde_json::json!([{ "allow": false, "access": "rwm" }])
        );
    }
}
