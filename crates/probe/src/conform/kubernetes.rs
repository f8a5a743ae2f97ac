//! The probe on a Kubernetes cluster: `locald-spec conform --kubernetes IMAGE` prints a
//! batch/v1 Job that runs the probe once in a Pod, from an image holding the static probe as
//! `/locald-probe` (`--rootfs-tar` writes the probe's root filesystem, for `docker import` or
//! `podman import` and a push); the findings are the Pod's log, `kubectl logs job/locald-probe`,
//! which `--kubernetes-log FILE` adds to the results file as the configuration `kubernetes`.
//!
//! The Job is JSON, which `kubectl apply -f` reads as it reads YAML. It asks for nothing but the
//! cluster's defaults: no host network, no security context, no DNS policy; the container's
//! runtime (containerd's CRI, CRI-O) and the kubelet decide the rest, which is what the probe
//! measures. Namespaces cannot be compared with the node's (the probe is not told them), so the
//! isolation checks that need them are not applicable there.

use std::path::Path;

use locald_conformance::{CheckResult, Conformance, Engine};

use crate::Finding;

/// The Job's name and the label its Pod carries.
pub const JOB_NAME: &str = "locald-probe";

/// The configuration name of results read from a cluster.
pub const ENGINE: &str = "kubernetes";

/// The Job: one Pod (`restartPolicy: Never`, no retry), one container running
/// `/locald-probe --json` from `image`, kept a day after it finished so its log can be read.
/// The probe exits 1 when a check fails, which fails the Job; the log is there either way.
pub fn job_manifest(image: &str) -> serde_json::Value {
    let labels = serde_json::json!({ "app.kubernetes.io/name": JOB_NAME });
    serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": JOB_NAME, "labels": labels },
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 86_400,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "probe",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/locald-probe", "--json"]
                    }]
                }
            }
        }
    })
}

/// The probe's findings in a Pod's log: the JSON array `locald-probe --json` prints, after
/// whatever a log collector may have put before it.
pub fn findings_from_log(log: &str) -> Result<Vec<Finding>, String> {
    let start = log
        .find("[\n")
        .or_else(|| log.find('['))
        .ok_or("no JSON array of findings in the log (was the probe run with --json?)")?;
    let findings: Vec<Finding> = serde_json::from_str(log[start..].trim_end())
        .map_err(|e| format!("the log's findings do not parse: {e}"))?;
    if findings.is_empty() {
        return Err("the log holds no findings".into());
    }
    Ok(findings)
}

/// Adds the findings of `log` to `report` as the configuration `kubernetes`, replacing earlier
/// results of that name.
pub fn add_log(report: &mut Conformance, log: &str, source: &Path) -> Result<usize, String> {
    let findings = findings_from_log(log)?;
    let n = findings.len();
    report.engines.retain(|e| e.name != ENGINE);
    report.results.retain(|r| r.engine != ENGINE);
    report.engines.push(Engine {
        name: ENGINE.into(),
        description: format!(
            "the Job of locald-spec conform --kubernetes on a cluster: the kubelet and its CRI \
             runtime, read from {}",
            source.display()
        ),
        version: String::new(),
        available: true,
        reason: None,
    });
    report
        .results
        .extend(findings.into_iter().map(|f| CheckResult::new(ENGINE, f)));
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    const LOG: &str = r#"[
  {
    "id": "environment.hostname",
    "check": "checks::environment::hostname_env",
    "outcome": "pass",
    "detail": "HOSTNAME=locald-probe-x7k2p, the hostname"
  }
]
"#;

    #[test]
    fn the_findings_are_read_from_the_log_past_any_prefix() {
        let f = findings_from_log(LOG).unwrap();
        assert_eq!(f[0].outcome, Outcome::Pass);
        let prefixed = format!("2025-01-01T00:00:00Z stdout F starting\n{LOG}");
        assert_eq!(findings_from_log(&prefixed).unwrap(), f);
        for bad in ["", "no json here", "[]", "[{\"id\": 1}]"] {
            assert!(findings_from_log(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_log_replaces_the_kubernetes_results_and_keeps_the_others() {
        let mut report = Conformance::default();
        report.results.push(CheckResult::new(
            "docker",
            findings_from_log(LOG).unwrap().remove(0),
        ));
        for _ in 0..2 {
            assert_eq!(add_log(&mut report, LOG, Path::new("probe.log")), Ok(1));
        }
        assert_eq!(report.engines.len(), 1);
        assert_eq!(report.engines[0].name, ENGINE);
        assert_eq!(report.of_engine(ENGINE).count(), 1);
        assert_eq!(report.of_engine("docker").count(), 1);
    }

    #[test]
    fn the_job_runs_the_probe_once_from_the_image_given() {
        let job = job_manifest("registry.example/locald-probe:1");
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(
            pod["containers"][0]["image"],
            "registry.example/locald-probe:1"
        );
        assert_eq!(
            pod["containers"][0]["command"],
            serde_json::json!(["/locald-probe", "--json"])
        );
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(job["spec"]["backoffLimit"], 0);
    }
}
