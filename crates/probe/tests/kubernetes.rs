//! The Job `locald-conform --kubernetes IMAGE` prints is a valid batch/v1 Job: validated,
//! strictly (an unknown field is an error, as with `kubectl --validate=strict`), against the
//! Kubernetes API's own OpenAPI schema — the pieces of it vendored in
//! `tests/fixtures/kubernetes/batch-v1-job.openapi.json`, with their source — and run
//! through the CLI. No cluster and no network: the schema is the API server's contract.

use std::process::Command;

use serde_json::{Map, Value, json};

use locald_probe::conform::kubernetes::job_manifest;

const RUNNER: &str = env!("CARGO_BIN_EXE_locald-conform");

fn schemas() -> Map<String, Value> {
    let text = include_str!("fixtures/kubernetes/batch-v1-job.openapi.json");
    let doc: Value = serde_json::from_str(text).expect("the vendored schema parses");
    assert!(
        doc["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://github.com/kubernetes/kubernetes/blob/")),
        "the vendored pieces name their source"
    );
    doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
        .clone()
}

/// Validates `value` against `schema` (OpenAPI v3 as Kubernetes writes it: `type`,
/// `properties`, `required`, `items`, `additionalProperties`, `allOf` of `$ref`s, integer
/// `format`s), pushing one error per violation, each with its path.
fn validate(
    all: &Map<String, Value>,
    schema: &Value,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        match all.get(name) {
            Some(s) => validate(all, s, value, path, errors),
            None => errors.push(format!(
                "{path}: schema {name} is not among the vendored pieces"
            )),
        }
        return;
    }
    for s in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(all, s, value, path, errors);
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    match (ty, value) {
        ("object", Value::Object(fields)) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in fields {
                let at = format!("{path}.{k}");
                match (
                    props.and_then(|p| p.get(k)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) | (None, Some(s)) => validate(all, s, v, &at, errors),
                    (None, None) => errors.push(format!("{at}: unknown field")),
                }
            }
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = r.as_str().unwrap_or_default();
                if !fields.contains_key(r) {
                    errors.push(format!("{path}: required field {r} is missing"));
                }
            }
        }
        ("array", Value::Array(items)) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    validate(all, s, v, &format!("{path}[{i}]"), errors);
                }
            }
        }
        ("string", Value::String(_)) | ("boolean", Value::Bool(_)) => {}
        ("integer", Value::Number(n)) => {
            let fits = match schema.get("format").and_then(Value::as_str) {
                Some("int32") => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                _ => n.as_i64().is_some(),
            };
            if !fits {
                errors.push(format!("{path}: {n} is not an integer of its format"));
            }
        }
        (ty, v) => errors.push(format!("{path}: {v} is not of type {ty}")),
    }
}

/// Every error of `job` as a batch/v1 Job, the schema's and the Job rules the schema states
/// only in words (apiVersion and kind; `template.spec.restartPolicy` Never or OnFailure).
fn job_errors(job: &Value) -> Vec<String> {
    let all = schemas();
    let mut errors = Vec::new();
    validate(
        &all,
        &all["io.k8s.api.batch.v1.Job"],
        job,
        "job",
        &mut errors,
    );
    let gvk = &all["io.k8s.api.batch.v1.Job"]["x-kubernetes-group-version-kind"][0];
    let api_version = format!(
        "{}/{}",
        gvk["group"].as_str().unwrap(),
        gvk["version"].as_str().unwrap()
    );
    if job["apiVersion"] != api_version.as_str() || job["kind"] != gvk["kind"] {
        errors.push(format!("job: not a {api_version} {}", gvk["kind"]));
    }
    let rule = all["io.k8s.api.batch.v1.JobSpec"]["properties"]["template"]["description"]
        .as_str()
        .unwrap();
    assert!(rule.contains(r#"restartPolicy values are "Never" or "OnFailure""#));
    let policy = &job["spec"]["template"]["spec"]["restartPolicy"];
    if policy != "Never" && policy != "OnFailure" {
        errors.push(format!(
            "job.spec.template.spec.restartPolicy: {policy}, but {rule}"
        ));
    }
    errors
}

#[test]
fn the_generated_job_is_a_valid_batch_v1_job() {
    let job = job_manifest("registry.example/locald-probe:1.0");
    assert_eq!(job_errors(&job), Vec::<String>::new());
}

/// A change that breaks a Job.
type Breaker = fn(&mut Value);

/// The validation can fail: each of these departures from the schema is found.
#[test]
fn a_job_that_breaks_the_schema_is_refused() {
    let cases: [(&str, Breaker, &str); 7] = [
        (
            "typo",
            |j| j["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = json!("Never"),
            "imagePullPolcy: unknown field",
        ),
        (
            "type",
            |j| j["spec"]["backoffLimit"] = json!("0"),
            "backoffLimit: \"0\" is not of type integer",
        ),
        (
            "range",
            |j| j["spec"]["backoffLimit"] = json!(4_294_967_296_i64),
            "not an integer of its format",
        ),
        (
            "no name",
            |j| {
                j["spec"]["template"]["spec"]["containers"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            },
            "required field name is missing",
        ),
        (
            "no containers",
            |j| {
                j["spec"]["template"]["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("containers");
            },
            "required field containers is missing",
        ),
        (
            "label",
            |j| j["metadata"]["labels"]["n"] = json!(1),
            "labels.n: 1 is not of type string",
        ),
        (
            "restart",
            |j| j["spec"]["template"]["spec"]["restartPolicy"] = json!("Always"),
            "restartPolicy: \"Always\", but",
        ),
    ];
    for (what, break_it, says) in cases {
        let mut job = job_manifest("img");
        break_it(&mut job);
        let errors = job_errors(&job);
        assert!(
            errors.iter().any(|e| e.contains(says)),
            "{what}: want an error saying {says:?}, got {errors:?}"
        );
    }
    let mut pod = job_manifest("img");
    pod["kind"] = json!("Pod");
    assert!(
        job_errors(&pod)
            .iter()
            .any(|e| e.contains("not a batch/v1"))
    );
}

/// `locald-conform --kubernetes IMAGE` (and so `locald-spec conform --kubernetes IMAGE`) prints
/// the Job for that image, and the Job validates.
#[test]
fn the_cli_prints_the_job_for_the_image_given() {
    let out = Command::new(RUNNER)
        .args(["--kubernetes", "registry.example/probe@sha256:0123"])
        .output()
        .expect("run locald-conform");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).expect("the manifest is JSON");
    assert_eq!(job_errors(&job), Vec::<String>::new());
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/probe@sha256:0123"
    );
    assert_eq!(job["metadata"]["name"], "locald-probe");
}
