use super::*;

#[verifies("environment.path-default")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn path_default_when_image_has_no_env(mode: Mode) {
    let out = sh(mode, Users::RootOnly, &[], "echo \"$PATH\"");
    assert_eq!(
        out.ok(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    );
}

#[verifies(
    "environment.image-env",
    "environment.path-default",
    "environment.home"
)]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn image_env_is_preserved(mode: Mode) {
    // Values with spaces, `=` and none at all, a variable of the CNB profile, and the two the
    // engine would default (PATH, HOME): each reaches the process exactly.
    let env = [
        "PATH=/bin",
        "EMPTY=",
        "GREETING=hello world",
        "EQ=a=b",
        "CNB_PLATFORM_API=0.12",
        "HOME=/srv",
    ];
    let rootfs = Rootfs::build(Users::RootOnly);
    let cfg = image_config_file(&rootfs, serde_json::json!({ "Env": env, "Cmd": ["env"] }));
    let out = run(mode, &rootfs, &["--image-config", &cfg], &[]);
    let lines: Vec<&str> = out.ok().lines().collect();
    for want in env {
        assert!(lines.contains(&want), "{want} in {lines:?}");
    }
    // The image's PATH and HOME win over the defaults.
    assert_eq!(lines.iter().filter(|l| l.starts_with("PATH=")).count(), 1);
    assert_eq!(lines.iter().filter(|l| l.starts_with("HOME=")).count(), 1);
}

/// PID 1 (the init) and the workload see `container=locald`; an image's own value is kept.
#[verifies("environment.container")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn the_container_is_marked_for_pid_1_and_the_workload(mode: Mode) {
    let script = "echo \"$container\"; tr '\\0' '\\n' < /proc/1/environ | grep '^container='";
    let out = sh(mode, Users::RootOnly, &[], script);
    assert_eq!(out.ok(), "locald\ncontainer=locald\n");
    let rootfs = Rootfs::build(Users::RootOnly);
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "Env": ["container=oci"], "Cmd": ["sh", "-c", "echo $container"] }),
    );
    assert_eq!(
        run(mode, &rootfs, &["--image-config", &cfg], &[]).ok(),
        "oci\n"
    );
}

#[verifies("environment.home", "environment.hostname", "environment.term")]
#[variants(root = Mode::Root, rootless = Mode::Rootless)]
fn home_and_hostname_defaults(mode: Mode) {
    let id = "0123456789abcdef".repeat(4);
    let opts = ["--id", &id];
    let script = "echo \"$HOME $HOSTNAME ${TERM:-noterm}\"";
    let out = sh(mode, Users::RootOnly, &opts, script);
    assert_eq!(out.ok(), "/root 0123456789ab noterm\n");
}

#[test]
#[verifies(
    "environment.override",
    "environment.home",
    "environment.hostname",
    "environment.term"
)]
fn overrides_hostname_and_home_root() {
    let rootfs = Rootfs::build(Users::App);
    let cfg = image_config_file(
        &rootfs,
        serde_json::json!({ "Env": ["GREETING=hello", "KEEP=1"] }),
    );
    let out = run(
        Mode::Root,
        &rootfs,
        &[
            "--image-config",
            &cfg,
            "--user",
            "app",
            "--hostname",
            "web",
            "--env",
            "GREETING=bye",
            "--env",
            "HOSTNAME=from-caller",
            "--env",
            "NEW=",
        ],
        &[
            "sh",
            "-c",
            "echo $GREETING $KEEP $HOME $HOSTNAME $(hostname) ${TERM:-noterm} NEW=${NEW-unset}",
        ],
    );
    assert_eq!(out.ok(), "bye 1 /home/app from-caller web noterm NEW=\n");
}
