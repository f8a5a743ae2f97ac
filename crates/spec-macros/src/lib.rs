//! Attributes that link the reference code to the requirements of the book.
//!
//! ```
//! use locald_spec_macros::{implements, verifies};
//!
//! #[implements("identity.passwd.current-user")]
//! pub fn passwd_entry(uid: u32) -> String {
//!     format!("user{uid}:x:{uid}:{uid}::/:/bin/sh")
//! }
//!
//! #[verifies("identity.passwd.current-user")]
//! fn current_user_resolves() {
//!     assert!(passwd_entry(1000).starts_with("user1000:"));
//! }
//! # current_user_resolves();
//! ```
//!
//! Both attributes leave the item unchanged (`#[implements]` adds a line to its rustdoc). Their
//! work is done at compile time: an ID the book does not define is a compile error naming the
//! closest defined ID. The book is the one above this crate when it is built (or
//! `LOCALD_SPEC_ROOT`); with none, as when the published crate is built downstream, only the
//! form of each ID is checked. The `locald-spec` checker finds the attributes in the sources and joins
//! them with the book and with the test runner's report.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{LitStr, Token};

mod ids {
    include!(concat!(env!("OUT_DIR"), "/ids.rs"));
}

/// Marks an item as (part of) the implementation of one or more requirements.
///
/// Takes one or more string literals, each an ID defined by a requirement block of the book.
#[proc_macro_attribute]
pub fn implements(attr: TokenStream, item: TokenStream) -> TokenStream {
    link("implements", attr, item)
}

/// Marks a test as verifying one or more requirements.
///
/// Takes one or more string literals, each an ID defined by a requirement block of the book.
/// The requirement counts as verified only when this test ran and passed in the same pipeline.
#[proc_macro_attribute]
pub fn verifies(attr: TokenStream, item: TokenStream) -> TokenStream {
    link("verifies", attr, item)
}

/// Instantiates a test function once per variant: on `fn name(arg: T) { ... }`,
/// `#[variants(a = EXPR_A, b = EXPR_B)]` keeps the function and adds a `#[test] fn name_a()`
/// calling `name(EXPR_A)` and a `#[test] fn name_b()` calling `name(EXPR_B)`. The function's
/// `#[verifies]` attribute stays on it; the `locald-spec` link scanner knows that the tests that
/// ran are `name_a` and `name_b`, so one definition verifies its requirements in every variant
/// (the end-to-end tests' root and rootless runs).
///
/// ```
/// use locald_spec_macros::{variants, verifies};
///
/// #[derive(Debug, Clone, Copy)]
/// enum Mode { Root, Rootless }
///
/// #[verifies("identity.passwd.current-user")]
/// #[variants(root = Mode::Root, rootless = Mode::Rootless)]
/// fn runs_in(mode: Mode) {
///     assert!(matches!(mode, Mode::Root | Mode::Rootless));
/// }
/// // Under `cargo test`, `runs_in_root` and `runs_in_rootless` are the tests that run.
/// # runs_in(Mode::Root);
/// ```
#[proc_macro_attribute]
pub fn variants(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parser = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated;
    let variants = match syn::parse::Parser::parse(parser, attr) {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "#[variants] needs at least one `name = expression`",
            );
            return with_item(e.to_compile_error(), item);
        }
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    let func = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    let name = &func.sig.ident;
    let mut tests = proc_macro2::TokenStream::new();
    for v in &variants {
        let Some(suffix) = v.path.get_ident() else {
            let e = syn::Error::new_spanned(&v.path, "a variant's name is one identifier");
            return with_item(e.to_compile_error(), item);
        };
        let test = syn::Ident::new(&format!("{name}_{suffix}"), suffix.span());
        let value = &v.value;
        tests.extend(quote! {
            #[test]
            fn #test() {
                #name(#value)
            }
        });
    }
    quote!(#func #tests).into()
}

/// Marks one variant of a `#[variants]` test as verifying requirements the others do not.
///
/// `#[verifies_in(rootless, "isolation.namespaces.user-nested")]` on `fn name` links only the
/// generated test `name_rootless` to the IDs: a behaviour that exists in one variant (the nested
/// user namespace is rootless-only) is claimed where it is shown, and the rest of the function's
/// `#[verifies]` list is written once for every variant. The IDs are checked like
/// `#[verifies]`'s, and the variant against the `#[variants]` attribute below it: a variant it
/// does not define, or no `#[variants]` below, is a compile error (the `locald-spec` link
/// scanner reports the same).
///
/// ```
/// use locald_spec_macros::{variants, verifies, verifies_in};
///
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Mode { Root, Rootless }
///
/// #[verifies("identity.passwd.current-user")]
/// #[verifies_in(rootless, "isolation.namespaces.user-nested")]
/// #[variants(root = Mode::Root, rootless = Mode::Rootless)]
/// fn runs_in(mode: Mode) {
///     assert!(matches!(mode, Mode::Root | Mode::Rootless));
/// }
/// # runs_in(Mode::Rootless);
/// ```
#[proc_macro_attribute]
pub fn verifies_in(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = syn::parse::Parser::parse(
        |input: syn::parse::ParseStream| {
            let variant: syn::Ident = input.parse()?;
            if input.is_empty() {
                return Ok((variant, Punctuated::new()));
            }
            input.parse::<Token![,]>()?;
            let ids = Punctuated::<LitStr, Token![,]>::parse_terminated(input)?;
            Ok((variant, ids))
        },
        attr,
    );
    let (variant, ids) = match parsed {
        Ok((variant, ids)) if !ids.is_empty() => (variant, ids),
        Ok(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "#[verifies_in] needs a variant and at least one requirement ID, \
                 e.g. #[verifies_in(rootless, \"isolation.namespaces.user-nested\")]",
            );
            return with_item(e.to_compile_error(), item);
        }
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    let mut errors: proc_macro2::TokenStream = ids.iter().filter_map(unknown_id_error).collect();
    if let Err(e) = check_variant(&variant, item.clone()) {
        errors.extend(e.to_compile_error());
    }
    if errors.is_empty() {
        item
    } else {
        with_item(errors, item)
    }
}

