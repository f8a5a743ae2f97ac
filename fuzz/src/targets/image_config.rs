//! The image configuration file (`limits::read_image_config`, which reads a path: the input is
//! written to a file first) and the plan built from it: a refusal names the file, an accepted
//! configuration plans or is refused naming a field, never a panic.

use std::sync::OnceLock;

use locald_engine::host_files::HostFiles;
use locald_engine::identity::IdentityFiles;
use locald_engine::limits::read_image_config;
use locald_engine::{Plan, PlanInput, RunOptions};

/// The fuzzer's own directory for the one file it rewrites: on a tmpfs (`/dev/shm`) where
/// there is one, since rewriting a file on a disk filesystem millions of times is mostly the
/// kernel's writeback (on ext4, 1,250 executions a second, most of them in the block layer).
///
/// A static is never dropped, and libFuzzer ends the process with `exit`: the directory is
/// removed by an `atexit` handler instead, so no run leaves it behind.
fn dir() -> &'static tempfile::TempDir {
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("locald-fuzz-image-config")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        // SAFETY: registers a plain function; it runs once, at exit.
        unsafe { libc::atexit(remove_dir) };
        dir
    })
}

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

extern "C" fn remove_dir() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir.path());
    }
}

/// The `image_config` fuzz target: panics on a defect.
pub fn image_config(data: &[u8]) {
    // serde of the type itself, as a library caller would use it.
    let _ = serde_json::from_slice::<oci_spec::image::ImageConfiguration>(data);
    let path = dir().path().join("config.json");
    std::fs::write(&path, data).unwrap();
    let image = match read_image_config(&path) {
        Ok(i) => i,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
            return;
        }
    };
    let options = RunOptions {
        args: Some(vec!["sh".into()]),
        ..RunOptions::default()
    };
    for opts in [&options, &RunOptions::default()] {
        let res = Plan::build(&PlanInput {
            image: &image,
            identity_files: &IdentityFiles::default(),
            host_files: &HostFiles::default(),
            options: opts,
            rootfs: "/images/fuzz".as_ref(),
            state_dir: "/state/bundles/fuzz".as_ref(),
            id: "fuzz",
        });
        match res {
            Ok(plan) => {
                let _ = locald_engine::limits::check(&plan);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
