//! Stopping: the init the engine runs as PID 1, the stop signal and the grace period.
//!
//! With [`RunOptions::init`] set (the CLI sets it by default), the host's static `locald-init`
//! is bind-mounted read-only onto [`INIT_TARGET`], inside the `/dev` tmpfs the engine mounts
//! (never into the image), and the process arguments become
//! `[INIT_TARGET, "--parent-death", SIG, "--lifeline", "3", "--", ARGS...]` (the nested user
//! namespace's `--userns UID:GID` first, when there is one).
//! A container is stopped with the image's `StopSignal` (default SIGTERM), then SIGKILL after
//! [`DEFAULT_STOP_TIMEOUT`] ([`crate::Running::stop`]).

use std::path::Path;
use std::time::Duration;

use locald_spec_macros::implements;
use oci_spec::image::ImageConfiguration;

use crate::duties::Context;
use crate::error::{Error, Result};
use crate::options::RunOptions;
use crate::plan::{Item, MountEntry, Plan};
use crate::requirement;

/// Where the init is mounted inside the container: in the engine's own `/dev` tmpfs, so runc
/// creates the mount point in memory and never in the image.
pub const INIT_TARGET: &str = "/dev/init";

/// The mount options of the init's bind mount.
#[implements("stopping.init.readonly")]
pub const INIT_MOUNT_OPTIONS: &[&str] = &["bind", "ro", "nosuid", "nodev"];

/// The grace period between the stop signal and SIGKILL, as `docker stop`'s.
#[implements("stopping.timeout")]
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// SIGTERM, the stop signal when the image sets none.
pub const SIGTERM: i32 = 15;

/// SIGKILL.
pub const SIGKILL: i32 = 9;

/// The kernel's `struct sigaction` as `rt_sigaction(2)` copies it (`include/linux/
/// signal_types.h`, as musl's `k_sigaction` and glibc's `kernel_sigaction` mirror it): the
/// handler first, then `unsigned long` flags, the restorer where the architecture has one
/// (x86, arm, arm64, powerpc) and a 64-signal set of `unsigned long`s; every field a word, so
/// no padding. The engine writes zeros after the handler and reads back only the handler, so an
/// architecture without the restorer (riscv, loongarch: the kernel reads the zeroed restorer as
/// the mask) or with these words in another order is served alike. MIPS (flags before the
/// handler, 128 signals), SPARC and Alpha (the restorer a system call argument) differ: the
/// engine refuses to build there rather than pass them this layout, and on a 32-bit big-endian
/// target, whose two-word signal set is not a `u64`.
#[cfg(all(target_os = "linux", feature = "runc"))]
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: usize,
    restorer: usize,
    mask: [usize; SIGSET_WORDS],
}

/// The words of the kernel's signal set (`_NSIG` 64).
#[cfg(all(target_os = "linux", feature = "runc"))]
const SIGSET_WORDS: usize = 8 / std::mem::size_of::<usize>();

#[cfg(all(
    target_os = "linux",
    feature = "runc",
    not(all(
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "riscv32",
            target_arch = "loongarch64",
            target_arch = "powerpc",
            target_arch = "powerpc64",
            target_arch = "s390x",
        ),
        // The set as one u64 (`set_signal_mask`): one word, or two in little-endian order.
        any(target_pointer_width = "64", target_endian = "little"),
    ))
))]
compile_error!(
    "stopping::KernelSigaction has the generic rt_sigaction(2) layout, which this architecture \
     does not use"
);

