//! The plan's model: everything the engine decides for one container, as an ordered list of
//! entries, each tagged with the requirement that asks for it.
//!
//! The plan is the single source of the runtime spec ([`Plan::to_spec`]) and of the bundle's
//! files, and it is what `locald-engine explain` prints. This module is a leaf: it knows no
//! duty. The duties fill a plan in [`crate::duties`] ([`Plan::build`]).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A requirement of the book, named in code by [`requirement!`](crate::requirement): the
/// macro checks at compile time that a requirement block defines the ID, so every entry of a
/// plan names a real requirement, and names it once.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement(&'static str);

impl Requirement {
    /// Only for [`requirement!`](crate::requirement), which checks `id` first.
    #[doc(hidden)]
    pub const fn __checked(id: &'static str) -> Requirement {
        Requirement(id)
    }

    /// The ID, `chapter.topic`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for Requirement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl PartialEq<&str> for Requirement {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for Requirement {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A requirement of the book as a [`Requirement`], checked at compile time: an ID no
/// requirement block defines (a typo, a renamed requirement) does not compile.
///
/// ```
/// let r = locald_engine::requirement!("filesystems.proc");
/// assert_eq!(r.as_str(), "filesystems.proc");
/// ```
#[macro_export]
macro_rules! requirement {
    ($id:literal) => {
        $crate::plan::Requirement::__checked($crate::__spec_macros::requirement!($id))
    };
}

/// SIGTERM: the stop signal when the plan names none.
const SIGTERM: i32 = 15;

/// A mount in the plan (an OCI runtime `mounts` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountEntry {
    /// Absolute path inside the container.
    pub destination: String,
    /// Filesystem type (`proc`, `tmpfs`, `bind`, ...).
    #[serde(rename = "type")]
    pub typ: String,
    /// Source: a device name for pseudo filesystems, a host path for binds.
    pub source: String,
    /// mount(8)-style options.
    pub options: Vec<String>,
}

impl MountEntry {
    /// A mount of a pseudo filesystem whose source is conventionally named like its type.
    pub fn new(destination: &str, typ: &str, source: &str, options: &[&str]) -> Self {
        MountEntry {
            destination: destination.into(),
            typ: typ.into(),
            source: source.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Whether this is a bind mount of a host path.
    pub fn is_bind(&self) -> bool {
        self.typ == "bind" || self.options.iter().any(|o| o == "bind" || o == "rbind")
    }
}

/// A Linux namespace the container gets its own instance of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    /// PID namespace.
    Pid,
    /// IPC namespace.
    Ipc,
    /// UTS namespace.
    Uts,
    /// Mount namespace.
    Mount,
    /// Network namespace.
    Network,
    /// User namespace.
    User,
    /// Cgroup namespace.
    Cgroup,
}

impl Namespace {
    /// The runtime-spec name (`pid`, `ipc`, `uts`, `mount`, `network`, `user`, `cgroup`).
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Pid => "pid",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
            Namespace::Mount => "mount",
            Namespace::Network => "network",
            Namespace::User => "user",
            Namespace::Cgroup => "cgroup",
        }
    }
}

/// uid or gid, for id mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// A uid mapping.
    Uid,
    /// A gid mapping.
    Gid,
}

