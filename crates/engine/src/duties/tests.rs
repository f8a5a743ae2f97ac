use super::*;
use crate::options::{IdMapping, NetworkMode};
use crate::plan::Item;
use crate::requirement;
use locald_spec_macros::verifies;

fn image() -> ImageConfiguration {
    locald_testkit::image_config(serde_json::json!({ "Cmd": ["sh"], "Env": ["FOO="] }))
}

fn files() -> IdentityFiles {
    IdentityFiles {
        passwd: Some("root:x:0:0:root:/root:/bin/sh\n".into()),
        group: Some("root:x:0:\n".into()),
    }
}

fn build(opts: &RunOptions) -> Plan {
    Plan::build(&PlanInput {
        image: &image(),
        identity_files: &files(),
        host_files: &HostFiles::default(),
        options: opts,
        rootfs: Path::new("/img"),
        state_dir: Path::new("/state/c1"),
        id: "c1",
    })
    .unwrap()
}

fn rootless(network: NetworkMode) -> RunOptions {
    RunOptions {
        id_mapping: Some(IdMapping::new(1000, 1000)),
        network,
        ..Default::default()
    }
}

#[test]
fn root_mode_plan_contents() {
    let p = build(&RunOptions::default());
    let req = p.requirements();
    for id in [
        requirement!("filesystems.root"),
        requirement!("filesystems.proc"),
        requirement!("identity.passwd.current-user"),
        requirement!("identity.group.current-group"),
        requirement!("environment.image-env"),
        requirement!("environment.path-default"),
        requirement!("process.args"),
        requirement!("process.cwd"),
        requirement!("names.hostname.default"),
    ] {
        assert!(req.contains(&id), "{id}");
    }
    assert!(!req.contains(&requirement!("isolation.namespaces.user")));
    assert!(!req.contains(&requirement!("isolation.namespaces.network")));
    assert!(!req.contains(&requirement!("environment.term")));
    assert_eq!(p.env()[0], "FOO=");
    let files: Vec<_> = p.files().map(|(n, _, m)| (n, m)).collect();
    assert_eq!(
        files,
        [
            ("hostname", 0o644),
            ("hosts", 0o644),
            ("resolv.conf", 0o644)
        ]
    );
    // Each names file is bind-mounted writable at its /etc path; passwd and group go into
    // the container's layer.
    for (name, at) in [
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
        ("resolv.conf", "/etc/resolv.conf"),
    ] {
        let m = p.mounts().find(|m| m.destination == at).expect(at);
        assert_eq!(m.source, format!("/state/c1/{name}"));
        assert!(!m.options.iter().any(|o| o == "ro"), "{m:?}");
    }
    let layer_files: Vec<_> = p
        .entries()
        .iter()
        .filter_map(|e| match &e.item {
            Item::LayerFile { path, mode, .. } => Some((path.as_str(), *mode)),
            _ => None,
        })
        .collect();
    assert_eq!(layer_files, [("/etc/passwd", 0o644), ("/etc/group", 0o644)]);
}

#[test]
#[verifies("isolation.namespaces.user", "filesystems.sys")]
fn rootless_host_network_plan_contents() {
    let p = build(&rootless(NetworkMode::Host));
    assert!(
        p.requirements()
            .contains(&requirement!("isolation.namespaces.user"))
    );
    let sys = p.mounts().find(|m| m.destination == "/sys").unwrap();
    assert_eq!(sys.typ, "bind");
    let spec = p.to_spec().unwrap();
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.uid_mappings().as_ref().unwrap().len(), 1);
    assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
    assert_eq!(linux.gid_mappings().as_ref().unwrap()[0].container_id(), 0);
}

#[test]
#[verifies(
    "filesystems.root",
    "names.hostname.default",
    "process.args",
    "process.cwd",
    "isolation.namespaces.pid",
    "isolation.namespaces.ipc",
    "isolation.namespaces.uts",
    "isolation.namespaces.mount",
    "security.capabilities.default",
    "security.no-new-privileges",
    "identity.passwd.current-user",
    "environment.image-env"
)]
fn spec_matches_plan() {
    let p = build(&RunOptions::default());
    let spec = p.to_spec().unwrap();
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["root"]["path"], "rootfs");
    assert_eq!(json["hostname"], "c1");
    assert_eq!(json["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(json["process"]["cwd"], "/");
    assert_eq!(json["process"]["noNewPrivileges"], true);
    assert_eq!(json["process"]["user"]["uid"], 0);
    assert!(json["process"]["capabilities"].get("ambient").is_none());
    assert!(json["process"]["capabilities"].get("inheritable").is_none());
    assert_eq!(
        json["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        crate::security::DEFAULT_CAPABILITIES.len()
    );
    let ns: Vec<_> = json["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ns, ["pid", "ipc", "uts", "mount", "cgroup"]);
    assert!(json["linux"].get("uidMappings").is_none());
    assert!(json["linux"].get("cgroupsPath").is_none());
    let mounts = json["mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), p.mounts().count());
    let hosts = mounts
        .iter()
        .find(|m| m["destination"] == "/etc/hosts")
        .unwrap();
    assert_eq!(hosts["source"], "/state/c1/hosts");
    assert!(!mounts.iter().any(|m| m["destination"] == "/etc/passwd"));
    assert_eq!(json["process"]["env"][0], "FOO=");
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[test]
fn spec_holds_nothing_the_plan_did_not_ask_for() {
    // oci-spec's builders fill unset fields from its own defaults; none may leak in.
    let json = serde_json::to_value(build(&RunOptions::default()).to_spec().unwrap()).unwrap();
    assert_eq!(
        keys(&json),
        [
            "hostname",
            "linux",
            "mounts",
            "ociVersion",
            "process",
            "root"
        ]
    );
    assert_eq!(
        keys(&json["process"]),
        [
            "args",
            "capabilities",
            "cwd",
            "env",
            "noNewPrivileges",
            "oomScoreAdj",
            "rlimits",
            "terminal",
            "user"
        ]
    );
    assert_eq!(
        keys(&json["process"]["capabilities"]),
        ["bounding", "effective", "permitted"]
    );
    assert_eq!(
        keys(&json["linux"]),
        [
            "maskedPaths",
            "namespaces",
            "readonlyPaths",
            "resources",
            "seccomp"
        ]
    );
    assert_eq!(keys(&json["linux"]["resources"]), ["devices"]);
    // No listener, no flags: only what Docker's profile gives.
    assert_eq!(
        keys(&json["linux"]["seccomp"]),
        [
            "architectures",
            "defaultAction",
            "defaultErrnoRet",
            "syscalls"
        ]
    );
}

#[test]
fn plan_serializes_with_requirements_for_explain() {
    let p = build(&RunOptions::default());
    let json = serde_json::to_value(&p).unwrap();
    let roots: Vec<_> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "root")
        .collect();
    assert_eq!(roots.len(), 1, "{json:#}");
    assert_eq!(
        roots[0]["requirement"],
        requirement!("filesystems.root").as_str()
    );
    let text = p.to_string();
    assert!(text.contains("filesystems.proc"));
    assert!(text.contains("mount proc on /proc type proc (nosuid,noexec,nodev)"));
}
