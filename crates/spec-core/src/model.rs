//! The requirement model: what one requirement block of the book says.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// How strongly a requirement binds an engine (RFC 2119 keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// An absolute requirement.
    #[serde(rename = "MUST")]
    Must,
    /// Recommended: an engine may deviate only for a documented reason.
    #[serde(rename = "SHOULD")]
    Should,
    /// Optional behaviour.
    #[serde(rename = "MAY")]
    May,
}

impl Level {
    /// The keyword as written in the book.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }

    /// Parses the keyword; only the upper-case RFC 2119 spelling is accepted.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "MUST" => Some(Level::Must),
            "SHOULD" => Some(Level::Should),
            "MAY" => Some(Level::May),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of primary source a provenance entry cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// POSIX.1 (The Open Group Base Specifications).
    Posix,
    /// The Linux kernel and its man pages.
    Linux,
    /// The OCI runtime specification.
    OciRuntime,
    /// The OCI image specification.
    OciImage,
    /// Docker (moby/moby) source.
    Docker,
    /// Podman (containers/podman, containers/common) source.
    Podman,
    /// containerd source.
    Containerd,
    /// The Cloud Native Buildpacks specification or lifecycle.
    Cnb,
    /// The GNU C library manual or source.
    Glibc,
    /// The Filesystem Hierarchy Standard.
    Fhs,
    /// Anything else (an RFC, a CVE, a man page outside Linux).
    Other,
}

impl SourceKind {
    /// Every kind, in the order the book lists them.
    pub const ALL: [SourceKind; 11] = [
        SourceKind::Posix,
        SourceKind::Linux,
        SourceKind::OciRuntime,
        SourceKind::OciImage,
        SourceKind::Docker,
        SourceKind::Podman,
        SourceKind::Containerd,
        SourceKind::Cnb,
        SourceKind::Glibc,
        SourceKind::Fhs,
        SourceKind::Other,
    ];

    /// The spelling used in requirement blocks.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Posix => "posix",
            SourceKind::Linux => "linux",
            SourceKind::OciRuntime => "oci-runtime",
            SourceKind::OciImage => "oci-image",
            SourceKind::Docker => "docker",
            SourceKind::Podman => "podman",
            SourceKind::Containerd => "containerd",
            SourceKind::Cnb => "cnb",
            SourceKind::Glibc => "glibc",
            SourceKind::Fhs => "fhs",
            SourceKind::Other => "other",
        }
    }

    /// Parses the block spelling.
    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cited primary source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// What kind of source it is.
    pub source: SourceKind,
    /// The section, man page or source path cited.
    pub cite: String,
    /// Where a reader finds it.
    pub url: String,
}

/// A requirement as the book defines it, with where it is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// Stable dotted ID, e.g. `identity.passwd.current-user`.
    pub id: String,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// The normative sentence: what the engine does.
    pub action: String,
    /// The cited sources, at least one.
    pub provenance: Vec<Provenance>,
    /// What breaks without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The chapter (book-relative Markdown path without `.md`).
    pub chapter: String,
    /// The Markdown file, relative to the repository root.
    pub file: String,
    /// The 1-based line of the opening fence.
    pub line: usize,
    /// A digest of the normative text; changes when the requirement does.
    pub fingerprint: String,
}

impl Requirement {
    /// Computes the fingerprint of the normative fields. Whitespace runs are folded so that
    /// re-wrapping a sentence does not make its links suspect; any change of words does.
    pub fn compute_fingerprint(
        id: &str,
        level: Level,
        action: &str,
        provenance: &[Provenance],
    ) -> String {
        let fold = fold_whitespace;
        let mut h = Sha256::new();
        for part in [id, level.as_str(), &fold(action)] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for p in provenance {
            for part in [p.source.as_str(), &fold(&p.cite), p.url.trim()] {
                h.update(part.as_bytes());
                h.update([0]);
            }
        }
        hex(&h.finalize()[..8])
    }
}

/// `s` with every run of white space made one space, and none at either end: re-wrapping a
/// sentence does not change it.
pub fn fold_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The form of a requirement ID, as a regular expression: two or more dot-separated segments,
/// each lower-case ASCII letters and digits, starting with a letter, with single inner hyphens.
/// The macros' build script embeds it, so that they check the form without this crate.
pub const ID_PATTERN: &str = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*)+$";

/// Whether `id` is a well-formed requirement ID ([`ID_PATTERN`]).
pub fn is_valid_id(id: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(ID_PATTERN).expect("static regex"))
        .is_match(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_need_two_lowercase_segments() {
        for ok in ["a.b", "identity.passwd.current-user", "fs.dev2.x-1"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in [
            "a", "A.b", "a..b", "a.b.", "a.-b", "a.b-", "a_b.c", "1a.b", "a.b c", "",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn fingerprint_ignores_wrapping_but_not_words() {
        let p = vec![Provenance {
            source: SourceKind::Posix,
            cite: "getpwuid".into(),
            url: "https://example.org".into(),
        }];
        let a = Requirement::compute_fingerprint("a.b", Level::Must, "The engine  writes\nit.", &p);
        let b = Requirement::compute_fingerprint("a.b", Level::Must, "The engine writes it.", &p);
        let c = Requirement::compute_fingerprint("a.b", Level::Must, "The engine reads it.", &p);
        let d = Requirement::compute_fingerprint("a.b", Level::Should, "The engine writes it.", &p);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn source_kinds_round_trip() {
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(SourceKind::parse("wikipedia"), None);
    }
}
