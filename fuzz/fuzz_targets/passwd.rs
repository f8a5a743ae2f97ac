//! `cargo +nightly fuzz run passwd`: the body is `locald_fuzz::targets::passwd` (src/targets/passwd.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(passwd);
