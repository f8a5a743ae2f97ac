//! Names: the container's hostname, and what a valid container id and hostname are.
//!
//! The hostname is the caller's option, else the first 12 characters of the container id
//! (Docker's rule), made a valid hostname. It is set in the container's private UTS namespace
//! (see [`crate::isolation`]) and, unless the image sets one, exported as `HOSTNAME` (see
//! [`crate::environment`]).

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::ids;
use crate::options::RunOptions;
use crate::plan::{Item, Plan};

/// Linux's HOST_NAME_MAX.
const HOST_NAME_MAX: usize = 64;

/// How many characters of the container id make the default hostname (Docker's short id).
pub const ID_PREFIX_LEN: usize = 12;

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

/// Whether `id` is a valid container id for runc: `[A-Za-z0-9_.+-]+`, not `.` or `..`,
/// at most 1024 bytes.
///
/// ```
/// assert!(locald_engine::names::valid_container_id("app_1.web"));
/// assert!(!locald_engine::names::valid_container_id("../x"));
/// ```
pub fn valid_container_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
}

/// The hostname for a container: the option, else the first 12 characters of the id (Docker's
/// rule), with characters a hostname cannot hold (`_`, `+`) replaced by `-`.
///
/// ```
/// use locald_engine::{names::hostname_for, RunOptions};
///
/// assert_eq!(hostname_for(&RunOptions::default(), "0123456789abcdef")?, "0123456789ab");
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("names.hostname.default")]
pub fn hostname_for(opts: &RunOptions, id: &str) -> Result<String> {
    if !valid_container_id(id) {
        return Err(Error::InvalidOption {
            field: "id",
            reason: format!("{id:?} is not a valid container id ([A-Za-z0-9_.+-]+)"),
        });
    }
    let name = match &opts.hostname {
        Some(h) => h.clone(),
        None => id
            .chars()
            .take(ID_PREFIX_LEN)
            .map(|c| if c == '_' || c == '+' { '-' } else { c })
            .collect::<String>()
            .trim_start_matches(['-', '.'])
            .to_owned(),
    };
    if !valid_hostname(&name) {
        return Err(Error::InvalidOption {
            field: "hostname",
            reason: format!("{name:?} is not a valid hostname (letters, digits, `-`, `.`)"),
        });
    }
    Ok(name)
}

/// Choose the hostname, push its entry, and return it.
pub(crate) fn plan(plan: &mut Plan, opts: &RunOptions, id: &str) -> Result<String> {
    let hostname = hostname_for(opts, id)?;
    plan.push(
        ids::NAMES_HOSTNAME_DEFAULT,
        Item::Hostname {
            name: hostname.clone(),
        },
    );
    Ok(hostname)
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    #[test]
    #[verifies("names.hostname.default")]
    fn hostname_defaults_to_the_first_12_characters_of_the_id() {
        let mut p = Plan::default();
        let h = plan(&mut p, &RunOptions::default(), "abcdef0123456789").unwrap();
        assert_eq!(h, "abcdef012345");
        assert_eq!(
            p.entries(),
            [crate::plan::Entry {
                requirement: ids::NAMES_HOSTNAME_DEFAULT,
                item: Item::Hostname {
                    name: "abcdef012345".into()
                }
            }]
        );
        // Shorter ids are used whole.
        assert_eq!(hostname_for(&RunOptions::default(), "c1").unwrap(), "c1");
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
