//! What the caller (locald, the CLI) decides per run, on top of the image configuration.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// How the container reaches the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Share the host's network namespace (locald's mode: the app listens on a host port).
    #[default]
    Host,
    /// A network namespace of its own, holding only a loopback device.
    Private,
}

/// Who creates the container's user namespace, and so who mounts its layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UsernsCreator {
    /// The runtime creates it from the mappings in `config.json`; it runs as real root (locald's
    /// setuid shim with youki's libcontainer, or the CLI run as root), and the layer is mounted
    /// by real root before it starts ([`crate::layer::mount`]).
    #[default]
    Runtime,
    /// The engine creates it and runs the runtime inside it, as root of that namespace: what an
    /// unprivileged user needs, since only the owner of a user namespace can mount the layer
    /// in it (rootless Podman's shape). `config.json` then has no user namespace of its own.
    Engine,
}

/// The rootless single mapping locald uses: one host uid and gid, seen as 0 inside the container
/// — or, for the workload, as the uid and gid it runs as (see [`IdMapping::as_ids`]).
///
/// ```
/// use locald_engine::IdMapping;
///
/// // The unprivileged user 1000 becomes root inside the container; nothing else is mapped.
/// let m = IdMapping::new(1000, 1000);
/// assert_eq!((m.host_uid, m.container_uid), (1000, 0));
/// assert!(m.maps_host_uid(1000) && !m.maps_host_uid(0));
/// // The same user, seen by the workload as the image's user 1001:1000.
/// let keep = m.as_ids(1001, 1000);
/// assert_eq!((keep.container_uid, keep.container_gid), (1001, 1000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMapping {
    /// The host uid mapped to container uid 0 (size 1).
    pub host_uid: u32,
    /// The host gid mapped to container gid 0 (size 1).
    pub host_gid: u32,
    /// The uid the workload sees the host uid as: 0, or a non-zero uid, which the init maps
    /// onto the container's 0 in a nested user namespace
    /// ([`crate::isolation::nested_user_namespace`]); runc itself needs container 0 mapped.
    pub container_uid: u32,
    /// The gid the workload sees the host gid as (0, or nested like `container_uid`).
    pub container_gid: u32,
    /// Who creates the user namespace (see [`UsernsCreator`]).
    pub created_by: UsernsCreator,
    /// The caller's subordinate ids, mapped to the container's 1..=N after the single mapping
    /// of 0 (rootless Podman's layout, `isolation.namespaces.user-ranges`); `None`: only 0 is
    /// mapped.
    #[serde(default)]
    pub subordinate: Option<SubordinateIds>,
}

/// A user's subordinate uid and gid ranges (subuid(5), subgid(5)): host ids the user may map
/// into a user namespace it creates, through the setuid helpers newuidmap(1) and newgidmap(1).
///
/// ```
/// use locald_engine::{IdMapping, SubordinateIds};
///
/// let sub = SubordinateIds { uid_start: 100000, uid_count: 65536, gid_start: 100000, gid_count: 65536 };
/// let m = IdMapping::new(1000, 1000).with_subordinate(sub);
/// assert!(m.maps_host_uid(1000) && m.maps_host_uid(165535) && !m.maps_host_uid(165536));
/// assert!(m.maps_container_uid(0) && m.maps_container_uid(65536) && !m.maps_container_uid(65537));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubordinateIds {
    /// The first subordinate uid on the host.
    pub uid_start: u32,
    /// How many (the container's uids 1..=uid_count).
    pub uid_count: u32,
    /// The first subordinate gid on the host.
    pub gid_start: u32,
    /// How many (the container's gids 1..=gid_count).
    pub gid_count: u32,
}

/// Whether `id` lies in the `count` ids from `start`.
fn in_range(id: u32, start: u32, count: u32) -> bool {
    id >= start && u64::from(id) < u64::from(start) + u64::from(count)
}

impl IdMapping {
    /// The single mapping of `host_uid` and `host_gid` to the container's 0, created by the
    /// runtime.
    pub fn new(host_uid: u32, host_gid: u32) -> Self {
        IdMapping {
            host_uid,
            host_gid,
            container_uid: 0,
            container_gid: 0,
            created_by: UsernsCreator::Runtime,
            subordinate: None,
        }
    }

