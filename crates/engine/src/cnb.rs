//! The Cloud Native Buildpacks profile: run options for lifecycle containers (the build) and
//! for app images (the launcher), on top of the general requirements.
//!
//! [`build_options`] and [`app_options`] take the options locald would use for any container
//! (`base`: the init, the rootless mapping, the network, extra variables) and return the
//! options for the CNB container, or refuse — before anything is written — an image or a
//! request that would make the lifecycle or the launcher fail inside. Rootless, both map the
//! host user onto the image's own user ([`IdMapping::as_ids`]), which the build image needs
//! because its user is not root. The chapter "Cloud Native Buildpacks" (`book/src/cnb.md`)
//! specifies the profile, citing buildpacks/spec `platform.md` (Platform API 0.15).
//!
//! ```no_run
//! use locald_engine::{cnb, prepare, RunOptions};
//! use oci_spec::image::ImageConfiguration;
//!
//! let base = RunOptions {
//!     init: Some("/usr/lib/locald/locald-init".into()),
//!     ..RunOptions::rootless_for_current_user()
//! };
//! let builder = ImageConfiguration::from_file("builder/config.json")?;
//! let build = cnb::Build::new("0.15", cnb::Phase::Creator, "/srv/app/src", "/srv/app/layers",
//!                             "/srv/app/platform")
//!     .with_layout("/srv/app/layout")
//!     .with_args(["-layout", "example.test/app"]);
//! let opts = cnb::build_options(&builder, "builder/rootfs".as_ref(), &build, base.clone())?;
//! let bundle = prepare(&builder, "builder/rootfs".as_ref(), &opts, "/run/b1".as_ref(), "b1")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::environment::image_env;
use crate::error::{Error, Result};
use crate::identity::{Identity, process_user_in};
use crate::options::{BindMount, IdMapping, RunOptions};

/// `<app>`: the application directory (`CNB_APP_DIR`).
pub const APP_DIR: &str = "/workspace";
/// `<layers>`: the layers directory (`CNB_LAYERS_DIR`).
pub const LAYERS_DIR: &str = "/layers";
/// `<platform>`: the platform directory (`CNB_PLATFORM_DIR`), read-only.
pub const PLATFORM_DIR: &str = "/platform";
/// `<cache-dir>`: the build cache (`CNB_CACHE_DIR`).
pub const CACHE_DIR: &str = "/cache";
/// `<layout-dir>`: the OCI layout directory (`CNB_LAYOUT_DIR`) by default, where pack mounts
/// it; [`Build::with_layout_dir`] chooses another (locald's is `/layout`).
pub const LAYOUT_DIR: &str = "/layout-repo";
/// The launcher, the entrypoint of every app image (or the target of its `/cnb/process/<type>`).
pub const LAUNCHER: &str = "/cnb/lifecycle/launcher";
/// The directory of the per-process-type symlinks to the launcher.
pub const PROCESS_DIR: &str = "/cnb/process";

/// A lifecycle phase: the binary `/cnb/lifecycle/<name>` the build container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `analyzer`.
    Analyzer,
    /// `detector`.
    Detector,
    /// `restorer`.
    Restorer,
    /// `extender`.
    Extender,
    /// `builder`.
    Builder,
    /// `exporter`.
    Exporter,
    /// `creator`: the five phases in one container (no image extensions).
    Creator,
}

impl Phase {
    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Analyzer => "analyzer",
            Phase::Detector => "detector",
            Phase::Restorer => "restorer",
            Phase::Extender => "extender",
            Phase::Builder => "builder",
            Phase::Exporter => "exporter",
            Phase::Creator => "creator",
        }
    }

    /// The binary's path in the build image: `/cnb/lifecycle/<name>`.
    #[implements("cnb.build.phase")]
    pub fn path(self) -> String {
        format!("/cnb/lifecycle/{}", self.name())
    }
}

