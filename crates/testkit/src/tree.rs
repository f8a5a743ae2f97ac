//! Digests of a directory tree, to prove a run left an image byte-identical.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// One line per entry (sorted by path): path, type, mode, owner, size, mtime, ctime, and the
/// SHA-256 of a file's bytes or a symlink's target.
pub fn tree_manifest(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.unwrap_or_else(|e| panic!("walk {}: {e}", root.display()));
        let m = entry.metadata().expect("metadata");
        let rel = entry.path().strip_prefix(root).expect("under root");
        let ft = entry.file_type();
        let content = if ft.is_file() {
            hex(&Sha256::digest(std::fs::read(entry.path()).expect("read")))
        } else if ft.is_symlink() {
            std::fs::read_link(entry.path())
                .expect("readlink")
                .display()
                .to_string()
        } else {
            String::new()
        };
        out.push(format!(
            "/{} mode={:o} uid={} gid={} size={} mtime={}.{} ctime={}.{} {}",
            rel.display(),
            m.mode(),
            m.uid(),
            m.gid(),
            if ft.is_dir() { 0 } else { m.size() },
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            content
        ));
    }
    out
}

/// SHA-256 over [`tree_manifest`].
pub fn tree_digest(root: &Path) -> String {
    hex(&Sha256::digest(tree_manifest(root).join("\n")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Give every entry of the tree at `root` (symlinks themselves, not their targets) to `uid` and
/// `gid`, touching only entries owned by someone else (a chown updates the change time, which
/// [`tree_manifest`] records).
pub fn chown_tree(root: &Path, uid: u32, gid: u32) {
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.unwrap_or_else(|e| panic!("walk {}: {e}", root.display()));
        let m = entry.metadata().expect("metadata");
        if (m.uid(), m.gid()) != (uid, gid) {
            std::os::unix::fs::lchown(entry.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", entry.path().display()));
        }
    }
}
