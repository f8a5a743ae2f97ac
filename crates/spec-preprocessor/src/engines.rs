//! `{{#locald-spec conformance}}`: the engine comparison (requirements × engine configurations
//! measured by the conformance probe), and the outcome helpers the boxes share.

use crate::Page;
use crate::html::escape;
use locald_spec_core::conformance::{CheckResult, Outcome};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One outcome for several checks of a requirement under one engine: fail if any failed, pass if
/// any passed, else not applicable.
pub fn combined(results: &[&CheckResult]) -> Outcome {
    if results.iter().any(|r| r.outcome == Outcome::Fail) {
        Outcome::Fail
    } else if results.iter().any(|r| r.outcome == Outcome::Pass) {
        Outcome::Pass
    } else {
        Outcome::NotApplicable
    }
}

/// The word shown for an outcome.
pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "n/a",
    }
}

/// The CSS class suffix of an outcome.
pub fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "not-applicable",
    }
}

/// The engine comparison: requirements × engine configurations, with totals.
pub fn conformance(page: &Page<'_>) -> String {
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
            if o != Outcome::NotApplicable {
                t.1 += 1;
                if o == Outcome::Pass {
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
