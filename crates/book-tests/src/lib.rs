//! Holds the skeptic-generated tests of the book's Rust examples (see `tests/book.rs`); the
//! dependencies listed in Cargo.toml are what those examples may use.
