//! End-to-end tests of the Cloud Native Buildpacks profile (`book/src/cnb.md`): CNB-shaped
//! images built from the testkit's busybox rootfs, prepared with `cnb::build_options` and
//! `cnb::app_options`, run under real runc as root and rootless (as the unprivileged user
//! `locald-test`, whose ids the engine maps onto the image's user).
//!
//! The build image's user is `cnb` (1000:1000), and its `/cnb/lifecycle/creator` is a shell
//! stand-in that checks what the real lifecycle relies on (its ids, `CNB_*`, the mounted
//! directories) and writes where the real one writes. The app image's user is 1002:1000 (a
//! different uid, as platform.md asks of run images), its entrypoint `/cnb/process/web` links
//! to a stand-in launcher that checks `CNB_PLATFORM_API` and the buildpack API, finds the
//! process type in `$0`, and execs the app with the launcher's exit codes (11, 12, 82) when it
//! cannot. Assertions are on what the workload printed and on the files it left on the host.
//!
//! The engine's `prepare` runs in the test process; the container is started by runc as the
//! user of the mode, with the same arguments `Runtime::spawn` uses, so that its output can be
//! captured.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use locald_engine::{Bundle, IdMapping, MappedUser, RunOptions, cnb, prepare};
use locald_spec_macros::{variants, verifies, verifies_in};
use locald_testkit::{
    Rootfs, Users, image_config, require_root, require_runc, static_init, test_user,
};
use oci_spec::image::ImageConfiguration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As root: no user namespace; the image's uids are the host's.
    Root,
    /// As an unprivileged user: the single mapping, and the workload in a nested namespace.
    Rootless,
}

/// The host uid and gid that run runc in `mode` (rootless: the test user, or the caller when
/// it is not root).
fn runner_ids(mode: Mode) -> (u32, u32) {
    match mode {
        Mode::Root => {
            require_root();
            (0, 0)
        }
        Mode::Rootless if nix::unistd::geteuid().is_root() => {
            let u = test_user();
            (u.uid, u.gid)
        }
        Mode::Rootless => (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        ),
    }
}

/// `chown -R` (symlinks themselves, not their targets), when running as root.
fn chown_tree(path: &Path, (uid, gid): (u32, u32)) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    for entry in walk(path) {
        std::os::unix::fs::lchown(&entry, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", entry.display()));
    }
}

fn walk(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_owned()];
    if fs::symlink_metadata(path).unwrap().is_dir() {
        for e in fs::read_dir(path).unwrap() {
            out.extend(walk(&e.unwrap().path()));
        }
    }
    out
}

