//! Conformance results: the in-container probe's checks, run under several engine
//! configurations by `locald-conform`. Checks carry `#[verifies]` like tests; the results of
//! this engine's own configurations (`locald-*`) are evidence for them, and every engine's
//! results are shown beside each requirement.

use crate::evidence::{Outcome, TestResult};
use crate::links::TestRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The conformance file, relative to the repository root.
pub const CONFORMANCE_FILE: &str = "target/locald-spec/conformance.json";
/// The test binary the probe's checks belong to, as the link scanner names it.
pub const PROBE_BINARY: &str = "locald-probe";
/// Engine configurations whose names start with this are this project's engine.
pub const OWN_ENGINE_PREFIX: &str = "locald-";

/// One engine configuration that was (or could not be) measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    /// Short name, e.g. `locald-root`, `runc-spec`, `podman`.
    pub name: String,
    /// What the configuration is.
    pub description: String,
    /// The versions measured.
    pub version: String,
    /// Whether it ran.
    pub available: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How one check ended under one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckOutcome {
    /// The requirement holds.
    Pass,
    /// It does not.
    Fail,
    /// The check does not apply in this configuration.
    NotApplicable,
}

/// One check's result under one engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The engine configuration.
    pub engine: String,
    /// The requirement.
    pub id: String,
    /// The check's path in the probe, e.g. `checks::proc_mount`.
    pub check: String,
    /// How it ended.
    pub outcome: CheckOutcome,
    /// What the probe saw.
    pub detail: String,
}

/// The file `locald-conform` writes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Conformance {
    /// When it was generated (RFC 3339).
    pub generated_at: String,
    /// The configurations.
    pub engines: Vec<Engine>,
    /// Every result.
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

    /// The results of this project's engine as test evidence: per check, failed if any of its
    /// configurations failed it, passed if any passed it, skipped if it applied to none.
    pub fn own_evidence(&self) -> Vec<TestResult> {
        let mut by_check: BTreeMap<&str, Vec<CheckOutcome>> = BTreeMap::new();
        for r in self
            .results
            .iter()
            .filter(|r| r.engine.starts_with(OWN_ENGINE_PREFIX))
        {
            by_check.entry(&r.check).or_default().push(r.outcome);
        }
        by_check
            .into_iter()
            .map(|(check, outcomes)| {
                let outcome = if outcomes.contains(&CheckOutcome::Fail) {
                    Outcome::Failed
                } else if outcomes.contains(&CheckOutcome::Pass) {
                    Outcome::Passed
                } else {
                    Outcome::Skipped
                };
                TestResult {
                    test: TestRef {
                        binary: PROBE_BINARY.into(),
                        name: check.to_owned(),
                    },
                    outcome,
                    run: 0,
                }
            })
            .collect()
    }

    /// Every engine's results for requirement `id`.
    pub fn for_requirement<'a>(
        &'a self,
        id: &'a str,
    ) -> impl Iterator<Item = &'a CheckResult> + 'a {
        self.results.iter().filter(move |r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(engine: &str, check: &str, outcome: CheckOutcome) -> CheckResult {
        CheckResult {
            engine: engine.into(),
            id: "a.b".into(),
            check: check.into(),
            outcome,
            detail: String::new(),
        }
    }

    #[test]
    fn own_configurations_become_evidence_and_others_do_not() {
        let c = Conformance {
            results: vec![
                r("locald-root", "checks::a", CheckOutcome::Pass),
                r("locald-rootless", "checks::a", CheckOutcome::NotApplicable),
                r("locald-root", "checks::b", CheckOutcome::Pass),
                r("locald-rootless", "checks::b", CheckOutcome::Fail),
                r("locald-root", "checks::c", CheckOutcome::NotApplicable),
                r("podman", "checks::d", CheckOutcome::Pass),
            ],
            ..Conformance::default()
        };
        let ev: Vec<_> = c
            .own_evidence()
            .into_iter()
            .map(|t| (t.test.name, t.outcome))
            .collect();
        assert_eq!(
            ev,
            vec![
                ("checks::a".to_string(), Outcome::Passed),
                ("checks::b".to_string(), Outcome::Failed),
                ("checks::c".to_string(), Outcome::Skipped),
            ]
        );
    }
}
