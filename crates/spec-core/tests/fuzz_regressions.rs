//! Regressions found by fuzzing (`fuzz/`, `ci/fuzz`): each test is named after the bug.

use locald_spec_core::parse::parse_chapter;

/// Found by the `book_markdown` target: a requirement block left open at the end of a chapter
/// with no final newline, whose YAML is malformed on its last line, was reported at line 4 of
/// a 3-line chapter ("could not find expected ':' at line 4"), past the chapter's end.
#[test]
fn a_yaml_error_at_the_end_of_an_unclosed_block_names_a_line_of_the_chapter() {
    let text = "```requirement\nid: a.b\nfoo";
    let (reqs, problems) = parse_chapter("book/src/x.md", "x", text);
    assert!(reqs.is_empty());
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.line, 3, "{p:?}");
    assert!(!p.message.contains("line 4"), "{}", p.message);
    assert_eq!(p.id.as_deref(), Some("a.b"));
    // A closed block keeps its line: the error at the end of the body is at the closing fence.
    let (_, problems) = parse_chapter("book/src/x.md", "x", "```requirement\nid: a.b\nfoo\n```\n");
    assert_eq!(problems[0].line, 4, "{problems:?}");
}
