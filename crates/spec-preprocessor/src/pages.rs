//! Generated pages: `{{#locald-spec matrix}}` (the traceability matrix, per chapter) and
//! `{{#locald-spec index}}` (every requirement in one table).

use crate::Page;
use crate::html::escape;
use locald_spec_core::{Report, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Replaces the page directives in `content`.
pub fn expand(page: &Page<'_>, content: &str) -> String {
    content
        .replace("{{#locald-spec matrix}}", &matrix(page))
        .replace("{{#locald-spec index}}", &index(page))
        .replace("{{#locald-spec summary}}", &summary(page.report))
}

/// One line: how many requirements, how many verified.
pub fn summary(report: &Report) -> String {
    let counts = report.counts();
    let total = report.requirements.len();
    let verified = counts.get(&Status::Verified).copied().unwrap_or(0);
    let mut s = format!("**{verified} of {total}** requirements verified");
    let others: Vec<String> = counts
        .iter()
        .filter(|(s, _)| **s != Status::Verified)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    if !others.is_empty() {
        let _ = write!(s, " ({})", others.join(", "));
    }
    let _ = write!(s, "; {} problem(s).", report.problems.len());
    s
}

fn matrix(page: &Page<'_>) -> String {
    let report = page.report;
    let mut by_chapter: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for r in &report.requirements {
        by_chapter.entry(r.chapter.as_str()).or_default().push(r);
    }
    let mut h = String::new();
    let _ = writeln!(h, "{}\n", summary(report));
    h.push_str("<table class=\"req-matrix\">\n<thead><tr><th>Chapter</th><th>Requirements</th><th>Verified</th><th>Not verified</th></tr></thead>\n<tbody>\n");
    for (chapter, reqs) in &by_chapter {
        let verified = reqs.iter().filter(|r| r.status == Status::Verified).count();
        let mut not = String::new();
        for r in reqs.iter().filter(|r| r.status != Status::Verified) {
            let _ = write!(
                not,
                "<li><a href=\"{}\">{}</a> <span class=\"req-status status-{2}\">{2}</span>: {3}</li>",
                escape(&page.link_to(&r.chapter, &r.id)),
                escape(&r.id),
                r.status.as_str(),
                escape(&r.reasons.join("; "))
            );
        }
        let not = if not.is_empty() {
            "—".to_owned()
        } else {
            format!("<ul>{not}</ul>")
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{verified}</td><td>{not}</td></tr>",
            escape(chapter),
            reqs.len()
        );
    }
    h.push_str("</tbody>\n</table>\n");
    if !report.problems.is_empty() {
        h.push_str("\n<h2 id=\"problems\">Problems</h2>\n<ul class=\"req-problems\">\n");
        for p in &report.problems {
            let _ = writeln!(h, "<li><code>{}</code></li>", escape(&p.to_string()));
        }
        h.push_str("</ul>\n");
    }
    h
}

fn index(page: &Page<'_>) -> String {
    let mut h = String::new();
    h.push_str("<table class=\"req-index\">\n<thead><tr><th>ID</th><th>Level</th><th>Chapter</th><th>Status</th><th>Sources</th><th>Action</th></tr></thead>\n<tbody>\n");
    for r in &page.report.requirements {
        let mut sources: Vec<&str> = r.provenance.iter().map(|p| p.source.as_str()).collect();
        sources.dedup();
        let _ = writeln!(
            h,
            "<tr data-chapter=\"{c}\" data-level=\"{l}\" data-status=\"{s}\" data-sources=\"{src}\"><td><a href=\"{href}\">{id}</a></td><td>{l}</td><td>{c}</td><td><span class=\"req-status status-{s}\">{s}</span></td><td>{src}</td><td>{a}</td></tr>",
            c = escape(&r.chapter),
            l = r.level.as_str(),
            s = r.status.as_str(),
            src = sources.join(" "),
            href = escape(&page.link_to(&r.chapter, &r.id)),
            id = escape(&r.id),
            a = crate::html::inline_markdown(&r.action)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h
}
