use locald_spec_macros::{implements, verifies};

#[implements("identity.passwd.current-user", "identity.group.current-group")]
pub fn passwd_entry() -> u32 {
    0
}

#[verifies("identity.passwd.current-user")]
fn check() {
    assert_eq!(passwd_entry(), 0);
}

fn main() {
    check();
}
