//! The ownership check of an unprivileged writable layer.
//!
//! An overlay mounted inside a user namespace (the CLI run by an unprivileged user) copies a
//! file up into the writable layer with its owner; when the user namespace does not map that
//! owner the copy fails with EOVERFLOW — inside the workload, at its first write to any file or
//! directory of that owner (measured; kernel `fs/overlayfs/copy_up.c`). So before such a
//! container is prepared, every entry of the image is checked to belong to an id the mapping
//! maps, and the first that does not is refused, naming it and the fixes.

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::options::IdMapping;
use crate::rootfs::ImageRoot;

/// Check that every entry of the image at `root` is owned by a uid and gid that `mapping` maps
/// (see the module documentation); the first that is not is an error naming it, its owner,
/// and what to do.
///
/// ```no_run
/// use locald_engine::{layer, IdMapping, ImageRoot};
///
/// let root = ImageRoot::open("/home/me/images/app".as_ref())?;
/// layer::check_mapped_owners(&root, &IdMapping::new(1000, 1000))?;
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("filesystems.layer.unprivileged")]
pub fn check_mapped_owners(root: &ImageRoot, mapping: &IdMapping) -> Result<()> {
    root.walk_owners(&mut |path, (uid, gid)| {
        if mapping.maps_host_uid(uid) && mapping.maps_host_gid(gid) {
            return Ok(());
        }
        Err(Error::UnmappedOwner {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_owned()
            },
            uid,
            gid,
            rootfs: root.path().to_owned(),
            mapped: mapping.describe_host_ids(),
        })
    })
}
