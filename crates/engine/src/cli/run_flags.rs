//! `run`'s command line read without clap, for the one command that starts every container.
//!
//! clap builds a `Command` of `run`'s 30 flags (each an `Arg` of a few hundred bytes, with its
//! help text and value parser) before it reads one, and that code, run once a process, is cold:
//! in the static engine the parse took 0.2 ms of a `run` whose whole own time is about 2.4 ms,
//! though the same parse repeated in one process takes 50 µs. [`parse`] reads the flags with
//! lexopt, a lexer of a few hundred lines, into the same [`Options`] through the same value
//! parsers, and gives up, returning `None`, on anything it does not take exactly as clap does:
//! an unknown flag, a value that looks like a flag, a flag given twice that clap would refuse, a
//! conflict, a missing `--rootfs`, a value clap's parser refuses. The caller then parses the whole
//! command line with clap, whose results and messages (help, version, usage errors) stay the only
//! ones a user sees. So this is a shortcut, never a second grammar: the binary's tests check that
//! every flag of clap's `run` is taken here, and that what is taken equals clap's parse.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::ValueEnum;
use clap::builder::TypedValueParser;
use lexopt::Arg;

use super::{
    DnsFlags, Network, Options, bind_parser, parse_annotation, parse_capability,
    parse_cgroups_path, parse_entrypoint, parse_env, parse_extra_host, parse_security_opt,
    parse_sysctl, parse_workdir,
};

/// The flags of `locald-engine run`: the container's [`Options`] and the binary's own
/// runtime and attach flags.
#[derive(Debug, Clone)]
pub struct RunFlags {
    /// The container's flags (`--rootfs`, `--env`, ..., and the command after `--`).
    pub options: Options,
    /// `--runtime PATH`.
    pub runtime: Option<PathBuf>,
    /// `--state-root DIR`.
    pub state_root: Option<PathBuf>,
    /// `--stop-timeout SECS` (10 when not given, clap's default for it).
    pub stop_timeout: u64,
    /// `--interactive`, `-i`.
    pub interactive: bool,
}

/// The default of `--stop-timeout`, as the binary's clap flag declares it.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// `run`'s flags from `args`, the words after `run` (`--rootfs DIR ... -- CMD ARG...`), or
/// `None` where clap must read them (see the module's documentation).
///
/// ```
/// use locald_engine::cli::run_flags;
///
/// let words = ["--rootfs", "/img", "-it", "--env=PORT=8080", "--", "serve", "--port", "1"];
/// let flags = run_flags::parse(&words.map(Into::into)).unwrap();
/// assert!(flags.interactive && flags.options.tty);
/// assert_eq!(flags.options.env, [("PORT".into(), "8080".into())]);
/// assert_eq!(flags.options.args, ["serve", "--port", "1"]);
/// assert!(run_flags::parse(&["--rootfs", "/img", "--no-such-flag"].map(Into::into)).is_none());
/// ```
pub fn parse(args: &[OsString]) -> Option<RunFlags> {
    // What follows the first `--` is the command (clap's `last = true`); a `--` that would be
    // an option's value leaves that option without one, and clap refuses that too.
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let command = match args.get(end + 1..) {
        Some(words) => words
            .iter()
            .map(|w| w.to_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        None => Vec::new(),
    };
    let mut flags = Flags::default();
    let mut lexer = lexopt::Parser::from_args(&args[..end]);
    while let Some(arg) = lexer.next().ok()? {
        let name = match arg {
            Arg::Long(name) => name.to_owned(),
            Arg::Short(c) => short_name(c)?.to_owned(),
            // A word before `--`: clap takes the command only after it.
            Arg::Value(_) => return None,
        };
        flags.take(&name, &mut lexer)?;
    }
    flags.finish(command)
}

/// The long name of a short flag.
fn short_name(c: char) -> Option<&'static str> {
    Some(match c {
        'e' => "env",
        't' => "tty",
        'w' => "workdir",
        'i' => "interactive",
        _ => return None,
    })
}

/// What has been read so far. The singular flags are `Option`s, so that a second one is seen.
#[derive(Default)]
struct Flags {
    rootfs: Option<PathBuf>,
    image_config: Option<PathBuf>,
    user: Option<String>,
    network: Option<Network>,
    hostname: Option<String>,
    add_hosts: Vec<crate::options::ExtraHost>,
    dns: Vec<std::net::IpAddr>,
    dns_search: Vec<String>,
    dns_options: Vec<String>,
    env: Vec<(String, String)>,
    binds: Vec<crate::options::BindMount>,
    cap_add: Vec<String>,
    cap_drop: Vec<String>,
    sysctls: Vec<(String, String)>,
    seccomp: Vec<crate::security::seccomp::Seccomp>,
    id: Option<String>,
    init_path: Option<PathBuf>,
    entrypoint: Option<String>,
    workdir: Option<String>,
    cgroups_path: Option<String>,
    annotations: Vec<(String, String)>,
    runtime: Option<PathBuf>,
    state_root: Option<PathBuf>,
    stop_timeout: Option<u64>,
    /// The switches given (`tty`, `rootless`, ...), each once.
    switches: Vec<&'static str>,
}

