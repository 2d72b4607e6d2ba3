//! quadgen: compile one TOML inventory of containers, networks and volumes into Podman Quadlet
//! units, and install exactly what changed.
//!
//! # Layout: the folders are the pipeline
//!
//! ```text
//! unit/     leaf vocabulary: UnitKind, Section, escaping, reading unit text, sha256,
//!           systemd's directive table, which changes a service sees      (pure)
//! compile/  inventory text → diagnostic → inventory → version → model → quadlet → render;
//!           one entry, compile::compile                                  (pure)
//! host/     the world: fs (reads, atomic writes, lock, Observed), systemd (systemctl),
//!           podman (its commands, exit codes as types), process (running a program),
//!           journal (auto-update results), units (units for other hosts)
//! install/  manifest → plan (pure) → apply (through host::systemd::Systemd) → status;
//!           one entry for the install sequence, install::run; out_dir (build --out)
//! doctor/   host checks: gather (I/O) → checks (pure)
//! import/   other formats → inventory TOML text: Compose (yaml → interpolate → canon → load →
//!           map), pure; files are read through a trait
//! export/   the validated model → another orchestrator's objects: Kubernetes (pure)
//! cli/      clap types, dispatch, exit codes, each command's edge; the only place with anyhow
//! ```
//!
//! # The one rule: who may import whom
//!
//! A folder imports only folders to its left in `unit ← compile ← install ← doctor ← cli` and
//! `unit ← host ← install`: `unit` nothing of ours, `compile` and `host` only `unit`, `install`
//! `unit`, `compile` and `host`, `doctor` those and `install`, `import` and `export` `unit`,
//! `compile` and `host`, `cli` anything. Inside `compile`
//! a stage imports only the stages before it. `tests/architecture.rs` checks this on every
//! `crate::` path in `src/` and that the module graph has no cycle (and that no function outside
//! test code is longer than 80 lines, and that `anyhow` stays in `cli`).

pub mod cli;
pub mod compile;
pub mod doctor;
pub mod export;
pub mod host;
pub mod import;
pub mod install;
pub mod unit;
