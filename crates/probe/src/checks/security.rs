//! security.md: capabilities, `no_new_privs`, masked and read-only paths, the device cgroup,
//! the seccomp filter.

use std::path::Path;

use locald_spec_macros::verifies;
use nix::unistd::AccessFlags;

use super::{Ctx, read};
use crate::Verdict;
use crate::parse::{self, Mount};

/// The capabilities security.capabilities.default asks for at least (Podman's default set).
pub const DEFAULT_CAPS: [&str; 11] = [
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

/// What the requirement allows beyond [`DEFAULT_CAPS`]: the rest of Docker's default set.
pub const ALLOWED_EXTRA_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"];

#[verifies("security.capabilities.default")]
pub(super) fn capabilities(ctx: &Ctx) -> Verdict {
    let need = parse::caps_to_mask(&DEFAULT_CAPS);
    let allowed = need | parse::caps_to_mask(&ALLOWED_EXTRA_CAPS);
    let mut bad = Vec::new();
    let mut seen = Vec::new();
    for (key, (low, high)) in [
        ("CapBnd", (need, allowed)),
        ("CapEff", (need, allowed)),
        ("CapPrm", (need, allowed)),
        ("CapInh", (0, 0)),
        ("CapAmb", (0, 0)),
    ] {
        match ctx.status.get(key).and_then(|v| parse::cap_mask(v)) {
            Some(m) if m & low == low && m & !high == 0 => seen.push(format!("{key}={m:x}")),
            Some(m) => {
                let extra = parse::cap_names(m & !high);
                let lacking = parse::cap_names(low & !m);
                bad.push(format!(
                    "{key}={m:016x} (beyond Docker's set: {}; missing: {})",
                    if extra.is_empty() {
                        "-".into()
                    } else {
                        extra.join(",")
                    },
                    if lacking.is_empty() {
                        "-".into()
                    } else {
                        lacking.join(",")
                    },
                ));
            }
            None => bad.push(format!("{key} not in /proc/self/status")),
        }
    }
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            format!(
                "{}: at least Podman's eleven, nothing beyond Docker's fourteen; inheritable, \
                 ambient empty",
                seen.join(" ")
            )
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("security.no-new-privileges")]
pub(super) fn no_new_privileges(ctx: &Ctx) -> Verdict {
    match ctx.status.get("NoNewPrivs").map(String::as_str) {
        Some("1") => Verdict::pass("NoNewPrivs: 1"),
        Some(v) => Verdict::fail(format!("NoNewPrivs: {v}")),
        None => Verdict::fail("NoNewPrivs not in /proc/self/status"),
    }
}

/// The paths of security.masked-paths.
pub const MASKED_PATHS: [&str; 10] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

#[verifies("security.masked-paths")]
pub(super) fn masked_paths(ctx: &Ctx) -> Verdict {
    masked_verdict(ctx, &MASKED_PATHS)
}

/// The fixed paths of security.masked-paths.side-channels.
pub const SIDE_CHANNEL_PATHS: [&str; 2] = ["/proc/interrupts", "/sys/devices/virtual/powercap"];

/// The per-CPU `thermal_throttle` directories the container can see (as Podman globs them on
/// the host).
fn thermal_throttle_paths() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") else {
        return Vec::new();
    };
    let mut paths: Vec<String> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix("cpu")?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("/sys/devices/system/cpu/{name}/thermal_throttle"))
        })
        .filter(|p| Path::new(p).exists())
        .collect();
    paths.sort();
    paths
}

#[verifies("security.masked-paths.side-channels")]
pub(super) fn masked_side_channels(ctx: &Ctx) -> Verdict {
    let mut paths: Vec<String> = SIDE_CHANNEL_PATHS.iter().map(|p| (*p).to_owned()).collect();
    paths.extend(thermal_throttle_paths());
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    masked_verdict(ctx, &refs)
}

