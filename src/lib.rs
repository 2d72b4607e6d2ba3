//! quadgen: compile one TOML inventory of containers, networks and volumes into Podman Quadlet
//! units, and install exactly what changed.
//!
//! The pipeline is a functional core with I/O at the edges:
//! [`inventory::parse`] → [`model::validate`] → [`quadlet::lower`] → [`render::render_all`], then
//! [`build`] writes the files.

pub mod build;
pub mod cli;
pub mod diagnostic;
pub mod host_units;
pub mod inventory;
pub mod model;
pub mod quadlet;
pub mod render;
pub mod unitfile;
pub mod version;
