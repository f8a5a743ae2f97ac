//! Test evidence: what ran in this pipeline and passed, read from the test runner's own report
//! (cargo-nextest's JUnit XML), stamped with digests of the sources it ran against.

use crate::links::TestRef;
use crate::model::hex;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Ran and passed.
    Passed,
    /// Ran and failed (or errored).
    Failed,
    /// Reported by the runner as skipped or ignored.
    Skipped,
    /// Linked, but absent from the runner's report.
    NotRun,
}

impl Outcome {
    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not-run",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test, as the runner names it.
    #[serde(flatten)]
    pub test: TestRef,
    /// How it ended.
    pub outcome: Outcome,
    /// The run it comes from: an index into [`Evidence::runs`].
    #[serde(default)]
    pub run: usize,
}

/// One run of the test runner: when, narrowed by what, and against which sources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Run {
    /// Seconds since the Unix epoch when the run started.
    pub started_at: u64,
    /// What produced the results, e.g. `cargo-nextest`.
    pub runner: String,
    /// The arguments that narrowed the run (those after `locald-spec test --`); empty for a run
    /// of the whole suite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<String>,
    /// SHA-256 of every scanned source file when the run started, by repository-relative path.
    pub sources: BTreeMap<String, String>,
}

/// The evidence file: each test's latest result, and the runs those results come from — one
/// for a run of the whole suite, more once narrowed runs have been merged in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// The runs some result comes from, oldest first.
    pub runs: Vec<Run>,
    /// Every test's latest result, one per test.
    pub tests: Vec<TestResult>,
}

/// Errors reading evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The JUnit report is not well-formed XML.
    #[error("{file}: malformed JUnit XML at byte {position}: {message}")]
    Junit {
        /// The report path.
        file: String,
        /// Byte offset of the defect.
        position: u64,
        /// What the XML reader said.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The path.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The evidence file is not valid JSON of the expected shape.
    #[error(
        "{file}: not a valid evidence file ({source}); record it again with `locald-spec test`"
    )]
    Json {
        /// The path.
        file: String,
        /// The cause.
        source: serde_json::Error,
    },
}

impl Evidence {
    /// The evidence of one run: `tests` as its runner reported them.
    pub fn of_run(run: Run, tests: Vec<TestResult>) -> Evidence {
        Evidence {
            runs: vec![run],
            tests: tests
                .into_iter()
                .map(|t| TestResult { run: 0, ..t })
                .collect(),
        }
    }

    /// This evidence with a newer run's merged in: a test the newer run reports takes its new
    /// result; every other test keeps its result, and the source digests of the run it came
    /// from. Runs no result comes from any more are dropped.
    pub fn merge(self, newer: Evidence) -> Evidence {
        let offset = self.runs.len();
        let reported: std::collections::HashSet<&TestRef> =
            newer.tests.iter().map(|t| &t.test).collect();
        let mut tests: Vec<TestResult> = self
            .tests
            .iter()
            .filter(|t| !reported.contains(&t.test))
            .cloned()
            .collect();
        tests.extend(newer.tests.iter().map(|t| TestResult {
            run: t.run + offset,
            ..t.clone()
        }));
        let all: Vec<Run> = self.runs.into_iter().chain(newer.runs).collect();
        // Keep the runs still used, in order, and renumber the results.
        let used: std::collections::BTreeSet<usize> = tests.iter().map(|t| t.run).collect();
        let index: BTreeMap<usize, usize> = used
            .iter()
            .enumerate()
            .map(|(new, &old)| (old, new))
            .collect();
        let kept = used
            .iter()
            .map(|&old| all.get(old).cloned().unwrap_or_default())
            .collect();
        for t in &mut tests {
            t.run = index[&t.run];
        }
        Evidence { runs: kept, tests }
    }

    /// The latest result of `test`.
    pub fn result(&self, test: &TestRef) -> Option<&TestResult> {
        self.tests.iter().find(|r| &r.test == test)
    }

    /// The source digests the result came from (none for a result naming no recorded run).
    pub fn sources_of(&self, result: &TestResult) -> Option<&BTreeMap<String, String>> {
        self.runs.get(result.run).map(|r| &r.sources)
    }

    /// Adds results that were measured after the latest run (the conformance checks), with its
    /// source digests; they replace earlier results of the same tests.
    pub fn extend_latest(&mut self, results: impl IntoIterator<Item = TestResult>) {
        let latest = self.runs.len().saturating_sub(1);
        for r in results {
            self.tests.retain(|t| t.test != r.test);
            self.tests.push(TestResult { run: latest, ..r });
        }
    }

    /// The outcome of `test`: [`Outcome::NotRun`] when the report does not list it.
    pub fn outcome(&self, test: &TestRef) -> Outcome {
        self.result(test)
            .map(|r| r.outcome)
            .unwrap_or(Outcome::NotRun)
    }

