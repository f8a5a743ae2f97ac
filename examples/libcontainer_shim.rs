//! locald's flow with youki's libcontainer, in one program shaped like locald's setuid shim:
//!
//! ```text
//! libcontainer_shim prepare ROOTFS BUNDLE [--mapped] [--cgroups-path P] -- CMD...
//!     as the unprivileged user (locald itself): the bundle, mounting nothing; with --mapped,
//!     config.json maps the calling user to the container's root (IdMapping::new)
//! libcontainer_shim run BUNDLE
//!     as root (the setuid shim): the layer mounted in a mount namespace of its own, the
//!     container created and started by libcontainer, SIGTERM, SIGINT, SIGQUIT and SIGHUP
//!     forwarded to its init, its exit status returned, the bundle left for its owner
//! libcontainer_shim stop BUNDLE AFTER_MS GRACE_MS
//!     as root: run it, and AFTER_MS later stop it as locald stops a service (`Running::stop`:
//!     the bundle's stop signal, SIGKILL GRACE_MS later); prints `code N killed BOOL`
//! ```
//!
//! The init comes from `LOCALD_INIT` (a static `locald-init`). Build with
//! `cargo build -p locald-engine --features libcontainer --example libcontainer_shim`.

use std::path::PathBuf;
use std::process::ExitCode;

use locald_engine::oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
use locald_engine::runtime::libcontainer::{DEFAULT_STATE_ROOT, Libcontainer};
use locald_engine::{Bundle, IdMapping, RunOptions, prepare};
use nix::sys::signal::{SigSet, Signal};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn usage() -> Box<dyn std::error::Error> {
    "usage: libcontainer_shim prepare ROOTFS BUNDLE [--mapped] [--cgroups-path P] -- CMD... | \
     libcontainer_shim run BUNDLE | libcontainer_shim stop BUNDLE AFTER_MS GRACE_MS"
        .into()
}

/// locald's side: an image (here a bare rootfs and a command) to a bundle, unprivileged.
fn prepare_bundle(args: &[String]) -> Res<()> {
    let [rootfs, bundle, rest @ ..] = args else {
        return Err(usage());
    };
    let split = rest.iter().position(|a| a == "--").ok_or_else(usage)?;
    let (flags, cmd) = (&rest[..split], &rest[split + 1..]);
    let mut opts = RunOptions {
        init: std::env::var_os("LOCALD_INIT").map(PathBuf::from),
        ..RunOptions::default()
    }
    .with_args(cmd.iter().cloned());
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match flag.as_str() {
            "--mapped" => {
                let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
                opts.id_mapping = Some(IdMapping::new(uid.as_raw(), gid.as_raw()));
            }
            "--cgroups-path" => opts = opts.with_cgroups_path(flags.next().ok_or_else(usage)?),
            _ => return Err(usage()),
        }
    }
    let image = ImageConfigurationBuilder::default()
        .config(ConfigBuilder::default().build()?)
        .build()?;
    let id = std::path::Path::new(bundle)
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(usage)?
        .to_owned();
    prepare(&image, rootfs.as_ref(), &opts, bundle.as_ref(), &id)?;
    Ok(())
}

/// The shim's side: run the bundle through libcontainer, forwarding the usual signals.
fn run_bundle(bundle: &str) -> Res<u8> {
    let bundle = Bundle::open(bundle.as_ref())?;
    // Blocked before any thread starts, so that only the forwarding thread takes them.
    let forwarded = [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
    ];
    let mut set = SigSet::empty();
    for s in forwarded {
        set.add(s);
    }
    set.thread_block()?;
    let running = Libcontainer::new(DEFAULT_STATE_ROOT).spawn(&bundle)?;
    let pid = nix::unistd::Pid::from_raw(running.pid());
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            let _ = nix::sys::signal::kill(pid, sig);
        }
    });
    let code = running.wait()?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// The shim stopping the container it runs: the stop policy every runtime shares
/// (`StopPolicy`), through libcontainer's `Running::stop`.
fn stop_bundle(bundle: &str, after_ms: &str, grace_ms: &str) -> Res<u8> {
    let ms = |s: &str| s.parse().map(std::time::Duration::from_millis);
    let (after, grace) = (ms(after_ms)?, ms(grace_ms)?);
    let bundle = Bundle::open(bundle.as_ref())?;
    let running = Libcontainer::new(DEFAULT_STATE_ROOT).spawn(&bundle)?;
    std::thread::sleep(after);
    let stopped = running.stop(grace)?;
    println!("code {} killed {}", stopped.code, stopped.killed);
    Ok(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((cmd, rest)) if cmd == "prepare" => prepare_bundle(rest).map(|()| 0),
        Some((cmd, [bundle])) if cmd == "run" => run_bundle(bundle),
        Some((cmd, [bundle, after, grace])) if cmd == "stop" => stop_bundle(bundle, after, grace),
        _ => Err(usage()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("libcontainer_shim: {e}");
            ExitCode::from(125)
        }
    }
}
