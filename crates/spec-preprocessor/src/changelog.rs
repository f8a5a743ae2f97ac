//! `{{#locald-spec changelog}}`: the release history — for the unreleased changes and each
//! release tag `v*`, newest first, the requirements it added, removed and changed. The history
//! itself is computed once per build ([`locald_spec_core::history`]); without git or tags it
//! still renders, everything being the initial, unreleased version.

use crate::Page;
use crate::html::{escape, inline_markdown};
use locald_spec_core::diff::Words;
use locald_spec_core::history::Release;
use locald_spec_core::{RequirementReport, Status};
use std::fmt::Write;

/// The changelog page's body.
pub fn changelog(page: &Page<'_>) -> String {
    let log = page.history;
    let mut h = String::new();
    if let Some(why) = &log.unavailable {
        let _ = writeln!(
            h,
            "<p class=\"req-reasons\">The release history could not be read ({}); every requirement is shown as new.</p>\n",
            escape(why)
        );
    }
    for r in &log.releases {
        release(page, r, &mut h);
    }
    h
}

/// The heading anchor of a release.
pub fn release_anchor(name: &str) -> String {
    format!("release-{}", name.to_lowercase())
}

fn release(page: &Page<'_>, r: &Release, h: &mut String) {
    let a = release_anchor(&r.name);
    let _ = writeln!(h, "## {} {{#{a}}}\n", r.name);
    let total = page.report.requirements.len();
    let meta = match (&r.since, &r.date) {
        (Some(prev), Some(date)) => format!("Tagged {date}; changes since {prev}."),
        (Some(prev), None) => format!("Changes since {prev}, not yet released."),
        (None, Some(date)) => format!("Tagged {date}; the first release."),
        (None, None) => {
            format!(
                "No release has been tagged yet: this is the initial version, {total} requirements."
            )
        }
    };
    let _ = writeln!(h, "<p class=\"changelog-meta\">{}</p>\n", escape(&meta));
    let d = &r.diff;
    if d.is_empty() {
        h.push_str("No requirement changed.\n\n");
    }
    let find = |id: &str| page.report.get(id);
    if r.is_initial() {
        section(h, &a, "Added", &grouped(page, &d.added));
    } else {
        let added: Vec<String> = d
            .added
            .iter()
            .map(|id| item(page, id, find(id), true))
            .collect();
        section(h, &a, "Added", &added);
    }
    let removed: Vec<String> = d
        .removed
        .iter()
        .map(|id| format!("<code>{}</code>", escape(id)))
        .collect();
    section(h, &a, "Removed", &removed);
    let changed: Vec<String> = d
        .changed
        .iter()
        .map(|c| {
            let what = format!(
                " — {}",
                c.describe_with(&words_html, &|cite| format!("“{}”", escape(cite)))
            );
            format!("{}{what}", item(page, &c.id, find(&c.id), false))
        })
        .collect();
    section(h, &a, "Changed", &changed);
    let unverified: Vec<String> = d
        .newly_unverified
        .iter()
        .map(|(id, s)| format!("{} — {}", item(page, id, find(id), false), badge(*s)))
        .collect();
    section(h, &a, "Newly unverified", &unverified);
    // The unreleased entry is this build: say what it does not verify.
    if r.date.is_none() {
        let not: Vec<String> = page
            .report
            .requirements
            .iter()
            .filter(|x| x.status != Status::Verified)
            .map(|x| {
                format!(
                    "{} — {}",
                    item(page, &x.id, Some(x), false),
                    badge(x.status)
                )
            })
            .collect();
        section(h, &a, "Not verified in this build", &not);
    }
}

/// A word diff as HTML: removed words in `<del>`, added ones in `<ins>`.
fn words_html(words: &[Words]) -> String {
    words
        .iter()
        .map(|w| match w {
            Words::Same(t) => escape(t),
            Words::Removed(t) => format!("<del>{}</del>", escape(t)),
            Words::Added(t) => format!("<ins>{}</ins>", escape(t)),
        })
        .collect()
}

fn section(h: &mut String, release: &str, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let slug = title.to_lowercase().replace(' ', "-");
    let _ = writeln!(
        h,
        "### {title} {{#{release}-{slug}}}\n\n<ul class=\"changelog-list\">"
    );
    for i in items {
        let _ = writeln!(h, "<li>{i}</li>");
    }
    h.push_str("</ul>\n\n");
}

fn badge(s: Status) -> String {
    format!(
        "<span class=\"req-status status-{0}\">{0}</span>",
        s.as_str()
    )
}

/// A requirement in a list: linked when it still exists, with its level and, if asked, its
/// action.
fn item(page: &Page<'_>, id: &str, now: Option<&RequirementReport>, action: bool) -> String {
    let Some(r) = now else {
        return format!("<code>{}</code>", escape(id));
    };
    let mut s = format!(
        "<a href=\"{}\"><code>{}</code></a> <span class=\"req-level level-{}\">{}</span>",
        escape(&page.link_to(&r.chapter, &r.id)),
        escape(id),
        r.level.as_str().to_lowercase(),
        r.level.as_str()
    );
    if action {
        let _ = write!(s, " {}", inline_markdown(&r.action));
    }
    s
}

