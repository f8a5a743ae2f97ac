//! Helpers shared by the fuzz targets: how one fuzzer input is cut into the several strings a
//! target needs, and the small checks several targets make.

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
