//! Requirement boxes: each ```` ```requirement ```` block of a chapter becomes the rendered
//! requirement with its evidence.

use crate::Page;
use crate::html::{escape, inline_markdown};
use locald_spec_core::parse::find_blocks;
use locald_spec_core::{Outcome, ProblemKind, RequirementReport, Status};
use std::fmt::Write;

/// The HTML anchor of a requirement: `req-` and its ID.
pub fn anchor(id: &str) -> String {
    format!("req-{id}")
}

/// Replaces the requirement blocks of one chapter. Blocks are matched to the report by the line
/// of their opening fence, so this must run on the chapter text as it is on disk.
pub fn expand(page: &Page<'_>, content: &str) -> String {
    let blocks = find_blocks(content);
    if blocks.is_empty() {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len() * 2);
    let mut at = 0;
    for b in blocks {
        out.push_str(&content[at..b.range.start]);
        let found = page
            .report
            .requirements
            .iter()
            .find(|r| r.file == page.file && r.line == b.fence_line);
        match found {
            Some(r) => out.push_str(&render(page, r)),
            None => {
                let _ = writeln!(
                    out,
                    "<div class=\"requirement req-malformed\"><strong>Malformed requirement block</strong> \
                     at {}:{}: see the problems reported by <code>locald-spec check</code>.</div>",
                    escape(page.file),
                    b.fence_line
                );
            }
        }
        at = b.range.end;
    }
    out.push_str(&content[at..]);
    out
}

fn outcome_mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "✔",
        Outcome::Failed => "✘",
        Outcome::Skipped => "⊘",
        Outcome::NotRun => "…",
    }
}

/// A link to `file:line` in the repository browser, or the bare location without one.
fn source_link(page: &Page<'_>, file: &str, line: usize, end: Option<usize>) -> String {
    let label = format!("{file}:{line}");
    match &page.project.repository_url {
        Some(base) => {
            let frag = match end {
                Some(e) if e > line => format!("#L{line}-L{e}"),
                _ => format!("#L{line}"),
            };
            // GitHub shows line anchors of Markdown only in its plain view.
            let plain = if file.ends_with(".md") {
                "?plain=1"
            } else {
                ""
            };
            format!(
                "<a href=\"{}/{}{plain}{}\">{}</a>",
                escape(base),
                escape(file),
                frag,
                escape(&label)
            )
        }
        None => format!("<code>{}</code>", escape(&label)),
    }
}

/// The requirement's probe results per engine configuration, or nothing when the probe has not
/// run or does not observe this requirement.
fn conformance_row(page: &Page<'_>, id: &str) -> String {
    let Some(c) = &page.report.conformance else {
        return String::new();
    };
    let mut h = String::new();
    for e in c.engines.iter().filter(|e| e.available) {
        let results: Vec<_> = c
            .for_requirement(id)
            .filter(|r| r.engine == e.name)
            .collect();
        if results.is_empty() {
            continue;
        }
        let outcome = crate::engines::combined(&results);
        let detail: Vec<String> = results
            .iter()
            .map(|r| format!("{}: {}", r.check, r.detail))
            .collect();
        let _ = write!(
            h,
            "<li class=\"conf-{c}\" title=\"{}\"><span class=\"req-outcome\">{o}</span> {}</li>",
            escape(&detail.join("\n")),
            escape(&e.name),
            o = crate::engines::outcome_str(outcome),
            c = crate::engines::outcome_class(outcome),
        );
    }
    if h.is_empty() {
        return String::new();
    }
    format!(
        "<div class=\"req-conformance\"><strong>Conformance</strong> (probe inside the container)<ul>{h}</ul></div>\n"
    )
}

