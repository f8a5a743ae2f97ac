//! The hostile image corpus: images built to make the engine or the runtime write outside the
//! container, hang, or fail with an error that names nothing. Every case runs the engine binary
//! under real runc, rootful and rootless, and asserts the same three things:
//!
//! - nothing outside the container was written: the directory holding the image (the image
//!   itself, a decoy directory beside it that every symlink out of the root points to, the
//!   scratch directory) is the same before and after, entry by entry (type, mode, owner, size,
//!   times, contents), and the state root keeps no bundle of the case's container;
//! - the engine ended within [`BOUND`] (a hang guard, not a timing assertion);
//! - the run either ended cleanly (status 0, the command's output) or was refused with status
//!   125 and a message naming the path at fault — which one is pinned per case, as the chapters
//!   require it.
//!
//! The list of cases in the book (`book/src/robustness/corpus.md`) is generated from [`cases`]
//! (`LOCALD_BLESS=1` rewrites it; a test fails while it differs).

#![cfg(target_os = "linux")]

mod common;
mod robustness;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use locald_spec_macros::verifies;
use locald_testkit::{Rootfs, Users, require_runc, test_user, tree_manifest};
use robustness::*;

/// The hang guard: a case whose engine has not ended by then failed (the slowest case, 100,000
/// files in `/etc` walked rootless, takes a few seconds).
const BOUND: Duration = Duration::from_secs(180);

/// How a case must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Status 0 and the command's output.
    Runs,
    /// Status 125 and a message containing this text (the path at fault).
    Refused(&'static str),
    /// A known deviation, reported: the argument parser's status 2 and its message, where
    /// `lifecycle.exit-status` asks for 125.
    UsageError(&'static str),
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Expect::Runs => "runs".into(),
            Expect::Refused(what) => format!("refused (125), naming `{what}`"),
            Expect::UsageError(what) => {
                format!("refused by the argument parser (status 2, not 125: reported), `{what}`")
            }
        }
    }
}

/// What is put at a mount target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A symlink to a directory or file of the host (the decoy beside the image).
    SymlinkOut,
    /// A symlink to itself.
    Loop,
    /// A named pipe.
    Fifo,
    /// A character device node (1:3, as `/dev/null`).
    Device,
    /// A symlink to a path that exists neither in the image nor on the host.
    Dangling,
}

const KINDS: [Kind; 5] = [
    Kind::SymlinkOut,
    Kind::Loop,
    Kind::Fifo,
    Kind::Device,
    Kind::Dangling,
];

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::SymlinkOut => "a symlink out of the root",
            Kind::Loop => "a symlink loop",
            Kind::Fifo => "a FIFO",
            Kind::Device => "a device node",
            Kind::Dangling => "a dangling symlink",
        }
    }
}

/// One image (or run option) the engine must survive.
struct Case {
    /// The test's name, without `_root` / `_rootless`.
    name: &'static str,
    /// What the image holds, for the book.
    what: String,
    /// The requirement that says what must happen.
    requirement: &'static str,
    /// How it must end.
    expect: Expect,
    /// How it must end rootless, when not as rootful.
    rootless: Option<Expect>,
}

/// A mount target of the engine, and what the default plan puts there.
#[derive(Clone, Copy)]
struct Target {
    /// The path inside the container.
    path: &'static str,
    /// Whether the image normally has a directory there (else a file).
    dir: bool,
    /// How each kind must end, in the order of [`KINDS`].
    expect: [Expect; 5],
}

use Expect::{Refused, Runs, UsageError};

const P: &str = "/etc/passwd";
const G: &str = "/etc/group";
const B: &str = "/mnt/data";
const W: &str = "/srv/work";

