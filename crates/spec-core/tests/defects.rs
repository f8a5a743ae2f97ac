//! Fixture books and fixture crates, one per defect class: each asserts the exact problem the
//! checker reports (kind, file, line, and the words that name the fault).

use locald_spec_core::evidence::{Evidence, Outcome, Run, TestResult, digest_files};
use locald_spec_core::{Problem, ProblemKind, Project, Status, TestRef, check_project};
use std::path::Path;

/// A temporary project: `book.toml`, chapters and a fixture crate.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![
            (
                "book.toml",
                "[book]\ntitle = \"fixture\"\nsrc = \"book/src\"\n",
            ),
            (
                "crates/eng/Cargo.toml",
                "[package]\nname = \"eng\"\nversion = \"0.0.0\"\n",
            ),
        ];
        all.extend_from_slice(files);
        for (path, text) in all {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Fixture { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn project(&self) -> Project {
        let mut p = Project::at(self.root()).unwrap();
        p.evidence = self.root().join("evidence.json");
        p
    }

    /// Records evidence as `locald-spec test` would: digests now, then these results.
    fn record(&self, results: &[(&str, &str, Outcome)]) {
        self.run_now(results)
            .write(&self.project().evidence)
            .unwrap();
    }

    /// Merges a narrowed run into the evidence, as `locald-spec test -- FILTER` does.
    fn record_narrowed(&self, results: &[(&str, &str, Outcome)]) {
        let path = self.project().evidence;
        let merged = Evidence::read(&path).unwrap().merge(self.run_now(results));
        merged.write(&path).unwrap();
    }

    /// One run's evidence: the digests now, then these results.
    fn run_now(&self, results: &[(&str, &str, Outcome)]) -> Evidence {
        let files = locald_spec_core::links::scan(self.root(), &["crates"]).files;
        let run = Run {
            runner: "fixture".into(),
            sources: digest_files(self.root(), &files),
            ..Run::default()
        };
        Evidence::of_run(
            run,
            results
                .iter()
                .map(|(b, n, o)| TestResult {
                    test: TestRef {
                        binary: b.to_string(),
                        name: n.to_string(),
                    },
                    outcome: *o,
                    run: 0,
                })
                .collect(),
        )
    }

    fn problems(&self) -> Vec<Problem> {
        check_project(&self.project()).problems
    }
}

fn block(body: &str) -> String {
    format!("# Chapter\n\nProse.\n\n```requirement\n{body}```\n")
}

/// The identity chapter with GOOD and the engine crate IMPL implementing and verifying it.
fn good_fixture() -> Fixture {
    Fixture::new(&[
        ("book/src/identity.md", &block(GOOD)),
        ("crates/eng/src/lib.rs", IMPL),
    ])
}

/// The identity chapter with GOOD, `code` as the engine crate, and the evidence of one run in
/// which `test` ended with `outcome`; its problems.
fn problems_with(code: &str, test: &str, outcome: Outcome) -> (Fixture, Vec<Problem>) {
    let f = Fixture::new(&[
        ("book/src/identity.md", &block(GOOD)),
        ("crates/eng/src/lib.rs", code),
    ]);
    f.record(&[("eng", test, outcome)]);
    let problems = f.problems();
    (f, problems)
}

const GOOD: &str = "id: identity.passwd.current-user\nlevel: MUST\naction: The engine writes an entry.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\n";

const IMPL: &str = "#[implements(\"identity.passwd.current-user\")]\npub fn entry() -> u32 {\n    0\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    #[verifies(\"identity.passwd.current-user\")]\n    fn writes_entry() {\n        assert_eq!(super::entry(), 0);\n    }\n}\n";

/// Asserts exactly one problem of `kind` at `file:line` whose message contains `words`.
fn assert_only(problems: &[Problem], kind: ProblemKind, file: &str, line: usize, words: &str) {
    let relevant: Vec<_> = problems
        .iter()
        .filter(|p| p.kind != ProblemKind::NoEvidence)
        .collect();
    assert_eq!(
        relevant.len(),
        1,
        "expected one {kind} problem, got {problems:#?}"
    );
    let p = relevant[0];
    assert_eq!((p.kind, p.file.as_str(), p.line), (kind, file, line), "{p}");
    assert!(
        p.message.contains(words),
        "message `{}` lacks `{words}`",
        p.message
    );
}

fn parse_only(body: &str) -> Vec<Problem> {
    let f = Fixture::new(&[("book/src/identity.md", &block(body))]);
    f.problems()
        .into_iter()
        .filter(|p| !matches!(p.kind, ProblemKind::Unimplemented | ProblemKind::Untested))
        .collect()
}

/// With `chapter-modules = true`, the code of a chapter's requirement lives in the module named
/// after it; a `homes` entry lets it live elsewhere.
#[test]
fn code_outside_its_chapters_module_is_misplaced_unless_listed() {
    const ON: &str = "[book]\ntitle = \"fixture\"\nsrc = \"book/src\"\n\n[preprocessor.locald-spec]\nchapter-modules = true\n";
    let misplaced = |files: &[(&str, &str)]| -> Vec<Problem> {
        let f = Fixture::new(files);
        check_project(&f.project())
            .problems
            .into_iter()
            .filter(|p| p.kind == ProblemKind::Misplaced)
            .collect()
    };
    let chapter = block(GOOD);
    let found = misplaced(&[
        ("book.toml", ON),
        ("book/src/identity.md", &chapter),
        ("crates/eng/src/lib.rs", IMPL),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].file.as_str(), found[0].line),
        ("crates/eng/src/lib.rs", 1)
    );
    assert!(
        found[0].message.contains("src/identity.rs"),
        "{}",
        found[0].message
    );
    // At home.
    let found = misplaced(&[
        ("book.toml", ON),
        ("book/src/identity.md", &chapter),
        ("crates/eng/src/lib.rs", "mod identity;\n"),
        ("crates/eng/src/identity.rs", IMPL),
    ]);
    assert_eq!(found, vec![]);
    // Listed.
    let listed = format!(
        "{ON}\n[preprocessor.locald-spec.homes]\n\"identity.passwd\" = [\"crates/eng/src/lib.rs\"]\n"
    );
    let found = misplaced(&[
        ("book.toml", &listed),
        ("book/src/identity.md", &chapter),
        ("crates/eng/src/lib.rs", IMPL),
    ]);
    assert_eq!(found, vec![]);
}