    /// The same mapping, with `ids` mapped to the container's 1..=N.
    pub fn with_subordinate(self, ids: SubordinateIds) -> Self {
        IdMapping {
            subordinate: Some(ids),
            ..self
        }
    }

    /// The same host ids, seen by the workload as `uid` and `gid` (what `podman
    /// --userns=keep-id` gives, built without subordinate ids).
    pub fn as_ids(self, uid: u32, gid: u32) -> Self {
        IdMapping {
            container_uid: uid,
            container_gid: gid,
            ..self
        }
    }

    /// The same mapping, with the user namespace created by `creator`.
    pub fn created_by(self, creator: UsernsCreator) -> Self {
        IdMapping {
            created_by: creator,
            ..self
        }
    }

    /// Whether the workload runs in a nested user namespace (a non-zero container uid or gid).
    pub fn nested(&self) -> bool {
        self.container_uid != 0 || self.container_gid != 0
    }

    /// Whether the mapping maps host uid `uid`.
    pub fn maps_host_uid(&self, uid: u32) -> bool {
        uid == self.host_uid
            || self
                .subordinate
                .is_some_and(|s| in_range(uid, s.uid_start, s.uid_count))
    }

    /// Whether the mapping maps host gid `gid`.
    pub fn maps_host_gid(&self, gid: u32) -> bool {
        gid == self.host_gid
            || self
                .subordinate
                .is_some_and(|s| in_range(gid, s.gid_start, s.gid_count))
    }

    /// Whether container uid `uid` is mapped: 0, and 1..=N with subordinate ids.
    pub fn maps_container_uid(&self, uid: u32) -> bool {
        uid == 0 || self.subordinate.is_some_and(|s| uid <= s.uid_count)
    }

    /// Whether container gid `gid` is mapped: 0, and 1..=N with subordinate ids.
    pub fn maps_container_gid(&self, gid: u32) -> bool {
        gid == 0 || self.subordinate.is_some_and(|s| gid <= s.gid_count)
    }

    /// The container ids it maps, for messages (`only uid 0 and gid 0`, `uids 0-65536 and gids
    /// 0-65536`).
    pub fn describe_container_ids(&self) -> String {
        match self.subordinate {
            None => format!(
                "only uid {} and gid {}",
                self.container_uid, self.container_gid
            ),
            Some(s) => format!("uids 0-{} and gids 0-{}", s.uid_count, s.gid_count),
        }
    }

    /// The host ids it maps, for messages (`only uid 1000 and gid 1000`).
    pub fn describe_host_ids(&self) -> String {
        match self.subordinate {
            None => format!("only uid {} and gid {}", self.host_uid, self.host_gid),
            Some(s) => format!(
                "uid {} and {}-{}, gid {} and {}-{}",
                self.host_uid,
                s.uid_start,
                u64::from(s.uid_start) + u64::from(s.uid_count) - 1,
                self.host_gid,
                s.gid_start,
                u64::from(s.gid_start) + u64::from(s.gid_count) - 1
            ),
        }
    }
}

/// A host path bind-mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BindMount {
    /// Absolute path on the host.
    pub source: PathBuf,
    /// Absolute path inside the container; it must already exist in the rootfs.
    pub destination: String,
    /// Mount it read-only.
    pub readonly: bool,
}

impl BindMount {
    /// A read-write bind mount of the host path `source` onto `destination` in the container
    /// (both checked when the bundle is prepared: `filesystems.bind-mounts`).
    pub fn new(source: impl Into<PathBuf>, destination: impl Into<String>) -> Self {
        BindMount {
            source: source.into(),
            destination: destination.into(),
            readonly: false,
        }
    }

    /// The same mount, read-only.
    pub fn read_only(self) -> Self {
        BindMount {
            readonly: true,
            ..self
        }
    }
}

impl FromStr for BindMount {
    type Err = crate::Error;

