//! How long `check` takes on the real book and on a generated book of 10,000 requirements with
//! an implementation and a passing test each. Run with `cargo bench -p locald-spec-core`.

use criterion::{Criterion, criterion_group, criterion_main};
use locald_spec_core::evidence::{Evidence, Outcome, TestResult};
use locald_spec_core::{Links, Project, Registry, TestRef, check, check_project};
use std::path::Path;

const N: usize = 10_000;

fn generated_book() -> (String, String) {
    let mut md = String::from("# Generated\n\n");
    let mut code = String::new();
    for i in 0..N {
        md.push_str(&format!(
            "```requirement\nid: gen.r{i}\nlevel: MUST\naction: The engine does thing {i}.\nprovenance:\n  - source: other\n    cite: fixture {i}\n    url: https://example.org/{i}\n```\n\n"
        ));
        code.push_str(&format!(
            "#[implements(\"gen.r{i}\")]\npub fn f{i}() {{}}\n#[test]\n#[verifies(\"gen.r{i}\")]\nfn t{i}() {{}}\n"
        ));
    }
    (md, code)
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let project = Project::at(&root).expect("the repository's book.toml");
    c.bench_function("check the real book (parse, scan, join)", |b| {
        b.iter(|| check_project(&project))
    });

    let (md, code) = generated_book();
    let target = locald_spec_core::links::Target::in_package("gen", Path::new("src/lib.rs"));
    let evidence = Evidence {
        tests: (0..N)
            .map(|i| TestResult {
                test: TestRef {
                    binary: "gen".into(),
                    name: format!("t{i}"),
                },
                outcome: Outcome::Passed,
                run: 0,
            })
            .collect(),
        ..Evidence::default()
    };
    let mut group = c.benchmark_group("10000 requirements");
    group.sample_size(10);
    group.bench_function("parse the book", |b| {
        b.iter(|| Registry::from_chapters([("book/src/gen.md", "gen", md.as_str())]))
    });
    group.bench_function("scan the code", |b| {
        b.iter(|| {
            let mut links = Links::default();
            locald_spec_core::links::scan_text("crates/gen/src/lib.rs", &code, &target, &mut links);
            links
        })
    });
    let registry = Registry::from_chapters([("book/src/gen.md", "gen", md.as_str())]);
    let mut links = Links::default();
    locald_spec_core::links::scan_text("crates/gen/src/lib.rs", &code, &target, &mut links);
    group.bench_function("join with evidence", |b| {
        b.iter(|| check(&root, &registry, &links, Some(&evidence)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
