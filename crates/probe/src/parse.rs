//! Parsers for the files the probe reads inside a container: `/proc/self/mountinfo`,
//! `/proc/self/status`, `/etc/passwd`, `/etc/group`, `/proc/self/uid_map`, `/etc/hosts` and
//! `/etc/resolv.conf`.
//!
//! The probe is a static binary: static glibc cannot use NSS, and the container's files are
//! what the requirements are about, so every file is parsed here directly.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One line of `/proc/self/mountinfo` (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount ID.
    pub id: u32,
    /// Parent mount ID.
    pub parent: u32,
    /// The root of the mount within its filesystem (a bind mount's source directory).
    pub root: String,
    /// The mount point, relative to the process's root, with octal escapes decoded.
    pub mount_point: String,
    /// Per-mount options (`ro`, `nosuid`, ...).
    pub options: Vec<String>,
    /// Filesystem type (`proc`, `tmpfs`, ...).
    pub fstype: String,
    /// Mount source (`proc`, `tmpfs`, a device, ...).
    pub source: String,
    /// Per-superblock options (`mode=755`, `size=65536k`, ...).
    pub super_options: Vec<String>,
}

impl Mount {
    /// Whether the per-mount options hold `option`.
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }

    /// Whether the superblock options hold `option`.
    pub fn has_super(&self, option: &str) -> bool {
        self.super_options.iter().any(|o| o == option)
    }

    /// The value of a `key=value` superblock option.
    pub fn super_value(&self, key: &str) -> Option<&str> {
        self.super_options
            .iter()
            .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
    }

    /// Whether the mount is read-only.
    pub fn read_only(&self) -> bool {
        self.has("ro")
    }

    /// Those of `wanted` missing from the per-mount options.
    pub fn missing<'a>(&self, wanted: &[&'a str]) -> Vec<&'a str> {
        wanted.iter().copied().filter(|o| !self.has(o)).collect()
    }

    /// A one-line summary: `TYPE (opts; superopts)`.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}; {})",
            self.fstype,
            self.options.join(","),
            self.super_options.join(",")
        )
    }
}

/// Decodes the octal escapes (`\040` for a space) the kernel writes in mountinfo paths.
///
/// The kernel escapes bytes, so an escape is `\000` to `\377`; a backslash followed by
/// `400` to `777` is no escape the kernel writes, and is kept as the text it is.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && b[i + 2..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mountinfo`; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some(Mount {
                id: left.first()?.parse().ok()?,
                parent: left.get(1)?.parse().ok()?,
                root: unescape(left.get(3)?),
                mount_point: unescape(left.get(4)?),
                options: left.get(5)?.split(',').map(str::to_owned).collect(),
                fstype: (*right.first()?).to_owned(),
                source: unescape(right.get(1).copied().unwrap_or("")),
                super_options: right
                    .get(2)
                    .map(|s| s.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The visible mount exactly at `mount_point` (the last one mounted there).
pub fn mount_at<'a>(mounts: &'a [Mount], mount_point: &str) -> Option<&'a Mount> {
    mounts.iter().rfind(|m| m.mount_point == mount_point)
}

/// The visible mount that holds `path`: the one with the longest mount point that is `path`
/// or one of its ancestors (the last one mounted there).
pub fn covering_mount<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let under = |mp: &str| {
        mp == "/"
            || path == mp
            || path
                .strip_prefix(mp)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| under(&m.mount_point))
        .max_by_key(|(i, m)| (m.mount_point.len(), *i))
        .map(|(_, m)| m)
}

/// Parses a `Key:\tvalue` file such as `/proc/self/status`.
pub fn parse_status(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Capability names by bit number (capabilities(7), `linux/capability.h`).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Parses a capability mask as `/proc/self/status` prints it (`CapEff:\t00000000a80425fb`).
pub fn cap_mask(hex: &str) -> Option<u64> {
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// The mask of the named capabilities (unknown names are ignored).
pub fn caps_to_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| CAP_NAMES.iter().position(|c| c == n))
        .fold(0, |m, bit| m | (1u64 << bit))
}

/// The names of the capabilities in `mask` (`cap_<bit>` for bits without a name).
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| {
            CAP_NAMES
                .get(bit)
                .map_or_else(|| format!("cap_{bit}"), |n| (*n).to_owned())
        })
        .collect()
}

/// One entry of `/etc/passwd` (passwd(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// Numeric uid.
    pub uid: u32,
    /// Numeric primary gid.
    pub gid: u32,
    /// Home directory (may be empty).
    pub home: String,
    /// Login shell (may be empty).
    pub shell: String,
}

