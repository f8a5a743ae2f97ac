//! The probe's `/proc/self/mountinfo` reader (`parse::parse_mountinfo`) and the lookups on it:
//! never a panic; every parsed mount is found again at its mount point; and a line written the
//! way the kernel writes it (`\ooo` escapes for space, tab, newline and backslash) reads back to
//! the same paths.

use locald_probe::parse::{covering_mount, mount_at, parse_mountinfo};

/// As the kernel's `seq_file` escapes a path in mountinfo (`show_mountinfo`, `mangle`).
fn escape(s: &str) -> String {
    let mut bytes = Vec::new();
    for b in s.bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => bytes.extend(format!("\\{b:03o}").into_bytes()),
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// The `probe_mountinfo` fuzz target: panics on a defect.
pub fn probe_mountinfo(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mounts = parse_mountinfo(text);
    for m in &mounts {
        let _ = m.summary();
        let _ = m.read_only();
        let at = mount_at(&mounts, &m.mount_point).unwrap();
        assert_eq!(at.mount_point, m.mount_point);
        if m.mount_point.starts_with('/') {
            let c = covering_mount(&mounts, &m.mount_point).unwrap();
            assert_eq!(c.mount_point, m.mount_point);
        }
        let line = format!(
            "{} {} 0:1 {} {} rw - {} {} rw\n",
            m.id,
            m.parent,
            escape(&m.root),
            escape(&m.mount_point),
            m.fstype,
            escape(&m.source)
        );
        if m.fstype.is_empty() || m.fstype.contains(char::is_whitespace) {
            continue;
        }
        let again = parse_mountinfo(&line);
        assert_eq!(again.len(), 1, "{line:?}");
        assert_eq!(again[0].root, m.root, "{line:?}");
        assert_eq!(again[0].mount_point, m.mount_point, "{line:?}");
        assert_eq!(again[0].source, m.source, "{line:?}");
    }
}
