//! Differences between two versions of the specification: added, removed and changed
//! requirements, and those newly unverified — for release notes and CI comments.

use crate::check::{Report, Status};
use crate::parse::Registry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// What one side of a diff knows of a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The ID.
    pub id: String,
    /// Fingerprint of the normative text.
    pub fingerprint: String,
    /// MUST, SHOULD or MAY.
    pub level: String,
    /// The normative sentence.
    pub action: String,
    /// The status, when the side is a checker report (a git revision has none).
    pub status: Option<Status>,
}

/// A requirement present on both sides whose text or status differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The ID.
    pub id: String,
    /// Level before and after, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<(String, String)>,
    /// Whether the normative text (action or provenance) changed.
    pub text_changed: bool,
}

/// The difference between two versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// IDs only the new version defines.
    pub added: Vec<String>,
    /// IDs only the old version defines.
    pub removed: Vec<String>,
    /// Requirements whose text changed.
    pub changed: Vec<Change>,
    /// Requirements verified in the old report and not in the new one (with the new status).
    pub newly_unverified: Vec<(String, Status)>,
}

impl Diff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.newly_unverified.is_empty()
    }

    /// A Markdown summary for release notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let mut section = |title: &str, items: Vec<String>| {
            if !items.is_empty() {
                s.push_str(&format!("### {title}\n\n"));
                for i in items {
                    s.push_str(&format!("- {i}\n"));
                }
                s.push('\n');
            }
        };
        section(
            "Added",
            self.added.iter().map(|i| format!("`{i}`")).collect(),
        );
        section(
            "Removed",
            self.removed.iter().map(|i| format!("`{i}`")).collect(),
        );
        section(
            "Changed",
            self.changed
                .iter()
                .map(|c| match &c.level {
                    Some((a, b)) => format!("`{}`: level {a} → {b}", c.id),
                    None => format!("`{}`: text changed", c.id),
                })
                .collect(),
        );
        section(
            "Newly unverified",
            self.newly_unverified
                .iter()
                .map(|(i, st)| format!("`{i}`: {}", st.as_str()))
                .collect(),
        );
        if s.is_empty() {
            s.push_str("No requirement changed.\n");
        }
        s
    }
}

/// Compares two versions.
pub fn diff(old: &[Snapshot], new: &[Snapshot]) -> Diff {
    let o: BTreeMap<&str, &Snapshot> = old.iter().map(|s| (s.id.as_str(), s)).collect();
    let n: BTreeMap<&str, &Snapshot> = new.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut d = Diff {
        added: n
            .keys()
            .filter(|k| !o.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
        removed: o
            .keys()
            .filter(|k| !n.contains_key(*k))
            .map(|k| k.to_string())
            .collect(),
        ..Diff::default()
    };
    for (id, b) in &n {
        let Some(a) = o.get(id) else { continue };
        if a.fingerprint != b.fingerprint {
            d.changed.push(Change {
                id: id.to_string(),
                level: (a.level != b.level).then(|| (a.level.clone(), b.level.clone())),
                text_changed: true,
            });
        }
        if a.status == Some(Status::Verified)
            && let Some(st) = b.status
            && st != Status::Verified
        {
            d.newly_unverified.push((id.to_string(), st));
        }
    }
    d
}

/// Snapshots of a checker report.
pub fn from_report(report: &Report) -> Vec<Snapshot> {
    report
        .requirements
        .iter()
        .map(|r| Snapshot {
            id: r.id.clone(),
            fingerprint: r.fingerprint.clone(),
            level: r.level.as_str().into(),
            action: r.action.clone(),
            status: Some(r.status),
        })
        .collect()
}

/// Snapshots of a registry (no status).
pub fn from_registry(registry: &Registry) -> Vec<Snapshot> {
    registry
        .requirements
        .iter()
        .map(|r| Snapshot {
            id: r.id.clone(),
            fingerprint: r.fingerprint.clone(),
            level: r.level.as_str().into(),
            action: r.action.clone(),
            status: None,
        })
        .collect()
}

/// Runs `git -C root ARGS` and returns its standard output, or a message naming the command.
pub(crate) fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// Reads the book as it was at git revision `rev` of the repository at `root`; `book_src` is
/// the book's source directory relative to `root`.
pub fn registry_at_revision(root: &Path, book_src: &str, rev: &str) -> Result<Registry, String> {
    // `^{commit}` makes a tag or branch name resolve to its commit, and anything else an error
    // (ls-tree would take a tree or blob name too).
    let commit = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|e| format!("`{rev}` is not a commit ({e})"))?;
    let commit = commit.trim();
    let files = git(
        root,
        &["ls-tree", "-r", "--name-only", commit, "--", book_src],
    )?;
    let mut chapters = Vec::new();
    for f in files.lines().filter(|f| f.ends_with(".md")) {
        let text = git(root, &["show", &format!("{commit}:{f}")])?;
        let chapter = f
            .strip_prefix(book_src)
            .unwrap_or(f)
            .trim_start_matches('/')
            .trim_end_matches(".md")
            .to_owned();
        chapters.push((f.to_owned(), chapter, text));
    }
    Ok(Registry::from_chapters(
        chapters
            .iter()
            .map(|(f, c, t)| (f.as_str(), c.as_str(), t.as_str())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, fp: &str, level: &str, status: Option<Status>) -> Snapshot {
        Snapshot {
            id: id.into(),
            fingerprint: fp.into(),
            level: level.into(),
            action: String::new(),
            status,
        }
    }

    #[test]
    fn lists_added_removed_changed_and_newly_unverified() {
        let old = vec![
            snap("a.keep", "1", "MUST", Some(Status::Verified)),
            snap("a.gone", "2", "MUST", Some(Status::Verified)),
            snap("a.edit", "3", "SHOULD", Some(Status::Verified)),
        ];
        let new = vec![
            snap("a.keep", "1", "MUST", Some(Status::Failing)),
            snap("a.edit", "4", "MUST", Some(Status::Verified)),
            snap("a.new", "5", "MAY", Some(Status::Untested)),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.added, vec!["a.new"]);
        assert_eq!(d.removed, vec!["a.gone"]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].id, "a.edit");
        assert_eq!(d.changed[0].level, Some(("SHOULD".into(), "MUST".into())));
        assert_eq!(
            d.newly_unverified,
            vec![("a.keep".to_string(), Status::Failing)]
        );
        let md = d.to_markdown();
        assert!(
            md.contains("### Newly unverified\n\n- `a.keep`: failing"),
            "{md}"
        );
        assert!(diff(&old, &old).is_empty());
    }
}
