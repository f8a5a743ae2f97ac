//! `locald-spec changelog`: the requirements added, removed and changed by each release (git
//! tags `v*`), and since the last one — the history the site's changelog page shows.

use anyhow::Context;
use locald_spec_core::diff::from_registry;
use locald_spec_core::history::changelog;
use locald_spec_core::{Project, Registry};
use std::process::ExitCode;

/// Options of `changelog`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let registry =
        Registry::load(&project.root, &project.book_src).context("cannot read the book")?;
    let src = locald_spec_core::parse::rel(&project.root, &project.book_src);
    let log = changelog(&project.root, &src, &from_registry(&registry));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&log)?);
    } else {
        print!("{}", log.to_markdown());
    }
    Ok(ExitCode::SUCCESS)
}
