//! The seccomp filter: Docker's default profile, evaluated for the container's capabilities,
//! the host's architecture and kernel (`security.seccomp.default`); the caller's choice of no
//! filter or a profile of its own (`security.seccomp.caller`); and the one syscall the nested
//! user namespace needs (`security.seccomp.nested-userns`).
//!
//! The profile is moby's `seccomp/default.json`, embedded verbatim ([`DOCKER_DEFAULT_PROFILE`],
//! vendored with its source and license in `seccomp/README.md`), not a syscall list written
//! here: the list is long, moby maintains it, and a copy re-typed by hand would drift. A
//! profile is in Docker's format ([`Profile`]): the runtime-spec's `LinuxSeccomp` plus
//! `archMap` and rules carrying `includes`/`excludes` conditions, which [`Profile::resolve`]
//! evaluates as moby's `setupSeccomp` (`seccomp/seccomp_linux.go`) does, giving the
//! runtime-spec `linux.seccomp` that runc or libcontainer loads.

use locald_spec_macros::implements;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::plan::{Item, Plan};
use crate::requirement;
use crate::security::capabilities::ALL_CAPABILITIES;

mod docker_default;

/// Docker's default seccomp profile, moby/profiles `seccomp/default.json`, verbatim.
#[implements("security.seccomp.default")]
pub const DOCKER_DEFAULT_PROFILE: &str = include_str!("seccomp/docker-default.json");

/// Where [`DOCKER_DEFAULT_PROFILE`] comes from (what `explain` prints).
pub const DOCKER_DEFAULT_SOURCE: &str =
    "Docker's default profile (moby/profiles seccomp/default.json at cd3bed80)";

/// `CLONE_NEWUSER` (`<linux/sched.h>`): the only flag the nested user namespace's `unshare`
/// passes.
pub const CLONE_NEWUSER: u64 = 0x1000_0000;

/// The seccomp filter the container gets ([`crate::RunOptions::seccomp`]).
///
/// ```
/// use locald_engine::security::seccomp::{Profile, Seccomp};
///
/// assert_eq!(Seccomp::default(), Seccomp::Default);
/// // `--security-opt seccomp=PATH`: a profile in Docker's format.
/// let own = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_LOG"}"#)?;
/// let custom = Seccomp::Custom(Box::new(own));
/// assert_ne!(custom, Seccomp::Unconfined);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's default profile ([`DOCKER_DEFAULT_PROFILE`]), evaluated for the container's
    /// capabilities (`security.seccomp.default`).
    #[default]
    Default,
    /// No filter (`--security-opt seccomp=unconfined`): `config.json` has no `linux.seccomp`.
    Unconfined,
    /// The caller's profile, in Docker's format, evaluated like the default.
    Custom(Box<Profile>),
}

/// A seccomp profile in Docker's format: the runtime-spec's `LinuxSeccomp` fields, with
/// `archMap` and conditional rules (moby `seccomp/seccomp.go`, type `Seccomp`). A plain
/// runtime-spec `linux.seccomp` object is one too.
///
/// Unlike Docker, a field this engine does not know is refused, not ignored: a misspelt
/// `syscalls` would otherwise leave a filter that denies everything, or a misspelt `args`
/// one that allows a syscall for every argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// The action for a syscall no rule names.
    pub default_action: LinuxSeccompAction,
    /// The errno of the default action, when it is `SCMP_ACT_ERRNO` (EPERM, 1, for Docker's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// The architectures, as the runtime-spec lists them (exclusive with `arch_map`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architectures: Vec<Arch>,
    /// Per native architecture, the ones to add with it (Docker's; exclusive with
    /// `architectures`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arch_map: Vec<ArchMapEntry>,
    /// Filter flags.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    /// The socket of a seccomp agent, for `SCMP_ACT_NOTIFY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<std::path::PathBuf>,
    /// Data for the seccomp agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    /// The rules, in order.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub syscalls: Vec<Rule>,
}

/// An `archMap` entry: a native architecture and the sub-architectures it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchMapEntry {
    /// The native architecture.
    pub architecture: Arch,
    /// The ones added when it is the host's.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sub_architectures: Vec<Arch>,
}

/// A rule of a Docker-format profile: a runtime-spec syscall rule with a condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// The syscalls.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub names: Vec<String>,
    /// One syscall (Docker's older format; exclusive with `names`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The action.
    pub action: LinuxSeccompAction,
    /// The errno, for `SCMP_ACT_ERRNO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Argument comparisons, all of which must hold.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<LinuxSeccompArg>,
    /// A note for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The rule applies only when all of these hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Filter>,
    /// The rule is left out when any of these holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<Filter>,
}

