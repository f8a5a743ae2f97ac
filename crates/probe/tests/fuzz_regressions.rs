//! Regressions found by fuzzing (`fuzz/`, `ci/fuzz`): each test is named after the bug. The
//! input that found it is replayed too, from `fuzz/seeds/TARGET/regression-*`.

use locald_probe::parse::parse_mountinfo;

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
