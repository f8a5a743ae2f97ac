//! The link scanner: finds `#[implements("id")]` and `#[verifies("id")]` attributes in Rust
//! sources with `syn`, and records where each linked item is and what test it is.
//!
//! Two forms reach past the literal attribute on an item:
//!
//! - items inside an item-position macro invocation (`tests! { #[verifies("a.b")] fn t() {} }`)
//!   are scanned like the file's own, when the invocation's body parses as items;
//! - `#[verifies(module = "checks", except = ["a.b"])]` on a test links it to every requirement
//!   the functions of that module of its package's library verify, but those excepted: a macro
//!   that generates tests from the library's own `#[verifies]` (the conformance probe's
//!   `conformance_tests!`) is described once, and the IDs are never restated. It is resolved
//!   when every file is scanned ([`Links::resolve_derived`]).

use crate::parse::rel;
use crate::problem::{Problem, ProblemKind};
use proc_macro2::Span;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, Item, LitStr, punctuated::Punctuated};

/// The attribute that marks an implementing item.
pub const IMPLEMENTS: &str = "implements";
/// The attribute that marks a verifying test.
pub const VERIFIES: &str = "verifies";
/// The attribute that instantiates a test function once per variant (`#[variants(root = ...,
/// rootless = ...)]` on `fn name` makes the tests `name_root` and `name_rootless`).
pub const VARIANTS: &str = "variants";
/// The attribute that links one variant's test to requirements the others do not show
/// (`#[verifies_in(rootless, "a.b")]` on `fn name` links only `name_rootless`).
pub const VERIFIES_IN: &str = "verifies_in";

/// An item of the reference code that implements a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    /// The requirement ID.
    pub id: String,
    /// The source file, relative to the repository root.
    pub file: String,
    /// First line of the item (its attributes and doc comments included).
    pub line: usize,
    /// Last line of the item.
    pub end_line: usize,
    /// What the item is, e.g. `fn passwd_entry` or `impl Plan`.
    pub item: String,
    /// The item's source text exactly as it stands in the file.
    #[serde(skip)]
    pub source: String,
}

/// How a test is named by the test runner: the test binary and the path inside it, as
/// cargo-nextest reports them (`locald-engine::e2e` and `identity::current_user`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TestRef {
    /// The binary ID: `crate` for a library's unit tests, `crate::name` for `tests/name.rs`,
    /// `crate::bin/name` for a binary.
    pub binary: String,
    /// The test's path inside the binary, e.g. `identity::tests::parses_passwd`.
    pub name: String,
}

impl std::fmt::Display for TestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.binary, self.name)
    }
}

/// A test (or check) that verifies a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestLink {
    /// The requirement ID.
    pub id: String,
    /// The source file, relative to the repository root.
    pub file: String,
    /// The line of the test function.
    pub line: usize,
    /// How the test runner names it.
    pub test: TestRef,
}

/// A test whose `#[verifies]` names a module of its package's library instead of IDs:
/// `#[verifies(module = "checks", except = ["a.b"])]`, awaiting [`Links::resolve_derived`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedLink {
    /// The source file, relative to the repository root.
    pub file: String,
    /// The line of the test function.
    pub line: usize,
    /// The line of the attribute, for problems.
    pub attr_line: usize,
    /// How the test runner names the test.
    pub test: TestRef,
    /// The binary ID of the library whose functions' links it takes: the test's package's.
    pub library: String,
    /// The module of that library (`checks`; `a::b` for a nested one).
    pub module: String,
    /// The requirement IDs left out.
    pub except: Vec<String>,
}

/// Everything the scanner found.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Implementing items, in file order.
    pub implementations: Vec<Implementation>,
    /// Verifying tests, in file order.
    pub tests: Vec<TestLink>,
    /// Tests linked through a module, not yet resolved into [`Links::tests`].
    pub derived: Vec<DerivedLink>,
    /// Malformed attributes and unparsable files.
    pub problems: Vec<Problem>,
    /// Every scanned file (repository-relative), for evidence digests.
    pub files: Vec<String>,
}

/// Directories never scanned: compile-fail fixtures name unknown IDs on purpose.
const SKIP_DIRS: [&str; 4] = ["target", "ui", "fixtures", ".git"];

