//! `cargo +nightly fuzz run user`: the body is `locald_fuzz::targets::user` (src/targets/user.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(user);
