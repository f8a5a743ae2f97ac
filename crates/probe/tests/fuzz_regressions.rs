//! Regressions found by fuzzing (`fuzz/`, `ci/fuzz`): each test is named after the bug. The
//! input that found it is replayed too, from `fuzz/seeds/TARGET/regression-*`.

use locald_probe::parse::{parse_group, parse_mountinfo, parse_passwd};

/// Found by the `probe_mountinfo` target: `\400` to `\777` were decoded as escapes, computing
/// `4 * 64 + ...` in a byte (an overflow panic with overflow checks, a wrong byte without).
/// The kernel escapes only bytes (`\000` to `\377`, and only space, tab, newline and
/// backslash), so anything above `\377` is not an escape: it is read as the text it is.
#[test]
fn an_octal_escape_above_377_is_text_not_an_overflowing_byte() {
    let m = parse_mountinfo("1 2 0:1 / /a\\400 rw - t s o");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].mount_point, "/a\\400");
    let m = parse_mountinfo("1 2 0:1 /x\\777y /b\\040c\\377 rw - t s\\4000 o");
    assert_eq!(m[0].root, "/x\\777y");
    assert_eq!(
        m[0].mount_point, "/b c\u{FFFD}",
        "\\377 is still the byte 0xFF"
    );
    assert_eq!(m[0].source, "s\\4000");
}

/// Found by the `passwd` and `group` targets: the probe read `/etc/passwd` and `/etc/group`
/// with `str::lines`, which also ends a line at `\r\n`, where libc (and the engine, which
/// writes the files the probe checks) end a line at `\n` only. In a file with CRLF line ends
/// the probe saw the member `app` where libc sees `app\r`, and so could pass an engine that
/// put a process in a group its own libc does not list it in.
#[test]
fn passwd_and_group_lines_end_at_newline_only_as_libc_reads_them() {
    let groups = parse_group("staff:x:50:app\r\napp:x:1000:\r\n");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].members, ["app\r"]);
    let users =
        parse_passwd("root:x:0:0:root:/root:/bin/sh\r\napp:x:1000:1000::/home/app:/bin/sh\r\n");
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].shell, "/bin/sh\r");
}
