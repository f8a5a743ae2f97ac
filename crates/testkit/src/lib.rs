//! Test support for locald-engine: real rootfs trees built from Debian's busybox-static,
//! prerequisite checks (runc, root), the unprivileged test user for rootless runs, and the
//! static `locald-init` ([`static_init`]).
//!
//! Prerequisite rule: when something a test needs is missing, the helper panics with a message
//! naming it and how to install it, in every environment. A test that returned early instead
//! would be recorded as passed, and a passed test is evidence that its requirements hold; a
//! test that cannot run must fail.
//!
//! ```no_run
//! let rootfs = locald_testkit::Rootfs::build(locald_testkit::Users::RootOnly);
//! assert!(rootfs.path().join("bin/sh").exists());
//! ```

#![warn(missing_docs)]

mod debian;
mod image;
mod init;
mod prereq;
mod rootfs;
mod tree;
mod user;

pub use debian::{DEBIAN_SUITE, debian_rootfs, debian_rootfs_for};
pub use image::image_config;
pub use init::static_init;
pub use prereq::{missing, require_busybox, require_root, require_runc};
pub use rootfs::{APPLETS, Rootfs, Users};
pub use tree::{chown_tree, tree_digest, tree_manifest};
pub use user::{SubordinateRanges, TEST_USER, TEST_USER2, TestUser, second_test_user, test_user};
