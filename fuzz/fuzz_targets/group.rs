//! `cargo +nightly fuzz run group`: the body is `locald_fuzz::targets::group` (src/targets/group.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(group);
