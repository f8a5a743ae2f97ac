//! End-to-end tests: the `locald-engine` binary runs a busybox rootfs under real runc, as root
//! and rootless (as the unprivileged user `locald-test`, whose uid/gid become 0 inside), and
//! the tests look at what the workload observes.
//!
//! Modules mirror the specification's chapters; each test names the requirements it observes
//! with `#[verifies]`. A missing prerequisite (runc, busybox-static, root, the test user) fails
//! the test with a message naming it, in every environment: a test that returned early would be
//! recorded as passed and count as evidence.

#![cfg(target_os = "linux")]

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use locald_spec_macros::{variants, verifies, verifies_in};
use locald_testkit::{Rootfs, Users, require_root, require_runc, static_init};

mod cnb;
mod confinement;
mod environment;
mod filesystems;
mod identity;
mod isolation;
mod layer;
mod lifecycle;
mod names;
mod process;
mod security;
mod signals;
mod stopping;
