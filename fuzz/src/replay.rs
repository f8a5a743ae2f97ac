//! Every stored input of a target run once through its function, without libFuzzer: what the
//! replay test (`fuzz/tests/replay.rs`) does on stable in the ordinary test run, and what a
//! target's binary does when built without cargo-fuzz.
//!
//! A target's stored inputs are the files of `fuzz/seeds/TARGET` (hand-written seeds, and
//! `regression-*`: inputs that once failed), of `fuzz/corpus/TARGET` when present (what
//! `ci/fuzz` campaigns found and kept), and, for the two targets that read the book, the book
//! itself as it is now: every chapter of `book/src` for `book_markdown`, the body of every
//! requirement block in it for `requirement_block`.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::targets::Target;

/// One stored input: where it comes from, and its bytes.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, relative to the repository (a requirement block: `FILE:LINE`).
    pub name: String,
    /// The bytes handed to the target.
    pub data: Vec<u8>,
}

/// The repository's root (the fuzz crate is `fuzz/` in it).
pub fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Every stored input of `target`, in a stable order; an error names a directory or file that
/// could not be read.
pub fn inputs(target: &str) -> Result<Vec<Input>, String> {
    let root = repository();
    let mut out = Vec::new();
    for dir in ["fuzz/seeds", "fuzz/corpus"] {
        let dir = format!("{dir}/{target}");
        if root.join(&dir).is_dir() {
            for file in files(root, &dir)? {
                out.push(read(root, &file)?);
            }
        }
    }
    let book = || {
        files(root, "book/src").map(|f| {
            f.into_iter()
                .filter(|f| f.ends_with(".md"))
                .collect::<Vec<_>>()
        })
    };
    match target {
        "book_markdown" => {
            for file in book()? {
                out.push(read(root, &file)?);
            }
        }
        "requirement_block" => {
            for file in book()? {
                let chapter = read(root, &file)?;
                let text = String::from_utf8_lossy(&chapter.data);
                for b in locald_spec_core::parse::find_blocks(&text) {
                    out.push(Input {
                        name: format!("{file}:{}", b.fence_line),
                        data: b.body.into_bytes(),
                    });
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// The files below `dir` (relative to `root`, and named so), recursively, sorted.
fn files(root: &Path, dir: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(root.join(&d)).map_err(|e| format!("{d}: {e}"))?;
        for e in entries {
            let e = e.map_err(|e| format!("{d}: {e}"))?;
            let name = format!("{d}/{}", e.file_name().to_string_lossy());
            let kind = e.file_type().map_err(|e| format!("{name}: {e}"))?;
            if kind.is_dir() {
                todo.push(name);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read(root: &Path, file: &str) -> Result<Input, String> {
    let data = std::fs::read(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
    Ok(Input {
        name: file.to_owned(),
        data,
    })
}

thread_local! {
    /// Set while this thread runs a target: where its last panic was, and what it said.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// The panic hook, once per process: a panic of a target under [`run`] is recorded for its
/// report instead of printed (a replay of hundreds of inputs would print each); any other
/// panic (a test's own assertion) goes to the hook there was.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        let at = info
                            .location()
                            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                            .unwrap_or_default();
                        *slot = Some(format!("{}{at}", message(info.payload())));
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                previous(info);
            }
        }));
    });
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Run `target` on `data`: `Err` with the panic's message and place when it panics.
pub fn run(target: Target, data: &[u8]) -> Result<(), String> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let res = catch_unwind(AssertUnwindSafe(|| target(data)));
    let caught = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
    res.map_err(|payload| caught.unwrap_or_else(|| message(&*payload)))
}

/// Run `target` (named `name`) on each of `inputs`: one line `NAME: INPUT: MESSAGE` per input
/// that made it panic.
pub fn replay(name: &str, target: Target, inputs: &[Input]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|i| {
            run(target, &i.data)
                .err()
                .map(|e| format!("{name}: {}: {e}", i.name))
        })
        .collect()
}

/// `main` of a target's binary built without cargo-fuzz: replays the files (directories:
/// their files) given as arguments, or with none the target's stored inputs; exits 1 naming
/// every input that fails.
pub fn main(name: &str, target: Target) -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let inputs = if args.is_empty() {
        inputs(name)
    } else {
        args.iter()
            .map(|a| {
                let a = a.to_string_lossy();
                if Path::new(&*a).is_dir() {
                    files(Path::new(""), &a)
                } else {
                    Ok(vec![a.into_owned()])
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|f| f.concat().iter().map(|f| read(Path::new(""), f)).collect())
    };
    let inputs = match inputs {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let failures = replay(name, target, &inputs);
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "{name}: {} input(s) replayed, {} failed (built without cargo-fuzz: no mutation)",
        inputs.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
