//! The host edge: everything that reads or changes the world outside quadgen's own data. Imports
//! only [`crate::unit`]; install and doctor drive it.
//!
//! [`fs`] (reading the unit directory, crash-safe writes, the lock), [`systemd`] (`systemctl` and
//! `podman`, behind the [`systemd::Systemd`] trait), [`journal`] (podman auto-update's last
//! results), [`units`] (the units that run quadgen on other hosts).

pub mod fs;
pub mod journal;
pub mod systemd;
pub mod units;
