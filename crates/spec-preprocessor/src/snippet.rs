//! `{{#snippet FILE}}` and `{{#snippet FILE:ANCHOR}}`: embed repository source in a chapter.
//! Unlike mdBook's `{{#include}}`, a missing file or anchor is an error naming the chapter line.

use anyhow::{Context, bail};
use locald_spec_core::Project;
use locald_spec_core::parse::line_of;

const OPEN: &str = "{{#snippet ";

/// Replaces every snippet directive in `content` with a fenced code block.
pub fn expand(project: &Project, chapter_file: &str, content: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    let mut consumed = 0;
    while let Some(start) = rest.find(OPEN) {
        let Some(len) = rest[start..].find("}}") else {
            let line = line_of(content, consumed + start);
            bail!("{chapter_file}:{line}: unterminated {{{{#snippet ...}}}} directive");
        };
        let arg = rest[start + OPEN.len()..start + len].trim();
        let line = line_of(content, consumed + start);
        out.push_str(&rest[..start]);
        out.push_str(
            &render(project, arg)
                .with_context(|| format!("{chapter_file}:{line}: snippet `{arg}`"))?,
        );
        consumed += start + len + 2;
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn render(project: &Project, arg: &str) -> anyhow::Result<String> {
    let (file, anchor) = match arg.rsplit_once(':') {
        Some((f, a)) => (f, Some(a)),
        None => (arg, None),
    };
    let path = project.root.join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {file}"))?;
    let body = match anchor {
        None => text.clone(),
        Some(a) => extract(&text, a)
            .with_context(|| format!("{file} has no `ANCHOR: {a}` ... `ANCHOR_END: {a}` region"))?,
    };
    let lang = match path.extension().and_then(|e| e.to_str()) {
        Some("rs") => "rust,noplayground",
        Some("toml") => "toml",
        Some("sh") => "sh",
        Some("json") => "json",
        _ => "text",
    };
    let body: String = body
        .lines()
        .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
        .map(|l| format!("{l}\n"))
        .collect();
    Ok(format!("```{lang}\n{body}```"))
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, if both exist.
pub fn extract(text: &str, anchor: &str) -> Option<String> {
    let is = |l: &str, tag: &str| {
        l.split_once(tag)
            .is_some_and(|(_, rest)| rest.trim().trim_end_matches("-->").trim() == anchor)
    };
    let mut lines = text.lines();
    lines.by_ref().find(|l| is(l, "ANCHOR:"))?;
    let mut body = Vec::new();
    for l in lines {
        if is(l, "ANCHOR_END:") {
            return Some(body.join("\n"));
        }
        body.push(l);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_anchored_regions_only_when_closed() {
        let t = "a\n// ANCHOR: x\nb\nc\n// ANCHOR_END: x\nd\n// ANCHOR: open\ne\n";
        assert_eq!(extract(t, "x").as_deref(), Some("b\nc"));
        assert_eq!(extract(t, "open"), None);
        assert_eq!(extract(t, "missing"), None);
    }

    #[test]
    fn a_missing_target_fails_loudly_with_the_chapter_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("book.toml"), "[book]\nsrc = \"book/src\"\n").unwrap();
        std::fs::write(
            dir.path().join("x.rs"),
            "// ANCHOR: a\nfn a() {}\n// ANCHOR_END: a\n",
        )
        .unwrap();
        let project = Project::at(dir.path()).unwrap();
        let ok = expand(&project, "book/src/c.md", "# T\n\n{{#snippet x.rs:a}}\n").unwrap();
        assert_eq!(ok, "# T\n\n```rust,noplayground\nfn a() {}\n```\n");
        let err = expand(&project, "book/src/c.md", "# T\n\n{{#snippet x.rs:b}}\n").unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("book/src/c.md:3: snippet `x.rs:b`"),
            "{msg}"
        );
        assert!(msg.contains("no `ANCHOR: b`"), "{msg}");
        let err = expand(&project, "book/src/c.md", "{{#snippet nope.rs}}").unwrap_err();
        assert!(format!("{err:#}").contains("cannot read nope.rs"));
    }
}
