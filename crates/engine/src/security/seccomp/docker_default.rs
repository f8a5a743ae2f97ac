//! Docker's default profile as data compiled in: `build.rs` writes it from
//! [`super::DOCKER_DEFAULT_PROFILE`] (`$OUT_DIR/docker_default.rs`), and [`profile`] builds the
//! [`Profile`] from it with no JSON to parse at run time. Its enums stay the strings the profile
//! spells, read into oci-spec's types through their serde names, the ones parsing uses.

use oci_spec::runtime::LinuxSeccompArgBuilder;
use serde::de::{DeserializeOwned, IntoDeserializer, value::Error as ValueError};

use super::{ArchMapEntry, Filter, Profile, Rule};

/// The profile's top level.
pub(super) struct ProfileData {
    default_action: &'static str,
    default_errno_ret: Option<u32>,
    /// `archMap`: each native architecture and its sub-architectures.
    arch_map: &'static [(&'static str, &'static [&'static str])],
    syscalls: &'static [RuleData],
}

/// One rule of `syscalls`.
pub(super) struct RuleData {
    names: &'static [&'static str],
    action: &'static str,
    errno_ret: Option<u32>,
    /// `args`: index, value, valueTwo, op.
    args: &'static [(usize, u64, Option<u64>, &'static str)],
    comment: Option<&'static str>,
    includes: Option<FilterData>,
    excludes: Option<FilterData>,
}

/// A rule's `includes` or `excludes`.
pub(super) struct FilterData {
    caps: &'static [&'static str],
    arches: &'static [&'static str],
    min_kernel: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/docker_default.rs"));

/// The [`Profile`] of [`DEFAULT`].
pub(super) fn profile() -> Profile {
    Profile {
        default_action: named(DEFAULT.default_action),
        default_errno_ret: DEFAULT.default_errno_ret,
        architectures: Vec::new(),
        arch_map: DEFAULT
            .arch_map
            .iter()
            .map(|(arch, subs)| ArchMapEntry {
                architecture: named(arch),
                sub_architectures: subs.iter().map(|s| named(s)).collect(),
            })
            .collect(),
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
        syscalls: DEFAULT.syscalls.iter().map(RuleData::rule).collect(),
    }
}

impl RuleData {
    fn rule(&self) -> Rule {
        Rule {
            names: strings(self.names),
            name: None,
            action: named(self.action),
            errno_ret: self.errno_ret,
            args: self
                .args
                .iter()
                .map(|&(index, value, value_two, op)| {
                    let arg = LinuxSeccompArgBuilder::default()
                        .index(index)
                        .value(value)
                        .op(named::<oci_spec::runtime::LinuxSeccompOperator>(op));
                    match value_two {
                        Some(v) => arg.value_two(v),
                        None => arg,
                    }
                    .build()
                    .expect("index, value and op are set")
                })
                .collect(),
            comment: self.comment.map(str::to_owned),
            includes: self.includes.as_ref().map(FilterData::filter),
            excludes: self.excludes.as_ref().map(FilterData::filter),
        }
    }
}

impl FilterData {
    fn filter(&self) -> Filter {
        Filter {
            caps: strings(self.caps),
            arches: strings(self.arches),
            min_kernel: self.min_kernel.map(str::to_owned),
        }
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The enum value whose serde name is `name` (`SCMP_ACT_ALLOW`). The profile is fixed at build
/// time and its every value is read by the tests, so a name oci-spec does not know is a bug
/// here, not an input error.
fn named<T: DeserializeOwned>(name: &str) -> T {
    T::deserialize(IntoDeserializer::<ValueError>::into_deserializer(name))
        .unwrap_or_else(|e| panic!("docker-default.json: {name}: {e}"))
}
