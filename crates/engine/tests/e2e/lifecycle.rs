//! The life of a bundle as the CLI sees it: exit statuses, removal, and what the engine's
//! death leaves (nothing mounted; a bundle `ps` lists and `rm` removes), rootful and rootless.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use locald_spec_macros::{variants, verifies};
use locald_testkit::{Rootfs, Users, require_runc};

/// The overlay mounts of the host's (the test's) mount namespace whose options name `needle`.
fn overlays_naming(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - overlay ") && l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// A state root of its own for one test, owned by the user of `mode`.
pub(crate) fn state_root(mode: Mode, rootfs: &Rootfs) -> PathBuf {
    let sr = rootfs.base().join("state");
    // Its subdirectories too: the test asks runc about containers there as root, and runc
    // creates a `--root` it does not find.
    for d in [sr.clone(), sr.join("bundles"), sr.join("runtime")] {
        std::fs::create_dir(&d).unwrap();
        if runs_as_test_user(mode) {
            let (uid, gid) = rootless_host_ids();
            std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
        }
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    sr
}

/// Wait (bounded: a hang fails) until `done` holds.
pub(crate) fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[verifies("lifecycle.exit-status")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn exit_statuses(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    // The workload's own statuses pass through.
    assert_eq!(run(mode, &rootfs, &[], &["sh", "-c", "exit 1"]).code, 1);
    assert_eq!(run(mode, &rootfs, &[], &["sh", "-c", "exit 3"]).code, 3);
    // The runtime could not find or execute the command: 127, 126, told by its own log.
    let out = run(mode, &rootfs, &["--no-init"], &["nosuch"]);
    assert_eq!(out.code, 127, "{out:#?}");
    assert!(out.stderr.contains("nosuch"), "{out:#?}");
    let out = run(mode, &rootfs, &["--no-init"], &["/etc"]);
    assert_eq!(out.code, 126, "{out:#?}");
    // The engine refused: 125.
    run(mode, &rootfs, &["--id=-rf"], &["true"]).refused("not a valid container id");
}

/// `locald-engine run --id ID --state-root SR` in the background, its container running.
fn background(
    mode: Mode,
    rootfs: &Rootfs,
    sr: &Path,
    id: &str,
    script: &str,
) -> std::process::Child {
    require_runc();
    let child = engine_command(mode, rootfs)
        .args(["run", "--id", id, "--state-root"])
        .arg(sr)
        .arg("--rootfs")
        .arg(rootfs.path())
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the engine");
    let bundle = sr.join("bundles").join(id);
    eventually("the container never started", || {
        bundle.join("layer/upper/started").exists()
    });
    child
}

#[verifies("lifecycle.remove")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn remove_refuses_a_running_container_unless_forced(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    let mut engine = background(
        mode,
        &rootfs,
        &sr,
        "busy",
        "touch /started; exec sleep 1000",
    );
    let bundle = sr.join("bundles/busy");
    let out = self::engine(
        mode,
        &rootfs,
        &[
            "remove",
            "--state-root",
            srs,
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    );
    out.refused("busy is running");
    assert!(
        bundle.join("locald-bundle.json").exists(),
        "nothing removed"
    );
    let ps = self::engine(mode, &rootfs, &["ps", "--state-root", srs]);
    assert!(
        ps.ok()
            .lines()
            .any(|l| l.starts_with("busy") && l.contains("running")),
        "{ps:#?}"
    );
    self::engine(
        mode,
        &rootfs,
        &["rm", "--force", "--state-root", srs, "busy"],
    )
    .ok();
    assert!(!bundle.exists());
    let _ = engine.wait();
    assert!(overlays_naming(srs).is_empty());
}

#[test]
#[verifies("lifecycle.remove")]
fn remove_refuses_a_directory_the_engine_did_not_prepare_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    // What `runc spec` makes beside real data.
    let dir = rootfs.base().join("runc-bundle");
    std::fs::create_dir_all(dir.join("rootfs/data")).unwrap();
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    std::fs::write(dir.join("rootfs/data/precious"), "x").unwrap();
    let out = engine(
        Mode::Root,
        &rootfs,
        &["remove", "--force", "--bundle", dir.to_str().unwrap()],
    );
    out.refused("not a bundle prepared by locald-engine");
    assert!(dir.join("rootfs/data/precious").exists());
}

/// SIGKILL the engine `delay` after it starts `run`: at any phase — planning, writing the
/// bundle, mounting, the container running — nothing stays mounted on the host, the container
/// does not outlive the engine for long (runc dies with it, and the init forwards the stop
/// signal when the engine's lifeline hangs up), and `rm --force` (or the next `run` with the id) removes whatever is left.
#[verifies("lifecycle.engine-death", "filesystems.layer.private")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn sigkill_at_any_phase_leaves_nothing_mounted(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    let runtime_root = sr.join("runtime");
    for (i, delay_ms) in [0u64, 5, 10, 20, 40, 80, 160, 320, 640]
        .into_iter()
        .enumerate()
    {
        let id = format!("kill{i}");
        let mut child = engine_command(mode, &rootfs)
            .args(["run", "--id", &id, "--state-root", srs, "--rootfs"])
            .arg(rootfs.path())
            .args(["--", "sh", "-c", "echo x > /f; exec sleep 1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            overlays_naming(srs).is_empty(),
            "a layer stayed mounted ({delay_ms} ms)"
        );
        // The container stops with the engine: runc dies with it, the init forwards the stop
        // signal when the engine's lifeline hangs up (or starts no workload if it already
        // has), and no workload keeps running. Killed while runc
        // loads the seccomp filter — after runc's init last checked that its parent lives,
        // before it waits for the start — the container stays `created`: its workload never
        // started, and runc's init waits for a start that never comes.
        eventually(&format!("container {id} outlived the engine"), || {
            !matches!(
                runc_status(&runtime_root, &id).as_deref(),
                Some("running" | "paused")
            )
        });
        // Whatever is left goes with `rm --force`, a created container too; a bundle that was
        // never complete is swept.
        if sr.join("bundles").join(&id).exists() {
            engine(mode, &rootfs, &["rm", "--force", "--state-root", srs, &id]).ok();
        }
        assert_eq!(
            runc_status(&runtime_root, &id),
            None,
            "{id} left after rm --force"
        );
    }
    // The next run sweeps what killed prepares left, and nothing else remains.
    run(mode, &rootfs, &["--state-root", srs], &["true"]).ok();
    let left: Vec<_> = std::fs::read_dir(sr.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(rootfs_untouched(&rootfs));
}

/// The status runc reports for container `id` under `root`, if it knows it.
fn runc_status(root: &Path, id: &str) -> Option<String> {
    let out = Command::new(require_runc())
        .arg("--root")
        .arg(root)
        .args(["state", id])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["status"].as_str().map(str::to_owned)
}

/// The image was never written (no `/f` at its root).
fn rootfs_untouched(rootfs: &Rootfs) -> bool {
    !rootfs.path().join("f").exists()
}

/// SIGKILL during removal: the bundle's record goes last, so `rm` still recognizes what is
/// left and finishes.
#[test]
#[verifies("lifecycle.engine-death", "lifecycle.remove")]
fn an_interrupted_removal_can_be_finished_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = state_root(Mode::Root, &rootfs);
    let srs = sr.to_str().unwrap();
    let bundle = sr.join("bundles/big");
    let out = Command::new(BIN)
        .args(["prepare", "--no-init", "--id", "big", "--rootfs"])
        .arg(rootfs.path())
        .arg("--bundle")
        .arg(&bundle)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Many files in the layer, so that removal takes a while.
    let many = bundle.join("layer/upper/many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..20_000 {
        std::fs::write(many.join(i.to_string()), "").unwrap();
    }
    for delay in [1u64, 5, 20] {
        if !bundle.exists() {
            break;
        }
        let mut rm = Command::new(BIN)
            .args(["rm", "--state-root", srs, "big"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = rm.kill();
        let _ = rm.wait();
    }
    if bundle.exists() {
        assert!(
            bundle.join("locald-bundle.json").exists(),
            "the record goes last"
        );
        let out = Command::new(BIN)
            .args(["rm", "--state-root", srs, "big"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    assert!(!bundle.exists());
}

/// An image configuration that is a FIFO, a directory or malformed JSON is refused naming it
/// (and the line and column), at once: nothing blocks on the FIFO.
#[test]
#[verifies("limits.input-files")]
fn hostile_image_configurations_are_refused_naming_them_root() {
    let rootfs = Rootfs::build(Users::RootOnly);
    let fifo = rootfs.scratch().join("fifo.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let bad = rootfs.write_scratch("bad.json", "{\n  \"config\": {\"Cmd\": [\"sh\",]}\n}\n");
    let dir = rootfs.scratch().to_path_buf();
    for (path, needle) in [
        (&fifo, "not a regular file"),
        (&dir, "not a regular file"),
        (&bad, "line 2, column"),
    ] {
        let mut child = Command::new(BIN)
            .args(["explain", "--no-init", "--rootfs"])
            .arg(rootfs.path())
            .arg("--image-config")
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "blocked on {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(125), "{err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains(needle),
            "{err}"
        );
    }
    // The minimal configuration the README shows is accepted.
    let minimal = rootfs.write_scratch("min.json", r#"{"config": {"Cmd": ["true"]}}"#);
    let out = Command::new(BIN)
        .args(["explain", "--no-init", "--rootfs"])
        .arg(rootfs.path())
        .arg("--image-config")
        .arg(&minimal)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

mod cli {
    use crate::*;

    use locald_engine::requirement;

    #[test]
    fn explain_lists_every_entry_with_a_known_requirement_id() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let root = rootfs.path().to_str().unwrap();
        let out = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args([
                "explain", "--rootfs", root, "--id", "c1", "--json", "--", "sh",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let entries = v["entries"].as_array().unwrap();
        assert!(!entries.is_empty());
        // Every ID the engine prints is one the book defines.
        let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let book = locald_spec_core::parse::Registry::load(workspace, &workspace.join("book/src"))
            .unwrap();
        let defined = book.defined_ids();
        for e in entries {
            let id = e["requirement"].as_str().unwrap();
            assert!(defined.contains(id), "{id}");
        }
        let text = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args(["explain", "--rootfs", root, "--id", "c1", "--", "sh"])
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.contains("filesystems.proc"), "{text}");
        assert!(text.contains("process.args"), "{text}");
        for id in [
            requirement!("stopping.init.default"),
            requirement!("stopping.init.readonly"),
            requirement!("stopping.signal"),
        ] {
            assert!(text.contains(id.as_str()), "{id}: {text}");
        }
    }

    #[test]
    fn missing_runtime_is_a_clear_error() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let root = rootfs.path().to_str().unwrap();
        let args = [
            "run",
            "--runtime",
            "/nonexistent/runc",
            "--rootfs",
            root,
            "--",
            "true",
        ];
        engine(Mode::Root, &rootfs, &args).refused("`/nonexistent/runc` not found");
    }

    #[test]
    fn prepare_writes_a_bundle_and_prints_its_path() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let bundle = rootfs.base().join("bundle");
        let out = Command::new(BIN)
            .env("LOCALD_INIT", static_init())
            .args(["prepare", "--rootfs"])
            .arg(rootfs.path())
            .arg("--bundle")
            .arg(&bundle)
            .args(["--id", "c1", "--", "sh"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            bundle.to_str().unwrap()
        );
        for f in [
            "config.json",
            "locald-bundle.json",
            "layer/upper/etc/passwd",
        ] {
            assert!(bundle.join(f).is_file(), "{f}");
        }
    }
}

mod runc_state {
    use crate::*;

    /// `runc run` deletes the container itself when it ends, so the engine starts no second
    /// runc (`delete`) for an ordinary run; nothing may be left behind in runc's state.
    #[test]
    fn no_runc_state_is_left_after_a_run_root() {
        let rootfs = Rootfs::build(Users::RootOnly);
        let id = format!("runc-state-{}", std::process::id());
        let runc_root = default_runtime_root(Mode::Root);
        let runc_root = runc_root.as_path();
        run(Mode::Root, &rootfs, &["--id", &id], &["true"]).ok();
        assert!(!runc_root.join(&id).exists());
        let out = Command::new(require_runc())
            .arg("--root")
            .arg(runc_root)
            .args(["state", &id])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
    }
}

/// The `libcontainer_shim` example, locald's flow end to end: the bundle prepared by the user of
/// `mode` (rootless: the test user, mapped onto the container's root by `--mapped`), run by root
/// through youki's libcontainer with a cgroups path; the workload's status comes back, and the
/// bundle holds nothing its owner cannot remove (libcontainer's state lives in root's state
/// root, not in the bundle). libcontainer, built with libseccomp, loads the bundle's seccomp
/// filter.
#[verifies(
    "lifecycle.bundle",
    "lifecycle.exit-status",
    "isolation.cgroups-path",
    "filesystems.cgroup",
    "security.seccomp.default"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_libcontainer_shim_example_runs_a_bundle_its_user_prepared(mode: Mode) {
    locald_testkit::require_root();
    let rootfs = Rootfs::build(Users::RootOnly);
    let shim = rootfs.base().join("libcontainer_shim");
    link_or_copy(&example("libcontainer_shim"), &shim);
    let init = rootfs.base().join("locald-init");
    link_or_copy(&locald_testkit::static_init(), &init);
    own_rootfs(mode, &rootfs);
    let id = format!("shim-e2e-{}-{mode:?}", std::process::id()).to_lowercase();
    // The preparer's own directory of bundles, as locald's data directory is.
    let bundles = rootfs.base().join("bundles");
    std::fs::create_dir(&bundles).unwrap();
    if runs_as_test_user(mode) {
        let (uid, gid) = rootless_host_ids();
        nix::unistd::chown(&bundles, Some(uid.into()), Some(gid.into())).unwrap();
    }
    let bundle = bundles.join(&id);
    let mut prepare = command_as(mode, shim.to_str().unwrap());
    prepare
        .env("LOCALD_INIT", &init)
        .arg("prepare")
        .arg(rootfs.path())
        .arg(&bundle);
    if mode == Mode::Rootless {
        prepare.arg("--mapped");
    }
    let out = prepare
        .args(["--cgroups-path", &format!("/{id}"), "--", "sh", "-c"])
        .arg(
            "id -u; sed -n -e 's/^[0-9]*:pids://p' -e 's/^0:://p' /proc/self/cgroup | head -n 1; \
             awk '{ for (i = 7; $i != \"-\"; i++); } \
               $(i + 1) == \"cgroup\" && $5 ~ \"^/sys/fs/cgroup/\" { o[$5] = $6 } \
               END { for (m in o) if (o[m] !~ /^ro/) n++; print n + 0 }' /proc/self/mountinfo; \
             grep '^Seccomp:' /proc/self/status; sleep 1; exit 3",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "prepare: {out:?}");
    let watch = watch_cgroup(&id);
    let out = Command::new(&shim)
        .arg("run")
        .arg(&bundle)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let seen = watch.seen();
    for d in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(d.path().join(&id));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        (out.status.code(), stdout.as_ref()),
        // Its own cgroup namespace: the workload's cgroup is its root; where it is, the host
        // sees. No cgroup v1 hierarchy writable: the last `cgroup` mount at each path below
        // /sys/fs/cgroup is read-only (libcontainer 0.7 mounts them read-write; the engine's
        // read-only paths cover them). The seccomp filter is loaded.
        (Some(3), "0\n/\n0\nSeccomp:\t2\n"),
        "{out:?}"
    );
    assert!(
        seen,
        "the container ran in the control group /{id} on the host"
    );
    // No runtime state in the bundle: libcontainer's is under root's state root.
    let mut stack = vec![bundle.clone()];
    while let Some(p) = stack.pop() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name != "state.json",
            "runtime state in the bundle: {}",
            p.display()
        );
        // overlayfs' `work/work` (mode 0) cannot be listed, and is empty.
        if p.is_dir()
            && !p.is_symlink()
            && let Ok(entries) = std::fs::read_dir(&p)
        {
            stack.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    // Its preparer removes it (overlayfs leaves its root-owned, empty `work/work`, which the
    // owner of `layer/work` may remove).
    let rm = command_as(mode, "rm")
        .arg("-rf")
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(
        rm.success() && !bundle.exists(),
        "the preparer removes the bundle"
    );
}

/// The id of the bundle [`run_then_start_kept`] prepares and leaves in place.
pub(crate) const KEPT: &str = "kept";

/// `CMD` twice in state root `sr`: by `run`, which must leave no bundle behind, then prepared
/// as container [`KEPT`] (`sr/bundles/kept`) and `start`ed, which leaves it; both outputs.
pub(crate) fn run_then_start_kept(
    mode: Mode,
    rootfs: &Rootfs,
    sr: &Path,
    cmd: &[&str],
) -> (Output, Output) {
    let srs = sr.to_str().unwrap();
    let root = rootfs.path().to_str().unwrap();
    let mut run = vec!["run", "--state-root", srs, "--rootfs", root, "--"];
    run.extend_from_slice(cmd);
    let ran = engine(mode, rootfs, &run);
    let bundles = std::fs::read_dir(sr.join("bundles")).unwrap().count();
    assert_eq!(bundles, 0, "run removed its bundle: {ran:#?}");
    let bundle = sr.join("bundles").join(KEPT);
    let bundle_s = bundle.to_str().unwrap();
    let mut prepare = vec![
        "prepare", "--id", KEPT, "--rootfs", root, "--bundle", bundle_s, "--",
    ];
    prepare.extend_from_slice(cmd);
    engine(mode, rootfs, &prepare).ok();
    let started = engine(
        mode,
        rootfs,
        &["start", "--state-root", srs, "--bundle", bundle_s],
    );
    (ran, started)
}

/// Rootless with subordinate ids, the workload gives a directory tree to uid 1000 and makes it
/// that user's alone (0700): the engine's own removal after `run`, and `rm` of a kept bundle,
/// delete it all (from inside a user namespace with the container's mapping), leaving no
/// bundle behind. The state root is the test's own.
#[test]
#[verifies("lifecycle.remove-mapped", "lifecycle.remove")]
fn removal_deletes_files_given_to_subordinate_ids_rootless() {
    let mode = Mode::Rootless;
    subordinate_ranges(mode);
    let rootfs = Rootfs::build(Users::RootOnly);
    let sr = state_root(mode, &rootfs);
    let srs = sr.to_str().unwrap();
    let script = "mkdir -p /data/db/deep && touch /data/db/deep/f && \
        busybox chown -R 1000:1000 /data && chmod 700 /data/db /data/db/deep && \
        stat -c %u /data/db/deep/f";
    let (run, started) = run_then_start_kept(mode, &rootfs, &sr, &["sh", "-c", script]);
    assert_eq!(run.ok(), "1000\n");
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert_eq!(started.ok(), "1000\n");
    let bundle = sr.join("bundles").join(KEPT);
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(bundle.join("layer/upper/data/db")).unwrap(),
    );
    let (uid, _) = rootless_host_ids();
    assert_ne!(owner, uid, "the layer holds a subordinate uid's directory");
    engine(mode, &rootfs, &["rm", "--state-root", srs, KEPT]).ok();
    assert!(!bundle.exists(), "rm removed the bundle");
}
