//! Problems: every defect the checker can find, with where it is.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of defect a [`Problem`] is. The kebab-case names are the `kind` field of the JSON
/// report and are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A requirement block is not valid YAML or not a mapping.
    MalformedBlock,
    /// An ID that is not dotted lower-case.
    BadId,
    /// Two blocks define the same ID.
    DuplicateId,
    /// A chapter file is not UTF-8 (reported at its first invalid byte).
    BadEncoding,
    /// A key the block format does not define.
    UnknownKey,
    /// A required key is absent or empty.
    MissingKey,
    /// `provenance` has no entry.
    EmptyProvenance,
    /// A provenance entry is malformed (unknown source, empty cite, bad url).
    BadProvenance,
    /// `level` is not MUST, SHOULD or MAY.
    BadLevel,
    /// Code or a test names an ID the book does not define.
    UnknownId,
    /// A link attribute is malformed (no ID, not a string literal).
    BadLink,
    /// A requirement has no implementing item.
    Unimplemented,
    /// A requirement has no linked test, or its tests did not run.
    Untested,
    /// A linked test failed or was skipped.
    Failing,
    /// The evidence predates a change to the sources it covers.
    Stale,
    /// No evidence file: nothing ran in this pipeline.
    NoEvidence,
    /// A snippet directive points at a file or anchor that does not exist.
    MissingSnippet,
    /// A Rust source file could not be parsed while scanning for links.
    UnparsableSource,
    /// The requirement's text changed since its links were last confirmed (the lock file).
    Suspect,
    /// A requirement is implemented only outside its chapter's module (or a home list entry
    /// is unused): see [`crate::placement`].
    Misplaced,
}

impl ProblemKind {
    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::MalformedBlock => "malformed-block",
            ProblemKind::BadId => "bad-id",
            ProblemKind::DuplicateId => "duplicate-id",
            ProblemKind::BadEncoding => "bad-encoding",
            ProblemKind::UnknownKey => "unknown-key",
            ProblemKind::MissingKey => "missing-key",
            ProblemKind::EmptyProvenance => "empty-provenance",
            ProblemKind::BadProvenance => "bad-provenance",
            ProblemKind::BadLevel => "bad-level",
            ProblemKind::UnknownId => "unknown-id",
            ProblemKind::BadLink => "bad-link",
            ProblemKind::Unimplemented => "unimplemented",
            ProblemKind::Untested => "untested",
            ProblemKind::Failing => "failing",
            ProblemKind::Stale => "stale",
            ProblemKind::NoEvidence => "no-evidence",
            ProblemKind::MissingSnippet => "missing-snippet",
            ProblemKind::UnparsableSource => "unparsable-source",
            ProblemKind::Suspect => "suspect",
            ProblemKind::Misplaced => "misplaced",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One defect, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The requirement concerned, when there is one.
    pub id: Option<String>,
    /// The file at fault, relative to the repository root.
    pub file: String,
    /// The 1-based line at fault (0 when the whole file is meant).
    pub line: usize,
    /// A sentence a person can act on.
    pub message: String,
}

impl Problem {
    /// Builds a problem.
    pub fn new(
        kind: ProblemKind,
        id: Option<&str>,
        file: &str,
        line: usize,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            kind,
            id: id.map(str::to_owned),
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: ", self.file, self.line, self.kind)?;
        if let Some(id) = &self.id {
            write!(f, "[{id}] ")?;
        }
        f.write_str(&self.message)
    }
}
