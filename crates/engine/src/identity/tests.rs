use super::*;
use locald_spec_macros::verifies;

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
# a comment line
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

app:x:1000:1000:App:/home/app:/bin/sh
";
const GROUP: &str = "\
root:x:0:
app:x:1000:
staff:x:50:app,other
wheel:x:10:app
dup:x:50:app
";

fn resolve(spec: &str) -> Result<Identity> {
    let p = parse_passwd(PASSWD, PASSWD_PATH).unwrap();
    let g = parse_group(GROUP, GROUP_PATH).unwrap();
    resolve_user(spec, &p, &g, UserSource::Image)
}

fn ids(i: &Identity) -> (u32, u32, Vec<u32>) {
    (i.uid, i.gid, i.additional_gids.clone())
}

#[test]
#[verifies("identity.user.resolve")]
fn parses_passwd_skipping_blank_and_comment_lines() {
    let p = parse_passwd(PASSWD, PASSWD_PATH).unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(p[2].name, "app");
    assert_eq!((p[2].uid, p[2].gid), (1000, 1000));
    assert_eq!(p[2].home, "/home/app");
}

#[test]
#[verifies("identity.user.resolve")]
fn malformed_passwd_line_is_reported_with_its_line_number() {
    let err = parse_passwd("root:x:0:0:root:/root:/bin/sh\nbad:x:1\n", PASSWD_PATH)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "/etc/passwd:2: expected 7 `:`-separated fields, found 3"
    );
}

#[test]
#[verifies("identity.user.resolve")]
fn non_numeric_or_overflowing_ids_are_errors() {
    for bad in [
        "a:x:one:0:::",
        "a:x:-1:0:::",
        "a:x:+1:0:::",
        "a:x:4294967296:0:::",
        "a:x:1::::",
    ] {
        assert!(parse_passwd(bad, PASSWD_PATH).is_err(), "{bad}");
    }
    let err = parse_group("g:x:x1:\n", GROUP_PATH)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/etc/group:1:"), "{err}");
}

#[test]
#[verifies("identity.user.resolve")]
fn empty_names_are_errors() {
    assert!(parse_passwd(":x:0:0:::\n", PASSWD_PATH).is_err());
    assert!(parse_group(":x:0:\n", GROUP_PATH).is_err());
    assert!(parse_group("g:x:0\n", GROUP_PATH).is_err());
}

#[test]
#[verifies("identity.user.resolve")]
fn empty_user_is_root_with_its_entry() {
    let id = resolve("").unwrap();
    assert_eq!(ids(&id), (0, 0, vec![]));
    assert_eq!(id.home.as_deref(), Some("/root"));
}

