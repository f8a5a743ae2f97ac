//! A locald-style use of the engine library: describe an image in code, prepare a bundle for
//! it, and show what runc would be given. Needs neither root nor runc.
//!
//! ```text
//! cargo run -p locald-engine --example prepare_bundle
//! ```

use std::error::Error;
use std::fs;

use locald_engine::{RunOptions, prepare};
use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};

fn main() -> Result<(), Box<dyn Error>> {
    // A busybox-style image: a shell entrypoint, no Env (so PATH gets the default), no User.
    let image = ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .entrypoint(vec!["/bin/sh".to_string(), "-c".to_string()])
                .cmd(vec!["echo hello from $HOSTNAME".to_string()])
                .env(vec!["GREETING=hello".to_string()])
                .working_dir("/")
                .build()?,
        )
        .build()?;

    // A tiny image rootfs; mount targets it lacked would be created in the container's layer.
    let work = tempfile::tempdir()?;
    let rootfs = work.path().join("rootfs");
    for dir in ["proc", "dev", "sys", "etc", "tmp"] {
        fs::create_dir_all(rootfs.join(dir))?;
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    fs::write(rootfs.join("etc/group"), "root:x:0:\n")?;

    // locald's shape: the caller's uid/gid mapped to root, host network, PORT passed in.
    let opts = RunOptions {
        env: vec![("PORT".into(), "8080".into())],
        ..RunOptions::rootless_for_current_user()
    };
    let state_dir = work.path().join("state").join("web-1");
    fs::create_dir_all(state_dir.parent().unwrap())?;
    let bundle = prepare(&image, &rootfs, &opts, &state_dir, "web-1")?;

    let config: serde_json::Value = serde_json::from_slice(&fs::read(&bundle.config_path)?)?;
    println!("bundle: {}", bundle.state_dir.display());
    println!(
        "process: {}",
        serde_json::to_string_pretty(&config["process"])?
    );
    println!(
        "mounts: {}",
        serde_json::to_string_pretty(&config["mounts"])?
    );
    println!("plan:\n{}", bundle.plan);
    bundle.remove()?;
    Ok(())
}
