//! `{{#locald-spec bibliography}}`: every source the requirements cite, grouped by kind of
//! source, each address once with what was cited from it and by which requirements.

use crate::Page;
use crate::html::{escape, inline_markdown};
use locald_spec_core::SourceKind;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The heading of a kind of source.
pub fn kind_title(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Posix => "POSIX.1 (The Open Group Base Specifications)",
        SourceKind::Linux => "Linux kernel and man pages",
        SourceKind::OciRuntime => "OCI Runtime Specification",
        SourceKind::OciImage => "OCI Image Specification",
        SourceKind::Docker => "Docker (Moby)",
        SourceKind::Podman => "Podman and containers/common",
        SourceKind::Containerd => "containerd",
        SourceKind::Cnb => "Cloud Native Buildpacks",
        SourceKind::Glibc => "The GNU C Library",
        SourceKind::Fhs => "Filesystem Hierarchy Standard",
        SourceKind::Other => "Other sources",
    }
}

/// The anchor of a kind's section on the bibliography page.
pub fn kind_anchor(kind: SourceKind) -> String {
    format!("source-{}", kind.as_str())
}

/// One cited address: what was cited from it, each with the citing requirements.
type Cites<'a> = BTreeMap<&'a str, Vec<(&'a str, &'a str)>>;

/// The bibliography.
pub fn bibliography(page: &Page<'_>) -> String {
    // kind → url → cite text → [(id, chapter)], in book order of requirements.
    let mut by_kind: BTreeMap<SourceKind, BTreeMap<&str, Cites<'_>>> = BTreeMap::new();
    for r in &page.report.requirements {
        for p in &r.provenance {
            let citing = by_kind
                .entry(p.source)
                .or_default()
                .entry(p.url.as_str())
                .or_default()
                .entry(p.cite.as_str())
                .or_default();
            if !citing.iter().any(|(id, _)| *id == r.id) {
                citing.push((&r.id, &r.chapter));
            }
        }
    }
    let addresses: usize = by_kind.values().map(BTreeMap::len).sum();
    let mut h = format!(
        "{addresses} source addresses cited by {} requirements.\n\n",
        page.report.requirements.len()
    );
    for (kind, urls) in &by_kind {
        let _ = writeln!(
            h,
            "## {} {{#{}}}\n\n<ul class=\"req-bibliography\" data-source=\"{}\">",
            kind_title(*kind),
            kind_anchor(*kind),
            kind.as_str()
        );
        for (url, cites) in urls {
            let _ = write!(
                h,
                "<li><a class=\"bib-url\" href=\"{}\">{}</a><ul>",
                escape(url),
                escape(display_url(url))
            );
            for (cite, citing) in cites {
                let links: Vec<String> = citing
                    .iter()
                    .map(|(id, chapter)| {
                        format!(
                            "<a href=\"{}\"><code>{}</code></a>",
                            escape(&page.link_to(chapter, id)),
                            escape(id)
                        )
                    })
                    .collect();
                let _ = write!(
                    h,
                    "<li><span class=\"bib-cite\">{}</span> — cited by {}</li>",
                    inline_markdown(cite),
                    links.join(", ")
                );
            }
            h.push_str("</ul></li>\n");
        }
        h.push_str("</ul>\n\n");
    }
    h
}

/// An address as shown: without its scheme.
fn display_url(url: &str) -> &str {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn each_address_is_listed_once_with_its_cites_and_citing_requirements() {
        let (_dir, project, report, history) = fixture::report();
        let page = Page {
            project: &project,
            report: &report,
            history: &history,
            file: "book/src/sources.md",
            depth: 0,
        };
        let h = bibliography(&page);
        assert!(
            h.starts_with("3 source addresses cited by 3 requirements."),
            "{h}"
        );
        assert_eq!(
            h.matches("href=\"https://example.org/getpwuid.html\"")
                .count(),
            1
        );
        assert!(
            h.contains("XSH getpwuid()</span> — cited by <a href=\"a.html#req-a.one\"><code>a.one</code></a></li>"),
            "{h}"
        );
        assert!(
            h.contains(
                "XSH getpwuid(), RETURN VALUE</span> — cited by <a href=\"a.html#req-a.two\">"
            ),
            "{h}"
        );
        // Kinds in the book's order, each a heading with a stable anchor.
        let posix = h.find("## POSIX.1").unwrap();
        let linux = h.find("## Linux kernel").unwrap();
        let other = h.find("## Other sources {#source-other}").unwrap();
        assert!(posix < linux && linux < other, "{h}");
        assert!(!h.contains("## Docker"), "kinds nobody cites are left out");
    }
}
