//! Bounded costs: every input an image or a caller controls is checked against a limit before
//! anything is written, so that no image makes the engine (or the runtime after it) take
//! unbounded time or memory, and an input that would fail later fails early, naming the limit.
//!
//! | what | limit | why |
//! |---|---|---|
//! | one image file read (`/etc/passwd`, `/etc/group`) | [`crate::rootfs::DEFAULT_READ_LIMIT`] | read whole into memory |
//! | `Env` entries | [`MAX_ENV_ENTRIES`] | runc handles each one; 100,000 took over 30 s (measured) |
//! | one argument or `KEY=value` string | [`MAX_ARG_STRLEN`] | execve(2) refuses longer ones (E2BIG) |
//! | all arguments and environment together | [`MAX_EXEC_BYTES`] | execve(2) refuses more than a quarter of the stack limit (E2BIG) |
//! | supplementary groups | [`MAX_SUPPLEMENTARY_GROUPS`] | the kernel's `NGROUPS_MAX` |
//! | directory nesting walked in an image | [`MAX_WALK_DEPTH`] | one descriptor per level |
//!
//! Identity generation is linear in the size of the image's files (`limits.linear`): names
//! are looked up in sets, never rescanned per candidate.

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::plan::{Item, Plan};

/// At most this many environment variables.
pub const MAX_ENV_ENTRIES: usize = 4096;

/// The longest argument or `KEY=value` string execve(2) accepts, terminating NUL included
/// (`MAX_ARG_STRLEN`, 32 pages of 4 KiB: linux/binfmts.h).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// At most this many bytes of arguments and environment together, NULs included: half of what
/// execve(2) accepts under the default 8 MiB stack limit (a quarter of it, 2 MiB), leaving room
/// for what the runtime and the init add.
pub const MAX_EXEC_BYTES: usize = 1024 * 1024;

/// At most this many supplementary groups: the kernel's `NGROUPS_MAX` (linux/limits.h).
pub const MAX_SUPPLEMENTARY_GROUPS: usize = 65536;

/// Directory nesting the engine walks in an image (the ownership check of an unprivileged
/// writable layer) before refusing it: one open descriptor per level, far below the default
/// limit of 1024.
pub const MAX_WALK_DEPTH: usize = 256;

fn too_big(field: &'static str, reason: String) -> Error {
    Error::Limit { field, reason }
}

/// Check the plan's process against the limits above: the number of environment variables,
/// the length of each argument and variable, their total size, the number of supplementary
/// groups. Errors name the field and the limit.
///
/// ```
/// use locald_engine::{limits, plan::{Item, Plan}};
///
/// let mut plan = Plan::default();
/// plan.push(locald_engine::requirement!("process.args"), Item::Args { args: vec!["x".repeat(200_000)] });
/// assert!(limits::check(&plan).unwrap_err().to_string().contains("131072"));
/// ```
#[implements("limits.exec")]
pub fn check(plan: &Plan) -> Result<()> {
    let mut env_count = 0;
    let mut total = 0usize;
    for e in plan.entries() {
        match &e.item {
            Item::Env { key, value } => {
                env_count += 1;
                let len = key.len() + 1 + value.len() + 1;
                if len > MAX_ARG_STRLEN {
                    return Err(too_big(
                        "Env",
                        format!(
                            "{key} is {len} bytes, more than execve(2) accepts ({MAX_ARG_STRLEN})"
                        ),
                    ));
                }
                total += len;
            }
            Item::Args { args } => {
                for (i, a) in args.iter().enumerate() {
                    let len = a.len() + 1;
                    if len > MAX_ARG_STRLEN {
                        return Err(too_big(
                            "args",
                            format!(
                                "argument {i} is {len} bytes, more than execve(2) accepts \
                                 ({MAX_ARG_STRLEN})"
                            ),
                        ));
                    }
                    total += len;
                }
            }
            Item::AdditionalGids { gids } if gids.len() > MAX_SUPPLEMENTARY_GROUPS => {
                return Err(too_big(
                    "User",
                    format!(
                        "the user is in {} supplementary groups, more than the kernel's \
                         NGROUPS_MAX ({MAX_SUPPLEMENTARY_GROUPS})",
                        gids.len()
                    ),
                ));
            }
            _ => {}
        }
    }
    if env_count > MAX_ENV_ENTRIES {
        return Err(too_big(
            "Env",
            format!("{env_count} variables, more than the limit of {MAX_ENV_ENTRIES}"),
        ));
    }
    if total > MAX_EXEC_BYTES {
        return Err(too_big(
            "Env and args",
            format!("{total} bytes together, more than the limit of {MAX_EXEC_BYTES}"),
        ));
    }
    Ok(())
}

