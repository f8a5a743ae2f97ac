//! `cargo +nightly fuzz run hosts`: the body is `locald_fuzz::targets::hosts` (src/targets/hosts.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(hosts);
