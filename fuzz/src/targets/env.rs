//! The image's `Env` entries, through the nearest public function (`Plan::build`; the parser
//! `environment::image_env` is crate-private): every accepted entry reaches the process
//! exactly, and a refusal names the field.

use locald_engine::host_files::HostFiles;
use locald_engine::identity::IdentityFiles;
use locald_engine::{Plan, PlanInput, RunOptions};
use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};

/// The `env` fuzz target: panics on a defect.
pub fn env(data: &[u8]) {
    let Some(env) = crate::parts(data, 64) else {
        return;
    };
    let env: Vec<String> = env.into_iter().map(str::to_owned).collect();
    let image = ImageConfigurationBuilder::default()
        .config(ConfigBuilder::default().env(env.clone()).build().unwrap())
        .build()
        .unwrap();
    let options = RunOptions {
        args: Some(vec!["sh".into()]),
        ..RunOptions::default()
    };
    let res = Plan::build(&PlanInput {
        image: &image,
        identity_files: &IdentityFiles::default(),
        host_files: &HostFiles::default(),
        options: &options,
        rootfs: "/images/fuzz".as_ref(),
        state_dir: "/state/bundles/fuzz".as_ref(),
        id: "fuzz",
    });
    let plan = match res {
        Ok(plan) => plan,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("Env"), "{msg}");
            return;
        }
    };
    let _ = locald_engine::limits::check(&plan);
    let got = plan.env();
    let mut at = 0;
    for kv in &env {
        // The image's entries come first, in order, unchanged.
        assert_eq!(got.get(at), Some(kv), "{env:?} -> {got:?}");
        at += 1;
        let (key, value) = kv.split_once('=').unwrap();
        assert!(!key.is_empty() && !key.contains('\0') && !value.contains('\0'));
    }
    for kv in &got[at..] {
        // Then only defaults the image does not set.
        let key = kv.split_once('=').unwrap().0;
        assert!(
            ["PATH", "HOSTNAME", "HOME", "TERM", "container"].contains(&key),
            "{kv}"
        );
        assert!(!env.iter().any(|e| e.split_once('=').unwrap().0 == key));
    }
}
