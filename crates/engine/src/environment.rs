//! The process environment.
//!
//! Precedence, lowest first: the image's `Env` exactly as written (empty values such as `FOO=`
//! survive, order kept); then defaults for keys the image does not set (PATH, HOSTNAME, HOME,
//! TERM with a terminal only); then the caller's variables, each replacing every earlier entry
//! with its key in place (or appended when new).

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::options::RunOptions;
use crate::plan::{Item, Plan, Requirement};
use crate::requirement;

/// PATH when the image sets none (Docker's and containerd's default).
#[implements("environment.path-default")]
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `container`, the marker systemd's Container Interface asks container managers to set.
#[implements("environment.container")]
pub const DEFAULT_CONTAINER: &str = "locald";

/// TERM when the process has a terminal.
#[implements("environment.term")]
pub const DEFAULT_TERM: &str = "xterm";

struct Var {
    key: String,
    value: String,
    requirement: Requirement,
}

fn check_key(key: &str, bad: impl Fn(String) -> Error) -> Result<()> {
    if key.is_empty() {
        return Err(bad("empty variable name".into()));
    }
    if key.contains(['=', '\0']) {
        return Err(bad(format!("variable name {key:?} contains `=` or NUL")));
    }
    Ok(())
}

/// The image's `Env` (`KEY=value` strings), exactly: order kept, empty values (`FOO=`) kept,
/// values split at the first `=` only.
#[implements("environment.image-env")]
fn image_vars(image: &ImageConfiguration) -> Result<Vec<Var>> {
    let bad = |reason| Error::ImageConfig {
        field: "Env",
        reason,
    };
    let env = image.config().as_ref().and_then(|c| c.env().clone());
    env.unwrap_or_default()
        .into_iter()
        .map(|kv| {
            let Some((key, value)) = kv.split_once('=') else {
                return Err(bad(format!("{kv:?} is not KEY=value")));
            };
            check_key(key, bad)?;
            if value.contains('\0') {
                return Err(bad(format!("value of {key} contains NUL")));
            }
            Ok(Var {
                key: key.into(),
                value: value.into(),
                requirement: requirement!("environment.image-env"),
            })
        })
        .collect()
}

/// The image's `Env` as `(key, value)` pairs, checked as [`image_vars`] checks it (for profiles
/// such as [`crate::cnb`] that read the image's variables before planning).
pub(crate) fn image_env(image: &ImageConfiguration) -> Result<Vec<(String, String)>> {
    Ok(image_vars(image)?
        .into_iter()
        .map(|v| (v.key, v.value))
        .collect())
}

/// The defaults, each with its requirement: PATH, HOSTNAME (the container's hostname), HOME
/// (`identity.home`: the passwd entry's home, or `/`), `container`, and TERM only with a
/// terminal.
#[implements(
    "environment.path-default",
    "environment.hostname",
    "environment.home",
    "environment.container",
    "environment.term"
)]
fn defaults<'a>(
    identity: &'a Identity,
    hostname: &'a str,
    tty: bool,
) -> Vec<(&'static str, &'a str, Requirement)> {
    let home = identity.home.as_deref().unwrap_or("/");
    let mut defaults = vec![
        (
            "PATH",
            DEFAULT_PATH,
            requirement!("environment.path-default"),
        ),
        ("HOSTNAME", hostname, requirement!("environment.hostname")),
        ("HOME", home, requirement!("environment.home")),
        (
            "container",
            DEFAULT_CONTAINER,
            requirement!("environment.container"),
        ),
    ];
    if tty {
        defaults.push(("TERM", DEFAULT_TERM, requirement!("environment.term")));
    }
    defaults
}