/// `variant` must be one that the `#[variants]` below `#[verifies_in]` on the function defines
/// (attributes expand from the top: one above would already have replaced the function).
fn check_variant(variant: &syn::Ident, item: TokenStream) -> syn::Result<()> {
    let func = syn::parse::<syn::ItemFn>(item)?;
    let Some(attr) = func.attrs.iter().find(|a| a.path().is_ident("variants")) else {
        return Err(syn::Error::new(
            variant.span(),
            "#[verifies_in] goes above a #[variants] attribute on the same function",
        ));
    };
    let defined =
        attr.parse_args_with(Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated)?;
    if defined.iter().any(|v| v.path.is_ident(variant)) {
        return Ok(());
    }
    let names: Vec<String> = defined
        .iter()
        .filter_map(|v| v.path.get_ident().map(ToString::to_string))
        .collect();
    Err(syn::Error::new(
        variant.span(),
        format!(
            "#[variants] defines no variant `{variant}` (it defines: {})",
            names.join(", ")
        ),
    ))
}

/// A requirement ID as a `&'static str`, checked at compile time against the book.
///
/// The engine tags every entry it puts into a bundle with the ID of the requirement that asks for
/// it; writing the ID through this macro makes an undefined or misspelt one a compile error.
///
/// ```
/// const PROC: &str = locald_spec_macros::requirement!("filesystems.proc");
/// assert_eq!(PROC, "filesystems.proc");
/// ```
#[proc_macro]
pub fn requirement(input: TokenStream) -> TokenStream {
    let lit = match syn::parse::<LitStr>(input) {
        Ok(l) => l,
        Err(e) => return e.to_compile_error().into(),
    };
    match unknown_id_error(&lit) {
        Some(e) => e.into(),
        None => quote!(#lit).into(),
    }
}

/// Whether `id` has the form of a requirement ID (spec-core's pattern, embedded by the build
/// script: the macros need spec-core only when they are built).
fn is_valid_id(id: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(ids::ID_PATTERN).expect("spec-core's pattern"))
        .is_match(id)
}

/// The compile error for a malformed ID or one the book does not define, if `lit` is one.
fn unknown_id_error(lit: &LitStr) -> Option<proc_macro2::TokenStream> {
    let id = lit.value();
    if !is_valid_id(&id) {
        let e = syn::Error::new(
            lit.span(),
            format!(
                "malformed requirement ID `{id}`: use two or more dot-separated lower-case \
                 segments of letters, digits and inner hyphens, e.g. `identity.passwd.current-user`"
            ),
        );
        return Some(e.to_compile_error());
    }
    // Without a book (a packaged crate built downstream) the form is all there is to check.
    let ids = ids::IDS?;
    if ids.binary_search(&id.as_str()).is_ok() {
        return None;
    }
    let hint = closest(ids, &id)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    Some(
        syn::Error::new(
            lit.span(),
            format!(
                "unknown requirement ID `{id}`: no requirement block of the book defines it{hint}"
            ),
        )
        .to_compile_error(),
    )
}

fn link(kind: &str, attr: TokenStream, item: TokenStream) -> TokenStream {
    let parser = Punctuated::<LitStr, Token![,]>::parse_terminated;
    let lits = match syn::parse::Parser::parse(parser, attr) {
        Ok(l) => l,
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    if lits.is_empty() {
        let e = syn::Error::new(
            Span::call_site(),
            format!(
                "#[{kind}] needs at least one requirement ID, e.g. #[{kind}(\"identity.passwd.current-user\")]"
            ),
        );
        return with_item(e.to_compile_error(), item);
    }
    let mut errors = proc_macro2::TokenStream::new();
    for lit in &lits {
        errors.extend(unknown_id_error(lit));
    }
    if !errors.is_empty() {
        return with_item(errors, item);
    }
    if kind == "implements" {
        let list = lits
            .iter()
            .map(|l| format!("`{}`", l.value()))
            .collect::<Vec<_>>()
            .join(", ");
        let doc =
            format!(" Implements requirement {list} of the locald Container Engine Specification.");
        let item = proc_macro2::TokenStream::from(item);
        return quote!(#[doc = ""] #[doc = #doc] #item).into();
    }
    item
}

fn with_item(errors: proc_macro2::TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    quote!(#errors #item).into()
}

fn closest(ids: &[&'static str], id: &str) -> Option<&'static str> {
    ids.iter()
        .map(|c| (strsim::levenshtein(id, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}
