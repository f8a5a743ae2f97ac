//! Differences between two versions of the specification: added, removed and changed
//! requirements, and those newly unverified — for release notes and CI comments.

use crate::check::{Report, Status};
use crate::git::{SILENT, git};
use crate::model::{Provenance, Requirement, fold_whitespace};
use crate::parse::Registry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
    /// The cited sources.
    pub provenance: Vec<Provenance>,
    /// What breaks without it.
    pub rationale: Option<String>,
    /// The status, when the side is a checker report (a git revision has none).
    pub status: Option<Status>,
}

/// A field of a requirement that a [`Change`] can touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// MUST, SHOULD or MAY.
    Level,
    /// The normative sentence.
    Action,
    /// The cited sources.
    Provenance,
    /// The rationale (not normative: it does not make links suspect).
    Rationale,
}

impl Field {
    /// The field's key in a requirement block.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Level => "level",
            Field::Action => "action",
            Field::Provenance => "provenance",
            Field::Rationale => "rationale",
        }
    }
}

/// A run of words of a word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Words {
    /// On both sides.
    Same(String),
    /// Only on the old side.
    Removed(String),
    /// Only on the new side.
    Added(String),
}

/// A requirement present on both sides whose fields differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The ID.
    pub id: String,
    /// Level before and after, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<(String, String)>,
    /// Whether the normative text (level, action or provenance: the fingerprint) changed.
    pub text_changed: bool,
    /// Which fields differ (white space folded), in block order.
    pub fields: Vec<Field>,
    /// The action, word by word, when it changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action: Vec<Words>,
    /// Provenance entries cited only by the old version (their `cite`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance_removed: Vec<String>,
    /// Provenance entries cited only by the new version (their `cite`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance_added: Vec<String>,
}

impl Change {
    /// Compares two versions of one requirement; `None` when nothing differs.
    pub fn between(old: &Snapshot, new: &Snapshot) -> Option<Change> {
        let key = |p: &Provenance| (p.source, fold_whitespace(&p.cite), p.url.trim().to_owned());
        let only = |a: &[Provenance], b: &[Provenance]| -> Vec<String> {
            let b: Vec<_> = b.iter().map(key).collect();
            a.iter()
                .filter(|p| !b.contains(&key(p)))
                .map(|p| fold_whitespace(&p.cite))
                .collect()
        };
        let provenance_removed = only(&old.provenance, &new.provenance);
        let provenance_added = only(&new.provenance, &old.provenance);
        let old_keys: Vec<_> = old.provenance.iter().map(key).collect();
        let new_keys: Vec<_> = new.provenance.iter().map(key).collect();
        let rationale = |s: &Snapshot| s.rationale.as_deref().map(fold_whitespace);
        let mut fields = Vec::new();
        if old.level != new.level {
            fields.push(Field::Level);
        }
        let action_changed = fold_whitespace(&old.action) != fold_whitespace(&new.action);
        if action_changed {
            fields.push(Field::Action);
        }
        if old_keys != new_keys {
            fields.push(Field::Provenance);
        }
        if rationale(old) != rationale(new) {
            fields.push(Field::Rationale);
        }
        let text_changed = old.fingerprint != new.fingerprint;
        if fields.is_empty() && !text_changed {
            return None;
        }
        Some(Change {
            id: new.id.clone(),
            level: (old.level != new.level).then(|| (old.level.clone(), new.level.clone())),
            text_changed,
            fields,
            action: if action_changed {
                word_diff(&old.action, &new.action)
            } else {
                Vec::new()
            },
            provenance_removed,
            provenance_added,
        })
    }

    /// What changed, in one line of Markdown: `level SHOULD → MUST; action: The engine
    /// [-writes-]{+may write+} it; provenance: removed “…”, added “…”; rationale changed`.
    pub fn describe(&self) -> String {
        self.describe_with(&words_markdown, &|cite| format!("“{cite}”"))
    }

