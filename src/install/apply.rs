//! Carrying out a [`Plan`]: the only place that writes unit files or calls systemd.
//!
//! Order, each step crash-safe:
//! 1. the *intent* manifest (old and next hash of every file, and the systemd work owed);
//! 2. stop units that leave, and containers on a network that is recreated (systemd still has
//!    their old definitions), then `podman network rm`;
//! 3. back up forced-over hand edits, write changed files (temp + fsync + rename), remove files
//!    that left, fsync the directory; then create or replace the podman secrets
//!    (`podman secret create --replace`, the value on stdin), before anything starts;
//! 4. one `daemon-reload`;
//! 5. one `restart`, one `try-restart`, one `start` (each one systemd transaction), then the
//!    settle watch: the units just (re)started are watched for [`SETTLE_WINDOW`], all at once (one
//!    `systemctl show` per poll), and one that died or is waiting to be restarted is reported like
//!    a failed start. A start job only proves the container was started: a health-gated one
//!    (`Notify=healthy`) also proved it serves, but any other may die right after (issue 14: one
//!    killed by podman at a sibling's start), so the window is skipped only when every unit
//!    started is health-gated;
//! 6. the podman secrets of quadgen's no container uses any more removed (after the restarts,
//!    so none is still in use); then the final manifest, last (removed instead when nothing is
//!    quadgen's any more: uninstall).
//!
//! With [`crate::host::systemd::Offline`] (`--no-systemd`) no call runs: files are written and removed,
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

use crate::host::fs::{self, IoError};
use crate::host::systemd::{NetworkRmError, Systemd, SystemdError, UnitState};
use crate::install::manifest::{MANIFEST_FILE, Manifest, ManifestError, Pending};
use crate::install::plan::{FileOp, Plan};

/// A unit that did not come up, or a step that failed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitFailure {
    /// The unit (or podman network) concerned.
    pub unit: String,
    /// What was being done.
    pub step: Step,
    pub error: String,
    /// Where to look: `journalctl -u UNIT -n 50`.
    pub hint: String,
}

/// A step of apply that acts on units, as its failures name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Step {
    #[serde(rename = "stop")]
    Stop,
    #[serde(rename = "network rm")]
    NetworkRm,
    #[serde(rename = "restart")]
    Restart,
    #[serde(rename = "try-restart")]
    TryRestart,
    #[serde(rename = "start")]
    Start,
    #[serde(rename = "secret create")]
    SecretCreate,
    #[serde(rename = "secret rm")]
    SecretRm,
}

impl Step {
    /// The name people read: the `systemctl` verb, or `network rm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Stop => "stop",
            Step::NetworkRm => "network rm",
            Step::Restart => "restart",
            Step::TryRestart => "try-restart",
            Step::Start => "start",
            Step::SecretCreate => "secret create",
            Step::SecretRm => "secret rm",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Step {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
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
    /// The manifest could not be serialized (nothing is written then).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
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
                crate::unit::parse::ParsedUnit::parse(text).last("Container", "Notify")
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
    started: &[(String, Step)],
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
        .map(|((_, step), s)| *step != Step::TryRestart || s.is_up())
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
            step: *step,
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
    apply_with_secrets(
        plan,
        &SecretValues::new(),
        root,
        old,
        systemd,
        now_unix_secs,
    )
}

/// The content of each secret the plan creates or replaces, by name: read once, before the plan,
/// so podman gets exactly what was fingerprinted.
pub type SecretValues = std::collections::BTreeMap<String, Vec<u8>>;

/// [`apply`] with the values of the secrets the plan gives podman.
pub fn apply_with_secrets(
    plan: &Plan,
    values: &SecretValues,
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
        fs::write_atomic(root, MANIFEST_FILE, intent.to_json()?.as_bytes())?;
        fs::sync_dir(root)?;
    }
    let steps = &plan.steps;
    let still_up = stop_units(&steps.stop, systemd, &mut report);
    let network_rm_owed = remove_networks(&steps.network_rm, systemd, &mut report);
    write_files(plan, root, &still_up, now_unix_secs, &mut report)?;
    let secret_sync_owed = secrets::sync(&steps.secret_sync, values, systemd, &mut report);
    if steps.reload {
        systemd.daemon_reload().map_err(ApplyError::Reload)?;
    }
    let started = start_units(plan, systemd, &mut report);
    if !started.is_empty() {
        settle(&started, &health_gated(plan), systemd, &mut report);
    }
    // Last: a container that stops using a secret has been restarted without it by now.
    let owed = Pending {
        network_rm: network_rm_owed,
        secret_sync: secret_sync_owed,
        ..secrets::remove(&steps.secret_rm, systemd, &mut report)
    };
    write_final_manifest(plan, root, old, &still_up, owed, systemd, &mut report)?;
    Ok(report)
}