/// `rt_sigprocmask(SIG_SETMASK, mask)`, the previous mask into `old`: the system call itself,
/// which blocks the C library's reserved signals as well and takes no lock. Returns errno.
/// The runtime's child clears its mask with it just before its exec (`runtime::spawn`): the
/// engine blocks signals to read them from a signalfd, and a child inherits the mask.
///
/// # Safety
/// A plain system call on locals.
#[cfg(all(target_os = "linux", feature = "runc"))]
#[implements("stopping.runtime-signals")]
pub(crate) unsafe fn set_signal_mask(mask: u64, old: Option<&mut u64>) -> Result<(), i32> {
    let old = old.map_or(std::ptr::null_mut(), |o| o as *mut u64);
    // SAFETY: both pointers are valid for 8 bytes, or null.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_rt_sigprocmask,
            nix::libc::SIG_SETMASK,
            &raw const mask,
            old,
            8usize,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Set every signal's action to its default in the runtime's child (`runtime::spawn`), but
/// for those ignored: SIGPIPE too, which Rust's runtime ignores, as std's `Command` does for
/// the programs it starts. No handler of the engine may run in a child that shares its memory.
/// Returns errno.
///
/// `rt_sigaction(2)` directly, as musl's and glibc's posix_spawn children do: the C library's
/// `sigaction` takes a lock for SIGABRT (musl's abort lock) in memory the child shares, and
/// refuses the library's reserved signals, whose handlers would otherwise stay installed.
///
/// # Safety
/// Plain system calls on locals; for a child between clone and exec.
#[cfg(all(target_os = "linux", feature = "runc"))]
#[implements("stopping.runtime-signals")]
pub(crate) unsafe fn default_signal_actions() -> Result<(), i32> {
    const SIG_DFL: usize = 0;
    const SIG_IGN: usize = 1;
    for sig in 1..=64 {
        if sig == nix::libc::SIGKILL || sig == nix::libc::SIGSTOP {
            continue;
        }
        let mut now = KernelSigaction::with_handler(SIG_DFL);
        // SAFETY: a plain system call on locals.
        if unsafe { rt_sigaction(sig, None, Some(&mut now)) }.is_err()
            || now.handler == SIG_DFL
            || (now.handler == SIG_IGN && sig != nix::libc::SIGPIPE)
        {
            continue;
        }
        // SAFETY: a plain system call on locals.
        unsafe { rt_sigaction(sig, Some(&KernelSigaction::with_handler(SIG_DFL)), None) }?;
    }
    Ok(())
}

#[cfg(all(target_os = "linux", feature = "runc"))]
impl KernelSigaction {
    /// `handler` with no flags and an empty mask.
    fn with_handler(handler: usize) -> KernelSigaction {
        KernelSigaction {
            handler,
            flags: 0,
            restorer: 0,
            mask: [0; SIGSET_WORDS],
        }
    }
}

/// `rt_sigaction(2)` for `sig`: set `new` if given, read the action before into `old` if given.
/// Returns errno.
///
/// # Safety
/// A plain system call on the structures given.
#[cfg(all(target_os = "linux", feature = "runc"))]
unsafe fn rt_sigaction(
    sig: i32,
    new: Option<&KernelSigaction>,
    old: Option<&mut KernelSigaction>,
) -> Result<(), i32> {
    let new = new.map_or(std::ptr::null(), |n| n as *const KernelSigaction);
    let old = old.map_or(std::ptr::null_mut(), |o| o as *mut KernelSigaction);
    // SAFETY: each pointer is null or valid for the kernel's structure, whose signal set is
    // the size given.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_rt_sigaction,
            sig,
            new,
            old,
            std::mem::size_of::<[usize; SIGSET_WORDS]>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// The first and last real-time signals as glibc's `SIGRTMIN` and `SIGRTMAX` report them on
/// Linux (glibc reserves the kernel's 32 and 33 for itself).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// The classic Linux signals (x86 and arm numbering), by name without `SIG`.
const NAMES: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// Parse a signal as the image-spec's `StopSignal` allows: a name with or without `SIG`
/// (`SIGTERM`, `TERM`, `SIGRTMIN+3`, `RTMAX-1`, any case) or a number (1 to 64).
///
/// ```
/// use locald_engine::stopping::parse_signal;
///
/// assert_eq!(parse_signal("SIGTERM"), Some(15));
/// assert_eq!(parse_signal("usr1"), Some(10));
/// assert_eq!(parse_signal("SIGRTMIN+3"), Some(37));
/// assert_eq!(parse_signal("9"), Some(9));
/// assert_eq!(parse_signal("SIGNOPE"), None);
/// ```
#[implements("stopping.signal")]
pub fn parse_signal(s: &str) -> Option<i32> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().filter(|n| (1..=RTMAX).contains(n));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Some(n);
    }
    let offset = |rest: &str| -> Option<i32> {
        if rest.is_empty() {
            return Some(0);
        }
        let digits = rest.strip_prefix(['+', '-'])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        (!rest.starts_with('-')).then_some(())?;
        RTMIN + offset(rest)?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (!rest.starts_with('+')).then_some(())?;
        RTMAX - offset(rest)?
    } else {
        return None;
    };
    (RTMIN..=RTMAX).contains(&n).then_some(n)
}