/// A rule's condition (moby's `Filter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// Capabilities of the container's bounding set.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub caps: Vec<String>,
    /// Native architectures, in libseccomp's names (`amd64`, `arm64`, `x32`, ...).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arches: Vec<String>,
    /// The running kernel is at least this `MAJOR.MINOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

/// What the conditions are evaluated against: the container's capabilities and the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The container's bounding set (`CAP_*` names).
    pub capabilities: &'a [String],
    /// The host's native architecture: its libseccomp name (`amd64`), as moby maps `GOARCH`,
    /// and its runtime-spec `Arch` ([`native_arch`]); `None` for one moby does not list.
    pub arch: Option<(&'static str, Arch)>,
    /// The running kernel's `(major, minor)`; `None` when unknown, which fails every
    /// `includes.minKernel` and no `excludes.minKernel` (the rule stays strict).
    pub kernel: Option<(u32, u32)>,
}

/// The host's native architecture as libseccomp names it (moby's `goToNative`), and its
/// runtime-spec `Arch`.
pub fn native_arch() -> Option<(&'static str, Arch)> {
    Some(match std::env::consts::ARCH {
        "x86_64" => ("amd64", Arch::ScmpArchX86_64),
        "x86" => ("x86", Arch::ScmpArchX86),
        "aarch64" => ("arm64", Arch::ScmpArchAarch64),
        "arm" => ("arm", Arch::ScmpArchArm),
        "riscv64" => ("riscv64", Arch::ScmpArchRiscv64),
        "s390x" => ("s390x", Arch::ScmpArchS390x),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", Arch::ScmpArchPpc64le),
        "powerpc64" => ("ppc64", Arch::ScmpArchPpc64),
        "loongarch64" => ("loong64", Arch::ScmpArchLoongarch64),
        _ => return None,
    })
}

/// `MAJOR.MINOR` of a kernel release (`6.1.0-18-amd64` is `(6, 1)`), as moby's `parseRelease`.
///
/// ```
/// use locald_engine::security::seccomp::kernel_version;
///
/// assert_eq!(kernel_version("6.1.0-18-amd64"), Some((6, 1)));
/// assert_eq!(kernel_version("3.12-rc5"), Some((3, 12)));
/// assert_eq!(kernel_version("six"), None);
/// ```
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// A `minKernel` value: exactly `MAJOR.MINOR`, not `0.0`.
fn min_kernel(text: &str) -> std::result::Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a kernel version MAJOR.MINOR (\"4.8\")");
    let (major, minor) = text.split_once('.').ok_or_else(bad)?;
    let v: (u32, u32) = (
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    );
    if v == (0, 0) {
        return Err(bad());
    }
    Ok(v)
}

/// A list that may be `null` (Go writes a nil slice so, and moby's profile has
/// `"subArchitectures": null`): empty.
fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Deserialize one JSON object key by key, so that an error names the field it is about
/// (`syscalls[3].action: unknown variant ...`), then as a whole (a missing field).
fn parse_object<T: DeserializeOwned>(
    object: &Map<String, Value>,
    path: &str,
) -> std::result::Result<T, String> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    for (key, value) in object {
        let one = Map::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = serde_json::from_value::<T>(Value::Object(one)) {
            let e = e.to_string();
            // With one key, the others are missing: that is for the whole object to say.
            if !e.starts_with("missing field") {
                return Err(format!("{}: {e}", at(key)));
            }
        }
    }
    serde_json::from_value(Value::Object(object.clone())).map_err(|e| {
        if path.is_empty() {
            e.to_string()
        } else {
            format!("{path}: {e}")
        }
    })
}

/// The JSON object of `value`, or an error naming `path`.
fn object<'v>(value: &'v Value, path: &str) -> std::result::Result<&'v Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{path}: expected an object, found {value}"))
}

impl Profile {
    /// Docker's default profile ([`DOCKER_DEFAULT_PROFILE`]).
    ///
    /// ```
    /// use locald_engine::security::seccomp::Profile;
    ///
    /// let docker = Profile::docker_default();
    /// assert_eq!(docker.default_errno_ret, Some(1)); // EPERM
    /// assert!(docker.syscalls[0].names.iter().any(|n| n == "read"));
    /// ```
    #[implements("security.seccomp.default")]
    pub fn docker_default() -> Profile {
        Self::docker_default_ref().clone()
    }

