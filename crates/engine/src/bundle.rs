//! Prepare a bundle: plan, check, and write the container's bundle directory atomically; and
//! remove one.
//!
//! ```text
//! BUNDLE/config.json          the OCI runtime configuration
//! BUNDLE/locald-bundle.json   what the engine needs later: the image, the layer, the user
//!                             namespace it creates (BundleInfo); its presence marks the
//!                             directory as the engine's, so `remove` deletes nothing else
//! BUNDLE/rootfs/              the layer's mount point (root.path)
//! BUNDLE/layer/upper/         the container's writable layer
//! BUNDLE/layer/work/          overlayfs' work directory
//! BUNDLE/hosts, hostname, resolv.conf   generated files, bind-mounted into the container
//! ```
//!
//! The runtime keeps its own state elsewhere (`runc --root`, see [`crate::state`]), never in
//! the bundle. Everything is written into a fresh temporary directory beside the bundle and
//! renamed into place in one step, so the bundle either does not exist or is complete; on any
//! error nothing is left behind. Preparing needs no privilege and mounts nothing: the layer is
//! mounted when the container starts ([`crate::layer::mount`]). The image directory is only
//! ever read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::duties::PlanInput;
use crate::error::{Error, Result};
use crate::host_files::HostFiles;
use crate::identity::IdentityFiles;
use crate::layer;
use crate::options::{IdMapping, RunOptions, UsernsCreator};
use crate::plan::Plan;
use crate::rootfs::ImageRoot;

mod facts;
pub use facts::{BundleFacts, MAX_CONFIG_BYTES};

/// The name of the runtime config inside the bundle.
pub const CONFIG_FILE: &str = "config.json";

/// The engine's own record inside the bundle (see [`BundleInfo`]).
pub const INFO_FILE: &str = "locald-bundle.json";

/// Mode of the bundle directory: the engine's user only.
pub const BUNDLE_DIR_MODE: u32 = 0o700;

/// The version of [`BundleInfo`]'s format.
pub const INFO_FORMAT: u32 = 1;

/// What the engine records in a bundle for the steps after `prepare` (mounting the layer,
/// creating the user namespace, removing): `locald-bundle.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    /// [`INFO_FORMAT`].
    pub format: u32,
    /// The container id.
    pub id: String,
    /// The image directory: the layer's read-only lower layer (absolute, canonical).
    pub image: PathBuf,
    /// The layer is mounted read-only.
    pub readonly: bool,
    /// The layer is mounted `volatile`, once ([`crate::RunOptions::volatile_layer`]). Written
    /// only when true, so that an engine from before it reads every other record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub volatile: bool,
    /// The user namespace the engine creates around the runtime, if any (its mapping).
    pub engine_userns: Option<IdMapping>,
    /// The signal that stops the container (the image's `StopSignal`, else SIGTERM).
    pub stop_signal: i32,
}

impl BundleInfo {
    /// Read and check `BUNDLE/locald-bundle.json`; a directory without a valid one is
    /// [`Error::NotABundle`].
    pub fn read(bundle_dir: &Path) -> Result<BundleInfo> {
        let path = bundle_dir.join(INFO_FILE);
        let not = |reason: String| Error::NotABundle {
            path: bundle_dir.to_owned(),
            reason,
        };
        let meta = fs::symlink_metadata(&path).map_err(|e| not(format!("{INFO_FILE}: {e}")))?;
        if !meta.is_file() || meta.len() > 64 * 1024 {
            return Err(not(format!("{INFO_FILE} is not a small regular file")));
        }
        let text = fs::read(&path).map_err(|e| not(format!("{INFO_FILE}: {e}")))?;
        let info: BundleInfo =
            serde_json::from_slice(&text).map_err(|e| not(format!("{INFO_FILE}: {e}")))?;
        if info.format != INFO_FORMAT {
            return Err(not(format!(
                "{INFO_FILE} has format {}, this engine reads {INFO_FORMAT}",
                info.format
            )));
        }
        if !info.image.is_absolute() {
            return Err(not(format!("{INFO_FILE}: image is not an absolute path")));
        }
        Ok(info)
    }
}

