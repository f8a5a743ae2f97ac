//! `cargo +nightly fuzz run requirement_block`: the body is `locald_fuzz::targets::requirement_block` (src/targets/requirement_block.rs).
#![cfg_attr(fuzzing, no_main)]
locald_fuzz::fuzz_target!(requirement_block);
