//! The release history of the specification: releases are git tags `v*`; each one is compared
//! with the release before it, and the working tree with the last one ("Unreleased"). This is
//! what the changelog page and `locald-spec changelog` show.

use crate::diff::{Diff, Snapshot, diff, from_registry, registry_at_revision};
use crate::git::git;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The name of the pseudo-release holding the changes not yet tagged.
pub const UNRELEASED: &str = "Unreleased";

/// One release (or the unreleased changes) and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The tag, or [`UNRELEASED`].
    pub name: String,
    /// The tag's date (`YYYY-MM-DD`); none for the unreleased changes.
    pub date: Option<String>,
    /// The release it is compared with; none for the first one, whose requirements are all new.
    pub since: Option<String>,
    /// What changed since then.
    pub diff: Diff,
}

impl Release {
    /// Whether this is the first version: nothing came before it.
    pub fn is_initial(&self) -> bool {
        self.since.is_none()
    }
}

/// The history, newest first: the unreleased changes, then each release tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changelog {
    /// Newest first; the first entry is always [`UNRELEASED`].
    pub releases: Vec<Release>,
    /// Why the tags could not be read (no git, not a repository), when they could not; the
    /// unreleased entry then holds every requirement as new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl Changelog {
    /// The history as Markdown, for release notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        if let Some(why) = &self.unavailable {
            s.push_str(&format!("Release history unavailable: {why}\n\n"));
        }
        for r in &self.releases {
            s.push_str(&format!("## {}", r.name));
            let mut meta = Vec::new();
            if let Some(d) = &r.date {
                meta.push(d.clone());
            }
            match &r.since {
                Some(p) => meta.push(format!("since {p}")),
                None => meta.push("initial version".into()),
            }
            s.push_str(&format!(" ({})\n\n", meta.join(", ")));
            s.push_str(&r.diff.to_markdown());
            s.push('\n');
        }
        s
    }
}

/// The release tags (`v*`) of the repository at `root`, oldest first by version order, each
/// with its date.
pub fn release_tags(root: &Path) -> Result<Vec<(String, String)>, String> {
    let out = git(
        root,
        &[
            "for-each-ref",
            "--sort=version:refname",
            "--format=%(refname:short) %(creatordate:short)",
            "refs/tags/v*",
        ],
    )?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(t, d)| (t.to_owned(), d.to_owned()))
        .collect())
}

/// The history of the book whose sources are `book_src` (relative to `root`), the working tree
/// being `current`. Never fails: without git or tags, everything is "Unreleased" and new.
pub fn changelog(root: &Path, book_src: &str, current: &[Snapshot]) -> Changelog {
    match tagged(root, book_src) {
        Ok(tags) => {
            let last = tags.last();
            let mut releases = vec![Release {
                name: UNRELEASED.into(),
                date: None,
                since: last.map(|(t, _, _)| t.clone()),
                diff: diff(last.map(|(_, _, s)| s.as_slice()).unwrap_or(&[]), current),
            }];
            for (i, (tag, date, snaps)) in tags.iter().enumerate().rev() {
                let prev = i.checked_sub(1).map(|p| &tags[p]);
                releases.push(Release {
                    name: tag.clone(),
                    date: Some(date.clone()),
                    since: prev.map(|(t, _, _)| t.clone()),
                    diff: diff(prev.map(|(_, _, s)| s.as_slice()).unwrap_or(&[]), snaps),
                });
            }
            Changelog {
                releases,
                unavailable: None,
            }
        }
        Err(why) => Changelog {
            releases: vec![Release {
                name: UNRELEASED.into(),
                date: None,
                since: None,
                diff: diff(&[], current),
            }],
            unavailable: Some(why),
        },
    }
}

