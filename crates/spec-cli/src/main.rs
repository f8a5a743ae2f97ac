//! `locald-spec`: the spec tooling. `check` verifies the book against the code and the test
//! evidence; `test` runs the test suite and records that evidence; `build` builds the site.

mod build;
mod changelog;
mod check;
mod diff;
mod lock;
mod test;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "locald-spec",
    version,
    about = "Check, test and build the locald Container Engine Specification"
)]
struct Cli {
    /// The project directory (the one holding book.toml, or below it).
    #[arg(long, global = true, default_value = ".")]
    project: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify every requirement against its implementation and test evidence.
    Check(check::Args),
    /// Run the test suite with cargo-nextest and record the results as evidence.
    Test(test::Args),
    /// Build the site with the preprocessor in-process (no global mdbook needed).
    Build(build::Args),
    /// Confirm, after review, that every requirement's links match its text (writes spec.lock).
    Lock(lock::Args),
    /// List requirements added, removed, changed and newly unverified between two versions.
    Diff(diff::Args),
    /// What each release (git tags `v*`) added, removed and changed, and what is unreleased.
    Changelog(changelog::Args),
    /// Run the conformance probe under every available engine configuration (this engine root,
    /// rootless and on a private network, bare runc, Podman, Docker) and write the results the
    /// book shows.
    Conform(locald_probe::conform::Cli),
}

fn main() -> ExitCode {
    locald_spec_core::sigpipe::restore_default();
    let cli = Cli::parse();
    let result = locald_spec_core::Project::discover(&cli.project)
        .map_err(anyhow::Error::from)
        .and_then(|project| match cli.command {
            Command::Check(a) => check::run(&project, a),
            Command::Test(a) => test::run(&project, a),
            Command::Build(a) => build::run(&project, a),
            Command::Lock(a) => lock::run(&project, a),
            Command::Diff(a) => diff::run(&project, a),
            Command::Changelog(a) => changelog::run(&project, a),
            Command::Conform(a) => Ok(locald_probe::conform::main_with(&a)),
        });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("locald-spec: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether strict mode is on: the flag, or `LOCALD_SPEC_STRICT` set to anything but `0`.
fn strict(flag: bool) -> bool {
    flag || std::env::var_os(mdbook_locald_spec::STRICT_ENV)
        .is_some_and(|v| !v.is_empty() && v != "0")
}
