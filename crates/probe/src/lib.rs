//! The locald conformance probe and its runner.
//!
//! - [`checks`]: every requirement of the specification that is observable from inside a
//!   container, one file per chapter of the book, one function per check, each annotated with
//!   the requirement IDs it verifies (the registry is generated from those attributes).
//! - [`parse`]: the parsers for the files the checks read (mountinfo, status, passwd, hosts,
//!   resolv.conf, ...).
//! - [`conform`]: the runner that builds a rootfs around the static `locald-probe` binary and
//!   runs it under several engines (this engine rootful, rootless and with a private network,
//!   bare `runc spec`, Podman, Docker, youki).
//!
//! The probe binary prints one [`Finding`] per requirement a check covers; the runner writes a
//! [`locald_conformance::Conformance`]. Both types are `locald-conformance`'s, the one schema
//! the checker reads too. The probe shares no code with the engine it grades.
//!
//! ```
//! use locald_probe::{Finding, Outcome};
//! let f = Finding {
//!     id: "process.rlimits.nofile".into(),
//!     check: "checks::process::rlimit_nofile".into(),
//!     outcome: Outcome::Pass,
//!     detail: "soft 1024, hard 1024".into(),
//! };
//! assert_eq!(
//!     serde_json::to_string(&f).unwrap(),
//!     r#"{"id":"process.rlimits.nofile","check":"checks::process::rlimit_nofile","outcome":"pass","detail":"soft 1024, hard 1024"}"#
//! );
//! ```

#![warn(missing_docs)]

pub mod checks;
pub mod conform;
pub mod parse;

pub use locald_conformance::{Finding, Outcome};

include!(concat!(env!("OUT_DIR"), "/conformance_tests.rs"));

/// What `conformance_tests!` expands to names.
#[doc(hidden)]
pub mod __private {
    pub use locald_spec_macros::verifies;
}

/// A check's verdict: the outcome and what was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// What was observed, in one line.
    pub detail: String,
}

impl Verdict {
    /// A passing verdict.
    pub fn pass(detail: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Pass,
            detail: detail.into(),
        }
    }

    /// A failing verdict.
    pub fn fail(detail: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Fail,
            detail: detail.into(),
        }
    }

    /// A not-applicable verdict.
    pub fn not_applicable(detail: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::NotApplicable,
            detail: detail.into(),
        }
    }

    /// Pass with `detail` when `ok`, else fail with it.
    pub fn from_bool(ok: bool, detail: impl Into<String>) -> Verdict {
        if ok {
            Verdict::pass(detail)
        } else {
            Verdict::fail(detail)
        }
    }
}

/// Renders rows as a plain text table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["a", "bb"],
            &[
                vec!["xyz".into(), "1".into()],
                vec!["p".into(), "22".into()],
            ],
        );
        assert_eq!(t, "a    bb\n---  --\nxyz  1\np    22\n");
    }
}
