//! Conformance results: the in-container probe's checks, run under several engine
//! configurations by `locald-conform`. Checks carry `#[verifies]` like tests; the results of
//! this engine's own configurations (`locald-*`) are evidence for them, and every engine's
//! results are shown beside each requirement.
//!
//! The file's schema is `locald-conformance`'s, re-exported here: the probe, its runner and
//! this checker share one definition.

use crate::evidence::{Outcome as TestOutcome, TestResult};
use crate::links::TestRef;
use std::collections::BTreeMap;

pub use locald_conformance::{
    CONFORMANCE_FILE, CheckResult, Conformance, Engine, Finding, Outcome,
};

/// The test binary the probe's checks belong to, as the link scanner names it.
pub const PROBE_BINARY: &str = "locald-probe";
/// Engine configurations whose names start with this are this project's engine.
pub const OWN_ENGINE_PREFIX: &str = "locald-";

/// The results of this project's engine as test evidence: per check, failed if any of its
/// configurations failed it, passed if any passed it, skipped if it applied to none.
pub fn own_evidence(conformance: &Conformance) -> Vec<TestResult> {
    let mut by_check: BTreeMap<&str, Vec<Outcome>> = BTreeMap::new();
    for r in conformance
        .results
        .iter()
        .filter(|r| r.engine.starts_with(OWN_ENGINE_PREFIX))
    {
        by_check.entry(&r.check).or_default().push(r.outcome);
    }
    by_check
        .into_iter()
        .map(|(check, outcomes)| {
            let outcome = if outcomes.contains(&Outcome::Fail) {
                TestOutcome::Failed
            } else if outcomes.contains(&Outcome::Pass) {
                TestOutcome::Passed
            } else {
                TestOutcome::Skipped
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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(engine: &str, check: &str, outcome: Outcome) -> CheckResult {
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
                r("locald-root", "checks::a", Outcome::Pass),
                r("locald-rootless", "checks::a", Outcome::NotApplicable),
                r("locald-root", "checks::b", Outcome::Pass),
                r("locald-rootless", "checks::b", Outcome::Fail),
                r("locald-root", "checks::c", Outcome::NotApplicable),
                r("podman", "checks::d", Outcome::Pass),
                r("docker", "checks::d", Outcome::Fail),
            ],
            ..Conformance::default()
        };
        let ev: Vec<_> = own_evidence(&c)
            .into_iter()
            .map(|t| (t.test.name, t.outcome))
            .collect();
        assert_eq!(
            ev,
            vec![
                ("checks::a".to_string(), TestOutcome::Passed),
                ("checks::b".to_string(), TestOutcome::Failed),
                ("checks::c".to_string(), TestOutcome::Skipped),
            ]
        );
    }
}
