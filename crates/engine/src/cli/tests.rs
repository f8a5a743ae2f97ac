use super::*;
use clap::Parser;
use locald_spec_macros::verifies;
use std::fs;

/// The shared flags as a command of their own.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

fn parse(args: &[&str]) -> Result<Options, clap::Error> {
    let mut argv = vec!["locald-engine"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).map(|c| c.options)
}

#[test]
fn the_flags_become_run_options() {
    let o = parse(&[
        "--rootfs",
        "/img",
        "--user",
        "app:staff",
        "-e",
        "A=1",
        "--env",
        "B=x=y",
        "--env",
        "EMPTY=",
        "--network",
        "none",
        "--hostname",
        "web",
        "--add-host",
        "db:192.0.2.7",
        "--add-host",
        "v6:2001:db8::7",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "corp.example",
        "--dns-option",
        "ndots:2",
        "--bind",
        "/srv:/data:ro",
        "--bind",
        "rel:/rel",
        "--readonly-rootfs",
        "--",
        "sh",
        "-c",
        "id",
    ])
    .unwrap();
    let r = o.run_options(Some("/init".into()));
    assert_eq!(r.user.as_deref(), Some("app:staff"));
    assert_eq!(
        r.env,
        [
            ("A".to_string(), "1".to_string()),
            ("B".into(), "x=y".into()),
            ("EMPTY".into(), String::new())
        ]
    );
    assert_eq!(r.network, NetworkMode::Private);
    assert_eq!(r.hostname.as_deref(), Some("web"));
    assert_eq!(
        r.extra_hosts,
        [
            "db:192.0.2.7".parse().unwrap(),
            "v6:2001:db8::7".parse().unwrap()
        ]
    );
    assert_eq!(
        r.dns.servers,
        ["192.0.2.53".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(r.dns.search, ["corp.example"]);
    assert_eq!(r.dns.options, ["ndots:2"]);
    assert_eq!(
        r.binds[0],
        BindMount {
            source: "/srv".into(),
            destination: "/data".into(),
            readonly: true
        }
    );
    // A relative source is taken from the current directory, read-write by default.
    assert_eq!(
        r.binds[1].source,
        std::env::current_dir().unwrap().join("rel")
    );
    assert!(!r.binds[1].readonly);
    assert!(r.readonly_rootfs && !r.tty);
    assert_eq!(
        r.args,
        Some(vec!["sh".to_string(), "-c".into(), "id".into()])
    );
    assert_eq!(r.init, Some(PathBuf::from("/init")));
    // Root without --rootless: no user namespace; otherwise the single mapping.
    assert_eq!(r.id_mapping.is_none(), euid_is_root());
    let rootless = parse(&["--rootfs", "/img", "--rootless"]).unwrap();
    assert!(rootless.run_options(None).id_mapping.is_some());
}

#[test]
fn no_command_keeps_the_image_command_and_defaults_match_the_library() {
    let o = parse(&["--rootfs", "/img"]).unwrap();
    let r = o.run_options(None);
    assert_eq!(r.args, None);
    assert_eq!(r.network, NetworkMode::Host);
    assert_eq!(
        RunOptions {
            id_mapping: None,
            ..r
        },
        RunOptions::default()
    );
}

#[test]
fn malformed_values_are_usage_errors_naming_the_flag() {
    for (args, flag, reason) in [
        (&["--env", "NOVALUE"][..], "--env", "expected KEY=VALUE"),
        (&["--bind", "/only"][..], "--bind", "expected SRC:DEST[:ro]"),
        (
            &["--bind", "/a:/b:rx"][..],
            "--bind",
            "expected SRC:DEST[:ro]",
        ),
        (&["--bind", ":/b"][..], "--bind", "the source is empty"),
        (&["--add-host", "db"][..], "--add-host", "expected NAME:IP"),
        (
            &["--add-host", "db:nope"][..],
            "--add-host",
            "is not an IP address",
        ),
        (&["--dns", "nope"][..], "--dns", "invalid"),
        (&["--network", "bridge"][..], "--network", "bridge"),
    ] {
        let mut argv = vec!["--rootfs", "/img"];
        argv.extend_from_slice(args);
        let err = parse(&argv).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation | clap::error::ErrorKind::InvalidValue
            ),
            "{text}"
        );
        assert!(
            text.contains(flag) && text.contains(reason),
            "{args:?}: {text}"
        );
        assert!(!text.contains("run option"), "{text}");
    }
}

