//! The requirements model and checker of the locald Container Engine Specification.
//!
//! One library owns the whole join, so that the CLI (`locald-spec check`) and the mdBook
//! preprocessor are thin front ends that can never disagree:
//!
//! - [`parse`]: the book's ```` ```requirement ```` blocks → a [`Registry`];
//! - [`links`]: `#[implements]` / `#[verifies]` attributes in the code → [`Links`];
//! - [`evidence`]: the test runner's real report → [`Evidence`];
//! - [`check()`]: registry × links × evidence → a [`Report`] with a [`Status`] per requirement
//!   and every [`Problem`];
//! - [`diff`] and [`history`]: what changed between two versions, and from release to release.
#![warn(missing_docs)]

pub mod check;
pub mod conformance;
pub mod diff;
pub mod evidence;
pub mod git;
pub mod history;
pub mod links;
pub mod lock;
pub mod model;
pub mod parse;
pub mod placement;
pub mod problem;
pub mod project;
pub mod sigpipe;

pub use check::{Report, RequirementReport, Status, TestStatus, check, check_project};
pub use evidence::{Evidence, Outcome, TestResult};
pub use links::{Implementation, Links, TestLink, TestRef};
pub use model::{Level, Provenance, Requirement, SourceKind};
pub use parse::Registry;
pub use problem::{Problem, ProblemKind};
pub use project::Project;
