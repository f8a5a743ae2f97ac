use super::*;

#[verifies(
    "identity.user.resolve",
    "identity.passwd.current-user",
    "identity.group.current-group"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn current_uid_has_passwd_entry(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], "id -u; id -un; id -gn");
    assert_eq!(out.ok(), "0\nroot\nroot\n");
}

#[verifies("identity.passwd.current-user", "identity.group.current-group")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn uid_0_gets_an_entry_when_the_image_has_none(mode: Mode) {
    let script = "id -un; id -gn; cat /etc/passwd /etc/group";
    let out = sh(mode, Users::NoEntries, &[], script);
    assert_eq!(
        out.ok(),
        "root\nroot\nroot:x:0:0:container user:/:/bin/sh\nroot:x:0:\n"
    );
}

#[test]
#[verifies(
    "identity.user.resolve",
    "identity.passwd.current-user",
    "environment.home"
)]
fn numeric_uid_missing_from_image_resolves_root() {
    let script = "id -u; id -g; id -un; whoami; echo $HOME; cat /etc/passwd";
    let out = sh(Mode::Root, Users::RootOnly, &["--user", "1234"], script);
    assert_eq!(
        out.ok(),
        "1234\n0\nuser1234\nuser1234\n/\n\
         root:x:0:0:root:/root:/bin/sh\nuser1234:x:1234:0:container user:/:/bin/sh\n"
    );
}

#[test]
#[verifies("identity.user.resolve", "identity.group.current-group")]
fn numeric_gid_missing_from_image_gets_a_group_entry_root() {
    let script = "id -g; id -gn; cat /etc/group";
    let out = sh(
        Mode::Root,
        Users::RootOnly,
        &["--user", "1234:4321"],
        script,
    );
    assert_eq!(out.ok(), "4321\ngroup4321\nroot:x:0:\ngroup4321:x:4321:\n");
}

#[test]
#[verifies("identity.user.resolve")]
fn image_user_is_used_and_the_option_replaces_it_root() {
    let rootfs = Rootfs::build(Users::App);
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "User": "app", "Cmd": ["id", "-un"] }),
    );
    let out = run(Mode::Root, &rootfs, &["--image-config", &cfg], &[]);
    assert_eq!(out.ok(), "app\n");
    let opts = ["--image-config", &cfg, "--user", "root"];
    assert_eq!(run(Mode::Root, &rootfs, &opts, &[]).ok(), "root\n");
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn named_user_gets_its_groups_root() {
    let script = "id -un; id -u; id -g; id -G";
    let out = sh(Mode::Root, Users::App, &["--user", "app"], script);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..3], ["app", "1000", "1000"]);
    let groups: Vec<&str> = lines[3].split(' ').collect();
    assert_eq!(groups, ["1000", "50"], "primary, then staff: {text}");
}

#[test]
#[verifies("identity.user.resolve", "identity.user.additional-gids")]
fn explicit_group_replaces_supplementary_groups_root() {
    let out = sh(Mode::Root, Users::App, &["--user", "app:0"], "id -u; id -G");
    assert_eq!(out.ok(), "1000\n0\n");
}

#[test]
#[verifies("identity.user.resolve")]
fn unknown_user_is_refused_naming_it_root() {
    sh(Mode::Root, Users::RootOnly, &["--user", "ghost"], "true").refused("`ghost`");
}

/// With subordinate ids every uid up to the range's size is mapped: one above it is refused.
#[test]
#[verifies("identity.user.resolve", "isolation.namespaces.user")]
fn unmapped_uid_is_refused_rootless() {
    let sub = subordinate_ranges(Mode::Rootless).unwrap();
    let outside = format!("{}:0", sub.uids.1 + 1);
    sh(Mode::Rootless, Users::App, &["--user", &outside], "true").refused("not mapped");
}