    /// Reads an evidence file.
    pub fn read(path: &Path) -> Result<Evidence, EvidenceError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| EvidenceError::Io {
            file: file.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| EvidenceError::Json { file, source })
    }

    /// Writes the evidence file atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), EvidenceError> {
        let io = |source| EvidenceError::Io {
            file: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_string_pretty(self).expect("evidence serializes");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// SHA-256 of each file (repository-relative paths), for staleness checks.
pub fn digest_files(repo_root: &Path, files: &[String]) -> BTreeMap<String, String> {
    files
        .iter()
        .filter_map(|f| {
            let bytes = std::fs::read(repo_root.join(f)).ok()?;
            Some((f.clone(), hex(&Sha256::digest(&bytes))))
        })
        .collect()
}

/// Parses a JUnit XML report as cargo-nextest writes it: `<testsuite name=BINARY>` holding
/// `<testcase name=TEST>` elements, with `<failure>`/`<error>` children for failures and
/// `<skipped>` for skipped tests. `file` names the report in errors.
pub fn parse_junit(file: &str, xml: &str) -> Result<Vec<TestResult>, EvidenceError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut results = Vec::new();
    let mut suite = String::new();
    let mut open: Option<TestResult> = None;
    let err = |reader: &quick_xml::Reader<&[u8]>, message: String| EvidenceError::Junit {
        file: file.to_owned(),
        position: reader.buffer_position(),
        message,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(&reader, e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                suite = attr(&e, b"name").unwrap_or_default();
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                open = Some(testcase(&e, &suite));
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                results.push(testcase(&e, &suite));
            }
            Event::Start(e) | Event::Empty(e) => {
                if let Some(tc) = open.as_mut() {
                    match e.name().as_ref() {
                        b"failure" | b"error" => tc.outcome = Outcome::Failed,
                        b"skipped" => tc.outcome = Outcome::Skipped,
                        _ => {}
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => {
                if let Some(tc) = open.take() {
                    results.push(tc);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if open.is_some() {
        return Err(err(&reader, "unterminated <testcase>".into()));
    }
    Ok(results)
}

fn testcase(e: &quick_xml::events::BytesStart<'_>, suite: &str) -> TestResult {
    let binary = attr(e, b"classname").unwrap_or_else(|| suite.to_owned());
    TestResult {
        test: TestRef {
            binary,
            name: attr(e, b"name").unwrap_or_default(),
        },
        outcome: Outcome::Passed,
        run: 0,
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="4" failures="1" errors="0">
  <testsuite name="locald-engine::e2e" tests="3" disabled="1" errors="0" failures="1">
    <testcase name="identity::ok" classname="locald-engine::e2e" timestamp="x" time="0.1"/>
    <testcase name="identity::bad" classname="locald-engine::e2e" time="0.2">
      <failure type="test failure">assertion failed</failure>
      <system-out>...</system-out>
    </testcase>
    <testcase name="identity::skipped" classname="locald-engine::e2e" time="0">
      <skipped/>
    </testcase>
  </testsuite>
  <testsuite name="locald-spec-core" tests="1">
    <testcase name="model::tests::x" classname="locald-spec-core" time="0.0">
      <flakyFailure message="retry">first attempt failed</flakyFailure>
    </testcase>
  </testsuite>
</testsuites>"#;

    #[test]
    fn reads_nextest_junit_outcomes() {
        let r = parse_junit("junit.xml", REPORT).unwrap();
        let got: Vec<_> = r
            .iter()
            .map(|t| (t.test.binary.as_str(), t.test.name.as_str(), t.outcome))
            .collect();
        assert_eq!(
            got,
            vec![
                ("locald-engine::e2e", "identity::ok", Outcome::Passed),
                ("locald-engine::e2e", "identity::bad", Outcome::Failed),
                ("locald-engine::e2e", "identity::skipped", Outcome::Skipped),
                ("locald-spec-core", "model::tests::x", Outcome::Passed),
            ]
        );
    }

    #[test]
    fn malformed_junit_names_the_file() {
        let e = parse_junit(
            "target/junit.xml",
            "<testsuites><testcase name=\"a\"></testsuites>",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("target/junit.xml: malformed JUnit XML"),
            "{e}"
        );
    }

    #[test]
    fn unlisted_tests_did_not_run() {
        let ev = Evidence {
            tests: parse_junit("j", REPORT).unwrap(),
            ..Evidence::default()
        };
        let t = |n: &str| TestRef {
            binary: "locald-engine::e2e".into(),
            name: n.into(),
        };
        assert_eq!(ev.outcome(&t("identity::ok")), Outcome::Passed);
        assert_eq!(ev.outcome(&t("identity::nope")), Outcome::NotRun);
    }

    #[test]
    fn a_narrower_run_merges_keeping_each_result_with_its_own_run() {
        let run = |t: u64, digest: &str, filter: &[&str]| Run {
            started_at: t,
            runner: "r".into(),
            filter: filter.iter().map(|f| f.to_string()).collect(),
            sources: [("src/a.rs".to_string(), digest.to_string())].into(),
        };
        let result = |name: &str, outcome| TestResult {
            test: TestRef {
                binary: "b".into(),
                name: name.into(),
            },
            outcome,
            run: 0,
        };
        let full = Evidence::of_run(
            run(1, "one", &[]),
            vec![result("x", Outcome::Passed), result("y", Outcome::Failed)],
        );
        let narrow = Evidence::of_run(run(2, "two", &["y"]), vec![result("y", Outcome::Passed)]);
        let merged = full.merge(narrow);
        let got: Vec<_> = merged
            .tests
            .iter()
            .map(|t| {
                let sources = merged.sources_of(t).unwrap();
                (
                    t.test.name.as_str(),
                    t.outcome,
                    sources["src/a.rs"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("x", Outcome::Passed, "one"), ("y", Outcome::Passed, "two")]
        );
        assert_eq!(merged.runs.len(), 2);
        assert_eq!(merged.runs[1].filter, ["y"]);

        // A run that reports every test leaves only itself.
        let again = Evidence::of_run(
            run(3, "three", &[]),
            vec![result("x", Outcome::Passed), result("y", Outcome::Passed)],
        );
        let merged = merged.merge(again);
        assert_eq!(merged.runs.len(), 1);
        assert_eq!(merged.runs[0].started_at, 3);
        assert!(merged.tests.iter().all(|t| t.run == 0));
    }
}