#[test]
fn a_clean_requirement_is_verified() {
    let f = good_fixture();
    f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
    let report = check_project(&f.project());
    assert_eq!(report.problems, vec![]);
    let r = report.get("identity.passwd.current-user").unwrap();
    assert_eq!(r.status, Status::Verified);
    assert_eq!(
        (
            r.implementations[0].file.as_str(),
            r.implementations[0].line
        ),
        ("crates/eng/src/lib.rs", 1)
    );
    assert_eq!(r.tests[0].outcome, Outcome::Passed);
}

#[test]
fn a_chapter_that_is_not_utf8_is_one_problem_at_its_line_and_the_book_still_loads() {
    // Two chapters, each implemented and verified; one ends with a Latin-1 "café".
    let limits = block(&GOOD.replace("identity.passwd.current-user", "limits.pids.max"));
    let code = format!(
        "{IMPL}\n{}",
        IMPL.replace("identity.passwd.current-user", "limits.pids.max")
            .replace("entry", "pids")
            .replace("mod tests", "mod limits_tests")
    );
    let f = Fixture::new(&[
        ("book/src/identity.md", &block(GOOD)),
        ("book/src/limits.md", &limits),
        ("crates/eng/src/lib.rs", &code),
    ]);
    let mut bytes = limits.clone().into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    std::fs::write(f.root().join("book/src/limits.md"), &bytes).unwrap();
    f.record(&[
        ("eng", "tests::writes_entry", Outcome::Passed),
        ("eng", "limits_tests::writes_pids", Outcome::Passed),
    ]);
    let report = check_project(&f.project());
    // The invalid byte is the fourth of the line after the chapter's text.
    let line = limits.lines().count() + 1;
    assert_only(
        &report.problems,
        ProblemKind::BadEncoding,
        "book/src/limits.md",
        line,
        "column 4",
    );
    for id in ["identity.passwd.current-user", "limits.pids.max"] {
        let r = report.get(id).unwrap_or_else(|| panic!("{id} not loaded"));
        assert_eq!(r.status, Status::Verified, "{id}");
    }
}

