use locald_spec_macros::{variants, verifies_in};

#[verifies_in(rootles, "isolation.namespaces.user-nested")]
#[variants(root = 0, rootless = 1)]
fn runs_in(_mode: u8) {}

#[variants(root = 0, rootless = 1)]
#[verifies_in(rootless, "isolation.namespaces.user-nested")]
fn below(_mode: u8) {}

fn main() {
    runs_in(0);
    below(0);
}
