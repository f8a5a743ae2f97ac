//! The process: command, working directory, terminal and resource limits.
//!
//! The argv is the image's `Entrypoint` followed by its `Cmd`, where a caller's args replace
//! `Cmd` only; the working directory is `WorkingDir`, else `/`; a terminal only when asked;
//! RLIMIT_NOFILE soft 1024 under the engine's own hard limit; and the umask 0022. The security
//! defaults that go with the process (capabilities, no_new_privileges, masked and read-only
//! paths, device rule) are in [`crate::security`].

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::options::RunOptions;
use crate::plan::{Item, Plan};
use crate::requirement;

/// The RLIMIT_NOFILE soft limit: `FD_SETSIZE`, the highest descriptor count `select(2)` can
/// handle, and the soft limit systemd gives every service.
#[implements("process.rlimits.nofile")]
pub const NOFILE_SOFT_LIMIT: u64 = 1024;

/// RLIMIT_NOFILE `(soft, hard)` for a container prepared by an engine whose own hard limit is
/// `engine_hard`: the hard limit is the engine's (the most the runtime it starts can set without
/// `CAP_SYS_RESOURCE`), the soft limit [`NOFILE_SOFT_LIMIT`], or the hard limit when lower.
///
/// ```
/// use locald_engine::process::nofile_limits;
///
/// assert_eq!(nofile_limits(524288), (1024, 524288));
/// assert_eq!(nofile_limits(512), (512, 512));
/// ```
#[implements("process.rlimits.nofile")]
pub fn nofile_limits(engine_hard: u64) -> (u64, u64) {
    (NOFILE_SOFT_LIMIT.min(engine_hard), engine_hard)
}

/// The hard RLIMIT_NOFILE of the engine's own process (`RLIM_INFINITY` is `u64::MAX`).
#[cfg(target_os = "linux")]
fn engine_nofile_hard() -> u64 {
    use nix::sys::resource::{Resource, getrlimit};
    // getrlimit(2) fails only for an unknown resource or a bad pointer, neither possible here;
    // should it fail anyway, the soft limit is a hard limit every process may set.
    // `rlim_t` is 32 bits on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    getrlimit(Resource::RLIMIT_NOFILE).map_or(NOFILE_SOFT_LIMIT, |(_, hard)| u64::from(hard))
}

/// Off Linux (the engine only compiles there): the soft limit.
#[cfg(not(target_os = "linux"))]
fn engine_nofile_hard() -> u64 {
    NOFILE_SOFT_LIMIT
}

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
    let entrypoint = config
        .and_then(|c| c.entrypoint().as_deref())
        .unwrap_or_default();
    // The rest is the caller's command, else the image's Cmd.
    let (rest, rest_field) = match args {
        Some(a) => (a, None),
        None => (
            config.and_then(|c| c.cmd().as_deref()).unwrap_or_default(),
            Some("Cmd"),
        ),
    };
    let argv: Vec<String> = entrypoint.iter().chain(rest).cloned().collect();
    if argv.is_empty() {
        return Err(Error::InvalidOption {
            field: "args",
            reason: "no command: the image has no Entrypoint or Cmd and none was given".into(),
        });
    }
    // A NUL is named where it is: the image's Entrypoint or Cmd, or the caller's command.
    let has_nul = |part: &[String]| part.iter().any(|a| a.contains('\0'));
    let image_field = if has_nul(entrypoint) {
        Some("Entrypoint")
    } else if has_nul(rest) {
        rest_field
    } else {
        return Ok(argv);
    };
    let reason = "an argument contains NUL".to_string();
    Err(match image_field {
        Some(field) => Error::ImageConfig { field, reason },
        None => Error::InvalidOption {
            field: "args",
            reason,
        },
    })
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

/// The argv when the caller replaces the image's `Entrypoint`: `entrypoint` followed by the
/// caller's `args`; the image's `Cmd` is dropped with its `Entrypoint`, as `docker run
/// --entrypoint` drops it, since it was written as arguments for the image's entrypoint.
///
/// ```
/// use locald_engine::process::caller_command;
///
/// let launcher = ["/cnb/lifecycle/launcher".to_string()];
/// let shell = ["sh", "-c", "web"].map(String::from);
/// assert_eq!(caller_command(&launcher, Some(&shell))?, ["/cnb/lifecycle/launcher", "sh", "-c", "web"]);
/// assert_eq!(caller_command(&launcher, None)?, ["/cnb/lifecycle/launcher"]);
/// assert!(caller_command(&[], None).is_err());
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("process.entrypoint")]
pub fn caller_command(entrypoint: &[String], args: Option<&[String]>) -> Result<Vec<String>> {
    let bad = |reason: &str| Error::InvalidOption {
        field: "entrypoint",
        reason: reason.into(),
    };
    if entrypoint.first().is_none_or(String::is_empty) {
        return Err(bad("empty: give the program to run first"));
    }
    let argv: Vec<String> = entrypoint
        .iter()
        .chain(args.unwrap_or_default())
        .cloned()
        .collect();
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(bad("an argument contains NUL"));
    }
    Ok(argv)
}

