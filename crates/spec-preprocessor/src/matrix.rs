//! `{{#locald-spec summary}}` (how many requirements are verified) and `{{#locald-spec matrix}}`
//! (the traceability matrix: per chapter, its requirements, how many are verified, and why the
//! others are not).

use crate::Page;
use crate::html::escape;
use locald_spec_core::{Report, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

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

/// The traceability matrix, then every problem of the build.
pub fn matrix(page: &Page<'_>) -> String {
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
            "<tr data-chapter=\"{c}\"><td><a href=\"{}\">{c}</a></td><td>{}</td><td>{verified}</td><td>{not}</td></tr>",
            escape(&page.link_to_page(&format!("{chapter}.html"))),
            reqs.len(),
            c = escape(chapter),
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
