//! The conformance results of the locald Container Engine Specification, defined once.
//!
//! - [`Finding`]: one line of what the in-container probe (`locald-probe --json`) prints: a
//!   requirement, the check that observed it, the [`Outcome`] and what was seen.
//! - [`Conformance`]: the file the runner (`locald-conform`) writes: every [`Engine`]
//!   configuration asked for and one [`CheckResult`] per finding of each one that ran.
//!
//! The probe, the runner and the checker (`locald-spec-core`, which makes the results of this
//! engine's own configurations evidence and shows every engine's beside each requirement) all
//! use these types. The crate depends on serde alone: the probe is a static binary that must
//! stay small and share no code with the engine it grades.
//!
//! ```
//! use locald_conformance::{CheckResult, Finding, Outcome};
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
//! let row = CheckResult::new("locald-root", f);
//! assert!(serde_json::to_string(&row).unwrap().starts_with(r#"{"engine":"locald-root","id":"#));
//! ```
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The conformance file, relative to the repository root.
pub const CONFORMANCE_FILE: &str = "target/locald-spec/conformance.json";

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The requirement holds as observed.
    Pass,
    /// The requirement does not hold.
    Fail,
    /// The check does not apply to this container (it depends on a mode or an input the probe
    /// cannot see).
    NotApplicable,
}

impl Outcome {
    /// `pass`, `fail` or `not-applicable`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not-applicable",
        }
    }
}

/// One line of the probe's output: a requirement, the check that observed it, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The requirement ID.
    pub id: String,
    /// The check: its function's path in the probe (`checks::chapter::name`), as the spec's
    /// link scanner names it.
    pub check: String,
    /// The outcome.
    pub outcome: Outcome,
    /// What was observed, in one line.
    pub detail: String,
}

/// One engine configuration that was (or could not be) measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    /// Short name, e.g. `locald-root`, `runc-spec`, `podman`, `docker`.
    pub name: String,
    /// What runs the probe.
    pub description: String,
    /// The versions of the tools involved (empty when unavailable).
    pub version: String,
    /// Whether the configuration ran.
    pub available: bool,
    /// Why it is unavailable, or why its run produced no results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One finding of one engine configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The engine configuration's name.
    pub engine: String,
    /// The requirement ID.
    pub id: String,
    /// The probe's check, e.g. `checks::filesystems::proc_mount`.
    pub check: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What the probe observed.
    pub detail: String,
}

impl CheckResult {
    /// The probe's `finding` under the configuration `engine`.
    pub fn new(engine: &str, finding: Finding) -> CheckResult {
        let Finding {
            id,
            check,
            outcome,
            detail,
        } = finding;
        CheckResult {
            engine: engine.to_owned(),
            id,
            check,
            outcome,
            detail,
        }
    }
}

/// The file the runner writes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Conformance {
    /// When the run started (RFC 3339, UTC).
    pub generated_at: String,
    /// Every configuration asked for, available or not, in matrix order.
    pub engines: Vec<Engine>,
    /// Every result of every configuration that ran.
    pub results: Vec<CheckResult>,
}

impl Conformance {
    /// Reads the file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Conformance>, String> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| format!("{}: not a conformance results file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The file's text: pretty JSON and a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a conformance report serializes") + "\n"
    }

    /// Every engine's results for requirement `id`.
    pub fn for_requirement<'a>(
        &'a self,
        id: &'a str,
    ) -> impl Iterator<Item = &'a CheckResult> + 'a {
        self.results.iter().filter(move |r| r.id == id)
    }

    /// The results of the configuration `engine`.
    pub fn of_engine<'a>(&'a self, engine: &'a str) -> impl Iterator<Item = &'a CheckResult> + 'a {
        self.results.iter().filter(move |r| r.engine == engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialize_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Outcome::NotApplicable).unwrap(),
            "\"not-applicable\""
        );
        for o in [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable] {
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
    }

    #[test]
    fn a_report_round_trips_and_omits_an_absent_reason() {
        let report = Conformance {
            generated_at: "1970-01-01T00:00:00Z".into(),
            engines: vec![
                Engine {
                    name: "locald-root".into(),
                    description: "d".into(),
                    version: "v".into(),
                    available: true,
                    reason: None,
                },
                Engine {
                    name: "podman".into(),
                    description: "d".into(),
                    version: String::new(),
                    available: false,
                    reason: Some("podman is not installed".into()),
                },
            ],
            results: vec![CheckResult::new(
                "locald-root",
                Finding {
                    id: "a.b".into(),
                    check: "checks::a::c".into(),
                    outcome: Outcome::Fail,
                    detail: "x".into(),
                },
            )],
        };
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert!(v["engines"][0].get("reason").is_none());
        assert_eq!(v["engines"][1]["reason"], "podman is not installed");
        assert_eq!(v["results"][0]["outcome"], "fail");
        assert_eq!(v["results"][0]["engine"], "locald-root");
        let back: Conformance = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.for_requirement("a.b").count(), 1);
        assert_eq!(back.of_engine("podman").count(), 0);
    }

    #[test]
    fn reading_a_missing_file_is_none_and_a_bad_one_names_it() {
        let dir = std::env::temp_dir().join(format!("locald-conformance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Conformance::read(&dir.join("none.json")), Ok(None));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let e = Conformance::read(&bad).unwrap_err();
        assert!(
            e.contains("bad.json: not a conformance results file"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
