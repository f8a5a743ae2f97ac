//! Generates one test per ```rust block of the book (skeptic), compiled and run against the
//! reference crate.

fn main() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src");
    println!("cargo:rerun-if-changed={}", src.display());
    let mut chapters: Vec<String> = std::fs::read_dir(&src)
        .expect("book/src")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    chapters.sort();
    for c in &chapters {
        println!("cargo:rerun-if-changed={c}");
    }
    skeptic::generate_doc_tests(&chapters);
}
