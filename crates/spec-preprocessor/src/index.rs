//! `{{#locald-spec index}}`: every requirement in one table, with filters by chapter, level,
//! status and provenance source and a text box. Each row carries its values as `data-*`
//! attributes; `book/theme/spec.js` shows the filter form (hidden without JavaScript, when the
//! whole table shows) and hides the rows that do not match.

use crate::Page;
use crate::html::{escape, inline_markdown};
use locald_spec_core::{Level, RequirementReport, SourceKind, Status};
use std::fmt::Write;

/// The index table with its filter form.
pub fn index(page: &Page<'_>) -> String {
    let reqs = &page.report.requirements;
    let mut h = String::new();
    h.push_str(&filters(reqs));
    // The table scrolls inside its own box when the column is narrower than it (a phone); the
    // ID column is wide enough for every ID in two lines (see `id_width`).
    let _ = writeln!(
        h,
        "<div class=\"req-index-scroll\" role=\"region\" aria-label=\"Requirement index\" tabindex=\"0\">\n\
         <table class=\"req-index\" style=\"--req-id-width: {}ch\">\n\
         <thead><tr><th>ID</th><th>Level</th><th>Chapter</th><th>Status</th><th>Sources</th><th>Action</th></tr></thead>\n<tbody>",
        id_width(reqs.iter().map(|r| r.id.as_str()))
    );
    for r in reqs {
        let sources = sources_of(r);
        let shown: Vec<String> = sources
            .iter()
            .map(|k| format!("<span class=\"req-index-source\">{k}</span>"))
            .collect();
        let _ = writeln!(
            h,
            "<tr data-id=\"{id}\" data-chapter=\"{c}\" data-level=\"{l}\" data-status=\"{s}\" data-sources=\"{src}\"><td><a href=\"{href}\">{code}</a></td><td>{l}</td><td>{c}</td><td><span class=\"req-status status-{s}\">{s}</span></td><td>{shown}</td><td><div class=\"req-index-action\">{a}</div></td></tr>",
            c = escape(&r.chapter),
            l = r.level.as_str(),
            s = r.status.as_str(),
            src = sources.join(" "),
            shown = shown.join(" "),
            href = escape(&page.link_to(&r.chapter, &r.id)),
            id = escape(&r.id),
            code = id_code(&r.id),
            a = inline_markdown(&r.action)
        );
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
    h
}

/// An ID as code that may break only after a dot: each dotted segment unbreakable
/// (`identity.passwd.current-user` never breaks at its hyphen), a `<wbr>` after each dot.
pub fn id_code(id: &str) -> String {
    let segments: Vec<String> = id
        .split_inclusive('.')
        .map(|s| format!("<span>{}</span>", escape(s)))
        .collect();
    format!("<code class=\"req-id\">{}</code>", segments.join("<wbr>"))
}

/// The width, in characters of the code font, that holds every ID in at most two lines: for
/// each ID, its best break after a dot (the longer of the two parts, the dot staying on the
/// first line); the widest of those.
pub fn id_width<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    ids.map(|id| {
        let n = id.chars().count();
        id.char_indices()
            .filter(|(_, c)| *c == '.')
            .map(|(i, _)| {
                let first = id[..=i].chars().count();
                first.max(n - first)
            })
            .min()
            .unwrap_or(n)
    })
    .max()
    .unwrap_or(0)
}

/// The distinct source kinds a requirement cites, in the book's order of kinds.
pub fn sources_of(r: &RequirementReport) -> Vec<&'static str> {
    SourceKind::ALL
        .into_iter()
        .filter(|k| r.provenance.iter().any(|p| p.source == *k))
        .map(SourceKind::as_str)
        .collect()
}