    /// Parse `SRC:DEST[:ro|:rw]` (`docker run -v`'s short form); a relative `SRC` is made
    /// absolute against the current directory.
    ///
    /// ```
    /// use locald_engine::BindMount;
    ///
    /// let b: BindMount = "/srv/data:/data:ro".parse()?;
    /// assert_eq!((b.source.to_str(), b.destination.as_str(), b.readonly), (Some("/srv/data"), "/data", true));
    /// assert!("/srv/data".parse::<BindMount>().is_err());
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| crate::Error::InvalidOption {
            field: "binds",
            reason,
        };
        let parts: Vec<&str> = s.split(':').collect();
        let (source, destination, readonly) = match parts.as_slice() {
            [s, d] => (s, d, false),
            [s, d, "ro"] => (s, d, true),
            [s, d, "rw"] => (s, d, false),
            _ => return Err(bad(format!("{s:?}: expected SRC:DEST[:ro]"))),
        };
        if source.is_empty() {
            return Err(bad(format!("{s:?}: the source is empty")));
        }
        Ok(BindMount {
            source: std::path::absolute(source).map_err(|e| bad(format!("{source}: {e}")))?,
            destination: (*destination).to_owned(),
            readonly,
        })
    }
}

/// Parse an environment variable given as `KEY=VALUE` (`docker run --env`): the key ends at
/// the first `=`, the value may be empty or hold more `=`.
///
/// ```
/// use locald_engine::options::parse_env_var;
///
/// assert_eq!(parse_env_var("A=b=c")?, ("A".to_string(), "b=c".to_string()));
/// assert!(parse_env_var("A").is_err());
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn parse_env_var(s: &str) -> crate::Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| crate::Error::InvalidOption {
            field: "env",
            reason: format!("{s:?}: expected KEY=VALUE"),
        })
}

/// An extra line of the container's `/etc/hosts` (`docker run --add-host NAME:IP`).
///
/// ```
/// use locald_engine::ExtraHost;
///
/// let h: ExtraHost = "db:192.0.2.7".parse()?;
/// assert_eq!((h.name.as_str(), h.ip.to_string().as_str()), ("db", "192.0.2.7"));
/// // The address may be IPv6: the name ends at the first `:`.
/// let h: ExtraHost = "db6:2001:db8::7".parse()?;
/// assert!(h.ip.is_ipv6());
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExtraHost {
    /// The name (validated as a hostname when the plan is built).
    pub name: String,
    /// Its address.
    pub ip: IpAddr,
}

impl FromStr for ExtraHost {
    type Err = crate::Error;

    /// Parse `NAME:IP`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| crate::Error::InvalidOption {
            field: "extra_hosts",
            reason,
        };
        let (name, ip) = s
            .split_once(':')
            .ok_or_else(|| bad(format!("{s:?}: expected NAME:IP")))?;
        let ip = ip
            .parse()
            .map_err(|_| bad(format!("{s:?}: {ip:?} is not an IP address")))?;
        Ok(ExtraHost {
            name: name.to_owned(),
            ip,
        })
    }
}

/// DNS settings that replace the corresponding parts of the host's `/etc/resolv.conf` (see
/// [`crate::dns`]); an empty list replaces nothing.
///
/// ```
/// use locald_engine::DnsOptions;
///
/// let dns = DnsOptions {
///     servers: vec!["192.0.2.53".parse()?],
///     search: vec!["corp.example".into()],
///     options: vec!["ndots:2".into()],
/// };
/// assert!(!dns.is_empty());
/// assert!(DnsOptions::default().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DnsOptions {
    /// Nameservers, in order (`--dns`).
    pub servers: Vec<IpAddr>,
    /// Search domains, in order (`--dns-search`); `["."]` means none.
    pub search: Vec<String>,
    /// Resolver options such as `ndots:2` (`--dns-option`).
    pub options: Vec<String>,
}

impl DnsOptions {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.options.is_empty()
    }
}

