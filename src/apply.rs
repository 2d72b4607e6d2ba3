//! Carrying out a [`Plan`]: the only place that writes unit files or calls systemd.
//!
//! Order, each step crash-safe:
//! 1. the *intent* manifest (old and next hash of every file, and the systemd work owed);
//! 2. stop units that leave, and containers on a network that is recreated (systemd still has
//!    their old definitions), then `podman network rm`;
//! 3. back up forced-over hand edits, write changed files (temp + fsync + rename), remove files
//!    that left, fsync the directory;
//! 4. one `daemon-reload`;
//! 5. one `restart`, one `try-restart`, one `start` (each one systemd transaction), then the
//!    settle watch: the units just (re)started are watched for [`SETTLE_WINDOW`], all at once (one
//!    `systemctl show` per poll), and one that died or is waiting to be restarted is reported like
//!    a failed start. A start job only proves the container was started: a health-gated one
//!    (`Notify=healthy`) also proved it serves, but any other may die right after (issue 14: one
//!    killed by podman at a sibling's start), so the window is skipped only when every unit
//!    started is health-gated;
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

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::fsio::{self, IoError};
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::plan::{FileOp, Plan};
use crate::systemd::{Systemd, SystemdError, UnitState};

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

/// How long install watches the units it just started or restarted for one that dies right
/// after its start. A container killed at a sibling's start shows within about 0.3 s of the last
/// start job; one that crashes at once within a second or two.
pub const SETTLE_WINDOW: Duration = Duration::from_secs(2);

/// How often the settle watch asks systemd (one `systemctl show` for all watched units).
pub const SETTLE_POLL: Duration = Duration::from_millis(200);

/// The services whose new unit waits for a healthy container before its start succeeds
/// (`Notify=healthy`): their start already proved them.
fn health_gated(plan: &Plan) -> BTreeSet<String> {
    plan.files
        .iter()
        .filter(|f| {
            f.new_text.as_deref().is_some_and(|text| {
                crate::unitfile::ParsedUnit::parse(text).last("Container", "Notify")
                    == Some("healthy")
            })
        })
        .map(|f| f.service.clone())
        .collect()
}

/// Whether a watched unit went down since `before` (its state right after the start jobs): not
/// up now (failed, waiting for `Restart=`, or stopped: also a clean exit, or a stop because a
/// unit it `Requires=` died), or started again by systemd in the meantime.
fn died(before: &UnitState, now: &UnitState) -> bool {
    now.is_down()
        || !now.is_up()
        || now.n_restarts > before.n_restarts
        || (!before.invocation_id.is_empty()
            && !now.invocation_id.is_empty()
            && now.invocation_id != before.invocation_id)
}

/// The settle watch (step 5): `started` are the units just started or restarted, each with the
/// step that did it. Every one that is down right away, or dies within [`SETTLE_WINDOW`], is
/// added to the report's failures with how it ended.
fn settle(
    started: &[(String, &str)],
    gated: &BTreeSet<String>,
    systemd: &mut impl Systemd,
    report: &mut Report,
) {
    // Nothing was started without systemd; health-gated units proved themselves by starting.
    if systemd.is_offline() || started.iter().all(|(unit, _)| gated.contains(unit)) {
        return;
    }
    let units: Vec<String> = started.iter().map(|(u, _)| u.clone()).collect();
    // systemd cannot be asked: nothing can be claimed either way (the start jobs succeeded).
    let Ok(baseline) = systemd.watch(&units) else {
        return;
    };
    // `try-restart` leaves a unit that was not running as it was: nothing to watch there.
    let watched: Vec<bool> = started
        .iter()
        .zip(&baseline)
        .map(|((_, step), s)| *step != "try-restart" || s.is_up())
        .collect();
    let mut dead: Vec<Option<(UnitState, Duration)>> = baseline
        .iter()
        .zip(&watched)
        .map(|(s, w)| (*w && died(s, s)).then(|| (s.clone(), Duration::ZERO)))
        .collect();
    let alive = |dead: &[Option<(UnitState, Duration)>]| {
        dead.iter().zip(&watched).any(|(d, w)| *w && d.is_none())
    };
    // The window counts from the first look, so the polls' own time is inside it.
    let start = systemd.clock();
    loop {
        let waited = systemd.clock().saturating_sub(start);
        if waited >= SETTLE_WINDOW || !alive(&dead) {
            break;
        }
        systemd.pause(SETTLE_POLL.min(SETTLE_WINDOW - waited));
        let waited = systemd.clock().saturating_sub(start);
        let Ok(now) = systemd.watch(&units) else {
            break;
        };
        for (((slot, before), now), w) in dead.iter_mut().zip(&baseline).zip(now).zip(&watched) {
            if *w && slot.is_none() && died(before, &now) {
                *slot = Some((now, waited));
            }
        }
    }
    for ((unit, step), slot) in started.iter().zip(dead) {
        let Some((state, when)) = slot else { continue };
        let then = if state.is_auto_restarting() {
            "; systemd will restart it (Restart=), but it is not running now"
        } else if state.is_up() {
            "; systemd restarted it"
        } else {
            ""
        };
        let went = if state.is_down() { "died" } else { "stopped" };
        let when = if when.is_zero() {
            "before all start jobs were done".to_string()
        } else {
            format!("within {:.1} s of the start jobs", when.as_secs_f64())
        };
        report.failed.push(UnitFailure {
            unit: unit.clone(),
            step: step.to_string(),
            error: format!(
                "it started, then {went} {when}: now {}{then}",
                state.describe()
            ),
            hint: hint(unit),
        });
    }
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
    let started: Vec<(String, &str)> = [
        ("restart", &steps.restart),
        ("try-restart", &steps.try_restart),
        ("start", &steps.start),
    ]
    .into_iter()
    .flat_map(|(step, units)| units.iter().map(move |u| (u.clone(), step)))
    .filter(|(u, _)| !report.failed.iter().any(|f| &f.unit == u))
    .collect();
    if !started.is_empty() {
        settle(&started, &health_gated(plan), systemd, &mut report);
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
