//! Requirement IDs: every [`Plan`](crate::Plan) entry names the requirement of the locald
//! Container Engine Specification that asks for it.
//!
//! IDs have the form `chapter.topic.detail` (lowercase, dots and hyphens). They are all here so
//! that the set the engine claims to implement is visible in one place; [`ALL`] lists them.
//! Each is written through [`locald_spec_macros::requirement!`], so an ID that no requirement
//! block of the book defines (a typo, a renamed requirement) is a compile error.
//!
//! ```
//! use locald_engine::ids;
//!
//! assert!(ids::ALL.contains(&ids::FILESYSTEMS_PROC));
//! assert!(ids::ALL.iter().all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '-')));
//! ```

// identity
/// The process uid/gid come from the image `User` (or the `user` option), resolved against the
/// image's own /etc/passwd and /etc/group.
pub const IDENTITY_USER_RESOLVE: &str = locald_spec_macros::requirement!("identity.user.resolve");
/// Supplementary groups are the /etc/group memberships of the resolved user (implicit form only).
pub const IDENTITY_USER_ADDITIONAL_GIDS: &str =
    locald_spec_macros::requirement!("identity.user.additional-gids");
/// /etc/passwd in the container has an entry for the running uid (image entries kept verbatim).
pub const IDENTITY_PASSWD_CURRENT_USER: &str =
    locald_spec_macros::requirement!("identity.passwd.current-user");
/// /etc/group in the container has an entry for the running gid (image entries kept verbatim).
pub const IDENTITY_GROUP_CURRENT_GROUP: &str =
    locald_spec_macros::requirement!("identity.group.current-group");

// environment
/// The image's `Env` is passed exactly, including empty values.
pub const ENVIRONMENT_IMAGE_ENV: &str = locald_spec_macros::requirement!("environment.image-env");
/// PATH gets the conventional default when the image sets none.
pub const ENVIRONMENT_PATH_DEFAULT: &str =
    locald_spec_macros::requirement!("environment.path-default");
/// HOME comes from the user's passwd entry (else `/`) when the image sets none.
pub const ENVIRONMENT_HOME: &str = locald_spec_macros::requirement!("environment.home");
/// HOSTNAME is the container's hostname when the image sets none.
pub const ENVIRONMENT_HOSTNAME: &str = locald_spec_macros::requirement!("environment.hostname");
/// TERM=xterm is set only when the process has a terminal.
pub const ENVIRONMENT_TERM: &str = locald_spec_macros::requirement!("environment.term");
/// Caller-supplied variables are applied last, replacing by key.
pub const ENVIRONMENT_OVERRIDE: &str = locald_spec_macros::requirement!("environment.override");

// process
/// args = Entrypoint + Cmd; a caller's args replace Cmd only.
pub const PROCESS_ARGS: &str = locald_spec_macros::requirement!("process.args");
/// cwd = WorkingDir, else `/`; must be absolute and exist in the rootfs.
pub const PROCESS_CWD: &str = locald_spec_macros::requirement!("process.cwd");
/// The process gets a terminal only when asked.
pub const PROCESS_TERMINAL: &str = locald_spec_macros::requirement!("process.terminal");
/// RLIMIT_NOFILE: soft 1024, hard the engine's own hard limit.
pub const PROCESS_RLIMIT_NOFILE: &str = locald_spec_macros::requirement!("process.rlimits.nofile");
/// The process umask is 0022.
pub const PROCESS_UMASK: &str = locald_spec_macros::requirement!("process.umask");

// security
/// Default capabilities: Podman's eleven in bounding/effective/permitted.
pub const SECURITY_CAPABILITIES_DEFAULT: &str =
    locald_spec_macros::requirement!("security.capabilities.default");
/// no_new_privileges is set.
pub const SECURITY_NO_NEW_PRIVILEGES: &str =
    locald_spec_macros::requirement!("security.no-new-privileges");
/// Kernel interfaces under /proc and /sys that leak host data are masked.
pub const SECURITY_MASKED_PATHS: &str = locald_spec_macros::requirement!("security.masked-paths");
/// Kernel tunables under /proc are read-only.
pub const SECURITY_READONLY_PATHS: &str =
    locald_spec_macros::requirement!("security.readonly-paths");
