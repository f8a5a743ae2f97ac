//! `cargo +nightly fuzz run probe_proc`: the body is `locald_fuzz::targets::probe_proc` (src/targets/probe_proc.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(probe_proc);
