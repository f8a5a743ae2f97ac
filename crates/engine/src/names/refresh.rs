//! Refreshing a prepared or running container's `/etc/hosts` and `/etc/resolv.conf`, as
//! locald's services come and go.
//!
//! The files are the bundle's own (`BUNDLE/hosts`, `BUNDLE/resolv.conf`), bind-mounted over the
//! image's: a bind mount of a file holds the file's inode, so a new file renamed over the old
//! name would never be seen by the container (and a rename onto the mount point inside it fails
//! with `EBUSY`). The refresh therefore keeps the inode and rewrites its contents, as Docker
//! does for the same reason (`etchosts.Add` and `Delete`, `resolvconf.WriteFile`): one
//! `pwrite(2)` of the whole text at offset 0, then a truncate to its length, so the file is
//! never empty; refreshes of one file take turns under an exclusive `flock(2)` on it. The
//! files are opened through `pathrs` inside the bundle directory, never following a symlink, so
//! a bundle whose `hosts` was replaced by a link cannot lead the write elsewhere.

use std::path::Path;

use locald_spec_macros::implements;

use crate::bundle::BundleFacts;
use crate::dns::resolv_conf;
use crate::error::{Error, Result};
use crate::host_files::{HOSTS_PATH, HostFiles, RESOLV_CONF_PATH};
use crate::options::{DnsOptions, ExtraHost, NetworkMode};

use super::hosts_file;

/// What a refresh writes: the caller's current extra hosts and DNS options, replacing those
/// given to `prepare` (the whole list, not a change to it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refresh {
    /// Extra `/etc/hosts` lines, in order, after the engine's own (see [`hosts_file`]).
    pub extra_hosts: Vec<ExtraHost>,
    /// DNS overrides for `/etc/resolv.conf` (see [`crate::dns`]).
    pub dns: DnsOptions,
}

/// Which of the bundle's files a refresh rewrote: those mounted at their path in the container.
/// A file the caller mounted its own copy over (a bind at `/etc/hosts`) is the caller's and is
/// left alone (extra hosts for it are refused, as `prepare` refuses them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// `BUNDLE/hosts` (the container's `/etc/hosts`) was rewritten.
    pub hosts: bool,
    /// `BUNDLE/resolv.conf` (the container's `/etc/resolv.conf`) was rewritten.
    pub resolv_conf: bool,
}

/// Rewrite the `/etc/hosts` and `/etc/resolv.conf` of the bundle at `bundle_dir` in place, for
/// `refresh`'s extra hosts and DNS options and the host's files as they are now. The hostname
/// and the network mode are the bundle's (its `config.json`). A running container sees the new
/// text at its next lookup.
///
/// ```no_run
/// use locald_engine::names::{refresh, Refresh};
///
/// let names = Refresh {
///     extra_hosts: vec!["db:192.0.2.7".parse()?, "cache:192.0.2.8".parse()?],
///     ..Refresh::default()
/// };
/// refresh("/var/lib/locald-engine/bundles/web".as_ref(), &names)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[implements("names.hosts.refresh")]
pub fn refresh(bundle_dir: &Path, refresh: &Refresh) -> Result<Refreshed> {
    refresh_with(bundle_dir, refresh, &HostFiles::read()?)
}

/// [`refresh`] with the host's files given (a fixture in tests).
#[implements("names.hosts.refresh")]
pub fn refresh_with(bundle_dir: &Path, refresh: &Refresh, host: &HostFiles) -> Result<Refreshed> {
    let bundle = BundleFacts::open(bundle_dir)?;
    let hostname = bundle.hostname().unwrap_or_default().to_owned();
    let network = network_of(&bundle);
    // Both texts first: an invalid option changes neither file.
    let hosts = hosts_file(
        &hostname,
        &refresh.extra_hosts,
        network,
        host.hosts.as_deref(),
    )?;
    let resolv = resolv_conf(network, &refresh.dns, host)?;
    let own_hosts = mounts_own(&bundle, "hosts", HOSTS_PATH);
    if !own_hosts && !refresh.extra_hosts.is_empty() {
        // As prepare says it (`names.hosts.extra`): the entries would go nowhere.
        return Err(Error::InvalidOption {
            field: "extra_hosts",
            reason: "the container's /etc/hosts is the caller's own bind mount, not the \
                     engine's file; put the entries in the mounted file instead"
                .into(),
        });
    }
    let mut done = Refreshed::default();
    if own_hosts {
        rewrite(&bundle.state_dir, "hosts", hosts.as_bytes())?;
        done.hosts = true;
    }
    if mounts_own(&bundle, "resolv.conf", RESOLV_CONF_PATH) {
        rewrite(&bundle.state_dir, "resolv.conf", resolv.as_bytes())?;
        done.resolv_conf = true;
    }
    Ok(done)
}

