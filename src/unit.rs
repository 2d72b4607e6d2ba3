//! The leaf: unit-file vocabulary every stage shares, importing nothing of quadgen's.
//!
//! [`kind`] (which Quadlet file, which section), [`escape`] (systemd/quadlet value syntax),
//! [`parse`] (reading unit text back), [`hash`] (content hashes), [`directives`] (the directives
//! systemd 257 knows in `[Unit]`, `[Service]` and `[Install]`), [`change`] (which changes a running
//! service sees: restart or reload only).

pub mod change;
pub mod directives;
pub mod escape;
pub mod hash;
pub mod kind;
pub mod parse;

pub use hash::sha256_hex;
pub use kind::{Section, UnitKind};