/// The generated files are the container's: root appends to them and replaces them by
/// rename (what useradd does), and the image keeps its own.
#[verifies(
    "identity.passwd.current-user",
    "identity.group.current-group",
    "filesystems.layer.engine-files"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn generated_files_are_the_containers(mode: Mode) {
    let rootfs = Rootfs::build(Users::RootOnly);
    let script = "echo 'alice:x:1000:1000::/home/alice:/bin/sh' >> /etc/passwd && \
                  cp /etc/group /tmp/g && echo 'alice:x:1000:' >> /tmp/g && \
                  mv /tmp/g /etc/group && echo 1.2.3.4 db >> /etc/hosts && \
                  id -un alice && grep -c alice /etc/group && tail -1 /etc/hosts && \
                  stat -c %a /etc/passwd /etc/group";
    let out = run(mode, &rootfs, &[], &["sh", "-c", script]);
    assert_eq!(out.ok(), "alice\n1\n1.2.3.4 db\n644\n644\n");
    assert_eq!(
        std::fs::read_to_string(rootfs.path().join("etc/passwd")).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
}

/// Real programs that look up the running user, as uid 1000 (no entry in the image: the
/// engine's `user1000`) and as the image's `nobody`, on a Debian root: `id -un`, `whoami`,
/// Python's `getpass.getuser()` (with no USER or LOGNAME to read, it asks `pwd`), and
/// `ssh-keygen`, which refuses to run ("No user exists for uid") without an entry and writes
/// `NAME@HOST` as the key's comment. Rootful; rootless with the test user's subordinate ids
/// (every uid mapped); rootless with `--single-mapping` (the user runs in the nested namespace).
#[verifies("identity.passwd.current-user", "identity.user.resolve")]
#[variants(
    root = (Mode::Root, false),
    rootless = (Mode::Rootless, false),
    rootless_single_mapping = (Mode::Rootless, true)
)]
fn programs_that_look_up_the_user_find_it_on_debian((mode, single): (Mode, bool)) {
    if !single {
        subordinate_ranges(mode);
    }
    let debian = debian_for(mode);
    let carrier = Rootfs::build(Users::RootOnly);
    let script = "id -un; whoami; \
        env -u USER -u LOGNAME -u LNAME -u USERNAME \
          python3 -c 'import getpass; print(getpass.getuser())'; \
        ssh-keygen -q -t ed25519 -N '' -f /tmp/key && cut -d' ' -f3 /tmp/key.pub";
    for (user, name) in [("1000", "user1000"), ("nobody", "nobody")] {
        let mut args = vec!["--user", user];
        if single {
            args.push("--single-mapping");
        }
        let out = run_dir(mode, &carrier, &debian, &args, &["sh", "-c", script]);
        let text = out.ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{user}: {text}");
        assert_eq!(lines[..3], [name, name, name], "{user}: {text}");
        assert!(
            lines[3].starts_with(&format!("{name}@")),
            "{user}: the key's comment names the user: {text}"
        );
    }
}

/// A run refused for its image's files, its user or its image config writes nothing: the
/// state root it names, missing, is still missing (and nothing else appeared beside it).
#[verifies("identity.image-files.confined")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn a_refused_run_creates_no_state_root(mode: Mode) {
    // What each case does to its image, and the options it adds.
    type Setup = fn(&Rootfs) -> Vec<String>;
    let cases: [(&str, Setup, &str); 4] = [
        (
            "a FIFO /etc/passwd",
            |r| {
                let p = r.path().join("etc/passwd");
                std::fs::remove_file(&p).unwrap();
                nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
                Vec::new()
            },
            "/etc/passwd",
        ),
        (
            "a non-UTF-8 /etc/passwd",
            |r| {
                std::fs::write(
                    r.path().join("etc/passwd"),
                    b"root:x:0:0:\xff\xfe:/:/bin/sh\n",
                )
                .unwrap();
                Vec::new()
            },
            "/etc/passwd",
        ),
        (
            "an unknown --user",
            |_| vec!["--user".into(), "ghost".into()],
            "`ghost`",
        ),
        (
            "a WorkingDir under /proc",
            |r| {
                let cfg = serde_json::json!({ "WorkingDir": "/proc/self/root" });
                vec!["--image-config".into(), image_config_file(r, cfg)]
            },
            "/proc/self/root",
        ),
    ];
    for (what, setup, needle) in cases {
        let rootfs = Rootfs::build(Users::RootOnly);
        let mut opts = setup(&rootfs);
        // A directory the engine's user may create its state root in.
        let owned = rootfs.base().join("owned");
        std::fs::create_dir(&owned).unwrap();
        if runs_as_test_user(mode) {
            let u = locald_testkit::test_user();
            std::os::unix::fs::chown(&owned, Some(u.uid), Some(u.gid)).unwrap();
        }
        let state_root = owned.join("state");
        opts.extend(["--state-root".into(), state_root.to_str().unwrap().into()]);
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        run(mode, &rootfs, &opts, &["true"]).refused(needle);
        let left: Vec<_> = std::fs::read_dir(&owned)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "{what}: the refused run left {left:?} in {}",
            owned.display()
        );
    }
}