/// Lists the Rust files below `dirs` (relative to `repo_root`), sorted, skipping fixtures.
pub fn rust_files(repo_root: &Path, dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        let walker = walkdir::WalkDir::new(repo_root.join(dir))
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                !(e.file_type().is_dir()
                    && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
            });
        for e in walker.filter_map(Result::ok) {
            if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs") {
                out.push(e.into_path());
            }
        }
    }
    out.sort();
    out
}

/// Scans the Rust sources below `dirs`.
pub fn scan(repo_root: &Path, dirs: &[&str]) -> Links {
    let mut links = Links::default();
    for path in rust_files(repo_root, dirs) {
        let file = rel(repo_root, &path);
        links.files.push(file.clone());
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                links.problems.push(Problem::new(
                    ProblemKind::UnparsableSource,
                    None,
                    &file,
                    0,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        // Cheap pre-filter: most files link nothing.
        if !text.contains(IMPLEMENTS) && !text.contains(VERIFIES) {
            continue;
        }
        let target = Target::of(repo_root, &path);
        scan_text(&file, &text, &target, &mut links);
    }
    links.resolve_derived();
    links
}

impl Links {
    /// Turns every [`DerivedLink`] into test links, one per requirement the functions of its
    /// module verify (each once, in scan order) but those it excepts. A module whose functions
    /// verify nothing, or an exception no function verifies, is a problem at the attribute.
    pub fn resolve_derived(&mut self) {
        for d in std::mem::take(&mut self.derived) {
            let prefix = format!("{}::", d.module);
            let mut ids: Vec<String> = Vec::new();
            for t in &self.tests {
                if t.test.binary == d.library
                    && t.test.name.starts_with(&prefix)
                    && !ids.contains(&t.id)
                {
                    ids.push(t.id.clone());
                }
            }
            let problem = |message: String| {
                Problem::new(ProblemKind::BadLink, None, &d.file, d.attr_line, message)
            };
            if ids.is_empty() {
                self.problems.push(problem(format!(
                    "#[verifies(module = \"{}\")]: no function of module `{}` of `{}` verifies \
                     a requirement",
                    d.module, d.module, d.library
                )));
                continue;
            }
            for e in d.except.iter().filter(|e| !ids.contains(e)) {
                self.problems.push(problem(format!(
                    "#[verifies(module = \"{}\")] excepts `{e}`, which no function of that \
                     module verifies",
                    d.module
                )));
            }
            for id in ids.into_iter().filter(|i| !d.except.contains(i)) {
                self.tests.push(TestLink {
                    id,
                    file: d.file.clone(),
                    line: d.line,
                    test: d.test.clone(),
                });
            }
        }
    }
}

/// `module = "path", except = ["id", ...]` (the exception list optional).
fn parse_derived(input: ParseStream) -> syn::Result<(String, Vec<String>)> {
    let key: syn::Ident = input.parse()?;
    if key != "module" {
        return Err(syn::Error::new(key.span(), "expected `module = \"...\"`"));
    }
    input.parse::<syn::Token![=]>()?;
    let module: LitStr = input.parse()?;
    let mut except = Vec::new();
    if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
        let key: syn::Ident = input.parse()?;
        if key != "except" {
            return Err(syn::Error::new(key.span(), "expected `except = [...]`"));
        }
        input.parse::<syn::Token![=]>()?;
        let list;
        syn::bracketed!(list in input);
        except = Punctuated::<LitStr, syn::Token![,]>::parse_terminated(&list)?
            .iter()
            .map(LitStr::value)
            .collect();
        input.parse::<Option<syn::Token![,]>>()?;
    }
    Ok((module.value(), except))
}

/// The items of a macro invocation's body, when it holds items.
fn parse_items(input: ParseStream) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        items.push(input.parse()?);
    }
    Ok(items)
}