    /// [`Change::describe`] with the action's word diff and each cited text rendered by the
    /// caller (the site renders them as HTML).
    pub fn describe_with(
        &self,
        words: &dyn Fn(&[Words]) -> String,
        cite: &dyn Fn(&str) -> String,
    ) -> String {
        let mut parts = Vec::new();
        for f in &self.fields {
            parts.push(match f {
                Field::Level => match &self.level {
                    Some((a, b)) => format!("level {a} → {b}"),
                    None => "level changed".into(),
                },
                Field::Action => format!("action: {}", words(&self.action)),
                Field::Provenance => {
                    let quote =
                        |v: &[String]| v.iter().map(|c| cite(c)).collect::<Vec<_>>().join(", ");
                    let mut p = Vec::new();
                    if !self.provenance_removed.is_empty() {
                        p.push(format!("removed {}", quote(&self.provenance_removed)));
                    }
                    if !self.provenance_added.is_empty() {
                        p.push(format!("added {}", quote(&self.provenance_added)));
                    }
                    if p.is_empty() {
                        "provenance reordered".into()
                    } else {
                        format!("provenance: {}", p.join(", "))
                    }
                }
                Field::Rationale => "rationale changed".into(),
            });
        }
        if parts.is_empty() {
            // The fingerprint differs but no field does: the two sides fingerprint differently.
            parts.push("fingerprint changed".into());
        }
        parts.join("; ")
    }
}

/// The words of `old` and `new` (white space folded), as runs on both sides, removed and added.
pub fn word_diff(old: &str, new: &str) -> Vec<Words> {
    let (old, new) = (fold_whitespace(old), fold_whitespace(new));
    let mut out: Vec<Words> = Vec::new();
    let mut push = |w: Words| {
        let (Words::Same(t) | Words::Removed(t) | Words::Added(t)) = &w;
        if t.is_empty() {
            return;
        }
        match (out.last_mut(), w) {
            (Some(Words::Same(a)), Words::Same(b)) => a.push_str(&b),
            (Some(Words::Removed(a)), Words::Removed(b))
            | (Some(Words::Added(a)), Words::Added(b)) => {
                a.push(' ');
                a.push_str(&b);
            }
            (_, w) => out.push(w),
        }
    };
    for (tag, text) in similar::utils::diff_words(similar::Algorithm::Myers, &old, &new) {
        let core = text.trim();
        // White space at the edges of a changed run stays outside it.
        let lead = &text[..text.len() - text.trim_start().len()];
        let trail = &text[text.trim_end().len()..];
        match tag {
            similar::ChangeTag::Equal => push(Words::Same(text.to_owned())),
            similar::ChangeTag::Delete => {
                push(Words::Same(lead.to_owned()));
                push(Words::Removed(core.to_owned()));
                push(Words::Same(trail.to_owned()));
            }
            similar::ChangeTag::Insert => {
                push(Words::Same(lead.to_owned()));
                push(Words::Added(core.to_owned()));
                push(Words::Same(trail.to_owned()));
            }
        }
    }
    out
}

/// A word diff as text: `[-removed-]` and `{+added+}` (git's `--word-diff=plain`), white space
/// folded.
pub fn words_markdown(words: &[Words]) -> String {
    let text: String = words
        .iter()
        .map(|w| match w {
            Words::Same(t) => t.clone(),
            Words::Removed(t) => format!("[-{t}-]"),
            Words::Added(t) => format!("{{+{t}+}}"),
        })
        .collect();
    fold_whitespace(&text)
}

/// The difference between two versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// IDs only the new version defines.
    pub added: Vec<String>,
    /// IDs only the old version defines.
    pub removed: Vec<String>,
    /// Requirements whose fields changed.
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
                .map(|c| format!("`{}`: {}", c.id, c.describe()))
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
        d.changed.extend(Change::between(a, b));
        if a.status == Some(Status::Verified)
            && let Some(st) = b.status
            && st != Status::Verified
        {
            d.newly_unverified.push((id.to_string(), st));
        }
    }
    d
}

/// The snapshot of `r`, with its status when a checker report gave one.
fn snapshot(r: &Requirement, status: Option<Status>) -> Snapshot {
    Snapshot {
        id: r.id.clone(),
        fingerprint: r.fingerprint.clone(),
        level: r.level.as_str().into(),
        action: r.action.clone(),
        provenance: r.provenance.clone(),
        rationale: r.rationale.clone(),
        status,
    }
}