#[test]
#[verifies("identity.user.resolve")]
fn empty_user_without_any_passwd_is_root() {
    let id = resolve_user("", &[], &[], UserSource::Image).unwrap();
    assert_eq!(ids(&id), (0, 0, vec![]));
    assert_eq!(id.home, None);
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn name_resolves_with_memberships() {
    // staff (50) and dup (50) collapse; wheel (10) added; primary group 1000 excluded.
    assert_eq!(ids(&resolve("app").unwrap()), (1000, 1000, vec![50, 10]));
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn uid_with_entry_takes_its_gid_and_groups() {
    assert_eq!(ids(&resolve("1000").unwrap()), (1000, 1000, vec![50, 10]));
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn uid_without_entry_is_allowed_with_gid_0() {
    let id = resolve("1234").unwrap();
    assert_eq!(ids(&id), (1234, 0, vec![]));
    assert_eq!(id.home, None);
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn name_colon_group() {
    assert_eq!(ids(&resolve("app:staff").unwrap()), (1000, 50, vec![]));
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn uid_colon_gid() {
    assert_eq!(ids(&resolve("1234:5678").unwrap()), (1234, 5678, vec![]));
    assert_eq!(ids(&resolve("1000:0").unwrap()), (1000, 0, vec![]));
}

#[test]
#[verifies("identity.user.resolve")]
fn uid_colon_group() {
    assert_eq!(ids(&resolve("1234:wheel").unwrap()), (1234, 10, vec![]));
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn name_colon_gid() {
    assert_eq!(ids(&resolve("app:77").unwrap()), (1000, 77, vec![]));
}

#[test]
#[verifies("identity.user.resolve")]
fn unknown_name_is_an_error_naming_it() {
    let err = resolve("nobody").unwrap_err();
    assert!(matches!(&err, Error::UnknownUser { name, .. } if name == "nobody"));
    assert_eq!(
        err.to_string(),
        "user `nobody` (from User) is not in the image's /etc/passwd"
    );
    assert_eq!(err.field(), Some("User"));
}

#[test]
#[verifies("identity.user.resolve")]
fn unknown_group_is_an_error_naming_it() {
    let err = resolve("app:nogroup").unwrap_err();
    assert!(matches!(&err, Error::UnknownGroup { name, .. } if name == "nogroup"));
    assert_eq!(err.field(), Some("User"));
}

/// The caller's `user` option, not the image's `User`, is named when it is the option's name
/// that the image lacks.
#[test]
#[verifies("identity.user.resolve")]
fn unknown_names_from_the_option_name_the_option() {
    let passwd = parse_passwd(PASSWD, PASSWD_PATH).unwrap();
    let groups = parse_group(GROUP, GROUP_PATH).unwrap();
    for (spec, kind) in [
        ("nobody", "user `nobody`"),
        ("app:nogroup", "group `nogroup`"),
    ] {
        let err = resolve_user(spec, &passwd, &groups, UserSource::Option).unwrap_err();
        assert_eq!(err.field(), Some("user"), "{spec}: {err}");
        assert!(
            err.to_string().starts_with(&format!("{kind} (from user) ")),
            "{err}"
        );
    }
}

#[test]
#[verifies("identity.user.resolve")]
fn hostile_user_strings_are_rejected() {
    for bad in [
        "a:b:c",
        "app\n",
        "ro\0ot",
        ":0",
        "app:",
        "99999999999",
        "4294967295",
        "0:4294967295",
    ] {
        let err = resolve(bad).unwrap_err();
        assert!(
            matches!(err, Error::ImageConfig { field: "User", .. }),
            "{bad:?}: {err}"
        );
    }
    let p = parse_passwd(PASSWD, PASSWD_PATH).unwrap();
    let err = resolve_user("a\nb", &p, &[], UserSource::Option).unwrap_err();
    assert!(matches!(err, Error::InvalidOption { field: "user", .. }));
}

#[test]
#[verifies("identity.passwd.current-user", "identity.group.current-group")]
fn generated_files_keep_image_text_and_add_missing_entries() {
    let files = IdentityFiles {
        passwd: Some("root:x:0:0:root:/root:/bin/sh".into()), // no trailing newline
        group: Some("root:x:0:\n".into()),
    };
    let id = Identity {
        uid: 1234,
        gid: 4321,
        additional_gids: vec![],
        home: None,
    };
    let out = generate_files(&files, &id).unwrap();
    assert_eq!(
        out.passwd,
        "root:x:0:0:root:/root:/bin/sh\nuser1234:x:1234:4321:container user:/:/bin/sh\n"
    );
    assert_eq!(out.group, "root:x:0:\ngroup4321:x:4321:\n");
    assert!(out.added_user && out.added_group);
}

#[test]
#[verifies("identity.passwd.current-user", "identity.group.current-group")]
fn generated_files_are_verbatim_when_entries_exist() {
    let files = IdentityFiles {
        passwd: Some(PASSWD.into()),
        group: Some(GROUP.into()),
    };
    let id = Identity {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![],
        home: None,
    };
    let out = generate_files(&files, &id).unwrap();
    assert_eq!(out.passwd, PASSWD);
    assert_eq!(out.group, GROUP);
    assert!(!out.added_user && !out.added_group);
}

#[test]
#[verifies("identity.passwd.current-user", "identity.group.current-group")]
fn missing_files_get_root_entries() {
    let id = Identity {
        uid: 0,
        gid: 0,
        additional_gids: vec![],
        home: None,
    };
    let out = generate_files(&IdentityFiles::default(), &id).unwrap();
    assert_eq!(out.passwd, "root:x:0:0:container user:/:/bin/sh\n");
    assert_eq!(out.group, "root:x:0:\n");
}

#[test]
#[verifies("identity.passwd.current-user", "identity.group.current-group")]
fn added_name_avoids_collisions() {
    let files = IdentityFiles {
        passwd: Some("user7:x:8:8::/:/bin/sh\n".into()),
        group: Some("group9:x:10:\n".into()),
    };
    let id = Identity {
        uid: 7,
        gid: 9,
        additional_gids: vec![],
        home: None,
    };
    let out = generate_files(&files, &id).unwrap();
    assert!(
        out.passwd
            .ends_with("\nuser7-1:x:7:9:container user:/:/bin/sh\n")
    );
    assert!(out.group.ends_with("\ngroup9-1:x:9:\n"));
}

#[test]
#[verifies("identity.passwd.current-user")]
fn malformed_image_files_fail_generation() {
    let files = IdentityFiles {
        passwd: Some("garbage\n".into()),
        group: None,
    };
    let id = Identity {
        uid: 0,
        gid: 0,
        additional_gids: vec![],
        home: None,
    };
    assert!(generate_files(&files, &id).is_err());
}