/// Scans one file's text; `target` tells how its tests are named.
pub fn scan_text(file: &str, text: &str, target: &Target, links: &mut Links) {
    let syntax = match syn::parse_file(text) {
        Ok(s) => s,
        Err(e) => {
            let line = e.span().start().line;
            links.problems.push(Problem::new(
                ProblemKind::UnparsableSource,
                None,
                file,
                line,
                format!("cannot parse Rust source: {e}"),
            ));
            return;
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut v = Visitor {
        file,
        lines: &lines,
        target,
        links,
        module: target.module.clone(),
    };
    v.items(&syntax.items);
}

struct Visitor<'a> {
    file: &'a str,
    lines: &'a [&'a str],
    target: &'a Target,
    links: &'a mut Links,
    module: Vec<String>,
}

impl Visitor<'_> {
    fn items(&mut self, items: &[Item]) {
        for item in items {
            let (attrs, label): (&[Attribute], String) = match item {
                Item::Fn(f) => (&f.attrs, format!("fn {}", f.sig.ident)),
                Item::Struct(s) => (&s.attrs, format!("struct {}", s.ident)),
                Item::Enum(e) => (&e.attrs, format!("enum {}", e.ident)),
                Item::Const(c) => (&c.attrs, format!("const {}", c.ident)),
                Item::Static(s) => (&s.attrs, format!("static {}", s.ident)),
                Item::Type(t) => (&t.attrs, format!("type {}", t.ident)),
                Item::Trait(t) => (&t.attrs, format!("trait {}", t.ident)),
                Item::Impl(i) => {
                    let ty = type_name(&i.self_ty);
                    let label = match &i.trait_ {
                        Some((_, p, _)) => format!("impl {} for {ty}", path_name(p)),
                        None => format!("impl {ty}"),
                    };
                    self.attrs(&i.attrs, item.span(), &label, None);
                    for ii in &i.items {
                        if let ImplItem::Fn(f) = ii {
                            let label = format!("fn {ty}::{}", f.sig.ident);
                            self.attrs(&f.attrs, ii.span(), &label, None);
                        }
                    }
                    continue;
                }
                // A macro invocation holding items: scanned as if they stood here.
                Item::Macro(m) if m.ident.is_none() => {
                    if let Ok(inner) = m.mac.parse_body_with(parse_items) {
                        self.items(&inner);
                    }
                    continue;
                }
                Item::Mod(m) => {
                    self.attrs(&m.attrs, item.span(), &format!("mod {}", m.ident), None);
                    if let Some((_, inner)) = &m.content {
                        self.module.push(m.ident.to_string());
                        self.items(inner);
                        self.module.pop();
                    }
                    continue;
                }
                _ => continue,
            };
            let fn_name = match item {
                Item::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            };
            self.attrs(attrs, item.span(), &label, fn_name.as_deref());
        }
    }

    fn attrs(&mut self, attrs: &[Attribute], span: Span, label: &str, fn_name: Option<&str>) {
        for attr in attrs {
            let Some(last) = attr.path().segments.last() else {
                continue;
            };
            let kind = last.ident.to_string();
            if kind == VERIFIES_IN {
                self.verifies_in(attr, attrs, label, fn_name);
                continue;
            }
            if kind != IMPLEMENTS && kind != VERIFIES {
                continue;
            }
            let line = attr.span().start().line;
            let ids = match attr
                .parse_args_with(Punctuated::<LitStr, syn::Token![,]>::parse_terminated)
            {
                Ok(ids) if !ids.is_empty() => ids,
                Ok(_) => {
                    self.bad_link(line, format!("#[{kind}] names no requirement ID"));
                    continue;
                }
                Err(e) => {
                    match (
                        kind == VERIFIES,
                        fn_name,
                        attr.parse_args_with(parse_derived),
                    ) {
                        (true, Some(name), Ok((module, except))) => {
                            self.derived(line, span.start().line, name, module, except)
                        }
                        _ => self.bad_link(
                            line,
                            format!(
                                "#[{kind}(...)] takes string literals{}: {e}",
                                if kind == VERIFIES {
                                    " (or, on a test, `module = \"...\", except = [...]`)"
                                } else {
                                    ""
                                }
                            ),
                        ),
                    }
                    continue;
                }
            };
            for id in ids {
                let id = id.value();
                if kind == IMPLEMENTS {
                    let (start, end) = (span.start().line, span.end().line);
                    let source = self
                        .lines
                        .get(start.saturating_sub(1)..end.min(self.lines.len()))
                        .map(|l| l.join("\n"))
                        .unwrap_or_default();
                    self.links.implementations.push(Implementation {
                        id,
                        file: self.file.to_owned(),
                        line: start,
                        end_line: end,
                        item: label.to_owned(),
                        source,
                    });
                } else {
                    let Some(name) = fn_name else {
                        self.bad_link(
                            line,
                            format!("#[verifies] must be on a test function, not on `{label}`"),
                        );
                        continue;
                    };
                    for test in variant_names(attrs, name) {
                        self.test_link(&id, span.start().line, test);
                    }
                }
            }
        }
    }

    /// `#[verifies_in(variant, "id", ...)]`: the IDs linked to the one test `#[variants]`
    /// generates for `variant`.
    fn verifies_in(
        &mut self,
        attr: &Attribute,
        attrs: &[Attribute],
        label: &str,
        fn_name: Option<&str>,
    ) {
        let line = attr.span().start().line;
        let Some(name) = fn_name else {
            self.bad_link(
                line,
                format!("#[{VERIFIES_IN}] must be on a test function, not on `{label}`"),
            );
            return;
        };
        let parsed = attr.parse_args_with(|input: ParseStream| {
            let variant: syn::Ident = input.parse()?;
            if input.is_empty() {
                return Ok((variant, Punctuated::new()));
            }
            input.parse::<syn::Token![,]>()?;
            let ids = Punctuated::<LitStr, syn::Token![,]>::parse_terminated(input)?;
            Ok((variant, ids))
        });
        let (variant, ids) = match parsed {
            Ok((variant, ids)) if !ids.is_empty() => (variant, ids),
            Ok(_) => {
                self.bad_link(line, format!("#[{VERIFIES_IN}] names no requirement ID"));
                return;
            }
            Err(e) => {
                self.bad_link(
                    line,
                    format!("#[{VERIFIES_IN}(variant, \"id\", ...)] takes a variant and string literals: {e}"),
                );
                return;
            }
        };
        let test = format!("{name}_{variant}");
        if !variant_names(attrs, name).contains(&test) {
            self.bad_link(
                line,
                format!(
                    "#[{VERIFIES_IN}] names the variant `{variant}`, which no #[{VARIANTS}] on \
                     `{name}` defines"
                ),
            );
            return;
        }
        for id in ids {
            self.test_link(&id.value(), line, test.clone());
        }
    }

    /// Link requirement `id` to the test `test` of the current module, found at `line`.
    fn test_link(&mut self, id: &str, line: usize, test: String) {
        let mut path = self.module.clone();
        path.push(test);
        self.links.tests.push(TestLink {
            id: id.to_owned(),
            file: self.file.to_owned(),
            line,
            test: TestRef {
                binary: self.target.binary.clone(),
                name: path.join("::"),
            },
        });
    }

    fn derived(
        &mut self,
        attr_line: usize,
        line: usize,
        name: &str,
        module: String,
        except: Vec<String>,
    ) {
        let mut path = self.module.clone();
        path.push(name.to_owned());
        let library = self
            .target
            .binary
            .split("::")
            .next()
            .unwrap_or_default()
            .to_owned();
        self.links.derived.push(DerivedLink {
            file: self.file.to_owned(),
            line,
            attr_line,
            test: TestRef {
                binary: self.target.binary.clone(),
                name: path.join("::"),
            },
            library,
            module,
            except,
        });
    }

    fn bad_link(&mut self, line: usize, message: String) {
        self.links.problems.push(Problem::new(
            ProblemKind::BadLink,
            None,
            self.file,
            line,
            message,
        ));
    }
}

