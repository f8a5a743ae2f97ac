//! Two jobs: the musl command line's link options (`pack_relative_relocations`,
//! `link_order`), and Docker's default seccomp profile as Rust data
//! (`$OUT_DIR/docker_default.rs`), so that a
//! process that plans a container does not parse its 20 KB of JSON: that parse was a twentieth
//! of a `locald-engine run`'s own time (measured with `perf`; see the book's performance
//! chapter).
//!
//! The output is a table of plain values: every name a `&'static str`, every enum as the
//! string the profile spells (`SCMP_ACT_ALLOW`), read into oci-spec's types by
//! `security::seccomp::docker_default::profile`. A key this script does not know fails
//! the build, as `Profile`'s `deny_unknown_fields` fails a caller's profile; the test
//! `the_default_profile_parses_as_a_callers_would` holds the table to what parsing the JSON
//! gives.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value};

const PROFILE: &str = "src/security/seccomp/docker-default.json";

/// The functions a `run` executes, in the order the static binary lays them out first
/// (`link_order`); `ci/link-order` writes it.
const LINK_ORDER: &str = "link-order.txt";

fn main() {
    println!("cargo::rerun-if-changed={PROFILE}");
    println!("cargo::rerun-if-changed={LINK_ORDER}");
    let musl = musl_self_contained();
    pack_relative_relocations(musl);
    link_order(musl);
    let text = std::fs::read_to_string(PROFILE).unwrap_or_else(|e| panic!("{PROFILE}: {e}"));
    let profile: Map<String, Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{PROFILE}: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("docker_default.rs"), render(&profile))
        .expect("write docker_default.rs");
}

/// The command line's static-PIE musl build links its relative relocations packed
/// (`-z pack-relative-relocs`, `DT_RELR`): the 14,500 it has fill 348 KB as `RELA` entries, which
/// every start reads and applies, and 4.6 KB as `RELR`. Measured with `run --runtime NOOP`,
/// 1,000 paired runs: −49 µs [−83, −24] a run, and a binary 344 KB smaller.
///
/// Only where the start code applies them: musl's static-PIE start reads `DT_RELR` since musl
/// 1.2.4, which Rust's own `*-linux-musl` targets bundle since Rust 1.93 (1.2.5); a binary
/// whose start code ignores them would crash at once. So: Rust's musl targets (vendor
/// `unknown`, musl self-contained) built by a rustc from 1.93 on. A linker without the option
/// (GNU ld before 2.38) warns and writes `RELA` as before.
fn pack_relative_relocations(musl: bool) {
    if musl && rustc_minor().is_some_and(|minor| minor >= 93) {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build is for one of Rust's own musl targets with its bundled musl (vendor
/// `unknown`, self-contained): the static command line the README installs.
fn musl_self_contained() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "musl"
        && var("CARGO_CFG_TARGET_VENDOR") == "unknown"
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link-self-contained=no")
}

/// The musl command line's functions laid out in the order of `link-order.txt`: the ones a
/// `run` executes first, together, then the rest. A `run` touches about 530 of the binary's
/// functions, 670 KiB of its 2.4 MB of code; laid out as the compiler emits them they are spread
/// over all of it, so that each start faults in and maps nearly every page of code, and runs
/// from more cache lines and pages than it needs. Measured with `run --runtime NOOP`, one
/// build linked both ways, fresh copies of each in each of 2,000 rounds: −246 µs [−260, −232]
/// a run, each run after a program writing 64 MB (the caches emptied, as in `ci/bench-run`),
/// and −253 µs [−269, −232] run after run (the book's performance chapter).
///
/// GNU ld cannot order functions by a list before binutils 2.43, so the link goes through LLD,
/// the `rust-lld` that rustup's toolchains ship (`lib/rustlib/HOST/bin/gcc-ld/ld.lld`, the
/// wrapper rustc itself puts first on the C compiler's path when it links with LLD), with the
/// list as its `--symbol-ordering-file`. A name the list has and the binary lacks (a function
/// renamed since the list was written) is skipped; `ci/link-order --check` says when the list
/// has gone stale. The names are one compiler's (std's carry its crate hashes, and cargo's
/// hash of every crate includes the compiler's version): built by another rustc than the one
/// the list's header names, the binary is laid out as if there were no list, and the check
/// warns. A toolchain without `rust-lld`, or a build configured to call a linker directly,
/// links with the C compiler's own linker and no order, as before. The figures above were
/// measured with the list's functions the most sampled first; the order a run first needs them
/// in, which the list now has, took 28 µs more.
fn link_order(musl: bool) {
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let Some(gcc_ld) = (musl && !raw_linker()).then(rust_lld_wrapper).flatten() else {
        return;
    };
    let list = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join(LINK_ORDER);
    if !list.is_file() {
        return;
    }
    println!("cargo::rustc-link-arg-bins=-B{}", gcc_ld.display());
    println!("cargo::rustc-link-arg-bins=-fuse-ld=lld");
    // `-Xlinker` and the option as two arguments: `-Wl,` would split a path with a comma.
    println!("cargo::rustc-link-arg-bins=-Xlinker");
    println!(
        "cargo::rustc-link-arg-bins=--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo::rustc-link-arg-bins=-Xlinker");
    println!("cargo::rustc-link-arg-bins=--no-warn-symbol-ordering");
}

/// Whether the build links with a linker itself (`linker = "rust-lld"` in a cargo
/// configuration, which cargo hands build scripts as `RUSTC_LINKER`) rather than through a C
/// compiler driver, which alone takes `-B` and `-fuse-ld`.
fn raw_linker() -> bool {
    std::env::var_os("RUSTC_LINKER").is_some_and(|linker| {
        let name = PathBuf::from(linker);
        let name = name.file_name().unwrap_or_default().to_string_lossy();
        name.contains("lld") || name == "ld" || name.starts_with("ld.")
    })
}

/// The directory of rustup's `ld.lld` wrapper for `rust-lld`, in the sysroot of the rustc
/// that builds the crate, when it has one.
fn rust_lld_wrapper() -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC")?;
    let out = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let host = std::env::var("HOST").ok()?;
    let dir = sysroot.join("lib/rustlib").join(host).join("bin/gcc-ld");
    dir.join("ld.lld").is_file().then_some(dir)
}

