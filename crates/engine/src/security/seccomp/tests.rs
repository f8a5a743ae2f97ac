use super::*;
use crate::security::DEFAULT_CAPABILITIES;
use locald_spec_macros::verifies;

fn caps(extra: &[&str]) -> Vec<String> {
    DEFAULT_CAPABILITIES
        .iter()
        .chain(extra)
        .map(|c| (*c).to_owned())
        .collect()
}

fn amd64(capabilities: &[String], kernel: Option<(u32, u32)>) -> Target<'_> {
    Target {
        capabilities,
        arch: Some(("amd64", Arch::ScmpArchX86_64)),
        kernel,
    }
}

/// Whether the filter allows `name` for any argument (a plain allow rule).
fn allowed(filter: &LinuxSeccomp, name: &str) -> bool {
    allows_unconditionally(filter, name)
}

/// Every rule naming `name`.
fn rules_for<'f>(filter: &'f LinuxSeccomp, name: &str) -> Vec<&'f LinuxSyscall> {
    filter
        .syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
        .collect()
}

#[test]
#[verifies("security.seccomp.default")]
fn dockers_profile_converts_with_its_default_action_and_architectures() {
    let docker = Profile::docker_default();
    let filter = docker.resolve(&amd64(&caps(&[]), Some((6, 1))));
    assert_eq!(filter.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(filter.default_errno_ret(), Some(1), "EPERM");
    assert_eq!(
        filter.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    // What real programs need is allowed; what Docker keeps from a container is not.
    for name in [
        "read",
        "execve",
        "chown",
        "setresuid",
        "arch_prctl",
        "capset",
        "prctl",
    ] {
        assert!(allowed(&filter, name), "{name}");
    }
    for name in [
        "mount",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "swapon",
        "reboot",
        "init_module",
        "bpf",
    ] {
        assert!(!allowed(&filter, name), "{name}");
    }
    // clone without namespace flags only, clone3 ENOSYS so that libc falls back to clone.
    let clone = rules_for(&filter, "clone");
    assert_eq!(clone.len(), 1);
    let arg = clone[0].args().as_ref().unwrap()[0];
    assert_eq!(
        (arg.index(), arg.value(), arg.op()),
        (0, 0x7E02_0000, LinuxSeccompOperator::ScmpCmpMaskedEq)
    );
    let clone3 = rules_for(&filter, "clone3");
    assert_eq!(clone3[0].errno_ret(), Some(38));
    // The runtime-spec JSON runc reads.
    let json = serde_json::to_value(&filter).unwrap();
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["architectures"][0], "SCMP_ARCH_X86_64");
    assert!(json["syscalls"][0]["names"].as_array().unwrap().len() > 300);
    // The vendored text is moby's, whole.
    let raw: Value = serde_json::from_str(DOCKER_DEFAULT_PROFILE).unwrap();
    assert_eq!(
        raw["syscalls"].as_array().unwrap().len(),
        docker.syscalls.len()
    );
}

/// `docker_default` parses the embedded profile in one typed pass; a caller's profile goes
/// through `from_json`, key by key. Both must give the same profile, rule for rule.
#[test]
#[verifies("security.seccomp.default")]
fn the_default_profile_parses_as_a_callers_would() {
    let callers = Profile::from_json(DOCKER_DEFAULT_PROFILE).unwrap();
    let docker = Profile::docker_default();
    assert_eq!(docker.syscalls.len(), callers.syscalls.len());
    for (i, (a, b)) in docker.syscalls.iter().zip(&callers.syscalls).enumerate() {
        assert_eq!(a, b, "syscalls[{i}]");
    }
    assert_eq!(docker, callers);
}

#[test]
fn the_default_profile_is_valid() {
    Profile::docker_default().check().unwrap();
}

#[test]
#[verifies("security.seccomp.default")]
fn capability_conditions_add_and_remove_syscalls() {
    let docker = Profile::docker_default();
    let base = docker.resolve(&amd64(&caps(&[]), Some((6, 1))));
    // CAP_SYS_CHROOT is a default capability: chroot is allowed.
    assert!(allowed(&base, "chroot"));
    let without_chroot: Vec<String> = caps(&[])
        .into_iter()
        .filter(|c| c != "CAP_SYS_CHROOT")
        .collect();
    assert!(!allowed(
        &docker.resolve(&amd64(&without_chroot, Some((6, 1)))),
        "chroot"
    ));
    // CAP_SYS_ADMIN added: the mount group is allowed, clone's and clone3's restrictions go.
    let admin_caps = caps(&["CAP_SYS_ADMIN"]);
    let admin = docker.resolve(&amd64(&admin_caps, Some((6, 1))));
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "sethostname",
    ] {
        assert!(allowed(&admin, name), "{name}");
    }
    assert!(
        rules_for(&admin, "clone")
            .iter()
            .all(|r| r.args().is_none())
    );
    assert!(
        rules_for(&admin, "clone3")
            .iter()
            .all(|r| r.errno_ret().is_none())
    );
    // CAP_SYS_PTRACE, CAP_SYS_TIME: their groups.
    let more = caps(&["CAP_SYS_PTRACE", "CAP_SYS_TIME"]);
    let more = docker.resolve(&amd64(&more, Some((6, 1))));
    assert!(allowed(&more, "kcmp") && allowed(&more, "settimeofday"));
    assert!(!allowed(&base, "kcmp") && !allowed(&base, "settimeofday"));
}

