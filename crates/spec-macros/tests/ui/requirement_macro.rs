const OK: &str = locald_spec_macros::requirement!("filesystems.proc");
const BAD: &str = locald_spec_macros::requirement!("filesystems.prok");

fn main() {
    println!("{OK}{BAD}");
}
