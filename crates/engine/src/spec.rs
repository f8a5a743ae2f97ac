//! Materialize a [`Plan`] as an OCI runtime [`Spec`].
//!
//! The spec is built from scratch (not from `Spec::default()`), so everything in `config.json`
//! comes from a plan entry and therefore from a requirement.

use std::collections::HashSet;
use std::path::PathBuf;

use locald_spec_macros::implements;
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilities, LinuxCapabilitiesBuilder,
    LinuxDeviceCgroupBuilder, LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimitBuilder, PosixRlimitType,
    ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::error::{Error, Result};
use crate::plan::{IdKind, Item, Namespace, Plan};

/// The runtime-spec version written into `config.json` (what runc 1.1 implements).
pub const OCI_VERSION: &str = "1.0.2";

/// The init's option that runs the workload in a nested user namespace as `UID:GID`.
#[implements("isolation.namespaces.user-nested")]
pub const INIT_USERNS_OPTION: &str = "--userns";

/// The init's option naming the signal it forwards to the workload when its parent, the
/// runtime, dies: the container's stop signal.
#[implements("signals.init.parent-death", "lifecycle.engine-death")]
pub const INIT_PARENT_DEATH_OPTION: &str = "--parent-death";

/// The init's option naming the descriptor of the engine's lifeline: a pipe whose write end
/// only the engine holds, so that an init started after the engine died does not start the
/// workload.
#[implements("signals.init.parent-death", "lifecycle.engine-death")]
pub const INIT_LIFELINE_OPTION: &str = "--lifeline";

/// The lifeline's descriptor in the runtime's process and the init's: the first one runc's
/// `--preserve-fds` passes on.
pub const LIFELINE_FD: i32 = 3;

/// Whether the process arguments `args` are the engine's init's, given `--lifeline 3` among
/// its options (before its `--`): a workload's own arguments never count.
#[cfg(any(feature = "runc", test))]
pub(crate) fn takes_lifeline(args: &[String]) -> bool {
    let Some((program, rest)) = args.split_first() else {
        return false;
    };
    let options = rest.split(|a| a == "--").next().unwrap_or_default();
    let fd = LIFELINE_FD.to_string();
    program == crate::stopping::INIT_TARGET
        && options
            .windows(2)
            .any(|w| w[0] == INIT_LIFELINE_OPTION && w[1] == fd)
}

fn spec_err(e: impl std::fmt::Display) -> Error {
    Error::Spec {
        reason: e.to_string(),
    }
}

fn ns_type(ns: Namespace) -> LinuxNamespaceType {
    match ns {
        Namespace::Pid => LinuxNamespaceType::Pid,
        Namespace::Ipc => LinuxNamespaceType::Ipc,
        Namespace::Uts => LinuxNamespaceType::Uts,
        Namespace::Mount => LinuxNamespaceType::Mount,
        Namespace::Network => LinuxNamespaceType::Network,
        Namespace::User => LinuxNamespaceType::User,
        Namespace::Cgroup => LinuxNamespaceType::Cgroup,
    }
}

/// The process capability sets: `caps` in the bounding, effective and permitted sets; the
/// inheritable and ambient sets absent, so no capability survives an execve into a non-root
/// program (CVE-2022-29162).
#[implements("security.capabilities.default")]
fn capability_sets(caps: HashSet<Capability>) -> Result<LinuxCapabilities> {
    let mut sets = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .build()
        .map_err(spec_err)?;
    // The builder fills unset sets from oci-spec's defaults (a long list); these two sets
    // must stay empty.
    sets.set_inheritable(None).set_ambient(None);
    Ok(sets)
}

/// The filter with the rules other duties added after its own; rules without a filter are an
/// error (nothing would apply them).
#[implements("security.seccomp.default", "security.seccomp.nested-userns")]
fn seccomp_with_rules(
    filter: Option<oci_spec::runtime::LinuxSeccomp>,
    rules: Vec<oci_spec::runtime::LinuxSyscall>,
) -> Result<Option<oci_spec::runtime::LinuxSeccomp>> {
    match filter {
        Some(mut filter) => {
            if !rules.is_empty() {
                let mut all = filter.syscalls().clone().unwrap_or_default();
                all.extend(rules);
                filter.set_syscalls(Some(all));
            }
            Ok(Some(filter))
        }
        None if rules.is_empty() => Ok(None),
        None => Err(spec_err("seccomp rules without a seccomp filter")),
    }
}

fn rlimit_type(name: &str) -> Result<PosixRlimitType> {
    match name {
        "RLIMIT_NOFILE" => Ok(PosixRlimitType::RlimitNofile),
        "RLIMIT_NPROC" => Ok(PosixRlimitType::RlimitNproc),
        "RLIMIT_CORE" => Ok(PosixRlimitType::RlimitCore),
        other => Err(spec_err(format!("unsupported rlimit {other}"))),
    }
}