/// The minor version of the rustc that builds the crate (`rustc 1.95.0 (...)`: 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    version.split('.').nth(1)?.parse().ok()
}

/// The generated module's text.
fn render(profile: &Map<String, Value>) -> String {
    let mut s = String::from("// Generated by build.rs from docker-default.json: do not edit.\n");
    known(
        profile,
        "the profile",
        &["defaultAction", "defaultErrnoRet", "archMap", "syscalls"],
    );
    let _ = writeln!(s, "pub(super) const DEFAULT: ProfileData = ProfileData {{");
    let _ = writeln!(
        s,
        "    default_action: {},",
        string(&profile["defaultAction"])
    );
    let _ = writeln!(
        s,
        "    default_errno_ret: {},",
        option_u64(profile.get("defaultErrnoRet"))
    );
    s.push_str("    arch_map: &[\n");
    for entry in array(profile.get("archMap")) {
        let entry = object(entry, "archMap[]");
        known(entry, "archMap[]", &["architecture", "subArchitectures"]);
        let _ = writeln!(
            s,
            "        ({}, &[{}]),",
            string(&entry["architecture"]),
            strings(entry.get("subArchitectures"))
        );
    }
    s.push_str("    ],\n    syscalls: &[\n");
    for (i, rule) in array(profile.get("syscalls")).iter().enumerate() {
        let where_ = format!("syscalls[{i}]");
        let rule = object(rule, &where_);
        known(
            rule,
            &where_,
            &[
                "names", "action", "errnoRet", "args", "comment", "includes", "excludes",
            ],
        );
        s.push_str("        RuleData {\n");
        let _ = writeln!(s, "            names: &[{}],", strings(rule.get("names")));
        let _ = writeln!(s, "            action: {},", string(&rule["action"]));
        let _ = writeln!(
            s,
            "            errno_ret: {},",
            option_u64(rule.get("errnoRet"))
        );
        s.push_str("            args: &[");
        for arg in array(rule.get("args")) {
            let arg = object(arg, &format!("{where_}.args[]"));
            known(
                arg,
                &format!("{where_}.args[]"),
                &["index", "value", "valueTwo", "op"],
            );
            let _ = write!(
                s,
                "({}, {}, {}, {}), ",
                u64_of(&arg["index"]),
                u64_of(&arg["value"]),
                option_u64(arg.get("valueTwo")),
                string(&arg["op"])
            );
        }
        s.push_str("],\n");
        let _ = writeln!(
            s,
            "            comment: {},",
            option_string(rule.get("comment"))
        );
        for which in ["includes", "excludes"] {
            let _ = writeln!(
                s,
                "            {which}: {},",
                filter(rule.get(which), &where_)
            );
        }
        s.push_str("        },\n");
    }
    s.push_str("    ],\n};\n");
    s
}

/// A rule's condition: `None`, or `Some(FilterData { .. })`.
fn filter(value: Option<&Value>, where_: &str) -> String {
    let Some(f) = value.filter(|v| !v.is_null()) else {
        return "None".into();
    };
    let f = object(f, where_);
    known(f, where_, &["caps", "arches", "minKernel"]);
    format!(
        "Some(FilterData {{ caps: &[{}], arches: &[{}], min_kernel: {} }})",
        strings(f.get("caps")),
        strings(f.get("arches")),
        option_string(f.get("minKernel"))
    )
}

fn known(object: &Map<String, Value>, where_: &str, keys: &[&str]) {
    if let Some(k) = object.keys().find(|k| !keys.contains(&k.as_str())) {
        panic!("{PROFILE}: {where_}: unknown field `{k}` (build.rs knows {keys:?})");
    }
}

fn object<'a>(value: &'a Value, where_: &str) -> &'a Map<String, Value> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("{PROFILE}: {where_} is not an object"))
}

/// An array, absent and `null` being empty.
fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A Rust string literal of a JSON string (`{:?}` escapes as Rust reads it back).
fn string(value: &Value) -> String {
    format!(
        "{:?}",
        value
            .as_str()
            .unwrap_or_else(|| panic!("{PROFILE}: {value} is not a string"))
    )
}

fn strings(value: Option<&Value>) -> String {
    array(value)
        .iter()
        .map(string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn option_string(value: Option<&Value>) -> String {
    match value.filter(|v| !v.is_null()) {
        None => "None".into(),
        Some(v) => format!("Some({})", string(v)),
    }
}

fn u64_of(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{PROFILE}: {value} is not an unsigned integer"))
}

fn option_u64(value: Option<&Value>) -> String {
    match value.filter(|v| !v.is_null()) {
        None => "None".into(),
        Some(v) => format!("Some({})", u64_of(v)),
    }
}