/// Snapshots of a checker report.
pub fn from_report(report: &Report) -> Vec<Snapshot> {
    report
        .requirements
        .iter()
        .map(|r| snapshot(r, Some(r.status)))
        .collect()
}

/// Snapshots of a registry (no status).
pub fn from_registry(registry: &Registry) -> Vec<Snapshot> {
    registry
        .requirements
        .iter()
        .map(|r| snapshot(r, None))
        .collect()
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
    .map_err(|e| {
        // `--quiet` keeps git silent when the name resolves to nothing; say what is there.
        if e.ends_with(SILENT) {
            let tags = crate::history::release_tags(root).unwrap_or_default();
            let hint = if tags.is_empty() {
                "; the repository has no release tags (v*) yet: compare commits, e.g. HEAD~1 HEAD"
                    .to_owned()
            } else {
                let names: Vec<&str> = tags.iter().map(|(t, _)| t.as_str()).collect();
                format!("; its release tags are {}", names.join(", "))
            };
            format!("no commit, tag or branch is named `{rev}`{hint}")
        } else {
            format!("`{rev}` is not a commit ({e})")
        }
    })?;
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
    use crate::model::SourceKind;

    fn snap(id: &str, fp: &str, level: &str, status: Option<Status>) -> Snapshot {
        Snapshot {
            id: id.into(),
            fingerprint: fp.into(),
            level: level.into(),
            action: String::new(),
            provenance: Vec::new(),
            rationale: None,
            status,
        }
    }

    fn cite(source: SourceKind, cite: &str) -> Provenance {
        Provenance {
            source,
            cite: cite.into(),
            url: format!("https://example.org/{}", cite.len()),
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

    #[test]
    fn a_change_says_which_fields_changed_and_how_the_action_did() {
        let mut old = snap("a.edit", "1", "SHOULD", None);
        old.action = "The engine writes a group entry for `gid`.".into();
        old.provenance = vec![cite(SourceKind::Posix, "XSH getgrgid()")];
        old.rationale = Some("Tools print numbers.".into());
        let mut new = old.clone();
        new.fingerprint = "2".into();
        new.level = "MUST".into();
        new.action = "The engine may write\n  a group entry for `gid`.".into();
        new.provenance.push(cite(SourceKind::Linux, "group(5)"));
        new.rationale = Some("Tools print bare numbers.".into());
        let d = diff(std::slice::from_ref(&old), std::slice::from_ref(&new));
        let c = &d.changed[0];
        assert_eq!(
            c.fields,
            [
                Field::Level,
                Field::Action,
                Field::Provenance,
                Field::Rationale
            ]
        );
        assert!(c.text_changed);
        assert_eq!(
            c.action,
            [
                Words::Same("The engine ".into()),
                Words::Removed("writes".into()),
                Words::Added("may write".into()),
                Words::Same(" a group entry for `gid`.".into()),
            ]
        );
        assert_eq!(
            d.to_markdown(),
            "### Changed\n\n- `a.edit`: level SHOULD → MUST; action: The engine [-writes-]{+may write+} \
             a group entry for `gid`.; provenance: added “group(5)”; rationale changed\n\n"
        );

        // Re-wrapping changes nothing; a rationale is not normative but is still a change.
        let mut rewrapped = old.clone();
        rewrapped.action = old.action.replace(' ', "\n   ");
        assert!(diff(std::slice::from_ref(&old), &[rewrapped]).is_empty());
        let mut explained = old.clone();
        explained.rationale = None;
        let d = diff(std::slice::from_ref(&old), &[explained]);
        assert_eq!(d.changed[0].fields, [Field::Rationale]);
        assert!(!d.changed[0].text_changed);
        assert_eq!(d.changed[0].describe(), "rationale changed");
        let mut recited = old.clone();
        recited.provenance = vec![cite(SourceKind::Posix, "XSH getgrnam()")];
        assert_eq!(
            Change::between(&old, &recited).unwrap().describe(),
            "provenance: removed “XSH getgrgid()”, added “XSH getgrnam()”"
        );
    }
}