/// The tests a function named `name` stands for: itself, or, with `#[variants(a = .., b = ..)]`,
/// `name_a` and `name_b` (what the `variants` attribute generates).
fn variant_names(attrs: &[Attribute], name: &str) -> Vec<String> {
    let variants = attrs.iter().find(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == VARIANTS)
    });
    let Some(attr) = variants else {
        return vec![name.to_owned()];
    };
    let parsed =
        attr.parse_args_with(Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated);
    match parsed {
        Ok(list) => list
            .iter()
            .filter_map(|v| v.path.get_ident())
            .map(|suffix| format!("{name}_{suffix}"))
            .collect(),
        Err(_) => vec![name.to_owned()],
    }
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => path_name(&p.path),
        other => quote_like(other),
    }
}

fn path_name(p: &syn::Path) -> String {
    p.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn quote_like(ty: &syn::Type) -> String {
    let span = ty.span();
    format!("<type at line {}>", span.start().line)
}

/// Which test binary a source file belongs to, and its module path inside it, derived from the
/// standard Cargo layout (the scanner does not follow `#[path]` attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The nextest binary ID.
    pub binary: String,
    /// The module path of the file inside that binary.
    pub module: Vec<String>,
}

impl Target {
    /// Derives the target of `path` from the nearest `Cargo.toml` with a `[package]` above it.
    pub fn of(repo_root: &Path, path: &Path) -> Target {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Some(name) = package_name(&d.join("Cargo.toml")) {
                return Target::in_package(&name, path.strip_prefix(d).unwrap_or(path));
            }
            if d == repo_root {
                break;
            }
            dir = d.parent();
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        Target {
            binary: format!("example/{stem}"),
            module: Vec::new(),
        }
    }

