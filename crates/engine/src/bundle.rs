//! Prepare a bundle: plan, check, and write the per-container state directory atomically.
//!
//! The state directory holds `config.json` and the generated files; `root.path` in the spec is
//! the image directory itself (absolute), or, when the image lacks mount targets, the skeleton
//! root `rootfs` in the state directory ([`crate::skeleton`]). Everything is written into a fresh temporary
//! directory beside the state directory and renamed into place in one step, so the state
//! directory either does not exist or is complete; on any error nothing is left behind. The
//! engine never writes inside the rootfs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;

use crate::error::{Error, Result};
use crate::host_files::HostFiles;
use crate::identity::IdentityFiles;
use crate::options::RunOptions;
use crate::plan::{Plan, PlanInput};
use crate::rootfs::ImageRoot;
use crate::{preflight, skeleton};

/// The name of the runtime config inside the state directory.
pub const CONFIG_FILE: &str = "config.json";

/// Mode of the state directory: traversable, so that a runtime acting as a mapped uid can reach
/// the bind-mount sources.
pub const STATE_DIR_MODE: u32 = 0o755;

/// A prepared bundle: a state directory holding `config.json` and the generated files.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The container id.
    pub id: String,
    /// The state directory (the OCI bundle directory).
    pub state_dir: PathBuf,
    /// `state_dir/config.json`.
    pub config_path: PathBuf,
    /// The image rootfs, absolute and canonical (the spec's `root.path` is this, or the
    /// skeleton root inside the state directory).
    pub rootfs: PathBuf,
    /// The runtime spec written to `config.json`.
    pub spec: Spec,
    /// The plan the spec was built from.
    pub plan: Plan,
}

impl Bundle {
    /// Remove the state directory and everything in it.
    pub fn remove(&self) -> Result<()> {
        match remove_tree(&self.state_dir) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(())
            }
            other => other,
        }
    }
}

/// Remove a state directory, opening up the skeleton's copied read-only modes first.
fn remove_tree(state_dir: &Path) -> Result<()> {
    skeleton::make_removable(state_dir)?;
    fs::remove_dir_all(state_dir).map_err(|e| Error::io(state_dir, "remove", e))
}

/// Remove a state directory that [`prepare`] wrote, given only its path (after `locald-engine
/// prepare` and a run by hand). A skeleton root copies the image's directory modes (a 0555
/// root), which a plain `rm -rf` by an unprivileged user cannot get through; this opens them
/// up first. Refuses, changing nothing, a directory without a `config.json` file: it is not a
/// bundle, and removing it could destroy something else.
///
/// ```no_run
/// locald_engine::bundle::remove_state_dir("/run/user/1000/bundles/app".as_ref())?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn remove_state_dir(state_dir: &Path) -> Result<()> {
    let config = state_dir.join(CONFIG_FILE);
    if !fs::symlink_metadata(&config).is_ok_and(|m| m.is_file()) {
        return Err(Error::InvalidOption {
            field: "state_dir",
            reason: format!(
                "{} has no {CONFIG_FILE}: not a bundle, not removed",
                state_dir.display()
            ),
        });
    }
    remove_tree(state_dir)
}

/// Make `path` absolute against the current directory (without resolving symlinks).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, "make absolute", e))
}

/// Build the plan for a container without writing anything: read the image's identity files,
/// plan, check every mount target and the working directory inside the image
/// ([`crate::preflight`]), and provide the targets it lacks ([`crate::skeleton`]).
///
/// `state_dir` is where the generated files will live (their bind-mount sources).
pub fn plan(
    image: &ImageConfiguration,
    rootfs: &Path,
    opts: &RunOptions,
    state_dir: &Path,
    id: &str,
) -> Result<(Plan, ImageRoot)> {
    let rootfs = fs::canonicalize(rootfs).map_err(|e| Error::io(rootfs, "resolve rootfs", e))?;
    if let Some(init) = &opts.init {
        crate::stopping::check_init(init)?;
    }
    let root = ImageRoot::open(&rootfs)?;
    let identity_files = IdentityFiles::read(&root)?;
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
    let missing = preflight::check(&plan, &root, state_dir)?;
    skeleton::plan(&mut plan, &root, state_dir, &missing)?;
    Ok((plan, root))
}