/// What the platform provides for one lifecycle container: the Platform API version, the
/// phase and its arguments, and the host directories mounted into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// `CNB_PLATFORM_API`: the highest version both the platform and the builder's lifecycle
    /// support (the builder lists its own in the `io.buildpacks.lifecycle.apis` label).
    pub platform_api: String,
    /// The phase to run.
    pub phase: Phase,
    /// The phase's arguments (flags, then the image reference for the analyzer, exporter and
    /// creator).
    pub args: Vec<String>,
    /// The application source, mounted at [`APP_DIR`], read-write.
    pub workspace: PathBuf,
    /// The layers directory, mounted at [`LAYERS_DIR`], read-write.
    pub layers: PathBuf,
    /// The platform directory (`env/` holds the user's build variables), mounted read-only at
    /// [`PLATFORM_DIR`].
    pub platform: PathBuf,
    /// A cache directory, mounted at [`CACHE_DIR`], read-write.
    pub cache: Option<PathBuf>,
    /// An OCI layout directory to export to, mounted at [`Build::layout_dir`], read-write.
    pub layout: Option<PathBuf>,
    /// Where the layout directory is mounted in the container, and so `CNB_LAYOUT_DIR`:
    /// [`LAYOUT_DIR`] (pack's `/layout-repo`) unless [`Build::with_layout_dir`] says otherwise.
    /// An absolute path without `.` or `..` components, not `/` and not one of the profile's
    /// other directories.
    pub layout_dir: String,
}

impl Build {
    /// A build with the three directories every phase uses, no cache and no layout.
    pub fn new(
        platform_api: &str,
        phase: Phase,
        workspace: impl Into<PathBuf>,
        layers: impl Into<PathBuf>,
        platform: impl Into<PathBuf>,
    ) -> Self {
        Build {
            platform_api: platform_api.into(),
            phase,
            args: Vec::new(),
            workspace: workspace.into(),
            layers: layers.into(),
            platform: platform.into(),
            cache: None,
            layout: None,
            layout_dir: LAYOUT_DIR.into(),
        }
    }

    /// With the phase's arguments.
    pub fn with_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// With a cache directory.
    pub fn with_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// With an OCI layout directory.
    pub fn with_layout(mut self, dir: impl Into<PathBuf>) -> Self {
        self.layout = Some(dir.into());
        self
    }

    /// With the layout directory mounted at `target` in the container instead of
    /// [`LAYOUT_DIR`] (locald's lifecycle containers use `/layout`); `CNB_LAYOUT_DIR` follows.
    ///
    /// ```
    /// use locald_engine::cnb::{Build, Phase};
    ///
    /// let build = Build::new("0.15", Phase::Creator, "/src", "/layers", "/platform")
    ///     .with_layout("/srv/layout")
    ///     .with_layout_dir("/layout");
    /// assert_eq!(build.layout_dir, "/layout");
    /// ```
    pub fn with_layout_dir(mut self, target: impl Into<String>) -> Self {
        self.layout_dir = target.into();
        self
    }
}

/// The layout directory's target: absolute, clean, not `/`, none of the other directories.
#[implements("cnb.build.directories")]
fn check_layout_dir(dir: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidOption {
        field: "layout_dir",
        reason: format!("{dir:?} {why}"),
    };
    let components: Vec<&str> = dir.split('/').skip(1).collect();
    if !dir.starts_with('/') {
        return Err(bad("is not an absolute path"));
    }
    if components
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err(bad(
            "is not a clean path (no empty, `.` or `..` components, no trailing `/`);              the lifecycle is told it as CNB_LAYOUT_DIR",
        ));
    }
    for other in [APP_DIR, LAYERS_DIR, PLATFORM_DIR, CACHE_DIR] {
        if dir == other
            || dir.starts_with(&format!("{other}/"))
            || other.starts_with(&format!("{dir}/"))
        {
            return Err(bad(&format!(
                "overlaps {other}, another directory of the build; the layout needs its own"
            )));
        }
    }
    Ok(())
}

fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Rootless, the workload sees the host user as `id` (the nested user namespace of
/// `isolation.namespaces.user-nested`); rootful, nothing changes.
fn mapped_onto(mapping: Option<IdMapping>, id: &Identity) -> Option<IdMapping> {
    mapping.map(|m| m.as_ids(id.uid, id.gid))
}

/// The build image's user: its `User`, resolved in the image, never root, never overridden.
#[implements("cnb.build.user")]
fn build_user(image: &ImageConfiguration, rootfs: &Path, base: &RunOptions) -> Result<Identity> {
    if let Some(user) = &base.user {
        return Err(Error::InvalidOption {
            field: "user",
            reason: format!(
                "{user:?}: the lifecycle runs as the build image's User (platform.md § Build \
                 Image); do not override it"
            ),
        });
    }
    let user = image
        .config()
        .as_ref()
        .and_then(|c| c.user().clone())
        .unwrap_or_default();
    let not_root = |reason: String| Error::ImageConfig {
        field: "User",
        reason: format!(
            "{reason}; a CNB build image runs the lifecycle as a non-root user (platform.md § \
             Build Image), and the detector and builder refuse to run as root"
        ),
    };
    if user.is_empty() {
        return Err(not_root("not set".into()));
    }
    // No `user` option (refused above): the image's `User`, as the plan resolves it.
    let id = process_user_in(image, rootfs, None)?;
    if id.uid == 0 {
        return Err(not_root(format!("{user:?} is uid 0")));
    }
    Ok(id)
}

/// `CNB_USER_ID` and `CNB_GROUP_ID`: the image's values when they are the lifecycle's ids
/// (refused otherwise); set when the image lacks them.
#[implements("cnb.build.user-ids")]
fn user_id_vars(env: &[(String, String)], id: &Identity) -> Result<Vec<(String, String)>> {
    let mut missing = Vec::new();
    for (key, want) in [("CNB_USER_ID", id.uid), ("CNB_GROUP_ID", id.gid)] {
        match env_value(env, key) {
            None => missing.push((key.to_owned(), want.to_string())),
            Some(v) if v == want.to_string() => {}
            Some(v) => {
                return Err(Error::ImageConfig {
                    field: "Env",
                    reason: format!(
                        "{key}={v}, but the build image's User is uid {} gid {}; the lifecycle \
                         would fail to switch to {key} (platform.md § Build Image)",
                        id.uid, id.gid
                    ),
                });
            }
        }
    }
    Ok(missing)
}

/// Whether `version` is a Platform API version: `<major>` or `<major>.<minor>`.
fn is_api_version(version: &str) -> bool {
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match version.split_once('.') {
        None => number(version),
        Some((major, minor)) => number(major) && number(minor),
    }
}

/// The platform variables of a lifecycle container.
#[implements("cnb.build.platform-env")]
fn platform_env(build: &Build) -> Result<Vec<(String, String)>> {
    if !is_api_version(&build.platform_api) {
        return Err(Error::InvalidOption {
            field: "platform_api",
            reason: format!(
                "{:?} is not a Platform API version (<major> or <major>.<minor>)",
                build.platform_api
            ),
        });
    }
    let mut env = vec![
        ("CNB_PLATFORM_API", build.platform_api.as_str()),
        ("CNB_APP_DIR", APP_DIR),
        ("CNB_LAYERS_DIR", LAYERS_DIR),
        ("CNB_PLATFORM_DIR", PLATFORM_DIR),
    ];
    if build.cache.is_some() {
        env.push(("CNB_CACHE_DIR", CACHE_DIR));
    }
    if build.layout.is_some() {
        check_layout_dir(&build.layout_dir)?;
        // Layout export is experimental, and the lifecycle's default mode is `error`.
        env.extend([
            ("CNB_USE_LAYOUT", "true"),
            ("CNB_LAYOUT_DIR", build.layout_dir.as_str()),
            ("CNB_EXPERIMENTAL_MODE", "warn"),
        ]);
    }
    Ok(env
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// The caller's variables may not replace the profile's.
#[implements("cnb.build.platform-env", "cnb.app.env")]
fn refuse_overrides(base: &RunOptions, keys: &[&str], why: &str) -> Result<()> {
    match base.env.iter().find(|(k, _)| keys.contains(&k.as_str())) {
        Some((k, _)) => Err(Error::InvalidOption {
            field: "env",
            reason: format!("{k} {why}; the caller may not replace it"),
        }),
        None => Ok(()),
    }
}

/// Who a directory is checked for: uid and gid as the host sees them.
#[derive(Debug, Clone, Copy)]
struct HostIds {
    uid: u32,
    gid: u32,
}

/// Whether `meta` grants `bits` (r=4, w=2, x=1) to `ids`, by the owner, group or other class
/// that applies (the classes are exclusive, as in the kernel's check).
#[cfg(unix)]
fn grants(meta: &std::fs::Metadata, ids: HostIds, bits: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode();
    let class = if meta.uid() == ids.uid {
        mode >> 6
    } else if meta.gid() == ids.gid {
        mode >> 3
    } else {
        mode
    };
    class & bits == bits
}

#[cfg(not(unix))]
fn grants(_meta: &std::fs::Metadata, _ids: HostIds, _bits: u32) -> bool {
    true
}

/// The bind mounts of a lifecycle container, each source checked: a directory the lifecycle's
/// user can write (or, for the platform directory, read).
#[implements("cnb.build.directories")]
fn build_binds(build: &Build, ids: HostIds, shown: &Identity) -> Result<Vec<BindMount>> {
    let mut dirs = vec![
        (&build.workspace, APP_DIR, false),
        (&build.layers, LAYERS_DIR, false),
        (&build.platform, PLATFORM_DIR, true),
    ];
    if let Some(c) = &build.cache {
        dirs.push((c, CACHE_DIR, false));
    }
    if let Some(l) = &build.layout {
        dirs.push((l, build.layout_dir.as_str(), false));
    }
    dirs.into_iter()
        .map(|(source, destination, readonly)| {
            let bad = |reason: String| Error::InvalidOption {
                field: "binds",
                reason: format!("{} (for {destination}): {reason}", source.display()),
            };
            let meta = std::fs::metadata(source).map_err(|e| bad(e.to_string()))?;
            if !meta.is_dir() {
                return Err(bad("not a directory".into()));
            }
            // Traversal (x) plus read for the platform directory, write for the others.
            let (bits, what) = if readonly {
                (0o5, "readable")
            } else {
                (0o3, "writable")
            };
            if !grants(&meta, ids, bits) {
                return Err(bad(format!(
                    "not {what} by the lifecycle's user (uid {} gid {} inside, {}:{} on the \
                     host); make it so, as pack's EnsureVolumeAccess does (chown)",
                    shown.uid, shown.gid, ids.uid, ids.gid
                )));
            }
            Ok(BindMount {
                source: std::path::absolute(source).map_err(|e| bad(e.to_string()))?,
                destination: destination.into(),
                readonly,
            })
        })
        .collect()
}

/// The options of a lifecycle container running `build.phase` in the build image `image`
/// (whose root filesystem is `rootfs`), from locald's `base` options.
///
/// The lifecycle runs as the image's `User` (never root, never overridden), with
/// `CNB_USER_ID`/`CNB_GROUP_ID` equal to its ids, the platform variables set, and the
/// platform's directories bind-mounted; rootless, the host user is mapped onto the image's
/// user. Refuses, naming the field, an image or a request that breaks one of these.
#[implements("cnb.build.user", "cnb.build.phase")]
pub fn build_options(
    image: &ImageConfiguration,
    rootfs: &Path,
    build: &Build,
    base: RunOptions,
) -> Result<RunOptions> {
    let id = build_user(image, rootfs, &base)?;
    let entrypoint = image.config().as_ref().and_then(|c| c.entrypoint().clone());
    if entrypoint.is_some_and(|e| !e.is_empty()) {
        return Err(Error::ImageConfig {
            field: "Entrypoint",
            reason: format!(
                "a build image's Entrypoint would run in front of {} (pack clears it); use a \
                 build image without one",
                build.phase.path()
            ),
        });
    }
    let image_vars = image_env(image)?;
    let mut env = platform_env(build)?;
    env.extend(user_id_vars(&image_vars, &id)?);
    let mut ours: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    ours.extend(["CNB_USER_ID", "CNB_GROUP_ID"]);
    refuse_overrides(&base, &ours, "is set by the CNB build profile")?;

    let id_mapping = mapped_onto(base.id_mapping, &id);
    let host_ids = match base.id_mapping {
        Some(m) => HostIds {
            uid: m.host_uid,
            gid: m.host_gid,
        },
        None => HostIds {
            uid: id.uid,
            gid: id.gid,
        },
    };
    let mut binds = base.binds.clone();
    binds.extend(build_binds(build, host_ids, &id)?);
    let mut all_env = base.env.clone();
    all_env.extend(env);
    let args = std::iter::once(build.phase.path())
        .chain(build.args.iter().cloned())
        .collect();
    Ok(RunOptions {
        user: None,
        env: all_env,
        args: Some(args),
        binds,
        id_mapping,
        ..base
    })
}

/// The command an app container runs. [`AppCommand::Image`] (the default) keeps the image's
/// process; the others run a command of the caller's through the launcher, which first sets up
/// the buildpacks' launch environment (platform.md § launcher: `$0` is the launcher itself,
/// so the arguments are a user-provided process).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AppCommand {
    /// The image's `Entrypoint` (`/cnb/process/<type>` or the launcher) unchanged; the caller's
    /// `args`, if any, reach it as the user's arguments.
    #[default]
    Image,
    /// A shell command, as locald's services give one (`command = "npm start"`): run as
    /// `/cnb/lifecycle/launcher COMMAND`, a non-direct process, which the launcher runs with
    /// `bash -c` after sourcing the buildpacks' `profile.d` scripts. The run image needs bash,
    /// as every non-direct launcher process does.
    Shell(String),
    /// A command and its arguments run directly, without a shell: `/cnb/lifecycle/launcher --
    /// CMD ARGS...` (a direct process: no bash needed, `profile.d` not sourced).
    Exec(Vec<String>),
}

/// The entrypoint and args of `command` for an app container, `None` for the image's own.
#[implements("cnb.app.entrypoint")]
fn app_command(
    command: &AppCommand,
    base: &RunOptions,
) -> Result<Option<(Vec<String>, Vec<String>)>> {
    let own = |field: &'static str| Error::InvalidOption {
        field,
        reason: "the app command is the CNB profile's (AppCommand); give the command there, not \
                 both"
            .into(),
    };
    let empty = || Error::InvalidOption {
        field: "args",
        reason: "the app command is empty".into(),
    };
    let command = match command {
        AppCommand::Image => return Ok(None),
        AppCommand::Shell(s) if s.trim().is_empty() => return Err(empty()),
        AppCommand::Exec(v) if v.first().is_none_or(|c| c.is_empty()) => return Err(empty()),
        AppCommand::Shell(s) => vec![s.clone()],
        AppCommand::Exec(v) => std::iter::once("--".to_owned())
            .chain(v.iter().cloned())
            .collect(),
    };
    if base.entrypoint.is_some() {
        return Err(own("entrypoint"));
    }
    if base.args.is_some() {
        return Err(own("args"));
    }
    Ok(Some((vec![LAUNCHER.to_owned()], command)))
}

/// Whether `entrypoint` is an app image's: `/cnb/process/<type>` or the launcher (`--` after
/// it allowed).
#[implements("cnb.app.entrypoint")]
fn is_launcher_entrypoint(entrypoint: &[String]) -> bool {
    match entrypoint {
        [first, rest @ ..] => {
            let process_type = first
                .strip_prefix(PROCESS_DIR)
                .and_then(|t| t.strip_prefix('/'));
            let typed = process_type.is_some_and(|t| !t.is_empty() && !t.contains('/'));
            (typed && rest.is_empty()) || (first == LAUNCHER && (rest.is_empty() || rest == ["--"]))
        }
        [] => false,
    }
}

/// The app image's working directory: its `WorkingDir`, which must be set and agree with
/// `CNB_APP_DIR`.
#[implements("cnb.app.working-dir")]
fn app_working_dir(image: &ImageConfiguration, env: &[(String, String)]) -> Result<String> {
    let wd = image
        .config()
        .as_ref()
        .and_then(|c| c.working_dir().clone())
        .unwrap_or_default();
    let bad = |reason: String| Error::ImageConfig {
        field: "WorkingDir",
        reason,
    };
    if wd.is_empty() {
        return Err(bad(format!(
            "not set; the exporter sets it to the app directory ({APP_DIR} by default), so \
             this is not a CNB app image"
        )));
    }
    match env_value(env, "CNB_APP_DIR") {
        Some(app) if app.trim_end_matches('/') != wd.trim_end_matches('/') => Err(bad(format!(
            "{wd:?} differs from CNB_APP_DIR={app:?}; the exporter sets both to the app directory"
        ))),
        _ => Ok(wd),
    }
}

/// The app image's `CNB_*` variables, which reach the launcher exactly: `CNB_PLATFORM_API`
/// must be there, and the caller may not replace any of them.
#[implements("cnb.app.env")]
fn check_app_env(env: &[(String, String)], base: &RunOptions) -> Result<()> {
    if env_value(env, "CNB_PLATFORM_API").is_none_or(|v| v.trim().is_empty()) {
        return Err(Error::ImageConfig {
            field: "Env",
            reason: "no CNB_PLATFORM_API; the launcher would exit 11 before starting the app \
                     (the exporter writes it into every app image)"
                .into(),
        });
    }
    let keys: Vec<&str> = env
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with("CNB_"))
        .collect();
    refuse_overrides(base, &keys, "is set by the app image for its launcher")
}

