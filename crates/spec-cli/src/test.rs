//! `locald-spec test`: runs cargo-nextest with the `ci` profile and turns its JUnit report into
//! the evidence file. Source digests are taken before the run starts, so a file edited while the
//! tests run makes its requirements stale rather than falsely verified. A run of the whole suite
//! replaces the evidence; a run narrowed by arguments after `--` is merged into it.

use anyhow::{Context, bail};
use locald_spec_core::evidence::{Evidence, Run, digest_files, parse_junit};
use locald_spec_core::{Project, links};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

/// Options of `test`.
#[derive(clap::Args)]
pub struct Args {
    /// Arguments passed on to `cargo nextest run` (after `--`).
    #[arg(last = true)]
    nextest: Vec<String>,
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let files = links::scan(&project.root, &project.code_dirs()).files;
    let sources = digest_files(&project.root, &files);
    let started = SystemTime::now();
    // `.config/nextest.toml` pins the store to the workspace's target/nextest, whatever
    // CARGO_TARGET_DIR says.
    let junit: PathBuf = project.root.join("target/nextest/ci/junit.xml");
    let _ = std::fs::remove_file(&junit);
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&project.root)
        .args(["nextest", "run", "--profile", "ci"])
        .args(scope(&args.nextest))
        .args(&args.nextest)
        .status()
        .context("cannot run `cargo nextest` (install it with `cargo install cargo-nextest`)")?;
    if !junit.is_file() {
        bail!(
            "cargo nextest wrote no JUnit report at {} (exit status {status})",
            junit.display()
        );
    }
    let xml = std::fs::read_to_string(&junit)
        .with_context(|| format!("cannot read {}", junit.display()))?;
    let tests = parse_junit(&junit.display().to_string(), &xml)?;
    let run = Run {
        started_at: started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        runner: "cargo-nextest".into(),
        filter: args.nextest.clone(),
        sources,
    };
    let fresh = Evidence::of_run(run, tests);
    let reported = fresh.tests.len();
    let evidence = if args.nextest.is_empty() {
        // The whole suite: its report is the whole evidence.
        fresh
    } else {
        merge(project, fresh)?
    };
    evidence.write(&project.evidence)?;
    if args.nextest.is_empty() {
        eprintln!(
            "locald-spec: recorded {reported} test result(s) in {}",
            project.evidence.display()
        );
    } else {
        eprintln!(
            "locald-spec: merged {reported} test result(s) of this narrowed run into {}: {} \
             result(s) from {} run(s)",
            project.evidence.display(),
            evidence.tests.len(),
            evidence.runs.len()
        );
    }
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// A narrowed run (arguments after `--`) merged into the evidence already recorded: the tests it
/// ran take its results, the others keep theirs, each with the source digests of its own run.
fn merge(project: &Project, fresh: Evidence) -> anyhow::Result<Evidence> {
    if !project.evidence.exists() {
        return Ok(fresh);
    }
    let old = Evidence::read(&project.evidence).with_context(|| {
        "cannot merge this narrowed run into the evidence already recorded; run the whole suite \
         (`locald-spec test` with no arguments) to replace it"
    })?;
    Ok(old.merge(fresh))
}

/// `--workspace` unless the caller picked packages.
fn scope(args: &[String]) -> Option<&'static str> {
    let picked = args
        .iter()
        .any(|a| a == "-p" || a.starts_with("--package") || a == "--workspace");
    (!picked).then_some("--workspace")
}
