//! The process: command, working directory, terminal and resource limits.
//!
//! The argv is the image's `Entrypoint` followed by its `Cmd`, where a caller's args replace
//! `Cmd` only; the working directory is `WorkingDir`, else `/`; a terminal only when asked; and
//! RLIMIT_NOFILE 1024/1024, and the umask 0022. The security defaults that go with the process (capabilities,
//! no_new_privileges, masked and read-only paths, device rule) are in [`crate::security`].

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::error::{Error, Result};
use crate::ids;
use crate::options::RunOptions;
use crate::plan::{Item, Plan};

/// RLIMIT_NOFILE soft and hard limit (runc and containerd default; fits under this project's
/// machines' hard limit of 20000 without CAP_SYS_RESOURCE).
#[implements("process.rlimits.nofile")]
pub const NOFILE_LIMIT: u64 = 1024;

/// The process umask: 0022, written into the bundle (`process.user.umask`) so that it depends
/// neither on the runtime's default nor on the mask of whoever started the engine.
#[implements("process.umask")]
pub const UMASK: u32 = 0o022;

/// The argv: image `Entrypoint` followed by `Cmd`, where the caller's args replace `Cmd` (not the
/// entrypoint), as `docker run IMAGE ARGS...` does.
///
/// ```
/// use locald_engine::process::command;
/// use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
///
/// let image = ImageConfigurationBuilder::default()
///     .config(ConfigBuilder::default()
///         .entrypoint(vec!["/cnb/lifecycle/launcher".to_string()])
///         .cmd(vec!["web".to_string()])
///         .build()?)
///     .build()?;
/// assert_eq!(command(&image, None)?, ["/cnb/lifecycle/launcher", "web"]);
/// assert_eq!(command(&image, Some(&["worker".to_string()]))?, ["/cnb/lifecycle/launcher", "worker"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[implements("process.args")]
pub fn command(image: &ImageConfiguration, args: Option<&[String]>) -> Result<Vec<String>> {
    let config = image.config().as_ref();
    let mut argv: Vec<String> = config
        .and_then(|c| c.entrypoint().clone())
        .unwrap_or_default();
    match args {
        Some(a) => argv.extend(a.iter().cloned()),
        None => argv.extend(config.and_then(|c| c.cmd().clone()).unwrap_or_default()),
    }
    if argv.is_empty() {
        return Err(Error::InvalidOption {
            field: "args",
            reason: "no command: the image has no Entrypoint or Cmd and none was given".into(),
        });
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(Error::InvalidOption {
            field: "args",
            reason: "an argument contains NUL".into(),
        });
    }
    Ok(argv)
}

/// The working directory: `WorkingDir`, else `/`. It must be absolute; that it exists inside the
/// rootfs is checked when the bundle is prepared (runc would otherwise create it in the image).
#[implements("process.cwd")]
pub fn working_dir(image: &ImageConfiguration) -> Result<String> {
    let wd = image
        .config()
        .as_ref()
        .and_then(|c| c.working_dir().clone())
        .unwrap_or_default();
    if wd.is_empty() {
        return Ok("/".into());
    }
    if !wd.starts_with('/') || wd.contains('\0') {
        return Err(Error::ImageConfig {
            field: "WorkingDir",
            reason: format!("{wd:?} is not an absolute path"),
        });
    }
    Ok(wd)
}

/// Whether the process gets a terminal: only when the caller asks for one (a terminal changes
/// how the workload behaves: line discipline, job control, `isatty` checks).
#[implements("process.terminal")]
pub fn terminal(opts: &RunOptions) -> bool {
    opts.tty
}

/// Push the resource limits: RLIMIT_NOFILE, soft and hard [`NOFILE_LIMIT`].
#[implements("process.rlimits.nofile")]
pub(crate) fn plan_rlimits(plan: &mut Plan) {
    plan.push(
        ids::PROCESS_RLIMIT_NOFILE,
        Item::Rlimit {
            resource: "RLIMIT_NOFILE".into(),
            soft: NOFILE_LIMIT,
            hard: NOFILE_LIMIT,
        },
    );
}

/// Push the umask, [`UMASK`].
#[implements("process.umask")]
pub(crate) fn plan_umask(plan: &mut Plan) {
    plan.push(ids::PROCESS_UMASK, Item::Umask { mask: UMASK });
}

