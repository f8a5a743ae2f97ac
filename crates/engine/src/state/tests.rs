use super::*;
use locald_spec_macros::verifies;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
#[verifies("confinement.state-dir")]
fn creates_missing_directories_private() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("a/b/c");
    ensure_private_dir(&dir).unwrap();
    for d in ["a", "a/b", "a/b/c"] {
        assert_eq!(mode(&base.path().join(d)), 0o700, "{d}");
    }
    // Idempotent.
    ensure_private_dir(&dir).unwrap();
}

#[test]
#[verifies("confinement.state-dir")]
fn a_symlink_on_the_way_is_refused() {
    let base = tempfile::tempdir().unwrap();
    fs::create_dir(base.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", base.path().join("link")).unwrap();
    let err = ensure_private_dir(&base.path().join("link/x")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsafeStateDir { path, .. } if path.ends_with("link")),
        "{err}"
    );
    assert!(!base.path().join("real/x").exists());
}

#[test]
#[verifies("confinement.state-dir")]
fn a_directory_others_can_write_is_crossed_only_when_sticky() {
    let base = tempfile::tempdir().unwrap();
    let open = base.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let err = ensure_private_dir(&open.join("mine")).unwrap_err();
    assert!(err.to_string().contains("not sticky"), "{err}");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
    ensure_private_dir(&open.join("mine")).unwrap();
}

#[test]
#[verifies("confinement.state-dir")]
fn the_state_root_itself_must_not_be_writable_by_others() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("root");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o775)).unwrap();
    let err = ensure_private_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("chmod go-w"), "{err}");
}

#[test]
#[verifies("confinement.state-dir")]
fn a_directory_another_user_owns_is_refused() {
    locald_testkit::require_root();
    let base = tempfile::tempdir().unwrap();
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let theirs = base.path().join("locald-engine-0");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(4242), Some(4242)).unwrap();
    let err = ensure_private_dir(&theirs.join("bundles")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsafeStateDir { path, reason } if path == &theirs && reason.contains("uid 4242")),
        "{err}"
    );
    assert!(!theirs.join("bundles").exists(), "nothing created in it");
}

#[test]
#[verifies("confinement.state-dir")]
fn a_state_root_holds_bundles_and_the_runtime_state() {
    let base = tempfile::tempdir().unwrap();
    let root = StateRoot::open(&base.path().join("s")).unwrap();
    // runc's directory is made when a container first starts (`Runtime::spawn`), not here.
    assert!(root.bundles().is_dir() && !root.runtime_root().exists());
    assert_eq!(root.runtime_root(), base.path().join("s/runtime"));
    assert_eq!(
        root.bundle_dir("web-1").unwrap(),
        base.path().join("s/bundles/web-1")
    );
    for bad in ["-rf", "..", ".", "", "a/b", "x y"] {
        assert!(root.bundle_dir(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn dotdot_in_a_state_path_is_refused() {
    let err = ensure_private_dir(Path::new("/tmp/a/../b")).unwrap_err();
    assert!(err.to_string().contains(".."), "{err}");
}

#[test]
#[verifies("lifecycle.engine-death")]
fn the_sweep_removes_what_a_dead_engine_left_and_nothing_else() {
    let base = tempfile::tempdir().unwrap();
    let root = StateRoot::open(&base.path().join("s")).unwrap();
    // A PID that cannot run: above the kernel's pid_max ceiling (4194304).
    let dead = root.bundles().join(".c1.4194305.AbCdEf.tmp");
    let alive = root
        .bundles()
        .join(format!(".c2.{}.AbCdEf.tmp", std::process::id()));
    let bundle = root.bundles().join("c3");
    for d in [&dead, &alive, &bundle] {
        fs::create_dir_all(d.join("layer/work/work")).unwrap();
        fs::set_permissions(d.join("layer/work/work"), fs::Permissions::from_mode(0o0)).unwrap();
    }
    assert_eq!(root.sweep().unwrap(), 1);
    assert!(!dead.exists());
    assert!(alive.exists() && bundle.exists());
    assert_eq!(stale_temp_pid(".web.1.2.123.xYz.tmp"), Some(123));
    assert_eq!(stale_temp_pid("web"), None);
}

#[test]
#[verifies("confinement.state-dir")]
fn open_existing_creates_nothing_and_checks_what_exists() {
    let base = tempfile::tempdir().unwrap();
    let fresh = base.path().join("fresh");
    let root = StateRoot::open_existing(&fresh).unwrap();
    assert_eq!(root.bundle_ids().unwrap(), Vec::<String>::new());
    assert_eq!(root.sweep().unwrap(), 0);
    assert!(!fresh.exists(), "nothing created");
    assert!(!check_private_dir(&fresh.join("runtime")).unwrap());

    // What exists is checked as `open` checks it.
    let open = base.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::create_dir(open.join("bundles")).unwrap();
    fs::set_permissions(open.join("bundles"), fs::Permissions::from_mode(0o777)).unwrap();
    let err = StateRoot::open_existing(&open).unwrap_err();
    assert!(err.to_string().contains("chmod go-w"), "{err}");

    let used = base.path().join("used");
    let root = StateRoot::open(&used).unwrap();
    fs::create_dir(root.bundles().join("c2")).unwrap();
    fs::create_dir(root.bundles().join("c1")).unwrap();
    fs::create_dir(root.bundles().join(".c3.1.abc.tmp")).unwrap();
    let again = StateRoot::open_existing(&used).unwrap();
    assert_eq!(again.bundle_ids().unwrap(), ["c1", "c2"]);
}