/// A prepared bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub state_dir: PathBuf,
    /// `state_dir/config.json`.
    pub config_path: PathBuf,
    /// The image directory, absolute and canonical: the layer's read-only lower layer.
    pub image: PathBuf,
    /// The runtime spec written to `config.json`.
    pub spec: Spec,
    /// The plan the spec was built from.
    pub plan: Plan,
    /// What `locald-bundle.json` records.
    pub info: BundleInfo,
}

impl Bundle {
    /// A bundle [`prepare`] wrote earlier, read back from its directory (`config.json` and
    /// `locald-bundle.json`; the plan is not kept, so [`Bundle::plan`] is empty).
    pub fn open(bundle_dir: &Path) -> Result<Bundle> {
        let state_dir = crate::state::absolute(bundle_dir)?;
        let info = BundleInfo::read(&state_dir)?;
        let config_path = state_dir.join(CONFIG_FILE);
        let spec = Spec::load(&config_path).map_err(|e| Error::NotABundle {
            path: state_dir.clone(),
            reason: format!("{CONFIG_FILE}: {e}"),
        })?;
        Ok(Bundle {
            id: info.id.clone(),
            image: info.image.clone(),
            config_path,
            state_dir,
            spec,
            plan: Plan::default(),
            info,
        })
    }

    /// The layer's mount point, `state_dir/rootfs`.
    pub fn rootfs(&self) -> PathBuf {
        self.state_dir.join(layer::ROOTFS_DIR)
    }

    /// The user namespace the engine creates around the runtime, if any.
    pub fn engine_userns(&self) -> Option<IdMapping> {
        self.info.engine_userns
    }

    /// Remove the bundle directory and everything in it (see [`remove`]); a bundle already
    /// gone is not an error.
    pub fn remove(&self) -> Result<()> {
        match remove(&self.state_dir) {
            Err(Error::NotABundle { .. }) if fs::symlink_metadata(&self.state_dir).is_err() => {
                Ok(())
            }
            other => other,
        }
    }
}

/// Remove a bundle that [`prepare`] wrote, given its path: unmount its layer if it is mounted
/// in this mount namespace, then delete the directory without ever crossing into another
/// filesystem (a still-mounted root, a host directory). Refuses, changing nothing, a directory
/// without the engine's `locald-bundle.json` ([`Error::NotABundle`]): it is not a bundle, and
/// removing it could destroy someone's data. Whether the container still runs is the
/// runtime's to say; [`crate::Runtime::remove`] checks that first.
///
/// ```no_run
/// locald_engine::bundle::remove("/var/lib/locald-engine/bundles/app".as_ref())?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
///
/// Two removals of one bundle (the engine that ran a container cleaning up as `rm --force`
/// kills it) are serialized by an exclusive `flock(2)` on the bundle directory; the second
/// finds the directory gone and has nothing left to do.
#[implements("lifecycle.remove")]
pub fn remove(bundle_dir: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    let _lock = match lock(bundle_dir)? {
        Some(lock) => lock,
        None => return Ok(()),
    };
    let info = BundleInfo::read(bundle_dir)?;
    #[cfg(target_os = "linux")]
    layer::unmount(bundle_dir)?;
    // Only the runc runtime's launcher creates a user namespace with subordinate ids
    // (libcontainer creates its own), so only with it can a layer hold their files.
    #[cfg(all(target_os = "linux", feature = "runc"))]
    remove_mapped_layer(bundle_dir, &info)?;
    #[cfg(not(all(target_os = "linux", feature = "runc")))]
    let _ = info;
    remove_tree(bundle_dir)
}

/// When the engine created the container's user namespace with subordinate ids and is not
/// root, remove the layer (`layer/`) from inside a user namespace with the same mapping: what
/// the workload gave to a subordinate id (a file `chown`ed to uid 1000 in a directory that
/// uid made 0755) is not the caller's to delete from outside. Root, or under the single
/// mapping, the ordinary removal can delete everything.
#[cfg(all(target_os = "linux", feature = "runc"))]
#[implements("lifecycle.remove-mapped")]
fn remove_mapped_layer(bundle_dir: &Path, info: &BundleInfo) -> Result<()> {
    let Some(mapping) = info.engine_userns.filter(|m| m.subordinate.is_some()) else {
        return Ok(());
    };
    let layer = bundle_dir.join(layer::LAYER_DIR);
    if nix::unistd::geteuid().is_root() || fs::symlink_metadata(&layer).is_err() {
        return Ok(());
    }
    crate::runtime::in_user_namespace(&mapping, &layer, || {
        crate::tree::remove_one_filesystem(&layer)
    })
}