/// The lines of `/etc/passwd` or `/etc/group` as libc's `getpwent`/`getgrent` read them: a line
/// ends at `\n` only, so a `\r` before it belongs to the line's last field (a member `app\r` is
/// not `app`), as it does for the engine that writes these files.
fn db_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_terminator('\n')
}

/// Parses `/etc/passwd`; comments, blank and malformed lines are skipped. Lines end at `\n`
/// only, as libc reads them.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    db_lines(text)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

/// One entry of `/etc/group` (group(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Numeric gid.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
}

/// Parses `/etc/group`; comments, blank and malformed lines are skipped. Lines end at `\n`
/// only, as libc reads them.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    db_lines(text)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// One line of `/proc/self/uid_map` or `gid_map` (user_namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    /// First id inside the namespace.
    pub inside: u32,
    /// First id in the parent namespace.
    pub outside: u32,
    /// Number of ids.
    pub count: u32,
}

/// Parses a uid or gid map.
pub fn parse_id_map(text: &str) -> Vec<IdMapping> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(str::parse::<u32>);
            Some(IdMapping {
                inside: f.next()?.ok()?,
                outside: f.next()?.ok()?,
                count: f.next()?.ok()?,
            })
        })
        .collect()
}

/// Whether a map is the initial user namespace's identity map (no user namespace).
pub fn is_identity_map(map: &[IdMapping]) -> bool {
    map == [IdMapping {
        inside: 0,
        outside: 0,
        count: u32::MAX,
    }]
}

/// Interface names from `/proc/net/dev`.
pub fn parse_net_dev(text: &str) -> Vec<String> {
    text.lines()
        .skip(2)
        .filter_map(|l| Some(l.split_once(':')?.0.trim().to_owned()))
        .collect()
}

/// One record of `/etc/hosts` (hosts(5)): an address and its names, the canonical name first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsEntry {
    /// The IPv4 or IPv6 address.
    pub address: IpAddr,
    /// The canonical hostname, then the aliases.
    pub names: Vec<String>,
}

/// Parses `/etc/hosts` as hosts(5) describes it: text from `#` to the end of the line is a
/// comment, fields are separated by blanks (spaces, tabs), the first is the address and the
/// others are names. A line whose address does not parse or that names nothing is skipped, as
/// the resolvers skip it.
pub fn parse_hosts(text: &str) -> Vec<HostsEntry> {
    text.lines()
        .filter_map(|line| {
            let data = line.split('#').next().unwrap_or("");
            let mut fields = data.split([' ', '\t']).filter(|f| !f.is_empty());
            let address = fields.next()?.parse().ok()?;
            let names: Vec<String> = fields.map(str::to_owned).collect();
            (!names.is_empty()).then_some(HostsEntry { address, names })
        })
        .collect()
}

