//! Who the process runs as, and the /etc/passwd and /etc/group it sees.
//!
//! Names resolve against the image's own files, never the host's (a static binary cannot use
//! NSS, and the host's users are not the image's). Resolution follows the OCI image-spec
//! `config.md` §User and what Docker (`moby/sys/user GetExecUser`) does:
//!
//! | `User`        | uid                      | gid                                  | extra groups |
//! |---------------|--------------------------|--------------------------------------|--------------|
//! | `""`          | 0                        | entry of uid 0, else 0               | memberships  |
//! | `name`        | entry (unknown: error)   | entry                                | memberships  |
//! | `uid`         | as given                 | entry if any, else 0                 | memberships  |
//! | `x:group`     | as above                 | /etc/group entry (unknown: error)    | none         |
//! | `x:gid`       | as above                 | as given                             | none         |
//!
//! Supplementary groups are only derived in the implicit form (no group given), as Docker does.
//! The container then gets generated copies of both files: the image's text verbatim, plus an
//! entry for the running uid (gid) when the image has none, so `id -un`, `whoami` and programs
//! calling `getpwuid` work for any uid.

use locald_spec_macros::implements;

use crate::error::{Error, Result};
use crate::rootfs::ImageRoot;

/// The passwd file inside the image.
pub const PASSWD_PATH: &str = "/etc/passwd";
/// The group file inside the image.
pub const GROUP_PATH: &str = "/etc/group";

/// One /etc/passwd line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// One /etc/group line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
}

/// Lines to parse: skips blank lines and `#` comments, yields 1-based line numbers.
///
/// Lines end at `\n` only, as libc's `getpwent`/`getgrent` read them: a `\r` before it is part
/// of the line's last field (a member `app\r` is not `app`), not half of a line ending.
fn records(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_terminator('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn parse_id(file: &str, line: usize, what: &str, s: &str) -> Result<u32> {
    // Only plain decimal: `+5` or ` 5` would be accepted by `parse` or not by libc alike.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(
            file,
            line,
            format!("{what} `{s}` is not a number"),
        ));
    }
    s.parse()
        .map_err(|_| malformed(file, line, format!("{what} `{s}` is out of range")))
}

fn malformed(file: &str, line: usize, reason: String) -> Error {
    Error::MalformedLine {
        file: file.to_owned(),
        line,
        reason,
    }
}

/// Parse /etc/passwd text strictly: every non-blank, non-comment line has 7 fields.
///
/// ```
/// let entries = locald_engine::identity::parse_passwd("root:x:0:0:root:/root:/bin/sh\n", "/etc/passwd")?;
/// assert_eq!(entries[0].home, "/root");
/// assert!(locald_engine::identity::parse_passwd("root:x:0\n", "/etc/passwd").is_err());
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn parse_passwd(text: &str, file: &str) -> Result<Vec<PasswdEntry>> {
    records(text)
        .map(|(n, line)| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() != 7 {
                return Err(malformed(
                    file,
                    n,
                    format!("expected 7 `:`-separated fields, found {}", f.len()),
                ));
            }
            if f[0].is_empty() {
                return Err(malformed(file, n, "empty user name".into()));
            }
            Ok(PasswdEntry {
                name: f[0].to_owned(),
                uid: parse_id(file, n, "uid", f[2])?,
                gid: parse_id(file, n, "gid", f[3])?,
                home: f[5].to_owned(),
            })
        })
        .collect()
}