#[test]
fn duplicate_ids_are_reported_at_both_places() {
    let f = Fixture::new(&[
        ("book/src/a.md", &block(GOOD)),
        ("book/src/b.md", &format!("# B\n\n{}", block(GOOD))),
    ]);
    let dups: Vec<_> = f
        .problems()
        .into_iter()
        .filter(|p| p.kind == ProblemKind::DuplicateId)
        .map(|p| (p.file, p.line))
        .collect();
    assert_eq!(
        dups,
        vec![
            ("book/src/b.md".to_string(), 7),
            ("book/src/a.md".to_string(), 5)
        ]
    );
}

#[test]
fn malformed_ids_are_reported() {
    let p = parse_only(&GOOD.replace("identity.passwd.current-user", "Identity.passwd"));
    assert_only(
        &p,
        ProblemKind::BadId,
        "book/src/identity.md",
        6,
        "malformed requirement ID `Identity.passwd`",
    );
}

#[test]
fn unknown_keys_are_reported_at_their_line() {
    let p = parse_only(&format!("{GOOD}severity: high\n"));
    assert_only(
        &p,
        ProblemKind::UnknownKey,
        "book/src/identity.md",
        13,
        "unknown key `severity`",
    );
}

#[test]
fn missing_keys_are_reported() {
    let p = parse_only(&GOOD.replace("action: The engine writes an entry.\n", ""));
    assert_only(
        &p,
        ProblemKind::MissingKey,
        "book/src/identity.md",
        5,
        "lacks the required key `action`",
    );
}

#[test]
fn empty_provenance_is_reported() {
    let body = "id: a.b\nlevel: MUST\naction: Do it.\nprovenance: []\n";
    let p = parse_only(body);
    assert_only(
        &p,
        ProblemKind::EmptyProvenance,
        "book/src/identity.md",
        9,
        "cite at least one primary source",
    );
}

#[test]
fn bad_levels_are_reported() {
    let p = parse_only(&GOOD.replace("level: MUST", "level: must"));
    assert_only(
        &p,
        ProblemKind::BadLevel,
        "book/src/identity.md",
        7,
        "level `must` is not one of MUST, SHOULD, MAY",
    );
}

