//! Faults around the engine: a full state filesystem, and a runtime that is missing, crashes,
//! is killed or hangs. (The engine itself SIGKILLed at each phase is in `lifecycle.rs`.)
//!
//! Each fault is run rootful and rootless and must end in a clear error (status 125 naming what
//! failed) or the status the chapters give, within a hang guard, with nothing half-written:
//! no bundle, no temporary bundle, no runtime state and no mount left, and the image unchanged.
//!
//! The fault matrix in the book (`book/src/robustness/faults.md`) is generated from
//! [`matrix`] (`LOCALD_BLESS=1` rewrites it; a test fails while it differs).

#![cfg(target_os = "linux")]

mod common;
mod robustness;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use locald_spec_macros::verifies;
use locald_testkit::{Rootfs, Users, require_runc, tree_manifest};
use robustness::*;

/// The hang guard.
const BOUND: Duration = Duration::from_secs(120);

/// One row of the fault matrix.
struct Fault {
    name: &'static str,
    what: &'static str,
    must: &'static str,
    requirement: &'static str,
}

fn matrix() -> Vec<Fault> {
    vec![
        Fault {
            name: "state_root_full",
            what: "the state root on a tmpfs of 4 KiB to 512 KiB (16 sizes): writes fail with \
                   ENOSPC at each point the engine and runc write",
            must: "runs, or exits 125 naming the error (runc 1.1.5's own: \"unable to store init \
                   state\"); no bundle, temporary bundle, runtime state or mount left; the \
                   state root removable",
            requirement: "lifecycle.bundle",
        },
        Fault {
            name: "state_root_out_of_inodes",
            what: "the state root on a tmpfs of 1 to 40 inodes: each file or directory the \
                   engine and runc create in turn fails with ENOSPC",
            must: "runs, or exits 125 naming the error; nothing left; the state root removable",
            requirement: "lifecycle.bundle",
        },
        Fault {
            name: "runtime_missing",
            what: "`--runtime /nonexistent/runc`",
            must: "exits 125 naming `/nonexistent/runc`, before anything is written",
            requirement: "lifecycle.exit-status",
        },
        Fault {
            name: "runtime_crashes_logging",
            what: "a runtime that logs an error (as runc does) and exits 2",
            must: "exits 125 with the runtime's message; nothing left",
            requirement: "lifecycle.exit-status",
        },
        Fault {
            name: "runtime_crashes_silently",
            what: "a runtime that exits 2 and logs nothing",
            must: "exits 2 (a runtime that logs nothing cannot be told from the workload); \
                   nothing left",
            requirement: "lifecycle.exit-status",
        },
        Fault {
            name: "runtime_killed",
            what: "a runtime killed by SIGKILL",
            must: "exits 137 (128 + 9, as a killed workload); nothing left",
            requirement: "lifecycle.exit-status",
        },
        Fault {
            name: "runtime_hangs",
            what: "a runtime that never returns; the engine gets SIGTERM (`--stop-timeout 1`)",
            must: "the stop signal reaches the runtime and the engine exits 143 (128 + 15); \
                   nothing left. Without a signal the engine waits, as for any container",
            requirement: "stopping.timeout",
        },
        Fault {
            name: "runtime_hangs_ignoring_sigterm",
            what: "a runtime that never returns and ignores SIGTERM; the engine gets SIGTERM \
                   (`--stop-timeout 1`)",
            must: "killed after the stop timeout: the engine exits 137; nothing left",
            requirement: "stopping.timeout",
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// A state root of the test's own below the image's base, owned by the engine's user.
fn own_state_root(mode: Mode, rootfs: &Rootfs) -> PathBuf {
    let sr = rootfs.base().join("state");
    std::fs::create_dir(&sr).unwrap();
    give(mode, &sr);
    sr
}

fn give(mode: Mode, p: &Path) {
    if runs_as_test_user(mode) {
        let (uid, gid) = rootless_host_ids();
        std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// `locald-engine ARGS` in `mode`, ended by the hang guard; SIGTERM to the engine once the
/// file `signal_when` exists.
/// `run [OPTS...] --state-root STATE --id ID --rootfs ROOTFS -- true`.
fn run_true<'a>(
    state: &'a Path,
    id: &'a str,
    rootfs: &'a Rootfs,
    opts: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["run"];
    args.extend_from_slice(opts);
    args.extend([
        "--state-root",
        state.to_str().unwrap(),
        "--id",
        id,
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "--",
        "true",
    ]);
    args
}

fn bounded(mode: Mode, rootfs: &Rootfs, args: &[&str], signal_when: Option<&Path>) -> Output {
    let mut cmd = engine_command(mode, rootfs);
    cmd.args(args);
    run_bounded(cmd, BOUND, signal_when)
}

/// Nothing of the container is left under `state`: no bundle (nor a temporary one), no
/// runtime state, no mount; and the image is as it was.
fn nothing_left(state: &Path, id: &str, rootfs: &Rootfs, image_before: &[String], out: &Output) {
    let bundles: Vec<_> = std::fs::read_dir(state.join("bundles"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(bundles.is_empty(), "bundles left: {bundles:?}\n{out:#?}");
    let runtime: Vec<_> = std::fs::read_dir(state.join("runtime"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        !runtime.iter().any(|n| n.to_string_lossy().contains(id)),
        "runtime state left: {runtime:?}\n{out:#?}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let state_s = state.to_str().unwrap();
    assert!(
        !mounts
            .lines()
            .any(|l| l.contains(state_s) && l.split(' ').nth(4).is_none_or(|mp| mp != state_s)),
        "a mount left under {state_s}:\n{mounts}"
    );
    assert_eq!(
        tree_manifest(rootfs.path()),
        image_before,
        "the image changed"
    );
}

// ---------------------------------------------------------------------------------------------
// A full state filesystem.

/// Every path below `dir`, sorted.
fn entries_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// Run `true` with the state root on a tmpfs mounted with `options` in this test's own mount
/// namespace, so that the engine's and runc's writes hit ENOSPC; every outcome must be a clean
/// run or a refusal naming the error, with nothing left, and the state root removable.
fn state_root_on_tmpfs(mode: Mode, options: &[String]) -> (usize, usize) {
    require_runc();
    // This test's own mount namespace (nextest runs each test in a process of its own; the
    // thread's namespace is inherited by the engine it spawns): the tmpfs never reaches the
    // host's, and goes away with the test.
    locald_engine::layer::enter_private_mount_namespace().unwrap();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let image_before = tree_manifest(rootfs.path());
    let (mut ran, mut refused) = (0, 0);
    for (i, opt) in options.iter().enumerate() {
        let state = rootfs.base().join(format!("state-{i}"));
        std::fs::create_dir(&state).unwrap();
        let (uid, gid) = if runs_as_test_user(mode) {
            rootless_host_ids()
        } else {
            (0, 0)
        };
        nix::mount::mount(
            Some("tmpfs"),
            &state,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(format!("{opt},mode=0700,uid={uid},gid={gid}").as_str()),
        )
        .unwrap();
        let id = format!("full-{}-{i}", mode_name(mode));
        let out = bounded(mode, &rootfs, &run_true(&state, &id, &rootfs, &[]), None);
        match out.code {
            0 => ran += 1,
            125 => {
                refused += 1;
                // The engine's own writes name the error; runc 1.1.5 reports its failure to
                // write its state as "unable to store init state: %!w(<nil>)", which the
                // engine passes on as the runtime's.
                assert!(
                    out.stderr.contains("No space left on device")
                        || out
                            .stderr
                            .contains("the runtime could not start the container"),
                    "{opt}: a refusal must say the filesystem is full: {out:#?}"
                );
            }
            _ => panic!("{opt}: neither a run nor a clear error: {out:#?}"),
        }
        nothing_left(&state, &id, &rootfs, &image_before, &out);
        // The engine lists nothing there, and listing creates nothing: no runtime directory
        // (a missing one is no containers; runc is not started on it, since it would create
        // it). Only a state root without even its `bundles` directory is still given one by
        // `ps` (the CLI opens the state root as `run` does; `StateRoot::open_existing` creates
        // nothing), which a filesystem too full for it refuses, naming the error.
        let had_bundles = state.join("bundles").is_dir();
        let before = entries_below(&state);
        let ps = bounded(
            mode,
            &rootfs,
            &["ps", "--state-root", state.to_str().unwrap()],
            None,
        );
        if had_bundles {
            assert_eq!(ps.code, 0, "{opt}: ps: {ps:#?}");
            assert_eq!(entries_below(&state), before, "{opt}: ps created: {ps:#?}");
        } else {
            assert!(
                ps.code == 0 || ps.code == 125 && ps.stderr.contains("No space left on device"),
                "{opt}: ps: {ps:#?}"
            );
        }
        assert!(!ps.stdout.contains(&id), "{opt}: {ps:#?}");
        for e in std::fs::read_dir(&state).unwrap() {
            let p = e.unwrap().path();
            std::fs::remove_dir_all(&p).unwrap_or_else(|e| panic!("{opt}: remove {p:?}: {e}"));
        }
        nix::mount::umount(&state).unwrap();
    }
    (ran, refused)
}

fn state_root_full(mode: Mode) {
    let sizes: Vec<String> = [
        4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 192, 256, 512,
    ]
    .iter()
    .map(|k| format!("size={k}k"))
    .collect();
    let (ran, refused) = state_root_on_tmpfs(mode, &sizes);
    // Both ends are reached: the smallest filesystem refuses, the largest runs.
    assert!(ran > 0 && refused > 0, "ran {ran}, refused {refused}");
}

fn state_root_out_of_inodes(mode: Mode) {
    let inodes: Vec<String> = (1..=40).map(|n| format!("size=1m,nr_inodes={n}")).collect();
    let (ran, refused) = state_root_on_tmpfs(mode, &inodes);
    assert!(ran > 0 && refused > 0, "ran {ran}, refused {refused}");
}

#[test]
#[verifies("lifecycle.bundle")]
fn state_root_full_root() {
    state_root_full(Mode::Root);
}

#[test]
#[verifies("lifecycle.bundle")]
fn state_root_full_rootless() {
    state_root_full(Mode::Rootless);
}

#[test]
#[verifies("lifecycle.bundle")]
fn state_root_out_of_inodes_root() {
    state_root_out_of_inodes(Mode::Root);
}

#[test]
#[verifies("lifecycle.bundle")]
fn state_root_out_of_inodes_rootless() {
    state_root_out_of_inodes(Mode::Rootless);
}

// ---------------------------------------------------------------------------------------------
// The runtime missing, crashing, killed, hanging.

/// A fake runtime: `run` does `script` (after creating the file `started`, unless the script does
/// that itself, `touch "$started"`, once it is ready to be signalled); every other
/// command (`state`, `kill`, `delete`, `list`) fails at once, as for a container runc does
/// not know.
fn fake_runtime(rootfs: &Rootfs, script: &str) -> (PathBuf, PathBuf) {
    let dir = rootfs.base().join("fake-runtime");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let started = dir.join("started");
    let path = dir.join("runc");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             # The global options: --root DIR, --log FILE, --log-format json.\n\
             log=\n\
             while [ $# -gt 0 ]; do\n\
               case \"$1\" in\n\
                 --root) shift 2 ;;\n\
                 --log) log=$2; shift 2 ;;\n\
                 --log-format) shift 2 ;;\n\
                 --*) shift ;;\n\
                 *) break ;;\n\
               esac\n\
             done\n\
             [ \"$1\" = run ] || exit 1\n\
             started='{started}'\n\
             {ready}\n\
             {script}\n",
            started = started.display(),
            // A script that must be ready before it is signalled (a trap set) says so itself.
            ready = if script.contains("$started") {
                ""
            } else {
                "touch \"$started\""
            },
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (path, started)
}

/// Run `true` under `runtime`; SIGTERM to the engine once the file `started` exists.
fn with_runtime(
    mode: Mode,
    rootfs: &Rootfs,
    runtime: &Path,
    started: Option<&Path>,
    stop_timeout: &str,
) -> (Output, PathBuf, String) {
    let state = own_state_root(mode, rootfs);
    let id = format!("fault-{}", mode_name(mode));
    let runtime = [
        "--runtime",
        runtime.to_str().unwrap(),
        "--stop-timeout",
        stop_timeout,
    ];
    let out = bounded(
        mode,
        rootfs,
        &run_true(&state, &id, rootfs, &runtime),
        started,
    );
    (out, state, id)
}

fn runtime_fault(mode: Mode, script: Option<&str>, signal: bool) -> Output {
    runtime_fault_with_timeout(mode, script, signal, "1")
}

fn runtime_fault_with_timeout(
    mode: Mode,
    script: Option<&str>,
    signal: bool,
    stop_timeout: &str,
) -> Output {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let before = tree_manifest(rootfs.path());
    let (runtime, started) = match script {
        Some(s) => fake_runtime(&rootfs, s),
        None => ("/nonexistent/runc".into(), PathBuf::new()),
    };
    let (out, state, id) = with_runtime(
        mode,
        &rootfs,
        &runtime,
        signal.then_some(started.as_path()),
        stop_timeout,
    );
    nothing_left(&state, &id, &rootfs, &before, &out);
    out
}

fn runtime_missing(mode: Mode) {
    let out = runtime_fault(mode, None, false);
    out.refused("/nonexistent/runc");
}

fn runtime_crashes_logging(mode: Mode) {
    let out = runtime_fault(
        mode,
        Some(
            "printf '{\"level\":\"error\",\"msg\":\"fake runtime: boom\",\"time\":\"2025-01-01T00:00:00Z\"}\\n' >> \"$log\"\nexit 2",
        ),
        false,
    );
    out.refused("fake runtime: boom");
}

fn runtime_crashes_silently(mode: Mode) {
    let out = runtime_fault(mode, Some("exit 2"), false);
    assert_eq!(out.code, 2, "{out:#?}");
}

fn runtime_killed(mode: Mode) {
    let out = runtime_fault(mode, Some("kill -KILL $$"), false);
    assert_eq!(out.code, 137, "{out:#?}");
}

fn runtime_hangs(mode: Mode) {
    let out = runtime_fault(mode, Some("exec sleep 600"), true);
    assert_eq!(out.code, 143, "{out:#?}");
}

/// A stop timeout too far for a clock to hold (`--stop-timeout` takes any u64) is never reached;
/// the stop signal still ends the runtime. It once overflowed an `Instant` and panicked (101).
fn runtime_stops_with_the_largest_timeout(mode: Mode) {
    let out = runtime_fault_with_timeout(mode, Some("exec sleep 600"), true, &u64::MAX.to_string());
    assert_eq!(out.code, 143, "{out:#?}");
}

fn runtime_hangs_ignoring_sigterm(mode: Mode) {
    // `sleep 1` in a loop: the shell ignores SIGTERM and outlives its children. Started only
    // once the trap is set: a SIGTERM forwarded before it would end the shell (143).
    let out = runtime_fault(
        mode,
        Some("trap '' TERM\ntouch \"$started\"\nwhile :; do sleep 1; done"),
        true,
    );
    assert_eq!(out.code, 137, "{out:#?}");
}

/// The engine blocks the signals it forwards (and SIGCHLD) to read them from a signalfd; the
/// runtime must start with none of them blocked, or a runtime that does not unblock them
/// itself (runc's Go runtime does) would never get what the engine forwards. And the engine
/// is started here with SIGCHLD ignored, as a careless parent may leave it: ignored, the
/// kernel would reap the runtime without a SIGCHLD, and the engine's wait must not hang on
/// it. The fake runtime exits 3 when a signal is blocked, 4 when SIGCHLD is ignored.
fn runtime_signal_state(mode: Mode) {
    require_runc();
    let rootfs = Rootfs::build(Users::RootOnly);
    own_rootfs(mode, &rootfs);
    let before = tree_manifest(rootfs.path());
    let (runtime, _) = fake_runtime(
        &rootfs,
        "st=$(cat /proc/$$/status)\n\
         case \"$st\" in *\"SigBlk:\t0000000000000000\"*) ;; *) exit 3 ;; esac\n\
         ign=$(printf '%s\\n' \"$st\" | sed -n 's/^SigIgn:\t//p')\n\
         [ $(( 0x$ign & 0x10000 )) -eq 0 ] || exit 4",
    );
    let state = own_state_root(mode, &rootfs);
    let id = format!("fault-{}", mode_name(mode));
    let opts = ["--runtime", runtime.to_str().unwrap()];
    let mut cmd = engine_command(mode, &rootfs);
    cmd.args(run_true(&state, &id, &rootfs, &opts));
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            nix::libc::signal(nix::libc::SIGCHLD, nix::libc::SIG_IGN);
            Ok(())
        });
    }
    let out = run_bounded(cmd, BOUND, None);
    nothing_left(&state, &id, &rootfs, &before, &out);
    assert_eq!(
        out.code, 0,
        "the runtime started with a signal blocked (3) or SIGCHLD ignored (4): {out:#?}"
    );
}

#[test]
#[verifies("stopping.runtime-signals")]
fn runtime_starts_with_no_signal_blocked_root() {
    runtime_signal_state(Mode::Root);
}

#[test]
#[verifies("stopping.runtime-signals")]
fn runtime_starts_with_no_signal_blocked_rootless() {
    runtime_signal_state(Mode::Rootless);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_missing_root() {
    runtime_missing(Mode::Root);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_missing_rootless() {
    runtime_missing(Mode::Rootless);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_crashes_logging_root() {
    runtime_crashes_logging(Mode::Root);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_crashes_logging_rootless() {
    runtime_crashes_logging(Mode::Rootless);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_crashes_silently_root() {
    runtime_crashes_silently(Mode::Root);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_crashes_silently_rootless() {
    runtime_crashes_silently(Mode::Rootless);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_killed_root() {
    runtime_killed(Mode::Root);
}

#[test]
#[verifies("lifecycle.exit-status")]
fn runtime_killed_rootless() {
    runtime_killed(Mode::Rootless);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_hangs_root() {
    runtime_hangs(Mode::Root);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_hangs_rootless() {
    runtime_hangs(Mode::Rootless);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_stops_with_the_largest_timeout_root() {
    runtime_stops_with_the_largest_timeout(Mode::Root);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_stops_with_the_largest_timeout_rootless() {
    runtime_stops_with_the_largest_timeout(Mode::Rootless);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_hangs_ignoring_sigterm_root() {
    runtime_hangs_ignoring_sigterm(Mode::Root);
}

#[test]
#[verifies("stopping.timeout")]
fn runtime_hangs_ignoring_sigterm_rootless() {
    runtime_hangs_ignoring_sigterm(Mode::Rootless);
}

// ---------------------------------------------------------------------------------------------
// The book's fault matrix.

fn matrix_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from crates/engine/tests/faults.rs (LOCALD_BLESS=1 cargo nextest run -p \
         locald-engine --test faults matrix); do not edit. -->\n\n\
         Each fault rootful and rootless, under a hang guard.\n\n\
         | fault | what | must | requirement |\n|---|---|---|---|\n",
    );
    for f in matrix() {
        out.push_str(&format!(
            "| `{}` | {} | {} | `{}` |\n",
            f.name, f.what, f.must, f.requirement
        ));
    }
    out
}

/// The book's copy of the fault matrix is the one [`matrix`] makes.
#[test]
#[verifies("lifecycle.bundle")]
fn fault_matrix_in_the_book_is_current() {
    book_page_is_current(
        "faults.md",
        &matrix_markdown(),
        "LOCALD_BLESS=1 cargo nextest run -p locald-engine --test faults matrix",
    );
}
