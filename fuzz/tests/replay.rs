//! Every stored input of every fuzz target, replayed on stable in the ordinary test run: the
//! seeds and regression inputs of `fuzz/seeds/TARGET`, the corpus `ci/fuzz` keeps in
//! `fuzz/corpus/TARGET`, and the book as it is for the targets that read it. An input that
//! makes its target panic fails the test, named with its target and file. (`ci/fuzz --replay`
//! does the same under libFuzzer, on nightly.)

use locald_fuzz::replay::{Input, inputs, replay, repository};
use locald_fuzz::targets::{ALL, Target};

/// Replay every stored input of one target: a line per failure.
fn replay_target(name: &str, target: Target) -> Vec<String> {
    let started = std::time::Instant::now();
    let inputs: Vec<Input> = match inputs(name) {
        Ok(i) => i,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    if inputs.is_empty() {
        return vec![format!(
            "{name}: no stored input (fuzz/seeds/{name} is empty)"
        )];
    }
    let failed = replay(name, target, &inputs);
    eprintln!(
        "{name}: {} input(s) replayed in {:.1} s, {} failed",
        inputs.len(),
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    failed
}

#[test]
fn every_stored_input_of_every_target_replays() {
    // One thread per target: the inputs of one target run in order, the targets side by side.
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ALL
            .iter()
            .map(|&(name, target)| s.spawn(move || replay_target(name, target)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("the replay itself panicked"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} stored input(s) fail (reproduce one with `cargo run -p locald-fuzz --bin TARGET -- \
         FILE`):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A target added to `fuzz/fuzz_targets` is in [`ALL`] (so replayed) and a `[[bin]]` of the
/// manifest (so cargo-fuzz finds it), and the other way round.
#[test]
fn every_target_is_replayed_and_fuzzed() {
    let root = repository();
    let mut files: Vec<String> = std::fs::read_dir(root.join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".rs").unwrap_or(&n).to_owned()
        })
        .collect();
    files.sort();
    let mut all: Vec<String> = ALL.iter().map(|(n, _)| n.to_string()).collect();
    all.sort();
    assert_eq!(all, files, "targets::ALL against fuzz/fuzz_targets/*.rs");
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    // The `name` of each `[[bin]]` table.
    let mut bins: Vec<String> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|table| {
            let line = table.lines().find(|l| l.starts_with("name = "))?;
            Some(
                line.trim_start_matches("name = ")
                    .trim_matches('"')
                    .to_owned(),
            )
        })
        .collect();
    bins.sort();
    assert_eq!(
        bins, files,
        "[[bin]]s of fuzz/Cargo.toml against fuzz/fuzz_targets/*.rs"
    );
}
