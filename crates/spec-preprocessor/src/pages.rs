//! The page directives `{{#locald-spec NAME}}`: each is replaced by what its module renders. An
//! unknown name is an error naming the chapter line, not text left on the page.

use crate::Page;
use anyhow::bail;
use locald_spec_core::parse::line_of;

const OPEN: &str = "{{#locald-spec ";

/// The directive names, each with what it becomes.
pub const DIRECTIVES: [(&str, &str); 6] = [
    ("summary", "one line: how many requirements are verified"),
    ("matrix", "the traceability matrix, per chapter"),
    ("index", "every requirement in one filterable table"),
    (
        "conformance",
        "the engine comparison of the conformance probe",
    ),
    (
        "bibliography",
        "every cited source with the requirements citing it",
    ),
    ("changelog", "what each release added, removed and changed"),
];

/// Replaces the page directives in `content`.
pub fn expand(page: &Page<'_>, content: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut at = 0;
    while let Some(found) = content[at..].find(OPEN) {
        let start = at + found;
        let Some(len) = content[start..].find("}}") else {
            bail!(
                "{}:{}: unterminated {{{{#locald-spec ...}}}} directive",
                page.file,
                line_of(content, start)
            );
        };
        out.push_str(&content[at..start]);
        let name = content[start + OPEN.len()..start + len].trim();
        out.push_str(&match name {
            "summary" => crate::matrix::summary(page.report),
            "matrix" => crate::matrix::matrix(page),
            "index" => crate::index::index(page),
            "conformance" => crate::engines::conformance(page),
            "bibliography" => crate::bibliography::bibliography(page),
            "changelog" => crate::changelog::changelog(page),
            other => {
                let known: Vec<&str> = DIRECTIVES.iter().map(|d| d.0).collect();
                bail!(
                    "{}:{}: unknown directive {{{{#locald-spec {other}}}}} (known: {})",
                    page.file,
                    line_of(content, start),
                    known.join(", ")
                );
            }
        });
        at = start + len + 2;
    }
    out.push_str(&content[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn known_directives_expand_and_unknown_ones_fail_naming_the_line() {
        let (_dir, project, report, history) = fixture::report();
        let page = Page {
            project: &project,
            report: &report,
            history: &history,
            file: "book/src/x.md",
            depth: 0,
        };
        let out = expand(&page, "# X\n\n{{#locald-spec summary}}\n").unwrap();
        assert!(out.contains("**0 of 3** requirements verified"), "{out}");
        for (name, _) in DIRECTIVES {
            let out = expand(&page, &format!("{{{{#locald-spec {name}}}}}")).unwrap();
            assert!(!out.contains("{{#locald-spec"), "{name}: {out}");
        }
        let err = expand(&page, "# X\n\n\n{{#locald-spec matrx}}\n").unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("book/src/x.md:4: unknown directive {{#locald-spec matrx}}"),
            "{msg}"
        );
        assert!(msg.contains("matrix"), "{msg}");
        let err = expand(&page, "{{#locald-spec index").unwrap_err();
        assert!(format!("{err:#}").contains("x.md:1: unterminated"));
    }
}