/// Take the bundle's removal lock; `None` when another removal finished first (the directory
/// the lock was taken on is no longer at `bundle_dir`).
#[cfg(target_os = "linux")]
fn lock(bundle_dir: &Path) -> Result<Option<nix::fcntl::Flock<fs::File>>> {
    use std::os::unix::fs::MetadataExt;
    let dir = match fs::File::open(bundle_dir) {
        Ok(dir) => dir,
        // Not there at all: not a bundle, said the usual way.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return BundleInfo::read(bundle_dir).map(|_| None);
        }
        Err(e) => return Err(Error::io(bundle_dir, "open", e)),
    };
    let locked = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io(bundle_dir, "lock", e.into()))?;
    let held = locked
        .metadata()
        .map_err(|e| Error::io(bundle_dir, "stat", e))?;
    match fs::symlink_metadata(bundle_dir) {
        Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => Ok(Some(locked)),
        Ok(_) => Err(Error::io(
            bundle_dir,
            "remove",
            std::io::Error::other("replaced while waiting for another removal"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(bundle_dir, "stat", e)),
    }
}

/// Delete the bundle `dir` recursively, staying on its filesystem; directories the engine's
/// user owns but cannot enter (mode 0 in the layer's `work`) are opened up first. The record
/// `locald-bundle.json` goes last, so that a removal interrupted half-way leaves a directory
/// the engine still recognizes, and can finish removing.
#[cfg(target_os = "linux")]
fn remove_tree(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, "read", e))? {
        let e = e.map_err(|e| Error::io(dir, "read", e))?;
        if e.file_name() == INFO_FILE {
            continue;
        }
        let path = e.path();
        let kind = e.file_type().map_err(|e| Error::io(&path, "stat", e))?;
        if kind.is_dir() {
            crate::tree::remove_one_filesystem(&path)?;
        } else {
            fs::remove_file(&path).map_err(|e| Error::io(&path, "remove", e))?;
        }
    }
    crate::tree::remove_one_filesystem(dir)
}

#[cfg(not(target_os = "linux"))]
fn remove_tree(dir: &Path) -> Result<()> {
    fs::remove_dir_all(dir).map_err(|e| Error::io(dir, "remove", e))
}

/// Build the plan for a container without writing anything: read the image's identity files
/// and the host's name files, plan, complete the layer against the image ([`layer::plan`]),
/// and check the limits ([`crate::limits`]).
///
/// `state_dir` is where the bundle will live (the generated files' bind-mount sources).
pub fn plan(
    image: &ImageConfiguration,
    rootfs: &Path,
    opts: &RunOptions,
    state_dir: &Path,
    id: &str,
) -> Result<(Plan, ImageRoot)> {
    crate::names::check_container_id(id)?;
    let rootfs = canonical_image(rootfs)?;
    if let Some(init) = &opts.init {
        crate::stopping::check_init(init)?;
    }
    let root = ImageRoot::open(&rootfs)?;
    let identity_files = IdentityFiles::read(&root)?;
    let opts = &*crate::identity::map_process_user(image, &identity_files, opts)?;
    let host_files = HostFiles::read()?;
    let mut plan = Plan::build(&PlanInput {
        image,
        identity_files: &identity_files,
        host_files: &host_files,
        options: opts,
        rootfs: &rootfs,
        state_dir,
        id,
    })?;
    crate::limits::check(&plan)?;
    plan_annotations(&mut plan, opts)?;
    let state_files: Vec<String> = plan
        .files()
        .map(|(name, _, _)| state_dir.join(name).display().to_string())
        .collect();
    layer::plan(&mut plan, &root, &state_files)?;
    Ok((plan, root))
}