/// Plan the flags `args` (after `--rootfs ROOTFS`) the way the CLI does, and return the
/// failure as the CLI reports it.
fn failure(args: &[&str], state: StateFlag) -> String {
    // An empty image: the engine provides what it lacks in the container's layer.
    let root = tempfile::tempdir().unwrap();
    let state_dir = root.path().join("state");
    let mut argv = vec!["--rootfs", root.path().to_str().unwrap()];
    argv.extend_from_slice(args);
    if !args.contains(&"--") {
        argv.extend(["--", "true"]);
    }
    let o = parse(&argv).unwrap();
    let image = o.image().map_err(|f| f.to_string());
    let err = crate::bundle::plan(
        &image.unwrap(),
        &o.rootfs,
        &o.run_options(None),
        &state_dir,
        &o.id(),
    )
    .map(|_| ())
    .unwrap_err();
    Failure::engine(err, state).to_string()
}

#[cfg(target_os = "linux")]
#[test]
fn library_errors_name_the_flag_not_the_field() {
    for (args, starts) in [
        (&["--add-host", "bad name:192.0.2.7"][..], "--add-host: "),
        (&["--hostname=-web"][..], "--hostname: "),
        (&["--id=-rf"][..], "--id: "),
        (&["--dns-search", "a b"][..], "--dns-search: "),
        (&["--dns-option", "a b"][..], "--dns-option: "),
        (&["--env", "=x"][..], "--env: "),
        (&["--bind", "/tmp:rel"][..], "--bind: "),
        (&["--", "a\0b"][..], "the command after --: "),
    ] {
        let text = failure(args, StateFlag::StateRoot);
        assert!(text.starts_with(starts), "{args:?}: {text}");
        assert!(!text.contains("run option"), "{text}");
    }
    // No command at all: the image has none and none was given.
    let text = failure(&["--"], StateFlag::Bundle);
    assert!(
        text.starts_with("the command after --: no command"),
        "{text}"
    );
}

#[test]
fn the_state_directory_is_named_by_the_flag_that_chose_it() {
    let err = || Error::InvalidOption {
        field: "state_dir",
        reason: "/x is not valid UTF-8".into(),
    };
    assert_eq!(
        Failure::engine(err(), StateFlag::StateRoot).to_string(),
        "--state-root: /x is not valid UTF-8"
    );
    assert_eq!(
        Failure::engine(err(), StateFlag::Bundle).to_string(),
        "--bundle: /x is not valid UTF-8"
    );
    let exists = Error::StateDirExists { path: "/b".into() };
    assert_eq!(
        Failure::engine(exists, StateFlag::Bundle).to_string(),
        "--bundle /b: already exists"
    );
}

#[test]
fn causes_are_kept_once() {
    let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
    // The library's message already ends with its source: not repeated.
    let f = Failure::from(Error::io("/x", "read", io()));
    assert_eq!(f.to_string(), format!("/x: read: {}", io()));
    // Reworded, the source follows the flag.
    let f = Failure::from(Error::io("/img", "resolve rootfs", io()));
    assert_eq!(
        f.to_string(),
        format!("--rootfs /img: resolve rootfs: {}", io())
    );
    assert_eq!(f.status, ENGINE_FAILED);
    let start = Error::Start {
        status: 127,
        reason: "exec: \"nosuch\": executable file not found in $PATH".into(),
    };
    assert_eq!(Failure::from(start).status, 127);
}

