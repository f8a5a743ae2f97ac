//! Reads the book at build time and embeds the set of requirement IDs it defines in the macros,
//! so that naming an undefined ID is a compile error. Cargo re-runs this (and so recompiles every
//! crate using the macros) whenever a chapter changes.
//!
//! The book is `LOCALD_SPEC_ROOT`, else the nearest directory above this crate whose `book.toml`
//! configures the `locald-spec` preprocessor. There is none above a packaged crate built
//! downstream: the macros then check IDs for their form only.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LOCALD_SPEC_ROOT");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("ids.rs");
    let root = match std::env::var_os("LOCALD_SPEC_ROOT") {
        Some(r) => Some(PathBuf::from(r)),
        None => manifest
            .ancestors()
            .find(|d| locald_spec_core::Project::is_spec_root(d))
            .map(Path::to_path_buf),
    };
    let pattern = format!(
        "/// The form of an ID (spec-core's `ID_PATTERN`).\npub const ID_PATTERN: &str = {:?};\n",
        locald_spec_core::model::ID_PATTERN
    );
    let Some(root) = root else {
        std::fs::write(
            &out,
            format!(
                "{pattern}/// No book was found above the crate when it was built: IDs are checked for their form only.\n\
                 pub const IDS: Option<&[&str]> = None;\n"
            ),
        )
        .expect("write ids.rs");
        return;
    };
    let project = locald_spec_core::Project::at(&root)
        .unwrap_or_else(|e| panic!("locald-spec-macros: the book at {}: {e}", root.display()));
    // A directory is scanned whole, so a new chapter counts too.
    for watched in [root.join("book.toml"), project.book_src.clone()] {
        println!(
            "cargo:rerun-if-changed={}",
            watch_path(&manifest, &root, &watched)
        );
    }
    let registry = locald_spec_core::Registry::load(&project.root, &project.book_src)
        .unwrap_or_else(|e| {
            panic!(
                "locald-spec-macros: cannot read {}: {e}",
                project.book_src.display()
            )
        });
    for p in &registry.problems {
        // The checker fails on these; here they only explain a later "unknown ID" error.
        println!("cargo:warning={p}");
    }
    // A defective block's ID counts as defined: its defect is reported once, by the checker
    // (and above as a warning), not once more per attribute naming it.
    let ids = registry.defined_ids();
    let body: String = ids.iter().map(|id| format!("    {id:?},\n")).collect();
    std::fs::write(
        &out,
        format!(
            "{pattern}/// Every requirement ID the book defines, sorted.\npub const IDS: Option<&[&str]> = Some(&[\n{body}]);\n"
        ),
    )
    .expect("write ids.rs");
}

/// `path` (below the book's `root`) as cargo should watch it: relative to this crate when the
/// book lies above it, so that a copied or moved tree, its target directory included, watches
/// its own book rather than the one it was first built from.
fn watch_path(manifest: &Path, root: &Path, path: &Path) -> String {
    match (manifest.strip_prefix(root), path.strip_prefix(root)) {
        (Ok(down), Ok(rest)) => {
            let up = "../".repeat(down.components().count());
            format!("{up}{}", rest.display())
        }
        _ => path.display().to_string(),
    }
}
