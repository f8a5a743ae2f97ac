//! What the engine acts on in a bundle after `prepare`: its record and five facts of its
//! `config.json`, read back without parsing the whole runtime spec.
//!
//! Starting a prepared bundle (`locald-engine start`) and refreshing its files
//! ([`crate::names::refresh`]) need the engine's record (`locald-bundle.json`), whether the
//! process has a terminal, its arguments (does the init take the lifeline?), the hostname,
//! whether the container has a network namespace of its own, and the sources of its mounts.
//! [`Bundle::open`] parses the whole of `config.json` into oci-spec's `Spec` instead, and that
//! deserializer validates `process.execCPUAffinity` with a regular expression: it links the
//! regex engine (regex-automata, regex-syntax, aho-corasick: 1.6 MB of the engine binary's 4.8
//! MB of code, and 51 of the 69 pages of data relocated at every start). The command line
//! reads these facts instead, so that its binary carries none of it: `run`'s own time was 0.23
//! ms shorter (the book's performance chapter). The runtime still reads and checks the whole
//! file.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxNamespaceType;
use serde::Deserialize;

use super::{Bundle, BundleInfo, CONFIG_FILE};
use crate::error::{Error, Result};

/// The largest `config.json` read back: the image configuration's own limit
/// ([`crate::limits::MAX_IMAGE_CONFIG_BYTES`]) twice over, for what the engine adds to it.
pub const MAX_CONFIG_BYTES: u64 = 2 * crate::limits::MAX_IMAGE_CONFIG_BYTES;

/// A prepared bundle as running it ([`crate::Runtime::spawn_facts`]) and refreshing its
/// generated files ([`crate::names::refresh`]) see it: its directory, the engine's record, and
/// the facts of its `config.json` they act on. [`BundleFacts::open`] reads them from the
/// directory without parsing the whole runtime spec (see the module's documentation);
/// [`BundleFacts::of`] takes them from a bundle in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFacts {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub state_dir: PathBuf,
    /// What `locald-bundle.json` records.
    pub info: BundleInfo,
    terminal: bool,
    args: Vec<String>,
    hostname: Option<String>,
    network_namespace: bool,
    /// Each mount's destination and source, in the spec's order.
    mounts: Vec<(PathBuf, Option<PathBuf>)>,
}

impl BundleFacts {
    /// Read the facts of the bundle [`crate::prepare`] wrote in `bundle_dir`: its
    /// `locald-bundle.json` ([`BundleInfo::read`]) and, from its `config.json`, only the members
    /// the facts come from (a regular file of at most [`MAX_CONFIG_BYTES`], opened without
    /// blocking). A directory without them, or a `config.json` that is not JSON or gives one of
    /// those members the wrong type, is [`Error::NotABundle`].
    ///
    /// ```no_run
    /// use locald_engine::bundle::BundleFacts;
    /// let facts = BundleFacts::open("/var/lib/locald-engine/bundles/app".as_ref())?;
    /// println!("{} {:?}", facts.id, facts.hostname());
    /// # Ok::<(), locald_engine::Error>(())
    /// ```
    pub fn open(bundle_dir: &Path) -> Result<BundleFacts> {
        let state_dir = crate::state::absolute(bundle_dir)?;
        let info = BundleInfo::read(&state_dir)?;
        let not = |reason: String| Error::NotABundle {
            path: state_dir.clone(),
            reason: format!("{CONFIG_FILE}: {reason}"),
        };
        let text = crate::limits::read_input_file(&state_dir.join(CONFIG_FILE), MAX_CONFIG_BYTES)
            .map_err(not)?;
        // serde_json's message names the line and column.
        let config: ConfigView = serde_json::from_slice(&text).map_err(|e| not(e.to_string()))?;
        let (terminal, args) = config
            .process
            .map_or((None, None), |p| (p.terminal, p.args));
        Ok(BundleFacts {
            id: info.id.clone(),
            state_dir,
            info,
            terminal: terminal.unwrap_or(false),
            args: args.unwrap_or_default(),
            hostname: config.hostname,
            network_namespace: config
                .linux
                .and_then(|l| l.namespaces)
                .is_some_and(|ns| ns.iter().any(|n| n.typ == "network")),
            mounts: config
                .mounts
                .unwrap_or_default()
                .into_iter()
                .map(|m| (m.destination, m.source))
                .collect(),
        })
    }

    /// The same facts of a bundle in hand, from its spec.
    pub fn of(bundle: &Bundle) -> BundleFacts {
        let spec = &bundle.spec;
        let process = spec.process().as_ref();
        BundleFacts {
            id: bundle.id.clone(),
            state_dir: bundle.state_dir.clone(),
            info: bundle.info.clone(),
            terminal: process.and_then(|p| p.terminal()).unwrap_or(false),
            args: process.and_then(|p| p.args().clone()).unwrap_or_default(),
            hostname: spec.hostname().clone(),
            network_namespace: spec
                .linux()
                .as_ref()
                .and_then(|l| l.namespaces().as_ref())
                .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network)),
            mounts: spec
                .mounts()
                .iter()
                .flatten()
                .map(|m| (m.destination().clone(), m.source().clone()))
                .collect(),
        }
    }

    /// Whether the process has a terminal (`process.terminal`).
    pub fn terminal(&self) -> bool {
        self.terminal
    }

    /// The process's arguments (`process.args`).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The container's hostname, if the spec sets one.
    pub fn hostname(&self) -> Option<&str> {
        self.hostname.as_deref()
    }

    /// Whether the container has a network namespace of its own.
    pub fn network_namespace(&self) -> bool {
        self.network_namespace
    }

    /// The source of the last mount at `destination`, the one the container sees, if any.
    pub fn mount_source(&self, destination: &Path) -> Option<&Path> {
        self.mounts
            .iter()
            .rev()
            .find(|(d, _)| d == destination)
            .and_then(|(_, s)| s.as_deref())
    }
}

/// The members of `config.json` the facts come from; the others are skipped unread. Each is
/// optional, and may be `null`, as in oci-spec's `Spec` (serde reads a missing `Option` member
/// as `None`).
#[derive(Deserialize)]
struct ConfigView {
    hostname: Option<String>,
    process: Option<ProcessView>,
    linux: Option<LinuxView>,
    mounts: Option<Vec<MountView>>,
}

#[derive(Deserialize)]
struct ProcessView {
    terminal: Option<bool>,
    args: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct LinuxView {
    namespaces: Option<Vec<NamespaceView>>,
}

#[derive(Deserialize)]
struct NamespaceView {
    #[serde(rename = "type")]
    typ: String,
}

#[derive(Deserialize)]
struct MountView {
    destination: PathBuf,
    source: Option<PathBuf>,
}
