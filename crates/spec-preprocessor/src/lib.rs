//! The mdBook preprocessor of the locald Container Engine Specification.
//!
//! It runs the same check as `locald-spec check` (one library, [`locald_spec_core`], so the two
//! never disagree) and rewrites the book:
//!
//! - [`boxes`]: each ```` ```requirement ```` block becomes a box with its anchor, level, status,
//!   provenance, the implementing code and the linked tests with their outcomes;
//! - [`pages`]: `{{#locald-spec matrix}}` and `{{#locald-spec index}}` become the traceability
//!   matrix and the requirement index;
//! - [`snippet`]: `{{#snippet FILE}}` and `{{#snippet FILE:ANCHOR}}` embed source, and fail the
//!   build when the file or anchor is missing (mdBook's own `{{#include}}` yields nothing).
//!
//! In strict mode (`LOCALD_SPEC_STRICT=1`, or `strict = true` in `[preprocessor.locald-spec]`)
//! any problem the checker finds fails the build.
#![warn(missing_docs)]

pub mod boxes;
pub mod html;
pub mod pages;
pub mod snippet;

use anyhow::{Context, bail};
use locald_spec_core::{Project, Report, check_project};
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

/// The preprocessor's name in `book.toml` (`[preprocessor.locald-spec]`).
pub const NAME: &str = "locald-spec";
/// Environment variable that turns strict mode on.
pub const STRICT_ENV: &str = "LOCALD_SPEC_STRICT";

/// The preprocessor.
#[derive(Debug, Default, Clone)]
pub struct LocaldSpec {
    strict: Option<bool>,
}

impl LocaldSpec {
    /// A preprocessor whose strictness comes from the environment and `book.toml`.
    pub fn new() -> LocaldSpec {
        LocaldSpec { strict: None }
    }

    /// A preprocessor with strictness forced on or off.
    pub fn with_strict(strict: bool) -> LocaldSpec {
        LocaldSpec {
            strict: Some(strict),
        }
    }

    fn is_strict(&self, ctx: &PreprocessorContext) -> bool {
        if let Some(s) = self.strict {
            return s;
        }
        if let Some(v) = std::env::var_os(STRICT_ENV) {
            return v != "0" && !v.is_empty();
        }
        ctx.config
            .get::<bool>(&format!("preprocessor.{NAME}.strict"))
            .ok()
            .flatten()
            .unwrap_or(false)
    }
}

impl Preprocessor for LocaldSpec {
    fn name(&self) -> &str {
        NAME
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let project = Project::at(&ctx.root).context("locald-spec: cannot load the project")?;
        let report = check_project(&project);
        let strict = self.is_strict(ctx);
        if !report.problems.is_empty() {
            for p in &report.problems {
                eprintln!("{}: {p}", if strict { "error" } else { "warning" });
            }
            if strict {
                bail!(
                    "locald-spec: {} problem(s) found in strict mode; run `locald-spec check` for the report",
                    report.problems.len()
                );
            }
        }
        let src_rel = locald_spec_core::parse::rel(&project.root, &project.book_src);
        let mut errors = Vec::new();
        book.for_each_chapter_mut(|ch| {
            let Some(path) = ch.path.clone() else { return };
            let file = format!("{src_rel}/{}", path.display());
            let depth = path.components().count().saturating_sub(1);
            let page = Page {
                project: &project,
                report: &report,
                file: &file,
                depth,
            };
            match page.render(&ch.content) {
                Ok(c) => ch.content = c,
                Err(e) => errors.push(e),
            }
        });
        if !errors.is_empty() {
            let all: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
            bail!("locald-spec: {}", all.join("\n"));
        }
        Ok(book)
    }

    fn supports_renderer(&self, _renderer: &str) -> mdbook_preprocessor::errors::Result<bool> {
        Ok(true)
    }
}

/// One chapter being rendered.
pub struct Page<'a> {
    /// The project.
    pub project: &'a Project,
    /// The checker's report.
    pub report: &'a Report,
    /// The chapter's repository-relative path, for messages.
    pub file: &'a str,
    /// How many directories deep the chapter is below the book's root, for relative links.
    pub depth: usize,
}

impl Page<'_> {
    /// Renders one chapter's Markdown.
    pub fn render(&self, content: &str) -> anyhow::Result<String> {
        // Boxes first: they find blocks by their line in the file as written.
        let content = boxes::expand(self, content);
        let content = pages::expand(self, &content);
        snippet::expand(self.project, self.file, &content)
    }

    /// A relative link from this page to the anchor of requirement `id` in its chapter.
    pub fn link_to(&self, chapter: &str, id: &str) -> String {
        format!(
            "{}{chapter}.html#{}",
            "../".repeat(self.depth),
            boxes::anchor(id)
        )
    }
}