/// The conventional name of signal `n` (`SIGTERM`, `SIGRTMIN+3`), else its number.
pub fn signal_name(n: i32) -> String {
    if let Some((name, _)) = NAMES.iter().find(|(_, v)| *v == n) {
        return format!("SIG{name}");
    }
    if (RTMIN..=RTMAX).contains(&n) {
        return match n - RTMIN {
            0 => "SIGRTMIN".into(),
            k => format!("SIGRTMIN+{k}"),
        };
    }
    n.to_string()
}

/// The signal that stops the container: the image's `StopSignal`, else SIGTERM. An unknown
/// `StopSignal` is refused, naming the field.
#[implements("stopping.signal")]
pub fn stop_signal(image: &ImageConfiguration) -> Result<i32> {
    match image
        .config()
        .as_ref()
        .and_then(|c| c.stop_signal().clone())
    {
        None => Ok(SIGTERM),
        Some(s) if s.trim().is_empty() => Ok(SIGTERM),
        Some(s) => parse_signal(&s).ok_or_else(|| Error::ImageConfig {
            field: "StopSignal",
            reason: format!("{s:?} is not a signal name or number"),
        }),
    }
}

/// Whether an ELF image has a program interpreter (a `PT_INTERP` program header: it is
/// dynamically linked); `None` when it is not an ELF file. Only a static binary runs in a root
/// filesystem that holds no libc. Only the ELF header and the program headers are read, so
/// `elf` may be just the start of the file ([`elf_headers`]). With the `elf` feature.
#[cfg(feature = "elf")]
pub fn elf_has_interpreter(elf: &[u8]) -> Option<bool> {
    use goblin::elf::{Elf, ProgramHeader, program_header::PT_INTERP};
    let header = Elf::parse_header(elf).ok()?;
    let ctx = goblin::container::Ctx::new(header.container().ok()?, header.endianness().ok()?);
    let phdrs =
        ProgramHeader::parse(elf, header.e_phoff as usize, header.e_phnum as usize, ctx).ok()?;
    Some(
        phdrs
            .iter()
            .any(|p| p.p_type == PT_INTERP && p.p_filesz != 0),
    )
}

/// The start of the file at `path` holding its ELF header and program headers (what
/// [`elf_has_interpreter`] reads), not the whole file: an init is a megabyte or more, read on
/// every `prepare`. With the `elf` feature.
#[cfg(feature = "elf")]
pub fn elf_headers(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    // Program headers of ordinary executables sit right after the 64-byte ELF header.
    const FIRST: u64 = 4096;
    const MAX: usize = 1 << 20;
    let mut f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(FIRST as usize);
    (&mut f).take(FIRST).read_to_end(&mut buf)?;
    if let Ok(h) = goblin::elf::Elf::parse_header(&buf) {
        let end = (h.e_phoff as usize)
            .saturating_add(usize::from(h.e_phnum) * usize::from(h.e_phentsize));
        if end > buf.len() && end <= MAX {
            f.take((end - buf.len()) as u64).read_to_end(&mut buf)?;
        }
    }
    Ok(buf)
}

