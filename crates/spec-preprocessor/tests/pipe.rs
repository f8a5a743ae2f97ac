//! `mdbook-locald-spec` as mdBook runs it, with its standard output closed early: it must end
//! as `cat` does (killed by SIGPIPE, nothing on standard error), not panic.

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::config::Config;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

#[test]
fn a_closed_standard_output_ends_the_preprocessor_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("book.toml"),
        "[book]\ntitle = \"fixture\"\nsrc = \"src\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let ctx = PreprocessorContext::new(dir.path().to_path_buf(), Config::default(), "html".into());
    let input = serde_json::to_vec(&(ctx, Book::new())).unwrap();

    let run = |stdout: Stdio| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mdbook-locald-spec"))
            .env_remove("LOCALD_SPEC_STRICT")
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    };

    // With a reader, the book comes back as JSON.
    let out = run(Stdio::piped());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("the book as JSON");

    // Without one (the reading end closed before the preprocessor writes).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = run(writer.into());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(13), "{}: {stderr}", out.status);
    assert!(stderr.trim().is_empty(), "{stderr}");
}
