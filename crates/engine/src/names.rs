//! Names: the container's hostname, `/etc/hostname` and `/etc/hosts`, and what a valid
//! container id and hostname are.
//!
//! The hostname is the caller's option, else derived from the container id: the first 12
//! characters of a 64-hex-digit id (Docker's short id), else the id itself made a hostname, so
//! that locald's readable ids (`web`, `my-app.worker`) name their containers. It is set in the container's private UTS namespace
//! (see [`crate::isolation`]), written to `/etc/hostname`, mapped to loopback in `/etc/hosts`
//! (see [`hosts_file`]) and, unless the image sets one, exported as `HOSTNAME` (see
//! [`crate::environment`]). Both files are generated in the state directory and bind-mounted
//! read-only; the image's own are never read.

mod hosts;
mod refresh;

pub use hosts::{LOCALHOST_LINES, hosts_file};
pub use refresh::{Refresh, Refreshed, refresh, refresh_with};

use locald_spec_macros::implements;

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::host_files::{HOSTS_PATH, HostFiles};
use crate::options::RunOptions;
use crate::plan::{Item, Plan};
use crate::requirement;

/// Where the hostname file is mounted.
pub const HOSTNAME_PATH: &str = "/etc/hostname";

/// Mode of the generated `hostname` and `hosts` files.
pub const NAME_FILE_MODE: u32 = 0o644;

/// Linux's HOST_NAME_MAX.
const HOST_NAME_MAX: usize = 64;

/// How many characters of a 64-hex-digit container id make the default hostname (Docker's
/// short id).
pub const ID_PREFIX_LEN: usize = 12;

/// The longest hostname derived from an id: one DNS label's limit (RFC 1035 § 2.3.4), so that
/// an id without dots gives a name usable as a DNS label too; under Linux's 64.
pub const DERIVED_HOSTNAME_MAX: usize = 63;

/// Whether `name` is a usable hostname: 1..=64 bytes of ASCII letters, digits, `-` and `.`,
/// not starting with `-` or `.`.
///
/// ```
/// assert!(locald_engine::names::valid_hostname("web-1.local"));
/// assert!(!locald_engine::names::valid_hostname("bad\nname"));
/// ```
#[implements("names.hostname.default")]
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= HOST_NAME_MAX
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The longest container id: it names a directory and runc's state.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` is a valid container id: a letter or digit, then letters, digits, `_`, `.`,
/// `+` and `-` (runc's set; starting with a letter or digit, as Docker's names do, so no id
/// reads as a command-line flag or a relative path like `..`), at most [`MAX_ID_LEN`] bytes.
///
/// ```
/// assert!(locald_engine::names::valid_container_id("app_1.web"));
/// assert!(!locald_engine::names::valid_container_id("../x"));
/// assert!(!locald_engine::names::valid_container_id("-rf"));
/// assert!(!locald_engine::names::valid_container_id(".."));
/// ```
pub fn valid_container_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
}

/// [`valid_container_id`], as an error naming the rule.
#[implements("confinement.state-dir")]
pub fn check_container_id(id: &str) -> Result<()> {
    if valid_container_id(id) {
        return Ok(());
    }
    Err(Error::InvalidOption {
        field: "id",
        reason: format!(
            "{id:?} is not a valid container id: a letter or digit, then letters, digits, \
             `_`, `.`, `+` or `-`, at most {MAX_ID_LEN} characters"
        ),
    })
}

/// The hostname for a container: the option, else [`hostname_from_id`].
///
/// ```
/// use locald_engine::{names::hostname_for, RunOptions};
///
/// let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// assert_eq!(hostname_for(&RunOptions::default(), hex)?, "0123456789ab");
/// assert_eq!(hostname_for(&RunOptions::default(), "my-app.worker")?, "my-app.worker");
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("names.hostname.default")]
pub fn hostname_for(opts: &RunOptions, id: &str) -> Result<String> {
    check_container_id(id)?;
    let name = match &opts.hostname {
        Some(h) => h.clone(),
        None => hostname_from_id(id),
    };
    if !valid_hostname(&name) {
        return Err(Error::InvalidOption {
            field: "hostname",
            reason: format!("{name:?} is not a valid hostname (letters, digits, `-`, `.`)"),
        });
    }
    Ok(name)
}