impl Plan {
    /// The OCI runtime spec for this plan.
    ///
    /// ```
    /// # use locald_engine::{identity::IdentityFiles, Plan, PlanInput, RunOptions};
    /// # use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
    /// # let image = ImageConfigurationBuilder::default()
    /// #     .config(ConfigBuilder::default().cmd(vec!["sh".to_string()]).build()?).build()?;
    /// # let plan = Plan::build(&PlanInput { image: &image, identity_files: &IdentityFiles::default(),
    /// #     host_files: &Default::default(), options: &RunOptions::default(), rootfs: "/r".as_ref(), state_dir: "/s".as_ref(), id: "c1" })?;
    /// let spec = plan.to_spec()?;
    /// assert_eq!(spec.process().as_ref().unwrap().args().as_ref().unwrap(), &["sh"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_spec(&self) -> Result<Spec> {
        let mut root = RootBuilder::default();
        let mut hostname = None;
        let (mut uid, mut gid, mut gids) = (0, 0, Vec::new());
        let (mut args, mut cwd, mut terminal) = (Vec::new(), "/".to_string(), false);
        let mut env = Vec::new();
        let mut mounts: Vec<Mount> = Vec::new();
        let mut rlimits = Vec::new();
        let mut caps: HashSet<Capability> = HashSet::new();
        let mut nnp = false;
        let (mut masked, mut readonly) = (Vec::new(), Vec::new());
        let mut namespaces = Vec::new();
        let (mut uid_maps, mut gid_maps) = (Vec::new(), Vec::new());
        let mut devices = Vec::new();
        let mut init: Option<String> = None;
        let mut nested: Option<(u32, u32)> = None;
        let mut umask = None;
        let mut oom_score_adj = None;
        let mut engine_userns = false;
        let mut sysctls = std::collections::HashMap::new();
        let mut seccomp: Option<oci_spec::runtime::LinuxSeccomp> = None;
        let mut seccomp_rules = Vec::new();

        for entry in self.entries() {
            match &entry.item {
                Item::Root { readonly, .. } => {
                    root = root
                        .path(PathBuf::from(crate::layer::ROOTFS_DIR))
                        .readonly(*readonly);
                }
                Item::Namespace { namespace } => namespaces.push(
                    LinuxNamespaceBuilder::default()
                        .typ(ns_type(*namespace))
                        .build()
                        .map_err(spec_err)?,
                ),
                // The engine creates this user namespace and runs the runtime in it: the
                // container shares it, so config.json names none.
                Item::IdMapping {
                    created_by: crate::options::UsernsCreator::Engine,
                    ..
                } => engine_userns = true,
                Item::IdMapping {
                    id,
                    container_id,
                    host_id,
                    size,
                    ..
                } => {
                    let m = LinuxIdMappingBuilder::default()
                        .container_id(*container_id)
                        .host_id(*host_id)
                        .size(*size)
                        .build()
                        .map_err(spec_err)?;
                    match id {
                        IdKind::Uid => uid_maps.push(m),
                        IdKind::Gid => gid_maps.push(m),
                    }
                }
                Item::Hostname { name } => hostname = Some(name.clone()),
                Item::User { uid: u, gid: g } => (uid, gid) = (*u, *g),
                Item::AdditionalGids { gids: g } => gids = g.clone(),
                Item::File { .. } => {}
                Item::Args { args: a } => args = a.clone(),
                Item::Cwd { path } => cwd = path.clone(),
                Item::Terminal { enabled } => terminal = *enabled,
                Item::Env { key, value } => env.push(format!("{key}={value}")),
                Item::Mount(m) => mounts.push(
                    MountBuilder::default()
                        .destination(PathBuf::from(&m.destination))
                        .typ(m.typ.clone())
                        .source(PathBuf::from(&m.source))
                        .options(m.options.clone())
                        .build()
                        .map_err(spec_err)?,
                ),
                Item::Rlimit {
                    resource,
                    soft,
                    hard,
                } => rlimits.push(
                    PosixRlimitBuilder::default()
                        .typ(rlimit_type(resource)?)
                        .soft(*soft)
                        .hard(*hard)
                        .build()
                        .map_err(spec_err)?,
                ),
                Item::Umask { mask } => umask = Some(*mask),
                Item::OomScoreAdj { adj } => oom_score_adj = Some(*adj),
                Item::Capability { name } => {
                    caps.insert(
                        serde_json::from_value(serde_json::Value::String(name.clone()))
                            .map_err(|_| spec_err(format!("unknown capability {name}")))?,
                    );
                }
                Item::NoNewPrivileges { enabled } => nnp = *enabled,
                Item::MaskedPath { path } => masked.push(path.clone()),
                Item::ReadonlyPath { path } => readonly.push(path.clone()),
                Item::Init { target, .. } => init = Some(target.clone()),
                Item::StopSignal { .. }
                | Item::VolatileLayer
                | Item::LayerDir { .. }
                | Item::LayerFile { .. } => {}
                // Set on the built spec (`caller_fields`).
                Item::CgroupsPath { .. } | Item::Annotation { .. } => {}
                Item::NestedUserNamespace { uid: u, gid: g } => nested = Some((*u, *g)),
                Item::Sysctl { key, value } => {
                    sysctls.insert(key.clone(), value.clone());
                }
                Item::Seccomp { filter, .. } => seccomp = filter.as_deref().cloned(),
                Item::SeccompRule { rule } => seccomp_rules.push(rule.clone()),
                Item::DeviceRule { allow, access } => devices.push(
                    LinuxDeviceCgroupBuilder::default()
                        .allow(*allow)
                        .access(access.clone())
                        .build()
                        .map_err(spec_err)?,
                ),
            }
        }