/// The addresses a files-backend lookup of `name` returns, in file order (names compare
/// without regard to case, as glibc's and musl's do).
pub fn hosts_lookup(entries: &[HostsEntry], name: &str) -> Vec<IpAddr> {
    entries
        .iter()
        .filter(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .map(|e| e.address)
        .collect()
}

/// Whether `ip` is a loopback address: `127.0.0.0/8`, `::1`, or one of them mapped into IPv6.
pub fn is_loopback(ip: &IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// A resolver configuration as resolv.conf(5) describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    /// The `nameserver` addresses, in order.
    pub nameservers: Vec<IpAddr>,
    /// The domains of the last `search` or `domain` line; `None` without one.
    pub search: Option<Vec<String>>,
    /// The tokens of every `options` line, in order.
    pub options: Vec<String>,
}

/// Parses `/etc/resolv.conf` as resolv.conf(5) describes it: a keyword starts the line and is
/// followed by its values; lines starting with `#` or `;` are comments, and a value starting
/// with one ends the line. `search` and `domain` set the same list (the last line wins),
/// `options` accumulate. A `nameserver` whose address does not parse (an IPv6 scope, `%eth0`,
/// is dropped first) is skipped, as resolvers skip it; other keywords are ignored.
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut rc = ResolvConf::default();
    // Lines end at `\n` only: glibc reads them with `fgets`, which keeps a `\r`.
    for line in text.split('\n') {
        let mut fields = line.split([' ', '\t']);
        let keyword = fields.next().unwrap_or("");
        let values: Vec<&str> = fields
            .filter(|f| !f.is_empty())
            .take_while(|f| !f.starts_with(['#', ';']))
            .collect();
        match (keyword, values.first()) {
            ("nameserver", Some(addr)) => {
                let addr = addr.split('%').next().unwrap_or(addr);
                if let Ok(ip) = addr.parse() {
                    rc.nameservers.push(ip);
                }
            }
            ("search" | "domain", Some(_)) => {
                rc.search = Some(values.iter().map(|v| (*v).to_owned()).collect());
            }
            ("options", Some(_)) => rc.options.extend(values.iter().map(|v| (*v).to_owned())),
            _ => {}
        }
    }
    rc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Captured inside a rootful runc container started by locald-engine.
    const MOUNTINFO: &str = "\
612 533 0:61 / / ro,relatime - overlay overlay rw,lowerdir=/l
613 612 0:64 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
614 612 0:65 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
615 614 0:66 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
616 614 0:67 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64
617 614 0:63 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
618 612 0:68 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
619 618 0:69 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
620 612 8:1 /state/passwd /etc/passwd ro,relatime - ext4 /dev/sda1 rw
621 612 8:1 /a\\040dir /mnt/with\\040space rw - ext4 /dev/sda1 rw
534 613 0:64 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
540 613 0:65 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
garbage line
";

    #[test]
    fn mountinfo_fields_and_options() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 12, "the garbage line is skipped");
        let dev = mount_at(&m, "/dev").unwrap();
        assert_eq!((dev.id, dev.parent), (614, 612));
        assert_eq!(dev.fstype, "tmpfs");
        assert!(dev.has("nosuid") && !dev.has("noexec"));
        assert_eq!(dev.super_value("mode"), Some("755"));
        assert_eq!(dev.super_value("size"), Some("65536k"));
        assert!(mount_at(&m, "/sys").unwrap().read_only());
        let pts = mount_at(&m, "/dev/pts").unwrap();
        assert_eq!(pts.super_value("ptmxmode"), Some("666"));
        assert_eq!(pts.missing(&["nosuid", "noexec", "nodev"]), vec!["nodev"]);
        assert_eq!(mount_at(&m, "/etc/passwd").unwrap().root, "/state/passwd");
        let spaced = mount_at(&m, "/mnt/with space").unwrap();
        assert_eq!(spaced.root, "/a dir");
    }

    #[test]
    fn covering_mount_is_longest_prefix() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(covering_mount(&m, "/proc/bus/pci").unwrap().id, 534);
        assert_eq!(covering_mount(&m, "/proc/busy").unwrap().id, 613);
        assert_eq!(covering_mount(&m, "/proc/sys").unwrap().id, 613);
        assert_eq!(covering_mount(&m, "/usr/bin").unwrap().id, 612);
        assert_eq!(covering_mount(&m, "/sys/fs/cgroup/x").unwrap().id, 619);
    }

    /// Excerpt of /proc/self/status inside a runc container with the `runc spec` capabilities.
    const STATUS: &str = "Name:\tlocald-probe\nUmask:\t0022\nState:\tR (running)\nPid:\t1\n\
PPid:\t0\nNoNewPrivs:\t1\nSeccomp:\t0\nCapInh:\t0000000000000000\nCapPrm:\t0000000020000420\n\
CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\nCapAmb:\t0000000000000000\n";

    #[test]
    fn status_capability_masks() {
        let s = parse_status(STATUS);
        assert_eq!(s["Pid"], "1");
        assert_eq!(s["NoNewPrivs"], "1");
        let eff = cap_mask(&s["CapEff"]).unwrap();
        assert_eq!(
            eff,
            caps_to_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        );
        assert_eq!(
            cap_names(eff),
            ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
        );
        assert_eq!(cap_mask(&s["CapInh"]), Some(0));
        // A full root set (Docker-style host) names every known bit.
        assert_eq!(cap_names(cap_mask("000001ffffffffff").unwrap()).len(), 41);
        assert_eq!(cap_names(1 << 45), ["cap_45"]);
        assert_eq!(cap_mask("zz"), None);
    }

    #[test]
    fn passwd_and_group_entries() {
        let p = parse_passwd(
            "# comment\nroot:x:0:0:root:/root:/bin/sh\n\napp:x:1000:1000:App:/home/app:/bin/sh\n\
             broken:x:abc:0::/:/bin/sh\nshort:x:1:1\nnohome:x:7:7:::\n",
        );
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].name, "root");
        assert_eq!(
            (p[1].uid, p[1].gid, p[1].home.as_str()),
            (1000, 1000, "/home/app")
        );
        assert_eq!(
            (p[2].uid, p[2].home.as_str(), p[2].shell.as_str()),
            (7, "", "")
        );
        let g = parse_group("root:x:0:\nstaff:x:50:app,bob\nbad:x:\napp:x:1000:\n");
        assert_eq!(g.len(), 3);
        assert_eq!(g[1].members, ["app", "bob"]);
        assert!(g[0].members.is_empty());
    }

    #[test]
    fn id_maps() {
        let host = parse_id_map("         0          0 4294967295\n");
        assert!(is_identity_map(&host));
        let rootless = parse_id_map("         0        999          1\n");
        assert_eq!(
            rootless,
            [IdMapping {
                inside: 0,
                outside: 999,
                count: 1
            }]
        );
        assert!(!is_identity_map(&rootless));
        assert_eq!(parse_id_map("0 1000 1\n1 100000 65536\n").len(), 2);
    }

    #[test]
    fn net_dev_interfaces() {
        let text =
            "Inter-|   Receive |  Transmit\n face |bytes packets\n    lo: 0 0 0\n  eth0: 1 2 3\n";
        assert_eq!(parse_net_dev(text), ["lo", "eth0"]);
    }
    /// The file locald-engine generates for the hostname `web.local` with a caller's extra host
    /// (the names checks' tests grade it too).
    pub(crate) const LOCALD_HOSTS: &str = "\
# Generated by locald-engine for this container; edits are not kept.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
127.0.0.1\tweb.local web
::1\tweb.local web
192.0.2.7\tdb
";

    /// Hand-written oddities after it: a trailing comment, tabs and spaces, an unparseable
    /// address, an address without names.
    const ODDITIES: &str = "\
192.0.2.9\tcache   # the cache
  10.0.0.1 \t Gateway\tgw
