//! Prerequisite checks that never let a test pass without running.

use std::path::PathBuf;
use std::process::Command;

/// Fail the calling test because a prerequisite is missing.
///
/// Always a panic, in every environment: a test that returned early would be reported as
/// passed, and a passed test counts as evidence that its requirements hold.
///
/// ```should_panic
/// locald_testkit::missing("a unicorn");
/// ```
#[track_caller]
pub fn missing(what: &str) -> ! {
    panic!(
        "prerequisite missing: {what}. The test cannot run without it and fails rather than \
         pass unverified; `ci/install-deps` installs everything the tests need."
    );
}

/// The runc binary, installed and working (`runc --version`); a missing one fails the test.
#[track_caller]
pub fn require_runc() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .map(|d| d.join("runc"))
            .find(|p| p.is_file())
    });
    match found {
        Some(p)
            if Command::new(&p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()) =>
        {
            p
        }
        _ => missing("runc (apt-get install -y runc)"),
    }
}

/// Fails the test unless it runs as root.
#[track_caller]
pub fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        missing("running as root (the container tests start runc as root and as the test user)");
    }
}

/// Debian's static busybox; a missing (or dynamically linked) one fails the test.
#[track_caller]
pub fn require_busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    // A dynamic busybox would not run inside a rootfs without its libraries.
    match std::fs::read(&p).ok().as_deref().map(elf_has_interpreter) {
        Some(Some(false)) => p,
        _ => missing("a static /bin/busybox (apt-get install -y busybox-static)"),
    }
}

/// Whether an ELF image has a program interpreter (is dynamically linked); `None` when it is
/// not an ELF file. Only a static binary runs in a root filesystem that holds no libc.
pub fn elf_has_interpreter(elf: &[u8]) -> Option<bool> {
    goblin::elf::Elf::parse(elf)
        .ok()
        .map(|e| e.interpreter.is_some())
}

#[cfg(test)]
mod tests {
    use super::elf_has_interpreter;

    #[test]
    fn detects_dynamic_and_static_binaries() {
        // The test binary itself is dynamically linked.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_has_interpreter(&me), Some(true));
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
        if let Ok(b) = std::fs::read("/bin/busybox") {
            assert!(elf_has_interpreter(&b).is_some());
        }
    }
}
