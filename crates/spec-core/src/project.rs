//! Where things are: the repository root (the directory holding `book.toml`), the book's
//! sources, the code that links to it and the evidence file.

use std::path::{Path, PathBuf};

/// Default code directories scanned for links, relative to the repository root.
pub const CODE_DIRS: [&str; 2] = ["crates", "examples"];
/// Default evidence file, relative to the repository root.
pub const EVIDENCE_FILE: &str = "target/locald-spec/evidence.json";
/// Environment variable that overrides the evidence file.
pub const EVIDENCE_ENV: &str = "LOCALD_SPEC_EVIDENCE";

/// A spec project on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The directory holding `book.toml`.
    pub root: PathBuf,
    /// The book's Markdown sources (`[book] src`).
    pub book_src: PathBuf,
    /// Directories scanned for `#[implements]` and `#[verifies]`, relative to `root`.
    pub code_dirs: Vec<String>,
    /// The evidence file.
    pub evidence: PathBuf,
    /// Base URL of the repository's source browser, for links to file:line.
    pub repository_url: Option<String>,
    /// The lock file of confirmed fingerprints.
    pub lock: PathBuf,
    /// The conformance results file written by `locald-conform`.
    pub conformance: PathBuf,
    /// Whether a requirement must be implemented in its chapter's module
    /// (`chapter-modules = true`), and the homes listed beside those
    /// (`[preprocessor.locald-spec.homes]`): see [`crate::placement`]. `None`: not checked.
    pub homes: Option<crate::placement::Homes>,
}

/// Errors locating a project.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `book.toml` in the start directory or above it.
    #[error("no book.toml found in {0} or any parent directory")]
    NotFound(PathBuf),
    /// `book.toml` is unreadable or malformed.
    #[error("{file}: {message}")]
    BadConfig {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Project {
    /// Finds the project whose `book.toml` is in `start` or the nearest parent.
    pub fn discover(start: &Path) -> Result<Project, ProjectError> {
        let start = start
            .canonicalize()
            .map_err(|_| ProjectError::NotFound(start.to_path_buf()))?;
        let root = start
            .ancestors()
            .find(|d| d.join("book.toml").is_file())
            .ok_or_else(|| ProjectError::NotFound(start.clone()))?;
        Project::at(root)
    }

    /// Loads the project rooted at `root` (which holds `book.toml`).
    pub fn at(root: &Path) -> Result<Project, ProjectError> {
        let file = root.join("book.toml");
        let bad = |message: String| ProjectError::BadConfig {
            file: file.clone(),
            message,
        };
        let text = std::fs::read_to_string(&file).map_err(|e| bad(e.to_string()))?;
        let config: toml::Value = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let src = config
            .get("book")
            .and_then(|b| b.get("src"))
            .and_then(|s| s.as_str())
            .unwrap_or("src");
        let ours = config
            .get("preprocessor")
            .and_then(|p| p.get("locald-spec"));
        let code_dirs = match ours.and_then(|o| o.get("code-dirs")) {
            None => CODE_DIRS.iter().map(|s| s.to_string()).collect(),
            Some(v) => v
                .as_array()
                .and_then(|a| a.iter().map(|d| d.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| {
                    bad("preprocessor.locald-spec.code-dirs must be a list of strings".into())
                })?,
        };
        let repository_url = ours
            .and_then(|o| o.get("repository-url"))
            .and_then(|u| u.as_str())
            .map(|u| u.trim_end_matches('/').to_owned());
        let chapter_modules = match ours.and_then(|o| o.get("chapter-modules")) {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                bad("preprocessor.locald-spec.chapter-modules must be true or false".into())
            })?,
        };
        let homes = match ours.and_then(|o| o.get("homes")) {
            None => Default::default(),
            Some(v) => v
                .as_table()
                .and_then(|t| {
                    t.iter()
                        .map(|(k, v)| {
                            let paths = v
                                .as_array()?
                                .iter()
                                .map(|p| p.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()?;
                            Some((k.clone(), paths))
                        })
                        .collect::<Option<crate::placement::Homes>>()
                })
                .ok_or_else(|| {
                    bad("preprocessor.locald-spec.homes must map IDs to lists of paths".into())
                })?,
        };
        let evidence = std::env::var_os(EVIDENCE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(EVIDENCE_FILE));
        Ok(Project {
            root: root.to_path_buf(),
            book_src: root.join(src),
            code_dirs,
            evidence,
            repository_url,
            lock: root.join(crate::lock::LOCK_FILE),
            conformance: root.join(crate::conformance::CONFORMANCE_FILE),
            homes: if chapter_modules {
                Some(homes)
            } else if homes.is_empty() {
                None
            } else {
                return Err(bad(
                    "preprocessor.locald-spec.homes is only read with chapter-modules = true"
                        .into(),
                ));
            },
        })
    }

    /// Whether `dir` holds the `book.toml` of a spec: one that configures this project's
    /// preprocessor (`[preprocessor.locald-spec]`), not any mdBook.
    pub fn is_spec_root(dir: &Path) -> bool {
        std::fs::read_to_string(dir.join("book.toml"))
            .ok()
            .and_then(|t| toml::from_str::<toml::Value>(&t).ok())
            .is_some_and(|c| {
                c.get("preprocessor")
                    .and_then(|p| p.get("locald-spec"))
                    .is_some()
            })
    }

    /// The code directories as `&str`s.
    pub fn code_dirs(&self) -> Vec<&str> {
        self.code_dirs.iter().map(String::as_str).collect()
    }
}
