//! `cargo +nightly fuzz run resolv_conf`: the body is `locald_fuzz::targets::resolv_conf` (src/targets/resolv_conf.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(resolv_conf);
