//! Isolation: the namespaces the container gets and the user-namespace id mappings.
//!
//! The pid, ipc, uts and mount namespaces are always private ([`PRIVATE_NAMESPACES`]). The
//! network namespace is private only in [`NetworkMode::Private`]: by default locald shares the
//! host network, so apps listen on host ports ([`private_network`]). A user namespace with the
//! single mapping (host uid/gid -> 0, size 1) is added when the caller asks for
//! [`IdMapping`](crate::IdMapping), which is how an unprivileged user runs containers
//! (`plan_user_namespace`). When the caller wants the host user to appear to the workload as a
//! non-zero uid and gid, the init runs the workload in a nested user namespace that maps them
//! onto the container's 0 ([`nested_user_namespace`]).
//!
//! The container's hostname, which the private UTS namespace makes possible, is chosen in
//! [`crate::names`].

use locald_spec_macros::implements;

mod cgroups;
pub use cgroups::check_cgroups_path;

use crate::duties::Context;
use crate::error::Result;
use crate::options::{NetworkMode, RunOptions};
use crate::plan::{IdKind, Item, Namespace, Plan, Requirement};
use crate::requirement;

pub mod nested;
pub mod subids;
pub mod sysctls;

/// The namespaces every container gets a private instance of, each with the requirement that
/// asks for it.
#[implements(
    "isolation.namespaces.pid",
    "isolation.namespaces.ipc",
    "isolation.namespaces.uts",
    "isolation.namespaces.mount"
)]
pub const PRIVATE_NAMESPACES: [(Namespace, Requirement); 4] = [
    (Namespace::Pid, requirement!("isolation.namespaces.pid")),
    (Namespace::Ipc, requirement!("isolation.namespaces.ipc")),
    (Namespace::Uts, requirement!("isolation.namespaces.uts")),
    (Namespace::Mount, requirement!("isolation.namespaces.mount")),
];

/// The cgroup namespace, private on every host: runc creates it after placing the process in
/// its cgroups, so `/proc/self/cgroup` names `/` and the cgroup filesystems runc mounts at
/// `/sys/fs/cgroup` have that cgroup as their root, on cgroup v2 and, measured with runc 1.1.5
/// as root and rootless, on cgroup v1 and hybrid hosts too.
#[implements("isolation.namespaces.cgroup")]
pub const CGROUP_NAMESPACE: (Namespace, Requirement) = (
    Namespace::Cgroup,
    requirement!("isolation.namespaces.cgroup"),
);

/// Whether the container gets a network namespace of its own: only in
/// [`NetworkMode::Private`]; otherwise it shares the host's.
///
/// ```
/// use locald_engine::{isolation::private_network, NetworkMode, RunOptions};
///
/// assert!(!private_network(&RunOptions::default()));
/// assert!(private_network(&RunOptions { network: NetworkMode::Private, ..Default::default() }));
/// ```
#[implements("isolation.namespaces.network")]
pub fn private_network(opts: &RunOptions) -> bool {
    opts.network == NetworkMode::Private
}

/// Push the user namespace and its single mapping (container 0 -> the host uid and gid, size
/// 1), when the caller asked for a mapping.
#[implements("isolation.namespaces.user")]
pub(crate) fn plan_user_namespace(plan: &mut Plan, opts: &RunOptions) {
    let Some(m) = opts.id_mapping else {
        return;
    };
    plan.push(
        requirement!("isolation.namespaces.user"),
        Item::Namespace {
            namespace: Namespace::User,
        },
    );
    for (kind, host_id) in [(IdKind::Uid, m.host_uid), (IdKind::Gid, m.host_gid)] {
        plan.push(
            requirement!("isolation.namespaces.user"),
            Item::IdMapping {
                id: kind,
                container_id: 0,
                host_id,
                size: 1,
                created_by: m.created_by,
            },
        );
    }
    plan_subordinate_ranges(plan, &m);
}

