//! Reads the book at build time and embeds the set of defined requirement IDs in the macros, so
//! that naming an undefined ID is a compile error. Cargo re-runs this (and so recompiles every
//! crate using the macros) whenever a chapter changes.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = std::env::var_os("LOCALD_SPEC_ROOT")
        .map(PathBuf::from)
        .or_else(|| manifest.ancestors().find(|d| d.join("book.toml").is_file()).map(Path::to_path_buf))
        .unwrap_or_else(|| {
            panic!(
                "locald-spec-macros: no book.toml above {}; set LOCALD_SPEC_ROOT to the spec repository",
                manifest.display()
            )
        });
    println!("cargo:rerun-if-env-changed=LOCALD_SPEC_ROOT");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("book.toml").display()
    );
    let project =
        locald_spec_core::Project::at(&root).unwrap_or_else(|e| panic!("locald-spec-macros: {e}"));
    println!("cargo:rerun-if-changed={}", project.book_src.display());
    for entry in walk(&project.book_src) {
        println!("cargo:rerun-if-changed={}", entry.display());
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
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("ids.rs");
    let body: String = ids.iter().map(|id| format!("    {id:?},\n")).collect();
    std::fs::write(&out, format!("/// Every requirement ID the book defines, sorted.\npub const IDS: &[&str] = &[\n{body}];\n"))
        .expect("write ids.rs");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(p.clone());
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