/// Escapes source for a `<pre>` inside the box. A blank line would end the HTML block in
/// Markdown and spill the rest of the box as text, so empty lines hold an empty element.
fn pre_lines(source: &str) -> String {
    source
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                "<span></span>".to_owned()
            } else {
                escape(l)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What happened to a requirement since the last release, when there is one: "new" or
/// "changed", with the release's name.
fn since_last_release(page: &Page<'_>, id: &str) -> Option<(&'static str, String)> {
    let unreleased = page.history.releases.first()?;
    let since = unreleased.since.clone()?;
    let d = &unreleased.diff;
    if d.added.iter().any(|a| a == id) {
        Some(("new", since))
    } else if d.changed.iter().any(|c| c.id == id) {
        Some(("changed", since))
    } else {
        None
    }
}

/// The head: the ID as a heading (so that mdBook's search indexes each requirement as its own
/// section, titled by its ID, and links results to its anchor), the badges and the copy-link
/// control (shown by `spec.js`, since it needs JavaScript; its label is CSS, which keeps it out
/// of the search index). The heading's first child is not a
/// link, which keeps requirements out of mdBook's per-page table of contents.
fn head(page: &Page<'_>, r: &RequirementReport) -> String {
    let id = escape(&r.id);
    let a = escape(&anchor(&r.id));
    let level = r.level.as_str();
    let status = r.status.as_str();
    let mut h = format!(
        "<div class=\"req-head\"><h4 class=\"req-title\" id=\"{a}\"><span class=\"req-id\"><a href=\"#{a}\" title=\"Permanent link to this requirement\">{id}</a></span></h4> \
         <span class=\"req-level level-{}\">{level}</span> \
         <span class=\"req-status status-{status}\" title=\"{}\">{status}</span>",
        level.to_lowercase(),
        escape(status_meaning(r.status))
    );
    for p in page
        .report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Suspect && p.id.as_deref() == Some(&r.id))
    {
        let _ = write!(
            h,
            " <span class=\"req-suspect\" title=\"{}\">suspect</span>",
            escape(&p.message)
        );
    }
    if let Some((what, since)) = since_last_release(page, &r.id) {
        let _ = write!(
            h,
            " <a class=\"req-since\" href=\"{}\">{what} since {}</a>",
            escape(&page.link_to_page(&format!(
                "changelog.html#{}",
                crate::changelog::release_anchor(locald_spec_core::history::UNRELEASED)
            ))),
            escape(&since)
        );
    }
    let _ = write!(
        h,
        " <button type=\"button\" class=\"req-copy\" data-anchor=\"{a}\" title=\"Copy a link to this requirement\" aria-label=\"Copy a link to this requirement\" hidden></button></div>"
    );
    h
}

/// What a status means, for the badge's tooltip.
fn status_meaning(s: Status) -> &'static str {
    match s {
        Status::Verified => {
            "implemented, and every linked test ran and passed against the current sources"
        }
        Status::Unimplemented => "no item of the reference code implements it",
        Status::Untested => "no linked test, or a linked test did not run",
        Status::Failing => "a linked test failed or was skipped",
        Status::Stale => "the tests passed, but a file they cover changed afterwards",
    }
}

/// Up to this many tests, the list shows open.
const OPEN_TESTS: usize = 6;

/// The tests as a list under a summary line that counts the outcomes.
fn tests(page: &Page<'_>, r: &RequirementReport) -> String {
    if r.tests.is_empty() {
        return "<div class=\"req-tests req-missing\"><strong>Tests</strong>: none</div>\n".into();
    }
    let passed = r
        .tests
        .iter()
        .filter(|t| t.outcome == Outcome::Passed)
        .count();
    // A short list is open; a long one is summed up until asked for (it is open on paper).
    let open = if r.tests.len() <= OPEN_TESTS {
        " open"
    } else {
        ""
    };
    let mut h = format!(
        "<details class=\"req-tests\"{open}><summary><strong>Tests</strong>: {passed} of {} passed</summary><ul>\n",
        r.tests.len()
    );
    for t in &r.tests {
        let o = t.outcome.as_str();
        let _ = writeln!(
            h,
            "<li class=\"outcome-{o}\"><span class=\"req-outcome\">{} {o}</span> <code class=\"req-test\">{}</code> <span class=\"req-test-where\">{} · {}</span></li>",
            outcome_mark(t.outcome),
            escape(&t.name),
            escape(&t.binary),
            source_link(page, &t.file, t.line, None)
        );
    }
    h.push_str("</ul></details>\n");
    h
}

