//! The fuzz targets' bodies, one function per target: `fuzz_targets/NAME.rs` hands libFuzzer's
//! input to `NAME` here, and the replay test (`fuzz/tests/replay.rs`) calls the same function on
//! every stored input on stable. A target finds a defect by panicking.

mod add_host;
mod book_markdown;
mod conformance;
mod env;
mod group;
mod hosts;
mod image_config;
mod junit;
mod passwd;
mod probe_mountinfo;
mod probe_proc;
mod requirement_block;
mod resolv_conf;
mod user;

pub use add_host::add_host;
pub use book_markdown::book_markdown;
pub use conformance::conformance;
pub use env::env;
pub use group::group;
pub use hosts::hosts;
pub use image_config::image_config;
pub use junit::junit;
pub use passwd::passwd;
pub use probe_mountinfo::probe_mountinfo;
pub use probe_proc::probe_proc;
pub use requirement_block::requirement_block;
pub use resolv_conf::resolv_conf;
pub use user::user;

/// A target: panics on a defect in what it checks.
pub type Target = fn(&[u8]);

/// Every target, by the name of its binary (`cargo fuzz run NAME`) and of its directories in
/// `fuzz/seeds`, `fuzz/corpus` and `fuzz/artifacts`.
pub const ALL: &[(&str, Target)] = &[
    ("add_host", add_host),
    ("book_markdown", book_markdown),
    ("conformance", conformance),
    ("env", env),
    ("group", group),
    ("hosts", hosts),
    ("image_config", image_config),
    ("junit", junit),
    ("passwd", passwd),
    ("probe_mountinfo", probe_mountinfo),
    ("probe_proc", probe_proc),
    ("requirement_block", requirement_block),
    ("resolv_conf", resolv_conf),
    ("user", user),
];
