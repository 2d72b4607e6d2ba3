//! Carrying out a [`Plan`]: the only place that writes unit files or calls systemd.
//!
//! Order, each step crash-safe:
//! 1. the *intent* manifest (old and next hash of every file, and the systemd work owed);
//! 2. stop units that leave, and containers on a network that is recreated (systemd still has
//!    their old definitions), then `podman network rm`;
//! 3. back up forced-over hand edits, write changed files (temp + fsync + rename), remove files
//!    that left, fsync the directory;
//! 4. one `daemon-reload`;
//! 5. one `restart`, one `try-restart`, one `start` (each one systemd transaction);
//! 6. the final manifest, last (removed instead when nothing is quadgen's any more: uninstall).
//!
//! With [`crate::systemd::Offline`] (`--no-systemd`) no call runs: files are written and removed,
//! and the final manifest keeps all the systemd work as owed, for the next install with systemd.
//! A leaving unit whose stop fails stays (file and record) unless systemd says it is down.
//!
//! A kill at any point leaves the intent manifest or the final one: the next install sees every
//! file on disk as ours (old or next hash), writes what is still missing and redoes the owed
//! systemd work. A failed start or restart does not stop the install: it is reported per unit and
//! the manifest still records what was written.

use std::path::Path;

use serde::Serialize;

use crate::fsio::{self, IoError};
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::plan::{FileOp, Plan};
use crate::systemd::{Systemd, SystemdError};

/// A unit that did not come up, or a step that failed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitFailure {
    /// The unit (or podman network) concerned.
    pub unit: String,
    /// What was being done: `stop`, `restart`, `start`, `network rm`.
    pub step: String,
    pub error: String,
    /// Where to look: `journalctl -u UNIT -n 50`.
    pub hint: String,
}

/// What an install did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Unit files written.
    pub written: Vec<String>,
    /// Unit files removed.
    pub removed: Vec<String>,
    /// Hand edits kept: (file, backup name).
    pub backups: Vec<(String, String)>,
    /// Whether the manifest was written.
    pub manifest_written: bool,
    /// Units that failed.
    pub failed: Vec<UnitFailure>,
}

/// An install that could not be carried out; the next install converges from where it stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(
        "{0}; the files are written and the manifest records the work still owed, so run install again once systemd works"
    )]
    Reload(SystemdError),
}

fn hint(unit: &str) -> String {
    format!("journalctl -u {unit} -n 50")
}

