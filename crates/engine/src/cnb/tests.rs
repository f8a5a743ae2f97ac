use super::*;
use locald_spec_macros::verifies;
use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// A build-image-shaped root filesystem (only what resolution reads) and host directories.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("rootfs/etc");
        fs::create_dir_all(&etc).unwrap();
        fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1000:CNB:/home/cnb:/bin/sh\n",
        )
        .unwrap();
        fs::write(etc.join("group"), "root:x:0:\ncnb:x:1000:\n").unwrap();
        for d in ["workspace", "layers", "platform", "cache", "layout"] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        Fixture { dir }
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn host(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn build(&self) -> Build {
        Build::new(
            "0.15",
            Phase::Creator,
            self.host("workspace"),
            self.host("layers"),
            self.host("platform"),
        )
        .with_cache(self.host("cache"))
        .with_layout(self.host("layout"))
        .with_args(["-layout", "example.test/app"])
    }

    fn chmod(&self, name: &str, mode: u32) {
        fs::set_permissions(self.host(name), fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn image(user: Option<&str>, env: &[&str], entrypoint: Option<&[&str]>) -> ImageConfiguration {
    locald_testkit::image_config(
        serde_json::json!({ "User": user, "Env": env, "Entrypoint": entrypoint }),
    )
}

fn builder() -> ImageConfiguration {
    image(
        Some("cnb"),
        &[
            "PATH=/usr/bin:/bin",
            "CNB_USER_ID=1000",
            "CNB_GROUP_ID=1000",
        ],
        None,
    )
}

/// The caller as the rootless host user: directories it created are its own.
fn rootless() -> RunOptions {
    RunOptions {
        id_mapping: Some(IdMapping::new(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )),
        init: Some("/usr/lib/locald/locald-init".into()),
        ..Default::default()
    }
}

fn env_of(opts: &RunOptions, key: &str) -> Option<String> {
    opts.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// The options a build phase gets. The evidence that the phase runs so is the lifecycle run
/// (`tests/e2e/cnb.rs`, `lifecycle_runs_as_the_build_user`), which verifies the same
/// requirements.
#[test]
fn build_options_run_the_phase_as_the_image_user_with_the_platform_dirs() {
    let f = Fixture::new();
    let mut base = rootless();
    base.env = vec![("SOURCE_DATE_EPOCH".into(), "0".into())];
    let opts = build_options(&builder(), &f.rootfs(), &f.build(), base.clone()).unwrap();
    assert_eq!(opts.user, None, "the image's User is resolved by the plan");
    let m = opts.id_mapping.unwrap();
    assert_eq!((m.container_uid, m.container_gid), (1000, 1000));
    assert_eq!(m.host_uid, base.id_mapping.unwrap().host_uid);
    assert_eq!(
        opts.args.as_deref().unwrap(),
        ["/cnb/lifecycle/creator", "-layout", "example.test/app"]
    );
    for (k, v) in [
        ("SOURCE_DATE_EPOCH", "0"),
        ("CNB_PLATFORM_API", "0.15"),
        ("CNB_APP_DIR", "/workspace"),
        ("CNB_LAYERS_DIR", "/layers"),
        ("CNB_PLATFORM_DIR", "/platform"),
        ("CNB_CACHE_DIR", "/cache"),
        ("CNB_USE_LAYOUT", "true"),
        ("CNB_LAYOUT_DIR", "/layout-repo"),
        ("CNB_EXPERIMENTAL_MODE", "warn"),
    ] {
        assert_eq!(env_of(&opts, k).as_deref(), Some(v), "{k}");
    }
    // The image has them, equal to the user's ids: kept as they are, not set again.
    assert_eq!(env_of(&opts, "CNB_USER_ID"), None);
    let binds: Vec<_> = opts
        .binds
        .iter()
        .map(|b| (b.source.clone(), b.destination.as_str(), b.readonly))
        .collect();
    assert_eq!(
        binds,
        [
            (f.host("workspace"), "/workspace", false),
            (f.host("layers"), "/layers", false),
            (f.host("platform"), "/platform", true),
            (f.host("cache"), "/cache", false),
            (f.host("layout"), "/layout-repo", false),
        ]
    );
    assert_eq!(opts.init, base.init);

    // Without cache and layout: neither mounted nor named.
    let plain = Build::new(
        "0.15",
        Phase::Detector,
        f.host("workspace"),
        f.host("layers"),
        f.host("platform"),
    );
    let opts = build_options(&builder(), &f.rootfs(), &plain, rootless()).unwrap();
    assert_eq!(opts.binds.len(), 3);
    assert_eq!(env_of(&opts, "CNB_CACHE_DIR"), None);
    assert_eq!(env_of(&opts, "CNB_USE_LAYOUT"), None);
    assert_eq!(opts.args.as_deref().unwrap(), ["/cnb/lifecycle/detector"]);
}

#[test]
#[verifies("cnb.build.user-ids")]
fn user_ids_are_set_when_missing_and_refused_when_wrong() {
    let f = Fixture::new();
    let bare = image(Some("cnb"), &["PATH=/bin"], None);
    let opts = build_options(&bare, &f.rootfs(), &f.build(), rootless()).unwrap();
    assert_eq!(env_of(&opts, "CNB_USER_ID").as_deref(), Some("1000"));
    assert_eq!(env_of(&opts, "CNB_GROUP_ID").as_deref(), Some("1000"));
    for wrong in [
        ["CNB_USER_ID=1001", "CNB_GROUP_ID=1000"],
        ["CNB_USER_ID=1000", "CNB_GROUP_ID=0"],
    ] {
        let img = image(Some("cnb"), &wrong, None);
        let err = build_options(&img, &f.rootfs(), &f.build(), rootless()).unwrap_err();
        assert_eq!(err.field(), Some("Env"), "{err}");
        assert!(err.to_string().contains("uid 1000 gid 1000"), "{err}");
    }
}

#[test]
#[verifies("cnb.build.user")]
fn a_root_or_missing_build_user_and_an_override_are_refused() {
    let f = Fixture::new();
    for user in [None, Some(""), Some("root"), Some("0:1000")] {
        let img = image(user, &[], None);
        let err = build_options(&img, &f.rootfs(), &f.build(), rootless()).unwrap_err();
        assert_eq!(err.field(), Some("User"), "{user:?}: {err}");
        assert!(err.to_string().contains("non-root"), "{err}");
    }
    let base = RunOptions {
        user: Some("1000".into()),
        ..rootless()
    };
    let err = build_options(&builder(), &f.rootfs(), &f.build(), base).unwrap_err();
    assert_eq!(err.field(), Some("user"), "{err}");
    // A name the image does not define.
    let img = image(Some("nobody-here"), &[], None);
    let err = build_options(&img, &f.rootfs(), &f.build(), rootless()).unwrap_err();
    assert!(matches!(err, Error::UnknownUser { .. }), "{err}");
}

#[test]
#[verifies("cnb.build.phase")]
fn a_build_image_entrypoint_is_refused() {
    let f = Fixture::new();
    let img = image(Some("cnb"), &[], Some(&["/bin/sh", "-c"]));
    let err = build_options(&img, &f.rootfs(), &f.build(), rootless()).unwrap_err();
    assert_eq!(err.field(), Some("Entrypoint"), "{err}");
    // An empty one is no entrypoint.
    let img = image(Some("cnb"), &[], Some(&[]));
    build_options(&img, &f.rootfs(), &f.build(), rootless()).unwrap();
    let names: Vec<_> = [
        Phase::Analyzer,
        Phase::Detector,
        Phase::Restorer,
        Phase::Extender,
        Phase::Builder,
        Phase::Exporter,
        Phase::Creator,
    ]
    .map(Phase::path)
    .to_vec();
    assert_eq!(
        names,
        [
            "/cnb/lifecycle/analyzer",
            "/cnb/lifecycle/detector",
            "/cnb/lifecycle/restorer",
            "/cnb/lifecycle/extender",
            "/cnb/lifecycle/builder",
            "/cnb/lifecycle/exporter",
            "/cnb/lifecycle/creator"
        ]
    );
}

#[test]
#[verifies("cnb.build.platform-env")]
fn platform_api_is_validated_and_platform_variables_cannot_be_overridden() {
    let f = Fixture::new();
    for bad in ["", "0.", ".15", "0.15.1", "v0.15", "0.x"] {
        let mut b = f.build();
        b.platform_api = bad.into();
        let err = build_options(&builder(), &f.rootfs(), &b, rootless()).unwrap_err();
        assert_eq!(err.field(), Some("platform_api"), "{bad:?}: {err}");
    }
    for good in ["1", "0.15", "0.9"] {
        let mut b = f.build();
        b.platform_api = good.into();
        build_options(&builder(), &f.rootfs(), &b, rootless()).unwrap();
    }
    for key in ["CNB_PLATFORM_API", "CNB_LAYERS_DIR", "CNB_USER_ID"] {
        let base = RunOptions {
            env: vec![(key.into(), "x".into())],
            ..rootless()
        };
        let err = build_options(&builder(), &f.rootfs(), &f.build(), base).unwrap_err();
        assert_eq!(err.field(), Some("env"), "{key}: {err}");
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
#[verifies("cnb.build.directories")]
fn directories_the_lifecycle_cannot_use_are_refused_by_name() {
    let f = Fixture::new();
    // Rootless: the caller's own directories are the lifecycle's, unless not writable.
    f.chmod("layers", 0o555);
    let err = build_options(&builder(), &f.rootfs(), &f.build(), rootless()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("layers") && msg.contains("/layers") && msg.contains("not writable"),
        "{msg}"
    );
    f.chmod("layers", 0o755);
    // The platform directory only needs to be readable.
    f.chmod("platform", 0o555);
    build_options(&builder(), &f.rootfs(), &f.build(), rootless()).unwrap();
    f.chmod("platform", 0o300);
    let err = build_options(&builder(), &f.rootfs(), &f.build(), rootless()).unwrap_err();
    assert!(err.to_string().contains("not readable"), "{err}");
    f.chmod("platform", 0o755);
    // A missing one, and a file.
    let mut b = f.build();
    b.cache = Some(f.host("no-such-dir"));
    let err = build_options(&builder(), &f.rootfs(), &b, rootless()).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    fs::write(f.host("file"), "").unwrap();
    b.cache = Some(f.host("file"));
    let err = build_options(&builder(), &f.rootfs(), &b, rootless()).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
#[verifies("cnb.build.directories")]
fn rootful_directories_must_be_usable_by_the_build_uid() {
    // Rootful, the lifecycle is uid 1000 on the host too: a 0755 directory of the caller's
    // (not uid 1000) is not writable by it; a world-writable one is.
    assert_ne!(
        nix::unistd::geteuid().as_raw(),
        1000,
        "the test needs another uid"
    );
    let f = Fixture::new();
    let base = RunOptions {
        init: Some("/init".into()),
        ..Default::default()
    };
    let err = build_options(&builder(), &f.rootfs(), &f.build(), base.clone()).unwrap_err();
    assert!(err.to_string().contains("uid 1000 gid 1000"), "{err}");
    for d in ["workspace", "layers", "cache", "layout"] {
        f.chmod(d, 0o777);
    }
    let opts = build_options(&builder(), &f.rootfs(), &f.build(), base).unwrap();
    assert_eq!(opts.id_mapping, None);
}

fn app_image(entrypoint: &[&str], wd: Option<&str>, env: &[&str]) -> ImageConfiguration {
    let mut c = ConfigBuilder::default()
        .entrypoint(entrypoint.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .env(env.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .user("1002:1000");
    if let Some(wd) = wd {
        c = c.working_dir(wd);
    }
    ImageConfigurationBuilder::default()
        .config(c.build().unwrap())
        .build()
        .unwrap()
}

const APP_ENV: &[&str] = &[
    "CNB_LAYERS_DIR=/layers",
    "CNB_APP_DIR=/workspace",
    "CNB_PLATFORM_API=0.15",
    "CNB_DEPRECATION_MODE=quiet",
    "PATH=/cnb/process:/cnb/lifecycle:/usr/bin:/bin",
];

#[test]
#[verifies("cnb.app.entrypoint", "cnb.app.user", "cnb.app.init")]
fn app_options_keep_the_image_and_map_the_host_user_onto_the_app_user() {
    let f = Fixture::new();
    let img = app_image(&["/cnb/process/web"], Some("/workspace"), APP_ENV);
    let base = RunOptions {
        env: vec![("PORT".into(), "8080".into())],
        args: Some(vec!["--verbose".into()]),
        ..rootless()
    };
    let opts = app_options(&img, &f.rootfs(), base.clone()).unwrap();
    let m = opts.id_mapping.unwrap();
    assert_eq!((m.container_uid, m.container_gid), (1002, 1000));
    assert_eq!(
        RunOptions {
            id_mapping: base.id_mapping,
            ..opts.clone()
        },
        base,
        "nothing but the mapping changes"
    );
    // Rootful nothing changes at all; a caller's user is resolved instead of the image's.
    let rootful = RunOptions {
        init: Some("/init".into()),
        ..Default::default()
    };
    assert_eq!(
        app_options(&img, &f.rootfs(), rootful.clone()).unwrap(),
        rootful
    );
    let as_cnb = RunOptions {
        user: Some("cnb".into()),
        ..rootless()
    };
    let m = app_options(&img, &f.rootfs(), as_cnb)
        .unwrap()
        .id_mapping
        .unwrap();
    assert_eq!((m.container_uid, m.container_gid), (1000, 1000));
}

#[test]
#[verifies("cnb.app.entrypoint")]
fn only_launcher_entrypoints_are_app_images() {
    let ok: &[&[&str]] = &[
        &["/cnb/process/web"],
        &["/cnb/process/worker"],
        &["/cnb/lifecycle/launcher"],
        &["/cnb/lifecycle/launcher", "--"],
    ];
    let not: &[&[&str]] = &[
        &[],
        &["/cnb/process/"],
        &["/cnb/process"],
        &["/cnb/process/a/b"],
        &["/cnb/processx/web"],
        &["/cnb/process/web", "extra"],
        &["/cnb/lifecycle/launcher", "web"],
        &["/bin/sh"],
    ];
    let s = |e: &[&str]| e.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for e in ok {
        assert!(is_launcher_entrypoint(&s(e)), "{e:?}");
    }
    let f = Fixture::new();
    for e in not {
        assert!(!is_launcher_entrypoint(&s(e)), "{e:?}");
        let img = app_image(e, Some("/workspace"), APP_ENV);
        let err = app_options(&img, &f.rootfs(), rootless()).unwrap_err();
        assert_eq!(err.field(), Some("Entrypoint"), "{e:?}: {err}");
    }
}

#[test]
#[verifies("cnb.app.working-dir")]
fn the_working_dir_must_be_the_app_dir() {
    let f = Fixture::new();
    for (wd, ok) in [
        (None, false),
        (Some("/"), false),
        (Some("/workspace"), true),
        (Some("/workspace/"), true),
    ] {
        let img = app_image(&["/cnb/process/web"], wd, APP_ENV);
        match app_options(&img, &f.rootfs(), rootless()) {
            Ok(_) => assert!(ok, "{wd:?}"),
            Err(e) => {
                assert!(!ok, "{wd:?}: {e}");
                assert_eq!(e.field(), Some("WorkingDir"));
            }
        }
    }
    // Another app directory, consistently named, is fine.
    let img = app_image(
        &["/cnb/process/web"],
        Some("/app"),
        &["CNB_APP_DIR=/app", "CNB_PLATFORM_API=0.15"],
    );
    app_options(&img, &f.rootfs(), rootless()).unwrap();
}

#[test]
#[verifies("cnb.app.env", "cnb.app.init")]
fn the_launcher_variables_are_the_images_and_the_init_is_required() {
    let f = Fixture::new();
    let img = app_image(&["/cnb/process/web"], Some("/workspace"), APP_ENV);
    for key in ["CNB_PLATFORM_API", "CNB_LAYERS_DIR", "CNB_APP_DIR"] {
        let base = RunOptions {
            env: vec![(key.into(), "x".into())],
            ..rootless()
        };
        let err = app_options(&img, &f.rootfs(), base).unwrap_err();
        assert_eq!(err.field(), Some("env"), "{key}: {err}");
    }
    // A CNB_ variable the image does not set is the user's to choose (the launcher reads it).
    let base = RunOptions {
        env: vec![("CNB_EXEC_ENV".into(), "development".into())],
        ..rootless()
    };
    app_options(&img, &f.rootfs(), base).unwrap();
    for env in [
        &["CNB_APP_DIR=/workspace"][..],
        &["CNB_APP_DIR=/workspace", "CNB_PLATFORM_API= "],
    ] {
        let img = app_image(&["/cnb/process/web"], Some("/workspace"), env);
        let err = app_options(&img, &f.rootfs(), rootless()).unwrap_err();
        assert!(err.to_string().contains("CNB_PLATFORM_API"), "{err}");
    }
    let no_init = RunOptions {
        init: None,
        ..rootless()
    };
    let err = app_options(&img, &f.rootfs(), no_init).unwrap_err();
    assert_eq!(err.field(), Some("init"), "{err}");
}

#[test]
#[verifies("cnb.build.exit-codes", "cnb.app.exit-codes")]
fn exit_codes_are_explained_only_where_the_specification_assigns_them() {
    assert_eq!(launcher_exit_meaning(0), None);
    for code in [1, 2, 7, 10, 13, 79, 90, 137, 143, 255] {
        assert_eq!(launcher_exit_meaning(code), None, "{code} is the app's");
    }
    for code in [11, 12, 80, 82, 89] {
        assert!(launcher_exit_meaning(code).is_some(), "{code}");
    }
    assert!(launcher_exit_meaning(12).unwrap().contains("Buildpack API"));
    assert!(launcher_exit_meaning(82).unwrap().contains("launch"));
    assert_eq!(lifecycle_exit_meaning(0), None);
    for (code, word) in [
        (1, "generic"),
        (3, "arguments"),
        (11, "Platform API"),
        (12, "Buildpack API"),
        (19, "generic"),
        (20, "no buildpack detected"),
        (21, "errored"),
        (32, "analysis"),
        (42, "restoration"),
        (51, "/bin/build"),
        (52, "build"),
        (62, "export"),
        (92, "extension"),
        (102, "extension"),
    ] {
        assert!(
            lifecycle_exit_meaning(code).is_some_and(|m| m.contains(word)),
            "{code}: {:?}",
            lifecycle_exit_meaning(code)
        );
    }
    for code in [70, 82, 110, 137] {
        assert_eq!(lifecycle_exit_meaning(code), None, "{code}");
    }
}

#[test]
#[verifies("cnb.build.directories", "cnb.build.platform-env")]
fn the_layout_directory_can_be_mounted_where_locald_mounts_it() {
    let f = Fixture::new();
    let build = f.build().with_layout_dir("/layout");
    let opts = build_options(&builder(), &f.rootfs(), &build, rootless()).unwrap();
    assert_eq!(env_of(&opts, "CNB_LAYOUT_DIR").as_deref(), Some("/layout"));
    let layout = opts
        .binds
        .iter()
        .find(|b| b.source == f.host("layout"))
        .unwrap();
    assert_eq!(layout.destination, "/layout");
    // The default stays pack's.
    assert_eq!(f.build().layout_dir, LAYOUT_DIR);
    for bad in [
        "layout",
        "/",
        "/layout/",
        "/a//b",
        "/a/../b",
        "/./layout",
        "/workspace",
        "/layers/out",
        "/cache",
    ] {
        let err = build_options(
            &builder(),
            &f.rootfs(),
            &f.build().with_layout_dir(bad),
            rootless(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOption {
                    field: "layout_dir",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    // Without a layout directory its target is never used, so never checked.
    let mut no_layout = f.build().with_layout_dir("relative");
    no_layout.layout = None;
    build_options(&builder(), &f.rootfs(), &no_layout, rootless()).unwrap();
}

#[test]
#[verifies("cnb.app.entrypoint")]
fn the_app_command_runs_through_the_launcher() {
    let f = Fixture::new();
    let img = app_image(&["/cnb/process/web"], Some("/workspace"), APP_ENV);
    // The default is the image's process, as app_options has it.
    assert_eq!(
        app_options_with(&img, &f.rootfs(), &AppCommand::Image, rootless()).unwrap(),
        app_options(&img, &f.rootfs(), rootless()).unwrap()
    );
    let shell = AppCommand::Shell("exec node server.js --port $PORT".into());
    let opts = app_options_with(&img, &f.rootfs(), &shell, rootless()).unwrap();
    assert_eq!(opts.entrypoint.as_deref().unwrap(), [LAUNCHER]);
    assert_eq!(
        opts.args.as_deref().unwrap(),
        ["exec node server.js --port $PORT"]
    );
    let exec = AppCommand::Exec(vec!["node".into(), "server.js".into()]);
    let opts = app_options_with(&img, &f.rootfs(), &exec, rootless()).unwrap();
    assert_eq!(opts.entrypoint.as_deref().unwrap(), [LAUNCHER]);
    assert_eq!(opts.args.as_deref().unwrap(), ["--", "node", "server.js"]);
    // Everything else is app_options': the mapping onto the app's user, the checks.
    let m = opts.id_mapping.unwrap();
    assert_eq!((m.container_uid, m.container_gid), (1002, 1000));
    let not_app = app_image(&["/bin/sh"], Some("/workspace"), APP_ENV);
    app_options_with(&not_app, &f.rootfs(), &shell, rootless()).unwrap_err();

    // A command given twice, or an empty one, is refused naming the field.
    for (base, field) in [
        (
            RunOptions {
                args: Some(vec!["x".into()]),
                ..rootless()
            },
            "args",
        ),
        (
            RunOptions {
                entrypoint: Some(vec!["/bin/sh".into()]),
                ..rootless()
            },
            "entrypoint",
        ),
    ] {
        let err = app_options_with(&img, &f.rootfs(), &shell, base).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { field: f, .. } if f == field),
            "{err}"
        );
    }
    for empty in [AppCommand::Shell(" ".into()), AppCommand::Exec(vec![])] {
        let err = app_options_with(&img, &f.rootfs(), &empty, rootless()).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
