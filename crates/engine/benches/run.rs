//! `run` as locald makes it, in-process: `prepare()` of a new bundle (volatile layer, as the
//! command line's `run`), `Runtime::run` (runc run, the layer mounted in a mount namespace of
//! the runtime's own) and `Bundle::remove()`, against `runc run` of a ready bundle (prepared
//! once, its layer mounted once) started by the same process. The two alternate run by run.
//! What the command line adds to this is a process of its own, started and ended for every
//! container: `ci/bench-run` measures that, this bench leaves it out.
//!
//! Verdict on the paired ratios (run i of the library over run i of runc, which are next to
//! each other in time): their median and a 95 % confidence interval of it from 2,000 bootstrap
//! resamples with a fixed seed, as `ci/bench-run` judges the command line.
//!
//! Root and runc are required, as the end-to-end tests require them (`locald_testkit`'s
//! prerequisite checks: a missing one fails the bench, never skips it); the static init is
//! built as the tests build it. In a mount namespace of the bench's own, so no mount reaches
//! the host's.
//!
//! ```text
//! cargo bench -p locald-engine --bench run [-- RUNS]      # default 100
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use locald_engine::{RunOptions, Runtime, prepare};
use locald_testkit::{Rootfs, Users};

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of `ratios` and the 2.5th and 97.5th percentiles of the medians of 2,000
/// resamples with replacement (a fixed-seed xorshift: the same ratios, the same interval).
fn paired_interval(ratios: &[f64]) -> (f64, f64, f64) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut medians: Vec<f64> = (0..2000)
        .map(|_| {
            let mut sample: Vec<f64> = (0..ratios.len())
                .map(|_| ratios[(next() % ratios.len() as u64) as usize])
                .collect();
            median(&mut sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    (median(&mut ratios.to_vec()), medians[49], medians[1950])
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100_000);
    locald_testkit::require_root();
    let runc_binary = locald_testkit::require_runc();
    let init = locald_testkit::static_init();
    locald_engine::layer::enter_private_mount_namespace().expect("mount namespace");
    let rootfs = Rootfs::build(Users::RootOnly);
    let image = locald_testkit::image_config(
        serde_json::json!({ "Cmd": ["/bin/true"], "Env": ["PATH=/usr/bin:/bin"] }),
    );
    let shm = Path::new("/dev/shm");
    let state = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("state dir");
    let runtime = Runtime::with_binary(&runc_binary)
        .expect("runc")
        .with_state_root(state.path().join("runtime"));
    let opts = RunOptions {
        init: Some(init),
        volatile_layer: true,
        ..RunOptions::default()
    };
    // The baseline's bundle: the same plan, written once, its layer mounted once (not
    // volatile: it is mounted for the whole bench).
    let ready_opts = RunOptions {
        volatile_layer: false,
        ..opts.clone()
    };
    let ready = prepare(
        &image,
        rootfs.path(),
        &ready_opts,
        &state.path().join("ready"),
        "ready",
    )
    .expect("prepare the ready bundle");
    locald_engine::layer::mount(&ready.state_dir).expect("mount the ready layer");
    let runc = |id: &str| {
        let status = Command::new(runtime.binary())
            .arg("--root")
            .arg(runtime.state_root())
            .args(["run", "--bundle"])
            .arg(&ready.state_dir)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .expect("runc run");
        assert!(status.success(), "runc run of the ready bundle: {status}");
    };
    let library = |id: &str| {
        let dir = state.path().join("bundles").join(id);
        let bundle = prepare(&image, rootfs.path(), &opts, &dir, id).expect("prepare");
        let code = runtime.run(&bundle).expect("runtime run");
        bundle.remove().expect("remove");
        assert_eq!(code, 0, "the container's status");
    };
    // Warm-up, untimed.
    runc("warm-runc");
    library("warm-lib");

    let (mut runc_us, mut lib_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let t = Instant::now();
        runc(&format!("runc-{i}"));
        let r = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        library(&format!("lib-{i}"));
        let l = t.elapsed().as_secs_f64() * 1e6;
        runc_us.push(r);
        lib_us.push(l);
        ratios.push(l / r);
    }
    locald_engine::layer::unmount(&ready.state_dir).expect("unmount the ready layer");

    let (m, low, high) = paired_interval(&ratios);
    let verdict = if high <= 1.10 {
        "met"
    } else if low > 1.10 {
        "missed"
    } else {
        "undecided"
    };
    let (runc_m, lib_m) = (median(&mut runc_us), median(&mut lib_us));
    println!("| what | runs | median (us) | ratio of medians | paired ratio [95 % CI] | goal | |");
    println!("|---|---:|---:|---:|---:|---|---|");
    println!(
        "| `runc run` of a ready bundle, started in-process (baseline) | {runs} | {runc_m:.0} | 1.00 | | | |"
    );
    println!(
        "| `prepare()` + `Runtime::run` + `Bundle::remove()`, in-process (locald's `run`) | {runs} | {lib_m:.0} | {:.2} | {m:.2} [{low:.2}, {high:.2}] | within 10 % | {verdict} |",
        lib_m / runc_m
    );
}
