//! Image configurations for tests: one builder, in the image spec's own JSON field names.

use oci_spec::image::ImageConfiguration;

/// An image configuration whose `config` object is `config`, written with the field names of
/// the OCI image spec's config (`User`, `Env`, `Entrypoint`, `Cmd`, `WorkingDir`,
/// `StopSignal`, …), around the fields every image has (amd64, linux, no layers).
///
/// ```
/// let image = locald_testkit::image_config(serde_json::json!({ "User": "app", "Cmd": ["sh"] }));
/// let config = image.config().as_ref().unwrap();
/// assert_eq!(config.user().as_deref(), Some("app"));
/// ```
pub fn image_config(config: serde_json::Value) -> ImageConfiguration {
    serde_json::from_value(serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": [] },
        "config": config,
    }))
    .unwrap_or_else(|e| panic!("not an image configuration: {e}"))
}
