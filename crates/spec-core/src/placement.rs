//! Where a requirement's code lives: the chapter is the unit, so a requirement of chapter
//! `identity` is implemented in a module named `identity` (`src/identity.rs` or below
//! `src/identity/`, in any crate). Code elsewhere may implement it too (the runtime launcher
//! takes part in several chapters), but at least one `#[implements]` must be at home, so that a
//! reader of the chapter finds its code by the chapter's name.
//!
//! Some chapters describe machinery with a module of its own (the per-container layer of the
//! filesystems chapter, the init of the signals chapter): `book.toml` lists those homes,
//!
//! ```toml
//! [preprocessor.locald-spec.homes]
//! "filesystems.layer" = ["crates/engine/src/layer"]
//! ```
//!
//! keyed by a chapter or a section (an ID prefix; the longest one that matches applies) and
//! naming files or directories relative to the repository root. An entry that no requirement
//! uses is itself a problem: the list only holds what the code needs.

use std::collections::BTreeMap;

use crate::links::Implementation;
use crate::parse::Registry;
use crate::problem::{Problem, ProblemKind};

/// Homes beside the chapter's own module: ID prefix → paths (files or directories).
pub type Homes = BTreeMap<String, Vec<String>>;

/// Whether `file` (repository-relative) is in a module named `chapter`: `…/src/<chapter>.rs`
/// or `…/src/<chapter>/…`.
pub fn in_chapter_module(file: &str, chapter: &str) -> bool {
    let Some((_, inside)) = file
        .split_once("/src/")
        .or_else(|| file.strip_prefix("src/").map(|rest| ("", rest)))
    else {
        return false;
    };
    inside == format!("{chapter}.rs") || inside.starts_with(&format!("{chapter}/"))
}

/// The `homes` entry that applies to `id`: the longest key that is `id` or a dotted prefix of it.
fn home_for<'a>(homes: &'a Homes, id: &str) -> Option<(&'a String, &'a Vec<String>)> {
    homes
        .iter()
        .filter(|(k, _)| id == k.as_str() || id.starts_with(&format!("{k}.")))
        .max_by_key(|(k, _)| k.len())
}

fn under(file: &str, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    file == path || file.starts_with(&format!("{path}/"))
}

/// One problem per implemented requirement none of whose implementations is at home, and one
/// per `homes` entry no requirement uses. `homes_file` is where the list is (for the message).
pub fn check(
    registry: &Registry,
    implementations: &[Implementation],
    homes: &Homes,
    homes_file: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut used: BTreeMap<&str, bool> = homes.keys().map(|k| (k.as_str(), false)).collect();
    for req in &registry.requirements {
        let impls: Vec<&Implementation> =
            implementations.iter().filter(|i| i.id == req.id).collect();
        if impls.is_empty() {
            continue;
        }
        let chapter = req.id.split('.').next().unwrap_or_default();
        let home = home_for(homes, &req.id);
        if let Some((key, _)) = home {
            used.insert(key.as_str(), true);
        }
        let at_home = impls.iter().any(|i| {
            in_chapter_module(&i.file, chapter)
                || home.is_some_and(|(_, paths)| paths.iter().any(|p| under(&i.file, p)))
        });
        if at_home {
            continue;
        }
        let places: Vec<String> = impls
            .iter()
            .map(|i| format!("{}:{}", i.file, i.line))
            .collect();
        let first = impls[0];
        problems.push(Problem::new(
            ProblemKind::Misplaced,
            Some(&req.id),
            &first.file,
            first.line,
            format!(
                "`{}` is implemented only outside the `{chapter}` module ({}): move the code \
                 into `src/{chapter}.rs` (or below `src/{chapter}/`), or list its home under \
                 [preprocessor.locald-spec.homes] in {homes_file}",
                req.id,
                places.join(", ")
            ),
        ));
    }
    for (key, was_used) in used {
        if !was_used {
            problems.push(Problem::new(
                ProblemKind::Misplaced,
                None,
                homes_file,
                0,
                format!(
                    "[preprocessor.locald-spec.homes] \"{key}\" applies to no implemented \
                     requirement: remove it"
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(ids: &[&str]) -> Registry {
        let mut text = String::from("# Chapter\n\n");
        for id in ids {
            text.push_str(&format!(
                "```requirement\nid: {id}\nlevel: MUST\naction: Do it.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\n```\n\n"
            ));
        }
        let reg = Registry::from_chapters([("book/src/a.md", "a", text.as_str())]);
        assert!(reg.problems.is_empty(), "{:?}", reg.problems);
        reg
    }

    fn implementation(id: &str, file: &str) -> Implementation {
        Implementation {
            id: id.to_owned(),
            file: file.to_owned(),
            line: 7,
            end_line: 9,
            item: "fn f".to_owned(),
            source: String::new(),
        }
    }

    #[test]
    fn the_chapters_own_module_is_home() {
        for file in [
            "crates/engine/src/identity.rs",
            "crates/engine/src/identity/entries.rs",
            "crates/other/src/identity/deep/x.rs",
        ] {
            assert!(in_chapter_module(file, "identity"), "{file}");
        }
        for file in [
            "crates/engine/src/identity_extra.rs",
            "crates/engine/src/spec.rs",
            "crates/identity/src/lib.rs",
            "crates/engine/tests/e2e/identity.rs",
        ] {
            assert!(!in_chapter_module(file, "identity"), "{file}");
        }
    }

    #[test]
    fn code_only_outside_its_chapter_is_reported_with_every_place() {
        let reg = registry(&["identity.passwd", "identity.group"]);
        let impls = [
            implementation("identity.passwd", "crates/engine/src/spec.rs"),
            implementation("identity.passwd", "crates/engine/src/runtime.rs"),
            // At home once: other places are fine.
            implementation("identity.group", "crates/engine/src/identity.rs"),
            implementation("identity.group", "crates/engine/src/spec.rs"),
        ];
        let problems = check(&reg, &impls, &Homes::new(), "book.toml");
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert_eq!(p.kind, ProblemKind::Misplaced);
        assert_eq!(p.id.as_deref(), Some("identity.passwd"));
        assert!(
            p.message.contains("crates/engine/src/spec.rs:7"),
            "{}",
            p.message
        );
        assert!(
            p.message.contains("crates/engine/src/runtime.rs:7"),
            "{}",
            p.message
        );
    }

    #[test]
    fn a_listed_home_applies_by_the_longest_prefix_and_unused_entries_are_reported() {
        let reg = registry(&["filesystems.layer.private", "filesystems.proc"]);
        let homes: Homes = [
            (
                "filesystems.layer".to_owned(),
                vec!["crates/engine/src/layer".to_owned()],
            ),
            (
                "filesystems".to_owned(),
                vec!["crates/engine/src/mounts.rs".to_owned()],
            ),
            ("signals".to_owned(), vec!["crates/init/src".to_owned()]),
        ]
        .into();
        let impls = [
            implementation(
                "filesystems.layer.private",
                "crates/engine/src/layer/mount.rs",
            ),
            // The longer key applies: `filesystems`' home is not this requirement's.
            implementation("filesystems.proc", "crates/engine/src/layerx.rs"),
        ];
        let problems = check(&reg, &impls, &homes, "book.toml");
        let ids: Vec<_> = problems.iter().map(|p| p.id.as_deref()).collect();
        assert_eq!(ids, [Some("filesystems.proc"), None], "{problems:?}");
        assert!(
            problems[1].message.contains("\"signals\""),
            "{:?}",
            problems[1]
        );
    }
}
