use locald_spec_macros::implements;

#[implements("network.carrier-pigeon")]
pub fn send() {}

fn main() {}