/// One decision of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// The root filesystem: the container's own overlay of the image directory (see
    /// [`crate::layer`]), mounted at the bundle's `rootfs`.
    Root {
        /// Absolute host path of the image directory, the overlay's read-only lower layer.
        image: PathBuf,
        /// Mounted read-only.
        readonly: bool,
    },
    /// The container's layer is mounted with overlayfs's `volatile` option, once: it is thrown
    /// away with the container ([`crate::RunOptions::volatile_layer`]).
    VolatileLayer,
    /// A directory the engine creates in the container's writable layer before it starts.
    LayerDir {
        /// Its path inside the container (resolved in the image: no symlink in it).
        path: String,
        /// Permission bits.
        mode: u32,
        /// Host owner to set, when mirrored from the image; `None`: the engine's own user (the
        /// container's root).
        owner: Option<(u32, u32)>,
    },
    /// A file the engine writes into the container's writable layer before it starts.
    LayerFile {
        /// Its path inside the container (resolved in the image once the layer is planned).
        path: String,
        /// Full contents.
        contents: String,
        /// Permission bits.
        mode: u32,
        /// Host owner to set; `None`: the engine's own user (the container's root).
        owner: Option<(u32, u32)>,
    },
    /// A private namespace.
    Namespace {
        /// Which one.
        namespace: Namespace,
    },
    /// A user-namespace id mapping.
    IdMapping {
        /// uid or gid.
        id: IdKind,
        /// First id inside the container.
        container_id: u32,
        /// First id on the host.
        host_id: u32,
        /// Number of ids.
        size: u32,
        /// Who creates the namespace: the runtime (the mapping is in `config.json`) or the
        /// engine (the runtime runs inside it; `config.json` has no user namespace).
        created_by: crate::options::UsernsCreator,
    },
    /// The UTS hostname.
    Hostname {
        /// The name.
        name: String,
    },
    /// The process uid and gid.
    User {
        /// uid inside the container.
        uid: u32,
        /// gid inside the container.
        gid: u32,
    },
    /// Supplementary groups.
    AdditionalGids {
        /// The gids.
        gids: Vec<u32>,
    },
    /// A file written into the bundle directory and bind-mounted into the container
    /// (writable, unless the root is read-only), so the engine can rewrite it while the
    /// container runs.
    File {
        /// File name inside the bundle directory.
        name: String,
        /// Full contents.
        contents: String,
        /// Permission bits.
        mode: u32,
        /// Where it is bind-mounted inside the container, if anywhere.
        mount_at: Option<String>,
    },
    /// The process arguments.
    Args {
        /// argv.
        args: Vec<String>,
    },
    /// The process working directory.
    Cwd {
        /// Absolute path inside the container.
        path: String,
    },
    /// Whether the process gets a terminal.
    Terminal {
        /// The flag.
        enabled: bool,
    },
    /// One environment variable.
    Env {
        /// Name.
        key: String,
        /// Value (may be empty).
        value: String,
    },
    /// A mount.
    Mount(MountEntry),
    /// A resource limit.
    Rlimit {
        /// `RLIMIT_*` name.
        resource: String,
        /// Soft limit.
        soft: u64,
        /// Hard limit.
        hard: u64,
    },
    /// The process's OOM-killer adjustment (`process.oomScoreAdj`).
    OomScoreAdj {
        /// The value, -1000 to 1000.
        adj: i32,
    },
    /// The process file-creation mask.
    Umask {
        /// The mask (permission bits).
        mask: u32,
    },
    /// A capability granted in the bounding, effective and permitted sets.
    Capability {
        /// `CAP_*` name.
        name: String,
    },
    /// The no_new_privileges flag.
    NoNewPrivileges {
        /// The flag.
        enabled: bool,
    },
    /// A path made inaccessible.
    MaskedPath {
        /// Path inside the container.
        path: String,
    },
    /// A path made read-only.
    ReadonlyPath {
        /// Path inside the container.
        path: String,
    },
    /// The init the command runs under: the process arguments become
    /// `[target, "--", args...]`.
    Init {
        /// Host path of the init binary (the source of its bind mount).
        path: PathBuf,
        /// Its path inside the container.
        target: String,
    },
    /// The signal that stops the container (not part of the runtime spec).
    StopSignal {
        /// Signal number.
        signal: i32,
        /// Its name (`SIGTERM`, `SIGRTMIN+3`).
        name: String,
    },
    /// A device cgroup rule.
    DeviceRule {
        /// Allow or deny.
        allow: bool,
        /// Access (`rwm`).
        access: String,
    },
    /// The workload runs in a user namespace nested in the container's, which the init creates
    /// and in which the container's uid and gid 0 (the host user) are `uid` and `gid`; runc
    /// starts the init as the container's 0.
    NestedUserNamespace {
        /// The workload's uid (the container's 0 seen from the nested namespace).
        uid: u32,
        /// The workload's gid.
        gid: u32,
    },
    /// The container's control group (`linux.cgroupsPath`).
    CgroupsPath {
        /// The path, as the caller gave it.
        path: String,
    },
    /// An annotation of the bundle (`annotations`).
    Annotation {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// The container's seccomp filter (`linux.seccomp`), resolved for its capabilities and
    /// the host; `None`: no filter.
    Seccomp {
        /// The runtime-spec filter.
        filter: Option<Box<oci_spec::runtime::LinuxSeccomp>>,
        /// Where it comes from (Docker's default profile, the caller's).
        source: String,
    },
    /// A rule appended to the seccomp filter's.
    SeccompRule {
        /// The rule.
        rule: oci_spec::runtime::LinuxSyscall,
    },
    /// A kernel parameter the runtime sets in the container's namespaces (`linux.sysctl`).
    Sysctl {
        /// The dotted name (`net.ipv4.ip_unprivileged_port_start`).
        key: String,
        /// Its value.
        value: String,
    },
}