    /// [`Profile::docker_default`], borrowed: what planning resolves, without a copy of its
    /// 400 names.
    pub(crate) fn docker_default_ref() -> &'static Profile {
        // Built once per process from data compiled in (`docker_default`, which build.rs
        // writes from the JSON), not parsed: parsing the 20 KB made Plan::build 30 times
        // slower (230 µs instead of 7, crates/engine/benches/prepare.rs), and the one typed
        // pass it had become was still a twentieth of a `locald-engine run`'s own time. The
        // tests `the_default_profile_parses_as_a_callers_would` and
        // `the_default_profile_is_valid` hold the data to the JSON and to `check`.
        static DOCKER: std::sync::OnceLock<Profile> = std::sync::OnceLock::new();
        DOCKER.get_or_init(docker_default::profile)
    }

    /// Parse and check a profile in Docker's format. The error names the field at fault
    /// (`syscalls[2].action: unknown variant ...`, `syscalls[0]: both name and names`).
    ///
    /// ```
    /// use locald_engine::security::seccomp::Profile;
    ///
    /// let err = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_ERRNO",
    ///     "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}"#).unwrap_err();
    /// assert!(err.starts_with("syscalls[0].action: unknown variant `SCMP_ACT_ALOW`"), "{err}");
    /// ```
    #[implements("security.seccomp.caller")]
    pub fn from_json(text: &str) -> std::result::Result<Profile, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let top = object(&value, "the profile")?;
        let mut rest = top.clone();
        let mut syscalls = Vec::new();
        if let Some(list) = rest.remove("syscalls").filter(|v| !v.is_null()) {
            let list = list
                .as_array()
                .ok_or_else(|| format!("syscalls: expected an array, found {list}"))?;
            for (i, rule) in list.iter().enumerate() {
                let path = format!("syscalls[{i}]");
                syscalls.push(parse_object::<Rule>(object(rule, &path)?, &path)?);
            }
        }
        if let Some(map) = rest.get("archMap").and_then(Value::as_array) {
            for (i, entry) in map.iter().enumerate() {
                let path = format!("archMap[{i}]");
                parse_object::<ArchMapEntry>(object(entry, &path)?, &path)?;
            }
        }
        rest.insert("syscalls".into(), Value::Array(Vec::new()));
        let mut profile: Profile = parse_object(&rest, "")?;
        profile.syscalls = syscalls;
        profile.check()?;
        Ok(profile)
    }

    /// What JSON cannot say wrong and the runtime would refuse or misread.
    fn check(&self) -> std::result::Result<(), String> {
        if !self.architectures.is_empty() && !self.arch_map.is_empty() {
            return Err("architectures and archMap: use one or the other".into());
        }
        for (i, rule) in self.syscalls.iter().enumerate() {
            let path = format!("syscalls[{i}]");
            match (&rule.name, rule.names.is_empty()) {
                (Some(_), false) => return Err(format!("{path}: both name and names")),
                (None, true) => return Err(format!("{path}.names: no syscall named")),
                (Some(n), true) if n.is_empty() => {
                    return Err(format!("{path}.name: empty"));
                }
                _ => {}
            }
            if let Some(j) = rule.names.iter().position(String::is_empty) {
                return Err(format!("{path}.names[{j}]: empty"));
            }
            for (j, arg) in rule.args.iter().enumerate() {
                if arg.index() > 5 {
                    return Err(format!(
                        "{path}.args[{j}].index: {} is not an argument index (0 to 5)",
                        arg.index()
                    ));
                }
            }
            for (which, filter) in [("includes", &rule.includes), ("excludes", &rule.excludes)] {
                let Some(filter) = filter else { continue };
                if let Some(c) = filter
                    .caps
                    .iter()
                    .find(|c| !ALL_CAPABILITIES.contains(&c.as_str()))
                {
                    return Err(format!(
                        "{path}.{which}.caps: unknown capability {c:?} (a capabilities(7) name, \
                         CAP_SYS_ADMIN say)"
                    ));
                }
                if let Some(k) = &filter.min_kernel {
                    min_kernel(k).map_err(|e| format!("{path}.{which}.minKernel: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// The runtime-spec filter for `target`, as moby's `setupSeccomp` computes it: the
    /// `archMap` entry of the host's architecture gives the architectures; a rule is kept when
    /// its `includes` all hold (every listed capability in the set, the host's architecture
    /// listed, the kernel at least `minKernel`) and none of its `excludes` does.
    ///
    /// ```
    /// use locald_engine::security::seccomp::{native_arch, Profile, Target};
    ///
    /// let docker = Profile::docker_default();
    /// let allowed = |caps: &[String]| {
    ///     let target = Target { capabilities: caps, arch: native_arch(), kernel: Some((6, 1)) };
    ///     let filter = docker.resolve(&target);
    ///     filter.syscalls().as_ref().unwrap().iter()
    ///         .filter(|r| r.args().is_none() && r.errno_ret().is_none())
    ///         .any(|r| r.names().iter().any(|n| n == "mount"))
    /// };
    /// assert!(!allowed(&[]));
    /// assert!(allowed(&["CAP_SYS_ADMIN".to_string()]));
    /// ```
    #[implements("security.seccomp.default", "security.seccomp.caller")]
    pub fn resolve(&self, target: &Target<'_>) -> LinuxSeccomp {
        let mut architectures = self.architectures.clone();
        if let Some((_, native)) = target.arch
            && let Some(entry) = self.arch_map.iter().find(|e| e.architecture == native)
        {
            architectures.push(entry.architecture);
            architectures.extend(&entry.sub_architectures);
        }
        let kernel_at_least = |v: &str| {
            let want = min_kernel(v).unwrap_or((u32::MAX, u32::MAX));
            target.kernel.is_some_and(|k| k >= want)
        };
        let has = |c: &String| target.capabilities.contains(c);
        let on_arch = |arches: &[String]| {
            target
                .arch
                .is_some_and(|(a, _)| arches.iter().any(|x| x == a))
        };
        let mut syscalls = Vec::new();
        for rule in &self.syscalls {
            if let Some(x) = &rule.excludes
                && ((!x.arches.is_empty() && on_arch(&x.arches))
                    || x.caps.iter().any(has)
                    || x.min_kernel.as_deref().is_some_and(kernel_at_least))
            {
                continue;
            }
            if let Some(i) = &rule.includes
                && ((!i.arches.is_empty() && !on_arch(&i.arches))
                    || !i.caps.iter().all(has)
                    || i.min_kernel.as_deref().is_some_and(|v| !kernel_at_least(v)))
            {
                continue;
            }
            let mut call = LinuxSyscall::default();
            call.set_names(match &rule.name {
                Some(n) => vec![n.clone()],
                None => rule.names.clone(),
            });
            call.set_action(rule.action);
            call.set_errno_ret(rule.errno_ret);
            call.set_args((!rule.args.is_empty()).then(|| rule.args.clone()));
            syscalls.push(call);
        }
        let mut filter = LinuxSeccomp::default();
        filter
            .set_default_action(self.default_action)
            .set_default_errno_ret(self.default_errno_ret)
            .set_architectures((!architectures.is_empty()).then_some(architectures))
            .set_flags((!self.flags.is_empty()).then(|| self.flags.clone()))
            .set_listener_path(self.listener_path.clone())
            .set_listener_metadata(self.listener_metadata.clone())
            .set_syscalls(Some(syscalls));
        filter
    }
}

/// A runtime-spec `linux.seccomp` as a profile: every rule unconditional, as
/// [`Profile::resolve`] gives it back.
///
/// ```
/// use locald_engine::security::seccomp::{Profile, Seccomp};
///
/// let filter: oci_spec::runtime::LinuxSeccomp =
///     serde_json::from_str(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
///         {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#)?;
/// let choice = Seccomp::Custom(Box::new(Profile::from(filter)));
/// # Ok::<(), serde_json::Error>(())
/// ```
impl From<LinuxSeccomp> for Profile {
    fn from(filter: LinuxSeccomp) -> Profile {
        Profile {
            default_action: filter.default_action(),
            default_errno_ret: filter.default_errno_ret(),
            architectures: filter.architectures().clone().unwrap_or_default(),
            arch_map: Vec::new(),
            flags: filter.flags().clone().unwrap_or_default(),
            listener_path: filter.listener_path().clone(),
            listener_metadata: filter.listener_metadata().clone(),
            syscalls: filter
                .syscalls()
                .iter()
                .flatten()
                .map(|call| Rule {
                    names: call.names().clone(),
                    name: None,
                    action: call.action(),
                    errno_ret: call.errno_ret(),
                    args: call.args().clone().unwrap_or_default(),
                    comment: None,
                    includes: None,
                    excludes: None,
                })
                .collect(),
        }
    }
}

/// Whether `filter` allows `name` for every argument (a rule without comparisons).
pub fn allows_unconditionally(filter: &LinuxSeccomp, name: &str) -> bool {
    filter.syscalls().iter().flatten().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow
            && r.args().as_ref().is_none_or(Vec::is_empty)
            && r.names().iter().any(|n| n == name)
    })
}

/// The rule the nested user namespace needs: `unshare` allowed when its flags are exactly
/// `CLONE_NEWUSER`, the init's one call (`isolation.namespaces.user-nested`), and for no other
/// flag — no mount, PID or network namespace, which is what the default profile keeps from a
/// container without `CAP_SYS_ADMIN`.
#[implements("security.seccomp.nested-userns")]
pub fn nested_userns_rule() -> LinuxSyscall {
    let arg = LinuxSeccompArgBuilder::default()
        .index(0usize)
        .value(CLONE_NEWUSER)
        .op(LinuxSeccompOperator::ScmpCmpEq)
        .build()
        .expect("every field is set");
    let mut rule = LinuxSyscall::default();
    rule.set_names(vec!["unshare".into()]);
    rule.set_action(LinuxSeccompAction::ScmpActAllow);
    rule.set_args(Some(vec![arg]));
    rule
}

/// Push the container's filter: the default profile or the caller's, resolved for the
/// capabilities planned so far (the security duty's and the caller's, which are final by then),
/// or the caller's "unconfined"; and, with the default profile, the nested user namespace's
/// rule when the plan has one and the profile does not already allow `unshare`.
pub(crate) fn plan_seccomp(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    let target_caps: Vec<String> = plan
        .entries()
        .iter()
        .filter_map(|e| match &e.item {
            Item::Capability { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let target = Target {
        capabilities: &target_caps,
        arch: native_arch(),
        kernel: ctx.input.host_files.facts.kernel,
    };
    let nested = plan
        .entries()
        .iter()
        .any(|e| matches!(e.item, Item::NestedUserNamespace { .. }));
    plan_filter(plan, &ctx.options().seccomp, &target, nested)
}

/// [`plan_seccomp`] for a given choice and target.
#[implements(
    "security.seccomp.default",
    "security.seccomp.caller",
    "security.seccomp.nested-userns"
)]
fn plan_filter(plan: &mut Plan, choice: &Seccomp, target: &Target<'_>, nested: bool) -> Result<()> {
    match choice {
        Seccomp::Default => {
            let filter = Profile::docker_default_ref().resolve(target);
            let needs_rule = nested && !allows_unconditionally(&filter, "unshare");
            plan.push(
                requirement!("security.seccomp.default"),
                Item::Seccomp {
                    filter: Some(Box::new(filter)),
                    source: DOCKER_DEFAULT_SOURCE.into(),
                },
            );
            if needs_rule {
                plan.push(
                    requirement!("security.seccomp.nested-userns"),
                    Item::SeccompRule {
                        rule: nested_userns_rule(),
                    },
                );
            }
        }
        Seccomp::Unconfined => plan.push(
            requirement!("security.seccomp.caller"),
            Item::Seccomp {
                filter: None,
                source: "unconfined, as the caller asked".into(),
            },
        ),
        Seccomp::Custom(profile) => {
            profile.check().map_err(|reason| Error::InvalidOption {
                field: "seccomp",
                reason,
            })?;
            plan.push(
                requirement!("security.seccomp.caller"),
                Item::Seccomp {
                    filter: Some(Box::new(profile.resolve(target))),
                    source: "the caller's profile".into(),
                },
            );
        }
    }
    Ok(())
}

/// A one-line account of a filter, for `explain`: its default action, how many rules and
/// syscalls, its architectures.
pub fn describe(filter: &LinuxSeccomp) -> String {
    let rules = filter.syscalls().as_deref().unwrap_or_default();
    let names: std::collections::BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow)
        .flat_map(|r| r.names().iter().map(String::as_str))
        .collect();
    let errno = filter
        .default_errno_ret()
        .map(|e| format!(" (errno {e})"))
        .unwrap_or_default();
    let arches: Vec<String> = filter
        .architectures()
        .iter()
        .flatten()
        .map(|a| a.to_string())
        .collect();
    format!(
        "default {}{errno}, {} rules allowing {} syscalls, architectures [{}]",
        filter.default_action(),
        rules.len(),
        names.len(),
        arches.join(", ")
    )
}

/// A one-line account of a rule, for `explain`.
pub fn describe_rule(rule: &LinuxSyscall) -> String {
    let args: Vec<String> = rule
        .args()
        .iter()
        .flatten()
        .map(|a| format!("arg{} {} {:#x}", a.index(), a.op(), a.value()))
        .collect();
    format!(
        "{} {} when {}",
        rule.action(),
        rule.names().join(","),
        if args.is_empty() {
            "always".into()
        } else {
            args.join(" and ")
        }
    )
}

#[cfg(test)]
mod tests;