fn write(path: &Path, contents: &str, mode: u32) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mkdirs(root: &Path, dirs: &[&str]) {
    for d in dirs {
        let p = root.join(d);
        fs::create_dir_all(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The static init as the runner of `mode` can execute it: beside the rootfs for the test
/// user, who may not be able to traverse the build directory.
fn init_for(mode: Mode, rootfs: &Rootfs) -> PathBuf {
    let init = static_init();
    if !(mode == Mode::Rootless && nix::unistd::geteuid().is_root()) {
        return init;
    }
    let dest = rootfs.base().join("locald-init");
    if !dest.exists() && fs::hard_link(&init, &dest).is_err() {
        fs::copy(&init, &dest).expect("copy the init");
    }
    dest
}

/// locald's options for `mode`: the init, and rootless the single mapping of the runner.
fn base_options(mode: Mode, rootfs: &Rootfs) -> RunOptions {
    let (uid, gid) = runner_ids(mode);
    RunOptions {
        init: Some(init_for(mode, rootfs)),
        id_mapping: (mode == Mode::Rootless).then(|| IdMapping::new(uid, gid)),
        ..RunOptions::default()
    }
}

/// The testkit's busybox rootfs whose users are root and `cnb` (`uid`:1000, home /home/cnb),
/// group `cnb` 1000: the shape of a builder (uid 1000) and of a run image (uid 1002).
fn rootfs_with_cnb_user(uid: u32, gecos: &str) -> Rootfs {
    let rootfs = Rootfs::build(Users::RootOnly);
    write(
        &rootfs.path().join("etc/passwd"),
        &format!("root:x:0:0:root:/root:/bin/sh\ncnb:x:{uid}:1000:{gecos}:/home/cnb:/bin/sh\n"),
        0o644,
    );
    write(
        &rootfs.path().join("etc/group"),
        "root:x:0:\ncnb:x:1000:\n",
        0o644,
    );
    rootfs
}

#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run a prepared bundle the way locald's setuid shim does: as root, the layer mounted in a
/// mount namespace of its own, the runtime creating the user namespace from `config.json`
/// (`locald-engine start`); the bundle first given to the runner of `mode`, who prepared it in
/// locald. Delete it afterwards, and return what the container printed.
fn run(mode: Mode, rootfs: &Rootfs, bundle: &Bundle) -> Output {
    require_runc();
    locald_testkit::require_root();
    chown_tree(&bundle.state_dir, runner_ids(mode));
    let out = Command::new(env!("CARGO_BIN_EXE_locald-engine"))
        .arg("start")
        .arg("--bundle")
        .arg(&bundle.state_dir)
        .arg("--state-root")
        .arg(rootfs.base().join("engine-state"))
        .stdin(Stdio::null())
        .output()
        .expect("spawn locald-engine start");
    bundle.remove().expect("remove the bundle");
    out.into()
}

/// The container id for `name`: `NAME-PID-N`, unique in this run. Every variant here is run by
/// root's runc, whose cgroup for a bundle without a cgroups path is `/ID` in each hierarchy
/// whatever the state root: two tests running at once with the id `app` shared one devices
/// cgroup, and runc failed with "resulting devices cgroup doesn't precisely match target".
/// nextest runs each test in a process of its own, `cargo test` in threads of one.
fn container_id(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}

/// Prepare `image` with `opts` as the container `id` in a fresh state directory beside the
/// rootfs.
fn prepare_in(rootfs: &Rootfs, image: &ImageConfiguration, opts: &RunOptions, id: &str) -> Bundle {
    prepare(
        image,
        rootfs.path(),
        opts,
        &rootfs.base().join(format!("state-{id}")),
        id,
    )
    .unwrap_or_else(|e| panic!("prepare {id}: {e}"))
}

mod build {
    use super::*;

    /// Stand-in for `/cnb/lifecycle/creator`: what the real one needs, checked from inside
    /// (each failure with its own status), then a write into every directory it writes to.
    const CREATOR: &str = r#"#!/bin/sh
fail() { echo "creator: $2" >&2; exit "$1"; }
[ -n "$CNB_PLATFORM_API" ] || fail 11 "CNB_PLATFORM_API is not set"
[ "$(id -u)" != 0 ] || fail 3 "refusing to run as root"
[ "$(id -u):$(id -g)" = "$CNB_USER_ID:$CNB_GROUP_ID" ] ||
  fail 4 "running as $(id -u):$(id -g), CNB_USER_ID:CNB_GROUP_ID is $CNB_USER_ID:$CNB_GROUP_ID"
echo "user $(id -un):$(id -gn) $(id -u):$(id -g) home=$HOME"
# No capability, and none a file could give beyond the default set: rootful the engine's eleven;
# in the nested namespace (rootless) the same without the CAP_SETFCAP the init needed for it.
caps=$(grep -E '^Cap(Eff|Bnd):' /proc/self/status | tr -s '\t ' '  ' | tr '\n' ' ')
[ "$caps" = "CapEff: 0000000000000000 CapBnd: 00000000800405fb " ] ||
  [ "$caps" = "CapEff: 0000000000000000 CapBnd: 00000000000405fb " ] || fail 13 "capabilities: $caps"
env | grep '^CNB_' | sort
echo "args $*"
echo "platform env $(cat "$CNB_PLATFORM_DIR/env/GREETING")"
touch "$CNB_PLATFORM_DIR/written" 2>/dev/null && fail 5 "the platform directory is writable"
touch "$HOME/.written" || fail 6 "HOME is not writable"
grep -q source "$CNB_APP_DIR/source.txt" || fail 7 "cannot read the application"
echo built > "$CNB_APP_DIR/built" || fail 7 "cannot write the application directory"
mkdir -p "$CNB_LAYERS_DIR/config" || fail 8 "cannot write the layers directory"
echo 'web = "/workspace/app.sh"' > "$CNB_LAYERS_DIR/config/metadata.toml" || fail 8 "layers"
echo cached > "$CNB_CACHE_DIR/cached" || fail 9 "cannot write the cache"
out="$CNB_LAYOUT_DIR/example.test/app/latest"
mkdir -p "$out" && echo '{}' > "$out/index.json" || fail 10 "cannot write the layout directory"
stat -c '%n %u:%g' "$CNB_APP_DIR/built" "$CNB_LAYERS_DIR/config/metadata.toml" \
  "$CNB_CACHE_DIR/cached" "$out/index.json"
"#;

    /// The platform's host directories.
    struct HostDirs {
        workspace: PathBuf,
        layers: PathBuf,
        platform: PathBuf,
        cache: PathBuf,
        layout: PathBuf,
    }

    /// A builder-shaped image: user cnb (1000:1000) with a home, the mount targets of the
    /// profile, the stand-in creator; and the platform's directories beside it. Ownership as
    /// locald would leave it: rootful, the image's home and the read-write directories are
    /// the build user's (pack's EnsureVolumeAccess); rootless, everything belongs to the host
    /// user, which extracted the image and created the directories.
    fn builder(mode: Mode) -> (Rootfs, ImageConfiguration, HostDirs) {
        let rootfs = rootfs_with_cnb_user(1000, "CNB");
        let root = rootfs.path();
        mkdirs(
            root,
            &[
                "workspace",
                "layers",
                "platform",
                "cache",
                "layout-repo",
                "cnb/buildpacks",
                "home/cnb",
            ],
        );
        write(&root.join("cnb/lifecycle/creator"), CREATOR, 0o755);
        let host = rootfs.base().join("host");
        let dirs = HostDirs {
            workspace: host.join("workspace"),
            layers: host.join("layers"),
            platform: host.join("platform"),
            cache: host.join("cache"),
            layout: host.join("layout"),
        };
        mkdirs(
            &host,
            &["workspace", "layers", "cache", "layout", "platform"],
        );
        write(&dirs.workspace.join("source.txt"), "source\n", 0o644);
        write(
            &dirs.platform.join("env/GREETING"),
            "hello from the platform",
            0o644,
        );
        match mode {
            Mode::Root => {
                chown_tree(&root.join("home/cnb"), (1000, 1000));
                for d in [&dirs.workspace, &dirs.layers, &dirs.cache, &dirs.layout] {
                    chown_tree(d, (1000, 1000));
                }
            }
            Mode::Rootless => {
                let ids = runner_ids(mode);
                chown_tree(root, ids);
                chown_tree(&host, ids);
            }
        }
        let image = image_config(serde_json::json!({
            "User": "cnb",
            "Env": ["PATH=/usr/bin:/bin", "CNB_USER_ID=1000", "CNB_GROUP_ID=1000"],
        }));
        (rootfs, image, dirs)
    }

    fn creator(dirs: &HostDirs) -> cnb::Build {
        cnb::Build::new(
            "0.15",
            cnb::Phase::Creator,
            &dirs.workspace,
            &dirs.layers,
            &dirs.platform,
        )
        .with_cache(&dirs.cache)
        .with_layout(&dirs.layout)
        .with_args(["-layout", "example.test/app"])
    }

    /// The run options of the `creator` phase in `dirs`, for the builder `image` in `rootfs`.
    fn creator_options(
        mode: Mode,
        rootfs: &Rootfs,
        image: &ImageConfiguration,
        dirs: &HostDirs,
    ) -> RunOptions {
        cnb::build_options(
            image,
            rootfs.path(),
            &creator(dirs),
            base_options(mode, rootfs),
        )
        .unwrap()
    }

    #[verifies(
        "cnb.build.user",
        "cnb.build.user-ids",
        "cnb.build.directories",
        "cnb.build.platform-env",
        "cnb.build.phase",
        "identity.passwd.current-user",
        "identity.group.current-group"
    )]
    #[verifies_in(rootless, "isolation.namespaces.user-nested")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn lifecycle_runs_as_the_build_user(mode: Mode) {
        let (rootfs, image, dirs) = builder(mode);
        let opts = creator_options(mode, &rootfs, &image, &dirs);
        let out = run(
            mode,
            &rootfs,
            &prepare_in(&rootfs, &image, &opts, &container_id("build")),
        );
        assert_eq!(out.code, 0, "{out:#?}");
        assert_eq!(
            out.stdout,
            "user cnb:cnb 1000:1000 home=/home/cnb\n\
             CNB_APP_DIR=/workspace\n\
             CNB_CACHE_DIR=/cache\n\
             CNB_EXPERIMENTAL_MODE=warn\n\
             CNB_GROUP_ID=1000\n\
             CNB_LAYERS_DIR=/layers\n\
             CNB_LAYOUT_DIR=/layout-repo\n\
             CNB_PLATFORM_API=0.15\n\
             CNB_PLATFORM_DIR=/platform\n\
             CNB_USER_ID=1000\n\
             CNB_USE_LAYOUT=true\n\
             args -layout example.test/app\n\
             platform env hello from the platform\n\
             /workspace/built 1000:1000\n\
             /layers/config/metadata.toml 1000:1000\n\
             /cache/cached 1000:1000\n\
             /layout-repo/example.test/app/latest/index.json 1000:1000\n",
            "{out:#?}"
        );
        // On the host, the files belong to the build user (rootful) or to the host user that
        // the build user is (rootless).
        let owner = match mode {
            Mode::Root => (1000, 1000),
            Mode::Rootless => runner_ids(mode),
        };
        for file in [
            dirs.workspace.join("built"),
            dirs.layers.join("config/metadata.toml"),
            dirs.cache.join("cached"),
            dirs.layout.join("example.test/app/latest/index.json"),
        ] {
            let meta = fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!((meta.uid(), meta.gid()), owner, "{}", file.display());
        }
        assert!(!dirs.platform.join("written").exists());
    }

    #[verifies("cnb.build.exit-codes")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn lifecycle_exit_status_passes_through(mode: Mode) {
        let (rootfs, image, dirs) = builder(mode);
        // A failure inside the lifecycle: the cache turns read-only after the profile checked
        // it (as one filled by another user would), and the stand-in exits 9, in the range of
        // the generic lifecycle errors.
        let opts = creator_options(mode, &rootfs, &image, &dirs);
        fs::set_permissions(&dirs.cache, fs::Permissions::from_mode(0o555)).unwrap();
        let out = run(
            mode,
            &rootfs,
            &prepare_in(&rootfs, &image, &opts, &container_id("cache")),
        );
        assert_eq!(out.code, 9, "{out:#?}");
        assert!(out.stderr.contains("cannot write the cache"), "{out:#?}");
        assert_eq!(
            cnb::lifecycle_exit_meaning(out.code),
            Some("generic lifecycle error")
        );
    }

    /// Builders made by `pack builder create` have no `/cache` nor `/layout-repo`: the engine
    /// provides the two mount targets without writing into the image.
    #[verifies("cnb.build.directories", "filesystems.layer.targets")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn a_pack_builder_without_cache_and_layout_targets_runs(mode: Mode) {
        let (rootfs, image, dirs) = builder(mode);
        for d in ["cache", "layout-repo"] {
            fs::remove_dir(rootfs.path().join(d)).unwrap();
        }
        let opts = creator_options(mode, &rootfs, &image, &dirs);
        let out = run(
            mode,
            &rootfs,
            &prepare_in(&rootfs, &image, &opts, &container_id("build")),
        );
        assert_eq!(out.code, 0, "{out:#?}");
        for want in [
            "/cache/cached 1000:1000",
            "/layout-repo/example.test/app/latest/index.json 1000:1000",
        ] {
            assert!(out.stdout.lines().any(|l| l == want), "{want}: {out:#?}");
        }
        assert!(
            dirs.layout
                .join("example.test/app/latest/index.json")
                .exists()
        );
        // The targets were provided in the state directory, not created in the image (whose
        // rootfs is writable here: the stand-in lifecycle writes into $HOME, as a real one may).
        for d in ["cache", "layout-repo"] {
            assert!(!rootfs.path().join(d).exists(), "/{d} created in the image");
        }
    }
}