/// A plan entry: a decision and the requirement that asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The requirement that asks for it.
    pub requirement: Requirement,
    /// The decision.
    #[serde(flatten)]
    pub item: Item,
}

/// The ordered list of entries for one container ([`Plan::build`] fills it, see
/// [`crate::duties`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    entries: Vec<Entry>,
}

impl Plan {
    /// Append an entry.
    pub fn push(&mut self, requirement: Requirement, item: Item) {
        self.entries.push(Entry { requirement, item });
    }

    /// All entries, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// All entries, to edit in place (the layer planner resolves paths and inserts its own).
    pub(crate) fn entries_mut(&mut self) -> &mut Vec<Entry> {
        &mut self.entries
    }

    /// The mounts, in order.
    pub fn mounts(&self) -> impl Iterator<Item = &MountEntry> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::Mount(m) => Some(m),
            _ => None,
        })
    }

    /// The environment as `KEY=value` strings, in order.
    pub fn env(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match &e.item {
                Item::Env { key, value } => Some(format!("{key}={value}")),
                _ => None,
            })
            .collect()
    }

    /// The value of one environment variable (the first entry with that key).
    pub fn env_value(&self, key: &str) -> Option<String> {
        self.entries.iter().find_map(|e| match &e.item {
            Item::Env { key: k, value } if k == key => Some(value.clone()),
            _ => None,
        })
    }

    /// The files to write into the state directory: (name, contents, mode).
    pub fn files(&self) -> impl Iterator<Item = (&str, &str, u32)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Item::File {
                name,
                contents,
                mode,
                ..
            } => Some((name.as_str(), contents.as_str(), *mode)),
            _ => None,
        })
    }

    /// Whether the layer is mounted volatile: the plan holds [`Item::VolatileLayer`].
    pub fn volatile_layer(&self) -> bool {
        self.entries.iter().any(|e| e.item == Item::VolatileLayer)
    }

    /// The signal that stops the container: the plan's [`Item::StopSignal`], else SIGTERM.
    pub fn stop_signal(&self) -> i32 {
        self.entries
            .iter()
            .find_map(|e| match &e.item {
                Item::StopSignal { signal, .. } => Some(*signal),
                _ => None,
            })
            .unwrap_or(SIGTERM)
    }

    /// The requirements the plan uses, deduplicated, in first-use order.
    pub fn requirements(&self) -> Vec<Requirement> {
        let mut out: Vec<Requirement> = Vec::new();
        for e in &self.entries {
            if !out.contains(&e.requirement) {
                out.push(e.requirement);
            }
        }
        out
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Root { image, readonly } => write!(
                f,
                "root: own overlay of the image {}{}",
                image.display(),
                ro(*readonly)
            ),
            Item::VolatileLayer => write!(
                f,
                "layer: mounted volatile, once (thrown away with the container: no syncs of the \
                 state directory's filesystem)"
            ),
            Item::LayerDir { path, mode, owner } => {
                write!(f, "layer dir {path} (mode {mode:04o}")?;
                match owner {
                    Some((u, g)) => write!(f, ", owner {u}:{g})"),
                    None => write!(f, ")"),
                }
            }
            Item::LayerFile { path, mode, .. } => write!(f, "layer file {path} (mode {mode:04o})"),
            Item::Namespace { namespace } => write!(f, "namespace {}", namespace.name()),
            Item::IdMapping {
                id,
                container_id,
                host_id,
                size,
                created_by,
            } => write!(
                f,
                "{} mapping container {container_id} -> host {host_id} (size {size}){}",
                match id {
                    IdKind::Uid => "uid",
                    IdKind::Gid => "gid",
                },
                match created_by {
                    crate::options::UsernsCreator::Runtime => "",
                    crate::options::UsernsCreator::Engine => ", namespace created by the engine",
                }
            ),
            Item::Hostname { name } => write!(f, "hostname {name}"),
            Item::User { uid, gid } => write!(f, "user uid={uid} gid={gid}"),
            Item::AdditionalGids { gids } => write!(f, "additional gids {gids:?}"),
            Item::File { name, mode, .. } => write!(f, "state file {name} (mode {mode:o})"),
            Item::Args { args } => write!(f, "args {args:?}"),
            Item::Cwd { path } => write!(f, "cwd {path}"),
            Item::Terminal { enabled } => write!(f, "terminal {enabled}"),
            Item::Env { key, value } => write!(f, "env {key}={value}"),
            Item::Mount(m) => write!(
                f,
                "mount {} on {} type {} ({})",
                m.source,
                m.destination,
                m.typ,
                m.options.join(",")
            ),
            Item::Rlimit {
                resource,
                soft,
                hard,
            } => write!(f, "rlimit {resource} {soft}/{hard}"),
            Item::Umask { mask } => write!(f, "umask {mask:04o}"),
            Item::OomScoreAdj { adj } => write!(f, "oom_score_adj {adj}"),
            Item::Capability { name } => write!(f, "capability {name}"),
            Item::NoNewPrivileges { enabled } => write!(f, "no_new_privileges {enabled}"),
            Item::MaskedPath { path } => write!(f, "masked {path}"),
            Item::ReadonlyPath { path } => write!(f, "readonly {path}"),
            Item::Init { path, target } => {
                write!(f, "init {} at {target} (args prefixed)", path.display())
            }
            Item::StopSignal { signal, name } => write!(f, "stop signal {name} ({signal})"),
            Item::DeviceRule { allow, access } => write!(
                f,
                "device cgroup {} all {access}",
                if *allow { "allow" } else { "deny" }
            ),
            Item::NestedUserNamespace { uid, gid } => write!(
                f,
                "nested user namespace: workload uid={uid} gid={gid} mapped onto container 0 (by the init)"
            ),
            Item::CgroupsPath { path } => write!(f, "cgroups path {path}"),
            Item::Annotation { key, value } => write!(f, "annotation {key}={value}"),
            Item::Sysctl { key, value } => write!(f, "sysctl {key}={value}"),
            Item::Seccomp {
                filter: Some(filter),
                source,
            } => write!(
                f,
                "seccomp {source}: {}",
                crate::security::seccomp::describe(filter)
            ),
            Item::Seccomp {
                filter: None,
                source,
            } => write!(f, "seccomp none: {source}"),
            Item::SeccompRule { rule } => write!(
                f,
                "seccomp rule {}",
                crate::security::seccomp::describe_rule(rule)
            ),
        }
    }
}

fn ro(readonly: bool) -> &'static str {
    if readonly { " (read-only)" } else { "" }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<32} {}", self.requirement.as_str(), self.item)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
