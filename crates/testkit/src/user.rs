//! The unprivileged user that rootless tests run as.

use std::ffi::OsStr;
use std::process::Command;
use std::sync::Mutex;

use crate::prereq::{missing, require_root};

/// Default name of the test user (`LOCALD_TEST_USER` overrides it, as in `ci/install-deps`).
pub const TEST_USER: &str = "locald-test";

/// Serializes creation across the processes of one test run (nextest runs each test in its own
/// process; concurrent `useradd`s fail on the passwd lock).
const LOCK_FILE: &str = "/run/locald-testkit-useradd.lock";

/// An unprivileged host user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// Login name.
    pub name: String,
    /// Host uid.
    pub uid: u32,
    /// Host primary gid.
    pub gid: u32,
}

static CREATE: Mutex<()> = Mutex::new(());

/// Default name of the second test user, for attacks by one local user on another
/// (`LOCALD_TEST_USER2` overrides it, as in `ci/install-deps`).
pub const TEST_USER2: &str = "locald-test2";

fn user_name() -> String {
    std::env::var("LOCALD_TEST_USER").unwrap_or_else(|_| TEST_USER.to_owned())
}

fn lookup(name: &str) -> Option<TestUser> {
    let u = nix::unistd::User::from_name(name).ok()??;
    Some(TestUser {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
    })
}

/// The test user (`locald-test`), created with `useradd` when missing (needs root); when it
/// cannot be had, the test fails.
#[track_caller]
pub fn test_user() -> TestUser {
    user_named(user_name())
}

/// A second unprivileged user (`locald-test2`), another local user than [`test_user`]: the
/// attacker of the tests where one user attacks another. Created like it.
#[track_caller]
pub fn second_test_user() -> TestUser {
    user_named(std::env::var("LOCALD_TEST_USER2").unwrap_or_else(|_| TEST_USER2.to_owned()))
}

#[track_caller]
fn user_named(name: String) -> TestUser {
    require_root();
    if let Some(u) = lookup(&name) {
        return u;
    }
    let _guard = CREATE.lock().unwrap_or_else(|e| e.into_inner());
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .map(|f| nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive));
    let _flock = match lock {
        Ok(Ok(l)) => l,
        Ok(Err((_, e))) => missing(&format!("user {name} (lock {LOCK_FILE}: {e})")),
        Err(e) => missing(&format!("user {name} (open {LOCK_FILE}: {e})")),
    };
    // Another process may have created it while we waited for the lock.
    if let Some(u) = lookup(&name) {
        return u;
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            &name,
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => missing(&format!(
            "user {name} (useradd failed: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => missing(&format!("user {name} (cannot run useradd: {e})")),
    }
    lookup(&name).unwrap_or_else(|| missing(&format!("user {name} (not found after useradd)")))
}

impl TestUser {
    /// A command that runs `program` as this user, with no supplementary groups and a clean
    /// environment (PATH with the sbin directories, so runc is found; HOME=/; no
    /// XDG_RUNTIME_DIR, so nothing of root's leaks in).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg("--")
            .arg(program)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", "/")
            .env("USER", &self.name);
        for keep in ["RUST_BACKTRACE", "CI"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd
    }
}

/// A user's first subordinate uid and gid ranges (subuid(5), subgid(5)): `(first, count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubordinateRanges {
    /// The first subordinate uid and how many.
    pub uids: (u32, u32),
    /// The first subordinate gid and how many.
    pub gids: (u32, u32),
}

/// The first range of subuid(5)-formatted `text` naming `user` by name or uid.
fn first_range(text: &str, user: &TestUser) -> Option<(u32, u32)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        let [who, start, count] = f[..] else {
            return None;
        };
        (who == user.name || who == user.uid.to_string())
            .then(|| Some((start.parse().ok()?, count.parse().ok()?)))
            .flatten()
            .filter(|&(_, n): &(u32, u32)| n > 0)
    })
}

impl TestUser {
    /// The user's subordinate ranges from /etc/subuid and /etc/subgid, with the setuid
    /// helpers newuidmap and newgidmap installed in /usr/bin: what the engine needs to map
    /// every uid rootless. Anything missing fails the test (`ci/install-deps` installs
    /// `uidmap` and gives the test user ranges with `usermod --add-subuids`).
    #[track_caller]
    pub fn require_subordinate_ids(&self) -> SubordinateRanges {
        use std::os::unix::fs::PermissionsExt;
        for helper in ["/usr/bin/newuidmap", "/usr/bin/newgidmap"] {
            let setuid = std::fs::metadata(helper)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o4000 != 0);
            if !setuid {
                missing(&format!(
                    "the setuid helper {helper} (apt-get install -y uidmap)"
                ));
            }
        }
        let range = |file: &str| {
            std::fs::read_to_string(file)
                .ok()
                .and_then(|t| first_range(&t, self))
                .unwrap_or_else(|| {
                    missing(&format!(
                        "a subordinate range of {} in {file} (usermod --add-subuids \
                         100000-165535 --add-subgids 100000-165535 {})",
                        self.name, self.name
                    ))
                })
        };
        SubordinateRanges {
            uids: range("/etc/subuid"),
            gids: range("/etc/subgid"),
        }
    }
}