/// The filter form: one select per attribute, listing only values that occur, with counts.
fn filters(reqs: &[RequirementReport]) -> String {
    let mut chapters: Vec<&str> = Vec::new();
    for r in reqs {
        if !chapters.contains(&r.chapter.as_str()) {
            chapters.push(&r.chapter);
        }
    }
    let count = |f: &dyn Fn(&RequirementReport) -> bool| reqs.iter().filter(|r| f(r)).count();
    let chapter_opts: Vec<(String, usize)> = chapters
        .iter()
        .map(|c| (c.to_string(), count(&|r| r.chapter == *c)))
        .collect();
    let level_opts: Vec<(String, usize)> = [Level::Must, Level::Should, Level::May]
        .into_iter()
        .map(|l| (l.as_str().to_owned(), count(&|r| r.level == l)))
        .collect();
    let status_opts: Vec<(String, usize)> = [
        Status::Verified,
        Status::Unimplemented,
        Status::Untested,
        Status::Failing,
        Status::Stale,
    ]
    .into_iter()
    .map(|s| (s.as_str().to_owned(), count(&|r| r.status == s)))
    .collect();
    let source_opts: Vec<(String, usize)> = SourceKind::ALL
        .into_iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                count(&|r| r.provenance.iter().any(|p| p.source == k)),
            )
        })
        .collect();
    let mut h = String::from(
        "<form class=\"req-filters\" hidden role=\"search\" aria-label=\"Filter the requirements\">\n",
    );
    for (key, label, opts) in [
        ("chapter", "Chapter", chapter_opts),
        ("level", "Level", level_opts),
        ("status", "Status", status_opts),
        ("sources", "Source", source_opts),
    ] {
        let _ = write!(
            h,
            "<label>{label} <select data-filter=\"{key}\"><option value=\"\">all</option>"
        );
        for (v, n) in opts.iter().filter(|(_, n)| *n > 0) {
            let _ = write!(h, "<option value=\"{v}\">{v} ({n})</option>", v = escape(v));
        }
        h.push_str("</select></label>\n");
    }
    h.push_str(
        "<label>Text <input type=\"search\" data-filter=\"text\" placeholder=\"ID or words of the action\"></label>\n\
         <button type=\"reset\">Clear</button>\n\
         <output class=\"req-filter-count\" aria-live=\"polite\"></output>\n</form>\n",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn rows_carry_their_filter_values_and_the_form_lists_those_that_occur() {
        let (_dir, project, report, history) = fixture::report();
        let page = Page {
            project: &project,
            report: &report,
            history: &history,
            file: "book/src/index.md",
            depth: 1,
        };
        let h = index(&page);
        assert!(
            h.contains("<tr data-id=\"a.one\" data-chapter=\"a\" data-level=\"MUST\" data-status=\"unimplemented\" data-sources=\"posix linux\"><td><a href=\"../a.html#req-a.one\"><code class=\"req-id\"><span>a.</span><wbr><span>one</span></code></a>"),
            "{h}"
        );
        assert!(
            h.contains("<td><span class=\"req-index-source\">posix</span> <span class=\"req-index-source\">linux</span></td>"),
            "{h}"
        );
        assert!(
            h.starts_with("<form")
                && h.contains("<div class=\"req-index-scroll\"")
                && h.ends_with("</table>\n</div>\n"),
            "the table in its scroll box: {h}"
        );
        assert!(
            h.contains("<form class=\"req-filters\" hidden"),
            "hidden without JS"
        );
        assert!(h.contains("<option value=\"a\">a (2)</option><option value=\"b\">b (1)</option>"));
        assert!(h.contains("<option value=\"posix\">posix (2)</option>"));
        assert!(!h.contains("value=\"docker\""), "only sources that occur");
        assert!(h.contains("<option value=\"unimplemented\">unimplemented (3)</option>"));
        assert!(!h.contains("value=\"verified\""));
    }

    #[test]
    fn the_id_column_holds_every_id_in_two_lines() {
        // identity.passwd. | current-user: 16 and 12; identity. | passwd.current-user: 9 and 18.
        assert_eq!(id_width(["identity.passwd.current-user"].into_iter()), 16);
        assert_eq!(
            id_width(["a.bb", "isolation.namespaces.user-nested"].into_iter()),
            21
        );
        assert_eq!(
            id_code("dns.resolv-conf.x"),
            "<code class=\"req-id\"><span>dns.</span><wbr><span>resolv-conf.</span><wbr><span>x</span></code>"
        );
    }
}
