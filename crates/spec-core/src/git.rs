//! Running git: the one place the tooling (the book at a revision, the release history) and its
//! tests call it.

use std::path::Path;
use std::process::Command;

/// How [`git`]'s error ends when git failed without a word (`rev-parse --quiet` finding nothing).
pub(crate) const SILENT: &str = "with no message";

/// Runs `git -C root ARGS` and returns its standard output, or a message naming the command.
pub fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let said = if said.is_empty() {
            format!("{}, {SILENT}", out.status)
        } else {
            said
        };
        return Err(format!("git {}: {said}", args.join(" ")));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// For tests that build a repository: [`git`] with a fixed committer and no signing (the
/// machine's git configuration may ask for either), panicking on failure.
#[doc(hidden)]
pub fn git_for_tests(dir: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
    ];
    all.extend_from_slice(args);
    git(dir, &all).unwrap_or_else(|e| panic!("{e}"))
}