/// Step 2, stop: returns the units still up after a failed stop. A leaving one keeps its file
/// and its place in the manifest, so its container is never left running unmanaged; the next
/// install tries again.
fn stop_units(units: &[String], systemd: &mut impl Systemd, report: &mut Report) -> Vec<String> {
    let mut still_up: Vec<String> = Vec::new();
    let Err(e) = systemd.stop(units) else {
        return still_up;
    };
    match systemd.show(units) {
        Ok(states) => {
            for s in states.iter().filter(|s| s.is_up()) {
                still_up.push(s.unit.clone());
                report.failed.push(UnitFailure {
                    unit: s.unit.clone(),
                    step: Step::Stop,
                    error: e.to_string(),
                    hint: hint(&s.unit),
                });
            }
        }
        // Not known to be stopped is not stopped: every unit keeps its file and record.
        Err(show) => {
            for unit in units {
                still_up.push(unit.clone());
                report.failed.push(UnitFailure {
                    unit: unit.clone(),
                    step: Step::Stop,
                    error: format!("{e}; and its state is unknown: {show}"),
                    hint: hint(unit),
                });
            }
        }
    }
    still_up
}

/// Step 2, `podman network rm`: returns the networks still owed (not removed, and not already
/// gone).
fn remove_networks(
    names: &[String],
    systemd: &mut impl Systemd,
    report: &mut Report,
) -> Vec<String> {
    let mut owed = Vec::new();
    for name in names {
        match systemd.podman_network_rm(name) {
            // Already gone (an interrupted install removed it): nothing to do.
            Ok(()) | Err(NetworkRmError::NotFound { .. }) => {}
            Err(e) => {
                owed.push(name.clone());
                report.failed.push(UnitFailure {
                    unit: name.clone(),
                    step: Step::NetworkRm,
                    error: e.to_string(),
                    hint: format!("podman network inspect {name}"),
                });
            }
        }
    }
    owed
}

/// Step 3: backs up forced-over hand edits, writes and removes files (a leaving unit still up
/// keeps its file), then fsyncs the directory.
fn write_files(
    plan: &Plan,
    root: &Path,
    still_up: &[String],
    now_unix_secs: u64,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let mut dir_changed = false;
    for f in &plan.files {
        if f.backup {
            let backup = fs::backup_name(&f.file_name, now_unix_secs, |n| root.join(n).exists());
            fs::rename(root, &f.file_name, &backup)?;
            report.backups.push((f.file_name.clone(), backup));
            dir_changed = true;
        }
        match (f.op, &f.new_text) {
            (op, Some(text)) if op.writes() => {
                fs::write_atomic(root, &f.file_name, text.as_bytes())?;
                report.written.push(f.file_name.clone());
                dir_changed = true;
            }
            (FileOp::Remove, _) if still_up.contains(&f.service) => {}
            (FileOp::Remove, _) => {
                if !f.backup {
                    fs::remove(root, &f.file_name)?;
                }
                report.removed.push(f.file_name.clone());
                dir_changed = true;
            }
            _ => {}
        }
    }
    if dir_changed {
        fs::sync_dir(root)?;
    }
    Ok(())
}

/// Step 5: one `restart`, one `try-restart`, one `start`. A failed job blames the units that
/// are down (or all of them when none is). Returns the units started, each with its step, for
/// the settle watch.
fn start_units(
    plan: &Plan,
    systemd: &mut impl Systemd,
    report: &mut Report,
) -> Vec<(String, Step)> {
    let steps = &plan.steps;
    let jobs = [
        (Step::Restart, &steps.restart),
        (Step::TryRestart, &steps.try_restart),
        (Step::Start, &steps.start),
    ];
    for (step, units) in jobs {
        if units.is_empty() {
            continue;
        }
        let result = match step {
            Step::Restart => systemd.restart(units),
            Step::TryRestart => systemd.try_restart(units),
            _ => systemd.start(units),
        };
        if let Err(e) = result {
            let states = systemd.show(units).unwrap_or_default();
            let down: Vec<&str> = states
                .iter()
                .filter(|s| !s.is_up() && (step != Step::TryRestart || s.is_failed()))
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
                    step,
                    error: e.to_string(),
                    hint: hint(unit),
                });
            }
        }
    }
    jobs.into_iter()
        .flat_map(|(step, units)| units.iter().map(move |u| (u.clone(), step)))
        .filter(|(u, _)| !report.failed.iter().any(|f| &f.unit == u))
        .collect()
}

/// Step 6, the final manifest: what the plan wanted, but a leaving unit still up keeps its
/// record, a network that could not be removed stays owed (the next install tries the
/// recreation again), without systemd all the systemd work stays owed, and so does the work of
/// an earlier install that the plan carries. Nothing left that is quadgen's (uninstall): no
/// manifest either.
fn write_final_manifest(
    plan: &Plan,
    root: &Path,
    old: Option<&Manifest>,
    still_up: &[String],
    owed: Pending,
    systemd: &impl Systemd,
    report: &mut Report,
) -> Result<(), ApplyError> {
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
    let mut pending = if systemd.is_offline() {
        plan.steps.pending()
    } else {
        owed
    };
    // Work an earlier install still owes, which this plan carries without doing (hold, edit).
    if let Some(carried) = &plan.manifest.pending {
        pending.absorb(carried);
    }
    done.pending = (!pending.is_empty()).then_some(pending);
    if done.files.is_empty() && done.pending.is_none() && done.secrets.is_empty() {
        fs::remove(root, MANIFEST_FILE)?;
    } else {
        fs::write_atomic(root, MANIFEST_FILE, done.to_json()?.as_bytes())?;
        report.manifest_written = true;
    }
    fs::sync_dir(root)?;
    Ok(())
}

mod secrets;

#[cfg(test)]
mod tests;