#[test]
fn a_file_given_as_rootfs_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.tar");
    fs::write(&file, "").unwrap();
    let o = parse(&["--rootfs", file.to_str().unwrap()]).unwrap();
    let text = o.check_rootfs().unwrap_err().to_string();
    assert!(
        text.starts_with(&format!(
            "--rootfs {}: a regular file, not a directory",
            file.display()
        )),
        "{text}"
    );
    assert!(text.contains("tar -xf FILE -C DIR"), "{text}");
    let o = parse(&["--rootfs", dir.path().to_str().unwrap()]).unwrap();
    o.check_rootfs().unwrap();
}

/// A cargo target directory under `base` (`target/`, with what cargo writes at its top) and
/// the path of an engine built into it, with a dynamically linked `locald-init` beside it, as
/// `cargo build` of the workspace leaves them.
fn target_dir_with_dynamic_init(base: &Path) -> (PathBuf, PathBuf) {
    let target = base.join("target");
    fs::create_dir_all(target.join("debug")).unwrap();
    fs::write(target.join(".rustc_info.json"), "{}").unwrap();
    let exe = target.join("debug/locald-engine");
    // This test binary: dynamically linked, like cargo's debug locald-init.
    fs::copy(
        std::env::current_exe().unwrap(),
        target.join("debug/locald-init"),
    )
    .unwrap();
    (target, exe)
}

fn install_static_init(at: &Path) {
    fs::create_dir_all(at.parent().unwrap()).unwrap();
    fs::copy(locald_testkit::static_init(), at).unwrap();
}