/// An app container runs under the init: the launcher execs the app.
#[implements("cnb.app.init")]
fn require_init(base: &RunOptions) -> Result<()> {
    match base.init {
        Some(_) => Ok(()),
        None => Err(Error::InvalidOption {
            field: "init",
            reason: "a CNB app container needs the init as PID 1: the launcher replaces itself \
                     with the app, which would otherwise be PID 1"
                .into(),
        }),
    }
}

/// The app's user: the caller's override or the image's `User`, resolved in the image.
#[implements("cnb.app.user")]
fn app_user(image: &ImageConfiguration, rootfs: &Path, base: &RunOptions) -> Result<Identity> {
    process_user_in(image, rootfs, base.user.as_deref())
}

/// The options of an app container for the CNB app image `image` (whose root filesystem is
/// `rootfs`), from locald's `base` options (which must carry the init).
///
/// The image's `Entrypoint` (the launcher), `WorkingDir`, `User` and `Env` are kept; the
/// caller's args replace `Cmd` and reach the launcher as the user's arguments; rootless, the
/// host user is mapped onto the app's user. Refuses, naming the field, an image that is not a
/// CNB app image and a request that would break the launcher.
#[implements("cnb.app.entrypoint", "cnb.app.user")]
pub fn app_options(
    image: &ImageConfiguration,
    rootfs: &Path,
    base: RunOptions,
) -> Result<RunOptions> {
    app_options_with(image, rootfs, &AppCommand::Image, base)
}