/// Push the caller's annotations, each checked: a key not empty, no NUL.
#[implements("lifecycle.annotations")]
fn plan_annotations(plan: &mut Plan, opts: &RunOptions) -> Result<()> {
    for (key, value) in &opts.annotations {
        let bad = |reason: &str| Error::InvalidOption {
            field: "annotations",
            reason: format!("{key:?}: {reason}"),
        };
        if key.is_empty() {
            return Err(bad("an annotation key must not be empty"));
        }
        if key.contains('\0') || value.contains('\0') {
            return Err(bad("contains NUL"));
        }
        plan.push(
            crate::requirement!("lifecycle.annotations"),
            crate::plan::Item::Annotation {
                key: key.clone(),
                value: value.clone(),
            },
        );
    }
    Ok(())
}

/// The image directory, absolute and canonical; it must be a directory.
fn canonical_image(rootfs: &Path) -> Result<PathBuf> {
    let p = fs::canonicalize(rootfs).map_err(|e| Error::io(rootfs, "resolve rootfs", e))?;
    if !p.is_dir() {
        return Err(Error::InvalidOption {
            field: "rootfs",
            reason: format!("{} is not a directory", rootfs.display()),
        });
    }
    Ok(p)
}

/// The user namespace the engine creates, if the options ask for one.
fn engine_userns(opts: &RunOptions) -> Option<IdMapping> {
    opts.id_mapping
        .filter(|m| m.created_by == UsernsCreator::Engine)
}

/// Prepare a bundle for container `id` in the new directory `state_dir`: [`Planned::new`], then
/// [`Planned::write`].
///
/// Fails, writing nothing, when the image or options are unusable, when a mount target or the
/// working directory is unusable (see [`layer::plan`]), when an input exceeds a limit
/// ([`crate::limits`]), when an unprivileged writable layer could not hold the image's files
/// ([`layer::check_mapped_owners`]), or when `state_dir` already exists, lies inside the
/// image, or has a parent another user could change ([`crate::state::ensure_private_dir`]).
///
/// ```no_run
/// use locald_engine::{prepare, RunOptions};
/// use oci_spec::image::ImageConfiguration;
///
/// let image = ImageConfiguration::from_file("image-config.json")?;
/// let bundle = prepare(&image, "/images/app/rootfs".as_ref(), &RunOptions::default(),
///                      "/var/lib/locald-engine/bundles/app".as_ref(), "app")?;
/// println!("{}", bundle.config_path.display());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prepare(
    image: &ImageConfiguration,
    rootfs: &Path,
    opts: &RunOptions,
    state_dir: &Path,
    id: &str,
) -> Result<Bundle> {
    let state_dir = crate::state::absolute(state_dir)?;
    // Refused before the image is read (`Planned::write` checks again, after planning).
    bundle_parent(&state_dir)?;
    refuse_existing(&state_dir)?;
    Planned::new(image, rootfs, opts, &state_dir, id)?.write()
}

/// A bundle planned and checked, not yet written: everything [`prepare`] refuses of the
/// image, the options and the place of `state_dir` is refused by [`Planned::new`], which writes
/// nothing anywhere; [`Planned::write`] then creates the bundle. A caller that must create the
/// directories the bundle lives in (the CLI's `run`, its state root) plans first, so that a
/// refused input leaves no directory behind (`identity.image-files.confined`).
///
/// ```no_run
/// use locald_engine::bundle::Planned;
/// use locald_engine::RunOptions;
/// use oci_spec::image::ImageConfiguration;
///
/// let image = ImageConfiguration::from_file("image-config.json")?;
/// let planned = Planned::new(&image, "/images/app/rootfs".as_ref(), &RunOptions::default(),
///                            "/var/lib/locald-engine/bundles/app".as_ref(), "app")?;
/// // Nothing written yet: now the state root the bundle lives in, say.
/// let bundle = planned.write()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Planned {
    id: String,
    /// Absolute.
    state_dir: PathBuf,
    plan: Plan,
    spec: Spec,
    info: BundleInfo,
}

