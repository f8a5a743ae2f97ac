//! The engine's error type.
//!
//! Every variant names what is at fault (a file inside the image, an image-config field, a run
//! option, a path on the host) so that a user can fix the input without reading engine code.

use std::path::PathBuf;

/// Everything that can go wrong while planning, preparing or running a container.
///
/// ```
/// use locald_engine::Error;
///
/// let err = Error::UnknownUser { name: "app".into(), field: "User", file: "/etc/passwd".into() };
/// assert_eq!(err.to_string(), "user `app` (from User) is not in the image's /etc/passwd");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A user name given in `User` (image config or override) has no entry in the image.
    #[error("user `{name}` (from {field}) is not in the image's {file}")]
    UnknownUser {
        /// The name that was looked up.
        name: String,
        /// Where it came from (`User` of the image config or the `user` run option).
        field: &'static str,
        /// The file it was looked up in, as seen inside the image (`/etc/passwd`).
        file: String,
    },

    /// A group name given in `User` has no entry in the image.
    #[error("group `{name}` (from {field}) is not in the image's {file}")]
    UnknownGroup {
        /// The name that was looked up.
        name: String,
        /// Where it came from (`User` of the image config or the `user` run option).
        field: &'static str,
        /// The file it was looked up in, as seen inside the image (`/etc/group`).
        file: String,
    },

    /// A line of the image's passwd or group file does not have the expected shape.
    #[error("{file}:{line}: {reason}")]
    MalformedLine {
        /// The file, as seen inside the image.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A file inside the image could not be read safely (wrong type, too large, not UTF-8, I/O).
    #[error("image file {path}: {reason}")]
    ImageFile {
        /// The path as seen inside the image.
        path: String,
        /// What went wrong.
        reason: String,
    },

    /// A host file the engine derives a container file from (the host's `/etc/hosts`,
    /// `/etc/resolv.conf`) could not be read safely (not a regular file, too large, not UTF-8).
    #[error("host file {path}: {reason}")]
    HostFile {
        /// The host path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// The image configuration file cannot be read or parsed.
    #[error("image configuration {path}: {reason}")]
    ImageConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line and column of a syntax error).
        reason: String,
    },

    /// A field of the OCI image configuration is unusable.
    #[error("image config field {field}: {reason}")]
    ImageConfig {
        /// The field, spelled as in the image-spec (`Env`, `WorkingDir`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A run option is unusable.
    #[error("run option {field}: {reason}")]
    InvalidOption {
        /// The option (`user`, `env`, `hostname`, `id`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The process would run as a uid or gid that the container's user namespace does not map.
    #[error(
        "{kind} {id} (from {field}) is not mapped in the container's user namespace, which maps {mapped}; to run rootless as any uid, {}",
        crate::isolation::subids::HOW_TO_GET_RANGES
    )]
    UnmappedId {
        /// `uid` or `gid`.
        kind: &'static str,
        /// The unmapped id.
        id: u32,
        /// Where it came from (`User` of the image config or the `user` run option).
        field: &'static str,
        /// The container ids the mapping maps, for the message
        /// ([`crate::IdMapping::describe_container_ids`]).
        mapped: String,
    },

    /// A mount destination (or the working directory) is missing inside a host directory the
    /// caller bind-mounts: the engine provides missing targets only for the image (see
    /// [`crate::layer`]) and never creates anything in a caller's host directory.
    #[error(
        "{destination} ({what}) does not exist in {rootfs}, the source of the bind mount it lies \
         in; the engine never creates it there"
    )]
    MissingTarget {
        /// The path inside the container.
        destination: String,
        /// What needed it (`mount target`, `working directory`).
        what: &'static str,
        /// The source on the host of the caller's bind mount the path lies in (the field keeps
        /// its first name, `rootfs`).
        rootfs: PathBuf,
    },

    /// A mount destination or the working directory exists but has the wrong file type.
    #[error("{destination} in the rootfs {rootfs} is {found}, expected {expected}")]
    WrongTargetType {
        /// The path inside the container.
        destination: String,
        /// What was found (`a directory`, `a regular file`, ...).
        found: &'static str,
        /// What is needed.
        expected: &'static str,
        /// The rootfs on the host.
        rootfs: PathBuf,
    },

    /// A mount target the image lacks cannot be provided: its path crosses a non-directory or
    /// a symlink loop inside the image.
    #[error("mount target {destination} cannot be provided in the rootfs {rootfs}: {reason}")]
    TargetUnreachable {
        /// The path inside the container.
        destination: String,
        /// What blocks it (`/etc is a regular file, not a directory`, ...).
        reason: String,
        /// The rootfs on the host.
        rootfs: PathBuf,
    },

    /// A directory on the way to the state root (or a bundle's parent) could be changed by
    /// another user, or belongs to one.
    #[error("state directory {path} {reason}; refusing to keep container state there")]
    UnsafeStateDir {
        /// The directory at fault.
        path: PathBuf,
        /// Why it is unsafe.
        reason: String,
    },

    /// An input is larger than a limit of `limits` (see [`crate::limits`]).
    #[error("{field}: {reason}")]
    Limit {
        /// The field or option (`Env`, `args`, `User`).
        field: &'static str,
        /// What exceeds which limit.
        reason: String,
    },

    /// An unprivileged writable layer cannot hold a copy of an image file whose owner the user
    /// namespace does not map (overlayfs copy-up fails with EOVERFLOW).
    #[error(
        "{path} in the image {rootfs} belongs to uid {uid} gid {gid}, which the container's user namespace does not map ({mapped}); a container could not write it. Give the image to yourself (as root: chown -R to your uid and gid), add subordinate ids (usermod --add-subuids/--add-subgids), or run it with --readonly-rootfs"
    )]
    UnmappedOwner {
        /// The entry, inside the image.
        path: String,
        /// Its owner uid.
        uid: u32,
        /// Its owner gid.
        gid: u32,
        /// The image on the host.
        rootfs: PathBuf,
        /// What the mapping maps, for the message.
        mapped: String,
    },

    /// The container's layer could not be mounted or used.
    #[error("layer of {bundle}: {reason}")]
    Layer {
        /// The bundle directory.
        bundle: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// A directory is not a bundle this engine prepared (it has no valid
    /// `locald-bundle.json`), so it is left alone.
    #[error("{path} is not a bundle prepared by locald-engine ({reason}); nothing removed")]
    NotABundle {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// The container of a bundle still exists in the runtime; removing its bundle would leave
    /// it running without its files.
    #[error(
        "container {id} is {status}; stop it first, or remove it with --force (which kills it)"
    )]
    ContainerExists {
        /// The container id.
        id: String,
        /// Its runtime status (`running`, `created`, `paused`).
        status: String,
    },

    /// The state directory already exists; `prepare` never overwrites one.
    #[error("state directory {path} already exists")]
    StateDirExists {
        /// The state directory.
        path: PathBuf,
    },

    /// A host filesystem operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The host path involved.
        path: PathBuf,
        /// What was being done (`create`, `write`, `rename`, ...).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The OCI runtime spec could not be assembled or serialized.
    #[error("runtime spec: {reason}")]
    Spec {
        /// What failed.
        reason: String,
    },

    /// No OCI runtime binary could be found.
    #[error("OCI runtime `{name}` not found on PATH; install runc or pass its path explicitly")]
    RuntimeNotFound {
        /// The binary that was searched for.
        name: String,
    },

    /// The OCI runtime failed before the container ran.
    #[error("{runtime} {action} failed: {reason}")]
    Runtime {
        /// The runtime binary.
        runtime: PathBuf,
        /// The runtime subcommand (`run`, `delete`).
        action: &'static str,
        /// What went wrong.
        reason: String,
    },

    /// The runtime could not start the container: it refused the configuration, or could not
    /// execute the command. The status tells which (see [`crate::runtime::failure_status`]).
    #[error("the runtime could not start the container: {reason}")]
    Start {
        /// 127 (command not found), 126 (not executable) or 125 (anything else).
        status: u8,
        /// The runtime's message.
        reason: String,
    },

    /// The init binary given in [`crate::RunOptions::init`] is unusable (missing, not
    /// executable, dynamically linked).
    #[error("init {path}: {reason}")]
    Init {
        /// The init's host path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The operation needs Linux.
    #[error("{what} is only supported on Linux")]
    Unsupported {
        /// What was attempted.
        what: &'static str,
    },
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// The image-config field or run option at fault, for the errors about one: what a caller
    /// (a CLI, locald's UI) points its user at.
    ///
    /// ```
    /// use locald_engine::Error;
    /// let e = Error::InvalidOption { field: "hostname", reason: "too long".into() };
    /// assert_eq!(e.field(), Some("hostname"));
    /// ```
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::ImageConfig { field, .. }
            | Error::InvalidOption { field, .. }
            | Error::UnmappedId { field, .. }
            | Error::UnknownUser { field, .. }
            | Error::UnknownGroup { field, .. }
            | Error::Limit { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
