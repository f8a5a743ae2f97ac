//! The host's own name-resolution files, which the container's `/etc/hosts` and
//! `/etc/resolv.conf` are derived from (see [`crate::names`] and [`crate::dns`]).
//!
//! They are read once per bundle, before planning, so that [`Plan::build`](crate::Plan::build)
//! stays pure and tests can hand it fixture contents. The host is trusted, but its files are
//! still read defensively: regular files only (a FIFO would hang the engine), at most
//! [`HOST_FILE_LIMIT`] bytes, UTF-8.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
        let at = |p: &str| root.join(p.trim_start_matches('/'));
        Ok(HostFiles {
            hosts: read_bounded(&at(HOSTS_PATH))?,
            resolv_conf: read_bounded(&at(RESOLV_CONF_PATH))?,
            resolved_upstream: read_bounded(&at(RESOLVED_UPSTREAM_PATH))?,
        })
    }
}

/// Read `path` (following symlinks: systemd makes `/etc/resolv.conf` one) if it exists.
fn read_bounded(path: &Path) -> Result<Option<String>> {
    let bad = |reason: String| Error::HostFile {
        path: PathBuf::from(path),
        reason,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(HOST_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > HOST_FILE_LIMIT {
        return Err(bad(format!("larger than {HOST_FILE_LIMIT} bytes")));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| bad("not valid UTF-8".into()))
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
