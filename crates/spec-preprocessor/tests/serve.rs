//! Live editing: stock `mdbook serve` (as `ci/install-deps` installs it, with its `serve` and
//! `watch` features) runs this preprocessor, serves the boxes, and rebuilds when a chapter
//! changes. Needs `mdbook` on PATH: without it the test fails, naming the install step.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAPTER: &str = "# Identity\n\n```requirement\nid: identity.passwd.current-user\nlevel: MUST\naction: The engine writes an entry for the `uid`.\nprovenance:\n  - source: posix\n    cite: XSH getpwuid()\n    url: https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpwuid.html\n```\n";

/// Ends `mdbook serve` however the test ends.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The body of `GET path` on the loopback `port`, if the server answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut page = String::new();
    s.read_to_string(&mut page).ok()?;
    page.starts_with("HTTP/1.1 200").then_some(page)
}

/// Waits up to a minute for `GET path` to answer with a page containing `text`.
fn wait_for(served: &mut Served, port: u16, path: &str, text: &str) -> String {
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(status) = served.0.try_wait().unwrap() {
            panic!("mdbook serve exited ({status}) before serving `{text}`");
        }
        last = get(port, path);
        if last.as_deref().is_some_and(|p| p.contains(text)) {
            return last.unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{path} did not show `{text}` within a minute; last answer: {last:?}");
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn mdbook_serve_runs_the_preprocessor_and_rebuilds_on_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "book.toml",
        &format!(
            "[book]\ntitle = \"fixture\"\nsrc = \"book/src\"\n\n[preprocessor.locald-spec]\ncommand = {:?}\n",
            env!("CARGO_BIN_EXE_mdbook-locald-spec")
        ),
    );
    write(
        root,
        "book/src/SUMMARY.md",
        "# Summary\n\n- [Identity](identity.md)\n",
    );
    write(root, "book/src/identity.md", CHAPTER);
    let port = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("mdbook")
        .args([
            "serve",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg("--dest-dir")
        .arg(root.join("site"))
        .arg(root)
        .env_remove("LOCALD_SPEC_STRICT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mdbook is not on PATH: ci/install-deps installs it (with `serve`)");
    let mut served = Served(child);

    let page = wait_for(
        &mut served,
        port,
        "/identity.html",
        "req-identity.passwd.current-user",
    );
    assert!(
        page.contains("The engine writes an entry for the <code>uid</code>."),
        "the box's action"
    );
    assert!(
        page.contains("__livereload"),
        "the page reloads itself on a rebuild"
    );

    write(
        root,
        "book/src/identity.md",
        &CHAPTER.replace("writes an entry", "writes one entry"),
    );
    wait_for(
        &mut served,
        port,
        "/identity.html",
        "The engine writes one entry",
    );
}