/// Whether `id` has the form of the ids Docker and Podman generate: 64 lowercase hex digits.
fn is_hex_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The default hostname for a valid container id ([`valid_container_id`]).
///
/// A 64-hex-digit id gives its first [`ID_PREFIX_LEN`] characters, as Docker's and Podman's
/// do. Any other id — a readable name such as locald's `web` or `my-app.worker` — is the
/// hostname itself once made one: letters lowercased, `_` and `+` turned into `-`, each
/// dot-separated label stripped of leading and trailing `-` and empty labels dropped, and the
/// whole cut to [`DERIVED_HOSTNAME_MAX`] bytes (then stripped again of a trailing `-` or `.`).
/// A valid id starts with a letter or digit, so the result is never empty.
///
/// ```
/// use locald_engine::names::hostname_from_id;
///
/// assert_eq!(hostname_from_id("web"), "web");
/// assert_eq!(hostname_from_id("My_App.worker"), "my-app.worker");
/// assert_eq!(hostname_from_id("app_.-x"), "app.x");
/// ```
#[implements("names.hostname.default")]
pub fn hostname_from_id(id: &str) -> String {
    if is_hex_id(id) {
        return id[..ID_PREFIX_LEN].to_owned();
    }
    let mapped: String = id
        .chars()
        .map(|c| match c {
            '_' | '+' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let joined = mapped
        .split('.')
        .map(|label| label.trim_matches('-'))
        .filter(|label| !label.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    // ASCII only (valid ids are), so any byte index is a character boundary.
    let cut = &joined[..joined.len().min(DERIVED_HOSTNAME_MAX)];
    cut.trim_end_matches(['-', '.']).to_owned()
}

/// The contents of `/etc/hostname`: the name and a newline (hostname(5)).
///
/// ```
/// assert_eq!(locald_engine::names::hostname_file("web"), "web\n");
/// ```
#[implements("names.hostname.file")]
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// Push the hostname and the `hostname` and `hosts` files, bind-mounted over the image's.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan.push(
        requirement!("names.hostname.default"),
        Item::Hostname {
            name: ctx.hostname.clone(),
        },
    );
    plan_files(plan, ctx.options(), &ctx.hostname, ctx.input.host_files)
}

/// Push the `hostname` and `hosts` state files, bind-mounted over the image's.
fn plan_files(plan: &mut Plan, opts: &RunOptions, hostname: &str, host: &HostFiles) -> Result<()> {
    plan.push(
        requirement!("names.hostname.file"),
        Item::File {
            name: "hostname".into(),
            contents: hostname_file(hostname),
            mode: NAME_FILE_MODE,
            mount_at: Some(HOSTNAME_PATH.into()),
        },
    );
    let hosts = hosts_file(
        hostname,
        &opts.extra_hosts,
        opts.network,
        host.hosts.as_deref(),
    )?;
    plan.push(
        requirement!("names.hosts.localhost"),
        Item::File {
            name: "hosts".into(),
            contents: hosts,
            mode: NAME_FILE_MODE,
            mount_at: Some(HOSTS_PATH.into()),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    #[test]
    #[verifies("names.hostname.default")]
    fn hostname_defaults_to_the_short_id_of_a_hex_id() {
        let hex = "abcdef0123456789".repeat(4);
        let h = hostname_for(&RunOptions::default(), &hex).unwrap();
        assert_eq!(h, "abcdef012345");
        let image = oci_spec::image::ImageConfiguration::default();
        let input = crate::PlanInput {
            image: &image,
            identity_files: &Default::default(),
            host_files: &Default::default(),
            options: &RunOptions::default(),
            rootfs: std::path::Path::new("/img"),
            state_dir: std::path::Path::new("/s"),
            id: &hex,
        };
        let mut p = Plan::default();
        plan(&mut p, &crate::duties::Context::new(&input).unwrap()).unwrap();
        assert_eq!(
            p.entries()[0],
            crate::plan::Entry {
                requirement: requirement!("names.hostname.default"),
                item: Item::Hostname {
                    name: "abcdef012345".into()
                }
            }
        );
        // Shorter ids are used whole.
        assert_eq!(hostname_for(&RunOptions::default(), "c1").unwrap(), "c1");
        // Hex, but not Docker's 64 digits (or not lowercase): a readable id like any other.
        assert_eq!(hostname_from_id("abcdef0123456789"), "abcdef0123456789");
        let upper = "ABCDEF0123456789".repeat(4);
        assert_eq!(hostname_from_id(&upper), upper.to_ascii_lowercase()[..63]);
    }

    #[test]
    #[verifies("names.hostname.default")]
    fn readable_ids_are_their_own_hostnames() {
        for (id, host) in [
            ("web", "web"),
            ("my-app.worker", "my-app.worker"),
            ("My_App+1.Worker", "my-app-1.worker"),
            ("a_.b", "a.b"),
            ("a..b", "a.b"),
            ("a-.-b", "a.b"),
            ("x__", "x"),
            ("app.", "app"),
        ] {
            assert_eq!(hostname_from_id(id), host, "{id}");
            assert_eq!(hostname_for(&RunOptions::default(), id).unwrap(), host);
        }
        // Long ids are cut to one DNS label's 63 bytes, never ending in `-` or `.`.
        let long = format!("{}-{}", "a".repeat(62), "b".repeat(40));
        assert_eq!(hostname_from_id(&long), "a".repeat(62));
        let long = format!("{}.{}", "a".repeat(62), "b".repeat(40));
        assert_eq!(hostname_from_id(&long), "a".repeat(62));
        let h = hostname_from_id(&"x".repeat(128));
        assert_eq!(h.len(), DERIVED_HOSTNAME_MAX);
        assert!(valid_hostname(&h));
    }

    #[test]
    #[verifies("names.hostname.default")]
    fn hostname_option_and_validation() {
        let opts = RunOptions {
            hostname: Some("web".into()),
            ..Default::default()
        };
        assert_eq!(hostname_for(&opts, "x").unwrap(), "web");
        for bad in ["", "a b", "a\nb", "-x", &"a".repeat(65)] {
            let opts = RunOptions {
                hostname: Some(bad.into()),
                ..Default::default()
            };
            assert!(
                matches!(
                    hostname_for(&opts, "x"),
                    Err(Error::InvalidOption {
                        field: "hostname",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    #[verifies("names.hostname.default")]
    fn id_derived_hostname_is_sanitised() {
        assert_eq!(
            hostname_for(&RunOptions::default(), "e2e_test+x").unwrap(),
            "e2e-test-x"
        );
    }

    #[test]
    #[verifies("names.hostname.file", "names.hosts.localhost")]
    fn hostname_and_hosts_files_are_planned_read_only_over_etc() {
        let mut p = Plan::default();
        let opts = RunOptions {
            hostname: Some("web".into()),
            ..Default::default()
        };
        plan_files(&mut p, &opts, "web", &HostFiles::default()).unwrap();
        let files: Vec<_> = p
            .entries()
            .iter()
            .filter_map(|e| match &e.item {
                Item::File {
                    name,
                    contents,
                    mode,
                    mount_at,
                } => Some((
                    e.requirement,
                    name.as_str(),
                    contents.as_str(),
                    *mode,
                    mount_at.as_deref(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0],
            (
                requirement!("names.hostname.file"),
                "hostname",
                "web\n",
                0o644,
                Some("/etc/hostname")
            )
        );
        let (req, name, contents, mode, at) = files[1];
        assert_eq!(
            (req, name, mode, at),
            (
                requirement!("names.hosts.localhost"),
                "hosts",
                0o644,
                Some("/etc/hosts")
            )
        );
        assert!(contents.contains("127.0.0.1\tweb\n"), "{contents}");
    }

    #[test]
    fn invalid_ids_are_rejected() {
        for bad in ["", ".", "..", "a/b", "a b", "ä"] {
            assert!(
                matches!(
                    hostname_for(&RunOptions::default(), bad),
                    Err(Error::InvalidOption { field: "id", .. })
                ),
                "{bad:?}"
            );
        }
    }
}
