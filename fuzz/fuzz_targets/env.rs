//! `cargo +nightly fuzz run env`: the body is `locald_fuzz::targets::env` (src/targets/env.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(env);
