//! The harness of the end-to-end tests: the `locald-engine` binary run as root or as the
//! unprivileged test user, on busybox and Debian root filesystems, and what the workload saw.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use locald_testkit::{
    Rootfs, SubordinateRanges, TestUser, Users, require_root, require_runc, static_init, test_user,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_locald-engine");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As root: no user namespace.
    Root,
    /// As an unprivileged user: user namespace with the single mapping.
    Rootless,
}

#[derive(Debug)]
pub struct Output {
    /// The exit code.
    pub code: i32,
    /// What it printed.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Output {
    /// Assert success and return stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "engine failed: {self:#?}");
        &self.stdout
    }

    /// Assert that the engine refused (status 125) with a message containing `needle`.
    pub fn refused(&self, needle: &str) {
        assert_eq!(self.code, 125, "{self:#?}");
        assert!(self.stderr.contains(needle), "{needle:?} in {self:#?}");
    }
}

/// A command running `program` as the user of `mode`.
pub fn command_as(mode: Mode, program: &str) -> Command {
    match mode {
        Mode::Root => {
            require_root();
            Command::new(program)
        }
        // Already unprivileged: the engine maps us to 0 by itself.
        Mode::Rootless if !nix::unistd::geteuid().is_root() => Command::new(program),
        Mode::Rootless => test_user().command(program),
    }
}

/// The host uid and gid the rootless container's 0 maps to.
pub fn rootless_host_ids() -> (u32, u32) {
    if nix::unistd::geteuid().is_root() {
        let u = test_user();
        (u.uid, u.gid)
    } else {
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    }
}

/// The subordinate ranges the rootless engine maps in `mode` (`None` as root): the test
/// user's (or, run unprivileged, the caller's own), which must exist with newuidmap and
/// newgidmap, else the test fails (`ci/install-deps` gives the test user its ranges).
pub fn subordinate_ranges(mode: Mode) -> Option<SubordinateRanges> {
    match mode {
        Mode::Root => None,
        Mode::Rootless if nix::unistd::geteuid().is_root() => {
            Some(test_user().require_subordinate_ids())
        }
        Mode::Rootless => {
            let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .expect("the calling user's passwd entry");
            let user = TestUser {
                name: me.name,
                uid: me.uid.as_raw(),
                gid: me.gid.as_raw(),
            };
            Some(user.require_subordinate_ids())
        }
    }
}

/// The runtime's state directory (`runc --root`) of the engine's default state root in `mode`:
/// root's, or, for the test user (no XDG directories, HOME=/), `/tmp/locald-engine-UID`.
pub fn default_runtime_root(mode: Mode) -> std::path::PathBuf {
    match (mode, nix::unistd::geteuid().is_root()) {
        (Mode::Root, _) => "/var/lib/locald-engine/runtime".into(),
        (Mode::Rootless, true) => format!("/tmp/locald-engine-{}/runtime", test_user().uid).into(),
        (Mode::Rootless, false) => locald_engine::state::default_state_root().join("runtime"),
    }
}

/// Give the image to the user that runs the engine in `mode`: an unprivileged engine's layer
/// needs an image it owns (its user namespace maps only that user), as one it extracted
/// itself would be.
pub fn own_rootfs(mode: Mode, rootfs: &Rootfs) {
    if runs_as_test_user(mode) {
        let u = test_user();
        locald_testkit::chown_tree(rootfs.path(), u.uid, u.gid);
    }
}

/// The Debian rootfs for `mode`: the test user's own copy when the engine runs as that user.
pub fn debian_for(mode: Mode) -> std::path::PathBuf {
    if runs_as_test_user(mode) {
        let u = test_user();
        locald_testkit::debian_rootfs_for(u.uid, u.gid)
    } else {
        locald_testkit::debian_rootfs()
    }
}

/// Whether `mode` runs the engine as the test user, from copies beside the rootfs.
pub fn runs_as_test_user(mode: Mode) -> bool {
    mode == Mode::Rootless && nix::unistd::geteuid().is_root()
}

