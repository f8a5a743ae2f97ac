//! The macros built outside this repository's own tree: in a copy of it that was moved, target
//! directory and all (new IDs of the copy's book must be accepted), and with no book above them
//! at all, as a packaged crate is built downstream (IDs are then checked for their form only).
//!
//! Each case is a real `cargo build` of a small crate using the macros, in a temporary tree
//! holding copies of this workspace's manifest, lock file, spec-macros and the crates it depends on
//! (spec-core, conformance). The target
//! directory is kept in `CARGO_TARGET_TMPDIR` so that later runs reuse the compiled
//! dependencies.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "target" {
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const BOOK_TOML: &str = "[book]\ntitle = \"fixture\"\nsrc = \"book/src\"\n\n[preprocessor.locald-spec]\ncommand = \"false\"\n";

fn requirement(id: &str) -> String {
    format!(
        "```requirement\nid: {id}\nlevel: MUST\naction: Do it.\nprovenance:\n  - source: other\n    cite: RFC 1\n    url: https://example.org/rfc1\n```\n\n"
    )
}

/// The user crate's source: one item implementing each of `ids`.
fn user_code(ids: &[&str]) -> String {
    ids.iter()
        .enumerate()
        .map(|(i, id)| format!("#[locald_spec_macros::implements({id:?})]\npub fn f{i}() {{}}\n"))
        .collect()
}

/// A tree with this workspace's manifest and lock, spec-macros and its workspace dependencies, a book defining `a.one`
/// and a crate `user` implementing it.
fn tree(root: &Path) {
    let repo = repo();
    std::fs::create_dir_all(root).unwrap();
    // The workspace's manifest with its members narrowed to the crates copied here: a member
    // outside `crates/` (the fuzz crate) is not copied, and cargo refuses a missing member.
    let manifest: String = std::fs::read_to_string(repo.join("Cargo.toml"))
        .unwrap()
        .lines()
        .map(|l| match l.starts_with("members = ") {
            true => "members = [\"crates/*\"]\n".to_owned(),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    // The macros and every workspace crate they depend on.
    for c in ["conformance", "spec-core", "spec-macros"] {
        copy_dir(&repo.join("crates").join(c), &root.join("crates").join(c));
    }
    write(
        root,
        "crates/user/Cargo.toml",
        "[package]\nname = \"user\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\nlocald-spec-macros.workspace = true\n",
    );
    write(root, "crates/user/src/lib.rs", &user_code(&["a.one"]));
    write(root, "book.toml", BOOK_TOML);
    write(root, "book/src/SUMMARY.md", "# Summary\n\n- [A](a.md)\n");
    write(
        root,
        "book/src/a.md",
        &format!("# A\n\n{}", requirement("a.one")),
    );
}

/// `cargo build -p user` in `root`, with the shared target directory: `Ok` or the errors.
fn build(root: &Path, target: &Path) -> Result<(), String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--offline", "--quiet", "-p", "user"])
        .env("CARGO_TARGET_DIR", target)
        .env_remove("LOCALD_SPEC_ROOT")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_macros_follow_a_moved_tree_and_build_without_a_book() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("macros-downstream");
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    tree(&first);
    build(&first, &target).unwrap();
    write(
        &first,
        "crates/user/src/lib.rs",
        &user_code(&["a.one", "a.two"]),
    );
    let e = build(&first, &target).unwrap_err();
    assert!(
        e.contains("unknown requirement ID `a.two`: no requirement block of the book defines it"),
        "{e}"
    );

    // The tree copied elsewhere with its build state; its book gains `a.two`.
    let moved = dir.path().join("moved");
    let status = Command::new("cp")
        .args(["-a"])
        .arg(&first)
        .arg(&moved)
        .status()
        .unwrap();
    assert!(status.success());
    write(
        &moved,
        "book/src/a.md",
        &format!("# A\n\n{}{}", requirement("a.one"), requirement("a.two")),
    );
    build(&moved, &target).expect("a.two is defined by the moved tree's book");

    // No book above the macros (a packaged crate built downstream): any well-formed ID compiles,
    // a malformed one does not.
    std::fs::remove_file(moved.join("book.toml")).unwrap();
    write(
        &moved,
        "crates/user/src/lib.rs",
        &user_code(&["a.one", "b.undefined"]),
    );
    build(&moved, &target).expect("without a book, IDs are checked for their form only");
    write(&moved, "crates/user/src/lib.rs", &user_code(&["Not.an-id"]));
    let e = build(&moved, &target).unwrap_err();
    assert!(e.contains("malformed requirement ID `Not.an-id`"), "{e}");
}
