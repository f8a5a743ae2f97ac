//! The cost of preparing a bundle, in-process: `Plan::build` (pure) and `prepare()` (read the
//! image's identity files, plan, check mount targets inside the rootfs, write config.json and
//! the generated files) on a busybox rootfs built as the tests build it. Goal: under 1 ms each.
//!
//! std only (no bench framework): median and 90th percentile of RUNS iterations after a warm-up.
//! `prepare()` is measured with the state directory in the temporary directory and, when it
//! exists, in /dev/shm (a tmpfs, as /run is where root's state directories go).
//!
//! ```text
//! cargo bench -p locald-engine --bench prepare [-- RUNS]      # default 1000
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use locald_engine::host_files::HostFiles;
use locald_engine::identity::IdentityFiles;
use locald_engine::{Plan, PlanInput, RunOptions, prepare};
use locald_testkit::{Rootfs, Users};
use oci_spec::image::ImageConfiguration;

fn image() -> ImageConfiguration {
    locald_testkit::image_config(
        serde_json::json!({ "Cmd": ["/bin/true"], "Env": ["PATH=/usr/bin:/bin"] }),
    )
}

/// Median and 90th percentile of `runs` timings of `f` (after `runs / 10 + 1` untimed ones).
fn measure(runs: usize, mut f: impl FnMut(usize)) -> (Duration, Duration) {
    for i in 0..runs / 10 + 1 {
        f(usize::MAX - i);
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn report(name: &str, runs: usize, (median, p90): (Duration, Duration)) {
    let goal = if median < Duration::from_millis(1) {
        "met"
    } else {
        "missed"
    };
    println!(
        "| {name} | {runs} | {:.1} | {:.1} | under 1 ms: {goal} |",
        median.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6
    );
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000)
        .clamp(1, 1_000_000);
    let rootfs = Rootfs::build(Users::RootOnly);
    let image = image();
    let opts = RunOptions::default();
    let state = tempfile::tempdir().expect("state dir");
    // The rows this machine cannot measure, said under the table rather than left out silently:
    // a reader comparing two tables should know why one is shorter.
    let mut left_out: Vec<&str> = Vec::new();

    println!("| what | runs | median (us) | p90 (us) | goal |");
    println!("|---|---:|---:|---:|---|");
    let identity = IdentityFiles::default();
    let plan = measure(runs, |_| {
        let input = PlanInput {
            image: &image,
            identity_files: &identity,
            host_files: &HostFiles::default(),
            options: &opts,
            rootfs: rootfs.path(),
            state_dir: state.path(),
            id: "bench",
        };
        black_box(Plan::build(black_box(&input)).expect("plan"));
    });
    report("`Plan::build` (pure)", runs, plan);

    let prepared = measure(runs, |i| {
        let dir = state.path().join(format!("c{i}"));
        // Each iteration gets a new state directory; all are removed with `state` at the end.
        black_box(prepare(&image, rootfs.path(), &opts, &dir, "bench").expect("prepare"));
    });
    report(
        &format!(
            "`prepare()` (plan + checks + write), state in {}",
            std::env::temp_dir().display()
        ),
        runs,
        prepared,
    );

    // Root's state directories go under /run, a tmpfs on systemd hosts; writing a bundle costs
    // a directory and three files of metadata, which on a busy journaling disk outweighs all
    // the rest. The same on a tmpfs, when there is one, separates the engine's work from it.
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        let state = tempfile::tempdir_in(shm).expect("state dir in /dev/shm");
        let prepared = measure(runs, |i| {
            let dir = state.path().join(format!("c{i}"));
            black_box(prepare(&image, rootfs.path(), &opts, &dir, "bench").expect("prepare"));
        });
        report(
            "`prepare()` (plan + checks + write), state in /dev/shm (tmpfs)",
            runs,
            prepared,
        );
    } else {
        left_out.push("the tmpfs row (no /dev/shm)");
    }

    // The container's layer: mounting it (the handles opened, the overlay mounted), unmounting
    // it, and removing a bundle. Root only; in this thread's own mount namespace, so nothing
    // reaches the host's.
    if nix::unistd::geteuid().is_root() {
        locald_engine::layer::enter_private_mount_namespace().expect("mount namespace");
        let dir = state.path().join("layer-bench");
        let bundle = prepare(&image, rootfs.path(), &opts, &dir, "bench").expect("prepare");
        let mounted = measure(runs, |_| {
            locald_engine::layer::mount(&bundle.state_dir).expect("mount the layer");
            locald_engine::layer::unmount(&bundle.state_dir).expect("unmount the layer");
        });
        report("layer mount + unmount", runs, mounted);
        let removed = measure(runs, |i| {
            let dir = state.path().join(format!("r{i}"));
            let b = prepare(&image, rootfs.path(), &opts, &dir, "bench").expect("prepare");
            b.remove().expect("remove");
        });
        report("`prepare()` + `Bundle::remove()`", runs, removed);
    } else {
        left_out
            .push("\"layer mount + unmount\" and \"`prepare()` + `Bundle::remove()`\" (not root)");
    }
    if !left_out.is_empty() {
        println!("\nLeft out: {}.", left_out.join("; "));
    }
}
