//! Isolation: the namespaces the container gets and the user-namespace id mappings.
//!
//! The pid, ipc, uts and mount namespaces are always private ([`PRIVATE_NAMESPACES`]). The
//! network namespace is private only in [`NetworkMode::Private`]: by default locald shares the
//! host network, so apps listen on host ports ([`private_network`]). A user namespace with the
//! single mapping (host uid/gid -> 0, size 1) is added when the caller asks for
//! [`IdMapping`](crate::IdMapping), which is how an unprivileged user runs containers
//! (`plan_user_namespace`).
//!
//! The container's hostname, which the private UTS namespace makes possible, is chosen in
//! [`crate::names`].

use locald_spec_macros::implements;

use crate::ids;
use crate::options::{NetworkMode, RunOptions};
use crate::plan::{IdKind, Item, Namespace, Plan};

/// The namespaces every container gets a private instance of, each with the requirement that
/// asks for it.
#[implements(
    "isolation.namespaces.pid",
    "isolation.namespaces.ipc",
    "isolation.namespaces.uts",
    "isolation.namespaces.mount"
)]
pub const PRIVATE_NAMESPACES: [(Namespace, &str); 4] = [
    (Namespace::Pid, ids::ISOLATION_NAMESPACES_PID),
    (Namespace::Ipc, ids::ISOLATION_NAMESPACES_IPC),
    (Namespace::Uts, ids::ISOLATION_NAMESPACES_UTS),
    (Namespace::Mount, ids::ISOLATION_NAMESPACES_MOUNT),
];

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
        ids::ISOLATION_NAMESPACES_USER,
        Item::Namespace {
            namespace: Namespace::User,
        },
    );
    for (kind, host_id) in [(IdKind::Uid, m.host_uid), (IdKind::Gid, m.host_gid)] {
        plan.push(
            ids::ISOLATION_NAMESPACES_USER,
            Item::IdMapping {
                id: kind,
                container_id: 0,
                host_id,
                size: 1,
            },
        );
    }
}

/// Push the namespace and id-mapping entries.
pub(crate) fn plan(plan: &mut Plan, opts: &RunOptions) {
    for (namespace, requirement) in PRIVATE_NAMESPACES {
        plan.push(requirement, Item::Namespace { namespace });
    }
    if private_network(opts) {
        plan.push(
            ids::ISOLATION_NAMESPACES_NETWORK,
            Item::Namespace {
                namespace: Namespace::Network,
            },
        );
    }
    plan_user_namespace(plan, opts);
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

    #[test]
    #[verifies(
        "isolation.namespaces.pid",
        "isolation.namespaces.ipc",
        "isolation.namespaces.uts",
        "isolation.namespaces.mount",
        "isolation.namespaces.network",
        "isolation.namespaces.user"
    )]
    fn host_network_root_mode() {
        let mut p = Plan::default();
        plan(&mut p, &RunOptions::default());
        use Namespace::*;
        assert_eq!(namespaces(&p), [Pid, Ipc, Uts, Mount]);
        assert!(
            !p.entries()
                .iter()
                .any(|e| matches!(e.item, Item::IdMapping { .. }))
        );
        let reqs = p.requirements();
        assert_eq!(
            reqs,
            [
                ids::ISOLATION_NAMESPACES_PID,
                ids::ISOLATION_NAMESPACES_IPC,
                ids::ISOLATION_NAMESPACES_UTS,
                ids::ISOLATION_NAMESPACES_MOUNT,
            ]
        );
    }

    #[test]
    #[verifies("isolation.namespaces.network", "isolation.namespaces.user")]
    fn private_network_and_rootless_mapping() {
        let opts = RunOptions {
            network: NetworkMode::Private,
            id_mapping: Some(IdMapping {
                host_uid: 1000,
                host_gid: 1001,
            }),
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(&mut p, &opts);
        use Namespace::*;
        assert_eq!(namespaces(&p), [Pid, Ipc, Uts, Mount, Network, User]);
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
                    size: 1
                },
                &Item::IdMapping {
                    id: IdKind::Gid,
                    container_id: 0,
                    host_id: 1001,
                    size: 1
                },
            ]
        );
    }

    #[test]
    #[verifies("isolation.namespaces.user")]
    fn rootless_host_network_keeps_the_host_network() {
        let opts = RunOptions {
            id_mapping: Some(IdMapping {
                host_uid: 1000,
                host_gid: 1000,
            }),
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(&mut p, &opts);
        use Namespace::*;
        assert_eq!(namespaces(&p), [Pid, Ipc, Uts, Mount, User]);
    }
}
