//! `locald-spec build`: builds the site with mdbook-driver and the preprocessor in-process, so
//! no global `mdbook` install is needed. The configured command preprocessor of the same name is
//! replaced, not run twice.

use anyhow::Context;
use locald_spec_core::Project;
use mdbook_locald_spec::LocaldSpec;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `build`.
#[derive(clap::Args)]
pub struct Args {
    /// Fail on any problem the checker finds (also: LOCALD_SPEC_STRICT=1).
    #[arg(long)]
    strict: bool,
    /// Where to write the site (default: `build.build-dir` of book.toml).
    #[arg(long)]
    dest: Option<PathBuf>,
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let mut book = mdbook_driver::MDBook::load(&project.root)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("cannot load the book")?;
    if let Some(dest) = &args.dest {
        book.config.build.build_dir = dest.clone();
    }
    book.with_preprocessor(LocaldSpec::with_strict(crate::strict(args.strict)));
    book.build().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let out = project.root.join(&book.config.build.build_dir);
    println!("site built: {}", out.join("index.html").display());
    Ok(ExitCode::SUCCESS)
}
