//! Requirement boxes: each ```` ```requirement ```` block of a chapter becomes the rendered
//! requirement with its evidence.

use crate::Page;
use crate::html::{escape, inline_markdown};
use locald_spec_core::parse::find_blocks;
use locald_spec_core::{Outcome, RequirementReport, Status};
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

fn status_class(s: Status) -> &'static str {
    s.as_str()
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
            format!(
                "<a href=\"{}/{}{}\">{}</a>",
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
        let outcome = crate::pages::combined(&results);
        let detail: Vec<String> = results
            .iter()
            .map(|r| format!("{}: {}", r.check, r.detail))
            .collect();
        let _ = write!(
            h,
            "<li class=\"conf-{c}\" title=\"{}\"><span class=\"req-outcome\">{o}</span> {}</li>",
            escape(&detail.join("\n")),
            escape(&e.name),
            o = crate::pages::outcome_str(outcome),
            c = crate::pages::outcome_class(outcome),
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

/// Renders one requirement as HTML.
pub fn render(page: &Page<'_>, r: &RequirementReport) -> String {
    let id = escape(&r.id);
    let a = escape(&anchor(&r.id));
    let level = r.level.as_str();
    let status = status_class(r.status);
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<div class=\"requirement status-{status}\" id=\"{a}\" data-level=\"{level}\" data-status=\"{status}\">"
    );
    let _ = writeln!(
        h,
        "<div class=\"req-head\"><a class=\"req-id\" href=\"#{a}\" title=\"Link to this requirement\">{id}</a> \
         <span class=\"req-level level-{}\">{level}</span> \
         <span class=\"req-status status-{status}\">{status}</span></div>",
        level.to_lowercase()
    );
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
            "<li><span class=\"req-source source-{0}\">{0}</span> <a href=\"{1}\">{2}</a></li>",
            p.source.as_str(),
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
    for i in &r.implementations {
        let _ = writeln!(
            h,
            "<details class=\"req-impl\" open><summary><strong>Implementation</strong> <code>{}</code> — {}</summary>\n\
             <pre><code class=\"language-rust\">{}</code></pre></details>",
            escape(&i.item),
            source_link(page, &i.file, i.line, Some(i.end_line)),
            pre_lines(&i.source)
        );
    }
    h.push_str("<div class=\"req-tests\"><strong>Tests</strong>");
    if r.tests.is_empty() {
        h.push_str(": none");
    }
    h.push_str("<ul>\n");
    for t in &r.tests {
        let o = t.outcome.as_str();
        let _ = writeln!(
            h,
            "<li class=\"outcome-{o}\"><span class=\"req-outcome\">{} {o}</span> <code>{}</code> <code>{}</code> ({})</li>",
            outcome_mark(t.outcome),
            escape(&t.binary),
            escape(&t.name),
            source_link(page, &t.file, t.line, None)
        );
    }
    h.push_str("</ul></div>\n");
    h.push_str(&conformance_row(page, &r.id));
    if !r.reasons.is_empty() {
        h.push_str("<div class=\"req-reasons\"><strong>Not verified</strong><ul>\n");
        for why in &r.reasons {
            let _ = writeln!(h, "<li>{}</li>", escape(why));
        }
        h.push_str("</ul></div>\n");
    }
    h.push_str("</div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_hold_no_blank_line() {
        let html = pre_lines("fn a() {\n\n    1 < 2;\n}");
        assert_eq!(html, "fn a() {\n<span></span>\n    1 &lt; 2;\n}");
        assert!(!html.contains("\n\n"));
    }
}
