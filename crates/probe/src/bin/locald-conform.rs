//! `locald-conform`: runs the static `locald-probe` under every available engine configuration
//! and writes the conformance matrix. See [`locald_probe::conform`].

fn main() -> std::process::ExitCode {
    locald_probe::conform::main()
}