impl Planned {
    /// Plan container `id` for the new directory `state_dir`, checking everything but the
    /// directory's absence and its parent's safety (which [`Planned::write`] checks): the image
    /// and the options ([`plan`]), `state_dir` outside the image (as written, and as its
    /// existing part resolves), the image's owners against an unprivileged layer
    /// ([`layer::check_mapped_owners`]), the runtime spec. Writes nothing.
    pub fn new(
        image: &ImageConfiguration,
        rootfs: &Path,
        opts: &RunOptions,
        state_dir: &Path,
        id: &str,
    ) -> Result<Planned> {
        let state_dir = crate::state::absolute(state_dir)?;
        bundle_parent(&state_dir)?;
        let (plan, root) = plan(image, rootfs, opts, &state_dir, id)?;
        let image_dir = root.path().to_owned();
        refuse_inside_image(&state_dir, &image_dir)?;
        let userns = engine_userns(opts);
        if let Some(mapping) = &userns
            && !opts.readonly_rootfs
        {
            layer::check_mapped_owners(&root, mapping)?;
        }
        let info = BundleInfo {
            format: INFO_FORMAT,
            id: id.to_owned(),
            image: image_dir,
            readonly: opts.readonly_rootfs,
            volatile: plan.volatile_layer(),
            engine_userns: userns,
            stop_signal: plan.stop_signal(),
        };
        let spec = plan.to_spec()?;
        Ok(Planned {
            id: id.to_owned(),
            state_dir,
            plan,
            spec,
            info,
        })
    }

    /// The bundle directory it will be written to (absolute).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Write the bundle: refused, writing nothing, when its directory exists or its parent
    /// is unsafe ([`crate::state::ensure_private_dir`], which creates the parent when missing).
    pub fn write(self) -> Result<Bundle> {
        let Planned {
            id,
            state_dir,
            plan,
            spec,
            info,
        } = self;
        refuse_existing(&state_dir)?;
        crate::state::ensure_private_dir(bundle_parent(&state_dir)?)?;
        write_bundle(&plan, &spec, &info, &state_dir)?;
        Ok(Bundle {
            id,
            config_path: state_dir.join(CONFIG_FILE),
            state_dir,
            image: info.image.clone(),
            spec,
            plan,
            info,
        })
    }
}

/// The parent directory of the bundle directory `state_dir` (absolute): refused when it has
/// none (`/`).
fn bundle_parent(state_dir: &Path) -> Result<&Path> {
    state_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| Error::InvalidOption {
            field: "state_dir",
            reason: format!("{} has no parent directory", state_dir.display()),
        })
}

/// Refuse a bundle directory that exists: it is never replaced.
fn refuse_existing(state_dir: &Path) -> Result<()> {
    if fs::symlink_metadata(state_dir).is_ok() {
        return Err(Error::StateDirExists {
            path: state_dir.to_owned(),
        });
    }
    Ok(())
}

/// Refuse `dir` (absolute; it need not exist) when it lies inside the image directory
/// `image_dir` (absolute, canonical), the engine writing nothing there: as written, and as its
/// longest existing ancestor resolves ([`resolve_existing`]), so that a symlink on the way
/// into the image is seen too. Creates nothing.
#[implements("filesystems.root")]
fn refuse_inside_image(dir: &Path, image_dir: &Path) -> Result<()> {
    if dir.starts_with(image_dir) || resolve_existing(dir).starts_with(image_dir) {
        return Err(Error::InvalidOption {
            field: "state_dir",
            reason: format!(
                "{} is inside the image {}; the engine never writes there",
                dir.display(),
                image_dir.display()
            ),
        });
    }
    Ok(())
}

/// `path` (absolute) with its longest existing ancestor resolved (symlinks followed, as
/// `realpath(3)`) and the rest, which does not exist and so holds no symlink, as written.
/// A missing ancestor is passed over with one `lstat`: resolving it would walk (and `readlink`)
/// every component above it first, and `run` asks this of a bundle directory that is new.
fn resolve_existing(path: &Path) -> PathBuf {
    for existing in path.ancestors() {
        if fs::symlink_metadata(existing).is_err() {
            continue;
        }
        // Present but unresolvable (a dangling symlink): the ancestor above it is tried.
        if let Ok(real) = fs::canonicalize(existing) {
            return match path.strip_prefix(existing) {
                Ok(rest) if !rest.as_os_str().is_empty() => real.join(rest),
                _ => real,
            };
        }
    }
    path.to_owned()
}

