use locald_spec_macros::verifies;

#[verifies("identity.passwd.current-usr")]
fn current_user_resolves() {}

fn main() {}
