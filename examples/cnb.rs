//! A locald-style use of the Cloud Native Buildpacks profile: prepare the lifecycle container
//! of a build and the container of the app image it produced, rootless, and show what runc
//! would be given. Needs neither root nor runc; needs the static `locald-init` (`$LOCALD_INIT`,
//! else the one `ci/test` builds into `target/static`).
//!
//! ```text
//! cargo run -p locald-engine --example cnb
//! ```

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use locald_engine::{RunOptions, cnb, prepare};
use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};

/// The static init, which the app container needs (and rootless, the build container too).
fn init() -> Result<PathBuf, Box<dyn Error>> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/static/x86_64-unknown-linux-musl/init/locald-init");
    let path = std::env::var_os("LOCALD_INIT").map_or(built, PathBuf::from);
    if !path.is_file() {
        return Err(format!(
            "no static locald-init at {} (set LOCALD_INIT, or build it as ci/test does)",
            path.display()
        )
        .into());
    }
    Ok(fs::canonicalize(path)?)
}

/// An image root filesystem holding `passwd`, `group` and the directories given (the engine
/// never creates a mount target in an image).
fn rootfs(dir: &Path, passwd: &str, group: &str, dirs: &[&str]) -> std::io::Result<PathBuf> {
    let root = dir.join("rootfs");
    for d in ["proc", "dev", "sys", "etc", "tmp"].iter().chain(dirs) {
        fs::create_dir_all(root.join(d))?;
    }
    fs::write(root.join("etc/passwd"), passwd)?;
    fs::write(root.join("etc/group"), group)?;
    Ok(root)
}

fn main() -> Result<(), Box<dyn Error>> {
    let work = tempfile::tempdir()?;
    fs::create_dir(work.path().join("state"))?;
    // locald's options for every container: the init as PID 1, the caller's uid and gid as the
    // single rootless mapping, the host network.
    let base = RunOptions {
        init: Some(init()?),
        ..RunOptions::rootless_for_current_user()
    };

    // The build: a builder image whose user is cnb (1000:1000), and the platform's directories.
    let builder_dir = work.path().join("builder");
    let builder_root = rootfs(
        &builder_dir,
        "root:x:0:0:root:/root:/bin/sh\ncnb:x:1000:1000:CNB:/home/cnb:/bin/sh\n",
        "root:x:0:\ncnb:x:1000:\n",
        &["workspace", "layers", "platform", "layout-repo", "home/cnb"],
    )?;
    let builder = ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .user("cnb")
                .env(vec![
                    "PATH=/usr/bin:/bin".to_string(),
                    "CNB_USER_ID=1000".to_string(),
                    "CNB_GROUP_ID=1000".to_string(),
                ])
                .build()?,
        )
        .build()?;
    let app_src = work.path().join("app");
    for d in ["src", "layers", "platform/env", "layout"] {
        fs::create_dir_all(app_src.join(d))?;
    }
    fs::write(app_src.join("platform/env/BP_NODE_VERSION"), "22")?;
    let build = cnb::Build::new(
        "0.15",
        cnb::Phase::Creator,
        app_src.join("src"),
        app_src.join("layers"),
        app_src.join("platform"),
    )
    .with_layout(app_src.join("layout"))
    .with_args(["-layout", "localhost/app:latest"]);
    let opts = cnb::build_options(&builder, &builder_root, &build, base.clone())?;
    let bundle = prepare(
        &builder,
        &builder_root,
        &opts,
        &work.path().join("state/build"),
        "build",
    )?;
    println!(
        "== lifecycle container (build image user cnb, rootless)\n{}",
        bundle.plan
    );

    // The app: the image the exporter wrote, on a run image whose user is 1002:1000.
    let app_dir = work.path().join("app-image");
    let app_root = rootfs(
        &app_dir,
        "root:x:0:0:root:/root:/bin/sh\ncnb:x:1002:1000:CNB:/home/cnb:/bin/sh\n",
        "root:x:0:\ncnb:x:1000:\n",
        &["workspace", "layers", "cnb/process", "cnb/lifecycle"],
    )?;
    let app = ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .entrypoint(vec!["/cnb/process/web".to_string()])
                .working_dir("/workspace")
                .user("1002:1000")
                .env(vec![
                    "CNB_LAYERS_DIR=/layers".to_string(),
                    "CNB_APP_DIR=/workspace".to_string(),
                    "CNB_PLATFORM_API=0.15".to_string(),
                    "CNB_DEPRECATION_MODE=quiet".to_string(),
                    "PATH=/cnb/process:/cnb/lifecycle:/usr/bin:/bin".to_string(),
                ])
                .build()?,
        )
        .build()?;
    let run = RunOptions {
        env: vec![("PORT".into(), "8080".into())],
        ..base
    };
    let opts = cnb::app_options(&app, &app_root, run)?;
    let bundle = prepare(
        &app,
        &app_root,
        &opts,
        &work.path().join("state/web"),
        "web",
    )?;
    println!(
        "== app container (run image user 1002:1000, rootless)\n{}",
        bundle.plan
    );

    // What locald tells the developer when the container exits with a launcher's code.
    for code in [11, 82, 7] {
        let meaning = cnb::launcher_exit_meaning(code).unwrap_or("the app's own exit status");
        println!("exit {code}: {meaning}");
    }
    Ok(())
}