/// Private when the spec has a network namespace of its own, else the host's.
fn network_of(bundle: &BundleFacts) -> NetworkMode {
    if bundle.network_namespace() {
        NetworkMode::Private
    } else {
        NetworkMode::Host
    }
}

/// Whether the last mount at `target` (the one the container sees) is the bundle's `file`:
/// the same path, or the same file reached another way (the bundle opened through a symlink).
fn mounts_own(bundle: &BundleFacts, file: &str, target: &str) -> bool {
    let own = bundle.state_dir.join(file);
    bundle
        .mount_source(Path::new(target))
        .is_some_and(|source| {
            source == own
                || matches!(
                    (std::fs::canonicalize(source), std::fs::canonicalize(&own)),
                    (Ok(a), Ok(b)) if a == b
                )
        })
}

/// Replace the contents of the existing regular file `name` in `dir`, keeping its inode.
#[cfg(target_os = "linux")]
fn rewrite(dir: &Path, name: &str, text: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;

    use nix::fcntl::{Flock, FlockArg};
    use pathrs::Root;
    use pathrs::flags::OpenFlags;

    let path = dir.join(name);
    let fail = |op: &'static str, e: &(dyn std::error::Error + 'static)| {
        Error::io(
            &path,
            op,
            std::io::Error::other(crate::rootfs::path_error(e)),
        )
    };
    // The bundle directory as the caller named it (a symlink to it is the caller's to give);
    // inside it, nothing is followed.
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, "resolve", e))?;
    let root = Root::open(&dir).map_err(|e| fail("open", &e))?;
    let file = root
        .open_subpath(name, OpenFlags::O_WRONLY | OpenFlags::O_NOFOLLOW)
        .map_err(|e| fail("open", &e))?;
    let meta = file.metadata().map_err(|e| Error::io(&path, "stat", e))?;
    if !meta.is_file() {
        return Err(Error::io(
            &path,
            "open",
            std::io::Error::other("not a regular file"),
        ));
    }
    let file = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io(&path, "lock", e.into()))?;
    file.write_all_at(text, 0)
        .map_err(|e| Error::io(&path, "write", e))?;
    file.set_len(text.len() as u64)
        .map_err(|e| Error::io(&path, "truncate", e))
}