    /// The target of a file at `rel` (relative to the package directory) in package `pkg`.
    pub fn in_package(pkg: &str, rel: &Path) -> Target {
        let parts: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let strs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let module_of = |rest: &[&str]| -> Vec<String> {
            rest.iter()
                .filter(|p| **p != "mod")
                .map(|p| p.to_string())
                .collect()
        };
        let (binary, module) = match strs.as_slice() {
            ["src", "main"] => (format!("{pkg}::bin/{pkg}"), Vec::new()),
            ["src", "bin", name] => (format!("{pkg}::bin/{name}"), Vec::new()),
            ["src", "bin", name, rest @ ..] => (format!("{pkg}::bin/{name}"), module_of(rest)),
            ["src", "lib"] => (pkg.to_owned(), Vec::new()),
            ["src", rest @ ..] => (pkg.to_owned(), module_of(rest)),
            ["tests", name] => (format!("{pkg}::{name}"), Vec::new()),
            ["tests", name, "main"] => (format!("{pkg}::{name}"), Vec::new()),
            ["tests", name, rest @ ..] => (format!("{pkg}::{name}"), module_of(rest)),
            ["examples", name, ..] => (format!("{pkg}::example/{name}"), Vec::new()),
            ["benches", name, ..] => (format!("{pkg}::bench/{name}"), Vec::new()),
            _ => (pkg.to_owned(), Vec::new()),
        };
        Target { binary, module }
    }
}

fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_one(text: &str, target: Target) -> Links {
        let mut links = Links::default();
        scan_text("crates/x/src/a.rs", text, &target, &mut links);
        links
    }

    /// `text` scanned as the end-to-end file of chapter `identity`.
    fn scan_e2e(text: &str) -> Links {
        scan_one(
            text,
            Target::in_package("x", Path::new("tests/e2e/identity.rs")),
        )
    }

    /// The (ID, test name) pairs of `links`.
    fn pairs(links: &Links) -> Vec<(&str, &str)> {
        links
            .tests
            .iter()
            .map(|t| (t.id.as_str(), t.test.name.as_str()))
            .collect()
    }

    #[test]
    fn a_function_with_variants_stands_for_one_test_per_variant() {
        let text = "#[verifies(\"a.b\")]\n#[variants(root = Mode::Root, rootless = Mode::Rootless)]\nfn runs(mode: Mode) {}\n\n#[verifies(\"a.c\")]\nfn plain() {}\n";
        let links = scan_e2e(text);
        assert_eq!(
            pairs(&links),
            [
                ("a.b", "identity::runs_root"),
                ("a.b", "identity::runs_rootless"),
                ("a.c", "identity::plain")
            ]
        );
        assert!(links.tests.iter().all(|t| t.test.binary == "x::e2e"));
    }

    #[test]
    fn verifies_in_links_only_the_named_variant() {
        let text = "#[verifies(\"a.b\")]\n#[verifies_in(rootless, \"a.c\", \"a.d\")]\n#[variants(root = Mode::Root, rootless = Mode::Rootless)]\nfn runs(mode: Mode) {}\n";
        let links = scan_e2e(text);
        assert_eq!(
            pairs(&links),
            [
                ("a.b", "identity::runs_root"),
                ("a.b", "identity::runs_rootless"),
                ("a.c", "identity::runs_rootless"),
                ("a.d", "identity::runs_rootless")
            ]
        );
        assert!(links.problems.is_empty(), "{:?}", links.problems);
    }

    #[test]
    fn verifies_in_a_variant_nobody_defines_is_a_bad_link() {
        for (text, says) in [
            (
                "#[verifies_in(rootles, \"a.c\")]\n#[variants(root = 1, rootless = 2)]\nfn runs(m: u8) {}\n",
                "names the variant `rootles`",
            ),
            (
                "#[verifies_in(rootless, \"a.c\")]\nfn plain() {}\n",
                "names the variant `rootless`",
            ),
            (
                "#[verifies_in(\"a.c\")]\n#[variants(root = 1)]\nfn runs(m: u8) {}\n",
                "takes a variant and string literals",
            ),
            (
                "#[verifies_in(root)]\n#[variants(root = 1)]\nfn runs(m: u8) {}\n",
                "names no requirement ID",
            ),
        ] {
            let links = scan_one(text, Target::in_package("x", Path::new("tests/e2e/a.rs")));
            assert!(links.tests.is_empty(), "{text}");
            assert_eq!(links.problems.len(), 1, "{text}");
            assert_eq!(links.problems[0].kind, ProblemKind::BadLink);
            assert_eq!(links.problems[0].line, 1);
            assert!(
                links.problems[0].message.contains(says),
                "{text}: {:?}",
                links.problems
            );
        }
    }

    #[test]
    fn finds_implementations_with_their_source() {
        let text = "use m::implements;\n\n/// Doc.\n#[implements(\"a.b\", \"a.c\")]\npub fn f() {\n    1;\n}\n";
        let links = scan_one(text, Target::in_package("x", Path::new("src/a.rs")));
        assert_eq!(links.implementations.len(), 2);
        let i = &links.implementations[0];
        assert_eq!((i.id.as_str(), i.line, i.end_line), ("a.b", 3, 7));
        assert_eq!(i.item, "fn f");
        assert!(
            i.source.starts_with("/// Doc.\n#[implements"),
            "{}",
            i.source
        );
        assert!(i.source.ends_with('}'));
    }

    #[test]
    fn names_tests_as_nextest_does() {
        let text = "mod identity {\n  #[test]\n  #[verifies(\"a.b\")]\n  fn works() {}\n}\n";
        let links = scan_one(
            text,
            Target::in_package("locald-engine", Path::new("tests/e2e.rs")),
        );
        assert_eq!(links.tests.len(), 1);
        assert_eq!(links.tests[0].test.binary, "locald-engine::e2e");
        assert_eq!(links.tests[0].test.name, "identity::works");
        let unit = scan_one(
            text,
            Target::in_package("locald-engine", Path::new("src/plan/mod.rs")),
        );
        assert_eq!(unit.tests[0].test.binary, "locald-engine");
        assert_eq!(unit.tests[0].test.name, "plan::identity::works");
    }

    #[test]
    fn impl_methods_and_bad_links_are_reported() {
        let text = "impl P {\n  #[implements(\"a.b\")]\n  fn m(&self) {}\n}\n#[implements]\nfn g() {}\n#[verifies(\"a.b\")]\nstruct S;\n#[implements(a.b)]\nfn h() {}\n";
        let links = scan_one(text, Target::in_package("x", Path::new("src/lib.rs")));
        assert_eq!(links.implementations.len(), 1);
        assert_eq!(links.implementations[0].item, "fn P::m");
        let kinds: Vec<_> = links.problems.iter().map(|p| (p.kind, p.line)).collect();
        assert_eq!(
            kinds,
            vec![
                (ProblemKind::BadLink, 5),
                (ProblemKind::BadLink, 7),
                (ProblemKind::BadLink, 9)
            ]
        );
    }

    #[test]
    fn items_inside_a_macro_invocation_are_scanned() {
        let text = "mod m {\n  tests! {\n    /// Doc.\n    #[verifies(\"a.b\")]\n    fn works() {}\n  }\n}\nmacro_rules! t { ($x:tt) => { #[verifies(\"a.c\")] fn f() {} } }\nt! { 1 + }\n";
        let links = scan_one(text, Target::in_package("p", Path::new("tests/e2e.rs")));
        let found: Vec<_> = links
            .tests
            .iter()
            .map(|t| (t.id.as_str(), t.test.name.as_str(), t.line))
            .collect();
        // A macro's definition and a body that is not items are left alone.
        assert_eq!(found, vec![("a.b", "m::works", 3)]);
        assert!(links.problems.is_empty(), "{:?}", links.problems);
    }

    /// A test may take its IDs from the `#[verifies]` of a module of its package's library.
    #[test]
    fn a_test_verifying_a_module_links_to_its_functions_ids_but_the_excepted() {
        let mut links = Links::default();
        let lib = "#[verifies(\"a.b\")]\npub fn one() {}\n#[verifies(\"a.c\", \"a.b\")]\npub fn two() {}\n";
        scan_text(
            "crates/p/src/checks/a.rs",
            lib,
            &Target::in_package("p", Path::new("src/checks/a.rs")),
            &mut links,
        );
        // Another package's module of the same name counts for nothing.
        scan_text(
            "crates/q/src/checks/x.rs",
            "#[verifies(\"x.y\")]\nfn f() {}\n",
            &Target::in_package("q", Path::new("src/checks/x.rs")),
            &mut links,
        );
        let tests = "gen! {\n    #[verifies(module = \"checks\", except = [\"a.c\"])]\n    fn all_but_c() {}\n}\n#[verifies(module = \"checks\")]\nfn all() {}\n#[verifies(module = \"checks\", except = [\"a.z\"])]\nfn typo() {}\n#[verifies(module = \"nothing\")]\nfn empty() {}\n#[verifies(modul = \"checks\")]\nfn bad() {}\n";
        scan_text(
            "crates/p/tests/conform.rs",
            tests,
            &Target::in_package("p", Path::new("tests/conform.rs")),
            &mut links,
        );
        assert_eq!(links.derived.len(), 4);
        links.resolve_derived();
        assert!(links.derived.is_empty());
        let of = |name: &str| -> Vec<&str> {
            links
                .tests
                .iter()
                .filter(|t| t.test.binary == "p::conform" && t.test.name == name)
                .map(|t| t.id.as_str())
                .collect()
        };
        assert_eq!(of("all_but_c"), vec!["a.b"]);
        assert_eq!(of("all"), vec!["a.b", "a.c"]);
        assert_eq!(of("typo"), vec!["a.b", "a.c"]);
        assert!(of("empty").is_empty());
        let problems: Vec<_> = links
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0].0, 11);
        assert!(
            problems[0].1.contains("(or, on a test, `module"),
            "{problems:?}"
        );
        assert_eq!(problems[1].0, 7);
        assert!(problems[1].1.contains("excepts `a.z`"), "{problems:?}");
        assert_eq!(problems[2].0, 9);
        assert!(
            problems[2]
                .1
                .contains("no function of module `nothing` of `p`"),
            "{problems:?}"
        );
    }

    #[test]
    fn binary_ids_follow_cargo_layout() {
        let t = |p: &str| Target::in_package("pkg", Path::new(p)).binary;
        assert_eq!(t("src/main.rs"), "pkg::bin/pkg");
        assert_eq!(t("src/bin/tool.rs"), "pkg::bin/tool");
        assert_eq!(t("tests/e2e/main.rs"), "pkg::e2e");
        assert_eq!(
            Target::in_package("pkg", Path::new("tests/e2e/names.rs")).module,
            vec!["names"]
        );
        assert_eq!(t("src/a/b.rs"), "pkg");
        assert_eq!(
            Target::in_package("pkg", Path::new("src/a/mod.rs")).module,
            vec!["a"]
        );
    }
}
