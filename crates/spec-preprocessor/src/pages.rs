//! Generated pages: `{{#locald-spec matrix}}` (the traceability matrix, per chapter) and
//! `{{#locald-spec index}}` (every requirement in one table).

use crate::Page;
use crate::html::escape;
use locald_spec_core::conformance::{CheckOutcome, CheckResult};
use locald_spec_core::{Report, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Replaces the page directives in `content`.
pub fn expand(page: &Page<'_>, content: &str) -> String {
    content
        .replace("{{#locald-spec matrix}}", &matrix(page))
        .replace("{{#locald-spec index}}", &index(page))
        .replace("{{#locald-spec summary}}", &summary(page.report))
        .replace("{{#locald-spec conformance}}", &conformance(page))
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

/// One outcome for several checks of a requirement under one engine: fail if any failed, pass if
/// any passed, else not applicable.
pub fn combined(results: &[&CheckResult]) -> CheckOutcome {
    if results.iter().any(|r| r.outcome == CheckOutcome::Fail) {
        CheckOutcome::Fail
    } else if results.iter().any(|r| r.outcome == CheckOutcome::Pass) {
        CheckOutcome::Pass
    } else {
        CheckOutcome::NotApplicable
    }
}

/// The word shown for an outcome.
pub fn outcome_str(o: CheckOutcome) -> &'static str {
    match o {
        CheckOutcome::Pass => "pass",
        CheckOutcome::Fail => "fail",
        CheckOutcome::NotApplicable => "n/a",
    }
}

/// The CSS class suffix of an outcome.
pub fn outcome_class(o: CheckOutcome) -> &'static str {
    match o {
        CheckOutcome::Pass => "pass",
        CheckOutcome::Fail => "fail",
        CheckOutcome::NotApplicable => "not-applicable",
    }
}

/// The engine comparison: requirements × engine configurations, with totals.
fn conformance(page: &Page<'_>) -> String {
    let Some(c) = &page.report.conformance else {
        return "<p class=\"req-reasons\">No conformance results in this build: run <code>locald-conform</code> \
                (it writes <code>target/locald-spec/conformance.json</code>).</p>\n"
            .to_owned();
    };
    let engines: Vec<_> = c.engines.iter().filter(|e| e.available).collect();
    let mut h = String::new();
    let _ = writeln!(h, "<p>Measured {}.</p>", escape(&c.generated_at));
    h.push_str(
        "<table class=\"req-conformance-matrix\">\n<thead><tr><th>Requirement</th><th>Level</th>",
    );
    for e in &engines {
        let _ = write!(
            h,
            "<th title=\"{}\">{}</th>",
            escape(&e.description),
            escape(&e.name)
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut passed: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &page.report.requirements {
        let rows: Vec<_> = c.for_requirement(&r.id).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td>",
            escape(&page.link_to(&r.chapter, &r.id)),
            escape(&r.id),
            r.level.as_str()
        );
        for e in &engines {
            let mine: Vec<_> = rows
                .iter()
                .copied()
                .filter(|x| x.engine == e.name)
                .collect();
            if mine.is_empty() {
                h.push_str("<td>—</td>");
                continue;
            }
            let o = combined(&mine);
            let t = passed.entry(e.name.as_str()).or_default();
            if o != CheckOutcome::NotApplicable {
                t.1 += 1;
                if o == CheckOutcome::Pass {
                    t.0 += 1;
                }
            }
            let detail: Vec<String> = mine.iter().map(|x| x.detail.clone()).collect();
            let _ = write!(
                h,
                "<td class=\"conf-{2}\" title=\"{1}\">{0}</td>",
                outcome_str(o),
                escape(&detail.join("\n")),
                outcome_class(o)
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("<tr class=\"conf-total\"><td><strong>Passed</strong></td><td></td>");
    for e in &engines {
        let (p, n) = passed.get(e.name.as_str()).copied().unwrap_or_default();
        let _ = write!(h, "<td><strong>{p}/{n}</strong></td>");
    }
    h.push_str(
        "</tr>\n</tbody>\n</table>\n\n<h2 id=\"engines\">Configurations measured</h2>\n<ul>\n",
    );
    for e in &c.engines {
        let state = if e.available {
            escape(&e.version)
        } else {
            format!(
                "not measured: {}",
                escape(e.reason.as_deref().unwrap_or("unavailable"))
            )
        };
        let _ = writeln!(
            h,
            "<li><strong>{}</strong>: {} ({state})</li>",
            escape(&e.name),
            escape(&e.description)
        );
    }
    h.push_str("</ul>\n");
    h
}