/// The device cgroup denies every device not explicitly allowed by the runtime.
pub const SECURITY_DEVICES_DENY_ALL: &str =
    locald_spec_macros::requirement!("security.devices.deny-all");

// filesystems
/// The root is the container's own overlay of the image directory.
pub const FILESYSTEMS_ROOT: &str = locald_spec_macros::requirement!("filesystems.root");
/// /proc is a proc mount (nosuid, noexec, nodev).
pub const FILESYSTEMS_PROC: &str = locald_spec_macros::requirement!("filesystems.proc");
/// /dev is a small tmpfs (runc fills in the default devices).
pub const FILESYSTEMS_DEV: &str = locald_spec_macros::requirement!("filesystems.dev");
/// /dev/pts is a private devpts instance.
pub const FILESYSTEMS_DEV_PTS: &str = locald_spec_macros::requirement!("filesystems.dev-pts");
/// /dev/shm is a tmpfs.
pub const FILESYSTEMS_DEV_SHM: &str = locald_spec_macros::requirement!("filesystems.dev-shm");
/// /dev/mqueue is an mqueue mount.
pub const FILESYSTEMS_DEV_MQUEUE: &str = locald_spec_macros::requirement!("filesystems.dev-mqueue");
/// /sys is read-only sysfs (a read-only rbind of the host's in a user namespace without netns).
pub const FILESYSTEMS_SYS: &str = locald_spec_macros::requirement!("filesystems.sys");
/// /sys/fs/cgroup is a read-only cgroup mount.
pub const FILESYSTEMS_CGROUP: &str = locald_spec_macros::requirement!("filesystems.cgroup");
/// Caller-requested bind mounts.
pub const FILESYSTEMS_BIND_MOUNTS: &str =
    locald_spec_macros::requirement!("filesystems.bind-mounts");
/// /tmp is a tmpfs (nosuid, nodev, mode=1777) when the rootfs is read-only.
pub const FILESYSTEMS_TMP: &str = locald_spec_macros::requirement!("filesystems.tmp");
/// Mount targets and the working directory the image lacks, and plain directories for the
/// kernel filesystems, are created in the container's own layer.
pub const FILESYSTEMS_LAYER_TARGETS: &str =
    locald_spec_macros::requirement!("filesystems.layer.targets");

// isolation
/// A private PID namespace.
pub const ISOLATION_NAMESPACES_PID: &str =
    locald_spec_macros::requirement!("isolation.namespaces.pid");
/// A private IPC namespace.
pub const ISOLATION_NAMESPACES_IPC: &str =
    locald_spec_macros::requirement!("isolation.namespaces.ipc");
/// A private UTS namespace (so the hostname is the container's).
pub const ISOLATION_NAMESPACES_UTS: &str =
    locald_spec_macros::requirement!("isolation.namespaces.uts");
/// A private mount namespace.
pub const ISOLATION_NAMESPACES_MOUNT: &str =
    locald_spec_macros::requirement!("isolation.namespaces.mount");
/// A network namespace only in private network mode; the host's otherwise.
pub const ISOLATION_NAMESPACES_NETWORK: &str =
    locald_spec_macros::requirement!("isolation.namespaces.network");
/// A user namespace with the single mapping host uid/gid -> 0 when rootless.
pub const ISOLATION_NAMESPACES_USER: &str =
    locald_spec_macros::requirement!("isolation.namespaces.user");
/// A non-zero workload uid/gid under the rootless mapping: a nested user namespace the init
/// creates, mapping them onto the container's 0.
pub const ISOLATION_NAMESPACES_USER_NESTED: &str =
    locald_spec_macros::requirement!("isolation.namespaces.user-nested");

// names
/// The hostname is the option, else the first 12 characters of the container id.
pub const NAMES_HOSTNAME_DEFAULT: &str = locald_spec_macros::requirement!("names.hostname.default");
/// /etc/hostname holds the hostname (a state file bind-mounted read-only).
pub const NAMES_HOSTNAME_FILE: &str = locald_spec_macros::requirement!("names.hostname.file");
/// /etc/hosts is generated: localhost, the hostname, extra hosts, the host's file with host
/// networking (a state file bind-mounted read-only).
pub const NAMES_HOSTS_LOCALHOST: &str = locald_spec_macros::requirement!("names.hosts.localhost");