/// Push the subordinate ranges of `m`, the container's 1..=N, after its single mapping.
#[implements("isolation.namespaces.user-ranges")]
fn plan_subordinate_ranges(plan: &mut Plan, m: &crate::IdMapping) {
    let Some(s) = m.subordinate else {
        return;
    };
    for (kind, host_id, size) in [
        (IdKind::Uid, s.uid_start, s.uid_count),
        (IdKind::Gid, s.gid_start, s.gid_count),
    ] {
        plan.push(
            requirement!("isolation.namespaces.user-ranges"),
            Item::IdMapping {
                id: kind,
                container_id: 1,
                host_id,
                size,
                created_by: m.created_by,
            },
        );
    }
}

/// The capability the init needs to create the nested user namespace: the kernel requires
/// `CAP_SETFCAP` of the creator of a namespace whose mapping names the parent's uid 0
/// (user_namespaces(7), since Linux 5.12). Only the init uses it: the workload runs in the
/// nested namespace as a non-zero uid and holds no capability.
#[implements("isolation.namespaces.user-nested")]
pub const NESTED_USERNS_CAPABILITY: &str = "CAP_SETFCAP";

/// The uid and gid the workload runs as in a nested user namespace, when the caller's mapping
/// asks the host user to appear as a non-zero container uid or gid ([`IdMapping::nested`]).
///
/// runc needs the container's 0 mapped (it becomes root in the namespace before anything
/// else), so the container keeps the single mapping to 0, and the init maps these ids onto it
/// one namespace further down.
///
/// ```
/// use locald_engine::{isolation::nested_user_namespace, IdMapping, RunOptions};
///
/// let rootless = RunOptions { id_mapping: Some(IdMapping::new(1000, 1000)), ..Default::default() };
/// assert_eq!(nested_user_namespace(&rootless), None);
/// let keep_id = RunOptions {
///     id_mapping: Some(IdMapping::new(1000, 1000).as_ids(1001, 1000)),
///     ..Default::default()
/// };
/// assert_eq!(nested_user_namespace(&keep_id), Some((1001, 1000)));
/// ```
///
/// [`IdMapping::nested`]: crate::IdMapping::nested
#[implements("isolation.namespaces.user-nested")]
pub fn nested_user_namespace(opts: &RunOptions) -> Option<(u32, u32)> {
    opts.id_mapping
        .filter(|m| m.nested())
        .map(|m| (m.container_uid, m.container_gid))
}

/// Push the nested user namespace and the init's extra capability, when asked for.
#[implements("isolation.namespaces.user-nested")]
fn plan_nested_user_namespace(plan: &mut Plan, opts: &RunOptions) {
    let Some((uid, gid)) = nested_user_namespace(opts) else {
        return;
    };
    plan.push(
        requirement!("isolation.namespaces.user-nested"),
        Item::NestedUserNamespace { uid, gid },
    );
    plan.push(
        requirement!("isolation.namespaces.user-nested"),
        Item::Capability {
            name: NESTED_USERNS_CAPABILITY.into(),
        },
    );
}

/// Push the namespace and id-mapping entries.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_namespaces(plan, ctx.options());
    cgroups::plan_cgroups_path(plan, ctx.options())?;
    sysctls::plan_sysctls(plan, ctx.options())
}

/// The namespaces and id mappings for `opts`.
fn plan_namespaces(plan: &mut Plan, opts: &RunOptions) {
    for (namespace, requirement) in PRIVATE_NAMESPACES {
        plan.push(requirement, Item::Namespace { namespace });
    }
    if private_network(opts) {
        plan.push(
            requirement!("isolation.namespaces.network"),
            Item::Namespace {
                namespace: Namespace::Network,
            },
        );
    }
    plan_user_namespace(plan, opts);
    plan_nested_user_namespace(plan, opts);
    plan_cgroup_namespace(plan);
}