/// Add each default whose key the image does not set.
fn apply_defaults(vars: &mut Vec<Var>, defaults: Vec<(&'static str, &str, Requirement)>) {
    for (key, value, requirement) in defaults {
        if !vars.iter().any(|v| v.key == key) {
            vars.push(Var {
                key: key.into(),
                value: value.into(),
                requirement,
            });
        }
    }
}

/// Apply the caller's variables last: each replaces the first earlier entry with its key in
/// place and removes any later duplicates, or is appended when new.
#[implements("environment.override")]
fn apply_overrides(vars: &mut Vec<Var>, overrides: &[(String, String)]) -> Result<()> {
    for (key, value) in overrides {
        let bad = |reason| Error::InvalidOption {
            field: "env",
            reason,
        };
        check_key(key, bad)?;
        if value.contains('\0') {
            return Err(bad(format!("value of {key} contains NUL")));
        }
        let new = Var {
            key: key.clone(),
            value: value.clone(),
            requirement: requirement!("environment.override"),
        };
        match vars.iter().position(|v| v.key == *key) {
            Some(i) => {
                vars[i] = new;
                let mut seen = 0;
                vars.retain(|v| {
                    seen += usize::from(v.key == *key);
                    v.key != *key || seen == 1
                });
            }
            None => vars.push(new),
        }
    }
    Ok(())
}

/// Push the environment entries; HOME from the identity's home (the passwd entry's, or the
/// added entry's `/`).
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_env(
        plan,
        ctx.image(),
        ctx.options(),
        &ctx.identity,
        &ctx.hostname,
    )
}

