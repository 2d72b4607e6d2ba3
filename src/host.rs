//! The host edge: everything that reads or changes the world outside quadgen's own data. Imports
//! only [`crate::unit`]; install and doctor drive it.
//!
//! [`fs`] (reading the unit directory, crash-safe writes, the lock), [`systemd`] (`systemctl`,
//! behind the [`systemd::Systemd`] trait), [`podman`] (podman's commands and their exit codes), [`journal`] (podman auto-update's last
//! results), [`units`] (the units that run quadgen on other hosts).

pub mod editor;
pub mod fs;
pub mod journal;
pub mod podman;
pub mod process;
pub mod scope;
pub mod secrets;
pub mod systemd;
pub mod units;
