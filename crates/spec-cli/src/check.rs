//! `locald-spec check`.

use locald_spec_core::{Project, Report, Status, check_project};
use std::process::ExitCode;

/// Options of `check`.
#[derive(clap::Args)]
pub struct Args {
    /// Print the JSON report instead of the text one.
    #[arg(long)]
    json: bool,
    /// Exit non-zero on any problem (also: LOCALD_SPEC_STRICT=1).
    #[arg(long)]
    strict: bool,
}

pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let report = check_project(project);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(if crate::strict(args.strict) && !report.is_clean() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The human report: one line per requirement, then every problem.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .requirements
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(0);
    for r in &report.requirements {
        let mark = if r.status == Status::Verified {
            "ok "
        } else {
            "!! "
        };
        out.push_str(&format!(
            "{mark}{:<width$}  {:<6}  {:<13}  {} impl, {} test(s)\n",
            r.id,
            r.level.as_str(),
            r.status.as_str(),
            r.implementations.len(),
            r.tests.len(),
        ));
    }
    if !report.problems.is_empty() {
        out.push_str(&format!("\n{} problem(s):\n", report.problems.len()));
        for p in &report.problems {
            out.push_str(&format!("  {p}\n"));
        }
    }
    let counts = report.counts();
    let verified = counts.get(&Status::Verified).copied().unwrap_or(0);
    out.push_str(&format!(
        "\n{verified} of {} requirements verified, {} problem(s)\n",
        report.requirements.len(),
        report.problems.len()
    ));
    out
}
