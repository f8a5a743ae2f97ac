//! `cargo +nightly fuzz run add_host`: the body is `locald_fuzz::targets::add_host` (src/targets/add_host.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(add_host);