/// The largest image configuration file the engine reads.
pub const MAX_IMAGE_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// The largest seccomp profile file the engine reads (`--security-opt seccomp=PATH`): Docker's
/// default profile is 13 KB, one rule for each of the kernel's 450-odd system calls would be a
/// few hundred.
pub const MAX_SECCOMP_PROFILE_BYTES: u64 = 1024 * 1024;

/// Read a file the caller names: opened without blocking (a FIFO would otherwise hang the
/// engine), refused unless a regular file of at most `limit` bytes (a device such as
/// `/dev/zero`, or a huge file, would otherwise be read into memory until it ran out). The
/// error is the reason alone; the caller names the file.
#[implements("limits.input-files")]
pub(crate) fn read_input_file(
    path: &std::path::Path,
    limit: u64,
) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, nix_nonblock());
    let f = o.open(path).map_err(|e| e.to_string())?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limit {
        return Err(format!(
            "{} bytes, more than the limit of {limit}",
            meta.len()
        ));
    }
    let mut text = Vec::new();
    // Bounded again: the file may grow between the stat and the read.
    f.take(limit + 1)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > limit {
        return Err(format!("more than the limit of {limit} bytes"));
    }
    Ok(text)
}

/// Read an OCI image configuration from `path` ([`read_input_file`]: a regular file of at most
/// [`MAX_IMAGE_CONFIG_BYTES`]), parsed with errors naming the line and column. The fields the
/// image-spec requires but the engine does not use (`architecture`, `os`, `rootfs`) may be left
/// out: `{"config": {"Cmd": ["sh"]}}` is a valid minimal configuration.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let p = dir.path().join("c.json");
/// std::fs::write(&p, r#"{"config": {"Cmd": ["sh"]}}"#)?;
/// let image = locald_engine::limits::read_image_config(&p)?;
/// assert_eq!(image.config().as_ref().unwrap().cmd().as_deref(), Some(&["sh".to_string()][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[implements("limits.input-files")]
pub fn read_image_config(path: &std::path::Path) -> Result<oci_spec::image::ImageConfiguration> {
    let bad = |reason: String| Error::ImageConfigFile {
        path: path.to_owned(),
        reason,
    };
    let text = read_input_file(path, MAX_IMAGE_CONFIG_BYTES).map_err(bad)?;
    let mut v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("line {}, column {}: {e}", e.line(), e.column())))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(bad("not a JSON object".into()));
    };
    obj.entry("architecture").or_insert_with(|| "amd64".into());
    obj.entry("os").or_insert_with(|| "linux".into());
    obj.entry("rootfs")
        .or_insert_with(|| serde_json::json!({"type": "layers", "diff_ids": []}));
    // Through the value with the defaults added, so no line and column: the field's path
    // (`config.Cmd`) says where instead.
    serde_path_to_error::deserialize(v).map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))
}

