//! Regressions found by fuzzing (`fuzz/`, `ci/fuzz`): each test is named after the bug.

use locald_engine::dns::{ResolvConf, resolv_conf};
use locald_engine::host_files::HostFiles;
use locald_engine::identity::{
    GROUP_PATH, Identity, IdentityFiles, PASSWD_PATH, UserSource, generate_files, parse_group,
    parse_passwd, resolve_user,
};
use locald_engine::{DnsOptions, NetworkMode};
use locald_spec_macros::verifies;

/// Found by the `group` target: the engine read lines with `str::lines`, which ends a line at
/// `\r\n`, where libc ends it at `\n` only. A group file written with CRLF line endings listed
/// `app` as a member of `staff` for the engine (which gave the process gid 50) and `app\r` for
/// the image's own libc (`id app` inside: no `staff`); and a file ending in `\r` changed its
/// last entry when the engine appended a line after it.
#[test]
#[verifies("identity.user.additional-gids", "identity.group.current-group")]
fn a_crlf_group_file_is_read_as_libc_reads_it() {
    let passwd = parse_passwd("app:x:1000:1000::/home/app:/bin/sh\r\n", PASSWD_PATH).unwrap();
    let group_text = "staff:x:50:app\r\napp:x:1000:\r\n";
    let groups = parse_group(group_text, GROUP_PATH).unwrap();
    assert_eq!(groups[0].members, ["app\r"]);
    let id = resolve_user("app", &passwd, &groups, UserSource::Image).unwrap();
    assert_eq!(
        id.additional_gids,
        Vec::<u32>::new(),
        "`app\\r` is not `app`"
    );

    // The image's last line, ending in `\r` without `\n`, means the same after a line is added.
    let files = IdentityFiles {
        passwd: None,
        group: Some("g:x:5:a\r".into()),
    };
    let id = Identity {
        uid: 0,
        gid: 7,
        additional_gids: vec![],
        home: None,
    };
    let out = generate_files(&files, &id).unwrap();
    let before = parse_group("g:x:5:a\r", GROUP_PATH).unwrap();
    let after = parse_group(&out.group, GROUP_PATH).unwrap();
    assert_eq!(after[0], before[0], "{:?}", out.group);
    assert_eq!(after[1].gid, 7);
}

/// Found by the `resolv_conf` target: the engine split resolv.conf lines at any whitespace,
/// glibc's resolver (`res_init.c`) at blanks only, with the keyword at the start of the line.
/// A host line `options \v ;` was, for the engine, a line without options, kept verbatim in
/// the container's file, where the resolver reads an option `\v`; and a line starting with a
/// blank, which the resolver ignores, gave the engine a nameserver.
#[test]
#[verifies("dns.resolv-conf.host-network")]
fn resolv_conf_fields_split_at_blanks_only_as_the_resolver_splits_them() {
    let host = "options \x0b ;\n  nameserver 10.0.0.1\nnameserver 192.0.2.53\nsearch a\x0bb c\n";
    let rc = ResolvConf::parse(host);
    assert_eq!(rc.options, ["\x0b"]);
    let ips: Vec<String> = rc.nameservers.iter().map(|n| n.ip.to_string()).collect();
    assert_eq!(
        ips,
        ["192.0.2.53"],
        "the indented line is not the resolver's"
    );
    assert_eq!(rc.search, Some(vec!["a\x0bb".to_owned(), "c".to_owned()]));
    // The container's file means for the engine what it means for the resolver.
    let files = HostFiles {
        resolv_conf: Some(host.to_owned()),
        ..HostFiles::default()
    };
    let text = resolv_conf(NetworkMode::Host, &DnsOptions::default(), &files).unwrap();
    assert_eq!(ResolvConf::parse(&text), rc, "{text:?}");
    assert!(!text.contains("10.0.0.1"), "{text:?}");
}

/// Found by the `resolv_conf` target, right after the fix above: lines ended where Rust's
/// `str::lines` ends them, which also drops a `\r` before `\n`, where glibc's `fgets` keeps it.
/// A line the engine kept as it was (`sortlist`, an unknown keyword) and ending in `\r` lost
/// one `\r` each time the file was written and read again; a CRLF file's `search a\r` meant
/// `a` to the engine and `a\r` to the resolver.
#[test]
#[verifies("dns.resolv-conf.host-network")]
fn resolv_conf_lines_end_at_newline_only_as_fgets_reads_them() {
    let host = "sortlist 10.0.0.0/8\r\r\nsearch a\r\nnameserver 192.0.2.53\r\n";
    let rc = ResolvConf::parse(host);
    assert_eq!(rc.other, ["sortlist 10.0.0.0/8\r\r"]);
    assert_eq!(rc.search, Some(vec!["a\r".to_owned()]));
    assert!(rc.nameservers.is_empty(), "`192.0.2.53\\r` is no address");
    assert_eq!(
        ResolvConf::parse(&rc.render()),
        rc,
        "written and read again"
    );
}
