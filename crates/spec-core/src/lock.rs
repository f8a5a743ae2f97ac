//! The lock file: the fingerprint of each requirement's normative text as it was when someone
//! last confirmed that its implementation and tests still match it. When the text changes, the
//! requirement's links become **suspect** until `locald-spec lock` records the new fingerprint.

use crate::parse::Registry;
use crate::problem::{Problem, ProblemKind};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file's name, at the repository root.
pub const LOCK_FILE: &str = "spec.lock";

/// Requirement ID → confirmed fingerprint.
pub type Lock = BTreeMap<String, String>;

/// Reads the lock file: one `id fingerprint` pair per line, `#` comments allowed. A missing file
/// is an empty lock.
pub fn read(path: &Path) -> std::io::Result<Option<Lock>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(parse(&text)))
}

/// Parses lock-file text.
pub fn parse(text: &str) -> Lock {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (id, fp) = l.split_once(char::is_whitespace)?;
            Some((id.to_owned(), fp.trim().to_owned()))
        })
        .collect()
}

/// Renders the lock for every requirement of `registry`, sorted by ID.
pub fn render(registry: &Registry) -> String {
    let mut out = String::from(
        "# Fingerprints of each requirement's normative text (id, level, action, provenance) as last\n\
         # confirmed against its implementation and tests. Update with `locald-spec lock` after review.\n",
    );
    let lock: Lock = registry
        .requirements
        .iter()
        .map(|r| (r.id.clone(), r.fingerprint.clone()))
        .collect();
    for (id, fp) in lock {
        out.push_str(&format!("{id} {fp}\n"));
    }
    out
}

/// One `suspect` problem per requirement whose text is not what the lock confirmed.
pub fn suspects(registry: &Registry, lock: &Lock) -> Vec<Problem> {
    registry
        .requirements
        .iter()
        .filter_map(|r| {
            let why = match lock.get(&r.id) {
                Some(fp) if *fp == r.fingerprint => return None,
                Some(fp) => format!("its text changed (fingerprint {fp} -> {})", r.fingerprint),
                None => "it is new and has never been confirmed".to_owned(),
            };
            Some(Problem::new(
                ProblemKind::Suspect,
                Some(&r.id),
                &r.file,
                r.line,
                format!(
                    "links of `{}` are suspect: {why}; check that its implementation and tests still match, then run `locald-spec lock`",
                    r.id
                ),
            ))
        })
        .collect()
}
