//! The engine's duties, in the order they plan a container: one function per chapter of the
//! specification, each with the same signature, over a [`Context`] that computes once the facts
//! several duties need (the hostname, the process identity).
//!
//! The order matters only where one duty reads what another planned: the filesystems bind the
//! files the names and DNS duties planned, and the init's mount (stopping) goes into the `/dev`
//! tmpfs the filesystems mounted. Everything else in `config.json` is keyed, not ordered.

use std::path::Path;

use oci_spec::image::ImageConfiguration;

use crate::error::Result;
use crate::host_files::HostFiles;
use crate::identity::{Identity, IdentityFiles};
use crate::options::RunOptions;
use crate::plan::Plan;
use crate::{
    dns, environment, filesystems, identity, isolation, names, process, security, stopping,
};

/// What a plan is built from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The image configuration.
    pub image: &'a ImageConfiguration,
    /// The image's /etc/passwd and /etc/group.
    pub identity_files: &'a IdentityFiles,
    /// The host's /etc/hosts and resolver files.
    pub host_files: &'a HostFiles,
    /// The caller's choices.
    pub options: &'a RunOptions,
    /// Absolute path of the image rootfs on the host.
    pub rootfs: &'a Path,
    /// Final path of the bundle directory (generated files are bind-mounted from here).
    pub state_dir: &'a Path,
    /// The container id.
    pub id: &'a str,
}

/// What every duty plans from: the input, and the facts computed once for all of them.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The input.
    pub input: &'a PlanInput<'a>,
    /// The container's hostname ([`names::hostname_for`]).
    pub hostname: String,
    /// The process identity, its home filled in ([`identity::resolve`]).
    pub identity: Identity,
}

impl<'a> Context<'a> {
    /// Compute the shared facts; an unusable hostname or user is an error here, before any
    /// duty runs.
    pub fn new(input: &'a PlanInput<'a>) -> Result<Context<'a>> {
        Ok(Context {
            hostname: names::hostname_for(input.options, input.id)?,
            identity: identity::resolve(input)?,
            input,
        })
    }

    /// The caller's options.
    pub fn options(&self) -> &'a RunOptions {
        self.input.options
    }

    /// The image configuration.
    pub fn image(&self) -> &'a ImageConfiguration {
        self.input.image
    }
}

/// A duty: plans its chapter's entries.
pub type Duty = fn(&mut Plan, &Context<'_>) -> Result<()>;

/// The duties in planning order, each with its chapter.
pub const DUTIES: [(&str, Duty); 9] = [
    ("isolation", isolation::plan),
    ("identity", identity::plan),
    ("names", names::plan),
    ("dns", dns::plan),
    ("process", process::plan),
    ("environment", environment::plan),
    // After names and dns: binds the files they planned.
    ("filesystems", filesystems::plan),
    // After filesystems: the init is mounted in the /dev tmpfs.
    ("stopping", stopping::plan),
    ("security", security::plan),
];

impl Plan {
    /// Build the plan for one container: every duty of [`DUTIES`], in order. Pure: no I/O.
    ///
    /// ```
    /// use locald_engine::{host_files::HostFiles, identity::IdentityFiles, Plan, PlanInput, RunOptions};
    /// use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
    ///
    /// let image = ImageConfigurationBuilder::default()
    ///     .config(ConfigBuilder::default().cmd(vec!["sh".to_string()]).build()?)
    ///     .build()?;
    /// let plan = Plan::build(&PlanInput {
    ///     image: &image,
    ///     identity_files: &IdentityFiles::default(),
    ///     host_files: &HostFiles::default(),
    ///     options: &RunOptions::default(),
    ///     rootfs: "/images/busybox".as_ref(),
    ///     state_dir: "/var/lib/locald-engine/bundles/c1".as_ref(),
    ///     id: "c1",
    /// })?;
    /// assert!(plan.entries().iter().any(|e| e.requirement == "filesystems.proc"));
    /// assert_eq!(plan.env_value("PATH").as_deref(), Some(locald_engine::environment::DEFAULT_PATH));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(input: &PlanInput<'_>) -> Result<Plan> {
        let ctx = Context::new(input)?;
        let mut plan = Plan::default();
        for (_, duty) in DUTIES {
            duty(&mut plan, &ctx)?;
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests;
