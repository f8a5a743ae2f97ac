//! The mdBook preprocessor of the locald Container Engine Specification.
//!
//! It runs the same check as `locald-spec check` (one library, [`locald_spec_core`], so the two
//! never disagree) and rewrites the book:
//!
//! - [`boxes`]: each ```` ```requirement ```` block becomes a box with its anchor, level, status,
//!   provenance, the implementing code and the linked tests with their outcomes;
//! - [`pages`]: the `{{#locald-spec NAME}}` directives, each rendered by its own module:
//!   [`matrix`] (`summary`, `matrix`), [`index`] (`index`, with its filters), [`engines`]
//!   (`conformance`), [`bibliography`] (`bibliography`) and [`changelog`] (`changelog`);
//! - [`snippet`]: `{{#snippet FILE}}` and `{{#snippet FILE:ANCHOR}}` embed source, and fail the
//!   build when the file or anchor is missing (mdBook's own `{{#include}}` yields nothing).
//!
//! In strict mode (`LOCALD_SPEC_STRICT=1`, or `strict = true` in `[preprocessor.locald-spec]`)
//! any problem the checker finds fails the build.
#![warn(missing_docs)]

pub mod bibliography;
pub mod boxes;
pub mod changelog;
pub mod engines;
pub mod html;
pub mod index;
pub mod matrix;
pub mod pages;
pub mod snippet;

use anyhow::{Context, bail};
use locald_spec_core::history::Changelog;
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
        // Once per build: the boxes mark what changed since the last release, and the changelog
        // page lists every release. Without git or tags this is cheap and never an error.
        let history = locald_spec_core::history::changelog(
            &project.root,
            &src_rel,
            &locald_spec_core::diff::from_report(&report),
        );
        let mut errors = Vec::new();
        book.for_each_chapter_mut(|ch| {
            let Some(path) = ch.path.clone() else { return };
            let file = format!("{src_rel}/{}", path.display());
            let depth = path.components().count().saturating_sub(1);
            let page = Page {
                project: &project,
                report: &report,
                history: &history,
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
    /// The release history (git tags `v*`) of the requirements.
    pub history: &'a Changelog,
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
        let content = pages::expand(self, &content)?;
        snippet::expand(self.project, self.file, &content)
    }

    /// A relative link from this page to the anchor of requirement `id` in its chapter.
    pub fn link_to(&self, chapter: &str, id: &str) -> String {
        self.link_to_page(&format!("{chapter}.html#{}", boxes::anchor(id)))
    }

    /// A relative link from this page to `target`, a path from the book's root.
    pub fn link_to_page(&self, target: &str) -> String {
        format!("{}{target}", "../".repeat(self.depth))
    }
}

/// A small book checked without code or evidence, for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod fixture {
    use locald_spec_core::history::Changelog;
    use locald_spec_core::{Links, Project, Registry, Report, check};

    /// Two chapters: `a` with a MUST citing POSIX and Linux, and a SHOULD citing the same POSIX
    /// page; `b` with a MAY.
    pub const CHAPTERS: [(&str, &str, &str); 2] = [
        (
            "book/src/a.md",
            "a",
            "# A\n\n```requirement\nid: a.one\nlevel: MUST\naction: The engine writes `x`.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://example.org/getpwuid.html\n  - source: linux\n    cite: proc(5)\n    url: https://example.org/proc.5.html\n```\n\n```requirement\nid: a.two\nlevel: SHOULD\naction: The engine reads it.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid(), RETURN VALUE\n    url: https://example.org/getpwuid.html\n```\n",
        ),
        (
            "book/src/b.md",
            "b",
            "# B\n\n```requirement\nid: b.three\nlevel: MAY\naction: The engine may.\nprovenance:\n  - source: other\n    cite: RFC 1\n    url: https://example.org/rfc1\n```\n",
        ),
    ];

    /// The project directory (a book.toml only), the report, and an empty history.
    pub fn report() -> (tempfile::TempDir, Project, Report, Changelog) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("book.toml"), "[book]\nsrc = \"book/src\"\n").unwrap();
        let project = Project::at(dir.path()).unwrap();
        let registry = Registry::from_chapters(CHAPTERS);
        assert!(registry.problems.is_empty(), "{:?}", registry.problems);
        let report = check(dir.path(), &registry, &Links::default(), None);
        (dir, project, report, Changelog::default())
    }
}
