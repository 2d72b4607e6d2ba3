//! Apply's podman secret steps: removing quadgen's leaving secrets (after the stops) and creating
//! or replacing the wanted ones (after the files are written, before any start). A failure is
//! reported and left owed in the manifest, so the next install tries again.

use super::{Report, SecretValues, Step, UnitFailure};
use crate::host::systemd::{SecretOwner, Systemd};
use crate::install::manifest::Pending;

/// Removes each secret that is still quadgen's (by its label; one that is gone or someone
/// else's is only forgotten). Returns the removals still owed.
pub(super) fn remove(names: &[String], systemd: &mut impl Systemd, report: &mut Report) -> Pending {
    let mut owed = Pending::default();
    if systemd.is_offline() {
        return owed;
    }
    for name in names {
        let result = match systemd.podman_secret_owner(name) {
            Ok(SecretOwner::Quadgen) => systemd.podman_secret_rm(name),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            owed.secret_rm.push(name.clone());
            report.failed.push(UnitFailure {
                unit: name.clone(),
                step: Step::SecretRm,
                error: e.to_string(),
                hint: format!("podman secret inspect {name}"),
            });
        }
    }
    owed
}

/// Creates or replaces each secret from its value. Returns the names still owed.
pub(super) fn sync(
    names: &[String],
    values: &SecretValues,
    systemd: &mut impl Systemd,
    report: &mut Report,
) -> Vec<String> {
    let mut owed = Vec::new();
    if systemd.is_offline() {
        return owed;
    }
    for name in names {
        let result = match values.get(name) {
            Some(value) => systemd
                .podman_secret_create(name, value)
                .map_err(|e| e.to_string()),
            None => Err("its value was not read (internal error)".to_string()),
        };
        if let Err(error) = result {
            owed.push(name.clone());
            report.failed.push(UnitFailure {
                unit: name.clone(),
                step: Step::SecretCreate,
                error,
                hint: format!("podman secret inspect {name}"),
            });
        }
    }
    owed
}
