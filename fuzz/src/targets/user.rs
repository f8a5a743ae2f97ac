//! The image's `User` string (`identity::resolve_user`) against any passwd and group: never a
//! panic; a resolved identity is consistent with the files; resolving the same string against
//! the files the container gets (with the added entries) gives the same uid and gid.

use locald_engine::Error;
use locald_engine::identity::{
    GROUP_PATH, IdentityFiles, PASSWD_PATH, UserSource, generate_files, parse_group, parse_passwd,
    resolve_user,
};

/// The `user` fuzz target: panics on a defect.
pub fn user(data: &[u8]) {
    let Some(p) = crate::parts(data, 3) else {
        return;
    };
    let (spec, passwd_text, group_text) = (p[0], p[1], p[2]);
    let (Ok(passwd), Ok(groups)) = (
        parse_passwd(passwd_text, PASSWD_PATH),
        parse_group(group_text, GROUP_PATH),
    ) else {
        return;
    };
    let source = if data.len().is_multiple_of(2) {
        UserSource::Image
    } else {
        UserSource::Option
    };
    let id = match resolve_user(spec, &passwd, &groups, source) {
        Ok(id) => id,
        Err(e) => {
            // A refusal says what is wrong with which field or file.
            let msg = e.to_string();
            match e {
                Error::UnknownUser { .. } => assert!(msg.contains(PASSWD_PATH), "{msg}"),
                Error::UnknownGroup { .. } => assert!(msg.contains(GROUP_PATH), "{msg}"),
                _ => assert!(msg.contains(source.field()), "{msg}"),
            }
            return;
        }
    };
    assert!(!spec.contains(['\n', '\0']));
    assert_ne!(id.uid, u32::MAX);
    assert_ne!(id.gid, u32::MAX);
    assert!(!id.additional_gids.contains(&id.gid), "{id:?}");
    let mut sorted = id.additional_gids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), id.additional_gids.len(), "no duplicates");
    let user = spec.split_once(':').map_or(spec, |(u, _)| u);
    if !user.is_empty() && !user.bytes().all(|b| b.is_ascii_digit()) {
        let e = passwd.iter().find(|e| e.name == user).unwrap();
        assert_eq!(id.uid, e.uid);
    }
    // The container's files resolve the same string to the same ids.
    let files = IdentityFiles {
        passwd: Some(passwd_text.to_owned()),
        group: Some(group_text.to_owned()),
    };
    let out = generate_files(&files, &id).unwrap();
    let passwd2 = parse_passwd(&out.passwd, PASSWD_PATH).unwrap();
    let groups2 = parse_group(&out.group, GROUP_PATH).unwrap();
    let id2 = resolve_user(spec, &passwd2, &groups2, source).expect("resolves in the container");
    assert_eq!((id2.uid, id2.gid), (id.uid, id.gid), "{spec:?}");
    assert!(passwd2.iter().any(|e| e.uid == id.uid));
    assert!(groups2.iter().any(|g| g.gid == id.gid));
}
