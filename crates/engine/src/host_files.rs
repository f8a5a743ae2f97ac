//! The host's own name-resolution files, which the container's `/etc/hosts` and
//! `/etc/resolv.conf` are derived from (see [`crate::names`] and [`crate::dns`]), and the few
//! kernel facts other duties plan from ([`HostFacts`]: the engine's own `oom_score_adj`, the
//! possible CPUs).
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
    /// `/run/systemd/resolve/resolv.conf`, read only when `/etc/resolv.conf`'s one nameserver
    /// is systemd-resolved's stub ([`crate::dns::RESOLVED_STUB`]), the only case it is used
    /// in.
    pub resolved_upstream: Option<String>,
    /// What the kernel says of the host and of the engine's own process.
    pub facts: HostFacts,
}

/// The kernel facts the plan depends on, read with the host's files so that planning stays
/// pure; each has the default a host without the file gets.
///
/// ```
/// use locald_engine::host_files::HostFacts;
///
/// let facts = HostFacts::parse(Some("-500\n"), Some("0-3\n"));
/// assert_eq!(facts.oom_score_adj, -500);
/// assert_eq!(facts.possible_cpus, [0, 1, 2, 3]);
/// assert_eq!(HostFacts::parse(None, None), HostFacts::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The engine's own `/proc/self/oom_score_adj` (0 when unreadable).
    pub oom_score_adj: i32,
    /// The CPUs the kernel may bring online (`/sys/devices/system/cpu/possible`).
    pub possible_cpus: Vec<u32>,
    /// The names of the host's cgroup hierarchies mounted below `/sys/fs/cgroup` (v1's `cpu`,
    /// `memory`, `systemd`, ..., and a hybrid host's cgroup2 `unified`), from
    /// [`SELF_MOUNTINFO_PATH`]; empty on a cgroup v2 host, whose one hierarchy is
    /// `/sys/fs/cgroup` itself.
    pub cgroup_hierarchies: Vec<String>,
    /// The running kernel's `(major, minor)` ([`KERNEL_RELEASE_PATH`]), for the seccomp
    /// profile's `minKernel` conditions; `None` when unreadable.
    pub kernel: Option<(u32, u32)>,
}

/// The running kernel's release (`6.1.0-18-amd64`), what uname(2) gives.
pub const KERNEL_RELEASE_PATH: &str = "/proc/sys/kernel/osrelease";

/// The engine's own OOM-killer adjustment.
pub const SELF_OOM_SCORE_ADJ_PATH: &str = "/proc/self/oom_score_adj";
/// The CPUs the kernel may bring online, as a list of ranges (`0-3,8`).
pub const POSSIBLE_CPUS_PATH: &str = "/sys/devices/system/cpu/possible";

/// The engine's own mount table.
pub const SELF_MOUNTINFO_PATH: &str = "/proc/self/mountinfo";

/// The most CPUs the engine lists (the kernel's `NR_CPUS` maximum is 8192).
const MAX_CPUS: u32 = 8192;

impl HostFacts {
    /// The facts from the texts of [`SELF_OOM_SCORE_ADJ_PATH`] and [`POSSIBLE_CPUS_PATH`]; a
    /// missing or malformed text gives that fact's default.
    pub fn parse(oom_score_adj: Option<&str>, cpus: Option<&str>) -> Self {
        Self::parse_with_mounts(oom_score_adj, cpus, None)
    }

    /// [`HostFacts::parse`], and the cgroup hierarchies from the text of
    /// [`SELF_MOUNTINFO_PATH`].
    pub fn parse_with_mounts(
        oom_score_adj: Option<&str>,
        cpus: Option<&str>,
        mountinfo: Option<&str>,
    ) -> Self {
        let oom_score_adj = oom_score_adj
            .and_then(|t| t.trim().parse::<i32>().ok())
            .filter(|v| (-1000..=1000).contains(v))
            .unwrap_or(0);
        HostFacts {
            oom_score_adj,
            possible_cpus: cpus.map(parse_cpu_list).unwrap_or_default(),
            cgroup_hierarchies: mountinfo.map(cgroup_hierarchies).unwrap_or_default(),
            kernel: None,
        }
    }

