//! `cargo +nightly fuzz run book_markdown`: the body is `locald_fuzz::targets::book_markdown` (src/targets/book_markdown.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(book_markdown);
