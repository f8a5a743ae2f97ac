//! The fuzz targets of every parser of untrusted input ([`targets`]), the helpers they share,
//! and the replay of their stored inputs on stable ([`replay`]).
//!
//! A member of the repository's workspace, so the replay test (`fuzz/tests/replay.rs`) runs in
//! the ordinary test run with the same dependency builds. libFuzzer comes in only where
//! cargo-fuzz builds (`--cfg fuzzing`, see `Cargo.toml`): `cargo +nightly fuzz run passwd`.

pub mod replay;
pub mod targets;

/// libFuzzer's Rust side, for [`fuzz_target!`]; only in builds by cargo-fuzz.
#[cfg(fuzzing)]
pub use libfuzzer_sys;

/// The whole of a target's binary, `fuzz_targets/NAME.rs`:
///
/// ```ignore
/// #![cfg_attr(fuzzing, no_main)]
/// locald_fuzz::fuzz_target!(passwd);
/// ```
///
/// Built by cargo-fuzz (`--cfg fuzzing`) it is libFuzzer's target,
/// `libfuzzer_sys::fuzz_target!(|data: &[u8]| locald_fuzz::targets::passwd(data))`. Built
/// otherwise (the workspace's stable builds) it is a program that replays the files or
/// directories it is given, or the target's stored inputs ([`replay::main`]):
/// `cargo run -p locald-fuzz --bin passwd -- fuzz/artifacts/passwd/crash-...`.
#[macro_export]
macro_rules! fuzz_target {
    ($name:ident) => {
        #[cfg(fuzzing)]
        $crate::libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::targets::$name(data));

        #[cfg(not(fuzzing))]
        fn main() -> std::process::ExitCode {
            $crate::replay::main(stringify!($name), $crate::targets::$name)
        }
    };
}

/// Cut `data` into at most `n` parts at the byte 0xFF, which never occurs in UTF-8, so that
/// every part can still be any UTF-8 text (NUL and newlines included). `None` when a part is not
/// UTF-8: the parsers under test take `&str`, and the engine refuses non-UTF-8 files before
/// parsing (a test of `prepare` covers that).
pub fn parts(data: &[u8], n: usize) -> Option<Vec<&str>> {
    let mut out = Vec::with_capacity(n);
    for part in data.splitn(n, |&b| b == 0xFF) {
        out.push(std::str::from_utf8(part).ok()?);
    }
    while out.len() < n {
        out.push("");
    }
    Some(out)
}

/// The number of lines a text has as a chapter reader counts them (1 for empty text).
pub fn line_count(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count() + 1
}

/// A small deterministic choice from the input: the sum of its bytes.
pub fn pick(data: &[u8]) -> u32 {
    data.iter()
        .fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
}