// dns
/// /etc/resolv.conf is derived from the host's per network mode (a state file bind-mounted
/// read-only).
pub const DNS_RESOLV_CONF_HOST_NETWORK: &str =
    locald_spec_macros::requirement!("dns.resolv-conf.host-network");
/// With a private network namespace: the systemd-resolved upstream list, no loopback servers,
/// the fallback servers.
pub const DNS_RESOLV_CONF_PRIVATE_NETWORK: &str =
    locald_spec_macros::requirement!("dns.resolv-conf.private-network");

// stopping
/// The command runs under an init (`[init, "--", args...]`) in a private PID namespace.
pub const STOPPING_INIT_DEFAULT: &str = locald_spec_macros::requirement!("stopping.init.default");
/// The init is a read-only bind mount at /dev/init.
pub const STOPPING_INIT_READONLY: &str = locald_spec_macros::requirement!("stopping.init.readonly");
/// The stop signal is the image's `StopSignal`, else SIGTERM.
pub const STOPPING_SIGNAL: &str = locald_spec_macros::requirement!("stopping.signal");
/// After the grace period (default 10 s) the container gets SIGKILL.
pub const STOPPING_TIMEOUT: &str = locald_spec_macros::requirement!("stopping.timeout");

/// Every ID above, in chapter order.
pub const ALL: &[&str] = &[
    IDENTITY_USER_RESOLVE,
    IDENTITY_USER_ADDITIONAL_GIDS,
    IDENTITY_PASSWD_CURRENT_USER,
    IDENTITY_GROUP_CURRENT_GROUP,
    ENVIRONMENT_IMAGE_ENV,
    ENVIRONMENT_PATH_DEFAULT,
    ENVIRONMENT_HOME,
    ENVIRONMENT_HOSTNAME,
    ENVIRONMENT_TERM,
    ENVIRONMENT_OVERRIDE,
    PROCESS_ARGS,
    PROCESS_CWD,
    PROCESS_TERMINAL,
    PROCESS_RLIMIT_NOFILE,
    PROCESS_UMASK,
    SECURITY_CAPABILITIES_DEFAULT,
    SECURITY_NO_NEW_PRIVILEGES,
    SECURITY_MASKED_PATHS,
    SECURITY_READONLY_PATHS,
    SECURITY_DEVICES_DENY_ALL,
    FILESYSTEMS_ROOT,
    FILESYSTEMS_PROC,
    FILESYSTEMS_DEV,
    FILESYSTEMS_DEV_PTS,
    FILESYSTEMS_DEV_SHM,
    FILESYSTEMS_DEV_MQUEUE,
    FILESYSTEMS_SYS,
    FILESYSTEMS_CGROUP,
    FILESYSTEMS_TMP,
    FILESYSTEMS_BIND_MOUNTS,
    FILESYSTEMS_LAYER_TARGETS,
    ISOLATION_NAMESPACES_PID,
    ISOLATION_NAMESPACES_IPC,
    ISOLATION_NAMESPACES_UTS,
    ISOLATION_NAMESPACES_MOUNT,
    ISOLATION_NAMESPACES_NETWORK,
    ISOLATION_NAMESPACES_USER,
    ISOLATION_NAMESPACES_USER_NESTED,
    NAMES_HOSTNAME_DEFAULT,
    NAMES_HOSTNAME_FILE,
    NAMES_HOSTS_LOCALHOST,
    DNS_RESOLV_CONF_HOST_NETWORK,
    DNS_RESOLV_CONF_PRIVATE_NETWORK,
    STOPPING_INIT_DEFAULT,
    STOPPING_INIT_READONLY,
    STOPPING_SIGNAL,
    STOPPING_TIMEOUT,
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for id in ALL {
            assert!(seen.insert(id), "duplicate {id}");
            let parts: Vec<_> = id.split('.').collect();
            assert!(parts.len() >= 2, "{id}: at least chapter.topic");
            for p in parts {
                assert!(!p.is_empty(), "{id}: empty segment");
                assert!(
                    p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{id}: bad character"
                );
            }
        }
    }
}
