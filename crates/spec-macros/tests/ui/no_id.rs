use locald_spec_macros::implements;

#[implements]
pub fn nothing() {}

#[implements(identity.passwd.current-user)]
pub fn not_a_string() {}

fn main() {}