/// [`app_options`] running `command` ([`AppCommand`]): with [`AppCommand::Shell`] or
/// [`AppCommand::Exec`] the entrypoint is the launcher itself and the command its arguments, so
/// `base` may carry neither an entrypoint nor args.
///
/// ```no_run
/// use locald_engine::cnb::{self, AppCommand};
/// use locald_engine::RunOptions;
/// use oci_spec::image::ImageConfiguration;
///
/// let image = ImageConfiguration::from_file("app/config.json")?;
/// let base = RunOptions { init: Some("/usr/lib/locald/locald-init".into()), ..RunOptions::default() };
/// let command = AppCommand::Shell("bundle exec rails server -p $PORT".into());
/// let opts = cnb::app_options_with(&image, "app/rootfs".as_ref(), &command, base)?;
/// assert_eq!(opts.entrypoint.as_deref(), Some(&["/cnb/lifecycle/launcher".to_string()][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[implements("cnb.app.entrypoint", "cnb.app.user")]
pub fn app_options_with(
    image: &ImageConfiguration,
    rootfs: &Path,
    command: &AppCommand,
    base: RunOptions,
) -> Result<RunOptions> {
    let entrypoint = image
        .config()
        .as_ref()
        .and_then(|c| c.entrypoint().clone())
        .unwrap_or_default();
    if !is_launcher_entrypoint(&entrypoint) {
        return Err(Error::ImageConfig {
            field: "Entrypoint",
            reason: format!(
                "{entrypoint:?} is neither {PROCESS_DIR}/<type> nor {LAUNCHER}: not a CNB app \
                 image"
            ),
        });
    }
    let env = image_env(image)?;
    app_working_dir(image, &env)?;
    check_app_env(&env, &base)?;
    require_init(&base)?;
    let id = app_user(image, rootfs, &base)?;
    let (entrypoint, args) = match app_command(command, &base)? {
        Some((e, a)) => (Some(e), Some(a)),
        None => (base.entrypoint.clone(), base.args.clone()),
    };
    Ok(RunOptions {
        id_mapping: mapped_onto(base.id_mapping, &id),
        entrypoint,
        args,
        ..base
    })
}