/// Parse /etc/group text strictly: every non-blank, non-comment line has 4 fields.
///
/// ```
/// let groups = locald_engine::identity::parse_group("wheel:x:10:alice,bob\n", "/etc/group")?;
/// assert_eq!(groups[0].members, ["alice", "bob"]);
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn parse_group(text: &str, file: &str) -> Result<Vec<GroupEntry>> {
    records(text)
        .map(|(n, line)| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() != 4 {
                return Err(malformed(
                    file,
                    n,
                    format!("expected 4 `:`-separated fields, found {}", f.len()),
                ));
            }
            if f[0].is_empty() {
                return Err(malformed(file, n, "empty group name".into()));
            }
            Ok(GroupEntry {
                name: f[0].to_owned(),
                gid: parse_id(file, n, "gid", f[2])?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// The image's identity files, as raw text (`None`: the image has no such file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityFiles {
    /// /etc/passwd text.
    pub passwd: Option<String>,
    /// /etc/group text.
    pub group: Option<String>,
}

impl IdentityFiles {
    /// Read both files through the confined reader (symlinks stay inside the root; only
    /// regular files, at most [`ImageRoot::read_limit`] bytes).
    #[implements("identity.image-files.confined")]
    pub fn read(root: &ImageRoot) -> Result<Self> {
        Ok(IdentityFiles {
            passwd: root.read_to_string(PASSWD_PATH)?,
            group: root.read_to_string(GROUP_PATH)?,
        })
    }

    /// Parse both files (missing files are empty).
    pub fn parse(&self) -> Result<(Vec<PasswdEntry>, Vec<GroupEntry>)> {
        Ok((
            parse_passwd(self.passwd.as_deref().unwrap_or(""), PASSWD_PATH)?,
            parse_group(self.group.as_deref().unwrap_or(""), GROUP_PATH)?,
        ))
    }
}

/// Where a `User` string came from, so errors name the right field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// The image configuration's `User`.
    Image,
    /// The caller's `user` run option.
    Option,
}

impl UserSource {
    /// The field name used in errors.
    pub fn field(self) -> &'static str {
        match self {
            UserSource::Image => "User",
            UserSource::Option => "user",
        }
    }

    fn invalid(self, reason: String) -> Error {
        match self {
            UserSource::Image => Error::ImageConfig {
                field: "User",
                reason,
            },
            UserSource::Option => Error::InvalidOption {
                field: "user",
                reason,
            },
        }
    }
}

/// The resolved identity of the container process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// uid inside the container.
    pub uid: u32,
    /// gid inside the container.
    pub gid: u32,
    /// Supplementary gids (primary gid excluded, no duplicates, file order).
    pub additional_gids: Vec<u32>,
    /// The passwd entry's home, when the uid has an entry in the image.
    pub home: Option<String>,
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Resolve a `User` string (any OCI image-spec form) against parsed image files.
///
/// ```
/// use locald_engine::identity::{parse_group, parse_passwd, resolve_user, UserSource};
///
/// let passwd = parse_passwd("app:x:1000:1000::/home/app:/bin/sh\n", "/etc/passwd")?;
/// let group = parse_group("app:x:1000:\nstaff:x:50:app\n", "/etc/group")?;
/// let id = resolve_user("app", &passwd, &group, UserSource::Image)?;
/// assert_eq!((id.uid, id.gid, id.additional_gids), (1000, 1000, vec![50]));
/// let id = resolve_user("1234", &passwd, &group, UserSource::Image)?;
/// assert_eq!((id.uid, id.gid), (1234, 0));
/// # Ok::<(), locald_engine::Error>(())
/// ```
#[implements("identity.user.resolve")]
pub fn resolve_user(
    spec: &str,
    passwd: &[PasswdEntry],
    groups: &[GroupEntry],
    source: UserSource,
) -> Result<Identity> {
    if spec.contains(['\n', '\0']) {
        return Err(source.invalid(format!("{spec:?} contains a newline or NUL")));
    }
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if group.is_some_and(|g| g.contains(':')) {
        return Err(source.invalid(format!("{spec:?} has more than one `:`")));
    }
    if group.is_some() && user.is_empty() {
        return Err(source.invalid(format!("{spec:?} has an empty user part")));
    }
    if group == Some("") {
        return Err(source.invalid(format!("{spec:?} has an empty group part")));
    }

    let (uid, entry) = if user.is_empty() {
        (0, passwd.iter().find(|e| e.uid == 0))
    } else if is_number(user) {
        let uid: u32 = user
            .parse()
            .map_err(|_| source.invalid(format!("uid `{user}` is out of range")))?;
        (uid, passwd.iter().find(|e| e.uid == uid))
    } else {
        let e = passwd
            .iter()
            .find(|e| e.name == user)
            .ok_or_else(|| Error::UnknownUser {
                name: user.to_owned(),
                field: source.field(),
                file: PASSWD_PATH.into(),
            })?;
        (e.uid, Some(e))
    };

    let gid = match group {
        Some(g) if is_number(g) => g
            .parse()
            .map_err(|_| source.invalid(format!("gid `{g}` is out of range")))?,
        Some(g) => {
            groups
                .iter()
                .find(|e| e.name == g)
                .ok_or_else(|| Error::UnknownGroup {
                    name: g.to_owned(),
                    field: source.field(),
                    file: GROUP_PATH.into(),
                })?
                .gid
        }
        None => entry.map_or(0, |e| e.gid),
    };

    // (uid_t)-1 and (gid_t)-1 are not ids: the kernel reads them as "unchanged" (setresuid(2),
    // chown(2)), and the runtime fails on them with a bare "invalid argument".
    for (kind, id) in [("uid", uid), ("gid", gid)] {
        if id == u32::MAX {
            return Err(source.invalid(format!(
                "{kind} {id} is (uid_t)-1, which the kernel reserves"
            )));
        }
    }
    Ok(Identity {
        uid,
        gid,
        additional_gids: match group {
            None => supplementary_gids(entry, groups, gid),
            Some(_) => Vec::new(),
        },
        home: entry.map(|e| e.home.clone()),
    })
}

/// Resolve `spec` against the own /etc/passwd and /etc/group of the image at `rootfs`, as the
/// plan will: for callers that need the identity before they choose the options (the CNB
/// profile, the command line's nested user namespace).
pub fn resolve_in_rootfs(
    rootfs: &std::path::Path,
    spec: &str,
    source: UserSource,
) -> Result<Identity> {
    let rootfs =
        std::fs::canonicalize(rootfs).map_err(|e| Error::io(rootfs, "resolve rootfs", e))?;
    let (passwd, groups) = IdentityFiles::read(&ImageRoot::open(&rootfs)?)?.parse()?;
    resolve_user(spec, &passwd, &groups, source)
}

/// The supplementary groups of a user resolved in the implicit form (no group given): the
/// gids of the /etc/group entries listing `entry`'s name as a member, in file order, without
/// the primary `gid` and without duplicates. A uid without a passwd entry has none.
///
/// Docker derives them only in the implicit form: an explicit group replaces the whole group
/// set, so [`resolve_user`] does not call this then.
#[implements("identity.user.additional-gids")]
pub fn supplementary_gids(
    entry: Option<&PasswdEntry>,
    groups: &[GroupEntry],
    gid: u32,
) -> Vec<u32> {
    let mut gids = Vec::new();
    let Some(e) = entry else {
        return gids;
    };
    for g in groups.iter().filter(|g| g.members.contains(&e.name)) {
        if g.gid != gid && !gids.contains(&g.gid) {
            gids.push(g.gid);
        }
    }
    gids
}

/// The container's /etc/passwd and /etc/group contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    /// /etc/passwd: the image's text plus, if needed, an entry for the running uid.
    pub passwd: String,
    /// /etc/group: the image's text plus, if needed, an entry for the running gid.
    pub group: String,
    /// Whether a passwd line was added.
    pub added_user: bool,
    /// Whether a group line was added.
    pub added_group: bool,
}

