//! A requirement block's YAML (`parse::parse_chapter` on one fenced block): every problem at a
//! line of the chapter; an accepted requirement written back as a block (the spec-core API has
//! no writer: serde_yaml_ng writes the fields, in a fence longer than any backtick run in them)
//! parses to the same requirement with no problem.

use locald_spec_core::parse::parse_chapter;
use serde_yaml_ng::{Mapping, Value};

const FILE: &str = "book/src/fuzz.md";

/// A fence longer than every run of backticks in `body`.
fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// The `requirement_block` fuzz target: panics on a defect.
pub fn requirement_block(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let f = fence(body);
    let chapter = format!("# Fuzz\n\n{f}requirement\n{body}\n{f}\n");
    let (reqs, problems) = parse_chapter(FILE, "fuzz", &chapter);
    let lines = crate::line_count(&chapter);
    for p in &problems {
        assert!(p.line >= 1 && p.line <= lines, "{p:?} in {lines} lines");
        assert_eq!(p.file, FILE);
    }
    assert!(reqs.len() <= 1);
    let Some(r) = reqs.first() else {
        assert!(
            !problems.is_empty(),
            "a block that is no requirement is a problem"
        );
        return;
    };
    assert_eq!(r.line, 3);
    let mut m = Mapping::new();
    m.insert("id".into(), r.id.clone().into());
    m.insert("level".into(), r.level.as_str().into());
    m.insert("action".into(), r.action.clone().into());
    let prov: Vec<Value> = r
        .provenance
        .iter()
        .map(|p| {
            let mut e = Mapping::new();
            e.insert("source".into(), p.source.as_str().into());
            e.insert("cite".into(), p.cite.clone().into());
            e.insert("url".into(), p.url.clone().into());
            Value::Mapping(e)
        })
        .collect();
    m.insert("provenance".into(), Value::Sequence(prov));
    if let Some(rat) = &r.rationale {
        m.insert("rationale".into(), rat.clone().into());
    }
    let yaml = serde_yaml_ng::to_string(&Value::Mapping(m)).unwrap();
    let f = fence(&yaml);
    let again = format!("# Fuzz\n\n{f}requirement\n{yaml}{f}\n");
    let (reqs2, problems2) = parse_chapter(FILE, "fuzz", &again);
    assert!(problems2.is_empty(), "{problems2:?} in {again}");
    assert_eq!(reqs2.len(), 1, "{again}");
    assert_eq!(&reqs2[0], r, "{again}");
}