fn write_file(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<()> {
    // Names come from the plan; refuse anything that is not a plain file name.
    if name.is_empty()
        || name.contains('/')
        || name == "."
        || name == ".."
        || name == CONFIG_FILE
        || name == INFO_FILE
        || name == layer::ROOTFS_DIR
        || name == "layer"
    {
        return Err(Error::Spec {
            reason: format!("state file name {name:?} is not a plain file name"),
        });
    }
    let path = dir.join(name);
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(&path).map_err(|e| Error::io(&path, "create", e))?;
    // No fsync: the bundle is runtime state, useless after a reboot, and the rename makes it
    // visible whole; an fsync per file cost more than the rest of `prepare` together.
    f.write_all(contents)
        .map_err(|e| Error::io(&path, "write", e))?;
    // The umask may have cleared bits; set the exact mode (on the open file: no path lookup).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&path, "chmod", e))?;
    }
    Ok(())
}

fn mkdir(path: &Path, mode: u32) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, mode);
    #[cfg(not(unix))]
    let _ = mode;
    b.create(path).map_err(|e| Error::io(path, "create", e))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, "chmod", e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Write the bundle into a temp dir beside `state_dir` (named `.ID.PID.XXXXXX.tmp`, so that
/// one left by a killed engine can be told from one being written, see
/// [`crate::state::StateRoot::sweep`]), then rename it into place without replacing anything.
#[implements("lifecycle.bundle")]
pub(crate) fn write_bundle(
    plan: &Plan,
    spec: &Spec,
    info: &BundleInfo,
    state_dir: &Path,
) -> Result<()> {
    let parent = state_dir.parent().unwrap_or(Path::new("/"));
    let name = state_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Dropping `tmp` on any early return removes the partial directory.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.{}.", std::process::id()))
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, "create temp dir", e))?;
    let filled = fill_bundle(plan, spec, info, tmp.path()).and_then(|()| {
        set_mode(tmp.path(), BUNDLE_DIR_MODE)?;
        rename_noreplace(tmp.path(), state_dir)
    });
    match filled {
        // Renamed: nothing left to clean up at the old path.
        Ok(()) => {
            let _ = tmp.keep();
            Ok(())
        }
        Err(e) => {
            // The layer may hold directories the engine cannot enter as they are (an image
            // root of 0555 mirrored): remove it the careful way before `tmp` is dropped.
            #[cfg(target_os = "linux")]
            let _ = crate::tree::remove_one_filesystem(tmp.path());
            Err(e)
        }
    }
}

/// The generated files, the layer, `locald-bundle.json` and `config.json`, in `dir`.
#[implements("filesystems.layer.private")]
fn fill_bundle(plan: &Plan, spec: &Spec, info: &BundleInfo, dir: &Path) -> Result<()> {
    for (file, contents, mode) in plan.files() {
        write_file(dir, file, contents.as_bytes(), mode)?;
    }
    mkdir(&dir.join(layer::ROOTFS_DIR), 0o755)?;
    mkdir(&dir.join("layer"), 0o700)?;
    let upper = dir.join(layer::UPPER_DIR);
    mkdir(&upper, 0o755)?;
    mkdir(&dir.join(layer::WORK_DIR), 0o700)?;
    layer::write(plan, &upper)?;
    let info_json = serde_json::to_vec_pretty(info).map_err(|e| Error::Spec {
        reason: e.to_string(),
    })?;
    write_file_named(dir, INFO_FILE, &info_json)?;
    write_file_named(dir, CONFIG_FILE, &config_json(spec)?)
}

/// `config.json` bytes, deterministic: oci-spec keeps some members in hash maps and sets
/// (`HASHED_MEMBERS`), whose iteration order changes from process to process, so their keys
/// (and the capability sets) are sorted.
///
/// The spec is written straight to JSON; only those members are read back and rewritten
/// (`sort_member`). Going through a `serde_json::Value` of the whole spec, which sorts every
/// object, took 0.2 ms of a `run`: each of the seccomp filter's 400 names became a value.
pub fn config_json(spec: &Spec) -> Result<Vec<u8>> {
    let err = |e: serde_json::Error| Error::Spec {
        reason: e.to_string(),
    };
    let mut json = serde_json::to_vec_pretty(spec).map_err(err)?;
    for (path, hashed) in HASHED_MEMBERS {
        sort_member(&mut json, path, *hashed).map_err(err)?;
    }
    Ok(json)
}