/// The home of an added passwd entry: `/` always exists, and the engine creates nothing.
pub const ADDED_HOME: &str = "/";

/// `base`, else the first of `base-1`, `base-2`, … that no entry uses. The names in use are
/// collected into a set once, so trying `k` candidates costs `k` lookups, not `k` scans of the
/// file: a passwd holding `root` … `root-139999` would otherwise take hours (`limits.linear`).
#[implements("limits.linear")]
fn unique_name<'a>(base: String, names: impl Iterator<Item = &'a str>) -> String {
    let taken: std::collections::HashSet<&str> = names.collect();
    if !taken.contains(base.as_str()) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|n| !taken.contains(n.as_str()))
        .expect("an unbounded range always yields a free name")
}

fn append_line(text: &mut String, line: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
}

/// The container's /etc/passwd text: the image's text byte for byte, plus an entry for the
/// running uid when the image has none (named `root` for uid 0 when free, else `user<uid>`,
/// home `/`, shell `/bin/sh`). Returns the text and whether a line was added.
#[implements("identity.passwd.current-user")]
pub fn passwd_with_current_user(
    text: Option<&str>,
    entries: &[PasswdEntry],
    id: &Identity,
) -> (String, bool) {
    let mut out = text.unwrap_or_default().to_owned();
    if entries.iter().any(|e| e.uid == id.uid) {
        return (out, false);
    }
    let base = if id.uid == 0 {
        "root".to_owned()
    } else {
        format!("user{}", id.uid)
    };
    let name = unique_name(base, entries.iter().map(|e| e.name.as_str()));
    let line = format!(
        "{name}:x:{}:{}:container user:{ADDED_HOME}:/bin/sh",
        id.uid, id.gid
    );
    append_line(&mut out, &line);
    (out, true)
}