/// Every release tag with its date and the requirements its book defines, oldest first.
fn tagged(root: &Path, book_src: &str) -> Result<Vec<(String, String, Vec<Snapshot>)>, String> {
    release_tags(root)?
        .into_iter()
        .map(|(tag, date)| {
            let registry = registry_at_revision(root, book_src, &tag)?;
            Ok((tag, date, from_registry(&registry)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Registry;

    fn req(id: &str, level: &str, action: &str) -> String {
        format!(
            "```requirement\nid: {id}\nlevel: {level}\naction: {action}\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\n```\n\n"
        )
    }

    fn run(dir: &Path, args: &[&str]) {
        crate::git::git_for_tests(dir, args);
    }

    fn write_book(dir: &Path, reqs: &[(&str, &str, &str)]) {
        let body: String = reqs.iter().map(|(i, l, a)| req(i, l, a)).collect();
        std::fs::create_dir_all(dir.join("book/src")).unwrap();
        std::fs::write(dir.join("book/src/a.md"), format!("# A\n\n{body}")).unwrap();
    }

    fn current(dir: &Path) -> Vec<Snapshot> {
        from_registry(&Registry::load(dir, &dir.join("book/src")).unwrap())
    }

    #[test]
    fn releases_are_compared_tag_to_tag_and_the_working_tree_to_the_last_tag() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run(d, &["init", "-q", "-b", "main"]);
        write_book(d, &[("a.one", "MUST", "One."), ("a.two", "SHOULD", "Two.")]);
        run(d, &["add", "."]);
        run(d, &["commit", "-q", "-m", "first"]);
        run(d, &["tag", "v0.1.0"]);
        write_book(
            d,
            &[
                ("a.one", "MUST", "One, reworded."),
                ("a.two", "MUST", "Two."),
                ("a.three", "MAY", "Three."),
            ],
        );
        run(d, &["commit", "-q", "-am", "second"]);
        // Annotated, and numbered so that only version order puts it after v0.2.0.
        run(d, &["tag", "-a", "-m", "release", "v0.10.0"]);
        run(d, &["checkout", "-q", "HEAD~1"]);
        write_book(d, &[("a.one", "MUST", "One."), ("a.two", "MUST", "Two.")]);
        run(d, &["commit", "-q", "-am", "between"]);
        run(d, &["tag", "v0.2.0"]);
        run(d, &["checkout", "-q", "v0.10.0"]);
        write_book(
            d,
            &[
                ("a.one", "MUST", "One, reworded."),
                ("a.two", "MUST", "Two."),
            ],
        );

        let tags: Vec<String> = release_tags(d).unwrap().into_iter().map(|t| t.0).collect();
        assert_eq!(tags, ["v0.1.0", "v0.2.0", "v0.10.0"]);

        let log = changelog(d, "book/src", &current(d));
        assert_eq!(log.unavailable, None);
        let names: Vec<&str> = log.releases.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, [UNRELEASED, "v0.10.0", "v0.2.0", "v0.1.0"]);

        let unreleased = &log.releases[0];
        assert_eq!(unreleased.since.as_deref(), Some("v0.10.0"));
        assert_eq!(unreleased.date, None);
        assert_eq!(unreleased.diff.removed, ["a.three"]);
        assert!(unreleased.diff.added.is_empty() && unreleased.diff.changed.is_empty());

        let v10 = &log.releases[1];
        assert_eq!(v10.since.as_deref(), Some("v0.2.0"));
        assert_eq!(v10.diff.added, ["a.three"]);
        assert_eq!(v10.diff.changed.len(), 1);
        assert_eq!(v10.diff.changed[0].id, "a.one");
        assert_eq!(v10.diff.changed[0].level, None);

        let v2 = &log.releases[2];
        assert_eq!(v2.diff.changed[0].id, "a.two");
        assert_eq!(
            v2.diff.changed[0].level,
            Some(("SHOULD".into(), "MUST".into()))
        );
        assert!(v2.date.as_deref().is_some_and(|d| d.len() == 10), "{v2:?}");

        let first = &log.releases[3];
        assert!(first.is_initial());
        assert_eq!(first.diff.added, ["a.one", "a.two"]);

        let md = log.to_markdown();
        assert!(md.contains("## Unreleased (since v0.10.0)"), "{md}");
        assert!(md.contains("### Removed\n\n- `a.three`"), "{md}");
        assert!(md.contains("initial version)"), "{md}");
    }

    #[test]
    fn without_tags_everything_is_unreleased_and_new() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        run(d, &["init", "-q"]);
        write_book(d, &[("a.one", "MUST", "One.")]);
        let log = changelog(d, "book/src", &current(d));
        assert_eq!(log.unavailable, None);
        assert_eq!(log.releases.len(), 1);
        assert!(log.releases[0].is_initial());
        assert_eq!(log.releases[0].diff.added, ["a.one"]);
    }

    #[test]
    fn outside_a_repository_the_history_is_unavailable_but_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_book(d, &[("a.one", "MUST", "One.")]);
        let log = changelog(d, "book/src", &current(d));
        let why = log.unavailable.as_deref().expect("a reason");
        assert!(why.contains("git"), "{why}");
        assert_eq!(log.releases.len(), 1);
        assert_eq!(log.releases[0].diff.added, ["a.one"]);
    }
}