/// The first version's requirements, one line per chapter: the whole specification at once is
/// too long a list to read as a change.
fn grouped(page: &Page<'_>, ids: &[String]) -> Vec<String> {
    let mut chapters: Vec<(&str, Vec<String>)> = Vec::new();
    for r in &page.report.requirements {
        if !ids.contains(&r.id) {
            continue;
        }
        let link = format!(
            "<a href=\"{}\"><code>{}</code></a>",
            escape(&page.link_to(&r.chapter, &r.id)),
            escape(&r.id)
        );
        match chapters.iter_mut().find(|(c, _)| *c == r.chapter) {
            Some((_, v)) => v.push(link),
            None => chapters.push((&r.chapter, vec![link])),
        }
    }
    // Requirements of that version that no longer exist have no chapter to go under.
    let gone: Vec<String> = ids
        .iter()
        .filter(|id| page.report.get(id).is_none())
        .map(|id| format!("<code>{}</code>", escape(id)))
        .collect();
    let mut out: Vec<String> = chapters
        .into_iter()
        .map(|(c, v)| {
            format!(
                "<strong>{}</strong> ({}): {}",
                escape(c),
                v.len(),
                v.join(", ")
            )
        })
        .collect();
    if !gone.is_empty() {
        out.push(format!(
            "<strong>since removed</strong> ({}): {}",
            gone.len(),
            gone.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use locald_spec_core::diff::{Change, Diff, Field, word_diff};
    use locald_spec_core::history::{Changelog, UNRELEASED};

    fn render(history: &Changelog) -> String {
        let (_dir, project, report, _) = fixture::report();
        let page = Page {
            project: &project,
            report: &report,
            history,
            file: "book/src/changelog.md",
            depth: 0,
        };
        changelog(&page)
    }

    #[test]
    fn without_history_everything_is_the_initial_unreleased_version() {
        let (dir, _project, report, _) = fixture::report();
        // Not a git repository: the history is unavailable, which is said, not an error.
        let history = locald_spec_core::history::changelog(
            dir.path(),
            "book/src",
            &locald_spec_core::diff::from_report(&report),
        );
        let h = render(&history);
        assert!(h.contains("The release history could not be read"), "{h}");
        assert!(h.contains("## Unreleased {#release-unreleased}"), "{h}");
        assert!(
            h.contains("this is the initial version, 3 requirements"),
            "{h}"
        );
        assert!(
            h.contains("<li><strong>a</strong> (2): <a href=\"a.html#req-a.one\"><code>a.one</code></a>, <a href=\"a.html#req-a.two\"><code>a.two</code></a></li>"),
            "{h}"
        );
        assert!(h.contains("### Not verified in this build"), "{h}");
    }

    #[test]
    fn releases_list_added_removed_and_changed_requirements() {
        let history = Changelog {
            releases: vec![
                Release {
                    name: UNRELEASED.into(),
                    date: None,
                    since: Some("v1.0.0".into()),
                    diff: Diff {
                        added: vec!["b.three".into()],
                        removed: vec!["a.gone".into()],
                        changed: vec![Change {
                            id: "a.two".into(),
                            level: Some(("MUST".into(), "SHOULD".into())),
                            text_changed: true,
                            fields: vec![Field::Level, Field::Action],
                            action: word_diff(
                                "The engine reads <it>.",
                                "The engine may read <it>.",
                            ),
                            ..Change::default()
                        }],
                        newly_unverified: vec![],
                    },
                },
                Release {
                    name: "v1.0.0".into(),
                    date: Some("2025-01-02".into()),
                    since: None,
                    diff: Diff {
                        added: vec!["a.one".into(), "a.two".into(), "a.gone".into()],
                        ..Diff::default()
                    },
                },
            ],
            unavailable: None,
        };
        let h = render(&history);
        assert!(h.contains("Changes since v1.0.0, not yet released."), "{h}");
        assert!(
            h.contains("### Added {#release-unreleased-added}\n\n<ul class=\"changelog-list\">\n<li><a href=\"b.html#req-b.three\"><code>b.three</code></a> <span class=\"req-level level-may\">MAY</span> The engine may.</li>"),
            "{h}"
        );
        assert!(
            h.contains("<li><code>a.gone</code></li>"),
            "removed: no link"
        );
        assert!(h.contains("<code>a.two</code></a> <span class=\"req-level level-should\">SHOULD</span> — level MUST → SHOULD; action: The engine <del>reads</del><ins>may read</ins> &lt;it&gt;.</li>"), "{h}");
        assert!(h.contains("## v1.0.0 {#release-v1.0.0}"), "{h}");
        assert!(h.contains("Tagged 2025-01-02; the first release."), "{h}");
        assert!(
            h.contains("<strong>since removed</strong> (1): <code>a.gone</code>"),
            "{h}"
        );
        assert_eq!(
            h.matches("### Not verified in this build").count(),
            1,
            "only for unreleased"
        );
    }
}
