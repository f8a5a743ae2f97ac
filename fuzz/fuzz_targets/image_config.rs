//! `cargo +nightly fuzz run image_config`: the body is `locald_fuzz::targets::image_config` (src/targets/image_config.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(image_config);
