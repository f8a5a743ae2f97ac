//! The host's own name-resolution files, which the container's `/etc/hosts` and
//! `/etc/resolv.conf` are derived from (see [`crate::names`] and [`crate::dns`]).
//!
//! They are read once per bundle, before planning, so that [`Plan::build`](crate::Plan::build)
//! stays pure and tests can hand it fixture contents. The host is trusted, but its files are
//! still read defensively, through the same reader as the image's ([`ImageRoot`]): regular
//! files only (a FIFO would hang the engine), at most [`HOST_FILE_LIMIT`] bytes, UTF-8.

use std::path::Path;

use crate::error::{Error, Result};
use crate::rootfs::ImageRoot;

/// The host's hosts file.
pub const HOSTS_PATH: &str = "/etc/hosts";
/// The host's resolver configuration.
pub const RESOLV_CONF_PATH: &str = "/etc/resolv.conf";
/// systemd-resolved's list of upstream servers, used when `/etc/resolv.conf` names only its
/// stub listener.
pub const RESOLVED_UPSTREAM_PATH: &str = "/run/systemd/resolve/resolv.conf";
/// The largest host file the engine reads: 1 MiB.
pub const HOST_FILE_LIMIT: u64 = 1024 * 1024;

/// The contents of the host's name-resolution files; `None` for a file that does not exist.
///
/// ```
/// use locald_engine::host_files::HostFiles;
///
/// // Fixture contents for planning without touching the host:
/// let host = HostFiles {
///     resolv_conf: Some("nameserver 127.0.0.53\n".into()),
///     resolved_upstream: Some("nameserver 192.0.2.1\n".into()),
///     ..HostFiles::default()
/// };
/// assert!(host.hosts.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFiles {
    /// `/etc/hosts`.
    pub hosts: Option<String>,
    /// `/etc/resolv.conf`.
    pub resolv_conf: Option<String>,
    /// `/run/systemd/resolve/resolv.conf`.
    pub resolved_upstream: Option<String>,
}

impl HostFiles {
    /// Read the host's files at their standard paths.
    pub fn read() -> Result<Self> {
        Self::read_under(Path::new("/"))
    }

    /// Read the files at their standard paths below `root` (a fixture tree in tests).
    ///
    /// ```
    /// use locald_engine::host_files::HostFiles;
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::create_dir(dir.path().join("etc"))?;
    /// std::fs::write(dir.path().join("etc/resolv.conf"), "nameserver 192.0.2.53\n")?;
    /// let host = HostFiles::read_under(dir.path())?;
    /// assert_eq!(host.resolv_conf.as_deref(), Some("nameserver 192.0.2.53\n"));
    /// assert_eq!(host.hosts, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_under(root: &Path) -> Result<Self> {
        // The image reader's checks suit the host's files too: regular files only (checked
        // before opening, so a FIFO cannot hang the engine), bounded, UTF-8. Confined to `root`,
        // which for the host is `/`.
        let host = ImageRoot::open(root)?.with_read_limit(HOST_FILE_LIMIT);
        let read = |path: &str| {
            host.read_to_string(path).map_err(|e| match e {
                Error::ImageFile { reason, .. } => Error::HostFile {
                    path: root.join(path.trim_start_matches('/')),
                    reason,
                },
                other => other,
            })
        };
        Ok(HostFiles {
            hosts: read(HOSTS_PATH)?,
            resolv_conf: read(RESOLV_CONF_PATH)?,
            resolved_upstream: read(RESOLVED_UPSTREAM_PATH)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::create_dir_all(dir.path().join("run/systemd/resolve")).unwrap();
        dir
    }

    #[test]
    fn reads_all_three_files_and_follows_symlinks() {
        let dir = fixture();
        let d = dir.path();
        std::fs::write(d.join("etc/hosts"), "192.0.2.7 db\n").unwrap();
        std::fs::write(
            d.join("run/systemd/resolve/stub-resolv.conf"),
            "nameserver 127.0.0.53\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            d.join("etc/resolv.conf"),
        )
        .unwrap();
        std::fs::write(
            d.join("run/systemd/resolve/resolv.conf"),
            "nameserver 192.0.2.1\n",
        )
        .unwrap();
        let host = HostFiles::read_under(d).unwrap();
        assert_eq!(host.hosts.as_deref(), Some("192.0.2.7 db\n"));
        assert_eq!(host.resolv_conf.as_deref(), Some("nameserver 127.0.0.53\n"));
        assert_eq!(
            host.resolved_upstream.as_deref(),
            Some("nameserver 192.0.2.1\n")
        );
    }

    #[test]
    fn missing_files_are_none() {
        let dir = fixture();
        assert_eq!(
            HostFiles::read_under(dir.path()).unwrap(),
            HostFiles::default()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let dir = fixture();
        let fifo = dir.path().join("etc/resolv.conf");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let err = HostFiles::read_under(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("resolv.conf") && err.contains("not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn oversized_and_non_utf8_files_are_refused_naming_them() {
        let dir = fixture();
        let big = vec![b'#'; HOST_FILE_LIMIT as usize + 1];
        std::fs::write(dir.path().join("etc/hosts"), big).unwrap();
        let err = HostFiles::read_under(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("etc/hosts") && err.contains("larger than"),
            "{err}"
        );
        std::fs::write(dir.path().join("etc/hosts"), [0xff, 0xfe]).unwrap();
        let err = HostFiles::read_under(dir.path()).unwrap_err().to_string();
        assert!(err.contains("etc/hosts") && err.contains("UTF-8"), "{err}");
    }
}