/// Push the private cgroup namespace ([`CGROUP_NAMESPACE`]).
#[implements("isolation.namespaces.cgroup")]
fn plan_cgroup_namespace(plan: &mut Plan) {
    let (namespace, requirement) = CGROUP_NAMESPACE;
    plan.push(requirement, Item::Namespace { namespace });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::IdMapping;
    use locald_spec_macros::verifies;

    fn namespaces(plan: &Plan) -> Vec<Namespace> {
        plan.entries()
            .iter()
            .filter_map(|e| match e.item {
                Item::Namespace { namespace } => Some(namespace),
                _ => None,
            })
            .collect()
    }

    /// The planned namespaces. The evidence that they hold is the running container's
    /// (`tests/e2e/isolation.rs`), which verifies the same requirements.
    #[test]
    fn host_network_root_mode() {
        let mut p = Plan::default();
        plan_namespaces(&mut p, &RunOptions::default());
        use Namespace::*;
        assert_eq!(namespaces(&p), [Pid, Ipc, Uts, Mount, Cgroup]);
        assert!(
            !p.entries()
                .iter()
                .any(|e| matches!(e.item, Item::IdMapping { .. }))
        );
        let reqs = p.requirements();
        assert_eq!(
            reqs,
            [
                requirement!("isolation.namespaces.pid"),
                requirement!("isolation.namespaces.ipc"),
                requirement!("isolation.namespaces.uts"),
                requirement!("isolation.namespaces.mount"),
                requirement!("isolation.namespaces.cgroup"),
            ]
        );
    }

    #[test]
    #[verifies("isolation.namespaces.network", "isolation.namespaces.user")]
    fn private_network_and_rootless_mapping() {
        let opts = RunOptions {
            network: NetworkMode::Private,
            id_mapping: Some(IdMapping::new(1000, 1001)),
            ..Default::default()
        };
        let mut p = Plan::default();
        plan_namespaces(&mut p, &opts);
        use Namespace::*;
        assert_eq!(
            namespaces(&p),
            [Pid, Ipc, Uts, Mount, Network, User, Cgroup]
        );
        let maps: Vec<_> = p
            .entries()
            .iter()
            .filter(|e| matches!(e.item, Item::IdMapping { .. }))
            .map(|e| &e.item)
            .collect();
        assert_eq!(
            maps,
            [
                &Item::IdMapping {
                    id: IdKind::Uid,
                    container_id: 0,
                    host_id: 1000,
                    size: 1,
                    created_by: crate::options::UsernsCreator::Runtime,
                },
                &Item::IdMapping {
                    id: IdKind::Gid,
                    container_id: 0,
                    host_id: 1001,
                    size: 1,
                    created_by: crate::options::UsernsCreator::Runtime,
                },
            ]
        );
    }

    #[test]
    #[verifies("isolation.namespaces.cgroup")]
    fn every_container_has_its_own_cgroup_namespace() {
        for opts in [
            RunOptions::default(),
            RunOptions::rootless_for_current_user(),
            RunOptions {
                network: NetworkMode::Private,
                ..Default::default()
            },
        ] {
            let mut p = Plan::default();
            plan_namespaces(&mut p, &opts);
            let cgroup: Vec<_> = p
                .entries()
                .iter()
                .filter(|e| e.requirement == requirement!("isolation.namespaces.cgroup"))
                .collect();
            assert_eq!(cgroup.len(), 1);
            assert_eq!(
                cgroup[0].item,
                Item::Namespace {
                    namespace: Namespace::Cgroup
                }
            );
            let spec = p.to_spec().unwrap();
            let types: Vec<_> = spec
                .linux()
                .as_ref()
                .unwrap()
                .namespaces()
                .as_ref()
                .unwrap()
                .iter()
                .map(|n| n.typ())
                .collect();
            assert!(
                types.contains(&oci_spec::runtime::LinuxNamespaceType::Cgroup),
                "{types:?}"
            );
        }
    }

    #[test]
    #[verifies("isolation.namespaces.user")]
    fn rootless_host_network_keeps_the_host_network() {
        let opts = RunOptions {
            id_mapping: Some(IdMapping::new(1000, 1000)),
            ..Default::default()
        };
        let mut p = Plan::default();
        plan_namespaces(&mut p, &opts);
        use Namespace::*;
        assert_eq!(namespaces(&p), [Pid, Ipc, Uts, Mount, User, Cgroup]);
    }

    fn nested_plan(init: Option<&str>, user: &str) -> crate::Result<Plan> {
        use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
        let image = ImageConfigurationBuilder::default()
            .config(
                ConfigBuilder::default()
                    .cmd(vec!["sh".to_string()])
                    .user(user)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        Plan::build(&crate::PlanInput {
            image: &image,
            identity_files: &crate::identity::IdentityFiles {
                passwd: Some("cnb:x:1000:1000::/home/cnb:/bin/sh\n".into()),
                group: Some("cnb:x:1000:\n".into()),
            },
            host_files: &crate::host_files::HostFiles::default(),
            options: &RunOptions {
                id_mapping: Some(IdMapping::new(4242, 4343).as_ids(1000, 1000)),
                init: init.map(Into::into),
                ..Default::default()
            },
            rootfs: std::path::Path::new("/img"),
            state_dir: std::path::Path::new("/state/c1"),
            id: "c1",
        })
    }

    #[test]
    #[verifies("isolation.namespaces.user-nested", "isolation.namespaces.user")]
    fn nested_mapping_keeps_runc_root_and_the_init_maps_the_workload() {
        let plan = nested_plan(Some("/usr/lib/locald/locald-init"), "cnb").unwrap();
        let spec = plan.to_spec().unwrap();
        let linux = spec.linux().as_ref().unwrap();
        // runc's own mapping is still host -> container 0.
        let uid_map = &linux.uid_mappings().as_ref().unwrap()[..];
        assert_eq!(uid_map.len(), 1);
        assert_eq!((uid_map[0].container_id(), uid_map[0].host_id()), (0, 4242));
        let gid_map = &linux.gid_mappings().as_ref().unwrap()[..];
        assert_eq!((gid_map[0].container_id(), gid_map[0].host_id()), (0, 4343));
        let process = spec.process().as_ref().unwrap();
        // The init starts as the container's root and maps the workload's ids onto it.
        assert_eq!((process.user().uid(), process.user().gid()), (0, 0));
        // Its first option; the rest of its options are the stopping chapter's.
        let args = process.args().as_ref().unwrap();
        assert_eq!(args[..3], ["/dev/init", "--userns", "1000:1000"]);
        assert_eq!(args[args.len() - 2..], ["--", "sh"]);
        let caps = process.capabilities().as_ref().unwrap();
        for set in [caps.bounding(), caps.effective(), caps.permitted()] {
            assert!(
                set.as_ref()
                    .unwrap()
                    .contains(&oci_spec::runtime::Capability::Setfcap)
            );
        }
        assert!(caps.ambient().is_none() && caps.inheritable().is_none());
        assert!(plan.entries().iter().any(|e| e.requirement
            == requirement!("isolation.namespaces.user-nested")
            && e.item
                == Item::NestedUserNamespace {
                    uid: 1000,
                    gid: 1000
                }));
        // The plan still says who the workload is.
        assert!(plan.entries().iter().any(|e| e.item
            == Item::User {
                uid: 1000,
                gid: 1000
            }));
    }

    #[test]
    #[verifies("isolation.namespaces.user-nested")]
    fn nested_mapping_needs_the_init_and_the_mapped_user() {
        let err = nested_plan(None, "cnb").unwrap_err();
        assert!(
            matches!(err, crate::Error::InvalidOption { field: "init", .. }),
            "{err}"
        );
        let err = nested_plan(Some("/init"), "0").unwrap_err();
        assert!(
            matches!(err, crate::Error::UnmappedId { id: 0, .. }),
            "{err}"
        );
        // Without a nested mapping nothing changes: no extra capability, no init option.
        let mut p = Plan::default();
        plan_namespaces(&mut p, &RunOptions::rootless_for_current_user());
        assert!(
            !p.entries()
                .iter()
                .any(|e| matches!(&e.item, Item::NestedUserNamespace { .. })
                    || matches!(&e.item, Item::Capability { .. }))
        );
    }
}