/// What a lifecycle phase's exit status means (platform.md, the phases' exit code tables), or
/// `None` for 0 and codes the specification does not assign.
///
/// ```
/// assert_eq!(locald_engine::cnb::lifecycle_exit_meaning(20), Some("detection: no buildpack detected"));
/// assert_eq!(locald_engine::cnb::lifecycle_exit_meaning(0), None);
/// ```
#[implements("cnb.build.exit-codes")]
pub fn lifecycle_exit_meaning(code: i32) -> Option<&'static str> {
    Some(match code {
        3 => "invalid arguments to the lifecycle",
        11 => "Platform API incompatible: the lifecycle does not support CNB_PLATFORM_API",
        12 => "Buildpack API incompatible: a buildpack's API is not supported by the lifecycle",
        1..=10 | 13..=19 => "generic lifecycle error",
        20 => "detection: no buildpack detected",
        21 => "detection: no buildpack detected, and at least one errored",
        22..=29 => "detection error",
        30..=39 => "analysis error",
        40..=49 => "restoration error",
        51 => "build: a buildpack's /bin/build failed",
        50..=59 => "build error",
        60..=69 => "export error",
        90..=99 => "image extension generate error",
        100..=109 => "base image extension error",
        _ => return None,
    })
}

/// What the launcher's exit status means when the launcher failed before starting the app
/// (11, 12, 80-89), or `None` for every other status, which is the app's own. An app may
/// exit with one of these codes itself; the launcher's message on stderr tells them apart.
///
/// ```
/// use locald_engine::cnb::launcher_exit_meaning;
///
/// assert!(launcher_exit_meaning(11).unwrap().contains("CNB_PLATFORM_API"));
/// assert_eq!(launcher_exit_meaning(1), None);
/// ```
#[implements("cnb.app.exit-codes")]
pub fn launcher_exit_meaning(code: i32) -> Option<&'static str> {
    Some(match code {
        11 => {
            "Platform API incompatible: the launcher does not support the image's CNB_PLATFORM_API"
        }
        12 => {
            "Buildpack API incompatible: a buildpack of the image has an API the launcher does not support"
        }
        82 => {
            "launch error: the launcher could not start the process (unknown process type, a buildpack's launch environment or exec.d failing, command not found, ...)"
        }
        80..=89 => "launch error",
        _ => return None,
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