#[test]
fn invalid_yaml_is_reported_with_its_line() {
    let p = parse_only("id: a.b\nlevel: MUST\naction: [unclosed\nprovenance: []\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].kind, ProblemKind::MalformedBlock);
    assert!(
        p[0].line >= 8,
        "line {} should point into the block",
        p[0].line
    );
    assert!(p[0].message.contains("not valid YAML"));
}

/// GOOD with a second provenance entry indented one space too far: the first YAML defect of the
/// real book's history. The block's fence is line 5 of the chapter, the bad entry line 13.
fn misindented() -> String {
    format!(
        "{GOOD}   - source: linux\n    cite: proc(5)\n    url: https://man7.org/linux/man-pages/man5/proc.5.html\n"
    )
}

#[test]
fn one_yaml_defect_is_one_problem_at_its_chapter_line() {
    let f = Fixture::new(&[
        ("book/src/identity.md", &block(&misindented())),
        ("crates/eng/src/lib.rs", IMPL),
    ]);
    f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
    let problems = f.problems();
    // Not one more `unknown-id` per attribute naming the block's ID.
    assert_only(
        &problems,
        ProblemKind::MalformedBlock,
        "book/src/identity.md",
        13,
        "requirement block is not valid YAML",
    );
    // Every line the message names is a line of the chapter: the bad entry (13), and the list
    // it breaks, which starts at the first entry (10, column 3).
    let p = problems
        .iter()
        .find(|p| p.kind == ProblemKind::MalformedBlock)
        .unwrap();
    assert!(p.message.contains("at line 13 column 4"), "{p}");
    assert!(p.message.contains("at line 10 column 3"), "{p}");
    assert_eq!(p.id.as_deref(), Some("identity.passwd.current-user"), "{p}");
}

#[test]
fn code_naming_a_defective_block_is_not_reported_again() {
    for (defect, kind, line) in [
        (
            GOOD.replace("level: MUST", "level: must"),
            ProblemKind::BadLevel,
            7,
        ),
        (
            GOOD.replace("source: posix", "source: wikipedia"),
            ProblemKind::BadProvenance,
            10,
        ),
        // An unclosed flow list on line 9: YAML finds no list item where line 10 starts one.
        (
            GOOD.replace("provenance:", "provenance: ["),
            ProblemKind::MalformedBlock,
            10,
        ),
    ] {
        let f = Fixture::new(&[
            ("book/src/identity.md", &block(&defect)),
            ("crates/eng/src/lib.rs", IMPL),
        ]);
        f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
        let p = f.problems();
        assert_only(&p, kind, "book/src/identity.md", line, "");
    }
    // Without the block's ID there is nothing to recover: the code's ID is unknown.
    let f = Fixture::new(&[
        (
            "book/src/identity.md",
            &block(&misindented().replace("id: identity.passwd.current-user\n", "")),
        ),
        ("crates/eng/src/lib.rs", IMPL),
    ]);
    let unknown = f
        .problems()
        .into_iter()
        .filter(|p| p.kind == ProblemKind::UnknownId)
        .count();
    assert_eq!(unknown, 2, "#[implements] and #[verifies]");
}

#[test]
fn unknown_provenance_sources_are_reported() {
    let p = parse_only(&GOOD.replace("source: posix", "source: wikipedia"));
    assert_only(
        &p,
        ProblemKind::BadProvenance,
        "book/src/identity.md",
        10,
        "unknown source `wikipedia`",
    );
}

#[test]
fn code_naming_an_undefined_id_is_reported() {
    let code = format!("{IMPL}\n#[implements(\"identity.passwd.nope\")]\npub fn x() {{}}\n");
    let (_f, problems) = problems_with(&code, "tests::writes_entry", Outcome::Passed);
    assert_only(
        &problems,
        ProblemKind::UnknownId,
        "crates/eng/src/lib.rs",
        15,
        "identity.passwd.nope",
    );
}

#[test]
fn a_requirement_without_code_is_unimplemented() {
    let (_f, problems) = problems_with(
        &IMPL.replacen("#[implements(\"identity.passwd.current-user\")]\n", "", 1),
        "tests::writes_entry",
        Outcome::Passed,
    );
    assert_only(
        &problems,
        ProblemKind::Unimplemented,
        "book/src/identity.md",
        5,
        "`identity.passwd.current-user` is unimplemented",
    );
}

#[test]
fn a_requirement_without_a_test_link_is_untested() {
    let (_f, problems) = problems_with(
        &IMPL.replace("    #[verifies(\"identity.passwd.current-user\")]\n", ""),
        "tests::writes_entry",
        Outcome::Passed,
    );
    assert_only(
        &problems,
        ProblemKind::Untested,
        "book/src/identity.md",
        5,
        "no test carries #[verifies]",
    );
}

#[test]
fn a_failing_or_skipped_linked_test_fails_the_requirement() {
    for outcome in [Outcome::Failed, Outcome::Skipped] {
        let f = Fixture::new(&[
            ("book/src/identity.md", &block(GOOD)),
            ("crates/eng/src/lib.rs", IMPL),
        ]);
        f.record(&[("eng", "tests::writes_entry", outcome)]);
        let words = format!(
            "test `eng tests::writes_entry` {}",
            if outcome == Outcome::Failed {
                "failed"
            } else {
                "was skipped"
            }
        );
        assert_only(
            &f.problems(),
            ProblemKind::Failing,
            "book/src/identity.md",
            5,
            &words,
        );
    }
}

#[test]
fn a_linked_test_that_did_not_run_does_not_count() {
    let (_f, problems) = problems_with(IMPL, "tests::something_else", Outcome::Passed);
    assert_only(
        &problems,
        ProblemKind::Untested,
        "book/src/identity.md",
        5,
        "did not run in this pipeline",
    );
}

#[test]
fn evidence_older_than_the_code_is_stale() {
    let f = good_fixture();
    f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
    std::fs::write(
        f.root().join("crates/eng/src/lib.rs"),
        IMPL.replace("0\n}", "1\n}"),
    )
    .unwrap();
    assert_only(
        &f.problems(),
        ProblemKind::Stale,
        "book/src/identity.md",
        5,
        "crates/eng/src/lib.rs changed after the tests ran",
    );
}

#[test]
fn a_merged_narrower_run_keeps_each_result_with_the_sources_it_ran_against() {
    let group = GOOD
        .replace(
            "identity.passwd.current-user",
            "identity.group.current-group",
        )
        .replace("an entry", "a group entry");
    let f = Fixture::new(&[
        (
            "book/src/identity.md",
            &format!("{}{}", block(GOOD), block(&group)),
        ),
        ("crates/eng/src/lib.rs", "mod group;\nmod passwd;\n"),
        ("crates/eng/src/passwd.rs", IMPL),
        (
            "crates/eng/src/group.rs",
            &IMPL.replace(
                "identity.passwd.current-user",
                "identity.group.current-group",
            ),
        ),
    ]);
    let passwd = ("eng", "passwd::tests::writes_entry", Outcome::Passed);
    let group = ("eng", "group::tests::writes_entry", Outcome::Passed);
    f.record(&[passwd, group]);
    // Only the group's test again: the passwd result stays, and still counts.
    f.record_narrowed(&[group]);
    assert_eq!(f.problems(), vec![]);
    // The passwd code changes; a narrowed run of the group's test cannot vouch for it.
    std::fs::write(
        f.root().join("crates/eng/src/passwd.rs"),
        IMPL.replace("0\n}", "1\n}"),
    )
    .unwrap();
    f.record_narrowed(&[group]);
    assert_only(
        &f.problems(),
        ProblemKind::Stale,
        "book/src/identity.md",
        5,
        "crates/eng/src/passwd.rs changed after the tests ran",
    );
    f.record_narrowed(&[passwd]);
    assert_eq!(f.problems(), vec![]);
}

#[test]
fn without_evidence_nothing_counts_as_verified() {
    let f = good_fixture();
    let p = f.problems();
    assert!(
        p.iter().any(|p| p.kind == ProblemKind::NoEvidence),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|p| p.kind == ProblemKind::Untested && p.message.contains("has no evidence"))
    );
}

