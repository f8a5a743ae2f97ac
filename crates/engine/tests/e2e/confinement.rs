//! Regression tests for the three ways out an attack campaign found (see the chapter
//! "Confinement"), rootful and rootless, each reproducing the attack against the engine binary
//! under real runc: on the engine before the per-container layer each of them got out.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use locald_spec_macros::{variants, verifies};
use locald_testkit::{Rootfs, Users, require_runc, second_test_user, test_user};

/// How many times the victim container starts while the attacker races.
const ATTEMPTS: usize = 50;

/// The attacker's engine, stopped (SIGTERM: the container's stop signal, as a user's Ctrl-C)
/// however the test ends: a failed assertion must not leave it looping.
struct Attacker(std::process::Child);

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

/// Escape 1: a container from a hostile image, sharing the image directory with a victim,
/// deletes the victim's working directory from the image and keeps exchanging `/srv/x` between
/// a directory and a symlink to `/`; the victim, from the same image and configuration, found
/// the host's `/` at `/srv/x` (the engine bind-mounted image entries by host path). With a layer
/// of its own per container, the attacker only ever changes its own layer. The working
/// directory is beside `/srv/x`, not below it: a missing one below would make the old engine
/// mirror `/srv/x` itself, which it never bound, while beside it `/srv/x` is an entry of a
/// mirrored `/srv`, bound by host path.
#[verifies("confinement.mount-targets", "filesystems.layer.private")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_sibling_cannot_swap_the_shared_image_under_a_victim(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    std::fs::create_dir_all(rootfs.path().join("srv/x")).unwrap();
    std::fs::create_dir_all(rootfs.path().join("srv/work")).unwrap();
    // A file only the host has: the victim must never see it through /srv/x.
    let marker = rootfs.base().join("host-marker");
    std::fs::write(&marker, "host\n").unwrap();
    own_rootfs(mode, &rootfs);
    let before = locald_testkit::tree_manifest(rootfs.path());
    let attacker_script = "rmdir /srv/work; echo racing; while :; do \
        mv /srv/x /srv/y 2>/dev/null; ln -s / /srv/x 2>/dev/null; \
        rm -f /srv/x 2>/dev/null; mv /srv/y /srv/x 2>/dev/null; done";
    let mut attacker = Attacker(
        engine_command(mode, &rootfs)
            .args(["run", "--rootfs"])
            .arg(rootfs.path())
            .args(["--", "sh", "-c", attacker_script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the attacker"),
    );
    // Race only once the attacker does: its first line says its working directory is gone.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(attacker.0.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "racing\n", "the attacker started");
    let config = image_config_file(&rootfs, serde_json::json!({ "WorkingDir": "/srv/work" }));
    let probe = format!("test -e /srv/x{} && echo ESCAPED; pwd", marker.display());
    let mut escaped = 0;
    let mut failed = Vec::new();
    let root = rootfs.path().to_str().unwrap();
    let args = [
        "run",
        "--rootfs",
        root,
        "--image-config",
        &config,
        "--",
        "sh",
        "-c",
        &probe,
    ];
    for _ in 0..ATTEMPTS {
        // Not `run`: its chown walk would race the attacker (the image is the user's already).
        let out = engine(mode, &rootfs, &args);
        if out.stdout.contains("ESCAPED") {
            escaped += 1;
        }
        if out.code != 0 {
            failed.push(out);
        }
    }
    drop(attacker);
    assert_eq!(
        escaped, 0,
        "the victim saw the host's / in {escaped} of {ATTEMPTS} starts"
    );
    assert!(
        failed.is_empty(),
        "the attacker broke {} of {ATTEMPTS} victim starts; the first: {:#?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(
        locald_testkit::tree_manifest(rootfs.path()),
        before,
        "the attacker changed the shared image"
    );
}

/// Escape 2: an image whose `/dev` is a symlink that resolves inside the root but, read by a
/// runtime that joins `ROOTFS/dev/...` without resolving it there (runc 1.1.5's `setupPtmx`
/// and `setupDevSymlinks`), names a host directory: runc wrote `ptmx`, `fd`, `stdin`, `stdout`
/// and `stderr` there. Here the link names a directory of the test's, so nothing of the host's
/// is at risk; the container's `/dev` must be a plain directory of its own layer.
#[verifies("confinement.mount-targets", "filesystems.layer.targets")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_dev_symlink_never_leads_the_runtime_to_the_host(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    let target = rootfs.base().join("host-dev");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("ptmx"), "stand-in for the host's /dev/ptmx\n").unwrap();
    // The engine's user may write there, as into a host directory of its own: a runtime led
    // there must be seen doing it, not stopped by a permission error.
    if runs_as_test_user(mode) {
        locald_testkit::chown_tree(&target, test_user().uid, test_user().gid);
    }
    // Inside the root the link resolves to a decoy directory of the image; on the host, to
    // `target`.
    std::fs::remove_dir(rootfs.path().join("dev")).unwrap();
    let inner = rootfs.path().join(target.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inner).unwrap();
    std::os::unix::fs::symlink(&target, rootfs.path().join("dev")).unwrap();
    let out = run(
        mode,
        &rootfs,
        &[],
        &[
            "sh",
            "-c",
            "echo x > /dev/null && ls /dev/ptmx /dev/fd/ >/dev/null && echo ok",
        ],
    );
    let mut left: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["ptmx"],
        "the runtime wrote into the host directory: {out:#?}"
    );
    assert_eq!(out.ok(), "ok\n");
    assert_eq!(
        std::fs::read_to_string(target.join("ptmx")).unwrap(),
        "stand-in for the host's /dev/ptmx\n"
    );
    assert!(
        std::fs::symlink_metadata(rootfs.path().join("dev"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the image keeps its link"
    );
}

/// The working directory `/work -> /proc/self/fd/7`, with a decoy directory `proc/self/fd/7`
/// in the image, passed a check of the literal path: only runc's CVE-2024-21626 fix stood in
/// the way. It is refused before anything runs.
#[verifies("confinement.mount-targets", "process.cwd")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_working_directory_into_proc_is_refused(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    std::fs::create_dir_all(rootfs.path().join("proc/self/fd/7")).unwrap();
    std::os::unix::fs::symlink("/proc/self/fd/7", rootfs.path().join("work")).unwrap();
    let config = image_config_file(&rootfs, serde_json::json!({ "WorkingDir": "/work" }));
    run(mode, &rootfs, &["--image-config", &config], &["pwd"]).refused("/proc/self/fd/7");
}