/// Hard-link (else copy) `src` to `dest` unless it exists.
pub fn link_or_copy(src: &Path, dest: &Path) {
    if !dest.exists() && std::fs::hard_link(src, dest).is_err() {
        std::fs::copy(src, dest).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
}

/// The engine binary as the user of `mode` can execute it.
///
/// The build directory may not be traversable by the rootless test user (a clone under
/// /root, say), so for that user the binary is hard-linked (else copied) beside the rootfs,
/// into the test's own 0755 temporary directory, with the static init beside it as
/// `locald-init`, where the engine looks for it by default.
pub fn engine_binary(mode: Mode, rootfs: &Rootfs) -> String {
    own_rootfs(mode, rootfs);
    if !runs_as_test_user(mode) {
        return BIN.to_owned();
    }
    let dest = rootfs.base().join("locald-engine");
    link_or_copy(Path::new(BIN), &dest);
    link_or_copy(&static_init(), &rootfs.base().join("locald-init"));
    dest.to_str().unwrap().to_owned()
}

/// Start `cmd` (an engine command line) with stdin from /dev/null and stdout and stderr piped,
/// for a test that reads what the container prints while it runs.
pub fn spawn_piped(cmd: &mut Command) -> std::process::Child {
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn locald-engine")
}

/// A command running the engine binary in `mode`, with the static init: beside the engine
/// for the test user, else through `LOCALD_INIT`.
pub fn engine_command(mode: Mode, rootfs: &Rootfs) -> Command {
    with_init(mode, command_as(mode, &engine_binary(mode, rootfs)))
}

/// `cmd` (which runs the engine, maybe through another program) with `LOCALD_INIT` set to the
/// static init, unless the init lies beside the engine's copy (see [`engine_binary`]).
pub fn with_init(mode: Mode, mut cmd: Command) -> Command {
    if !runs_as_test_user(mode) {
        cmd.env("LOCALD_INIT", static_init());
    }
    cmd
}

/// Run `locald-engine ARGS...` in `mode`.
pub fn engine(mode: Mode, rootfs: &Rootfs, args: &[&str]) -> Output {
    let out = engine_command(mode, rootfs)
        .args(args)
        .output()
        .expect("spawn locald-engine");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `locald-engine run --rootfs ROOTFS OPTS... -- CMD...` under runc (the rootfs given to the
/// engine's user first, see [`own_rootfs`]).
pub fn run(mode: Mode, rootfs: &Rootfs, opts: &[&str], cmd: &[&str]) -> Output {
    own_rootfs(mode, rootfs);
    run_dir(mode, rootfs, rootfs.path(), opts, cmd)
}

/// `locald-engine run --rootfs DIR OPTS... -- CMD...` under runc, for an image directory that
/// is not a testkit rootfs (the Debian one, say); `carrier` holds the engine's copy for the
/// test user.
pub fn run_dir(mode: Mode, carrier: &Rootfs, dir: &Path, opts: &[&str], cmd: &[&str]) -> Output {
    require_runc();
    let mut args = vec!["run", "--rootfs", dir.to_str().unwrap()];
    args.extend_from_slice(opts);
    args.push("--");
    args.extend_from_slice(cmd);
    engine(mode, carrier, &args)
}

/// `sh -c SCRIPT` in a fresh rootfs with `users`.
pub fn sh(mode: Mode, users: Users, opts: &[&str], script: &str) -> Output {
    let rootfs = Rootfs::build(users);
    run(mode, &rootfs, opts, &["sh", "-c", script])
}

/// Write an image configuration JSON beside the rootfs and return its path as a string.
pub fn image_config_file(rootfs: &Rootfs, config: serde_json::Value) -> String {
    let doc = serde_json::to_string(&locald_testkit::image_config(config)).unwrap();
    let p = rootfs.write_scratch("image-config.json", &doc);
    p.to_str().unwrap().to_owned()
}

/// One line of /proc/self/mountinfo.
pub struct MountInfo<'a> {
    pub id: &'a str,
    pub parent: &'a str,
    pub mount_point: &'a str,
    pub options: &'a str,
    pub fstype: &'a str,
    pub super_options: &'a str,
}

impl MountInfo<'_> {
    pub fn has(&self, option: &str) -> bool {
        self.options.split(',').any(|o| o == option)
    }

    pub fn has_super(&self, option: &str) -> bool {
        self.super_options.split(',').any(|o| o == option)
    }
}

pub fn mountinfo(text: &str) -> Vec<MountInfo<'_>> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            Some(MountInfo {
                id: left.first()?,
                parent: left.get(1)?,
                mount_point: left.get(4)?,
                options: left.get(5)?,
                fstype: right.first()?,
                super_options: right.get(2).copied().unwrap_or(""),
            })
        })
        .collect()
}

/// The visible mount at `mount_point` (the last one mounted there).
pub fn mount_at<'a>(info: &'a [MountInfo<'a>], mount_point: &str) -> Option<&'a MountInfo<'a>> {
    info.iter().rfind(|m| m.mount_point == mount_point)
}

pub fn fstype_at<'a>(text: &'a str, mount_point: &str) -> Option<&'a str> {
    mountinfo(text)
        .iter()
        .rfind(|m| m.mount_point == mount_point)
        .map(|m| m.fstype)
}

pub fn mount_options<'a>(text: &'a str, mount_point: &str) -> Option<&'a str> {
    mountinfo(text)
        .iter()
        .rfind(|m| m.mount_point == mount_point)
        .map(|m| m.options)
}

/// The example program `name`, built beside this test binary (cargo builds a package's
/// examples with its tests; the tests turn the `libcontainer` feature on).
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p locald-engine --features libcontainer \
         --example {name}` (cargo test and nextest build it with the tests)",
        path.display()
    );
    path
}

/// Watches the host, from a thread, for a control group named `name` one level below the root
/// of any cgroup hierarchy (v1's `/sys/fs/cgroup/CONTROLLER/NAME`, v2's `/sys/fs/cgroup/NAME`)
/// until [`CgroupWatch::seen`]. A workload in its own cgroup namespace sees its cgroup as `/`
/// (`isolation.namespaces.cgroup`), so where the runtime put it is seen from the host only.
pub struct CgroupWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<bool>,
}

/// Start watching for the control group `name` (see [`CgroupWatch`]).
pub fn watch_cgroup(name: &str) -> CgroupWatch {
    use std::sync::atomic::Ordering;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let name = name.to_owned();
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        let root = Path::new("/sys/fs/cgroup");
        let exists = || {
            root.join(&name).is_dir()
                || std::fs::read_dir(root)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|d| d.path().join(&name).is_dir())
        };
        loop {
            // Checked once more after the stop: a container that started and ended between two
            // looks is not missed for want of a last one (its cgroup is removed by then, so a
            // miss is a failure of the test, never a false pass).
            let last = stopped.load(Ordering::SeqCst);
            if exists() {
                return true;
            }
            if last {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    CgroupWatch { stop, thread }
}

impl CgroupWatch {
    /// Stop watching: whether the control group existed at one of the looks.
    pub fn seen(self) -> bool {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().expect("the cgroup watcher")
    }
}