not-an-ip\tbroken
192.0.2.8
";

    #[test]
    fn hosts_records_and_lookups() {
        let h = parse_hosts(&format!("{LOCALD_HOSTS}{ODDITIES}"));
        assert_eq!(
            h.len(),
            11,
            "comments, the bad address and the bare address are skipped"
        );
        assert_eq!(
            h[1],
            HostsEntry {
                address: "::1".parse().unwrap(),
                names: vec![
                    "localhost".into(),
                    "ip6-localhost".into(),
                    "ip6-loopback".into()
                ],
            }
        );
        let ips = |v: &[&str]| {
            v.iter()
                .map(|s| s.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        assert_eq!(hosts_lookup(&h, "localhost"), ips(&["127.0.0.1", "::1"]));
        assert_eq!(hosts_lookup(&h, "web"), ips(&["127.0.0.1", "::1"]));
        assert_eq!(hosts_lookup(&h, "db"), ips(&["192.0.2.7"]));
        assert_eq!(
            hosts_lookup(&h, "cache"),
            ips(&["192.0.2.9"]),
            "the comment is no name"
        );
        assert_eq!(
            hosts_lookup(&h, "gateway"),
            ips(&["10.0.0.1"]),
            "case-insensitive"
        );
        assert_eq!(hosts_lookup(&h, "gw"), ips(&["10.0.0.1"]));
        assert!(hosts_lookup(&h, "broken").is_empty());
        assert!(hosts_lookup(&h, "the").is_empty());
    }

    #[test]
    fn loopback_addresses() {
        for l in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.53"] {
            assert!(is_loopback(&l.parse().unwrap()), "{l}");
        }
        for n in ["10.0.0.1", "8.8.8.8", "fe00::", "::"] {
            assert!(!is_loopback(&n.parse().unwrap()), "{n}");
        }
    }

    #[test]
    fn resolv_conf_lines_end_at_newline_as_fgets_reads_them() {
        // A CRLF file: glibc's fgets keeps the `\r`, so `192.0.2.53\r` is no address.
        let rc = parse_resolv_conf("nameserver 192.0.2.53\r\nsearch a\r\noptions x\x0b\n");
        assert!(rc.nameservers.is_empty());
        assert_eq!(rc.search, Some(vec!["a\r".to_owned()]));
        assert_eq!(rc.options, ["x\x0b"]);
    }

    #[test]
    fn resolv_conf_keywords_comments_and_order() {
        let rc = parse_resolv_conf(
            "# comment\n; another\nnameserver 10.255.255.53\nnameserver\tfe80::1%eth0\n\
             nameserver not-an-ip\nnameserver 127.0.0.53 # the stub\n search ignored.example\n\
             domain a.example\nsearch b.example c.example ; trailing\noptions ndots:2\n\
             options edns0 trust-ad\nsortlist 130.155.160.0/255.255.240.0\nnameserver\n",
        );
        let ips = |v: &[&str]| {
            v.iter()
                .map(|s| s.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        assert_eq!(
            rc.nameservers,
            ips(&["10.255.255.53", "fe80::1", "127.0.0.53"])
        );
        assert_eq!(
            rc.search,
            Some(vec!["b.example".to_owned(), "c.example".to_owned()]),
            "the last of search/domain wins; an indented line is no keyword"
        );
        assert_eq!(rc.options, ["ndots:2", "edns0", "trust-ad"]);
        assert_eq!(parse_resolv_conf(""), ResolvConf::default());
        assert_eq!(
            parse_resolv_conf("domain x.example\n").search,
            Some(vec!["x.example".into()])
        );
    }
}
