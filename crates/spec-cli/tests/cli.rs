//! The `locald-spec` command on fixture projects: the JSON report's shape, strict exit codes,
//! and a real site build with the preprocessor in-process.

use std::path::Path;
use std::process::Command;

const BOOK: &str = "# Identity\n\n```requirement\nid: identity.passwd.current-user\nlevel: MUST\naction: The engine writes an entry for the `uid`.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\n```\n\n```requirement\nid: identity.group.current-group\nlevel: SHOULD\naction: The engine writes a group entry.\nprovenance:\n  - source: posix\n    cite: XSH getgrgid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getgrgid.html\n```\n";

const CODE: &str = "#[implements(\"identity.passwd.current-user\")]\npub fn entry() -> u32 {\n    0\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    #[verifies(\"identity.passwd.current-user\")]\n    fn writes_entry() {}\n}\n";

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "book.toml",
            "[book]\ntitle = \"fixture\"\nsrc = \"book/src\"\n\n[build]\nbuild-dir = \"site\"\n\n[preprocessor.locald-spec]\ncommand = \"false\"\nbefore = [\"links\"]\n",
        ),
        (
            "book/src/SUMMARY.md",
            "# Summary\n\n- [Identity](identity.md)\n- [Matrix](matrix.md)\n",
        ),
        ("book/src/identity.md", BOOK),
        (
            "book/src/matrix.md",
            "# Matrix\n\n{{#locald-spec matrix}}\n",
        ),
        (
            "crates/eng/Cargo.toml",
            "[package]\nname = \"eng\"\nversion = \"0.0.0\"\n",
        ),
        ("crates/eng/src/lib.rs", CODE),
        (
            "target/locald-spec/evidence.json",
            r#"{"runs":[{"started_at":0,"runner":"fixture","sources":{}}],"tests":[{"binary":"eng","name":"tests::writes_entry","outcome":"passed","run":0}]}"#,
        ),
    ];
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// `locald-spec --project DIR ARGS`, with no strictness or evidence path from the environment.
fn spec_command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_locald-spec"));
    c.arg("--project")
        .arg(dir)
        .args(args)
        .env_remove("LOCALD_SPEC_STRICT")
        .env_remove("LOCALD_SPEC_EVIDENCE");
    c
}

fn spec(dir: &Path, args: &[&str]) -> std::process::Output {
    spec_command(dir, args).output().unwrap()
}

