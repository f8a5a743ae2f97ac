//! Small HTML helpers.

/// Escapes text for HTML element content and attribute values (`&`, `<`, `>`, `"` and `'`:
/// pulldown-cmark's own escaping, the one its HTML renderer uses).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    pulldown_cmark_escape::escape_html(&mut out, s).expect("writing to a String cannot fail");
    out
}

/// Renders a short Markdown text (an action, a rationale, a cite) to inline HTML: the single
/// paragraph wrapper is dropped so that it can sit inside a sentence. HTML in the text is text:
/// `<uid>` or `/cnb/lifecycle/<phase>` in a sentence is a placeholder, not a tag (as a tag it
/// would be left unclosed in the page).
pub fn inline_markdown(md: &str) -> String {
    use pulldown_cmark::Event;
    let events = pulldown_cmark::Parser::new(md).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        e => e,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    let t = out.trim();
    match t.strip_prefix("<p>").and_then(|r| r.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn inline_markdown_drops_the_paragraph() {
        assert_eq!(
            inline_markdown("Write `/etc/passwd`."),
            "Write <code>/etc/passwd</code>."
        );
        assert!(inline_markdown("a\n\nb").contains("<p>a</p>"));
    }

    #[test]
    fn html_in_the_text_is_text() {
        assert_eq!(
            inline_markdown("the value of <app> (`<layers>`), then </app> <b>x</b>"),
            "the value of &lt;app&gt; (<code>&lt;layers&gt;</code>), then &lt;/app&gt; \
             &lt;b&gt;x&lt;/b&gt;"
        );
    }
}
