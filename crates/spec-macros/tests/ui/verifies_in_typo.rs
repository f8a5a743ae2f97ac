use locald_spec_macros::{variants, verifies_in};

#[verifies_in(rootless, "isolation.namespaces.user-nestd")]
#[variants(root = 0, rootless = 1)]
fn runs_in(_mode: u8) {}

fn main() {
    runs_in(0);
}
