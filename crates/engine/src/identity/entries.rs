//! The identity entries of a plan: process user, supplementary groups, generated files.

use locald_spec_macros::implements;

use super::{
    ADDED_HOME, GROUP_PATH, Identity, PASSWD_PATH, UserSource, generate_files, resolve_user,
};
use std::borrow::Cow;
use std::path::Path;

use oci_spec::image::ImageConfiguration;

use super::IdentityFiles;
use crate::duties::{Context, PlanInput};
use crate::error::{Error, Result};
use crate::options::{IdMapping, MappedUser, RunOptions};
use crate::plan::{Item, Plan};
use crate::requirement;
use crate::rootfs::ImageRoot;

/// Mode of the generated files: world-readable, so any container uid can resolve names.
pub const GENERATED_FILE_MODE: u32 = 0o644;

/// The `User` string to resolve: the caller's `user` option, else the image's `User`, else
/// empty (root).
#[implements("identity.user.resolve")]
pub(crate) fn user_spec<'a>(
    option: Option<&'a str>,
    image_user: Option<&'a str>,
) -> (&'a str, UserSource) {
    match (option, image_user) {
        (Some(u), _) => (u, UserSource::Option),
        (None, Some(u)) => (u, UserSource::Image),
        (None, None) => ("", UserSource::Image),
    }
}

/// With the rootless single mapping only one uid and one gid exist for the workload: 0, or the
/// ids the mapping names for a nested user namespace. Refuse any other id before the runtime
/// starts (runc would fail at setuid/setgid time with a far less helpful message).
#[implements("identity.user.resolve", "isolation.namespaces.user-nested")]
fn refuse_unmapped(id: &Identity, mapping: &IdMapping, source: UserSource) -> Result<()> {
    if mapping.subordinate.is_some() {
        return refuse_outside_ranges(id, mapping, source);
    }
    for (kind, value, mapped) in [
        ("uid", id.uid, mapping.container_uid),
        ("gid", id.gid, mapping.container_gid),
    ] {
        if value != mapped {
            return Err(unmapped(kind, value, mapping, source));
        }
    }
    Ok(())
}

/// The user the process runs as — `user` (the caller's option), else the image's `User`, else
/// root — resolved in the image's identity `files`, before any mapping applies.
#[implements("identity.user.resolve")]
pub fn process_user(
    image: &ImageConfiguration,
    files: &IdentityFiles,
    user: Option<&str>,
) -> Result<Identity> {
    let (passwd, groups) = files.parse()?;
    let image_user = image.config().as_ref().and_then(|c| c.user().clone());
    let (spec, source) = user_spec(user, image_user.as_deref());
    resolve_user(spec, &passwd, &groups, source)
}

/// [`process_user`] for the image whose root filesystem is the directory `rootfs` (read
/// confined to it, as `prepare` reads it).
///
/// ```no_run
/// use locald_engine::identity::process_user_in;
/// use oci_spec::image::ImageConfiguration;
///
/// let image = ImageConfiguration::from_file("image-config.json")?;
/// let id = process_user_in(&image, "/images/app/rootfs".as_ref(), None)?;
/// println!("runs as {}:{}", id.uid, id.gid);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn process_user_in(
    image: &ImageConfiguration,
    rootfs: &Path,
    user: Option<&str>,
) -> Result<Identity> {
    let rootfs =
        std::fs::canonicalize(rootfs).map_err(|e| Error::io(rootfs, "resolve rootfs", e))?;
    process_user(
        image,
        &IdentityFiles::read(&ImageRoot::open(&rootfs)?)?,
        user,
    )
}

/// `opts` as planned: with [`MappedUser::ProcessUser`], the rootless mapping's container ids
/// become those of the user the process runs as ([`process_user`]), so that the host user is
/// that user inside (`isolation.namespaces.user-nested`); otherwise `opts` unchanged.
#[implements("isolation.namespaces.user-nested")]
pub fn map_process_user<'a>(
    image: &ImageConfiguration,
    files: &IdentityFiles,
    opts: &'a RunOptions,
) -> Result<Cow<'a, RunOptions>> {
    let Some(mapping) = opts.id_mapping else {
        return Ok(Cow::Borrowed(opts));
    };
    if opts.mapped_user != MappedUser::ProcessUser {
        return Ok(Cow::Borrowed(opts));
    }
    let id = process_user(image, files, opts.user.as_deref())?;
    Ok(Cow::Owned(RunOptions {
        id_mapping: Some(mapping.as_ids(id.uid, id.gid)),
        mapped_user: MappedUser::Mapping,
        ..opts.clone()
    }))
}