#[test]
fn test_links_in_fixture_directories_are_not_scanned() {
    let f = Fixture::new(&[
        ("book/src/identity.md", &block(GOOD)),
        ("crates/eng/src/lib.rs", IMPL),
        (
            "crates/eng/tests/ui/bad.rs",
            "#[implements(\"no.such\")]\nfn x() {}\n",
        ),
    ]);
    f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
    assert_eq!(f.problems(), vec![]);
}

/// `locald-spec lock` in the fixture: spec.lock confirms the book's requirements as they are.
fn lock(f: &Fixture) {
    let registry = locald_spec_core::Registry::load(f.root(), &f.root().join("book/src")).unwrap();
    std::fs::write(
        f.root().join("spec.lock"),
        locald_spec_core::lock::render(&registry),
    )
    .unwrap();
}

#[test]
fn an_edited_requirement_is_suspect_until_confirmed() {
    let f = good_fixture();
    f.record(&[("eng", "tests::writes_entry", Outcome::Passed)]);
    lock(&f);
    assert_eq!(f.problems(), vec![]);
    // Re-wrapping is not a change of meaning; changing a word is.
    let edited = block(&GOOD.replace("writes an entry.", "writes\n  an entry."));
    std::fs::write(f.root().join("book/src/identity.md"), &edited).unwrap();
    assert_eq!(f.problems(), vec![]);
    std::fs::write(
        f.root().join("book/src/identity.md"),
        block(&GOOD.replace("writes an entry", "may write an entry")),
    )
    .unwrap();
    assert_only(
        &f.problems(),
        ProblemKind::Suspect,
        "book/src/identity.md",
        5,
        "links of `identity.passwd.current-user` are suspect: its text changed",
    );
    lock(&f);
    assert_eq!(f.problems(), vec![]);
}

#[test]
fn requirements_follow_the_summary_order_then_unlisted_files_by_path() {
    let req = |id: &str| block(&GOOD.replace("identity.passwd.current-user", id));
    let f = Fixture::new(&[
        (
            "book/src/SUMMARY.md",
            "# Summary\n\n- [Zeta](zeta.md)\n- [Nested](part/alpha.md)\n- [Mid](./mid.md)\n",
        ),
        ("book/src/alpha.md", &req("alpha.unlisted")),
        ("book/src/mid.md", &req("mid.listed-third")),
        ("book/src/part/alpha.md", &req("part.listed-second")),
        ("book/src/zeta.md", &req("zeta.listed-first")),
    ]);
    let registry = locald_spec_core::Registry::load(f.root(), &f.root().join("book/src")).unwrap();
    let ids: Vec<&str> = registry
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "zeta.listed-first",
            "part.listed-second",
            "mid.listed-third",
            "alpha.unlisted"
        ]
    );
}