#[test]
#[verifies("security.seccomp.default")]
fn kernel_and_architecture_conditions() {
    let docker = Profile::docker_default();
    let c = caps(&[]);
    // ptrace without CAP_SYS_PTRACE from 4.8 on (where seccomp can no longer be bypassed with
    // it); on an older or unknown kernel, not.
    assert!(allowed(&docker.resolve(&amd64(&c, Some((4, 8)))), "ptrace"));
    assert!(!allowed(
        &docker.resolve(&amd64(&c, Some((4, 7)))),
        "ptrace"
    ));
    assert!(!allowed(&docker.resolve(&amd64(&c, None)), "ptrace"));
    // arm64: its own architectures and syscalls, not amd64's.
    let arm = docker.resolve(&Target {
        capabilities: &c,
        arch: Some(("arm64", Arch::ScmpArchAarch64)),
        kernel: Some((6, 1)),
    });
    assert_eq!(
        arm.architectures().as_deref(),
        Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
    );
    assert!(allowed(&arm, "set_tls") && !allowed(&arm, "arch_prctl"));
    assert_eq!(kernel_version("6.1.0-18-amd64"), Some((6, 1)));
    assert_eq!(kernel_version("5.15"), Some((5, 15)));
    assert_eq!(kernel_version(""), None);
}

fn plan_with(choice: &Seccomp, capabilities: &[String], nested: bool) -> Plan {
    let mut plan = Plan::default();
    plan_filter(
        &mut plan,
        choice,
        &amd64(capabilities, Some((6, 1))),
        nested,
    )
    .unwrap();
    plan
}

#[test]
#[verifies("security.seccomp.default")]
fn the_default_filter_is_in_the_spec_and_explained() {
    let plan = plan_with(&Seccomp::Default, &caps(&[]), false);
    assert_eq!(plan.entries().len(), 1);
    assert_eq!(plan.entries()[0].requirement, "security.seccomp.default");
    let shown = plan.to_string();
    assert!(
        shown.contains("security.seccomp.default")
            && shown.contains("seccomp Docker's default profile")
            && shown.contains("default SCMP_ACT_ERRNO (errno 1)"),
        "{shown}"
    );
    let json = serde_json::to_value(plan.to_spec().unwrap()).unwrap();
    assert_eq!(json["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["linux"]["seccomp"]["defaultErrnoRet"], 1);
}

#[test]
#[verifies("security.seccomp.default")]
fn the_whole_plan_resolves_the_profile_for_the_planned_capabilities() {
    use crate::{PlanInput, RunOptions, host_files::HostFiles, identity::IdentityFiles};
    let image = oci_spec::image::ImageConfiguration::default();
    let build = |opts: &RunOptions| {
        Plan::build(&PlanInput {
            image: &image,
            identity_files: &IdentityFiles::default(),
            host_files: &HostFiles::default(),
            options: opts,
            rootfs: "/r".as_ref(),
            state_dir: "/s".as_ref(),
            id: "c1",
        })
        .unwrap()
        .to_spec()
        .unwrap()
    };
    let filter =
        |spec: &oci_spec::runtime::Spec| spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    let default = build(&RunOptions::default().with_args(["sh"]));
    assert!(!allowed(&filter(&default), "mount"));
    let admin = build(&RunOptions {
        cap_add: vec!["SYS_ADMIN".into()],
        ..RunOptions::default().with_args(["sh"])
    });
    assert!(allowed(&filter(&admin), "mount"));
}

#[test]
#[verifies("security.seccomp.caller")]
fn unconfined_omits_the_section() {
    let plan = plan_with(&Seccomp::Unconfined, &caps(&[]), true);
    assert_eq!(plan.entries().len(), 1);
    assert_eq!(plan.entries()[0].requirement, "security.seccomp.caller");
    assert!(plan.to_string().contains("seccomp none: unconfined"));
    let json = serde_json::to_value(plan.to_spec().unwrap()).unwrap();
    assert!(json["linux"].get("seccomp").is_none(), "{json}");
}

#[test]
#[verifies("security.seccomp.caller")]
fn a_custom_profile_is_resolved_like_the_default() {
    let profile = Profile::from_json(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
              {"name": "read", "action": "SCMP_ACT_ALLOW"},
              {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
              {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "comment": "ENOSYS"}
            ]}"#,
    )
    .unwrap();
    let plan = plan_with(&Seccomp::Custom(Box::new(profile)), &caps(&[]), false);
    assert_eq!(plan.entries()[0].requirement, "security.seccomp.caller");
    let json = serde_json::to_value(plan.to_spec().unwrap()).unwrap();
    assert_eq!(
        json["linux"]["seccomp"],
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        })
    );
    // A plain runtime-spec `linux.seccomp` is a Docker-format profile too, read or converted.
    let spec_form = serde_json::to_string(&json["linux"]["seccomp"]).unwrap();
    let read = Profile::from_json(&spec_form).unwrap();
    let filter: LinuxSeccomp = serde_json::from_str(&spec_form).unwrap();
    assert_eq!(Profile::from(filter.clone()), read);
    assert_eq!(read.resolve(&amd64(&caps(&[]), None)), filter);
}

