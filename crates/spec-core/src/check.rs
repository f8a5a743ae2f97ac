//! The checker: joins the registry (what the book requires), the links (what code implements and
//! which tests verify it) and the evidence (what ran and passed) into a [`Report`].

use crate::evidence::{Evidence, Outcome, TestResult, digest_files};
use crate::links::{Implementation, Links, TestLink};
use crate::model::Requirement;
use crate::parse::Registry;
use crate::problem::{Problem, ProblemKind};
use crate::project::Project;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where a requirement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Implemented, and every linked test ran and passed against the current sources.
    Verified,
    /// No item implements it.
    Unimplemented,
    /// No test verifies it, or its tests did not run.
    Untested,
    /// A linked test failed or was skipped.
    Failing,
    /// Its tests passed, but against sources that have changed since.
    Stale,
}

impl Status {
    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Unimplemented => "unimplemented",
            Status::Untested => "untested",
            Status::Failing => "failing",
            Status::Stale => "stale",
        }
    }

    fn problem_kind(self) -> Option<ProblemKind> {
        match self {
            Status::Verified => None,
            Status::Unimplemented => Some(ProblemKind::Unimplemented),
            Status::Untested => Some(ProblemKind::Untested),
            Status::Failing => Some(ProblemKind::Failing),
            Status::Stale => Some(ProblemKind::Stale),
        }
    }
}

/// A linked test and how it ended in this pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStatus {
    /// The test's path inside its binary.
    pub name: String,
    /// The test binary.
    pub binary: String,
    /// Where the test is.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// How it ended.
    pub outcome: Outcome,
}

/// One requirement with its links, evidence and status.
///
/// The requirement's own fields (ID, level, action, provenance, where it is defined) are those of
/// the book's [`Requirement`], reached through `Deref` and written at the top level of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementReport {
    /// The requirement as the book defines it.
    #[serde(flatten)]
    pub requirement: Requirement,
    /// Where it stands.
    pub status: Status,
    /// The items implementing it.
    pub implementations: Vec<Implementation>,
    /// The tests verifying it.
    pub tests: Vec<TestStatus>,
    /// Why it is not verified (empty when it is).
    pub reasons: Vec<String>,
}

impl std::ops::Deref for RequirementReport {
    type Target = Requirement;

    fn deref(&self) -> &Requirement {
        &self.requirement
    }
}

/// What the checker found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Every requirement, in book order.
    pub requirements: Vec<RequirementReport>,
    /// Every defect; a clean project has none.
    pub problems: Vec<Problem>,
    /// The conformance results, when `locald-conform` has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformance: Option<crate::conformance::Conformance>,
}

impl Report {
    /// Whether the project passes the strict check.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Counts requirements per status.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut m = BTreeMap::new();
        for r in &self.requirements {
            *m.entry(r.status).or_insert(0) += 1;
        }
        m
    }

    /// Looks a requirement up.
    pub fn get(&self, id: &str) -> Option<&RequirementReport> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

/// Reads the project from disk and checks it.
pub fn check_project(project: &Project) -> Report {
    let mut problems = Vec::new();
    let registry = match Registry::load(&project.root, &project.book_src) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::MalformedBlock,
                None,
                &project.book_src.display().to_string(),
                0,
                format!("cannot read the book: {e}"),
            ));
            Registry::default()
        }
    };
    let links = crate::links::scan(&project.root, &project.code_dirs());
    let mut evidence = if project.evidence.exists() {
        match Evidence::read(&project.evidence) {
            Ok(e) => Some(e),
            Err(e) => {
                problems.push(Problem::new(
                    ProblemKind::NoEvidence,
                    None,
                    &crate::parse::rel(&project.root, &project.evidence),
                    0,
                    e.to_string(),
                ));
                None
            }
        }
    } else {
        None
    };
    let conformance = match crate::conformance::Conformance::read(&project.conformance) {
        Ok(c) => c,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::NoEvidence,
                None,
                crate::conformance::CONFORMANCE_FILE,
                0,
                e,
            ));
            None
        }
    };
    // Probe checks run inside containers after the test run: their results join its evidence
    // (and its source digests, taken before either ran).
    if let (Some(ev), Some(c)) = (evidence.as_mut(), conformance.as_ref()) {
        ev.extend_latest(crate::conformance::own_evidence(c));
    }
    // Without a lock file nothing has been confirmed yet: fingerprints are only checked once
    // `locald-spec lock` has written one.
    match crate::lock::read(&project.lock) {
        Ok(Some(lock)) => problems.extend(crate::lock::suspects(&registry, &lock)),
        Ok(None) => {}
        Err(e) => problems.push(Problem::new(
            ProblemKind::Suspect,
            None,
            crate::lock::LOCK_FILE,
            0,
            format!("cannot read the lock file: {e}"),
        )),
    }
    if let Some(homes) = &project.homes {
        problems.extend(crate::placement::check(
            &registry,
            &links.implementations,
            homes,
            "book.toml",
        ));
    }
    let mut report = check(&project.root, &registry, &links, evidence.as_ref());
    problems.append(&mut report.problems);
    report.problems = problems;
    report.conformance = conformance;
    report
}

