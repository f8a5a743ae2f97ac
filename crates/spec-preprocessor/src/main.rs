//! `mdbook-locald-spec`: the preprocessor as stock `mdbook build` runs it (JSON on stdin and
//! stdout, `supports RENDERER` first).

use mdbook_locald_spec::LocaldSpec;
use mdbook_preprocessor::Preprocessor;
use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
    locald_spec_core::sigpipe::restore_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pre = LocaldSpec::new();
    if args.first().map(String::as_str) == Some("supports") {
        let renderer = args.get(1).map(String::as_str).unwrap_or("");
        return match pre.supports_renderer(renderer) {
            Ok(true) => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
    }
    let result = mdbook_preprocessor::parse_input(io::stdin()).and_then(|(ctx, book)| {
        let book = pre.run(&ctx, book)?;
        serde_json::to_writer(io::stdout(), &book)?;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mdbook-locald-spec: {e:#}");
            ExitCode::FAILURE
        }
    }
}