/// Check that `path` is a usable init: an absolute path to an executable, statically linked
/// ELF file. A dynamically linked one would fail inside an image without the host's C library.
/// Without the `elf` feature only the path, the file type and the mode are checked (locald
/// ships its init with its shim, built static).
#[implements("stopping.init.default")]
pub fn check_init(path: &Path) -> Result<()> {
    let err = |reason: String| Error::Init {
        path: path.to_owned(),
        reason,
    };
    if !path.is_absolute() {
        return Err(err("not an absolute path".into()));
    }
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(err("not executable".into()));
        }
    }
    static_elf(path, err)
}

/// The ELF part of [`check_init`]: statically linked (no program interpreter).
#[cfg(feature = "elf")]
fn static_elf(path: &Path, err: impl Fn(String) -> Error) -> Result<()> {
    let bytes = elf_headers(path).map_err(|e| err(e.to_string()))?;
    match elf_has_interpreter(&bytes) {
        Some(false) => Ok(()),
        Some(true) => Err(err(
            "dynamically linked (it has an ELF interpreter) and would not start in an image \
             without the host's C library; build it static in the locald workspace: cargo \
             build -p locald-init --profile init --target x86_64-unknown-linux-musl \
             --target-dir target/static (the musl target: rustup target add \
             x86_64-unknown-linux-musl), which writes \
             target/static/x86_64-unknown-linux-musl/init/locald-init"
                .into(),
        )),
        None => Err(err("not a 64-bit little-endian ELF executable".into())),
    }
}

/// Without the `elf` feature the init's linking is not inspected.
#[cfg(not(feature = "elf"))]
fn static_elf(_path: &Path, _err: impl Fn(String) -> Error) -> Result<()> {
    Ok(())
}

/// Push the init (when asked for; the container always has its own PID namespace, so the
/// init is its PID 1) and the stop signal. Runs after the filesystems, so the init's mount
/// comes after the `/dev` tmpfs.
#[implements("stopping.init.default", "stopping.init.readonly", "stopping.signal")]
pub(crate) fn plan(plan: &mut Plan, ctx: &Context<'_>) -> Result<()> {
    plan_init(plan, ctx.image(), ctx.options())
}