/// Joins registry, links and evidence. Source digests for staleness are read from `repo_root`.
pub fn check(
    repo_root: &Path,
    registry: &Registry,
    links: &Links,
    evidence: Option<&Evidence>,
) -> Report {
    let mut problems: Vec<Problem> = registry.problems.clone();
    problems.extend(links.problems.iter().cloned());
    // IDs of defective blocks are known too: the defect is the block's own problem.
    let known = registry.defined_ids();
    for (id, file, line, what) in links
        .implementations
        .iter()
        .map(|i| (&i.id, &i.file, i.line, "implements"))
        .chain(
            links
                .tests
                .iter()
                .map(|t| (&t.id, &t.file, t.line, "verifies")),
        )
    {
        if !known.contains(id.as_str()) {
            problems.push(Problem::new(
                ProblemKind::UnknownId,
                Some(id),
                file,
                line,
                format!("#[{what}(\"{id}\")] names a requirement the book does not define"),
            ));
        }
    }
    if evidence.is_none() && !links.tests.is_empty() {
        problems.push(Problem::new(
            ProblemKind::NoEvidence,
            None,
            crate::project::EVIDENCE_FILE,
            0,
            "no test evidence: run the tests with `locald-spec test` so results can count",
        ));
    }
    let mut by_id_impl: BTreeMap<&str, Vec<&Implementation>> = BTreeMap::new();
    for i in &links.implementations {
        by_id_impl.entry(&i.id).or_default().push(i);
    }
    let mut by_id_test: BTreeMap<&str, Vec<&TestLink>> = BTreeMap::new();
    for t in &links.tests {
        by_id_test.entry(&t.id).or_default().push(t);
    }
    let results: std::collections::HashMap<&crate::links::TestRef, &TestResult> = evidence
        .map(|e| e.tests.iter().map(|t| (&t.test, t)).collect())
        .unwrap_or_default();
    let current = evidence.map(|e| {
        let files: BTreeSet<&String> = e.runs.iter().flat_map(|r| r.sources.keys()).collect();
        let files: Vec<String> = files.into_iter().cloned().collect();
        digest_files(repo_root, &files)
    });

    let mut requirements = Vec::new();
    for req in &registry.requirements {
        let impls: Vec<Implementation> = by_id_impl
            .get(req.id.as_str())
            .map(|v| v.iter().map(|i| (*i).clone()).collect())
            .unwrap_or_default();
        let test_links = by_id_test.get(req.id.as_str()).cloned().unwrap_or_default();
        let tests: Vec<TestStatus> = test_links
            .iter()
            .map(|t| TestStatus {
                name: t.test.name.clone(),
                binary: t.test.binary.clone(),
                file: t.file.clone(),
                line: t.line,
                outcome: results
                    .get(&t.test)
                    .map(|r| r.outcome)
                    .unwrap_or(Outcome::NotRun),
            })
            .collect();
        let mut reasons = Vec::new();
        let mut status = Status::Verified;
        let mut demote = |s: Status, reason: String, status: &mut Status| {
            if *status == Status::Verified {
                *status = s;
            }
            reasons.push(reason);
        };
        if impls.is_empty() {
            demote(
                Status::Unimplemented,
                "no item of the reference code carries #[implements] for it".into(),
                &mut status,
            );
        }
        if tests.is_empty() {
            demote(
                Status::Untested,
                "no test carries #[verifies] for it".into(),
                &mut status,
            );
        }
        for t in &tests {
            match t.outcome {
                Outcome::Passed => {}
                Outcome::Failed => demote(
                    Status::Failing,
                    format!("test `{} {}` failed", t.binary, t.name),
                    &mut status,
                ),
                Outcome::Skipped => demote(
                    Status::Failing,
                    format!("test `{} {}` was skipped", t.binary, t.name),
                    &mut status,
                ),
                Outcome::NotRun => demote(
                    Status::Untested,
                    if evidence.is_some() {
                        format!(
                            "test `{} {}` did not run in this pipeline",
                            t.binary, t.name
                        )
                    } else {
                        format!(
                            "test `{} {}` has no evidence (run `locald-spec test`)",
                            t.binary, t.name
                        )
                    },
                    &mut status,
                ),
            }
        }
        if let (Some(ev), Some(now)) = (evidence, current.as_ref()) {
            let covered: BTreeSet<&str> = impls
                .iter()
                .map(|i| i.file.as_str())
                .chain(tests.iter().map(|t| t.file.as_str()))
                .collect();
            // Each result vouches for the sources of the run it came from (several runs once
            // narrowed runs were merged in).
            let runs: Vec<Option<&BTreeMap<String, String>>> = test_links
                .iter()
                .filter_map(|t| results.get(&t.test))
                .map(|r| ev.sources_of(r))
                .collect();
            for f in covered {
                let changed =
                    runs.iter().any(
                        |sources| match (sources.and_then(|s| s.get(f)), now.get(f)) {
                            (Some(then), Some(now)) => then != now,
                            _ => true,
                        },
                    );
                if changed {
                    demote(
                        Status::Stale,
                        format!("{f} changed after the tests ran"),
                        &mut status,
                    );
                }
            }
        }
        if let Some(kind) = status.problem_kind() {
            problems.push(Problem::new(
                kind,
                Some(&req.id),
                &req.file,
                req.line,
                format!(
                    "{} requirement `{}` is {}: {}",
                    req.level,
                    req.id,
                    status.as_str(),
                    reasons.join("; ")
                ),
            ));
        }
        requirements.push(RequirementReport {
            requirement: req.clone(),
            status,
            implementations: impls,
            tests,
            reasons,
        });
    }
    Report {
        requirements,
        problems,
        conformance: None,
    }
}
