//! `cargo +nightly fuzz run junit`: the body is `locald_fuzz::targets::junit` (src/targets/junit.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(junit);
