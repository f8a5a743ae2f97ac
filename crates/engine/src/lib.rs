//! locald-engine: the reference implementation of the locald Container Engine Specification.
//!
//! From an OCI image configuration, an image rootfs directory and [`RunOptions`], the engine
//! builds a [`Plan`] (every decision tagged with the requirement ID that asks for it), turns it
//! into an OCI runtime [`Spec`](oci_spec::runtime::Spec), writes a per-container state
//! directory ([`prepare`]) and runs it under runc ([`Runtime`]).
//!
//! ```no_run
//! use locald_engine::{prepare, RunOptions, Runtime};
//! use oci_spec::image::ImageConfiguration;
//!
//! let image = ImageConfiguration::from_file("image-config.json")?;
//! let opts = RunOptions {
//!     env: vec![("PORT".into(), "8080".into())],
//!     ..RunOptions::rootless_for_current_user()
//! };
//! let bundle = prepare(&image, "/images/app".as_ref(), &opts, "/tmp/state/app".as_ref(), "app")?;
//! let code = Runtime::find()?.run(&bundle)?;
//! bundle.remove()?;
//! std::process::exit(code);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules that decide what a container gets mirror the specification's chapters, one
//! module per chapter: [`identity`], [`environment`], [`filesystems`], [`process`],
//! [`security`], [`isolation`], [`names`] and [`dns`] ([`layer`] gives each container its own
//! writable layer over the image, for [`filesystems`]); [`cnb`] holds the Cloud Native
//! Buildpacks profile. Each
//! requirement's implementing items carry `#[implements("id")]` and its tests
//! `#[verifies("id")]`; every plan entry names its requirement with [`requirement!`], checked
//! at compile time. [`duties`] runs the chapters' duties in order.

#![warn(missing_docs)]

pub mod bundle;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cnb;
pub mod dns;
pub mod duties;
pub mod environment;
pub mod error;
pub mod filesystems;
pub mod host_files;
pub mod identity;
pub mod isolation;
pub mod layer;
pub mod limits;
pub mod names;
pub mod options;
pub mod plan;
pub mod process;
pub mod rootfs;
pub mod runtime;
pub mod security;
pub mod spec;
pub mod state;
pub mod stopping;
#[cfg(target_os = "linux")]
mod tree;

pub use bundle::{Bundle, prepare};
pub use duties::PlanInput;
pub use error::{Error, Result};
pub use options::{
    BindMount, DnsOptions, ExtraHost, IdMapping, MappedUser, NetworkMode, RunOptions,
    SubordinateIds, UsernsCreator,
};
pub use plan::{Entry, Item, Plan, Requirement};

#[doc(hidden)]
pub use locald_spec_macros as __spec_macros;
pub use rootfs::ImageRoot;
pub use runtime::{Container, StopPolicy, Stopped};
#[cfg(feature = "runc")]
pub use runtime::{Running, Runtime, Stopper};

/// The OCI types the engine's API speaks (`Spec`, `ImageConfiguration`, ...), re-exported so that
/// a caller uses the very version the engine was built with.
pub use oci_spec;