#[test]
#[verifies("security.seccomp.caller")]
fn a_malformed_profile_is_refused_naming_the_field() {
    let cases = [
        ("[]", "the profile: expected an object"),
        ("{", "not JSON"),
        ("{}", "missing field `defaultAction`"),
        (
            r#"{"defaultAction": "SCMP_ACT_NOPE"}"#,
            "defaultAction: unknown variant `SCMP_ACT_NOPE`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscals": []}"#,
            "syscals: unknown field `syscals`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}"#,
            "syscalls: expected an array",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["x"]}]}"#,
            "syscalls[1]: missing field `action`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "arg": []}]}"#,
            "syscalls[0].arg: unknown field `arg`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]}"#,
            "syscalls[0].args: unknown variant `SCMP_CMP_EQUAL`",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "syscalls[0].args[0].index: 6 is not an argument index",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0]: both name and names",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
            "syscalls[0].names: no syscall named",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN"]}}]}"#,
            "syscalls[0].includes.caps: unknown capability \"SYS_ADMIN\"",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4"}}]}"#,
            "syscalls[0].excludes.minKernel: \"4\" is not a kernel version",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
            "architectures and archMap: use one",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_Z80"}]}"#,
            "archMap[0].architecture: unknown variant `SCMP_ARCH_Z80`",
        ),
    ];
    for (text, want) in cases {
        let err = Profile::from_json(text).unwrap_err();
        assert!(err.starts_with(want), "{text}: {err}");
    }
}

#[test]
#[verifies("security.seccomp.nested-userns")]
fn the_nested_user_namespace_gets_unshare_of_a_user_namespace_only() {
    let plan = plan_with(&Seccomp::Default, &caps(&[]), true);
    assert_eq!(
        plan.requirements(),
        [
            requirement!("security.seccomp.default"),
            requirement!("security.seccomp.nested-userns")
        ]
    );
    assert!(
        plan.to_string()
            .contains("seccomp rule SCMP_ACT_ALLOW unshare when arg0 SCMP_CMP_EQ 0x10000000"),
        "{plan}"
    );
    let filter = plan
        .to_spec()
        .unwrap()
        .linux()
        .as_ref()
        .unwrap()
        .seccomp()
        .clone()
        .unwrap();
    let unshare = rules_for(&filter, "unshare");
    assert_eq!(unshare, [&nested_userns_rule()]);
    assert!(!allowed(&filter, "unshare"), "only with CLONE_NEWUSER");
    // Not without the nested namespace, and not where the profile allows unshare already.
    let plain = plan_with(&Seccomp::Default, &caps(&[]), false);
    assert_eq!(plain.entries().len(), 1);
    let admin = plan_with(&Seccomp::Default, &caps(&["CAP_SYS_ADMIN"]), true);
    assert_eq!(admin.entries().len(), 1);
    // The caller's profile is the caller's: nothing is added to it.
    let own = Profile::from_json(r#"{"defaultAction": "SCMP_ACT_LOG"}"#).unwrap();
    let custom = plan_with(&Seccomp::Custom(Box::new(own)), &caps(&[]), true);
    assert_eq!(custom.entries().len(), 1);
    // A rule with nothing to add it to is refused.
    let mut orphan = Plan::default();
    orphan.push(
        requirement!("security.seccomp.nested-userns"),
        Item::SeccompRule {
            rule: nested_userns_rule(),
        },
    );
    assert!(orphan.to_spec().is_err());
}
