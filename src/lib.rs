//! quadgen: compile one TOML inventory of containers, networks and volumes into Podman Quadlet
//! units, and install exactly what changed.
//!
//! The pipeline is a functional core with I/O at the edges:
//! [`inventory::parse`] → [`model::validate`] → [`quadlet::lower`] → [`render::render_all`], then
//! [`build`] writes the files, or [`plan::plan`] decides what install changes in a unit
//! directory given its [`manifest`], and [`apply::apply`] does it through [`systemd::Systemd`].

pub mod apply;
pub mod auto_update;
pub mod build;
pub mod cli;
pub mod diagnostic;
pub mod doctor;
pub mod fsio;
pub mod host_units;
pub mod import;
pub mod install;
pub mod inventory;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod quadlet;
pub mod render;
pub mod status;
pub mod systemd;
pub mod systemd_keys;
pub mod unit_change;
pub mod unitfile;
pub mod version;