/// Each of `paths` that exists is mounted over and yields nothing; those that do not exist are
/// listed as absent (runc skips them).
fn masked_verdict(ctx: &Ctx, paths: &[&str]) -> Verdict {
    let mut masked = Vec::new();
    let mut absent = Vec::new();
    let mut bad = Vec::new();
    for &path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                absent.push(path);
                continue;
            }
            // Unreadable metadata: nothing can be read from it either.
            Err(_) => {
                masked.push(path);
                continue;
            }
        };
        let mounted_over = ctx.mount(path).is_some();
        let yields_nothing = if meta.is_dir() {
            std::fs::read_dir(path).map_or(true, |mut d| d.next().is_none())
        } else {
            use std::io::Read;
            std::fs::File::open(path).map_or(true, |mut f| {
                let mut buf = [0u8; 1];
                f.read(&mut buf).map_or(true, |n| n == 0)
            })
        };
        if mounted_over && yields_nothing {
            masked.push(path);
        } else {
            bad.push(format!(
                "{path} {}",
                if yields_nothing {
                    "is not mounted over"
                } else {
                    "is readable"
                }
            ));
        }
    }
    if bad.is_empty() {
        Verdict::pass(format!(
            "masked: {}; absent: {}",
            masked.join(" "),
            if absent.is_empty() {
                "-".into()
            } else {
                absent.join(" ")
            }
        ))
    } else {
        Verdict::fail(bad.join("; "))
    }
}

/// The paths of security.readonly-paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[verifies("security.readonly-paths")]
pub(super) fn readonly_paths(ctx: &Ctx) -> Verdict {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for path in READONLY_PATHS {
        if !Path::new(path).exists() {
            continue;
        }
        // The mount must be read-only; access(2) must refuse writing (without writing: a
        // writable /proc/sysrq-trigger would act on the host).
        let ro = ctx.mount(path).is_some_and(Mount::read_only);
        let writable = nix::unistd::access(path, AccessFlags::W_OK).is_ok();
        if ro && !writable {
            ok.push(path);
        } else {
            bad.push(format!(
                "{path}: {}{}",
                if ro {
                    "read-only mount"
                } else {
                    "no read-only mount of its own"
                },
                if writable { ", writable" } else { "" }
            ));
        }
    }
    Verdict::from_bool(
        bad.is_empty(),
        if bad.is_empty() {
            format!("read-only: {}", ok.join(" "))
        } else {
            bad.join("; ")
        },
    )
}

#[verifies("security.devices.deny-all")]
pub(super) fn devices_cgroup(ctx: &Ctx) -> Verdict {
    if ctx.in_user_namespace() {
        return Verdict::not_applicable(
            "user namespace: the runtime applies no device cgroup rootless, and no device can \
             be created without CAP_MKNOD in the initial user namespace",
        );
    }
    let list = "/sys/fs/cgroup/devices/devices.list";
    match read(list) {
        Ok(text) => {
            let rules: Vec<&str> = text.lines().collect();
            if rules.contains(&"a *:* rwm") {
                Verdict::fail(format!("{list} allows every device (a *:* rwm)"))
            } else {
                Verdict::pass(format!("{list}: {} allow rules, no a *:* rwm", rules.len()))
            }
        }
        Err(_) => Verdict::not_applicable(
            "no cgroup v1 devices.list (cgroup v2 device rules are eBPF, not observable)",
        ),
    }
}

/// The process runs under a seccomp filter: `Seccomp: 2` (filter mode) in /proc/self/status
/// (proc(5)). Which filter cannot be read back from inside; the engine's tests check that it is
/// Docker's.
#[verifies("security.seccomp.default")]
pub(super) fn seccomp_filter(ctx: &Ctx) -> Verdict {
    seccomp_verdict(
        ctx.status.get("Seccomp").map(String::as_str),
        ctx.status.get("Seccomp_filters").map(String::as_str),
    )
}

fn seccomp_verdict(mode: Option<&str>, filters: Option<&str>) -> Verdict {
    let filters = filters.map_or(String::new(), |n| format!(", Seccomp_filters: {n}"));
    match mode {
        Some("2") => Verdict::pass(format!("Seccomp: 2 (filter mode){filters}")),
        Some("0") => Verdict::fail(format!("Seccomp: 0: no seccomp filter{filters}")),
        Some(v) => Verdict::fail(format!("Seccomp: {v}, not filter mode (2){filters}")),
        None => Verdict::fail("no Seccomp field in /proc/self/status (a kernel without seccomp)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_modes() {
        use crate::Outcome;
        assert_eq!(seccomp_verdict(Some("2"), Some("1")).outcome, Outcome::Pass);
        assert_eq!(seccomp_verdict(Some("0"), Some("0")).outcome, Outcome::Fail);
        assert_eq!(seccomp_verdict(Some("1"), None).outcome, Outcome::Fail);
        assert_eq!(seccomp_verdict(None, None).outcome, Outcome::Fail);
        assert!(
            seccomp_verdict(Some("2"), Some("1"))
                .detail
                .contains("Seccomp_filters: 1")
        );
    }

    #[test]
    fn default_caps_mask() {
        assert_eq!(parse::caps_to_mask(&DEFAULT_CAPS), 0x8004_05fb);
    }
}