/// Push args, cwd and terminal.
pub(crate) fn plan(plan: &mut Plan, image: &ImageConfiguration, opts: &RunOptions) -> Result<()> {
    let args = command(image, opts.args.as_deref())?;
    plan.push(ids::PROCESS_ARGS, Item::Args { args });
    plan.push(
        ids::PROCESS_CWD,
        Item::Cwd {
            path: working_dir(image)?,
        },
    );
    plan.push(
        ids::PROCESS_TERMINAL,
        Item::Terminal {
            enabled: terminal(opts),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;
    use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};

    fn image(entrypoint: &[&str], cmd: &[&str], wd: Option<&str>) -> ImageConfiguration {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut c = ConfigBuilder::default();
        if !entrypoint.is_empty() {
            c = c.entrypoint(v(entrypoint));
        }
        if !cmd.is_empty() {
            c = c.cmd(v(cmd));
        }
        if let Some(wd) = wd {
            c = c.working_dir(wd);
        }
        ImageConfigurationBuilder::default()
            .config(c.build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    #[verifies("process.args")]
    fn args_are_entrypoint_plus_cmd() {
        assert_eq!(
            command(&image(&["/bin/sh", "-c"], &["echo hi"], None), None).unwrap(),
            ["/bin/sh", "-c", "echo hi"]
        );
        assert_eq!(command(&image(&[], &["sh"], None), None).unwrap(), ["sh"]);
    }

    #[test]
    #[verifies("process.args")]
    fn override_replaces_cmd_only() {
        let args = ["id".to_string()];
        assert_eq!(
            command(&image(&["env"], &["sh"], None), Some(&args)).unwrap(),
            ["env", "id"]
        );
        // An empty override drops Cmd and keeps the entrypoint.
        assert_eq!(
            command(&image(&["env"], &["sh"], None), Some(&[])).unwrap(),
            ["env"]
        );
    }

    #[test]
    #[verifies("process.args")]
    fn no_command_is_an_error() {
        let err = command(&image(&[], &[], None), None).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { field: "args", .. }));
        assert!(command(&ImageConfiguration::default(), Some(&[])).is_err());
    }

    #[test]
    #[verifies("process.cwd")]
    fn cwd_defaults_to_root_and_must_be_absolute() {
        assert_eq!(working_dir(&image(&[], &["x"], None)).unwrap(), "/");
        assert_eq!(working_dir(&image(&[], &["x"], Some(""))).unwrap(), "/");
        assert_eq!(
            working_dir(&image(&[], &["x"], Some("/workspace"))).unwrap(),
            "/workspace"
        );
        let err = working_dir(&image(&[], &["x"], Some("app"))).unwrap_err();
        assert!(matches!(
            err,
            Error::ImageConfig {
                field: "WorkingDir",
                ..
            }
        ));
    }

    #[test]
    #[verifies("process.terminal")]
    fn terminal_only_when_asked() {
        let img = image(&[], &["sh"], None);
        let terminals = |tty| {
            let mut p = Plan::default();
            plan(
                &mut p,
                &img,
                &RunOptions {
                    tty,
                    ..Default::default()
                },
            )
            .unwrap();
            p.entries()
                .iter()
                .filter(|e| e.requirement == ids::PROCESS_TERMINAL)
                .map(|e| e.item.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(terminals(false), [Item::Terminal { enabled: false }]);
        assert_eq!(terminals(true), [Item::Terminal { enabled: true }]);
        assert!(!terminal(&RunOptions::default()));
    }

    #[test]
    #[verifies("process.rlimits.nofile")]
    fn nofile_limit_is_1024() {
        let mut p = Plan::default();
        plan_rlimits(&mut p);
        assert_eq!(
            p.entries(),
            [crate::plan::Entry {
                requirement: ids::PROCESS_RLIMIT_NOFILE,
                item: Item::Rlimit {
                    resource: "RLIMIT_NOFILE".into(),
                    soft: 1024,
                    hard: 1024
                }
            }]
        );
        let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
        assert_eq!(
            json["process"]["rlimits"],
            serde_json::json!([{ "type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024 }])
        );
    }

    #[test]
    #[verifies("process.umask")]
    fn umask_is_0022_in_the_bundle() {
        let mut p = Plan::default();
        plan_umask(&mut p);
        assert_eq!(
            p.entries(),
            [crate::plan::Entry {
                requirement: ids::PROCESS_UMASK,
                item: Item::Umask { mask: 0o022 }
            }]
        );
        let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
        assert_eq!(json["process"]["user"]["umask"], serde_json::json!(18));
        // Without the entry the field is absent (the runtime would keep the caller's mask).
        let json = serde_json::to_value(Plan::default().to_spec().unwrap()).unwrap();
        assert!(json["process"]["user"].get("umask").is_none());
    }
}