    /// Read the facts of the running kernel and process.
    pub fn read() -> Self {
        let read = |path: &str| {
            use std::io::Read;
            // A page: these files are a line or a few (a mount table rarely more), and the
            // kernel reports their size as 0, so reading into an empty string would probe.
            let mut text = String::with_capacity(4096);
            std::fs::File::open(path)
                .and_then(|f| f.take(HOST_FILE_LIMIT).read_to_string(&mut text))
                .ok()
                .map(|_| text)
        };
        HostFacts {
            kernel: read(KERNEL_RELEASE_PATH)
                .as_deref()
                .and_then(crate::security::seccomp::kernel_version),
            ..Self::parse_with_mounts(
                read(SELF_OOM_SCORE_ADJ_PATH).as_deref(),
                read(POSSIBLE_CPUS_PATH).as_deref(),
                // A cgroup v2 host has no hierarchy to list, and its mount table can be long (a
                // line a mount, hundreds on a node running many containers; 22 lines took 48 µs
                // to read here): a statfs of `/sys/fs/cgroup` tells first, as runc decides
                // its cgroup mode.
                (!cgroup2_unified())
                    .then(|| read(SELF_MOUNTINFO_PATH))
                    .flatten()
                    .as_deref(),
            )
        }
    }
}

/// Where the host's cgroup filesystems are mounted: the one cgroup2 hierarchy itself on a unified
/// (v2) host, a tmpfs of v1 hierarchies (and a hybrid host's cgroup2 `unified`) otherwise.
pub const CGROUP_MOUNT_POINT: &str = "/sys/fs/cgroup";

/// Whether the host's cgroups are unified (v2 only): [`CGROUP_MOUNT_POINT`] is a cgroup2
/// filesystem (statfs(2) `f_type` `CGROUP2_SUPER_MAGIC`), the test of opencontainers/cgroups'
/// `IsCgroup2UnifiedMode` (`utils.go`), which runc uses. Unreadable counts as not unified: the
/// mount table then decides.
#[cfg(target_os = "linux")]
fn cgroup2_unified() -> bool {
    use nix::sys::statfs::{CGROUP2_SUPER_MAGIC, statfs};
    statfs(CGROUP_MOUNT_POINT).is_ok_and(|st| st.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

#[cfg(not(target_os = "linux"))]
fn cgroup2_unified() -> bool {
    false
}

/// The names of the `cgroup` and `cgroup2` mounts directly below `/sys/fs/cgroup` in a mount table
/// (proc(5), `/proc/PID/mountinfo`: the mount point is the fifth field, the filesystem type the
/// first after the ` - ` separator). A name with an escaped character (`\040`) or a `/` is
/// skipped: it could not be a hierarchy's directory that runtimes create.
fn cgroup_hierarchies(mountinfo: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in mountinfo.lines() {
        let Some((fields, rest)) = line.split_once(" - ") else {
            continue;
        };
        if !matches!(rest.split(' ').next(), Some("cgroup" | "cgroup2")) {
            continue;
        }
        let Some(name) = fields
            .split(' ')
            .nth(4)
            .and_then(|m| m.strip_prefix("/sys/fs/cgroup/"))
        else {
            continue;
        };
        let plain = !name.is_empty() && !name.contains(['/', '\\']);
        if plain && !names.iter().any(|n| n == name) && names.len() < MAX_CGROUP_HIERARCHIES {
            names.push(name.to_owned());
        }
    }
    names
}

/// The most cgroup hierarchies the engine lists (Linux has 14 controllers, and a few named
/// hierarchies such as systemd's).
const MAX_CGROUP_HIERARCHIES: usize = 32;

/// The CPUs of a kernel CPU list (`0-3,8`); an entry that does not parse ends the list.
fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
            break;
        };
        cpus.extend((lo..=hi.min(MAX_CPUS - 1)).take(MAX_CPUS as usize - cpus.len()));
    }
    cpus
}

impl HostFiles {
    /// Read the host's files at their standard paths, and the kernel's facts
    /// ([`HostFacts::read`]).
    pub fn read() -> Result<Self> {
        Ok(HostFiles {
            facts: HostFacts::read(),
            ..Self::read_under(Path::new("/"))?
        })
    }