/// Per-run choices layered over the image configuration.
///
/// Every field has a default that matches locald's use: host network, no tty, image user,
/// image command.
///
/// ```
/// use locald_engine::{NetworkMode, RunOptions};
///
/// let opts = RunOptions {
///     env: vec![("PORT".into(), "8080".into())],
///     args: Some(vec!["serve".into()]),
///     ..RunOptions::default()
/// };
/// assert_eq!(opts.network, NetworkMode::Host);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Replaces the image's `User` (same syntax: `name`, `uid`, `name:group`, `uid:gid`, ...).
    pub user: Option<String>,
    /// Environment variables set last, replacing any image or default value with the same key.
    pub env: Vec<(String, String)>,
    /// Replaces the image's `Cmd` (the `Entrypoint` is kept), as `docker run IMAGE ARGS...` does.
    pub args: Option<Vec<String>>,
    /// The container's hostname; by default derived from the container id
    /// ([`crate::names::hostname_from_id`]: a 64-hex-digit id's first 12 characters, else the id).
    pub hostname: Option<String>,
    /// Host or private network.
    pub network: NetworkMode,
    /// Extra `/etc/hosts` lines, in order (see [`crate::names`]).
    pub extra_hosts: Vec<ExtraHost>,
    /// DNS overrides for `/etc/resolv.conf` (see [`crate::dns`]).
    pub dns: DnsOptions,
    /// Give the process a terminal (and `TERM=xterm`).
    pub tty: bool,
    /// Run in a user namespace with the rootless single mapping.
    pub id_mapping: Option<IdMapping>,
    /// Extra bind mounts, mounted after the engine's own.
    pub binds: Vec<BindMount>,
    /// Mount the rootfs read-only.
    pub readonly_rootfs: bool,
    /// The container's layer is thrown away with the container (`docker run --rm`; what the
    /// CLI's `run` does): it is mounted with overlayfs's `volatile` option, so that neither
    /// the container's writes nor its end sync the state directory's filesystem, and it can
    /// be mounted only once (`filesystems.layer.volatile`).
    pub volatile_layer: bool,
    /// The host path (absolute) of a static `locald-init` binary to run the command under as
    /// PID 1 (see [`crate::stopping`]); `None` makes the command PID 1 itself.
    pub init: Option<PathBuf>,
    /// Replaces the image's `Entrypoint` (`docker run --entrypoint`); the image's `Cmd` is then
    /// dropped, so the command is this followed by [`RunOptions::args`] alone
    /// (`process.entrypoint`).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's `WorkingDir` (`docker run --workdir`): an absolute path, checked
    /// like the image's (`process.working-dir`).
    pub working_dir: Option<String>,
    /// The container's `linux.cgroupsPath` (`isolation.cgroups-path`): locald gives every
    /// service its own. `None` leaves the runtime's default.
    pub cgroups_path: Option<String>,
    /// The bundle's `annotations` (`lifecycle.annotations`): metadata for the runtime and the
    /// caller's tools, never seen by the workload.
    pub annotations: BTreeMap<String, String>,
    /// Whom the host user of [`RunOptions::id_mapping`] is inside the container: the ids the
    /// mapping names, or the user the process runs as ([`MappedUser`]).
    pub mapped_user: MappedUser,
    /// Capabilities added to the default set (`docker run --cap-add`: `NET_RAW`, `CAP_NET_RAW`
    /// or `ALL`; see [`crate::security::capabilities`]).
    pub cap_add: Vec<String>,
    /// Capabilities removed from the default set (`docker run --cap-drop`, `ALL` for every one).
    pub cap_drop: Vec<String>,
    /// Namespaced kernel parameters, `(key, value)`, set after the engine's own and replacing
    /// them (`docker run --sysctl`; see [`crate::isolation::sysctls`]).
    pub sysctls: Vec<(String, String)>,
    /// The seccomp filter: Docker's default profile (the default), none, or the caller's
    /// profile (`docker run --security-opt seccomp=unconfined|PATH`; see
    /// [`crate::security::seccomp`]).
    pub seccomp: crate::security::seccomp::Seccomp,
}

/// Whom the host user of a rootless [`IdMapping`] is inside the container.
///
/// ```
/// use locald_engine::{MappedUser, RunOptions};
///
/// // Rootless, as the image's own user (its `User`, resolved in its /etc/passwd): files the
/// // workload creates in a bind mount belong to the host user, and it is not root inside.
/// let opts = RunOptions::rootless_for_current_user().mapped_to(MappedUser::ProcessUser);
/// assert_eq!(opts.mapped_user, MappedUser::ProcessUser);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MappedUser {
    /// The container ids the mapping names: root for [`IdMapping::new`], the given ids for
    /// [`IdMapping::as_ids`].
    #[default]
    Mapping,
    /// The user the process runs as — [`RunOptions::user`], else the image's `User` —
    /// resolved in the image's `/etc/passwd` and `/etc/group` when the bundle is prepared,
    /// what [`IdMapping::as_ids`] would be given by hand (`isolation.namespaces.user-nested`).
    /// Root stays root.
    ProcessUser,
}