        let mut init_options = Vec::new();
        let stop_signal = self.stop_signal();
        if let Some((u, g)) = nested {
            // runc can only start the init as a mapped id, the container's 0; the init maps the
            // workload's ids onto it (isolation.namespaces.user-nested).
            if init.is_none() {
                return Err(spec_err(
                    "a nested user namespace needs the init, which creates it",
                ));
            }
            init_options.extend([INIT_USERNS_OPTION.to_string(), format!("{u}:{g}")]);
            (uid, gid) = (0, 0);
        }
        if let Some(target) = init {
            init_options.extend([
                INIT_PARENT_DEATH_OPTION.to_string(),
                stop_signal.to_string(),
                INIT_LIFELINE_OPTION.to_string(),
                LIFELINE_FD.to_string(),
            ]);
            args = std::iter::once(target)
                .chain(init_options)
                .chain(["--".to_string()])
                .chain(args)
                .collect();
        }
        let mut user = UserBuilder::default()
            .uid(uid)
            .gid(gid)
            .additional_gids(gids);
        if let Some(mask) = umask {
            user = user.umask(mask);
        }
        let mut process = ProcessBuilder::default();
        if let Some(adj) = oom_score_adj {
            process = process.oom_score_adj(adj);
        }
        let process = process
            .terminal(terminal)
            .user(user.build().map_err(spec_err)?)
            .args(args)
            .env(env)
            .cwd(PathBuf::from(cwd))
            .capabilities(capability_sets(caps)?)
            .rlimits(rlimits)
            .no_new_privileges(nnp)
            .build()
            .map_err(spec_err)?;
        if engine_userns {
            namespaces.retain(|n| n.typ() != LinuxNamespaceType::User);
        }
        let mut linux = LinuxBuilder::default()
            .namespaces(namespaces)
            .masked_paths(masked)
            .readonly_paths(readonly);
        if !uid_maps.is_empty() {
            linux = linux.uid_mappings(uid_maps).gid_mappings(gid_maps);
        }
        if !sysctls.is_empty() {
            linux = linux.sysctl(sysctls);
        }
        if let Some(filter) = seccomp_with_rules(seccomp, seccomp_rules)? {
            linux = linux.seccomp(filter);
        }
        if !devices.is_empty() {
            linux = linux.resources(
                LinuxResourcesBuilder::default()
                    .devices(devices)
                    .build()
                    .map_err(spec_err)?,
            );
        }
        let mut spec = SpecBuilder::default()
            .version(OCI_VERSION)
            .root(root.build().map_err(spec_err)?)
            .process(process)
            .mounts(mounts)
            .linux(linux.build().map_err(spec_err)?);
        if let Some(h) = hostname {
            spec = spec.hostname(h);
        }
        let mut spec = spec.build().map_err(spec_err)?;
        // Also filled from defaults by the builder: only the plan's annotations are kept.
        spec.set_annotations(None);
        self.caller_fields(&mut spec);
        Ok(spec)
    }

    /// The caller's fields that need no builder: `linux.cgroupsPath` and `annotations`.
    #[implements("isolation.cgroups-path", "lifecycle.annotations")]
    fn caller_fields(&self, spec: &mut Spec) {
        let mut annotations = std::collections::HashMap::new();
        for entry in self.entries() {
            match &entry.item {
                Item::CgroupsPath { path } => {
                    if let Some(linux) = spec.linux_mut() {
                        linux.set_cgroups_path(Some(PathBuf::from(path)));
                    }
                }
                Item::Annotation { key, value } => {
                    annotations.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        if !annotations.is_empty() {
            spec.set_annotations(Some(annotations));
        }
    }
}