#[cfg(not(target_os = "linux"))]
fn rewrite(dir: &Path, name: &str, text: &[u8]) -> Result<()> {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, "open", e))?;
    f.write_all(text)
        .map_err(|e| Error::io(&path, "write", e))?;
    f.set_len(text.len() as u64)
        .map_err(|e| Error::io(&path, "truncate", e))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    use locald_spec_macros::verifies;

    use super::*;
    use crate::options::{BindMount, RunOptions};

    /// A bundle prepared for `opts` in a fresh temporary directory (and the directory).
    fn bundle(opts: &RunOptions) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        for d in ["proc", "dev", "sys", "etc", "tmp"] {
            fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
        for f in ["hostname", "hosts", "resolv.conf"] {
            fs::write(rootfs.join("etc").join(f), "").unwrap();
        }
        let image = locald_testkit::image_config(serde_json::json!({ "Cmd": ["sh"] }));
        let state = dir.path().join("web");
        crate::prepare(&image, &rootfs, opts, &state, "web").unwrap();
        (dir, state)
    }

    fn host() -> HostFiles {
        HostFiles {
            hosts: Some("192.0.2.1\thost-db\n".into()),
            resolv_conf: Some("nameserver 192.0.2.53\nsearch corp.example\n".into()),
            ..HostFiles::default()
        }
    }

    fn opts() -> RunOptions {
        RunOptions {
            extra_hosts: vec!["old:192.0.2.5".parse().unwrap()],
            ..RunOptions::rootless_for_current_user()
        }
    }

    #[test]
    #[verifies("names.hosts.refresh")]
    fn a_refresh_rewrites_both_files_in_place_keeping_the_engines_lines() {
        let (_dir, state) = bundle(&opts());
        let ino = |f: &str| fs::metadata(state.join(f)).unwrap().ino();
        let (hosts_ino, resolv_ino) = (ino("hosts"), ino("resolv.conf"));
        let names = Refresh {
            extra_hosts: vec![
                "db:192.0.2.7".parse().unwrap(),
                "cache:192.0.2.8".parse().unwrap(),
            ],
            dns: DnsOptions {
                servers: vec!["192.0.2.99".parse().unwrap()],
                ..DnsOptions::default()
            },
        };
        let done = refresh_with(&state, &names, &host()).unwrap();
        assert_eq!(
            done,
            Refreshed {
                hosts: true,
                resolv_conf: true
            }
        );
        let hosts = fs::read_to_string(state.join("hosts")).unwrap();
        // Exactly what prepare would have written for these options.
        assert_eq!(
            hosts,
            hosts_file(
                "web",
                &names.extra_hosts,
                NetworkMode::Host,
                host().hosts.as_deref()
            )
            .unwrap()
        );
        let at = |line: &str| {
            hosts
                .find(line)
                .unwrap_or_else(|| panic!("{line}: {hosts}"))
        };
        assert!(at("127.0.0.1\tlocalhost\n") < at("127.0.0.1\tweb\n"));
        assert!(at("127.0.0.1\tweb\n") < at("192.0.2.7\tdb\n"));
        assert!(at("192.0.2.8\tcache\n") < at("192.0.2.1\thost-db\n"));
        // The whole list replaces the one given to prepare.
        assert!(!hosts.contains("\told\n"), "{hosts}");
        let resolv = fs::read_to_string(state.join("resolv.conf")).unwrap();
        assert!(resolv.contains("nameserver 192.0.2.99\n"), "{resolv}");
        assert!(!resolv.contains("192.0.2.53"), "{resolv}");
        // The same files, which the container's bind mounts show.
        assert_eq!((ino("hosts"), ino("resolv.conf")), (hosts_ino, resolv_ino));
        // A shorter text leaves nothing of the longer one behind.
        refresh_with(&state, &Refresh::default(), &host()).unwrap();
        let hosts = fs::read_to_string(state.join("hosts")).unwrap();
        assert_eq!(
            hosts,
            hosts_file("web", &[], NetworkMode::Host, host().hosts.as_deref()).unwrap()
        );
        assert_eq!(ino("hosts"), hosts_ino);
    }

    #[test]
    #[verifies("names.hosts.refresh")]
    fn an_invalid_option_changes_nothing_and_a_link_is_not_followed() {
        let (dir, state) = bundle(&opts());
        let before = fs::read_to_string(state.join("hosts")).unwrap();
        let bad = Refresh {
            extra_hosts: vec![ExtraHost {
                name: "bad name".into(),
                ip: "192.0.2.7".parse().unwrap(),
            }],
            ..Refresh::default()
        };
        let e = refresh_with(&state, &bad, &host()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOption {
                    field: "extra_hosts",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(fs::read_to_string(state.join("hosts")).unwrap(), before);
        // `hosts` replaced by a symlink to a file outside the bundle: refused, the target kept.
        let outside = dir.path().join("outside");
        fs::write(&outside, "precious\n").unwrap();
        fs::remove_file(state.join("hosts")).unwrap();
        std::os::unix::fs::symlink(&outside, state.join("hosts")).unwrap();
        refresh_with(&state, &Refresh::default(), &host()).unwrap_err();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "precious\n");
        // The bundle reached through a symlink to its directory: still its own files.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&state, &link).unwrap();
        fs::remove_file(state.join("hosts")).unwrap();
        fs::write(state.join("hosts"), "").unwrap();
        let done = refresh_with(&link, &Refresh::default(), &host()).unwrap();
        assert!(done.hosts && done.resolv_conf, "{done:?}");
        // Not a bundle at all.
        let e = refresh_with(dir.path(), &Refresh::default(), &host()).unwrap_err();
        assert!(matches!(e, Error::NotABundle { .. }), "{e}");
    }

    #[test]
    #[verifies("names.hosts.refresh")]
    fn the_callers_own_hosts_file_and_a_private_network_are_respected() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("my-hosts");
        fs::write(&mine, "192.0.2.3\tmine\n").unwrap();
        let opts = RunOptions {
            binds: vec![BindMount {
                source: mine.clone(),
                destination: "/etc/hosts".into(),
                readonly: true,
            }],
            network: NetworkMode::Private,
            ..RunOptions::rootless_for_current_user()
        };
        let (_bundle_dir, state) = bundle(&opts);
        let done = refresh_with(&state, &Refresh::default(), &host()).unwrap();
        assert_eq!(
            done,
            Refreshed {
                hosts: false,
                resolv_conf: true
            }
        );
        assert_eq!(fs::read_to_string(&mine).unwrap(), "192.0.2.3\tmine\n");
        // Extra hosts would go nowhere: refused, as prepare refuses them.
        let names = Refresh {
            extra_hosts: vec!["db:192.0.2.7".parse().unwrap()],
            ..Refresh::default()
        };
        let e = refresh_with(&state, &names, &host()).unwrap_err();
        assert!(e.to_string().contains("bind mount"), "{e}");
        // Private network: the host's loopback-free servers, as at prepare.
        let resolv = fs::read_to_string(state.join("resolv.conf")).unwrap();
        assert_eq!(
            resolv,
            resolv_conf(NetworkMode::Private, &DnsOptions::default(), &host()).unwrap()
        );
    }
}