#[test]
fn check_json_has_the_documented_shape() {
    let dir = fixture();
    let out = spec(dir.path(), &["check", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reqs = v["requirements"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    let r = &reqs[0];
    assert_eq!(r["id"], "identity.passwd.current-user");
    assert_eq!(r["level"], "MUST");
    assert_eq!(r["chapter"], "identity");
    // The evidence recorded no digest for the code file, so it cannot vouch for it: stale.
    assert_eq!(r["status"], "stale");
    assert_eq!(r["implementations"][0]["file"], "crates/eng/src/lib.rs");
    assert_eq!(r["implementations"][0]["line"], 1);
    assert_eq!(r["implementations"][0]["item"], "fn entry");
    assert_eq!(r["tests"][0]["name"], "tests::writes_entry");
    assert_eq!(r["tests"][0]["outcome"], "passed");
    assert_eq!(reqs[1]["status"], "unimplemented");
    let kinds: Vec<_> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["stale", "unimplemented"]);
    let p = &v["problems"][1];
    assert_eq!(
        (p["id"].as_str(), p["file"].as_str(), p["line"].as_u64()),
        (
            Some("identity.group.current-group"),
            Some("book/src/identity.md"),
            Some(13)
        )
    );
}

#[test]
fn strict_check_fails_naming_the_requirement() {
    let dir = fixture();
    let out = spec(dir.path(), &["check", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("book/src/identity.md:13: unimplemented: [identity.group.current-group]"),
        "{text}"
    );
    assert!(
        spec(dir.path(), &["check"]).status.success(),
        "non-strict check reports but passes"
    );
}

#[test]
fn build_renders_boxes_and_matrix_and_strict_build_fails() {
    let dir = fixture();
    let out = spec(dir.path(), &["build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("site/identity.html")).unwrap();
    assert!(
        html.contains("id=\"req-identity.passwd.current-user\""),
        "anchor"
    );
    assert!(
        html.contains("<span class=\"req-level level-must\">MUST</span>"),
        "level badge"
    );
    assert!(
        html.contains("The engine writes an entry for the <code>uid</code>."),
        "action"
    );
    assert!(
        html.contains("pub fn entry() -&gt; u32"),
        "implementation snippet"
    );
    assert!(html.contains("outcome-passed"), "test outcome");
    assert!(
        html.contains(
            "href=\"https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\""
        ),
        "provenance link"
    );
    let matrix = std::fs::read_to_string(dir.path().join("site/matrix.html")).unwrap();
    assert!(
        matrix.contains(
            "<tr data-chapter=\"identity\"><td><a href=\"identity.html\">identity</a></td><td>2</td><td>0</td>"
        ),
        "matrix row"
    );
    assert!(
        matrix.contains("identity.html#req-identity.group.current-group"),
        "link to the unverified one"
    );

    let out = spec(dir.path(), &["build", "--strict"]);
    assert!(
        !out.status.success(),
        "strict build must fail with problems"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("problem(s) found in strict mode"));
}

#[test]
fn lock_then_edit_makes_links_suspect_and_diff_lists_the_change() {
    let dir = fixture();
    let before = spec(dir.path(), &["check", "--json"]);
    std::fs::write(dir.path().join("old.json"), &before.stdout).unwrap();
    assert!(spec(dir.path(), &["lock"]).status.success());
    assert!(spec(dir.path(), &["lock", "--check"]).status.success());

    let chapter = dir.path().join("book/src/identity.md");
    let text = std::fs::read_to_string(&chapter).unwrap();
    std::fs::write(
        &chapter,
        text.replace("writes a group entry", "may write a group entry")
            .replace("level: SHOULD", "level: MAY"),
    )
    .unwrap();
    let out = spec(dir.path(), &["check", "--strict"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("suspect: [identity.group.current-group]"),
        "{stdout}"
    );
    assert!(!spec(dir.path(), &["lock", "--check"]).status.success());

    let after = spec(dir.path(), &["check", "--json"]);
    std::fs::write(dir.path().join("new.json"), &after.stdout).unwrap();
    let out = spec(dir.path(), &["diff", "old.json", "new.json", "--json"]);
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["changed"][0]["id"], "identity.group.current-group");
    assert_eq!(
        d["changed"][0]["level"],
        serde_json::json!(["SHOULD", "MAY"])
    );
    assert_eq!(d["added"], serde_json::json!([]));
    assert_eq!(
        d["changed"][0]["fields"],
        serde_json::json!(["level", "action"])
    );
    let md = String::from_utf8(spec(dir.path(), &["diff", "old.json", "new.json"]).stdout).unwrap();
    assert!(
        md.contains(
            "- `identity.group.current-group`: level SHOULD → MAY; \
             action: The engine [-writes-]{+may write+} a group entry.\n"
        ),
        "{md}"
    );
}

/// The list `key` (`requirements`, `problems`) of `locald-spec check --json`'s report.
fn report_list(dir: &Path, key: &str) -> Vec<serde_json::Value> {
    let out = spec(dir, &["check", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[key].as_array().unwrap().clone()
}

fn git(dir: &Path, args: &[&str]) {
    locald_spec_core::git::git_for_tests(dir, args);
}

#[test]
fn confirming_an_edit_with_lock_clears_the_suspect() {
    let dir = fixture();
    assert!(spec(dir.path(), &["lock"]).status.success());
    let chapter = dir.path().join("book/src/identity.md");
    let text = std::fs::read_to_string(&chapter).unwrap();
    std::fs::write(
        &chapter,
        text.replace("writes an entry", "writes one entry"),
    )
    .unwrap();
    let suspect = |dir: &Path| {
        report_list(dir, "problems")
            .iter()
            .filter(|p| p["kind"] == "suspect")
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(suspect(dir.path()), ["identity.passwd.current-user"]);
    assert!(!spec(dir.path(), &["lock", "--check"]).status.success());
    // After review: confirmed, no longer suspect.
    assert!(spec(dir.path(), &["lock"]).status.success());
    assert!(spec(dir.path(), &["lock", "--check"]).status.success());
    assert!(suspect(dir.path()).is_empty());
}

/// The fixture as a git repository whose one commit holds the book.
fn committed_fixture() -> tempfile::TempDir {
    let dir = fixture();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "book.toml", "book/src"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

#[test]
fn diff_and_changelog_work_across_git_revisions() {
    let dir = committed_fixture();
    let d = dir.path();
    git(d, &["tag", "v0.1.0"]);
    let chapter = d.join("book/src/identity.md");
    let text = std::fs::read_to_string(&chapter).unwrap();
    std::fs::write(
        &chapter,
        format!(
            "{}\n```requirement\nid: identity.home\nlevel: MAY\naction: The engine sets HOME.\nprovenance:\n  - source: posix\n    cite: XBD 8.3\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/basedefs/V1_chap08.html\n```\n",
            text.replace("level: SHOULD", "level: MUST")
        ),
    )
    .unwrap();
    git(d, &["commit", "-q", "-am", "second"]);

    let out = spec(d, &["diff", "v0.1.0", "HEAD", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["added"], serde_json::json!(["identity.home"]));
    assert_eq!(v["changed"][0]["id"], "identity.group.current-group");
    assert_eq!(
        v["changed"][0]["level"],
        serde_json::json!(["SHOULD", "MUST"])
    );
    let md = String::from_utf8(spec(d, &["diff", "HEAD~1", "HEAD"]).stdout).unwrap();
    assert!(md.contains("### Added\n\n- `identity.home`"), "{md}");
    let bad = spec(d, &["diff", "v9.9.9", "HEAD"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            "v9.9.9 is neither a report file nor a git revision: no commit, tag or branch is \
             named `v9.9.9`; its release tags are v0.1.0\n"
        ),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // The changelog: unreleased since v0.1.0, and v0.1.0 as the initial version.
    let out = spec(d, &["changelog", "--json"]);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["releases"][0]["name"], "Unreleased");
    assert_eq!(log["releases"][0]["since"], "v0.1.0");
    assert_eq!(
        log["releases"][0]["diff"]["added"],
        serde_json::json!(["identity.home"])
    );
    assert_eq!(log["releases"][1]["name"], "v0.1.0");
    assert_eq!(log["releases"][1]["since"], serde_json::Value::Null);
    assert_eq!(
        log["releases"][1]["diff"]["added"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The site's changelog page and the box of what changed since the release.
    std::fs::write(
        d.join("book/src/SUMMARY.md"),
        "# Summary\n\n- [Identity](identity.md)\n- [Changelog](changelog.md)\n",
    )
    .unwrap();
    std::fs::write(
        d.join("book/src/changelog.md"),
        "# Changelog\n\n{{#locald-spec changelog}}\n",
    )
    .unwrap();
    let out = spec(d, &["build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(d.join("site/changelog.html")).unwrap();
    assert!(page.contains("id=\"release-v0.1.0\""), "{page}");
    assert!(
        page.contains("Changes since v0.1.0, not yet released."),
        "{page}"
    );
    let identity = std::fs::read_to_string(d.join("site/identity.html")).unwrap();
    assert!(
        identity.contains(">new since v0.1.0</a>"),
        "new requirement marked"
    );
    assert!(
        identity.contains(">changed since v0.1.0</a>"),
        "changed requirement marked"
    );
}

/// Runs `locald-spec ARGS` with its standard output a pipe whose reading end is already closed,
/// as in `locald-spec check --json | head -0`: every write to it fails.
fn spec_into_closed_pipe(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    spec_command(dir, args).stdout(writer).output().unwrap()
}

/// Whether a command whose reader went away ended as `cat` does: killed by SIGPIPE (or done
/// before writing), saying nothing about the pipe on standard error (a build's own warnings
/// may be there).
fn ended_quietly(out: &std::process::Output) -> Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let by_sigpipe = out.status.signal() == Some(13);
    let complains = stderr.contains("Broken pipe") || stderr.contains("panicked");
    if (by_sigpipe || out.status.success()) && !complains {
        Ok(())
    } else {
        Err(format!("{}, stderr: {stderr}", out.status))
    }
}

#[test]
fn every_subcommand_ends_quietly_on_a_closed_pipe() {
    let dir = fixture();
    let report = spec(dir.path(), &["check", "--json"]);
    std::fs::write(dir.path().join("old.json"), &report.stdout).unwrap();
    let commands: [&[&str]; 10] = [
        &["check"],
        &["check", "--json"],
        &["check", "--strict"],
        &["changelog"],
        &["changelog", "--json"],
        &["diff", "old.json", "old.json"],
        &["lock", "--check"],
        &["build"],
        &["--help"],
        &["--version"],
    ];
    let failures: Vec<String> = commands
        .iter()
        .filter_map(|args| {
            ended_quietly(&spec_into_closed_pipe(dir.path(), args))
                .err()
                .map(|e| format!("locald-spec {}: {e}", args.join(" ")))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    // The same commands with a reader print normally.
    assert!(!spec(dir.path(), &["check"]).stdout.is_empty());
}

#[test]
fn diff_against_a_missing_tag_says_there_are_no_tags() {
    let dir = committed_fixture();
    let d = dir.path();
    let out = spec(d, &["diff", "v0.1.0", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "no commit, tag or branch is named `v0.1.0`; the repository has no release tags \
             (v*) yet: compare commits, e.g. HEAD~1 HEAD\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(": )"), "{stderr}");
}

/// A stand-in for `cargo`: `locald-spec test` runs `$CARGO nextest run ...`; this records the
/// arguments and writes `$FAKE_JUNIT` where nextest writes its JUnit report.
const FAKE_CARGO: &str = "#!/bin/sh\necho \"$@\" >> cargo-args\nmkdir -p target/nextest/ci\nprintf '%s' \"$FAKE_JUNIT\" > target/nextest/ci/junit.xml\n";

fn junit(tests: &[&str]) -> String {
    let cases: String = tests
        .iter()
        .map(|t| format!("<testcase name=\"{t}\" classname=\"eng\" time=\"0.1\"/>"))
        .collect();
    format!("<testsuites><testsuite name=\"eng\">{cases}</testsuite></testsuites>")
}

#[test]
fn a_narrowed_test_run_merges_into_the_evidence() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fixture();
    let d = dir.path();
    std::fs::remove_file(d.join("target/locald-spec/evidence.json")).unwrap();
    std::fs::write(d.join("crates/eng/src/lib.rs"), "mod group;\nmod passwd;\n").unwrap();
    std::fs::write(d.join("crates/eng/src/passwd.rs"), CODE).unwrap();
    std::fs::write(
        d.join("crates/eng/src/group.rs"),
        CODE.replace(
            "identity.passwd.current-user",
            "identity.group.current-group",
        ),
    )
    .unwrap();
    let cargo = d.join("fake-cargo");
    std::fs::write(&cargo, FAKE_CARGO).unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let test = |args: &[&str], tests: &[&str]| {
        let out = spec_command(d, &[&["test"], args].concat())
            .env("CARGO", &cargo)
            .env("FAKE_JUNIT", junit(tests))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let verified = || {
        report_list(d, "requirements")
            .iter()
            .filter(|r| r["status"] == "verified")
            .count()
    };
    let both = ["passwd::tests::writes_entry", "group::tests::writes_entry"];
    test(&[], &both);
    assert_eq!(verified(), 2);

    let said = test(&["--", "group::"], &both[1..]);
    assert!(
        said.contains("merged 1 test result(s) of this narrowed run"),
        "{said}"
    );
    assert_eq!(
        verified(),
        2,
        "the passwd test's earlier result still counts"
    );
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("target/locald-spec/evidence.json")).unwrap())
            .unwrap();
    assert_eq!(ev["runs"][1]["filter"], serde_json::json!(["group::"]));
    assert_eq!(ev["tests"].as_array().unwrap().len(), 2);
    let args = std::fs::read_to_string(d.join("cargo-args")).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "nextest run --profile ci --workspace",
            "nextest run --profile ci --workspace group::"
        ]
    );

    // A run of the whole suite replaces the evidence: a test it does not report did not run.
    test(&[], &both[1..]);
    assert_eq!(verified(), 1);
}