/// Every mount target the engine uses, and how each kind of entry there must end.
///
/// The kernel filesystems' mount points (`/proc`, `/sys`, `/dev`) are always plain directories
/// of the layer, whatever the image has (`confinement.mount-targets`). Below `/dev` the
/// runtime mounts on the engine's own tmpfs, which hides the image's entries. A generated
/// file's target and a bind mount's destination are resolved inside the root: a symlink out of
/// it leads to a path inside the image that is created in the layer; an existing entry of the
/// wrong type, a dangling symlink or a loop is refused naming it (`filesystems.layer.targets`).
/// The identity files are read as the image's own, only when regular files
/// (`identity.image-files.confined`): a symlink out of the root or a dangling one reads as no
/// file (the engine writes the entries it needs), anything else is refused naming it.
const TARGETS: &[(&str, Target)] = &[
    (
        "proc",
        Target {
            path: "/proc",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "sys",
        Target {
            path: "/sys",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "dev",
        Target {
            path: "/dev",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "dev_pts",
        Target {
            path: "/dev/pts",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "dev_shm",
        Target {
            path: "/dev/shm",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "dev_mqueue",
        Target {
            path: "/dev/mqueue",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "dev_init",
        Target {
            path: "/dev/init",
            dir: false,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "etc_hosts",
        Target {
            path: "/etc/hosts",
            dir: false,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "etc_resolv_conf",
        Target {
            path: "/etc/resolv.conf",
            dir: false,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "etc_hostname",
        Target {
            path: "/etc/hostname",
            dir: false,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "etc_passwd",
        Target {
            path: "/etc/passwd",
            dir: false,
            expect: [Runs, Refused(P), Refused(P), Refused(P), Runs],
        },
    ),
    (
        "etc_group",
        Target {
            path: "/etc/group",
            dir: false,
            expect: [Runs, Refused(G), Refused(G), Refused(G), Runs],
        },
    ),
    (
        "tmp",
        Target {
            path: "/tmp",
            dir: true,
            expect: [Runs, Runs, Runs, Runs, Runs],
        },
    ),
    (
        "working_dir",
        Target {
            path: "/srv/work",
            dir: true,
            expect: [Refused(W); 5],
        },
    ),
    (
        "bind_destination",
        Target {
            path: "/mnt/data",
            dir: true,
            expect: [Refused(B); 5],
        },
    ),
];

/// The cases that are not one kind of entry at one mount target.
fn other_cases() -> Vec<Case> {
    OTHER
        .iter()
        .map(|o| Case {
            name: o.name,
            what: o.what.into(),
            requirement: o.requirement,
            expect: o.expect,
            rootless: o.rootless,
        })
        .collect()
}

struct Other {
    name: &'static str,
    what: &'static str,
    requirement: &'static str,
    expect: Expect,
    /// How it must end rootless, when not as rootful.
    rootless: Option<Expect>,
}

const OTHER: &[Other] = &[
    Other {
        name: "dotdot_chain_out_of_the_root",
        what: "`/etc/hosts` a symlink `../../../../../../../../BASE/outside/hosts` (a `..` chain \
               that leaves the root on the host)",
        requirement: "filesystems.layer.targets",
        expect: Runs,
        rootless: None,
    },
    Other {
        name: "dotdot_chain_working_dir",
        what: "`WorkingDir` `/../../srv/../../../srv/./work/..//work` (climbs above `/`)",
        requirement: "process.cwd",
        expect: Refused("contains `..`"),
        rootless: None,
    },
    Other {
        name: "newline_in_working_dir",
        what: "`WorkingDir` `/srv/a\\nb` (a newline in the path)",
        requirement: "process.cwd",
        expect: Runs,
        rootless: None,
    },
    Other {
        name: "non_utf8_names_in_etc",
        what: "entries of `/etc` named with bytes that are not UTF-8, and `/etc/resolv.conf` a \
               symlink to one",
        requirement: "filesystems.layer.targets",
        expect: Refused("/etc/resolv.conf"),
        rootless: None,
    },
    Other {
        name: "non_utf8_bind_destination",
        what: "`--bind SRC:/mnt/\\xff` (a destination that is not UTF-8)",
        requirement: "filesystems.bind-mounts",
        expect: UsageError("/mnt/\u{fffd} is not UTF-8"),
        rootless: None,
    },
    Other {
        name: "hard_link_to_a_host_file",
        what: "`/etc/shadow-link` a hard link to a host file, appended to by the container",
        requirement: "filesystems.layer.private",
        expect: Runs,
        rootless: None,
    },
    Other {
        name: "etc_with_100000_files",
        what: "100,000 files in `/etc`",
        requirement: "filesystems.layer.unprivileged",
        expect: Runs,
        rootless: None,
    },
    Other {
        name: "directory_chain_4000_deep",
        what: "a chain of 4,000 nested directories",
        requirement: "filesystems.layer.unprivileged",
        expect: Runs,
        rootless: Some(Refused("is nested deeper than 256 directories")),
    },
    Other {
        name: "working_dir_under_proc",
        what: "`WorkingDir` `/proc/self/root`",
        requirement: "confinement.mount-targets",
        expect: Refused("/proc/self/root"),
        rootless: None,
    },
    Other {
        name: "working_dir_symlink_into_proc",
        what: "`WorkingDir` `/w`, a symlink to `/proc/1/cwd`",
        requirement: "confinement.mount-targets",
        expect: Refused("/proc/1/cwd"),
        rootless: None,
    },
    Other {
        name: "etc_a_symlink_out_of_the_root",
        what: "`/etc` itself a symlink to a host directory",
        requirement: "identity.image-files.confined",
        expect: Refused("/etc is a dangling symlink"),
        rootless: None,
    },
    Other {
        name: "passwd_over_the_read_limit",
        what: "a 5 MiB `/etc/passwd` (the limit is 4 MiB)",
        requirement: "identity.image-files.confined",
        expect: Refused("/etc/passwd"),
        rootless: None,
    },
    Other {
        name: "passwd_changing_while_prepared",
        what: "`/etc/passwd` replaced, again and again, by a symlink to a host file and by a \
               FIFO while the engine prepares 20 containers",
        requirement: "identity.image-files.confined",
        expect: Runs,
        rootless: None,
    },
];

/// Every case, in the order the book lists them.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (name, t) in TARGETS {
        for (kind, expect) in KINDS.iter().zip(t.expect) {
            out.push(Case {
                name: Box::leak(format!("{name}_{}", kind_name(*kind)).into_boxed_str()),
                what: format!("`{}` {}", t.path, kind.describe()),
                requirement: if t.path.starts_with("/etc/") || !t.dir {
                    "filesystems.layer.targets"
                } else {
                    "confinement.mount-targets"
                },
                expect,
                rootless: None,
            });
        }
    }
    out.extend(other_cases());
    out
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::SymlinkOut => "symlink_out",
        Kind::Loop => "loop",
        Kind::Fifo => "fifo",
        Kind::Device => "device",
        Kind::Dangling => "dangling",
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// One image of the corpus: the rootfs, a decoy directory beside it (`BASE/outside`) that the
/// engine's user may write (an escape must be seen writing, not stopped by a permission), and
/// what the run adds to the engine's arguments.
struct Image {
    rootfs: Rootfs,
    /// The engine's path for the test user, found before the image grew too deep to walk.
    engine: Option<String>,
    /// An entry of the root too deep for a path-based walk: left out of the snapshot.
    unwalkable: Option<&'static str>,
    opts: Vec<OsString>,
    cmd: Vec<String>,
    id: String,
}

impl Image {
    fn new(mode: Mode, case: &str) -> Image {
        require_runc();
        let rootfs = Rootfs::build(Users::RootOnly);
        let outside = rootfs.base().join("outside");
        std::fs::create_dir(&outside).unwrap();
        for d in [
            "proc", "sys", "dev", "tmp", "work", "data", "pts", "shm", "mqueue",
        ] {
            std::fs::create_dir(outside.join(d)).unwrap();
            std::fs::write(outside.join(d).join("host-marker"), "host\n").unwrap();
        }
        for f in [
            "hosts",
            "resolv.conf",
            "hostname",
            "passwd",
            "group",
            "init",
        ] {
            std::fs::write(outside.join(f), "host file\n").unwrap();
        }
        std::fs::create_dir_all(rootfs.path().join("srv/work")).unwrap();
        std::fs::create_dir_all(rootfs.path().join("mnt/data")).unwrap();
        let bind_src = rootfs.base().join("bind-src");
        std::fs::create_dir(&bind_src).unwrap();
        let id = format!(
            "hostile-{}-{}-{}",
            case.replace('_', "-"),
            mode_name(mode),
            std::process::id()
        );
        let id = id.chars().take(120).collect();
        Image {
            rootfs,
            engine: None,
            unwalkable: None,
            opts: Vec::new(),
            cmd: vec!["sh".into(), "-c".into(), "echo ran".into()],
            id,
        }
    }

    fn root(&self) -> &Path {
        self.rootfs.path()
    }

    fn outside(&self) -> PathBuf {
        self.rootfs.base().join("outside")
    }

    /// Put `kind` at `path` (inside the image), replacing what is there.
    fn plant(&self, path: &str, dir: bool, kind: Kind) {
        let at = self.root().join(path.trim_start_matches('/'));
        if let Ok(m) = std::fs::symlink_metadata(&at) {
            if m.is_dir() {
                std::fs::remove_dir_all(&at).unwrap();
            } else {
                std::fs::remove_file(&at).unwrap();
            }
        }
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let name = Path::new(path).file_name().unwrap();
        match kind {
            Kind::SymlinkOut => {
                let target = self.outside().join(name);
                if !target.exists() {
                    if dir {
                        std::fs::create_dir(&target).unwrap();
                    } else {
                        std::fs::write(&target, "host file\n").unwrap();
                    }
                }
                symlink(&target, &at).unwrap();
            }
            Kind::Loop => symlink(name, &at).unwrap(),
            Kind::Fifo => {
                nix::unistd::mkfifo(&at, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap()
            }
            Kind::Device => nix::sys::stat::mknod(
                &at,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o666),
                nix::sys::stat::makedev(1, 3),
            )
            .unwrap(),
            Kind::Dangling => symlink("/nonexistent-locald-target", &at).unwrap(),
        }
    }

    fn config(&mut self, config: serde_json::Value) {
        let p = image_config_file(&self.rootfs, config);
        self.opts.push("--image-config".into());
        self.opts.push(p.into());
    }

    fn bind(&mut self, dest: &OsStr) {
        let mut spec = self.rootfs.base().join("bind-src").into_os_string();
        spec.push(":");
        spec.push(dest);
        self.opts.push("--bind".into());
        self.opts.push(spec);
    }

    /// Run the case: give the image and the decoy to the engine's user, take the snapshot, run
    /// the engine within [`BOUND`], compare, and check the outcome.
    fn check(&self, mode: Mode, expect: Expect) -> Output {
        let engine = match &self.engine {
            Some(e) => e.clone(),
            None => engine_binary(mode, &self.rootfs),
        };
        if runs_as_test_user(mode) {
            let u = test_user();
            for p in [self.outside(), self.rootfs.base().join("bind-src")] {
                locald_testkit::chown_tree(&p, u.uid, u.gid);
            }
        }
        let before = self.snapshot();
        let out = self.run_bounded(mode, &engine);
        let after = self.snapshot();
        let (b, a): (BTreeSet<_>, BTreeSet<_>) = (before.iter().collect(), after.iter().collect());
        let changed: Vec<_> = a.difference(&b).collect();
        let gone: Vec<_> = b.difference(&a).collect();
        assert!(
            changed.is_empty() && gone.is_empty(),
            "written outside the container: new or changed {changed:#?}, gone or changed \
             {gone:#?}\n{out:#?}"
        );
        let bundle = state_root(mode).join("bundles").join(&self.id);
        assert!(
            !bundle.exists(),
            "{} left behind: {out:#?}",
            bundle.display()
        );
        match expect {
            Expect::Runs => {
                assert_eq!(out.code, 0, "expected a clean run: {out:#?}");
            }
            Expect::Refused(needle) => out.refused(needle),
            Expect::UsageError(needle) => {
                // 125, as docker run's flag errors (cli/cobra.go FlagErrorFunc).
                assert_eq!(out.code, 125, "{out:#?}");
                assert!(
                    out.stderr.contains(" for '--"),
                    "the flag is named: {out:#?}"
                );
                assert!(out.stderr.contains(needle), "{needle:?} in {out:#?}");
            }
        }
        out
    }

    /// Every entry of the directory holding the image, with its contents, except the copies of
    /// the engine and the init made for the test user (hashing a debug build twice per run
    /// would take longer than the run).
    fn snapshot(&self) -> Vec<String> {
        let base = self.rootfs.base();
        let mut out = Vec::new();
        for e in std::fs::read_dir(base).unwrap() {
            let name = e.unwrap().file_name();
            out.push(format!("entry {}", name.to_string_lossy()));
            if name == "locald-engine" || name == "locald-init" {
                continue;
            }
            let p = base.join(&name);
            let skip = self.unwalkable.filter(|_| name == "rootfs");
            let roots: Vec<PathBuf> = match skip {
                None => vec![p],
                Some(deep) => std::fs::read_dir(&p)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|c| c.file_name().unwrap() != deep)
                    .collect(),
            };
            for r in roots {
                for line in tree_manifest(&r) {
                    out.push(format!("{} {} {line}", name.to_string_lossy(), r.display()));
                }
            }
        }
        out.sort();
        out
    }

    fn run_bounded(&self, mode: Mode, engine: &str) -> Output {
        let mut cmd = with_init(mode, command_as(mode, engine));
        cmd.args(["run", "--id", &self.id, "--rootfs"])
            .arg(self.root())
            .args(&self.opts)
            .arg("--")
            .args(&self.cmd);
        run_bounded(cmd, BOUND, None)
    }
}

/// The engine's default state root in `mode` (where `run` keeps its bundles).
fn state_root(mode: Mode) -> PathBuf {
    default_runtime_root(mode).parent().unwrap().to_owned()
}

fn expect_of(name: &str, mode: Mode) -> Expect {
    let case = cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    match mode {
        Mode::Rootless => case.rootless.unwrap_or(case.expect),
        Mode::Root => case.expect,
    }
}

// ---------------------------------------------------------------------------------------------
// The mount targets: every kind at each, one test per target and mode.

fn mount_target(name: &str, mode: Mode) {
    let t = TARGETS.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut failures = Vec::new();
    for (kind, expect) in KINDS.iter().zip(t.expect) {
        let case = format!("{name}_{}", kind_name(*kind));
        let mut image = Image::new(mode, &case);
        match name {
            "working_dir" => image.config(serde_json::json!({ "WorkingDir": t.path })),
            "bind_destination" => image.bind(OsStr::new(t.path)),
            _ => {}
        }
        image.plant(t.path, t.dir, *kind);
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            image.check(mode, expect);
        }));
        if let Err(e) = res {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{case} ({}): {msg}", kind.describe()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.proc")]
fn proc_root() {
    mount_target("proc", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.proc")]
fn proc_rootless() {
    mount_target("proc", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.sys")]
fn sys_root() {
    mount_target("sys", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.sys")]
fn sys_rootless() {
    mount_target("sys", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev")]
fn dev_root() {
    mount_target("dev", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev")]
fn dev_rootless() {
    mount_target("dev", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-pts")]
fn dev_pts_root() {
    mount_target("dev_pts", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-pts")]
fn dev_pts_rootless() {
    mount_target("dev_pts", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-shm")]
fn dev_shm_root() {
    mount_target("dev_shm", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-shm")]
fn dev_shm_rootless() {
    mount_target("dev_shm", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-mqueue")]
fn dev_mqueue_root() {
    mount_target("dev_mqueue", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.dev-mqueue")]
fn dev_mqueue_rootless() {
    mount_target("dev_mqueue", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
fn dev_init_root() {
    mount_target("dev_init", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
fn dev_init_rootless() {
    mount_target("dev_init", Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets", "names.hosts.localhost")]
fn etc_hosts_root() {
    mount_target("etc_hosts", Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets", "names.hosts.localhost")]
fn etc_hosts_rootless() {
    mount_target("etc_hosts", Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets", "dns.resolv-conf.host-network")]
fn etc_resolv_conf_root() {
    mount_target("etc_resolv_conf", Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets", "dns.resolv-conf.host-network")]
fn etc_resolv_conf_rootless() {
    mount_target("etc_resolv_conf", Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets", "names.hostname.file")]
fn etc_hostname_root() {
    mount_target("etc_hostname", Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets", "names.hostname.file")]
fn etc_hostname_rootless() {
    mount_target("etc_hostname", Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets", "identity.image-files.confined")]
fn etc_passwd_root() {
    mount_target("etc_passwd", Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets", "identity.image-files.confined")]
fn etc_passwd_rootless() {
    mount_target("etc_passwd", Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets", "identity.image-files.confined")]
fn etc_group_root() {
    mount_target("etc_group", Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets", "identity.image-files.confined")]
fn etc_group_rootless() {
    mount_target("etc_group", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.tmp")]
fn tmp_root() {
    mount_target("tmp", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.tmp")]
fn tmp_rootless() {
    mount_target("tmp", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_root() {
    mount_target("working_dir", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_rootless() {
    mount_target("working_dir", Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.bind-mounts")]
fn bind_destination_root() {
    mount_target("bind_destination", Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.bind-mounts")]
fn bind_destination_rootless() {
    mount_target("bind_destination", Mode::Rootless);
}

// ---------------------------------------------------------------------------------------------
// The other cases.

/// Run `setup`'s image as the case `name` in `mode` and check it ends as [`OTHER`] says.
fn other(name: &str, mode: Mode, setup: impl FnOnce(&mut Image)) -> Output {
    let mut image = Image::new(mode, name);
    setup(&mut image);
    image.check(mode, expect_of(name, mode))
}

fn dotdot_chain_out_of_the_root(mode: Mode) {
    other("dotdot_chain_out_of_the_root", mode, |image| {
        let target = format!(
            "{}{}",
            "../".repeat(12),
            image
                .outside()
                .join("hosts")
                .display()
                .to_string()
                .trim_start_matches('/')
        );
        std::fs::remove_file(image.root().join("etc/hosts")).unwrap();
        symlink(target, image.root().join("etc/hosts")).unwrap();
        image.cmd = vec!["cat".into(), "/etc/hosts".into()];
    });
}

fn dotdot_chain_working_dir(mode: Mode) {
    other("dotdot_chain_working_dir", mode, |image| {
        image
            .config(serde_json::json!({ "WorkingDir": "/../../srv/../../../srv/./work/..//work" }));
        image.cmd = vec!["pwd".into()];
    });
}

fn newline_in_working_dir(mode: Mode) {
    let out = other("newline_in_working_dir", mode, |image| {
        image.config(serde_json::json!({ "WorkingDir": "/srv/a\nb" }));
        image.cmd = vec!["pwd".into()];
    });
    assert_eq!(out.stdout, "/srv/a\nb\n", "{out:#?}");
}

fn non_utf8_names_in_etc(mode: Mode) {
    other("non_utf8_names_in_etc", mode, |image| {
        let etc = image.root().join("etc");
        std::fs::write(etc.join(OsStr::from_bytes(b"bad-\xff\xfe")), "x").unwrap();
        std::fs::create_dir(etc.join(OsStr::from_bytes(b"dir-\xc3\x28"))).unwrap();
        std::fs::remove_file(etc.join("resolv.conf")).unwrap();
        symlink(OsStr::from_bytes(b"bad-\xff\xfe"), etc.join("resolv.conf")).unwrap();
        image.cmd = vec![
            "sh".into(),
            "-c".into(),
            "ls /etc >/dev/null; cat /etc/resolv.conf".into(),
        ];
    });
}

fn non_utf8_bind_destination(mode: Mode) {
    other("non_utf8_bind_destination", mode, |image| {
        image.bind(OsStr::from_bytes(b"/mnt/\xff"));
    });
}

fn hard_link_to_a_host_file(mode: Mode) {
    let out = other("hard_link_to_a_host_file", mode, |image| {
        let host = image.outside().join("secret");
        std::fs::write(&host, "host secret\n").unwrap();
        std::fs::hard_link(&host, image.root().join("etc/shadow-link")).unwrap();
        image.cmd = vec![
            "sh".into(),
            "-c".into(),
            "echo pwned >> /etc/shadow-link; cat /etc/shadow-link".into(),
        ];
    });
    assert_eq!(out.stdout, "host secret\npwned\n", "{out:#?}");
}

fn etc_with_100000_files(mode: Mode) {
    other("etc_with_100000_files", mode, |image| {
        let dir = image.root().join("etc/many");
        std::fs::create_dir(&dir).unwrap();
        for i in 0..100_000 {
            std::fs::File::create(dir.join(format!("f{i}"))).unwrap();
        }
        image.cmd = vec!["sh".into(), "-c".into(), "ls /etc/many | wc -l".into()];
    });
}

/// `DEPTH` nested directories `d/d/d/...` below `top`, made with `mkdirat` one level at a time
/// (the whole path is longer than `PATH_MAX`), each given to `owner`.
fn deep_chain(top: &Path, depth: usize, owner: Option<(u32, u32)>) {
    use nix::fcntl::{OFlag, open, openat};
    use nix::sys::stat::{Mode as M, mkdirat};
    std::fs::create_dir(top).unwrap();
    let mut fd = open(top, OFlag::O_DIRECTORY | OFlag::O_RDONLY, M::empty()).unwrap();
    let give = |fd: &std::os::fd::OwnedFd| {
        if let Some((uid, gid)) = owner {
            nix::unistd::fchown(
                fd,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .unwrap();
        }
    };
    give(&fd);
    for _ in 0..depth {
        mkdirat(&fd, "d", M::from_bits_truncate(0o755)).unwrap();
        fd = openat(&fd, "d", OFlag::O_DIRECTORY | OFlag::O_RDONLY, M::empty()).unwrap();
        give(&fd);
    }
}

/// `rm -rf` (GNU rm walks any depth); `remove_dir_all` may run out of file descriptors.
fn remove_deep(top: &Path) {
    let st = std::process::Command::new("rm")
        .arg("-rf")
        .arg(top)
        .status()
        .unwrap();
    assert!(st.success());
}

fn directory_chain_4000_deep(mode: Mode) {
    let mut top = PathBuf::new();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut image = Image::new(mode, "directory_chain_4000_deep");
        // Everything a path-based walk does (giving the image to the test user, the snapshot)
        // is done before the chain exists, or leaves it out.
        image.engine = Some(engine_binary(mode, &image.rootfs));
        image.unwalkable = Some("deep");
        top = image.root().join("deep");
        let owner = runs_as_test_user(mode).then(|| (test_user().uid, test_user().gid));
        deep_chain(&top, 4000, owner);
        image.cmd = vec![
            "sh".into(),
            "-c".into(),
            "cd /deep/d/d/d && echo ran".into(),
        ];
        let out = image.check(mode, expect_of("directory_chain_4000_deep", mode));
        remove_deep(&top);
        out
    }));
    if !top.as_os_str().is_empty() && top.exists() {
        remove_deep(&top);
    }
    if let Err(e) = res {
        std::panic::resume_unwind(e);
    }
}

fn working_dir_under_proc(mode: Mode) {
    other("working_dir_under_proc", mode, |image| {
        image.config(serde_json::json!({ "WorkingDir": "/proc/self/root" }));
    });
}

fn working_dir_symlink_into_proc(mode: Mode) {
    other("working_dir_symlink_into_proc", mode, |image| {
        symlink("/proc/1/cwd", image.root().join("w")).unwrap();
        image.config(serde_json::json!({ "WorkingDir": "/w" }));
    });
}

fn etc_a_symlink_out_of_the_root(mode: Mode) {
    other("etc_a_symlink_out_of_the_root", mode, |image| {
        let etc = image.root().join("etc");
        let host_etc = image.outside().join("etc");
        std::fs::rename(&etc, &host_etc).unwrap();
        std::fs::write(host_etc.join("passwd"), "hostonly:x:0:0::/:/bin/sh\n").unwrap();
        symlink(&host_etc, &etc).unwrap();
        image.cmd = vec!["sh".into(), "-c".into(), "cat /etc/passwd".into()];
    });
}

fn passwd_over_the_read_limit(mode: Mode) {
    other("passwd_over_the_read_limit", mode, |image| {
        let line = "u:x:1:1::/:/bin/sh\n";
        let text = line.repeat(5 * 1024 * 1024 / line.len() + 1);
        std::fs::write(image.root().join("etc/passwd"), text).unwrap();
    });
}

/// A thread keeps replacing the image's `/etc/passwd` (renamed over it, so every open sees one
/// whole file) by a symlink to a host file, a FIFO and a real file, while the engine runs 20
/// containers that print it: each run either ends cleanly showing the image's entries, or is
/// refused naming `/etc/passwd`; the host file is never shown nor written.
fn passwd_changing_while_prepared(mode: Mode) {
    let mut image = Image::new(mode, "passwd_changing_while_prepared");
    let host = image.outside().join("passwd");
    std::fs::write(&host, "hostonly:x:0:0::/:/bin/sh\n").unwrap();
    image.cmd = vec!["cat".into(), "/etc/passwd".into()];
    let engine = engine_binary(mode, &image.rootfs);
    if runs_as_test_user(mode) {
        let u = test_user();
        locald_testkit::chown_tree(&image.outside(), u.uid, u.gid);
    }
    let before = tree_manifest(&image.outside());
    let etc = image.root().join("etc");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (etc, host, stop) = (etc.clone(), host.clone(), stop.clone());
        // Made beside the image and renamed in whole: the image never holds a half-made entry.
        let staging = image.rootfs.base().join("staging");
        std::fs::create_dir(&staging).unwrap();
        let owner = runs_as_test_user(mode).then(|| (test_user().uid, test_user().gid));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = staging.join("passwd");
                let _ = std::fs::remove_file(&tmp);
                match n % 3 {
                    0 => symlink(&host, &tmp).unwrap(),
                    1 => nix::unistd::mkfifo(&tmp, nix::sys::stat::Mode::from_bits_truncate(0o644))
                        .unwrap(),
                    _ => std::fs::write(&tmp, "root:x:0:0:root:/root:/bin/sh\n").unwrap(),
                }
                if let Some((uid, gid)) = owner {
                    let _ = std::os::unix::fs::lchown(&tmp, Some(uid), Some(gid));
                }
                std::fs::rename(&tmp, etc.join("passwd")).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut outcomes = (0, 0);
    let mut bad = Vec::new();
    for i in 0..20 {
        image.id = format!(
            "hostile-passwd-race-{}-{i}-{}",
            mode_name(mode),
            std::process::id()
        );
        let out = image.run_bounded(mode, &engine);
        let ok = match out.code {
            0 => {
                outcomes.0 += 1;
                out.stdout.starts_with("root:x:0:0:")
            }
            125 => {
                outcomes.1 += 1;
                out.stderr.contains("/etc/passwd")
            }
            _ => false,
        };
        if !ok || out.stdout.contains("hostonly") {
            bad.push(out);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    assert!(
        bad.is_empty(),
        "after {swaps} swaps, {outcomes:?} (ran, refused): {bad:#?}"
    );
    assert_eq!(
        tree_manifest(&image.outside()),
        before,
        "the host file was written"
    );
    eprintln!(
        "{swaps} swaps; {} runs, {} refusals naming /etc/passwd",
        outcomes.0, outcomes.1
    );
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
fn dotdot_chain_out_of_the_root_root() {
    dotdot_chain_out_of_the_root(Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
fn dotdot_chain_out_of_the_root_rootless() {
    dotdot_chain_out_of_the_root(Mode::Rootless);
}

#[test]
#[verifies("process.cwd", "filesystems.layer.targets")]
fn dotdot_chain_working_dir_root() {
    dotdot_chain_working_dir(Mode::Root);
}

#[test]
#[verifies("process.cwd", "filesystems.layer.targets")]
fn dotdot_chain_working_dir_rootless() {
    dotdot_chain_working_dir(Mode::Rootless);
}

#[test]
#[verifies("process.cwd")]
fn newline_in_working_dir_root() {
    newline_in_working_dir(Mode::Root);
}

#[test]
#[verifies("process.cwd")]
fn newline_in_working_dir_rootless() {
    newline_in_working_dir(Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.targets")]
fn non_utf8_names_in_etc_root() {
    non_utf8_names_in_etc(Mode::Root);
}

#[test]
#[verifies("filesystems.layer.targets")]
fn non_utf8_names_in_etc_rootless() {
    non_utf8_names_in_etc(Mode::Rootless);
}

#[test]
#[verifies("filesystems.bind-mounts")]
fn non_utf8_bind_destination_root() {
    non_utf8_bind_destination(Mode::Root);
}

#[test]
#[verifies("filesystems.bind-mounts")]
fn non_utf8_bind_destination_rootless() {
    non_utf8_bind_destination(Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.private", "filesystems.root")]
fn hard_link_to_a_host_file_root() {
    hard_link_to_a_host_file(Mode::Root);
}

#[test]
#[verifies("filesystems.layer.private", "filesystems.root")]
fn hard_link_to_a_host_file_rootless() {
    hard_link_to_a_host_file(Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn etc_with_100000_files_root() {
    etc_with_100000_files(Mode::Root);
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn etc_with_100000_files_rootless() {
    etc_with_100000_files(Mode::Rootless);
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn directory_chain_4000_deep_root() {
    directory_chain_4000_deep(Mode::Root);
}

#[test]
#[verifies("filesystems.layer.unprivileged")]
fn directory_chain_4000_deep_rootless() {
    directory_chain_4000_deep(Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_under_proc_root() {
    working_dir_under_proc(Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_under_proc_rootless() {
    working_dir_under_proc(Mode::Rootless);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_symlink_into_proc_root() {
    working_dir_symlink_into_proc(Mode::Root);
}

#[test]
#[verifies("confinement.mount-targets", "process.cwd")]
fn working_dir_symlink_into_proc_rootless() {
    working_dir_symlink_into_proc(Mode::Rootless);
}

#[test]
#[verifies("identity.image-files.confined", "confinement.mount-targets")]
fn etc_a_symlink_out_of_the_root_root() {
    etc_a_symlink_out_of_the_root(Mode::Root);
}

#[test]
#[verifies("identity.image-files.confined", "confinement.mount-targets")]
fn etc_a_symlink_out_of_the_root_rootless() {
    etc_a_symlink_out_of_the_root(Mode::Rootless);
}

#[test]
#[verifies("identity.image-files.confined")]
fn passwd_over_the_read_limit_root() {
    passwd_over_the_read_limit(Mode::Root);
}

#[test]
#[verifies("identity.image-files.confined")]
fn passwd_over_the_read_limit_rootless() {
    passwd_over_the_read_limit(Mode::Rootless);
}

#[test]
#[verifies("identity.image-files.confined")]
fn passwd_changing_while_prepared_root() {
    passwd_changing_while_prepared(Mode::Root);
}

#[test]
#[verifies("identity.image-files.confined")]
fn passwd_changing_while_prepared_rootless() {
    passwd_changing_while_prepared(Mode::Rootless);
}

// ---------------------------------------------------------------------------------------------
// The book's list of cases.

/// The corpus as the book lists it: one row per case.
fn corpus_markdown() -> String {
    let all = cases();
    let mut out = format!(
        "<!-- Generated from crates/engine/tests/hostile_images.rs (LOCALD_BLESS=1 cargo nextest \
         run -p locald-engine --test hostile_images corpus); do not edit. -->\n\n\
         {} cases, each run rootful and rootless under runc. Every one must leave the directory \
         holding the image byte-identical, leave no bundle behind and end within {} s.\n\n\
         | case | the image | must | requirement |\n|---|---|---|---|\n",
        all.len(),
        BOUND.as_secs()
    );
    for c in &all {
        out.push_str(&format!(
            "| `{}` | {} | {} | `{}` |\n",
            c.name,
            c.what.replace('|', "\\|"),
            match c.rootless {
                Some(r) => format!("{}; rootless: {}", c.expect.describe(), r.describe()),
                None => c.expect.describe(),
            },
            c.requirement
        ));
    }
    out
}

/// The book's copy of the corpus list is the one [`cases`] makes.
#[test]
#[verifies("confinement.mount-targets")]
fn corpus_list_in_the_book_is_current() {
    assert!(cases().len() >= 30);
    book_page_is_current(
        "corpus.md",
        &corpus_markdown(),
        "LOCALD_BLESS=1 cargo nextest run -p locald-engine --test hostile_images corpus",
    );
}
