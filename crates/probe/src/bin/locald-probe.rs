//! `locald-probe`: runs inside a container and checks every requirement of the locald Container
//! Engine Specification that is observable from there.
//!
//! ```text
//! locald-probe [--json] [--host-ns pid:[N],net:[N],...] [--caller UID:GID]
//!              [--host-resolv-conf TEXT] [--host-hosts TEXT]
//! ```
//!
//! Prints a table (or, with `--json`, `[{"id", "check", "outcome", "detail"}]`) and exits 0
//! when no check failed, 1 otherwise. Build it static to run it in any root filesystem:
//! `RUSTFLAGS="-C target-feature=+crt-static" cargo build -p locald-probe --release
//! --target x86_64-unknown-linux-gnu --bin locald-probe`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use locald_probe::checks::{Ctx, run_all};
use locald_probe::{Outcome, table};

#[derive(Parser)]
#[command(
    name = "locald-probe",
    version,
    about = "Check, from inside a container, the requirements of the locald Container Engine Specification"
)]
struct Cli {
    /// Print JSON: [{"id", "check", "outcome", "detail"}].
    #[arg(long)]
    json: bool,
    /// The host's namespaces, as /proc/self/ns links (`pid:[4026531836],net:[...]`), to
    /// compare the container's with.
    #[arg(long, value_name = "LIST")]
    host_ns: Option<String>,
    /// The host uid and gid that started the engine, for the rootless mapping check.
    #[arg(long, value_name = "UID:GID")]
    caller: Option<String>,
    /// The host's /etc/resolv.conf, its text (empty when the host has none), to compare a
    /// container's with.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    host_resolv_conf: Option<String>,
    /// The host's /etc/hosts, its text (empty when the host has none): on the host's network a
    /// container's that is a verbatim copy of it is not graded.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    host_hosts: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let host_ns: BTreeMap<String, String> = cli
        .host_ns
        .iter()
        .flat_map(|l| l.split(','))
        .filter_map(|link| {
            let kind = link.split_once(':')?.0;
            Some((kind.to_owned(), link.to_owned()))
        })
        .collect();
    let caller = match cli.caller.as_deref().map(|c| {
        let (u, g) = c.split_once(':')?;
        Some((u.parse().ok()?, g.parse().ok()?))
    }) {
        None => None,
        Some(Some(c)) => Some(c),
        Some(None) => {
            eprintln!("locald-probe: --caller wants UID:GID");
            return ExitCode::from(2);
        }
    };
    let results = run_all(&Ctx::gather(
        host_ns,
        caller,
        cli.host_resolv_conf,
        cli.host_hosts,
    ));
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("results serialize")
        );
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.check.trim_start_matches("checks::").to_owned(),
                    r.outcome.as_str().to_owned(),
                    r.detail.clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            table(&["requirement", "check", "outcome", "detail"], &rows)
        );
    }
    if results.iter().any(|r| r.outcome == Outcome::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