#[test]
#[verifies("stopping.init.default")]
fn a_dynamic_init_beside_the_engine_is_passed_over_for_the_static_build() {
    let base = tempfile::tempdir().unwrap();
    let (target, exe) = target_dir_with_dynamic_init(base.path());
    let err = find_init(None, None, &exe).unwrap_err();
    assert!(!err.explicit);
    let text = err.message;
    assert!(
        text.contains(&format!(
            "{} (next to locald-engine): dynamically linked",
            target.join("debug/locald-init").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} (the static build): ",
            target.join(STATIC_INIT).display()
        )),
        "{text}"
    );
    // Not a workspace: the build names the target directory the engine looks in.
    assert!(
        text.contains(&format!(
            "build it: in the locald workspace: cargo build -p locald-init --profile init \
             --target x86_64-unknown-linux-musl --target-dir {}/static ",
            target.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("--init-path PATH") && text.contains("--no-init"),
        "{text}"
    );
    install_static_init(&target.join(STATIC_INIT));
    assert_eq!(
        find_init(None, None, &exe).unwrap(),
        fs::canonicalize(target.join(STATIC_INIT)).unwrap()
    );
    // A static init beside the engine comes first.
    install_static_init(&target.join("debug/locald-init"));
    assert_eq!(
        find_init(None, None, &exe).unwrap(),
        fs::canonicalize(target.join("debug/locald-init")).unwrap()
    );
}

#[test]
#[verifies("stopping.init.default")]
fn the_fixes_are_commands_that_work_where_the_engine_is() {
    // In the workspace's own target directory: the README's command, run there.
    let ws = tempfile::tempdir().unwrap();
    fs::create_dir_all(ws.path().join("crates/init")).unwrap();
    fs::write(ws.path().join("crates/init/Cargo.toml"), "").unwrap();
    let (_, exe) = target_dir_with_dynamic_init(ws.path());
    let text = find_init(None, None, &exe).unwrap_err().message;
    assert!(
        text.contains(&format!(
            "build it: cd {} && cargo build -p locald-init --profile init --target \
             x86_64-unknown-linux-musl --target-dir target/static ",
            ws.path().display()
        )),
        "{text}"
    );
    // Installed elsewhere: build, then install beside the engine, where it is looked for.
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("locald-engine");
    let text = find_init(None, None, &exe).unwrap_err().message;
    assert!(
        text.contains(&format!(
            "then: install -m 755 target/{STATIC_INIT} {}",
            bin.path().join("locald-init").display()
        )),
        "{text}"
    );
    assert_eq!(default_inits(&exe).len(), 1, "no target directory here");
}

#[test]
#[verifies("stopping.init.default")]
fn a_named_init_is_used_or_refused_naming_where_it_came_from() {
    let exe = Path::new("/nonexistent/bin/locald-engine");
    let dynamic = std::env::current_exe().unwrap();
    let err = find_init(Some(&dynamic), None, exe).unwrap_err();
    assert!(err.explicit);
    assert!(
        err.message.starts_with(&format!(
            "--init-path {}: dynamically linked",
            dynamic.display()
        )),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("--profile init --target x86_64-unknown-linux-musl")
    );
    let err = find_init(None, Some(OsStr::new("/nonexistent/init")), exe).unwrap_err();
    assert!(
        err.message.starts_with("LOCALD_INIT /nonexistent/init: "),
        "{}",
        err.message
    );
    let init = locald_testkit::static_init();
    assert_eq!(
        find_init(None, Some(init.as_os_str()), exe).unwrap(),
        fs::canonicalize(&init).unwrap()
    );
    // --init-path wins over LOCALD_INIT; an empty LOCALD_INIT is unset.
    assert!(find_init(Some(&dynamic), Some(init.as_os_str()), exe).is_err());
    assert!(
        !find_init(None, Some(OsStr::new("")), exe)
            .unwrap_err()
            .explicit
    );
}

#[test]
#[verifies("security.seccomp.caller", "limits.input-files")]
fn security_opt_chooses_the_filter_and_refuses_a_bad_profile_naming_file_and_field() {
    let base = |extra: &[&str]| {
        let mut argv = vec!["--rootfs", "/img"];
        argv.extend_from_slice(extra);
        parse(&argv).map(|o| o.run_options(None).seccomp)
    };
    assert_eq!(base(&[]).unwrap(), Seccomp::Default);
    assert_eq!(
        base(&["--security-opt", "seccomp=unconfined"]).unwrap(),
        Seccomp::Unconfined
    );
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    fs::write(
        &good,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", good.display());
    assert!(matches!(
        base(&["--security-opt", &opt]).unwrap(),
        Seccomp::Custom(p) if p.syscalls.len() == 1
    ));
    // The last one wins, as for docker run.
    assert_eq!(
        base(&[
            "--security-opt",
            &opt,
            "--security-opt",
            "seccomp=unconfined"
        ])
        .unwrap(),
        Seccomp::Unconfined
    );
    let bad = dir.path().join("bad.json");
    fs::write(
        &bad,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "ALLOW"}]}"#,
    )
    .unwrap();
    let bad_opt = format!("seccomp={}", bad.display());
    let missing_opt = format!("seccomp={}", dir.path().join("nope.json").display());
    // Read only when a regular file within the limit (`limits.input-files`): a FIFO would hang
    // a reader, a device or a huge file fill its memory.
    let fifo = dir.path().join("fifo.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let huge = dir.path().join("huge.json");
    fs::File::create(&huge)
        .unwrap()
        .set_len(crate::limits::MAX_SECCOMP_PROFILE_BYTES + 1)
        .unwrap();
    let (fifo_opt, dir_opt, huge_opt) = (
        format!("seccomp={}", fifo.display()),
        format!("seccomp={}", dir.path().display()),
        format!("seccomp={}", huge.display()),
    );
    for (opt, want) in [
        (
            fifo_opt.as_str(),
            "fifo.json: not a regular file".to_string(),
        ),
        (dir_opt.as_str(), ": not a regular file".to_string()),
        (
            huge_opt.as_str(),
            format!(
                "huge.json: {} bytes, more than the limit",
                crate::limits::MAX_SECCOMP_PROFILE_BYTES + 1
            ),
        ),
        (
            bad_opt.as_str(),
            format!(
                "{}: syscalls[1].action: unknown variant `ALLOW`",
                bad.display()
            ),
        ),
        (missing_opt.as_str(), "nope.json: No such file".to_string()),
        (
            "apparmor=unconfined",
            "\"apparmor=unconfined\": this engine supports only seccomp".to_string(),
        ),
        ("seccomp=", "name a profile file".to_string()),
    ] {
        let text = base(&["--security-opt", opt]).unwrap_err().to_string();
        assert!(
            text.contains("--security-opt") && text.contains(&want),
            "{opt}: {text}"
        );
    }
}