    /// Read the files at their standard paths below `root` (a fixture tree in tests); the
    /// facts keep their defaults.
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
        let hosts = read(HOSTS_PATH)?;
        let resolv_conf = read(RESOLV_CONF_PATH)?;
        // Read only when the planner can use it, as Docker's `resolvconf.Path` chooses it: most
        // hosts have none, and a missing file costs pathrs a description of its descriptor.
        let resolved_upstream = match &resolv_conf {
            Some(text) if crate::dns::ResolvConf::parse(text).is_only_resolved_stub() => {
                read(RESOLVED_UPSTREAM_PATH)?
            }
            _ => None,
        };
        Ok(HostFiles {
            hosts,
            resolv_conf,
            resolved_upstream,
            facts: HostFacts::default(),
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
    fn kernel_facts_parse_with_defaults() {
        for bad in ["", "x", "1001", "-1001"] {
            assert_eq!(HostFacts::parse(Some(bad), None).oom_score_adj, 0);
        }
        assert_eq!(HostFacts::parse(Some("1000\n"), None).oom_score_adj, 1000);
        assert_eq!(parse_cpu_list("0-1,4,6-7\n"), [0, 1, 4, 6, 7]);
        assert_eq!(parse_cpu_list("0,x,2"), [0]);
        assert_eq!(parse_cpu_list("0-4294967295").len(), MAX_CPUS as usize);
        let own = HostFacts::read();
        assert!(!own.possible_cpus.is_empty() || !Path::new(POSSIBLE_CPUS_PATH).exists());
    }

    /// The cgroup hierarchies from a mount table: only `cgroup` and `cgroup2` mounts directly
    /// below /sys/fs/cgroup, each once; a tmpfs, deeper or escaped mount points are not.
    #[test]
    fn cgroup_hierarchies_come_from_the_mount_table() {
        let table = "\
25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
27 26 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
28 26 0:25 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
31 26 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
32 26 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 26 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 26 0:30 / /sys/fs/cgroup/a\\040b rw - cgroup cgroup rw,net_cls
35 30 0:31 / /mnt/sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
36 26 0:32 / /sys/fs/cgroup/x/y rw - cgroup cgroup rw,pids
";
        let facts = HostFacts::parse_with_mounts(None, None, Some(table));
        assert_eq!(
            facts.cgroup_hierarchies,
            ["unified", "systemd", "cpu,cpuacct", "memory"]
        );
        let v2 = "26 25 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let facts = HostFacts::parse_with_mounts(None, None, Some(v2));
        assert!(facts.cgroup_hierarchies.is_empty());
        assert!(HostFacts::parse(None, None).cgroup_hierarchies.is_empty());
    }

    /// This host's hierarchies as `read` finds them: none when the statfs says cgroup2 is
    /// mounted on /sys/fs/cgroup, else those of the whole mount table, read here again.
    #[test]
    fn the_hosts_hierarchies_skip_the_mount_table_only_when_unified() {
        let table = std::fs::read_to_string(SELF_MOUNTINFO_PATH).unwrap();
        let from_table = cgroup_hierarchies(&table);
        // The last mount on /sys/fs/cgroup is the one seen there.
        let unified = table
            .lines()
            .rfind(|l| l.split(' ').nth(4) == Some(CGROUP_MOUNT_POINT))
            .and_then(|l| l.split_once(" - "))
            .is_some_and(|(_, fs)| fs.starts_with("cgroup2 "));
        assert_eq!(cgroup2_unified(), unified, "statfs against the mount table");
        let expected = if unified { Vec::new() } else { from_table };
        assert_eq!(HostFacts::read().cgroup_hierarchies, expected);
    }

    #[test]
    fn missing_files_are_none() {
        let dir = fixture();
        assert_eq!(
            HostFiles::read_under(dir.path()).unwrap(),
            HostFiles::default()
        );
    }

    /// systemd-resolved's upstream file is read only behind its stub: a FIFO there (which
    /// reading refuses) is not even looked at when `/etc/resolv.conf` names another server.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_upstream_file_is_read_only_behind_the_stub() {
        let dir = fixture();
        let d = dir.path();
        let upstream = d.join("run/systemd/resolve/resolv.conf");
        nix::unistd::mkfifo(&upstream, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        for other in [
            "nameserver 192.0.2.53\n",
            "nameserver 127.0.0.53\nnameserver 192.0.2.53\n",
        ] {
            std::fs::write(d.join("etc/resolv.conf"), other).unwrap();
            let host = HostFiles::read_under(d).unwrap();
            assert_eq!(host.resolv_conf.as_deref(), Some(other));
            assert_eq!(host.resolved_upstream, None, "{other:?}");
        }
        std::fs::write(
            d.join("etc/resolv.conf"),
            "nameserver 127.0.0.53\noptions edns0\n",
        )
        .unwrap();
        let err = HostFiles::read_under(d).unwrap_err().to_string();
        assert!(
            err.contains("run/systemd/resolve/resolv.conf") && err.contains("not a regular file"),
            "{err}"
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