fn plan_env(
    plan: &mut Plan,
    image: &ImageConfiguration,
    opts: &RunOptions,
    identity: &Identity,
    hostname: &str,
) -> Result<()> {
    let mut vars = image_vars(image)?;
    apply_defaults(&mut vars, defaults(identity, hostname, opts.tty));
    apply_overrides(&mut vars, &opts.env)?;
    for v in vars {
        plan.push(
            v.requirement,
            Item::Env {
                key: v.key,
                value: v.value,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    fn image(env: &[&str]) -> ImageConfiguration {
        locald_testkit::image_config(serde_json::json!({ "Env": env }))
    }

    fn identity(home: Option<&str>) -> Identity {
        Identity {
            uid: 0,
            gid: 0,
            additional_gids: vec![],
            home: home.map(Into::into),
        }
    }

    fn env(image_env: &[&str], opts: &RunOptions) -> Result<Vec<(String, Requirement)>> {
        let mut plan = Plan::default();
        plan_env(
            &mut plan,
            &image(image_env),
            opts,
            &identity(Some("/root")),
            "host1",
        )?;
        Ok(plan
            .entries()
            .iter()
            .map(|e| match &e.item {
                Item::Env { key, value } => (format!("{key}={value}"), e.requirement),
                other => panic!("unexpected {other:?}"),
            })
            .collect())
    }

    fn strings(v: &[(String, Requirement)]) -> Vec<String> {
        v.iter().map(|(s, _)| s.clone()).collect()
    }

    #[test]
    #[verifies("environment.path-default", "environment.hostname", "environment.home")]
    fn defaults_when_image_has_no_env() {
        let got = env(&[], &RunOptions::default()).unwrap();
        assert_eq!(
            got,
            vec![
                (
                    format!("PATH={DEFAULT_PATH}"),
                    requirement!("environment.path-default")
                ),
                (
                    "HOSTNAME=host1".into(),
                    requirement!("environment.hostname")
                ),
                ("HOME=/root".into(), requirement!("environment.home")),
                (
                    format!("container={DEFAULT_CONTAINER}"),
                    requirement!("environment.container")
                ),
            ]
        );
    }

    #[test]
    #[verifies("environment.container")]
    fn container_is_marked_unless_the_image_or_the_caller_says_otherwise() {
        let marker = |image_env: &[&str], caller: &[(&str, &str)]| {
            let opts = RunOptions {
                env: caller
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            };
            let got = env(image_env, &opts).unwrap();
            let found: Vec<_> = got
                .into_iter()
                .filter(|(s, _)| s.starts_with("container="))
                .collect();
            assert_eq!(found.len(), 1, "{found:?}");
            found.into_iter().next().unwrap()
        };
        assert_eq!(
            marker(&[], &[]),
            (
                "container=locald".to_string(),
                requirement!("environment.container")
            )
        );
        assert_eq!(marker(&["container=oci"], &[]).0, "container=oci");
        assert_eq!(
            marker(&["container=oci"], &[("container", "")]).0,
            "container="
        );
    }

    #[test]
    #[verifies(
        "environment.image-env",
        "environment.path-default",
        "environment.home"
    )]
    fn image_env_is_kept_exactly_including_empty_values() {
        let got = env(
            &[
                "PATH=",
                "FOO=",
                "A=b=c",
                "HOME=/srv",
                "CNB_PLATFORM_API=0.12",
            ],
            &RunOptions::default(),
        )
        .unwrap();
        assert_eq!(
            strings(&got),
            [
                "PATH=",
                "FOO=",
                "A=b=c",
                "HOME=/srv",
                "CNB_PLATFORM_API=0.12",
                "HOSTNAME=host1",
                "container=locald"
            ]
        );
        assert_eq!(got[0].1, requirement!("environment.image-env"));
    }

    #[test]
    #[verifies("environment.term")]
    fn term_only_with_tty() {
        let no_tty = env(&[], &RunOptions::default()).unwrap();
        assert!(!strings(&no_tty).iter().any(|s| s.starts_with("TERM=")));
        let opts = RunOptions {
            tty: true,
            ..Default::default()
        };
        let tty = env(&[], &opts).unwrap();
        assert!(tty.contains(&("TERM=xterm".into(), requirement!("environment.term"))));
        // An image TERM wins over the default.
        let img = env(&["TERM=dumb"], &opts).unwrap();
        assert_eq!(
            strings(&img)
                .iter()
                .filter(|s| s.starts_with("TERM="))
                .collect::<Vec<_>>(),
            ["TERM=dumb"]
        );
    }

    #[test]
    #[verifies("environment.override")]
    fn overrides_replace_by_key_in_place_and_come_last() {
        let opts = RunOptions {
            env: vec![
                ("FOO".into(), "new".into()),
                ("PATH".into(), "/x".into()),
                ("NEW".into(), "".into()),
            ],
            ..Default::default()
        };
        let got = env(&["FOO=old", "BAR=1", "FOO=dup"], &opts).unwrap();
        assert_eq!(
            strings(&got),
            [
                "FOO=new",
                "BAR=1",
                "PATH=/x",
                "HOSTNAME=host1",
                "HOME=/root",
                "container=locald",
                "NEW="
            ]
        );
        assert_eq!(got[0].1, requirement!("environment.override"));
    }

    #[test]
    #[verifies("environment.home")]
    fn home_falls_back_to_slash() {
        let mut plan = Plan::default();
        plan_env(
            &mut plan,
            &image(&[]),
            &RunOptions::default(),
            &identity(None),
            "h",
        )
        .unwrap();
        assert_eq!(plan.env_value("HOME").as_deref(), Some("/"));
    }

    #[test]
    #[verifies("environment.image-env")]
    fn malformed_image_env_is_an_error() {
        for bad in ["NOEQUALS", "=value", "A\0B=1"] {
            let err = env(&[bad], &RunOptions::default()).unwrap_err();
            assert!(
                matches!(err, Error::ImageConfig { field: "Env", .. }),
                "{bad:?}"
            );
        }
    }

    #[test]
    #[verifies("environment.override")]
    fn malformed_override_is_an_error() {
        for (k, v) in [("", "x"), ("A=B", "x"), ("A", "x\0y")] {
            let opts = RunOptions {
                env: vec![(k.into(), v.into())],
                ..Default::default()
            };
            let err = env(&[], &opts).unwrap_err();
            assert!(matches!(err, Error::InvalidOption { field: "env", .. }));
        }
    }
}