/// Carries out `plan` in `root`. `old` is the manifest the plan was made from; `now_unix_secs`
/// names backups. The caller holds the lock and has checked the plan has no conflicts.
pub fn apply(
    plan: &Plan,
    root: &Path,
    old: Option<&Manifest>,
    systemd: &mut impl Systemd,
    now_unix_secs: u64,
) -> Result<Report, ApplyError> {
    let mut report = Report::default();
    if plan.is_noop() {
        return Ok(report);
    }
    let touches = plan.files.iter().any(|f| f.op != FileOp::Adopt) || !plan.steps.is_empty();
    if touches {
        let intent = plan.intent(old);
        fsio::write_atomic(root, MANIFEST_FILE, intent.to_json().as_bytes())?;
        fsio::sync_dir(root)?;
    }

    let steps = &plan.steps;
    // Units still up after a failed stop: a leaving one keeps its file and its place in the
    // manifest, so its container is never left running unmanaged; the next install tries again.
    let mut still_up: Vec<String> = Vec::new();
    if let Err(e) = systemd.stop(&steps.stop) {
        match systemd.show(&steps.stop) {
            Ok(states) => {
                for s in states.iter().filter(|s| s.is_up()) {
                    still_up.push(s.unit.clone());
                    report.failed.push(UnitFailure {
                        unit: s.unit.clone(),
                        step: "stop".into(),
                        error: e.to_string(),
                        hint: hint(&s.unit),
                    });
                }
            }
            // Not known to be stopped is not stopped: every unit keeps its file and record.
            Err(show) => {
                for unit in &steps.stop {
                    still_up.push(unit.clone());
                    report.failed.push(UnitFailure {
                        unit: unit.clone(),
                        step: "stop".into(),
                        error: format!("{e}; and its state is unknown: {show}"),
                        hint: hint(unit),
                    });
                }
            }
        }
    }
    let mut network_rm_owed = Vec::new();
    for name in &steps.network_rm {
        if let Err(e) = systemd.podman_network_rm(name) {
            let text = e.to_string();
            // Already gone (an interrupted install removed it): nothing to do.
            if !text.contains("not found") && !text.contains("no such network") {
                network_rm_owed.push(name.clone());
                report.failed.push(UnitFailure {
                    unit: name.clone(),
                    step: "network rm".into(),
                    error: text,
                    hint: format!("podman network inspect {name}"),
                });
            }
        }
    }

    let mut dir_changed = false;
    for f in &plan.files {
        if f.backup {
            let backup = fsio::backup_name(&f.file_name, now_unix_secs, |n| root.join(n).exists());
            fsio::rename(root, &f.file_name, &backup)?;
            report.backups.push((f.file_name.clone(), backup));
            dir_changed = true;
        }
        match (f.op, &f.new_text) {
            (op, Some(text)) if op.writes() => {
                fsio::write_atomic(root, &f.file_name, text.as_bytes())?;
                report.written.push(f.file_name.clone());
                dir_changed = true;
            }
            (FileOp::Remove, _) if still_up.contains(&f.service) => {}
            (FileOp::Remove, _) => {
                if !f.backup {
                    fsio::remove(root, &f.file_name)?;
                }
                report.removed.push(f.file_name.clone());
                dir_changed = true;
            }
            _ => {}
        }
    }
    if dir_changed {
        fsio::sync_dir(root)?;
    }

    if steps.reload {
        systemd.daemon_reload().map_err(ApplyError::Reload)?;
    }
    for (step, units) in [
        ("restart", &steps.restart),
        ("try-restart", &steps.try_restart),
        ("start", &steps.start),
    ] {
        if units.is_empty() {
            continue;
        }
        let result = match step {
            "restart" => systemd.restart(units),
            "try-restart" => systemd.try_restart(units),
            _ => systemd.start(units),
        };
        if let Err(e) = result {
            let states = systemd.show(units).unwrap_or_default();
            let down: Vec<&str> = states
                .iter()
                .filter(|s| !s.is_up() && (step != "try-restart" || s.active_state == "failed"))
                .map(|s| s.unit.as_str())
                .collect();
            let blamed: Vec<&str> = if down.is_empty() {
                units.iter().map(String::as_str).collect()
            } else {
                down
            };
            for unit in blamed {
                report.failed.push(UnitFailure {
                    unit: unit.to_string(),
                    step: step.to_string(),
                    error: e.to_string(),
                    hint: hint(unit),
                });
            }
        }
    }

    // A network that could not be removed keeps its old definition: the next install tries the
    // recreation again (and reports it again) until it works.
    let mut done = plan.manifest.clone();
    for f in plan
        .files
        .iter()
        .filter(|f| f.op == FileOp::Remove && still_up.contains(&f.service))
    {
        if let Some(record) = old.and_then(|m| m.files.get(&f.file_name)) {
            done.files.insert(f.file_name.clone(), record.clone());
        }
    }
    if !network_rm_owed.is_empty() {
        done.pending = Some(crate::manifest::Pending {
            network_rm: network_rm_owed,
            ..Default::default()
        });
    }
    // Without systemd nothing was reloaded, started or removed: all of it stays owed.
    if systemd.is_offline() {
        let owed = steps.pending();
        done.pending = (!owed.is_empty()).then_some(owed);
    }
    if done.files.is_empty() && done.pending.is_none() {
        // Nothing left that is quadgen's (uninstall): no manifest either.
        fsio::remove(root, MANIFEST_FILE)?;
    } else {
        fsio::write_atomic(root, MANIFEST_FILE, done.to_json().as_bytes())?;
        report.manifest_written = true;
    }
    fsio::sync_dir(root)?;
    Ok(report)
}

#[cfg(test)]
mod tests;
