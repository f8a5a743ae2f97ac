//! A chapter of the book (`parse::parse_chapter` on any Markdown): never a panic; every problem
//! and every requirement at a line the chapter has; each requirement's ID well-formed; a
//! chapter's requirements found again in the same text with the block ranges inside it.

use locald_spec_core::model::is_valid_id;
use locald_spec_core::parse::{find_blocks, parse_chapter};

/// The `book_markdown` fuzz target: panics on a defect.
pub fn book_markdown(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (reqs, problems) = parse_chapter("book/src/fuzz.md", "fuzz", text);
    let lines = crate::line_count(text);
    for p in &problems {
        assert!(p.line >= 1 && p.line <= lines, "{p:?} in {lines} lines");
    }
    for r in &reqs {
        assert!(
            r.line >= 1 && r.line <= lines,
            "{} at {} of {lines}",
            r.id,
            r.line
        );
        assert!(is_valid_id(&r.id), "{}", r.id);
        assert!(!r.provenance.is_empty());
    }
    let blocks = find_blocks(text);
    assert!(reqs.len() <= blocks.len());
    for b in &blocks {
        assert!(b.range.start <= b.range.end && b.range.end <= text.len());
        assert!(text.is_char_boundary(b.range.start) && text.is_char_boundary(b.range.end));
        assert_eq!(
            locald_spec_core::parse::line_of(text, b.range.start),
            b.fence_line
        );
    }
}
