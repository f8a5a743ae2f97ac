//! `cargo +nightly fuzz run conformance`: the body is `locald_fuzz::targets::conformance` (src/targets/conformance.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(conformance);
