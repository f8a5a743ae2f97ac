//! `locald-spec lock`: records the current fingerprint of every requirement in `spec.lock`,
//! confirming after review that implementations and tests still match the text.

use anyhow::Context;
use locald_spec_core::{Project, Registry};
use std::process::ExitCode;

/// Options of `lock`.
#[derive(clap::Args)]
pub struct Args {
    /// Only report whether the lock file is up to date; exit 1 if not.
    #[arg(long)]
    check: bool,
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let registry =
        Registry::load(&project.root, &project.book_src).context("cannot read the book")?;
    let text = locald_spec_core::lock::render(&registry);
    let current = std::fs::read_to_string(&project.lock).unwrap_or_default();
    if args.check {
        let fresh = locald_spec_core::lock::parse(&current) == locald_spec_core::lock::parse(&text);
        println!(
            "{}: {}",
            project.lock.display(),
            if fresh { "up to date" } else { "out of date" }
        );
        return Ok(if fresh {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    std::fs::write(&project.lock, text)
        .with_context(|| format!("cannot write {}", project.lock.display()))?;
    println!(
        "{}: {} requirement(s) confirmed",
        project.lock.display(),
        registry.requirements.len()
    );
    Ok(ExitCode::SUCCESS)
}