/// Prepare a bundle for container `id` in the new directory `state_dir`.
///
/// Fails, writing nothing, when the image or options are unusable, when a mount target or the
/// working directory is unusable or, missing from the image, cannot be provided (see
/// [`crate::preflight`], [`crate::skeleton`]), or when `state_dir` already exists or lies
/// inside the rootfs.
///
/// ```no_run
/// use locald_engine::{prepare, RunOptions};
/// use oci_spec::image::ImageConfiguration;
///
/// let image = ImageConfiguration::from_file("image-config.json")?;
/// let bundle = prepare(&image, "/images/app/rootfs".as_ref(), &RunOptions::default(),
///                      "/run/locald-engine/bundles/app".as_ref(), "app")?;
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
    let state_dir = absolute(state_dir)?;
    let parent = state_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| Error::InvalidOption {
            field: "state_dir",
            reason: format!("{} has no parent directory", state_dir.display()),
        })?;
    if fs::symlink_metadata(&state_dir).is_ok() {
        return Err(Error::StateDirExists { path: state_dir });
    }
    let (plan, root) = plan(image, rootfs, opts, &state_dir, id)?;
    let rootfs = root.path().to_owned();
    let real_parent = fs::canonicalize(parent).map_err(|e| Error::io(parent, "resolve", e))?;
    if real_parent.starts_with(&rootfs) {
        return Err(Error::InvalidOption {
            field: "state_dir",
            reason: format!(
                "{} is inside the rootfs {}; the engine never writes there",
                state_dir.display(),
                rootfs.display()
            ),
        });
    }
    let spec = plan.to_spec()?;
    write_state(&plan, &spec, &state_dir)?;
    Ok(Bundle {
        id: id.to_owned(),
        config_path: state_dir.join(CONFIG_FILE),
        state_dir,
        rootfs,
        spec,
        plan,
    })
}

fn write_file(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<()> {
    // Names come from the plan; refuse anything that is not a plain file name.
    if name.is_empty()
        || name.contains('/')
        || name == "."
        || name == ".."
        || name == CONFIG_FILE
        || name == skeleton::ROOTFS_DIR
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
    // No fsync: the state directory is runtime state (it lives under /run for root), useless
    // after a reboot, and the rename makes it visible whole; an fsync per file cost more than
    // the rest of `prepare` together.
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

/// Write the plan's files and `config.json` into a temp dir beside `state_dir`, then rename it
/// into place without replacing anything.
pub(crate) fn write_state(plan: &Plan, spec: &Spec, state_dir: &Path) -> Result<()> {
    let parent = state_dir.parent().unwrap_or(Path::new("/"));
    let name = state_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Dropping `tmp` on any early return removes the partial directory.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, "create temp dir", e))?;
    let filled = fill_state(plan, spec, tmp.path()).and_then(|()| {
        set_mode(tmp.path(), STATE_DIR_MODE)?;
        rename_noreplace(tmp.path(), state_dir)
    });
    match filled {
        // Renamed: nothing left to clean up at the old path.
        Ok(()) => {
            let _ = tmp.keep();
            Ok(())
        }
        Err(e) => {
            // The skeleton copies the image's modes (a 0555 root, say), which an unprivileged
            // engine cannot delete through; open them up so that dropping `tmp` removes all.
            let _ = skeleton::make_removable(tmp.path());
            Err(e)
        }
    }
}

/// The generated files, the skeleton root and `config.json`, in `dir`.
fn fill_state(plan: &Plan, spec: &Spec, dir: &Path) -> Result<()> {
    for (file, contents, mode) in plan.files() {
        write_file(dir, file, contents.as_bytes(), mode)?;
    }
    skeleton::write(plan, dir)?;
    write_file_config(dir, &config_json(spec)?)
}

/// `config.json` bytes, deterministic: oci-spec keeps capability sets in hash sets, whose
/// iteration order changes from process to process, so they are sorted.
pub fn config_json(spec: &Spec) -> Result<Vec<u8>> {
    let err = |e: serde_json::Error| Error::Spec {
        reason: e.to_string(),
    };
    let mut v = serde_json::to_value(spec).map_err(err)?;
    if let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    {
        for set in caps.values_mut() {
            if let Some(a) = set.as_array_mut() {
                a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
            }
        }
    }
    serde_json::to_vec_pretty(&v).map_err(err)
}

fn write_file_config(dir: &Path, json: &[u8]) -> Result<()> {
    let path = dir.join(CONFIG_FILE);
    fs::write(&path, json).map_err(|e| Error::io(&path, "write", e))?;
    set_mode(&path, 0o644)
}

#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE).map_err(|e| {
        if e == nix::errno::Errno::EEXIST {
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