/// The caller's working directory, replacing the image's `WorkingDir`: an absolute path without
/// NUL; the rest of `process.cwd`'s checks (inside the root, a directory, no kernel filesystem)
/// are the layer planner's, as for the image's.
///
/// ```
/// use locald_engine::process::caller_working_dir;
///
/// assert_eq!(caller_working_dir("/workspace")?, "/workspace");
/// assert!(caller_working_dir("workspace").is_err());
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("process.working-dir")]
pub fn caller_working_dir(dir: &str) -> Result<String> {
    if !dir.starts_with('/') || dir.contains('\0') {
        return Err(Error::InvalidOption {
            field: "working_dir",
            reason: format!("{dir:?} is not an absolute path"),
        });
    }
    Ok(dir.to_owned())
}

/// Whether the process gets a terminal: only when the caller asks for one (a terminal changes
/// how the workload behaves: line discipline, job control, `isatty` checks).
#[implements("process.terminal")]
pub fn terminal(opts: &RunOptions) -> bool {
    opts.tty
}

/// Push the resource limits: RLIMIT_NOFILE as [`nofile_limits`] gives it for this process's own
/// hard limit, which is therefore the one input of the plan that does not come from
/// [`crate::PlanInput`].
#[implements("process.rlimits.nofile")]
fn plan_rlimits(plan: &mut Plan) {
    let (soft, hard) = nofile_limits(engine_nofile_hard());
    plan.push(
        requirement!("process.rlimits.nofile"),
        Item::Rlimit {
            resource: "RLIMIT_NOFILE".into(),
            soft,
            hard,
        },
    );
}

/// Push the umask, [`UMASK`].
#[implements("process.umask")]
fn plan_umask(plan: &mut Plan) {
    plan.push(requirement!("process.umask"), Item::Umask { mask: UMASK });
}

/// The workload's `oom_score_adj` for an engine whose own is `engine`: the engine's own when
/// positive, else 0. Never negative, so the workload is never protected from the OOM killer
/// at the expense of the user's other programs; never below the engine's own, which is the
/// lowest value the runtime may write without `CAP_SYS_RESOURCE` whatever the engine's
/// privileges (proc(5): lowering below the last value a privileged process set needs it).
///
/// ```
/// use locald_engine::process::oom_score_adj;
///
/// assert_eq!(oom_score_adj(-500), 0); // a protected engine does not protect its containers
/// assert_eq!(oom_score_adj(0), 0);
/// assert_eq!(oom_score_adj(100), 100); // systemd's user manager: as killable as the engine
/// ```
#[implements("process.oom-score-adj")]
pub fn oom_score_adj(engine: i32) -> i32 {
    engine.clamp(0, 1000)
}

/// Push `process.oomScoreAdj`, [`oom_score_adj`] of the engine's own value.
#[implements("process.oom-score-adj")]
fn plan_oom_score_adj(plan: &mut Plan, engine: i32) {
    plan.push(
        requirement!("process.oom-score-adj"),
        Item::OomScoreAdj {
            adj: oom_score_adj(engine),
        },
    );
}

/// Push args, cwd, terminal, resource limits, umask and the OOM-killer adjustment.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_process(plan, ctx.image(), ctx.options())?;
    plan_rlimits(plan);
    plan_umask(plan);
    plan_oom_score_adj(plan, ctx.input.host_files.facts.oom_score_adj);
    Ok(())
}