fn plan_init(plan: &mut Plan, image: &ImageConfiguration, opts: &RunOptions) -> Result<()> {
    if let Some(init) = &opts.init {
        let source = init.to_str().ok_or_else(|| Error::Init {
            path: init.clone(),
            reason: "the path is not UTF-8".into(),
        })?;
        plan.push(
            requirement!("stopping.init.readonly"),
            Item::Mount(MountEntry::new(
                INIT_TARGET,
                "bind",
                source,
                INIT_MOUNT_OPTIONS,
            )),
        );
        plan.push(
            requirement!("stopping.init.default"),
            Item::Init {
                path: init.clone(),
                target: INIT_TARGET.into(),
            },
        );
    }
    let signal = stop_signal(image)?;
    plan.push(
        requirement!("stopping.signal"),
        Item::StopSignal {
            signal,
            name: signal_name(signal),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    fn image(stop: Option<&str>) -> ImageConfiguration {
        locald_testkit::image_config(serde_json::json!({ "Cmd": ["sh"], "StopSignal": stop }))
    }

    #[test]
    #[verifies("stopping.signal")]
    fn signal_names_and_numbers_parse() {
        for (s, n) in [
            ("SIGTERM", 15),
            ("TERM", 15),
            ("sigterm", 15),
            ("SIGKILL", 9),
            ("SIGUSR1", 10),
            ("SIGQUIT", 3),
            ("SIGWINCH", 28),
            ("SIGRTMIN", 34),
            ("SIGRTMIN+3", 37),
            ("RTMIN+30", 64),
            ("SIGRTMAX", 64),
            ("SIGRTMAX-1", 63),
            ("1", 1),
            ("15", 15),
            ("64", 64),
            (" SIGINT ", 2),
        ] {
            assert_eq!(parse_signal(s), Some(n), "{s}");
        }
        for s in [
            "",
            "0",
            "65",
            "-1",
            "SIG",
            "SIGFOO",
            "SIGRTMIN+31",
            "SIGRTMIN-1",
            "SIGRTMAX+1",
            "SIGRTMIN+",
            "SIGRTMIN+x",
            "TERM1",
            "1.5",
        ] {
            assert_eq!(parse_signal(s), None, "{s:?}");
        }
    }

    #[test]
    #[verifies("stopping.signal")]
    fn signal_names_round_trip() {
        for n in 1..=64 {
            if (32..34).contains(&n) {
                continue;
            }
            assert_eq!(parse_signal(&signal_name(n)), Some(n), "{n}");
        }
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(37), "SIGRTMIN+3");
    }

    #[test]
    #[verifies("stopping.signal")]
    fn stop_signal_is_the_images_else_sigterm() {
        assert_eq!(stop_signal(&image(None)).unwrap(), SIGTERM);
        assert_eq!(
            stop_signal(&ImageConfiguration::default()).unwrap(),
            SIGTERM
        );
        assert_eq!(stop_signal(&image(Some("SIGUSR1"))).unwrap(), 10);
        assert_eq!(stop_signal(&image(Some("SIGRTMIN+3"))).unwrap(), 37);
        assert_eq!(stop_signal(&image(Some("3"))).unwrap(), 3);
        let err = stop_signal(&image(Some("SIGBOGUS"))).unwrap_err();
        assert_eq!(err.field(), Some("StopSignal"), "{err}");
        assert!(err.to_string().contains("SIGBOGUS"), "{err}");
    }

    #[cfg(feature = "elf")]
    #[test]
    #[verifies("stopping.init.default")]
    fn a_dynamic_or_missing_init_is_refused_naming_it() {
        // The test binary itself is dynamically linked.
        let me = std::env::current_exe().unwrap();
        let err = check_init(&me).unwrap_err();
        assert!(err.to_string().contains("dynamically linked"), "{err}");
        assert!(err.to_string().contains(me.to_str().unwrap()), "{err}");
        let err = check_init(Path::new("/nonexistent/locald-init")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/locald-init"),
            "{err}"
        );
        assert!(check_init(Path::new("relative/init")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("init");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = check_init(&script).unwrap_err();
        assert!(err.to_string().contains("not a 64-bit"), "{err}");
        assert_eq!(
            elf_has_interpreter(&std::fs::read(&me).unwrap()),
            Some(true)
        );
    }

    #[cfg(feature = "elf")]
    #[test]
    #[verifies("stopping.init.default")]
    fn the_headers_alone_tell_static_from_dynamic() {
        let me = std::env::current_exe().unwrap();
        let head = elf_headers(&me).unwrap();
        assert!(head.len() < std::fs::metadata(&me).unwrap().len() as usize);
        assert_eq!(elf_has_interpreter(&head), Some(true));
        let init = locald_testkit::static_init();
        let head = elf_headers(&init).unwrap();
        assert_eq!(
            elf_has_interpreter(&head),
            Some(false),
            "{}",
            init.display()
        );
        check_init(&init).unwrap();
        // Truncated before its program headers: not an ELF executable this can judge.
        assert_eq!(elf_has_interpreter(&head[..70]), None);
    }

    fn plan_for(image: &ImageConfiguration, init: Option<&str>) -> Plan {
        Plan::build(&crate::PlanInput {
            image,
            identity_files: &crate::identity::IdentityFiles::default(),
            host_files: &crate::host_files::HostFiles::default(),
            options: &RunOptions {
                init: init.map(Into::into),
                ..RunOptions::default()
            },
            rootfs: Path::new("/img"),
            state_dir: Path::new("/state/c1"),
            id: "c1",
        })
        .unwrap()
    }

    #[test]
    #[verifies("stopping.init.default", "stopping.init.readonly")]
    fn the_init_is_mounted_read_only_and_prefixes_the_args() {
        let plan = plan_for(&image(None), Some("/usr/lib/locald/locald-init"));
        let mounts: Vec<_> = plan.mounts().collect();
        let dev = mounts.iter().position(|m| m.destination == "/dev").unwrap();
        let init = mounts
            .iter()
            .position(|m| m.destination == INIT_TARGET)
            .expect("init mount");
        assert!(dev < init, "the init's mount point lives in the /dev tmpfs");
        let m = mounts[init];
        assert_eq!(m.typ, "bind");
        assert_eq!(m.source, "/usr/lib/locald/locald-init");
        assert_eq!(m.options, ["bind", "ro", "nosuid", "nodev"]);
        let tagged = |id: crate::Requirement| {
            plan.entries()
                .iter()
                .filter(|e| e.requirement == id)
                .count()
        };
        assert_eq!(tagged(requirement!("stopping.init.readonly")), 1);
        assert_eq!(tagged(requirement!("stopping.init.default")), 1);
        let spec = plan.to_spec().unwrap();
        let args = spec.process().as_ref().unwrap().args().clone().unwrap();
        assert_eq!(
            args,
            [
                "/dev/init",
                "--parent-death",
                "15",
                "--lifeline",
                "3",
                "--",
                "sh"
            ]
        );
        // The runtime gets the engine's lifeline only for it.
        assert!(crate::spec::takes_lifeline(&args));
    }

    #[test]
    #[verifies("signals.init.parent-death")]
    fn only_the_inits_own_option_takes_the_lifeline() {
        let takes = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            crate::spec::takes_lifeline(&args)
        };
        assert!(takes(&["/dev/init", "-g", "--lifeline", "3", "--", "sh"]));
        // A workload's own arguments, with the init or without it, never pass the pipe on.
        assert!(!takes(&["/dev/init", "--", "prog", "--lifeline", "3"]));
        assert!(!takes(&["prog", "--lifeline", "3"]));
        assert!(!takes(&["/dev/init", "--lifeline", "4", "--", "sh"]));
    }

    #[test]
    #[verifies("stopping.init.default")]
    fn without_the_init_the_command_is_pid_1() {
        let plan = plan_for(&image(None), None);
        assert!(plan.mounts().all(|m| m.destination != INIT_TARGET));
        assert!(
            !plan
                .entries()
                .iter()
                .any(|e| matches!(e.item, Item::Init { .. }))
        );
        let spec = plan.to_spec().unwrap();
        let args = spec.process().as_ref().unwrap().args().clone().unwrap();
        assert_eq!(args, ["sh"]);
        assert!(!crate::spec::takes_lifeline(&args));
    }

    #[test]
    #[verifies("stopping.signal")]
    fn the_plan_carries_the_stop_signal() {
        let plan = plan_for(&image(Some("SIGRTMIN+3")), None);
        let e = plan
            .entries()
            .iter()
            .find(|e| e.requirement == requirement!("stopping.signal"))
            .expect("stop signal entry");
        assert_eq!(
            e.item,
            Item::StopSignal {
                signal: 37,
                name: "SIGRTMIN+3".into()
            }
        );
        assert_eq!(plan.stop_signal(), 37);
        assert_eq!(plan_for(&image(None), None).stop_signal(), SIGTERM);
        assert!(format!("{plan}").contains("stop signal SIGRTMIN+3 (37)"));
        // The runtime spec holds no trace of it.
        let json = String::from_utf8(crate::bundle::config_json(&plan.to_spec().unwrap()).unwrap())
            .unwrap();
        assert!(!json.contains("SIGRTMIN"), "{json}");
    }
}