fn unmapped(kind: &'static str, id: u32, mapping: &IdMapping, source: UserSource) -> Error {
    Error::UnmappedId {
        kind,
        id,
        field: source.field(),
        mapped: mapping.describe_container_ids(),
    }
}

/// With subordinate ids the workload may be any mapped uid, with any mapped gid and
/// supplementary groups; refuse the first id outside the ranges.
#[implements("isolation.namespaces.user-ranges")]
fn refuse_outside_ranges(id: &Identity, mapping: &IdMapping, source: UserSource) -> Result<()> {
    if !mapping.maps_container_uid(id.uid) {
        return Err(unmapped("uid", id.uid, mapping, source));
    }
    match std::iter::once(&id.gid)
        .chain(&id.additional_gids)
        .find(|g| !mapping.maps_container_gid(**g))
    {
        Some(gid) => Err(unmapped("gid", *gid, mapping, source)),
        None => Ok(()),
    }
}

/// Resolve the process identity for `input` (`home` filled in: the passwd entry's, else the
/// added entry's `/`); a user the image or the mapping cannot give is an error.
pub fn resolve(input: &PlanInput<'_>) -> Result<Identity> {
    let (passwd, groups) = input.identity_files.parse()?;
    let image_user = input.image.config().as_ref().and_then(|c| c.user().clone());
    let (spec, source) = user_spec(input.options.user.as_deref(), image_user.as_deref());
    let mut id = resolve_user(spec, &passwd, &groups, source)?;
    if let Some(mapping) = &input.options.id_mapping {
        refuse_unmapped(&id, mapping, source)?;
        if mapping.nested() && input.options.init.is_none() {
            return Err(Error::InvalidOption {
                field: "init",
                reason: format!(
                    "running as uid {} gid {} rootless needs the init, which creates the nested \
                     user namespace mapping them onto the container's root",
                    mapping.container_uid, mapping.container_gid
                ),
            });
        }
        // Under the single mapping, supplementary groups other than 0 are unmapped, and
        // setgroups(2) is denied in such a namespace anyway; with subordinate ids they are
        // mapped (checked above) and newgidmap leaves setgroups allowed.
        if mapping.subordinate.is_none() {
            id.additional_gids.clear();
        }
    }
    if id.home.is_none() {
        id.home = Some(ADDED_HOME.into());
    }
    Ok(id)
}

/// Push the identity's entries: the process user and groups, and the generated `/etc/passwd`
/// and `/etc/group` in the container's layer.
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    let id = &ctx.identity;
    plan.push(
        requirement!("identity.user.resolve"),
        Item::User {
            uid: id.uid,
            gid: id.gid,
        },
    );
    plan.push(
        requirement!("identity.user.additional-gids"),
        Item::AdditionalGids {
            gids: id.additional_gids.clone(),
        },
    );
    let files = generate_files(ctx.input.identity_files, id)?;
    // Written into the container's own layer, not bind-mounted: `useradd` and `passwd`
    // replace these files by rename, which a bind mount refuses (EBUSY).
    plan.push(
        requirement!("identity.passwd.current-user"),
        Item::LayerFile {
            path: PASSWD_PATH.into(),
            contents: files.passwd,
            mode: GENERATED_FILE_MODE,
            owner: None,
        },
    );
    plan.push(
        requirement!("identity.group.current-group"),
        Item::LayerFile {
            path: GROUP_PATH.into(),
            contents: files.group,
            mode: GENERATED_FILE_MODE,
            owner: None,
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    #[test]
    #[verifies("identity.user.resolve")]
    fn the_user_option_replaces_the_image_user() {
        assert_eq!(
            user_spec(Some("app"), Some("1000")),
            ("app", UserSource::Option)
        );
        assert_eq!(user_spec(None, Some("1000")), ("1000", UserSource::Image));
        assert_eq!(user_spec(None, None), ("", UserSource::Image));
    }
}