#[cfg(unix)]
fn nix_nonblock() -> i32 {
    #[cfg(target_os = "linux")]
    return nix::libc::O_NONBLOCK;
    #[cfg(not(target_os = "linux"))]
    0o4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirement;
    use locald_spec_macros::verifies;
    use std::path::Path;

    fn plan(items: Vec<Item>) -> Plan {
        let mut p = Plan::default();
        for i in items {
            p.push(requirement!("process.args"), i);
        }
        p
    }

    fn env(n: usize, value_len: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item::Env {
                key: format!("K{i}"),
                value: "v".repeat(value_len),
            })
            .collect()
    }

    #[test]
    #[verifies("limits.exec")]
    fn env_count_is_bounded() {
        check(&plan(env(MAX_ENV_ENTRIES, 1))).unwrap();
        let err = check(&plan(env(MAX_ENV_ENTRIES + 1, 1))).unwrap_err();
        assert!(matches!(err, Error::Limit { field: "Env", .. }), "{err}");
        assert!(err.to_string().contains("4096"), "{err}");
    }

    #[test]
    #[verifies("limits.exec")]
    fn one_string_is_bounded_like_execve() {
        // "K0=" + value + NUL = MAX_ARG_STRLEN exactly: accepted.
        check(&plan(env(1, MAX_ARG_STRLEN - 4))).unwrap();
        let err = check(&plan(env(1, MAX_ARG_STRLEN - 3))).unwrap_err();
        assert!(err.to_string().contains("K0"), "{err}");
        let err = check(&plan(vec![Item::Args {
            args: vec!["sh".into(), "x".repeat(MAX_ARG_STRLEN)],
        }]))
        .unwrap_err();
        assert!(err.to_string().contains("argument 1"), "{err}");
    }

    #[test]
    #[verifies("limits.exec")]
    fn the_total_is_bounded() {
        // 16 values of 64 KiB: each fits, together they exceed 1 MiB.
        let err = check(&plan(env(16, 64 * 1024))).unwrap_err();
        assert_eq!(err.field(), Some("Env and args"), "{err}");
        check(&plan(env(15, 64 * 1024))).unwrap();
    }

    #[test]
    #[verifies("limits.exec")]
    fn supplementary_groups_are_bounded_by_ngroups_max() {
        let gids = |n: usize| Item::AdditionalGids {
            gids: (0..n as u32).collect(),
        };
        check(&plan(vec![gids(MAX_SUPPLEMENTARY_GROUPS)])).unwrap();
        let err = check(&plan(vec![gids(MAX_SUPPLEMENTARY_GROUPS + 1)])).unwrap_err();
        assert!(err.to_string().contains("NGROUPS_MAX"), "{err}");
    }

    /// A FIFO (opened without a writer, so a blocking open would hang), a device whose reads
    /// never end, a directory and a file over the limit are refused without being read; a file
    /// at the limit is read whole.
    #[test]
    #[verifies("limits.input-files")]
    fn input_files_must_be_regular_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let err = read_input_file(path, 1024).unwrap_err();
            assert_eq!(err, "not a regular file", "{}", path.display());
        }
        let big = dir.path().join("big");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(1025).unwrap();
        let err = read_input_file(&big, 1024).unwrap_err();
        assert!(
            err.starts_with("1025 bytes, more than the limit of 1024"),
            "{err}"
        );
        f.set_len(1024).unwrap();
        assert_eq!(read_input_file(&big, 1024).unwrap().len(), 1024);
    }

    /// A value of the wrong type is refused naming the field's path, which the value the
    /// defaults are added to cannot give as a line.
    #[test]
    #[verifies("limits.input-files")]
    fn a_wrong_type_in_the_image_configuration_names_the_field() {
        let dir = tempfile::tempdir().unwrap();
        for (text, field) in [
            (
                "{\"config\": {\n  \"Cmd\": \"id\"}}",
                "config.Cmd: invalid type",
            ),
            (
                "{\"config\": {\"Env\": {\"A\": \"1\"}}}",
                "config.Env: invalid type",
            ),
            ("{\"rootfs\": \"x\"}", "rootfs: invalid type"),
        ] {
            let p = dir.path().join("c.json");
            std::fs::write(&p, text).unwrap();
            let err = read_image_config(&p).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
    }
}