/// Renders one requirement as HTML.
pub fn render(page: &Page<'_>, r: &RequirementReport) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<div class=\"requirement status-{s}\" data-id=\"{}\" data-level=\"{}\" data-status=\"{s}\">",
        escape(&r.id),
        r.level.as_str(),
        s = r.status.as_str()
    );
    let _ = writeln!(h, "{}", head(page, r));
    let _ = writeln!(
        h,
        "<p class=\"req-action\">{}</p>",
        inline_markdown(&r.action)
    );
    if let Some(why) = &r.rationale {
        let _ = writeln!(
            h,
            "<p class=\"req-rationale\"><strong>Rationale.</strong> {}</p>",
            inline_markdown(why)
        );
    }
    h.push_str("<div class=\"req-provenance\"><strong>Provenance</strong><ul>\n");
    for p in &r.provenance {
        let _ = writeln!(
            h,
            "<li><a class=\"req-source source-{0}\" href=\"{1}\" title=\"{2}\">{0}</a> <a class=\"req-cite\" href=\"{3}\">{4}</a></li>",
            p.source.as_str(),
            escape(&page.link_to_page(&format!(
                "bibliography.html#{}",
                crate::bibliography::kind_anchor(p.source)
            ))),
            escape(crate::bibliography::kind_title(p.source)),
            escape(&p.url),
            inline_markdown(&p.cite)
        );
    }
    h.push_str("</ul></div>\n");
    if r.implementations.is_empty() {
        h.push_str(
            "<div class=\"req-impl req-missing\"><strong>Implementation</strong>: none</div>\n",
        );
    }
    // Collapsed: the action and its sources come first; the code is one click away, and
    // opened for printing (spec.css, spec.js).
    for i in &r.implementations {
        let lines = i.source.lines().count();
        let _ = writeln!(
            h,
            "<details class=\"req-impl\"><summary><strong>Implementation</strong> <code>{}</code> — {} ({lines} line{})</summary>\n\
             <pre><code class=\"language-rust noplayground\">{}</code></pre></details>",
            escape(&i.item),
            source_link(page, &i.file, i.line, Some(i.end_line)),
            if lines == 1 { "" } else { "s" },
            pre_lines(&i.source)
        );
    }
    h.push_str(&tests(page, r));
    h.push_str(&conformance_row(page, &r.id));
    if !r.reasons.is_empty() {
        h.push_str("<div class=\"req-reasons\"><strong>Not verified</strong><ul>\n");
        for why in &r.reasons {
            let _ = writeln!(h, "<li>{}</li>", escape(why));
        }
        h.push_str("</ul></div>\n");
    }
    let _ = writeln!(
        h,
        "<p class=\"req-meta\">Defined in {} · fingerprint <code title=\"digest of the ID, level, action and provenance, confirmed in spec.lock\">{}</code></p>",
        source_link(page, &r.file, r.line, None),
        escape(&r.fingerprint)
    );
    h.push_str("</div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use locald_spec_core::Problem;
    use locald_spec_core::diff::{Change, Diff};
    use locald_spec_core::history::{Changelog, Release, UNRELEASED};

    #[test]
    fn the_head_is_a_searchable_heading_with_badges_and_a_copy_control() {
        let (_dir, project, mut report, _) = fixture::report();
        report.problems.push(Problem::new(
            ProblemKind::Suspect,
            Some("a.one"),
            "book/src/a.md",
            3,
            "links of `a.one` are suspect",
        ));
        let history = Changelog {
            releases: vec![Release {
                name: UNRELEASED.into(),
                date: None,
                since: Some("v0.1.0".into()),
                diff: Diff {
                    changed: vec![Change {
                        id: "a.one".into(),
                        text_changed: true,
                        ..Change::default()
                    }],
                    ..Diff::default()
                },
            }],
            unavailable: None,
        };
        let page = Page {
            project: &project,
            report: &report,
            history: &history,
            file: "book/src/a.md",
            depth: 0,
        };
        let one = render(&page, report.get("a.one").unwrap());
        assert!(
            one.contains("<h4 class=\"req-title\" id=\"req-a.one\"><span class=\"req-id\"><a href=\"#req-a.one\""),
            "{one}"
        );
        assert!(one.contains("<span class=\"req-level level-must\">MUST</span>"));
        assert!(one.contains(
            "<span class=\"req-suspect\" title=\"links of `a.one` are suspect\">suspect</span>"
        ));
        assert!(one.contains("<a class=\"req-since\" href=\"changelog.html#release-unreleased\">changed since v0.1.0</a>"));
        assert!(one.contains("class=\"req-copy\" data-anchor=\"req-a.one\""));
        assert!(one.contains("hidden></button>"), "shown by spec.js only");
        assert!(one.contains(
            "<a class=\"req-source source-posix\" href=\"bibliography.html#source-posix\""
        ));
        assert!(
            !one.contains("\n\n"),
            "a blank line would end the HTML block"
        );
        let two = render(&page, report.get("a.two").unwrap());
        assert!(
            !two.contains("req-suspect") && !two.contains("req-since"),
            "{two}"
        );
    }

    #[test]
    fn boxes_hold_no_blank_line() {
        let html = pre_lines("fn a() {\n\n    1 < 2;\n}");
        assert_eq!(html, "fn a() {\n<span></span>\n    1 &lt; 2;\n}");
        assert!(!html.contains("\n\n"));
    }
}
