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
        "<div class=\"req-conformance-scroll\">\n<table class=\"req-conformance-matrix\">\n<thead><tr><th>Requirement</th><th>Level</th>",
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
        "</tr>\n</tbody>\n</table>\n</div>\n\n<h2 id=\"engines\">Configurations measured</h2>\n<ul>\n",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use locald_spec_core::conformance::{Conformance, Engine};

    fn engine(name: &str, available: bool) -> Engine {
        Engine {
            name: name.into(),
            description: format!("{name} runs the probe"),
            version: "1".into(),
            available,
            reason: (!available).then(|| "not installed".into()),
        }
    }

    fn result(engine: &str, outcome: Outcome) -> CheckResult {
        CheckResult {
            engine: engine.into(),
            id: "a.one".into(),
            check: "checks::a::one".into(),
            outcome,
            detail: format!("{engine} saw it"),
        }
    }

    /// One column per configuration that ran, in the file's order (`docker --init` included),
    /// inside a box that scrolls on its own when the columns do not fit; the totals count what
    /// applied; a configuration that did not run is listed with its reason.
    #[test]
    fn the_comparison_has_a_column_per_configuration_in_a_scrolling_box() {
        let (_dir, project, mut report, history) = fixture::report();
        report.conformance = Some(Conformance {
            generated_at: "2025-01-01T00:00:00Z".into(),
            engines: vec![
                engine("locald-root", true),
                engine("docker", true),
                engine("docker --init", true),
                engine("youki", false),
            ],
            results: vec![
                result("locald-root", Outcome::Pass),
                result("docker", Outcome::Fail),
                result("docker --init", Outcome::NotApplicable),
            ],
        });
        let page = Page {
            project: &project,
            report: &report,
            history: &history,
            file: "book/src/conformance.md",
            depth: 0,
        };
        let h = conformance(&page);
        assert!(
            h.starts_with("<p>Measured 2025-01-01T00:00:00Z.</p>\n<div class=\"req-conformance-scroll\">\n<table"),
            "{h}"
        );
        assert!(h.contains("</table>\n</div>"), "{h}");
        let heads: Vec<&str> = h
            .split("<th title=\"")
            .skip(1)
            .filter_map(|c| c.split_once("\">")?.1.split_once("</th>"))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(heads, ["locald-root", "docker", "docker --init"]);
        assert!(
            h.contains("<td class=\"conf-fail\" title=\"docker saw it\">fail</td>"),
            "{h}"
        );
        assert!(
            h.contains("<td><strong>1/1</strong></td><td><strong>0/1</strong></td><td><strong>0/0</strong></td>"),
            "{h}"
        );
        assert!(
            h.contains("<li><strong>youki</strong>: youki runs the probe (not measured: not installed)</li>"),
            "{h}"
        );
    }
}
