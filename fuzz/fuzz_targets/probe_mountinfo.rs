//! `cargo +nightly fuzz run probe_mountinfo`: the body is `locald_fuzz::targets::probe_mountinfo` (src/targets/probe_mountinfo.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(probe_mountinfo);
