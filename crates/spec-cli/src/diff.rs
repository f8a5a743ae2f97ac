//! `locald-spec diff OLD NEW`: what changed between two versions of the spec. Each side is a
//! report file written by `locald-spec check --json` (then statuses are compared too) or a git
//! revision of this repository.

use anyhow::{Context, anyhow};
use locald_spec_core::diff::{Snapshot, diff, from_registry, from_report, registry_at_revision};
use locald_spec_core::{Project, Report};
use std::process::ExitCode;

/// Options of `diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The old version: a report JSON file or a git revision.
    old: String,
    /// The new version: a report JSON file or a git revision.
    new: String,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

fn side(project: &Project, spec: &str) -> anyhow::Result<Vec<Snapshot>> {
    // A report file is looked for as given, then relative to the project root.
    let given = std::path::Path::new(spec);
    let path = if given.is_file() {
        given.to_path_buf()
    } else {
        project.root.join(spec)
    };
    if path.is_file() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {spec}"))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{spec} is not a `locald-spec check --json` report"))?;
        return Ok(from_report(&report));
    }
    let src = locald_spec_core::parse::rel(&project.root, &project.book_src);
    let registry = registry_at_revision(&project.root, &src, spec)
        .map_err(|e| anyhow!("{spec} is neither a report file nor a git revision: {e}"))?;
    Ok(from_registry(&registry))
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let d = diff(&side(project, &args.old)?, &side(project, &args.new)?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", d.to_markdown());
    }
    Ok(ExitCode::SUCCESS)
}