/// Escape 3: without XDG_RUNTIME_DIR or a home of one's own (su, cron), the state root is
/// `/tmp/locald-engine-UID`. Another local user who created it first could exchange the bundle
/// directory inside with one of their own while the engine ran, and runc ran their
/// configuration as the victim. The engine must refuse a state root another user owns, before
/// it writes anything there.
#[test]
#[verifies("confinement.state-dir")]
fn another_users_state_root_is_refused_rootless() {
    require_runc();
    let victim = test_user();
    let attacker = second_test_user();
    let rootfs = Rootfs::build(Users::RootOnly);
    let engine = engine_binary(Mode::Rootless, &rootfs);
    // A shared, sticky temporary directory of the test's own (as /tmp is), named by TMPDIR, so
    // that the real /tmp/locald-engine-UID of other tests stays out of it.
    let tmp = rootfs.base().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let planted = tmp.join(format!("locald-engine-{}", victim.uid));
    let made = attacker
        .command("mkdir")
        .args(["-m", "0777"])
        .arg(&planted)
        .status()
        .unwrap();
    assert!(made.success(), "the attacker plants the directory");
    let out = with_init(Mode::Rootless, victim.command(&engine))
        .env("TMPDIR", &tmp)
        .args(["run", "--rootfs"])
        .arg(rootfs.path())
        .args(["--", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let left: Vec<_> = std::fs::read_dir(&planted)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    std::fs::remove_dir_all(&planted).unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        stderr.contains(&planted.display().to_string())
            && stderr.contains(&format!("uid {}", attacker.uid)),
        "{stderr}"
    );
    assert!(
        left.is_empty(),
        "the victim wrote into the attacker's directory: {left:?}"
    );
}

/// The same attack with the victim's own state root present: the attacker cannot enter it
/// (0700), and a symlink the attacker plants beside it is refused, never followed, whether it
/// is the state root or a directory on the way to it.
#[test]
#[verifies("confinement.state-dir")]
fn a_symlinked_state_root_is_refused_rootless() {
    let victim = test_user();
    let attacker = second_test_user();
    let rootfs = Rootfs::build(Users::RootOnly);
    let engine = engine_binary(Mode::Rootless, &rootfs);
    let theirs = rootfs.base().join("attackers");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(attacker.uid), Some(attacker.gid)).unwrap();
    // Open to all, as the directory planted in /tmp: the victim could create its state there.
    std::fs::set_permissions(&theirs, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let link = rootfs.base().join("state-link");
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    // The link as the state root, and as a directory on the way to it.
    for state_root in [link.clone(), link.join("state")] {
        let out = with_init(Mode::Rootless, victim.command(&engine))
            .args(["run", "--state-root"])
            .arg(&state_root)
            .args(["--rootfs"])
            .arg(rootfs.path())
            .args(["--", "true"])
            .output()
            .unwrap();
        let left: Vec<_> = std::fs::read_dir(&theirs)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "--state-root {}: the victim wrote into the attacker's directory: {left:?}, {out:?}",
            state_root.display()
        );
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("symlink"),
            "{out:?}"
        );
    }
}

/// An image whose identity files make a naive name search quadratic: a 4 MB passwd of
/// `root`, `root-1` … `root-139999` without a uid-0 entry kept the engine busy for over 90 s.
/// `prepare` must finish (a hang fails the test after 60 s; this is no speed target).
#[test]
#[verifies("limits.linear")]
fn a_passwd_built_to_be_quadratic_prepares_without_hanging() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let mut passwd = String::from("root:x:1:1:::\n");
    for i in 1..140_000 {
        passwd.push_str(&format!("root-{i}:x:{}:1:::\n", i + 1));
    }
    assert!(passwd.len() < 4 * 1024 * 1024, "within the read limit");
    std::fs::write(rootfs.path().join("etc/passwd"), &passwd).unwrap();
    let state = rootfs.base().join("bundle");
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["prepare", "--no-init", "--rootfs"])
        .arg(rootfs.path())
        .arg("--bundle")
        .arg(&state)
        .args(["--", "true"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = out;
    loop {
        if let Some(st) = out.try_wait().unwrap() {
            assert!(st.success(), "prepare failed");
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = out.kill();
            panic!("prepare hung on a quadratic passwd");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let generated = std::fs::read_to_string(state.join("layer/upper/etc/passwd")).unwrap();
    assert!(
        generated.ends_with("root-140000:x:0:0:container user:/:/bin/sh\n"),
        "{}",
        &generated[generated.len() - 80..]
    );
}