/// Push args, cwd and terminal.
fn plan_process(plan: &mut Plan, image: &ImageConfiguration, opts: &RunOptions) -> Result<()> {
    match &opts.entrypoint {
        Some(entrypoint) => plan.push(
            requirement!("process.entrypoint"),
            Item::Args {
                args: caller_command(entrypoint, opts.args.as_deref())?,
            },
        ),
        None => {
            let args = command(image, opts.args.as_deref())?;
            plan.push(requirement!("process.args"), Item::Args { args });
        }
    }
    match &opts.working_dir {
        Some(dir) => plan.push(
            requirement!("process.working-dir"),
            Item::Cwd {
                path: caller_working_dir(dir)?,
            },
        ),
        None => plan.push(
            requirement!("process.cwd"),
            Item::Cwd {
                path: working_dir(image)?,
            },
        ),
    }
    plan.push(
        requirement!("process.terminal"),
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

    #[test]
    #[verifies("process.oom-score-adj")]
    fn oom_score_adj_is_the_engines_own_but_never_negative() {
        for (engine, want) in [(-1000, 0), (-500, 0), (0, 0), (100, 100), (1000, 1000)] {
            let mut p = Plan::default();
            plan_oom_score_adj(&mut p, engine);
            assert_eq!(
                p.entries(),
                [crate::plan::Entry {
                    requirement: requirement!("process.oom-score-adj"),
                    item: Item::OomScoreAdj { adj: want }
                }],
                "{engine}"
            );
            let spec = p.to_spec().unwrap();
            assert_eq!(spec.process().as_ref().unwrap().oom_score_adj(), Some(want));
        }
    }

    fn image(entrypoint: &[&str], cmd: &[&str], wd: Option<&str>) -> ImageConfiguration {
        // An empty list is an absent field: the image spec has no empty Entrypoint.
        let list = |a: &[&str]| (!a.is_empty()).then(|| serde_json::json!(a));
        locald_testkit::image_config(serde_json::json!({
            "Entrypoint": list(entrypoint),
            "Cmd": list(cmd),
            "WorkingDir": wd,
        }))
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

    /// A NUL is named where it came from: the image's Entrypoint or Cmd, or the caller's
    /// command.
    #[test]
    #[verifies("process.args")]
    fn a_nul_names_the_field_it_is_in() {
        let (nul, ok) = (["a\0b"], ["sh"]);
        let args = |a: [&str; 1]| a.map(String::from);
        let err = command(&image(&nul, &ok, None), Some(&args(ok))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ImageConfig {
                    field: "Entrypoint",
                    ..
                }
            ),
            "{err}"
        );
        let err = command(&image(&ok, &nul, None), None).unwrap_err();
        assert_eq!(err.field(), Some("Cmd"));
        let err = command(&image(&ok, &ok, None), Some(&args(nul))).unwrap_err();
        assert_eq!(err.field(), Some("args"));
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

    /// The args and cwd entries `plan_process` pushes for `opts`, with their requirements.
    fn planned(img: &ImageConfiguration, opts: &RunOptions) -> Result<Vec<crate::plan::Entry>> {
        let mut p = Plan::default();
        plan_process(&mut p, img, opts)?;
        Ok(p.entries()
            .iter()
            .filter(|e| matches!(e.item, Item::Args { .. } | Item::Cwd { .. }))
            .cloned()
            .collect())
    }

    #[test]
    #[verifies("process.entrypoint")]
    fn the_callers_entrypoint_replaces_the_images_and_drops_its_cmd() {
        let img = image(&["/cnb/process/web"], &["--port", "80"], Some("/workspace"));
        let opts = RunOptions::default()
            .with_entrypoint(["/cnb/lifecycle/launcher"])
            .with_args(["sh", "-c", "exec web"]);
        let entries = planned(&img, &opts).unwrap();
        assert_eq!(entries[0].requirement, requirement!("process.entrypoint"));
        assert_eq!(
            entries[0].item,
            Item::Args {
                args: ["/cnb/lifecycle/launcher", "sh", "-c", "exec web"]
                    .map(String::from)
                    .into()
            }
        );
        // Without args, the entrypoint alone: the image's Cmd is not kept.
        let alone = planned(&img, &RunOptions::default().with_entrypoint(["/bin/true"])).unwrap();
        assert_eq!(
            alone[0].item,
            Item::Args {
                args: vec!["/bin/true".into()]
            }
        );
        // Without an entrypoint option, the image's, tagged with process.args.
        let image_own = planned(&img, &RunOptions::default()).unwrap();
        assert_eq!(image_own[0].requirement, requirement!("process.args"));
    }

    #[test]
    #[verifies("process.entrypoint")]
    fn an_empty_entrypoint_or_a_nul_is_refused_naming_the_option() {
        let img = image(&[], &["sh"], None);
        for opts in [
            RunOptions {
                entrypoint: Some(vec![]),
                ..RunOptions::default()
            },
            RunOptions::default().with_entrypoint([""]),
            RunOptions::default()
                .with_entrypoint(["/bin/sh"])
                .with_args(["a\0b"]),
        ] {
            let err = planned(&img, &opts).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOption {
                        field: "entrypoint",
                        ..
                    }
                ),
                "{opts:?}: {err}"
            );
        }
    }

    #[test]
    #[verifies("process.working-dir")]
    fn the_callers_working_dir_replaces_the_images_and_must_be_absolute() {
        let img = image(&[], &["sh"], Some("/workspace"));
        let entries = planned(&img, &RunOptions::default().with_working_dir("/srv/app")).unwrap();
        assert_eq!(entries[1].requirement, requirement!("process.working-dir"));
        assert_eq!(
            entries[1].item,
            Item::Cwd {
                path: "/srv/app".into()
            }
        );
        let image_own = planned(&img, &RunOptions::default()).unwrap();
        assert_eq!(image_own[1].requirement, requirement!("process.cwd"));
        assert_eq!(
            image_own[1].item,
            Item::Cwd {
                path: "/workspace".into()
            }
        );
        for bad in ["srv/app", "", "/a\0b"] {
            let err = planned(&img, &RunOptions::default().with_working_dir(bad)).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOption {
                        field: "working_dir",
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    #[verifies("process.terminal")]
    fn terminal_only_when_asked() {
        let img = image(&[], &["sh"], None);
        let terminals = |tty| {
            let mut p = Plan::default();
            plan_process(
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
                .filter(|e| e.requirement == requirement!("process.terminal"))
                .map(|e| e.item.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(terminals(false), [Item::Terminal { enabled: false }]);
        assert_eq!(terminals(true), [Item::Terminal { enabled: true }]);
        assert!(!terminal(&RunOptions::default()));
    }

    #[test]
    #[verifies("process.rlimits.nofile")]
    fn nofile_soft_limit_is_1024_under_the_engines_hard_limit() {
        assert_eq!(nofile_limits(20000), (1024, 20000));
        assert_eq!(nofile_limits(1024), (1024, 1024));
        // A hard limit below 1024 caps the soft one: the runtime could not set 1024.
        assert_eq!(nofile_limits(100), (100, 100));
        // RLIM_INFINITY stays unlimited.
        assert_eq!(nofile_limits(u64::MAX), (1024, u64::MAX));
    }

    /// The hard RLIMIT_NOFILE of this process.
    fn own_hard_limit() -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .unwrap()
            .1
    }

    /// The RLIMIT_NOFILE of the bundle `plan_rlimits` describes, as runc reads it.
    fn planned_nofile() -> serde_json::Value {
        let mut p = Plan::default();
        plan_rlimits(&mut p);
        let json = serde_json::to_value(p.to_spec().unwrap()).unwrap();
        json["process"]["rlimits"].clone()
    }

    #[test]
    #[verifies("process.rlimits.nofile")]
    fn the_bundle_gets_the_engines_own_hard_limit() {
        use nix::sys::resource::{Resource, setrlimit};
        // Lowering a hard limit cannot be undone, so it happens in a child process.
        // SAFETY: the child only sets its own limits, builds a plan and exits; nextest runs this
        // test alone in its process.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let ok = |hard: u64, want: serde_json::Value| {
                    setrlimit(Resource::RLIMIT_NOFILE, hard.min(1024), hard).is_ok()
                        && own_hard_limit() == hard
                        && planned_nofile() == want
                };
                // 4096 (or lower when this process's own is): not 1024, so a fixed hard limit of
                // 1024 fails; then 700, below the soft limit.
                let first = own_hard_limit().min(4097) - 1;
                let second = first.min(700);
                let passed = ok(
                    first,
                    serde_json::json!([{ "type": "RLIMIT_NOFILE", "soft": first.min(1024), "hard": first }]),
                ) && ok(
                    second,
                    serde_json::json!([{ "type": "RLIMIT_NOFILE", "soft": second, "hard": second }]),
                );
                // SAFETY: leave without running the parent's destructors or test harness.
                unsafe { nix::libc::_exit(if passed { 0 } else { 1 }) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
        // And in this process, unchanged: the same as its own hard limit.
        let hard = own_hard_limit();
        assert_eq!(
            planned_nofile(),
            serde_json::json!([{ "type": "RLIMIT_NOFILE", "soft": hard.min(1024), "hard": hard }])
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
                requirement: requirement!("process.umask"),
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