mod app {
    use super::*;

    /// Stand-in for `/cnb/lifecycle/launcher` (lifecycle `cmd/launcher`): exits 11 for a
    /// Platform API it does not support, 12 for a buildpack API it does not support, 82 when
    /// `$0` names no process type of the layers metadata; otherwise drops its own variables,
    /// changes to the app directory and execs the process. Run as itself (`$0` the launcher),
    /// its arguments are a user-provided process: after `--` a command run directly, else a
    /// shell command (the real launcher's is bash, after sourcing `profile.d`; busybox's sh here).
    const LAUNCHER: &str = r#"#!/bin/sh
echo "launcher pid=$$ $(id -u):$(id -g) $(id -un) cwd=$(pwd)"
env | grep '^CNB_' | sort | sed 's/^/launcher /'
case "$CNB_PLATFORM_API" in
  0.1[0-5]|0.[3-9]) ;;
  *) echo "ERROR: platform API version '$CNB_PLATFORM_API' is incompatible" >&2; exit 11 ;;
esac
md="${CNB_LAYERS_DIR:-/layers}/config/metadata.toml"
grep -Eq '^api = "0\.(9|1[0-9])"$' "$md" || { echo "ERROR: buildpack API" >&2; exit 12; }
type=${0##*/}
if [ "$type" = launcher ]; then
  cd "${CNB_APP_DIR:-/workspace}" || exit 82
  unset CNB_APP_DIR CNB_LAYERS_DIR CNB_PROCESS_TYPE
  if [ "$1" = -- ]; then shift; exec "$@"; fi
  exec sh -c "$1"
fi
cmd=$(sed -n "s|^$type = \"\(.*\)\"\$|\1|p" "$md")
[ -n "$cmd" ] || { echo "ERROR: failed to launch: no process type $type" >&2; exit 82; }
cd "${CNB_APP_DIR:-/workspace}" || exit 82
unset CNB_APP_DIR CNB_LAYERS_DIR CNB_PROCESS_TYPE
exec "$cmd" "$@"
"#;

    const APP: &str = r#"#!/bin/sh
echo "app pid=$$ $(id -u):$(id -g) $(id -un) cwd=$(pwd) home=$HOME"
echo "app pid1 $(tr '\0' ' ' < /proc/1/cmdline)"
echo "app workspace owner $(stat -c %u:%g /workspace)"
env | grep -E '^(CNB_|PORT=)' | sort | sed 's/^/app /'
echo "app args $*"
exit "${EXIT_CODE:-0}"
"#;

    /// An app-image-shaped rootfs: the run image's user 1002:1000, the launcher and its
    /// process-type links, the layers metadata (and an old one with an unsupported buildpack
    /// API at /layers-old), and the app. Rootless, the host user owns it all, as after locald
    /// extracted it.
    fn app_rootfs(mode: Mode) -> Rootfs {
        let rootfs = rootfs_with_cnb_user(1002, "CNB run");
        let root = rootfs.path();
        mkdirs(root, &["workspace", "home/cnb", "cnb/process"]);
        write(&root.join("cnb/lifecycle/launcher"), LAUNCHER, 0o755);
        for t in ["web", "worker"] {
            symlink("../lifecycle/launcher", root.join("cnb/process").join(t)).unwrap();
        }
        let md = "web = \"/workspace/app.sh\"\n";
        write(
            &root.join("layers/config/metadata.toml"),
            &format!("api = \"0.10\"\n{md}"),
            0o644,
        );
        write(
            &root.join("layers-old/config/metadata.toml"),
            &format!("api = \"0.1\"\n{md}"),
            0o644,
        );
        write(&root.join("workspace/app.sh"), APP, 0o755);
        if mode == Mode::Rootless {
            chown_tree(root, runner_ids(mode));
        }
        rootfs
    }

    /// The exporter's shape of an app image config, with `env` replacing entries by key.
    fn app_image(entrypoint: &str, env: &[(&str, &str)]) -> ImageConfiguration {
        let mut vars = [
            ("PATH", "/cnb/process:/cnb/lifecycle:/usr/bin:/bin"),
            ("CNB_LAYERS_DIR", "/layers"),
            ("CNB_APP_DIR", "/workspace"),
            ("CNB_PLATFORM_API", "0.15"),
            ("CNB_DEPRECATION_MODE", "quiet"),
        ];
        for (k, v) in env {
            vars.iter_mut().find(|(key, _)| key == k).unwrap().1 = v;
        }
        let env: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        image_config(serde_json::json!({
            "Entrypoint": [entrypoint],
            "WorkingDir": "/workspace",
            "User": "1002:1000",
            "Env": env,
        }))
    }

    fn run_app(
        mode: Mode,
        rootfs: &Rootfs,
        image: &ImageConfiguration,
        base: RunOptions,
    ) -> Output {
        let opts = cnb::app_options(image, rootfs.path(), base).unwrap();
        // `run` deletes the container and its state directory, so the id can be reused.
        run(
            mode,
            rootfs,
            &prepare_in(rootfs, image, &opts, &container_id("app")),
        )
    }

    #[verifies(
        "cnb.app.entrypoint",
        "cnb.app.working-dir",
        "cnb.app.user",
        "cnb.app.env",
        "cnb.app.init",
        "identity.passwd.current-user"
    )]
    #[verifies_in(rootless, "isolation.namespaces.user-nested")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn launcher_execs_the_app(mode: Mode) {
        let rootfs = app_rootfs(mode);
        let base = RunOptions {
            env: vec![("PORT".into(), "8080".into())],
            args: Some(vec!["--port".into(), "8080".into()]),
            ..base_options(mode, &rootfs)
        };
        let out = run_app(mode, &rootfs, &app_image("/cnb/process/web", &[]), base);
        assert_eq!(out.code, 0, "{out:#?}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        let pid = |line: &str, prefix: &str| -> u32 {
            line.strip_prefix(prefix)
                .and_then(|r| r.split(' ').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no pid in {line:?}: {out:#?}"))
        };
        let (launcher, app) = (pid(lines[0], "launcher pid="), pid(lines[5], "app pid="));
        assert_eq!(launcher, app, "the launcher execs the app: {out:#?}");
        assert_ne!(app, 1, "an init is PID 1: {out:#?}");
        let pid1 = match mode {
            Mode::Root => {
                "app pid1 /dev/init --parent-death 15 --lifeline 3 -- /cnb/process/web --port 8080 "
            }
            Mode::Rootless => {
                "app pid1 /dev/init --userns 1002:1000 --parent-death 15 --lifeline 3 -- /cnb/process/web --port 8080 "
            }
        };
        let workspace_owner = match mode {
            Mode::Root => "0:0",
            Mode::Rootless => "1002:1000",
        };
        let expected = [
            format!("launcher pid={launcher} 1002:1000 cnb cwd=/workspace"),
            "launcher CNB_APP_DIR=/workspace".into(),
            "launcher CNB_DEPRECATION_MODE=quiet".into(),
            "launcher CNB_LAYERS_DIR=/layers".into(),
            "launcher CNB_PLATFORM_API=0.15".into(),
            format!("app pid={app} 1002:1000 cnb cwd=/workspace home=/home/cnb"),
            pid1.into(),
            format!("app workspace owner {workspace_owner}"),
            "app CNB_DEPRECATION_MODE=quiet".into(),
            "app CNB_PLATFORM_API=0.15".into(),
            "app PORT=8080".into(),
            "app args --port 8080".into(),
        ];
        assert_eq!(lines, expected, "{out:#?}");
    }

    /// The caller's app command (`cnb::AppCommand`): a shell command and a direct one, both
    /// run by the launcher in the app directory as the app's user, with the launch environment.
    #[verifies("cnb.app.entrypoint", "cnb.app.user", "cnb.app.working-dir")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn the_app_command_runs_through_the_launcher(mode: Mode) {
        let rootfs = app_rootfs(mode);
        let image = app_image("/cnb/process/web", &[]);
        let base = RunOptions {
            env: vec![("PORT".into(), "8080".into())],
            ..base_options(mode, &rootfs)
        };
        let shell = cnb::AppCommand::Shell("echo \"shell $PORT $(id -un) $(pwd)\"; exit 3".into());
        let exec = cnb::AppCommand::Exec(vec!["/workspace/app.sh".into(), "a b".into()]);
        for (command, code, want) in [
            (shell, 3, "shell 8080 cnb /workspace"),
            (exec, 0, "app args a b"),
        ] {
            let opts =
                cnb::app_options_with(&image, rootfs.path(), &command, base.clone()).unwrap();
            let out = run(
                mode,
                &rootfs,
                &prepare_in(&rootfs, &image, &opts, &container_id("app")),
            );
            assert_eq!(out.code, code, "{out:#?}");
            assert!(out.stdout.lines().any(|l| l == want), "{want:?}: {out:#?}");
            assert!(
                out.stdout.starts_with("launcher pid="),
                "the launcher ran first: {out:#?}"
            );
        }
    }

    #[verifies("cnb.app.exit-codes", "signals.init.exit-status")]
    #[variants(root = Mode::Root, rootless = Mode::Rootless)]
    fn exit_codes_pass_through(mode: Mode) {
        let rootfs = app_rootfs(mode);
        let base = base_options(mode, &rootfs);
        let app_exits_7 = RunOptions {
            env: vec![("EXIT_CODE".into(), "7".into())],
            ..base.clone()
        };
        let web = app_image("/cnb/process/web", &[]);
        let cases = [
            (web.clone(), app_exits_7, 7, "app args"),
            (
                app_image("/cnb/process/web", &[("CNB_PLATFORM_API", "0.99")]),
                base.clone(),
                11,
                "'0.99' is incompatible",
            ),
            (
                app_image("/cnb/process/web", &[("CNB_LAYERS_DIR", "/layers-old")]),
                base.clone(),
                12,
                "buildpack API",
            ),
            (
                app_image("/cnb/process/worker", &[]),
                base.clone(),
                82,
                "no process type worker",
            ),
        ];
        for (image, opts, code, needle) in cases {
            let out = run_app(mode, &rootfs, &image, opts);
            assert_eq!(out.code, code, "{out:#?}");
            assert!(
                out.stdout.contains(needle) || out.stderr.contains(needle),
                "{needle:?}: {out:#?}"
            );
            assert_eq!(
                cnb::launcher_exit_meaning(code).is_some(),
                code != 7,
                "{code}"
            );
        }
    }

    /// locald's own script in the app image: who and where it runs, its PID 1, its control
    /// group (cgroup v1's `pids` hierarchy, or v2's single one) and its arguments.
    const LOCALD_APP: &str = r#"#!/bin/sh