/// The flags that take no value.
const SWITCHES: &[&str] = &[
    "tty",
    "rootless",
    "single-mapping",
    "readonly-rootfs",
    "no-init",
    "interactive",
];

impl Flags {
    /// Read flag `name` (its long name) and its value, if it takes one.
    fn take(&mut self, name: &str, lexer: &mut lexopt::Parser) -> Option<()> {
        if let Some(&switch) = SWITCHES.iter().find(|s| **s == name) {
            // Given twice, clap refuses it. (`--tty=true` is refused too: lexopt's next word is
            // then an error, the value left unread.)
            if self.switches.contains(&switch) {
                return None;
            }
            self.switches.push(switch);
            return Some(());
        }
        let value = value(lexer)?;
        let text = || value.to_str().map(str::to_owned);
        // clap's `PathBuf` parser refuses an empty path.
        let path = || (!value.is_empty()).then(|| PathBuf::from(&value));
        match name {
            "rootfs" => once(&mut self.rootfs, path()?)?,
            "image-config" => once(&mut self.image_config, path()?)?,
            "runtime" => once(&mut self.runtime, path()?)?,
            "state-root" => once(&mut self.state_root, path()?)?,
            "init-path" => once(&mut self.init_path, path()?)?,
            "user" => once(&mut self.user, text()?)?,
            "hostname" => once(&mut self.hostname, text()?)?,
            "id" => once(&mut self.id, text()?)?,
            // clap's own names and alias for it (`ValueEnum`), matched as its parser does.
            "network" => once(&mut self.network, Network::from_str(&text()?, false).ok()?)?,
            "stop-timeout" => once(&mut self.stop_timeout, text()?.parse().ok()?)?,
            "entrypoint" => once(&mut self.entrypoint, parse_entrypoint(&text()?).ok()?)?,
            "workdir" => once(&mut self.workdir, parse_workdir(&text()?).ok()?)?,
            "cgroups-path" => once(&mut self.cgroups_path, parse_cgroups_path(&text()?).ok()?)?,
            "add-host" => self.add_hosts.push(parse_extra_host(&text()?).ok()?),
            "dns" => self.dns.push(text()?.parse().ok()?),
            "dns-search" => self.dns_search.push(text()?),
            "dns-option" => self.dns_options.push(text()?),
            "env" => self.env.push(parse_env(&text()?).ok()?),
            "bind" => self.binds.push(bind(&value)?),
            "cap-add" => self.cap_add.push(parse_capability(&text()?).ok()?),
            "cap-drop" => self.cap_drop.push(parse_capability(&text()?).ok()?),
            "sysctl" => self.sysctls.push(parse_sysctl(&text()?).ok()?),
            "security-opt" => self.seccomp.push(parse_security_opt(&text()?).ok()?),
            "annotation" => self.annotations.push(parse_annotation(&text()?).ok()?),
            _ => return None,
        }
        Some(())
    }

    /// The flags read, with the command; `None` where clap would refuse them together.
    fn finish(self, args: Vec<String>) -> Option<RunFlags> {
        let on = |s: &str| self.switches.contains(&s);
        let no_init = on("no-init");
        if no_init && self.init_path.is_some() {
            return None;
        }
        Some(RunFlags {
            options: Options {
                rootfs: self.rootfs?,
                image_config: self.image_config,
                user: self.user,
                network: self.network.unwrap_or(Network::Host),
                hostname: self.hostname,
                add_hosts: self.add_hosts,
                dns: DnsFlags {
                    dns: self.dns,
                    dns_search: self.dns_search,
                    dns_options: self.dns_options,
                },
                env: self.env,
                binds: self.binds,
                tty: on("tty"),
                rootless: on("rootless"),
                single_mapping: on("single-mapping"),
                cap_add: self.cap_add,
                cap_drop: self.cap_drop,
                sysctls: self.sysctls,
                seccomp: self.seccomp,
                readonly_rootfs: on("readonly-rootfs"),
                id: self.id,
                init_path: self.init_path,
                no_init,
                entrypoint: self.entrypoint,
                workdir: self.workdir,
                cgroups_path: self.cgroups_path,
                annotations: self.annotations,
                args,
            },
            runtime: self.runtime,
            state_root: self.state_root,
            stop_timeout: self.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            interactive: on("interactive"),
        })
    }
}

/// An option's value: joined to it (`--env=A=1`, `-eA=1`), or the next word unless that looks
/// like a flag, which clap does not take as a value.
fn value(lexer: &mut lexopt::Parser) -> Option<OsString> {
    if let Some(joined) = lexer.optional_value() {
        return Some(joined);
    }
    let next = lexer.value().ok()?;
    let looks_like_flag = next.as_encoded_bytes().starts_with(b"-") && next.len() > 1;
    (!looks_like_flag).then_some(next)
}

/// Set a flag that clap takes once.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

/// `--bind`, through the flag's own value parser (which refuses a path that is not UTF-8).
fn bind(value: &OsStr) -> Option<crate::options::BindMount> {
    let cmd = clap::Command::new("run");
    bind_parser().parse_ref(&cmd, None, value).ok()
}