/// What in a member iterates in hash order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hashed {
    /// The object's keys (a `HashMap`).
    Keys,
    /// Each array in the object (`process.capabilities`: a `HashSet` per set).
    Sets,
}

/// The members of a Linux runtime spec that oci-spec 0.10 keeps in a `HashMap` or `HashSet`,
/// by their path of keys from the top.
const HASHED_MEMBERS: &[(&[&str], Hashed)] = &[
    (&["annotations"], Hashed::Keys),
    (&["process", "capabilities"], Hashed::Sets),
    (&["linux", "sysctl"], Hashed::Keys),
    (&["linux", "netDevices"], Hashed::Keys),
    (&["linux", "timeOffsets"], Hashed::Keys),
    (&["linux", "resources", "unified"], Hashed::Keys),
    (&["linux", "resources", "rdma"], Hashed::Keys),
];

/// Sort the member at `path` in `json`, a document as `to_vec_pretty` writes it (two spaces per
/// level, one member or element per line). Each key of the path is found at its depth inside
/// its parent's span: a line of the document's own indentation followed by the quoted key is
/// a key, since a string's quotes and newlines are escaped; an object's span ends at the first
/// line of its own indentation that closes a brace. A member that is absent, empty or not an
/// object is left as it is. The member is read as JSON, sorted, and written back indented to
/// its depth.
fn sort_member(json: &mut Vec<u8>, path: &[&str], hashed: Hashed) -> serde_json::Result<()> {
    use std::collections::BTreeMap;
    let find = |json: &[u8], what: &[u8]| memchr::memmem::find(json, what);
    let (mut from, mut to) = (0, json.len());
    for (depth, key) in path.iter().enumerate() {
        let indent = " ".repeat(2 * (depth + 1));
        let member = format!("\n{indent}\"{key}\": {{\n");
        let Some(at) = find(&json[from..to], member.as_bytes()) else {
            return Ok(());
        };
        let start = from + at + member.len() - 2;
        let close = format!("\n{indent}}}");
        let Some(len) = find(&json[start..to], close.as_bytes()) else {
            return Ok(());
        };
        (from, to) = (start, start + len + close.len());
    }
    let text = match hashed {
        Hashed::Keys => {
            // A BTreeMap, not serde_json's Map, which keeps insertion order when any crate in
            // the build turns on serde_json's `preserve_order`.
            let map: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&json[from..to])?;
            serde_json::to_string_pretty(&map)?
        }
        Hashed::Sets => {
            let mut sets: BTreeMap<String, Option<Vec<String>>> =
                serde_json::from_slice(&json[from..to])?;
            for set in sets.values_mut().flatten() {
                set.sort();
            }
            serde_json::to_string_pretty(&sets)?
        }
    };
    let indent = format!("\n{}", " ".repeat(2 * path.len()));
    json.splice(from..to, text.replace('\n', &indent).into_bytes());
    Ok(())
}

fn write_file_named(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    fs::write(&path, bytes).map_err(|e| Error::io(&path, "write", e))?;
    set_mode(&path, 0o644)
}

#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> Result<()> {
    // rustix's, not nix's: nix offers renameat2 on glibc targets alone, and the engine also
    // builds for musl.
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(|e| {
        if e == rustix::io::Errno::EXIST {
            Error::StateDirExists {
                path: to.to_owned(),
            }
        } else {
            Error::io(to, "rename into place", e.into())
        }
    })
}

#[cfg(not(target_os = "linux"))]
fn rename_noreplace(from: &Path, to: &Path) -> Result<()> {
    if fs::symlink_metadata(to).is_ok() {
        return Err(Error::StateDirExists {
            path: to.to_owned(),
        });
    }
    fs::rename(from, to).map_err(|e| Error::io(to, "rename into place", e))
}

#[cfg(all(test, target_os = "linux"))]
mod tests;
