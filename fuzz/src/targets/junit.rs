//! The JUnit report nextest writes (`evidence::parse_junit`): never a panic, a refusal names the
//! report; and a report written from any parsed results (attribute values escaped as XML asks)
//! parses back to the same results.

use locald_spec_core::Outcome;
use locald_spec_core::evidence::parse_junit;

const FILE: &str = "target/nextest/ci/junit.xml";

/// `s` as an XML attribute value between double quotes: markup characters escaped by
/// quick-xml (the parser's own crate), and the white space that attribute-value normalization
/// would fold to a space as character references.
fn attr(s: &str) -> String {
    quick_xml::escape::escape(s)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// The `junit` fuzz target: panics on a defect.
pub fn junit(data: &[u8]) {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let results = match parse_junit(FILE, xml) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.to_string().starts_with(FILE), "{e}");
            return;
        }
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for r in &results {
        out.push_str(&format!(
            "<testsuite name=\"{0}\"><testcase name=\"{1}\" classname=\"{0}\">",
            attr(&r.test.binary),
            attr(&r.test.name)
        ));
        match r.outcome {
            Outcome::Failed => out.push_str("<failure type=\"test failure\">x</failure>"),
            Outcome::Skipped => out.push_str("<skipped/>"),
            _ => {}
        }
        out.push_str("</testcase></testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    let again = parse_junit(FILE, &out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(again, results, "{out}");
}
