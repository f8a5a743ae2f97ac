//! The command line's choice for a workload user that is not root under the single mapping:
//! the nested user namespace of `isolation.namespaces.user-nested`, chosen for the caller.

use std::path::Path;

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::error::Result;
use crate::identity::entries::user_spec;
use crate::identity::resolve_in_rootfs;
use crate::options::RunOptions;

/// Under the rootless single mapping (no subordinate ids), run a workload user that is not
/// root — the caller's `user`, else the image's `User`, resolved in the image — in the nested
/// user namespace, by mapping the host user onto it ([`crate::IdMapping::as_ids`]). Rootful,
/// with subordinate ids (every id is mapped), with a mapping already nested, or for a root
/// user, the options come back unchanged. A user the image cannot resolve is left for the
/// plan to refuse, in its own words.
///
/// ```no_run
/// use locald_engine::{isolation::nested::nest_workload_user, RunOptions};
///
/// let image = oci_spec::image::ImageConfiguration::default();
/// let opts = RunOptions { user: Some("nobody".into()), ..RunOptions::rootless_for_current_user() };
/// let opts = nest_workload_user(opts, &image, "/images/debian".as_ref())?;
/// assert_eq!(opts.id_mapping.unwrap().container_uid, 65534);
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("isolation.namespaces.user-nested", "isolation.namespaces.user-ranges")]
pub fn nest_workload_user(
    mut opts: RunOptions,
    image: &ImageConfiguration,
    rootfs: &Path,
) -> Result<RunOptions> {
    let Some(mapping) = opts.id_mapping else {
        return Ok(opts);
    };
    if mapping.subordinate.is_some() || mapping.nested() {
        return Ok(opts);
    }
    let image_user = image.config().as_ref().and_then(|c| c.user().clone());
    let (spec, source) = user_spec(opts.user.as_deref(), image_user.as_deref());
    let Ok(id) = resolve_in_rootfs(rootfs, spec, source) else {
        return Ok(opts);
    };
    if id.uid != 0 || id.gid != 0 {
        opts.id_mapping = Some(mapping.as_ids(id.uid, id.gid));
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{IdMapping, SubordinateIds};
    use locald_spec_macros::verifies;

    fn image_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nnogroup:x:65534:\n",
        )
        .unwrap();
        dir
    }

    fn nested(user: Option<&str>, mapping: Option<IdMapping>) -> Option<IdMapping> {
        let dir = image_dir();
        let opts = RunOptions {
            user: user.map(Into::into),
            id_mapping: mapping,
            ..Default::default()
        };
        nest_workload_user(opts, &ImageConfiguration::default(), dir.path())
            .unwrap()
            .id_mapping
    }

    #[test]
    #[verifies("isolation.namespaces.user-nested")]
    fn a_non_root_user_is_nested_under_the_single_mapping_only() {
        let single = IdMapping::new(1000, 1000);
        let got = nested(Some("nobody"), Some(single)).unwrap();
        assert_eq!((got.container_uid, got.container_gid), (65534, 65534));
        assert_eq!(
            nested(Some("1000"), Some(single)).unwrap().container_uid,
            1000
        );
        // Root, rootful, or with subordinate ids: unchanged.
        assert_eq!(nested(None, Some(single)), Some(single));
        assert_eq!(nested(Some("nobody"), None), None);
        let sub = SubordinateIds {
            uid_start: 100000,
            uid_count: 65536,
            gid_start: 100000,
            gid_count: 65536,
        };
        let ranges = single.with_subordinate(sub);
        assert_eq!(nested(Some("nobody"), Some(ranges)), Some(ranges));
        // An unknown name is the plan's to refuse.
        assert_eq!(nested(Some("nosuch"), Some(single)), Some(single));
    }
}