/// The container's /etc/group text: the image's text byte for byte, plus an entry for the
/// running gid when the image has none (named `root` for gid 0 when free, else
/// `group<gid>`). Returns the text and whether a line was added.
#[implements("identity.group.current-group")]
pub fn group_with_current_group(
    text: Option<&str>,
    entries: &[GroupEntry],
    id: &Identity,
) -> (String, bool) {
    let mut out = text.unwrap_or_default().to_owned();
    if entries.iter().any(|g| g.gid == id.gid) {
        return (out, false);
    }
    let base = if id.gid == 0 {
        "root".to_owned()
    } else {
        format!("group{}", id.gid)
    };
    let name = unique_name(base, entries.iter().map(|g| g.name.as_str()));
    append_line(&mut out, &format!("{name}:x:{}:", id.gid));
    (out, true)
}

/// Generate the container's passwd and group text for `id`.
///
/// The image's lines are kept byte for byte; an added user is named `root` for uid 0 (when free)
/// or `user<uid>`, with home `/` and shell `/bin/sh`; an added group `root` or `group<gid>`.
/// See [`passwd_with_current_user`] and [`group_with_current_group`].
///
/// ```
/// use locald_engine::identity::{generate_files, Identity, IdentityFiles};
///
/// let files = IdentityFiles { passwd: Some("root:x:0:0:root:/root:/bin/sh\n".into()), group: None };
/// let id = Identity { uid: 1234, gid: 0, additional_gids: vec![], home: None };
/// let out = generate_files(&files, &id)?;
/// assert!(out.passwd.ends_with("user1234:x:1234:0:container user:/:/bin/sh\n"));
/// assert_eq!(out.group, "root:x:0:\n");
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub fn generate_files(files: &IdentityFiles, id: &Identity) -> Result<GeneratedFiles> {
    let (passwd, groups) = files.parse()?;
    let (passwd, added_user) = passwd_with_current_user(files.passwd.as_deref(), &passwd, id);
    let (group, added_group) = group_with_current_group(files.group.as_deref(), &groups, id);
    Ok(GeneratedFiles {
        passwd,
        group,
        added_user,
        added_group,
    })
}

pub(crate) mod entries;

pub(crate) use entries::plan;
pub use entries::{map_process_user, process_user, process_user_in, resolve};

#[cfg(test)]
mod tests;