echo "$(id -u):$(id -g) $(id -un) cwd=$(pwd)"
echo "pid1 $(tr '\0' ' ' < /proc/1/cmdline)"
echo "cgroup $(sed -n -e 's/^[0-9]*:pids://p' -e 's/^0:://p' /proc/self/cgroup | head -n 1)"
echo "args $*"
# Long enough for the test to see the container's cgroup from the host.
sleep 1
"#;

    /// The runtime a test runs a bundle with.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Via {
        /// `locald-engine start`: runc.
        Runc,
        /// The `libcontainer_shim` example: youki's libcontainer in-process, as locald's shim.
        Libcontainer,
    }

    /// Run `bundle` as locald's shim does with libcontainer (as root, whoever prepared it),
    /// then remove it.
    fn run_libcontainer(mode: Mode, bundle: &Bundle) -> Output {
        require_root();
        chown_tree(&bundle.state_dir, runner_ids(mode));
        let out = Command::new(crate::common::example("libcontainer_shim"))
            .arg("run")
            .arg(&bundle.state_dir)
            .stdin(Stdio::null())
            .output()
            .expect("spawn libcontainer_shim run");
        bundle.remove().expect("remove the bundle");
        out.into()
    }

    /// Remove the control group `name` (one level below the root) from every hierarchy, once
    /// the runtime has deleted the container's.
    fn remove_cgroup(name: &str) {
        let Ok(dirs) = fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        for d in dirs.flatten() {
            let _ = fs::remove_dir(d.path().join(name));
        }
        let _ = fs::remove_dir(Path::new("/sys/fs/cgroup").join(name));
    }

    /// The issue's bundle: a CNB-built app with its own cgroups path, an entrypoint and working
    /// directory of locald's, annotations and, rootless, the image's non-root user for the host
    /// user — from one `prepare`, with no edit of `config.json` afterwards — run by `via`.
    #[verifies("process.entrypoint", "process.working-dir", "isolation.cgroups-path")]
    #[verifies_in(under_runc_root, "stopping.init.default")]
    #[verifies_in(under_runc_rootless, "isolation.namespaces.user-nested")]
    #[verifies_in(under_libcontainer_root, "filesystems.layer.private")]
    #[verifies_in(
        under_libcontainer_rootless,
        "isolation.namespaces.user-nested",
        "filesystems.layer.private"
    )]
    #[variants(
        under_runc_root = (Mode::Root, Via::Runc),
        under_runc_rootless = (Mode::Rootless, Via::Runc),
        under_libcontainer_root = (Mode::Root, Via::Libcontainer),
        under_libcontainer_rootless = (Mode::Rootless, Via::Libcontainer)
    )]
    fn one_prepare_runs((mode, via): (Mode, Via)) {
        let rootfs = app_rootfs(mode);
        write(
            &rootfs.path().join("workspace/locald.sh"),
            LOCALD_APP,
            0o755,
        );
        if mode == Mode::Rootless {
            chown_tree(&rootfs.path().join("workspace"), runner_ids(mode));
        }
        // The container's id names its cgroup too.
        let id = container_id(&format!("locald-e2e-{via:?}-{mode:?}").to_lowercase());
        let opts = base_options(mode, &rootfs)
            .mapped_to(MappedUser::ProcessUser)
            .with_entrypoint(["/workspace/locald.sh"])
            .with_args(["--port", "9090"])
            .with_working_dir("/home/cnb")
            .with_cgroups_path(format!("/{id}"))
            .with_annotation("dev.locald.service", "web");
        let image = app_image("/cnb/process/web", &[]);
        let bundle = prepare_in(&rootfs, &image, &opts, &id);
        let config: oci_spec::runtime::Spec =
            serde_json::from_slice(&fs::read(&bundle.config_path).unwrap()).unwrap();
        assert_eq!(config, bundle.spec, "config.json is the prepared spec");
        let watch = crate::common::watch_cgroup(&id);
        let out = match via {
            Via::Runc => run(mode, &rootfs, &bundle),
            Via::Libcontainer => run_libcontainer(mode, &bundle),
        };
        let seen = watch.seen();
        remove_cgroup(&id);
        let pid1 = match mode {
            Mode::Root => {
                "pid1 /dev/init --parent-death 15 --lifeline 3 -- /workspace/locald.sh --port 9090 "
            }
            Mode::Rootless => {
                "pid1 /dev/init --userns 1002:1000 --parent-death 15 --lifeline 3 -- /workspace/locald.sh --port 9090 "
            }
        };
        let expected = [
            "1002:1000 cnb cwd=/home/cnb".to_string(),
            pid1.into(),
            // Its own cgroup namespace: the workload's cgroup is its root.
            "cgroup /".into(),
            "args --port 9090".into(),
        ];
        assert_eq!(out.stdout.lines().collect::<Vec<_>>(), expected, "{out:#?}");
        assert_eq!(out.code, 0, "{out:#?}");
        assert!(
            seen,
            "the container ran in the control group /{id} on the host"
        );
    }
}
