//! Proves that link attributes are checked at compile time against the book: a defined ID
//! compiles, a typo or an undefined ID is an error naming it (and the closest defined ID).

#[test]
fn link_attributes_are_checked_against_the_book() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/known_id.rs");
    t.compile_fail("tests/ui/unknown_id.rs");
    t.compile_fail("tests/ui/typo_id.rs");
    t.compile_fail("tests/ui/no_id.rs");
    t.compile_fail("tests/ui/requirement_macro.rs");
    t.compile_fail("tests/ui/verifies_in_typo.rs");
    t.compile_fail("tests/ui/verifies_in_variant.rs");
}
