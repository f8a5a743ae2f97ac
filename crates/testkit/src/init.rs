//! The static `locald-init` the engine runs as PID 1, built once per workspace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::prereq::{elf_has_interpreter, missing};

/// The target the static init is built for: musl, static by default (`ci/install-deps` adds it
/// with rustup).
const TARGET: &str = "x86_64-unknown-linux-musl";

/// The cargo profile of the static init (the workspace's `Cargo.toml`: panic = abort, LTO,
/// stripped).
const PROFILE: &str = "init";

/// The workspace root (two levels above this crate).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit lies two levels below the workspace")
        .to_owned()
}

/// A statically linked `locald-init`, built as `ci/test` builds it, with `cargo build -p
/// locald-init --profile init --target x86_64-unknown-linux-musl` into `<workspace>/target/static`
/// (a target directory of its own, so that this build never invalidates the normal one).
/// Cargo's own lock on that directory makes concurrent calls from parallel test processes safe;
/// an up-to-date build is a no-op. A failed build (the musl target not installed, say), or a
/// result that is not static, fails the test.
#[track_caller]
pub fn static_init() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(p) => p.clone(),
        Err(e) => missing(e),
    }
}

fn build() -> Result<PathBuf, String> {
    let ws = workspace();
    let target_dir = ws.join("target/static");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(&ws)
        .args([
            "build",
            "--quiet",
            "-p",
            "locald-init",
            "--bin",
            "locald-init",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // The same binary whatever the caller's flags: the target makes it static.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| format!("a static locald-init (cannot run cargo: {e})"))?;
    if !out.status.success() {
        return Err(format!(
            "a static locald-init (cargo build failed: {})",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let bin = target_dir.join(TARGET).join(PROFILE).join("locald-init");
    let bytes = std::fs::read(&bin)
        .map_err(|e| format!("a static locald-init ({}: {e})", bin.display()))?;
    match elf_has_interpreter(&bytes) {
        Some(false) => Ok(bin),
        _ => Err(format!(
            "a static locald-init ({} is not a static ELF executable)",
            bin.display()
        )),
    }
}