/// The choices that are not fields of their own, as a builder: each returns the options
/// changed.
///
/// ```
/// use locald_engine::{BindMount, RunOptions};
///
/// let opts = RunOptions::default()
///     .with_entrypoint(["/cnb/lifecycle/launcher"])
///     .with_args(["sh", "-c", "exec web --port $PORT"])
///     .with_working_dir("/workspace")
///     .with_cgroups_path("/locald/web")
///     .with_annotation("dev.locald.service", "web")
///     .with_bind(BindMount::new("/srv/src", "/workspace").read_only());
/// assert_eq!(opts.entrypoint.as_deref(), Some(&["/cnb/lifecycle/launcher".to_string()][..]));
/// assert_eq!(opts.annotations["dev.locald.service"], "web");
/// assert!(opts.binds[0].readonly);
/// ```
impl RunOptions {
    /// With [`RunOptions::entrypoint`].
    pub fn with_entrypoint<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// With [`RunOptions::args`].
    pub fn with_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// With [`RunOptions::working_dir`].
    pub fn with_working_dir(mut self, dir: impl Into<String>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// With [`RunOptions::cgroups_path`].
    pub fn with_cgroups_path(mut self, path: impl Into<String>) -> Self {
        self.cgroups_path = Some(path.into());
        self
    }

    /// With one more annotation (replacing one with the same key).
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// With one more bind mount ([`RunOptions::binds`]).
    pub fn with_bind(mut self, bind: BindMount) -> Self {
        self.binds.push(bind);
        self
    }

    /// With [`RunOptions::seccomp`]: [`Seccomp::Unconfined`] for no filter, a
    /// [`Seccomp::Custom`] profile for the caller's own.
    ///
    /// ```
    /// use locald_engine::RunOptions;
    /// use locald_engine::security::seccomp::Seccomp;
    ///
    /// let opts = RunOptions::default().with_seccomp(Seccomp::Unconfined);
    /// assert_eq!(opts.seccomp, Seccomp::Unconfined);
    /// ```
    ///
    /// [`Seccomp::Unconfined`]: crate::security::seccomp::Seccomp::Unconfined
    /// [`Seccomp::Custom`]: crate::security::seccomp::Seccomp::Custom
    pub fn with_seccomp(mut self, seccomp: crate::security::seccomp::Seccomp) -> Self {
        self.seccomp = seccomp;
        self
    }

    /// With [`RunOptions::mapped_user`].
    pub fn mapped_to(mut self, user: MappedUser) -> Self {
        self.mapped_user = user;
        self
    }
}

impl RunOptions {
    /// Options for a rootless run as the calling user: host euid/egid mapped to container 0,
    /// the user namespace created by the engine when the caller is not root (see
    /// [`UsernsCreator`]).
    ///
    /// On non-Linux systems this returns the defaults (no mapping).
    pub fn rootless_for_current_user() -> Self {
        RunOptions {
            id_mapping: current_user_mapping(),
            ..RunOptions::default()
        }
    }
}

/// The single mapping for the calling user (effective uid and gid); the engine creates the
/// user namespace unless the caller is root.
#[cfg(target_os = "linux")]
pub fn current_user_mapping() -> Option<IdMapping> {
    let uid = nix::unistd::geteuid().as_raw();
    let creator = if uid == 0 {
        UsernsCreator::Runtime
    } else {
        UsernsCreator::Engine
    };
    Some(IdMapping::new(uid, nix::unistd::getegid().as_raw()).created_by(creator))
}

/// The single mapping for the calling user (not available off Linux).
#[cfg(not(target_os = "linux"))]
pub fn current_user_mapping() -> Option<IdMapping> {
    None
}
