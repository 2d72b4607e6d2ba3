//! The install plan: a pure function from what the inventory renders to, what the manifest says
//! quadgen installed, and what is on disk now, to exactly what install will write, remove, stop,
//! reload and (re)start. Nothing here touches the world; [`crate::install::apply`] carries a plan out.
//!
//! # Decisions
//! - **Ours or not.** A file is ours when the manifest lists it. Its content on disk is ours when
//!   its hash is the one the manifest recorded, the one an interrupted install was about to write
//!   (`next_sha256`), or the one we want now (a crash after the write but before the manifest);
//!   anything else is a hand edit. A file the manifest does not list is never ours, even with
//!   `--force`: a name clash with it is a [`ConflictKind::Foreign`] conflict.
//! - **Dependants.** quadlet turns `Network=x.network` / `Volume=x.volume` into `Requires=` +
//!   `After=` on the network's or volume's service, and `depends_on` is `Requires=` + `After=`.
//!   systemd.unit(5), `Requires=`: "this unit will be stopped (or restarted) if one of the other
//!   units is explicitly stopped (or restarted)". So systemd restarts the running dependants of a
//!   restarted unit itself, and install restarts only units whose own file changed, all in one
//!   `systemctl restart` call, whose jobs systemd merges so a unit is restarted once.
//! - **Changed container.** `auto_start` → `restart` (started if it was not running); otherwise
//!   `try-restart` (restarted only if running).
//! - **Changed only where the service does not look** (any kind; `[Install]`, `Description=`,
//!   comments: [`crate::unit::change::RELOAD_ONLY`]): the reload applies it, nothing restarts or
//!   is recreated. A container that now starts at boot is started in case it was not running.
//! - **Changed network.** podman does not apply a network definition in place: install stops the
//!   containers on it and its service, runs `podman network rm`, and after the reload starts the
//!   network service and restarts the `auto_start` containers on it.
//! - **Changed volume.** The volume service runs `podman volume create --ignore`, so an existing
//!   volume keeps its old options, and removing it would destroy data. install writes the new file
//!   but never removes a volume: the plan says loudly that the new definition applies only once
//!   the volume is removed by hand.
//! - **Removed units** are stopped before their file is removed and systemd reloaded, so systemd
//!   still knows how to stop them. A removed volume's data and a removed network are kept.
//! - **New units** start when `auto_start`; networks and volumes start with the containers that
//!   require them.
//! - **Adopt.** With `adopt`, a file the manifest does not list but that is byte for byte what we
//!   want is recorded as ours ([`FileOp::Adopt`]): not written, nothing reloaded or restarted.
//!   The way back from a lost or corrupt manifest; any other unlisted file stays a conflict.
//! - **Mass removal.** Removing every managed unit, or more than half and more than
//!   [`MASS_REMOVAL_MIN`], is what an empty or truncated inventory does: refused unless
//!   `allow_removals` (`quadgen uninstall` plans an empty inventory with it).
//! - **Held** files (`quadgen edit`/`hold`) are left as they are, desired or leaving, and listed
//!   with their diff; [`plan_releasing`] takes named ones back (see [`hold`]).

pub mod hold;
pub mod secrets;
pub mod show;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::compile::render::RenderedFile;
use crate::host::fs::{Observed, ObservedFile};
use crate::install::manifest::{FileRecord, Manifest, Pending};
use crate::unit::UnitKind;
use crate::unit::change::{INSTALL_SECTION, UnitChange, compare_units, reload_only_changes};
use crate::unit::parse::ParsedUnit;
pub use hold::HeldFile;

/// Options that change the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Overwrite hand-edited files, keeping each edit as a backup beside it.
    pub force: bool,
    /// Take over files the manifest does not list when they are byte for byte what quadgen
    /// writes (after a lost or corrupt manifest): recorded, not written, nothing restarted.
    pub adopt: bool,
    /// Allow a plan that removes all, or most, of the managed units (see [`MassRemoval`]).
    pub allow_removals: bool,
}

/// A plan that removes all the managed units, or more than half of them and more than
/// [`MASS_REMOVAL_MIN`]: what an empty or truncated inventory looks like. Refused unless
/// [`PlanOptions::allow_removals`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MassRemoval {
    /// The files that would be removed (stopped and deleted), sorted.
    pub leaving: Vec<String>,
    /// How many files quadgen manages now.
    pub managed: usize,
}

/// Removing more than this many units, when it is more than half of them, needs
/// [`PlanOptions::allow_removals`]. Removing all of them always does.
pub const MASS_REMOVAL_MIN: usize = 2;

/// Whether removing `leaving` of `managed` units is a mass removal.
pub fn is_mass_removal(leaving: usize, managed: usize) -> bool {
    leaving > 0 && (leaving == managed || (leaving * 2 > managed && leaving > MASS_REMOVAL_MIN))
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileOp {
    /// New: written.
    Add,
    /// Listed in the manifest but deleted by hand: written again.
    Restore,
    /// Content changes: written.
    Change,
    /// Left the inventory: removed.
    Remove,
    /// Left the inventory and already gone from disk: dropped from the manifest.
    Forget,
    /// Already on disk with the wanted content (an interrupted install wrote it): recorded.
    Adopt,
}

impl FileOp {
    /// Whether the op writes the file.
    pub fn writes(self) -> bool {
        matches!(self, FileOp::Add | FileOp::Restore | FileOp::Change)
    }
}

/// One file install will touch or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub file_name: String,
    pub kind: UnitKind,
    pub entry: String,
    pub service: String,
    pub op: FileOp,
    /// The content on disk now, if any.
    pub old_text: Option<String>,
    /// The content install writes, for ops that write.
    pub new_text: Option<String>,
    /// The on-disk content is a hand edit overridden by `--force`: keep it as a backup first.
    pub backup: bool,
}

/// Why install refuses a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Ours, but edited by hand since we wrote it.
    Edited,
    /// Not ours (not in the manifest), in the place of a file we want to write.
    Foreign,
}

/// A file install will not touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub file_name: String,
    pub kind: ConflictKind,
    pub on_disk: String,
    /// What install wants there (`None`: install wants to remove it).
    pub ours: Option<String>,
}

/// What happens to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Start,
    Restart,
    Stop,
    Stay,
}

impl Action {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Restart => "restart",
            Action::Stop => "stop",
            Action::Stay => "stay",
        }
    }
}

/// One unit's fate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitPlan {
    pub service: String,
    pub file_name: String,
    pub action: Action,
    pub reason: String,
}

/// The systemd side, in the order apply runs it. Every list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Steps {
    /// Stopped before any file changes.
    pub stop: Vec<String>,
    /// Podman networks removed after the stop, so they are created from their new definition.
    pub network_rm: Vec<String>,
    /// One `systemctl daemon-reload` after the files are written.
    pub reload: bool,
    pub restart: Vec<String>,
    pub try_restart: Vec<String>,
    pub start: Vec<String>,
    /// Podman secrets created or replaced from their file, after the files are written.
    pub secret_sync: Vec<String>,
    /// Podman secrets of quadgen's removed, after the stop.
    pub secret_rm: Vec<String>,
}

impl Steps {
    /// Whether systemd has nothing to do.
    pub fn is_empty(&self) -> bool {
        self.stop.is_empty()
            && self.network_rm.is_empty()
            && !self.reload
            && self.restart.is_empty()
            && self.try_restart.is_empty()
            && self.start.is_empty()
            && self.secret_sync.is_empty()
            && self.secret_rm.is_empty()
    }

    /// The part an interrupted install must still do.
    pub fn pending(&self) -> Pending {
        Pending {
            reload: self.reload,
            restart: self.restart.clone(),
            try_restart: self.try_restart.clone(),
            start: self.start.clone(),
            network_rm: self.network_rm.clone(),
            secret_sync: self.secret_sync.clone(),
            secret_rm: self.secret_rm.clone(),
        }
    }
}

/// Everything install will do, computed ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Files touched or recorded, sorted by name. Unchanged files are not listed.
    pub files: Vec<FileChange>,
    /// Files install refuses to touch; a plan with any is not applied.
    pub conflicts: Vec<Conflict>,
    /// The plan removes all or most managed units without `allow_removals`: not applied.
    pub mass_removal: Option<MassRemoval>,
    /// Every unit, desired or leaving, sorted by service.
    pub units: Vec<UnitPlan>,
    pub steps: Steps,
    /// Things a person must know (volumes not recreated, data kept…).
    pub notes: Vec<String>,
    /// The manifest after a complete install.
    pub manifest: Manifest,
    /// Whether the manifest on disk must be (re)written.
    pub manifest_changed: bool,
    /// Files held by `quadgen edit`/`hold`: left as they are, with the inventory's version for
    /// the diff. Sorted by name.
    pub held: Vec<HeldFile>,
    /// Podman secrets created, replaced or removed, and the ones refused.
    pub secrets: secrets::SecretPlan,
}

impl Plan {
    /// Whether install refuses this plan (conflicts, or a mass removal not allowed).
    pub fn is_refused(&self) -> bool {
        !self.conflicts.is_empty() || self.mass_removal.is_some() || self.has_secret_conflicts()
    }

    /// Whether install has nothing at all to do: no write, no systemd call.
    pub fn is_noop(&self) -> bool {
        self.files.is_empty() && self.steps.is_empty() && !self.manifest_changed
    }

    /// The manifest written before any change: every file with both its old and next hash, and
    /// the systemd work still to do.
    pub fn intent(&self, old: Option<&Manifest>) -> Manifest {
        let mut intent = self.manifest.clone();
        for change in &self.files {
            let old_record = old.and_then(|m| m.files.get(&change.file_name));
            match (change.op, old_record) {
                // Leaving: still ours until removed.
                (FileOp::Remove | FileOp::Forget, Some(r)) => {
                    intent.files.insert(change.file_name.clone(), r.clone());
                }
                (op, Some(r)) if op.writes() => {
                    if let Some(rec) = intent.files.get_mut(&change.file_name) {
                        rec.next_sha256 = Some(rec.sha256.clone());
                        rec.sha256 = r.sha256.clone();
                    }
                }
                _ => {}
            }
        }
        let mut pending = self.steps.pending();
        if let Some(carried) = &self.manifest.pending {
            pending.absorb(carried);
        }
        intent.pending = (!pending.is_empty()).then_some(pending);
        intent
    }
}

fn record(file: &RenderedFile, sha256: String) -> FileRecord {
    FileRecord {
        sha256,
        next_sha256: None,
        entry: file.entry.clone(),
        service: file.service.clone(),
        kind: file.kind,
        auto_start: file.auto_start,
    }
}

/// The podman network a `.network` file makes: `NetworkName=`, else `systemd-STEM`.
pub fn network_name(file_name: &str, text: &str) -> String {
    podman_name(file_name, text, "Network", "NetworkName")
}

/// Plans removing podman network `name` (made by `network`) and creating it again: stop every
/// container that requires it, directly or through `depends_on` (systemd stops them all with it),
/// and the network's service; remove the network; start the service and the `auto_start`
/// containers again. Returns how many containers are stopped.
fn recreate_network(
    work: &mut Builder,
    desired: &[RenderedFile],
    network: &RenderedFile,
    name: &str,
) -> usize {
    work.stop.insert(network.service.clone());
    work.network_rm.insert(name.to_string());
    work.start.insert(network.service.clone());
    work.reason(
        &network.service,
        format!("network changed: podman network `{name}` is removed and created again"),
    );
    let mut stopped: BTreeSet<&str> = BTreeSet::from([network.service.as_str()]);
    let mut users: Vec<&RenderedFile> = Vec::new();
    loop {
        let more: Vec<&RenderedFile> = desired
            .iter()
            .filter(|c| !stopped.contains(c.service.as_str()))
            .filter(|c| c.uses.iter().any(|u| stopped.contains(u.as_str())))
            .collect();
        if more.is_empty() {
            break;
        }
        stopped.extend(more.iter().map(|c| c.service.as_str()));
        users.extend(more);
    }
    users.sort_by(|a, c| a.service.cmp(&c.service));
    for user in &users {
        work.stop.insert(user.service.clone());
        if user.auto_start {
            work.restart.insert(user.service.clone());
            work.reason(
                &user.service,
                format!("its network `{name}` is created again"),
            );
        } else {
            work.reason(
                &user.service,
                format!("stopped while its network `{name}` is created again; not auto_start, so start it by hand"),
            );
        }
    }
    users.len()
}

/// A changed file whose service keeps running ([`compare_units`] says no restart). When
/// `[Install]` changed (auto_start toggled) a container that now starts at boot is also started,
/// in case it was not running.
fn reload_only(work: &mut Builder, d: &RenderedFile, old_text: &str) {
    let changes = reload_only_changes(old_text, &d.text);
    let install = changes.iter().any(|r| r.section == INSTALL_SECTION);
    let runs = matches!(d.kind, UnitKind::Container | UnitKind::Pod);
    match (runs, install, d.auto_start) {
        (true, true, true) => {
            work.start.insert(d.service.clone());
            work.reason(&d.service, "now starts at boot; started if not running");
        }
        (true, true, false) => {
            work.reason(&d.service, "no longer starts at boot; left running");
        }
        _ if changes.is_empty() => work.reason(&d.service, "only comments changed; not restarted"),
        _ => {
            let names: Vec<String> = changes.iter().map(|r| r.name()).collect();
            work.reason(
                &d.service,
                format!(
                    "only {} changed: applied by the reload, not restarted",
                    names.join(", ")
                ),
            );
        }
    }
}

/// A pod's service only `Wants=` its members, so `systemctl start|restart NAME-pod.service`
/// returns before they are up (or when they failed). Every member of a pod being started or
/// restarted (systemd starts each of them with it, `auto_start` or not: quadlet's `Wants=`) is
/// started explicitly too: a no-op for a member systemd already (re)started with its pod, a wait
/// for one still starting, and install then watches it and reports its real state like any unit
/// it started. A pod restarted only if running (`try-restart`) takes its members along the same
/// way, so a stopped pod stays stopped.
fn start_pod_members(work: &mut Builder, desired: &[RenderedFile]) {
    let pods: Vec<&RenderedFile> = desired.iter().filter(|d| d.kind == UnitKind::Pod).collect();
    for member in desired.iter().filter(|d| d.kind == UnitKind::Container) {
        let Some(pod) = pods.iter().find(|p| member.uses.contains(&p.service)) else {
            continue;
        };
        let service = member.service.clone();
        let reason = format!(
            "member of `{}`, which (re)starts: with it, and watched",
            pod.service
        );
        if work.restart.contains(&pod.service) || work.start.contains(&pod.service) {
            work.start.insert(service.clone());
            // Replaces a reason given before it was known the pod brings it back (a member
            // stopped with its network, "start it by hand"); its own restart's reason stays.
            if !work.restart.contains(&service) {
                work.reasons.insert(service, reason);
            }
        } else if work.try_restart.contains(&pod.service) && !work.start.contains(&service) {
            // The pod restarts only if it runs: so do its members (one job each, merged with
            // the pod's in one `try-restart`).
            work.try_restart.insert(service.clone());
            work.reason(&service, reason);
        }
    }
}

/// For each pod file written, the names it maps to: its service, its podman pod and infra
/// container, and its members' services.
fn note_pods(work: &mut Builder, desired: &[RenderedFile], files: &[FileChange]) {
    for pod in desired.iter().filter(|d| d.kind == UnitKind::Pod) {
        let written = files
            .iter()
            .any(|f| f.file_name == pod.file_name && f.op.writes());
        if !written {
            continue;
        }
        let name = podman_name(&pod.file_name, &pod.text, "Pod", "PodName");
        let members: Vec<&str> = desired
            .iter()
            .filter(|d| d.uses.contains(&pod.service))
            .map(|d| d.service.as_str())
            .collect();
        work.notes.push(format!(
            "pod `{}` runs as `{}`: podman pod `{name}`, infra container `{name}-infra`, members {}",
            pod.file_name,
            pod.service,
            if members.is_empty() { "none".to_string() } else { members.join(", ") },
        ));
    }
}

/// The podman object a `.network`/`.volume` file makes: its `NetworkName=`/`VolumeName=`, or
/// quadlet's default `systemd-STEM`.
fn podman_name(file_name: &str, text: &str, section: &str, key: &str) -> String {
    ParsedUnit::parse(text)
        .last(section, key)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let stem = file_name
                .rsplit_once('.')
                .map_or(file_name, |(stem, _)| stem);
            format!("systemd-{stem}")
        })
}

/// Collects steps and the reason for each unit's action.
#[derive(Default)]
struct Builder {
    stop: BTreeSet<String>,
    network_rm: BTreeSet<String>,
    reload: bool,
    restart: BTreeSet<String>,
    try_restart: BTreeSet<String>,
    start: BTreeSet<String>,
    secret_sync: BTreeSet<String>,
    secret_rm: BTreeSet<String>,
    reasons: BTreeMap<String, String>,
    /// Services whose files are held: their reason says so unless something is owed them.
    held: BTreeSet<String>,
    notes: Vec<String>,
}

impl Builder {
    fn reason(&mut self, service: &str, reason: impl Into<String>) {
        self.reasons
            .entry(service.to_string())
            .or_insert_with(|| reason.into());
    }

    /// The action each unit gets, from the steps collected.
    fn action(&self, service: &str) -> Action {
        if self.restart.contains(service) || self.try_restart.contains(service) {
            Action::Restart
        } else if self.start.contains(service) {
            Action::Start
        } else if self.stop.contains(service) {
            Action::Stop
        } else {
            Action::Stay
        }
    }

    fn into_steps(self) -> Steps {
        Steps {
            stop: self.stop.into_iter().collect(),
            network_rm: self.network_rm.into_iter().collect(),
            reload: self.reload,
            restart: self.restart.into_iter().collect(),
            try_restart: self.try_restart.into_iter().collect(),
            start: self.start.into_iter().collect(),
            secret_sync: self.secret_sync.into_iter().collect(),
            secret_rm: self.secret_rm.into_iter().collect(),
        }
    }
}

/// The plan being drafted: file operations, conflicts and systemd work, phase by phase.
struct Draft<'a> {
    desired: &'a [RenderedFile],
    old_files: &'a BTreeMap<String, FileRecord>,
    observed: &'a Observed,
    options: PlanOptions,
    files: Vec<FileChange>,
    conflicts: Vec<Conflict>,
    work: Builder,
    /// Desired files whose content changes (their unit needs a restart, or a recreation).
    changed: Vec<&'a RenderedFile>,
    /// Held files, and those `quadgen release` takes back (see [`hold`]).
    holding: hold::Holding<'a>,
}

/// Computes the plan of an inventory without secrets. `inventory` is recorded in the manifest.
pub fn plan(
    desired: &[RenderedFile],
    manifest: Option<&Manifest>,
    observed: &Observed,
    inventory: &str,
    options: PlanOptions,
) -> Plan {
    plan_releasing(
        desired,
        manifest,
        observed,
        inventory,
        options,
        &BTreeSet::new(),
    )
}

/// [`plan`], with the held files named in `release` taken back to the inventory's version
/// (`quadgen release`): written like a forced hand edit (the held edit kept as a backup beside
/// it) and their unit restarted. Every other held file is left as it is.
pub fn plan_releasing(
    desired: &[RenderedFile],
    manifest: Option<&Manifest>,
    observed: &Observed,
    inventory: &str,
    options: PlanOptions,
    release: &BTreeSet<String>,
) -> Plan {
    plan_with_secrets(
        desired,
        &[],
        manifest,
        observed,
        inventory,
        options,
        release,
    )
}

/// Computes the plan: unit files and the podman secrets `wanted_secrets` (see [`secrets`]),
/// with the held files named in `release` taken back (see [`plan_releasing`]).
pub fn plan_with_secrets(
    desired: &[RenderedFile],
    wanted_secrets: &[secrets::SecretState],
    manifest: Option<&Manifest>,
    observed: &Observed,
    inventory: &str,
    options: PlanOptions,
    release: &BTreeSet<String>,
) -> Plan {
    let empty = BTreeMap::new();
    let mut draft = Draft {
        holding: hold::Holding::new(manifest, release),
        desired,
        old_files: manifest.map_or(&empty, |m| &m.files),
        observed,
        options,
        files: Vec::new(),
        conflicts: Vec::new(),
        work: Builder::default(),
        changed: Vec::new(),
    };
    let mut new_manifest = Manifest::new(inventory);
    for wanted in desired {
        let sha256 = wanted.sha256();
        if draft.holding.holds(&wanted.file_name) {
            draft.plan_held(wanted);
        } else {
            draft.plan_desired_file(wanted, &sha256);
        }
        new_manifest
            .files
            .insert(wanted.file_name.clone(), record(wanted, sha256));
    }
    draft.plan_changed_units();
    draft.keep_held(&mut new_manifest);
    draft.plan_leaving_files(&new_manifest);
    if let Some(owed) = manifest.and_then(|m| m.pending.as_ref()) {
        draft.plan_owed_work(owed);
    }
    let secret_plan = secrets::plan_secrets(wanted_secrets, manifest, desired, &mut draft.work);
    new_manifest.secrets = secret_plan.records.clone();
    let mass_removal = draft.mass_removal(&new_manifest);
    let units = draft.finish_steps();
    let manifest_changed = match manifest {
        None => !new_manifest.files.is_empty() || !new_manifest.secrets.is_empty(),
        Some(m) => {
            m.files != new_manifest.files
                || m.pending.is_some()
                || m.inventory != inventory
                || m.held != new_manifest.held
                || m.secrets != new_manifest.secrets
        }
    };
    let notes = std::mem::take(&mut draft.work.notes);
    let held = std::mem::take(&mut draft.holding.files);
    Plan {
        files: draft.files,
        conflicts: draft.conflicts,
        mass_removal,
        units,
        steps: draft.work.into_steps(),
        notes,
        manifest: new_manifest,
        manifest_changed,
        held,
        secrets: secret_plan,
    }
}

impl<'a> Draft<'a> {
    /// Phase 1, per desired file: add, restore, adopt, change, or refuse it (edited by hand, or a
    /// file quadgen did not write).
    fn plan_desired_file(&mut self, wanted: &'a RenderedFile, wanted_sha256: &str) {
        let old = self.old_files.get(&wanted.file_name);
        let on_disk = self.observed.files.get(&wanted.file_name);
        let change = |op: FileOp, backup: bool| FileChange {
            file_name: wanted.file_name.clone(),
            kind: wanted.kind,
            entry: wanted.entry.clone(),
            service: wanted.service.clone(),
            op,
            old_text: on_disk.map(|f| f.text.clone()),
            new_text: op.writes().then(|| wanted.text.clone()),
            backup,
        };
        let conflict = |kind: ConflictKind, on_disk: &ObservedFile| Conflict {
            file_name: wanted.file_name.clone(),
            kind,
            on_disk: on_disk.text.clone(),
            ours: Some(wanted.text.clone()),
        };
        match (on_disk, old) {
            (None, None) => {
                self.files.push(change(FileOp::Add, false));
                self.plan_new_unit(wanted);
            }
            (None, Some(r)) => {
                self.files.push(change(FileOp::Restore, false));
                if r.sha256 != *wanted_sha256 {
                    self.changed.push(wanted);
                } else {
                    if wanted.auto_start {
                        self.work.start.insert(wanted.service.clone());
                    }
                    self.work
                        .reason(&wanted.service, "file deleted by hand; restored");
                }
            }
            // Our content on disk under a name the manifest (or an interrupted install's intent)
            // lists: an earlier install wrote it. Unlisted, it is someone else's file, whatever
            // its content.
            (Some(f), Some(r)) if f.sha256 == *wanted_sha256 => {
                if r.sha256 != *wanted_sha256 {
                    self.files.push(change(FileOp::Adopt, false));
                }
            }
            (Some(f), None) if self.options.adopt && f.sha256 == *wanted_sha256 => {
                self.files.push(change(FileOp::Adopt, false));
                self.work.reason(
                    &wanted.service,
                    "adopted: the file is already exactly what quadgen writes; left as it is",
                );
            }
            (Some(f), None) => self.conflicts.push(conflict(ConflictKind::Foreign, f)),
            (Some(f), Some(r)) => {
                let edited = !r.is_ours(&f.sha256);
                if edited && !self.forced(&wanted.file_name) {
                    self.conflicts.push(conflict(ConflictKind::Edited, f));
                } else {
                    self.files.push(change(FileOp::Change, edited));
                    self.changed.push(wanted);
                }
            }
        }
    }

    /// A unit new to the directory starts when it is `auto_start`.
    fn plan_new_unit(&mut self, wanted: &RenderedFile) {
        if wanted.auto_start {
            self.work.start.insert(wanted.service.clone());
            self.work.reason(&wanted.service, "new");
        } else {
            self.work.reason(
                &wanted.service,
                match wanted.kind {
                    UnitKind::Container | UnitKind::Pod => "new; not auto_start",
                    _ => "new; starts with the containers that require it",
                },
            );
        }
    }

    /// Phase 2, units whose file changed: a change the service does not see only reloads;
    /// otherwise a container restarts, a network is recreated with what uses it, a volume is
    /// kept (with a warning).
    fn plan_changed_units(&mut self) {
        for wanted in std::mem::take(&mut self.changed) {
            let before = self.observed.files.get(&wanted.file_name);
            // A change the running service does not see (`[Install]`, `Description=`,
            // comments…): the reload applies it, nothing restarts. See `crate::unit::change`.
            if let Some(old) = before {
                if compare_units(&old.text, &wanted.text) != UnitChange::Restart {
                    reload_only(&mut self.work, wanted, &old.text);
                    continue;
                }
            }
            match wanted.kind {
                UnitKind::Container | UnitKind::Pod => {
                    if wanted.auto_start {
                        self.work.restart.insert(wanted.service.clone());
                        self.work.reason(&wanted.service, "unit file changed");
                    } else {
                        self.work.try_restart.insert(wanted.service.clone());
                        self.work
                            .reason(&wanted.service, "unit file changed; restarted if running");
                    }
                }
                UnitKind::Network => {
                    let old_text = before.map(|f| f.text.as_str());
                    let name = network_name(&wanted.file_name, old_text.unwrap_or(&wanted.text));
                    let users = recreate_network(&mut self.work, self.desired, wanted, &name);
                    self.work.notes.push(format!(
                        "network `{}` changed: podman does not update a network in place, so install stops the {users} container{} that need it, removes podman network `{name}` and starts them again",
                        wanted.file_name,
                        if users == 1 { "" } else { "s" },
                    ));
                }
                UnitKind::Volume => self.plan_changed_volume(wanted),
            }
        }
    }

    /// A changed volume definition is written, but the volume and its data are kept.
    fn plan_changed_volume(&mut self, wanted: &RenderedFile) {
        let name = podman_name(&wanted.file_name, &wanted.text, "Volume", "VolumeName");
        self.work.reason(
            &wanted.service,
            "volume changed; the existing volume and its data are kept",
        );
        self.work.notes.push(format!(
            "WARNING: volume `{}` changed, but podman keeps the existing volume `{name}` with its old options, and quadgen never deletes data; the new definition applies only after you back up and remove it (`podman volume rm {name}`) and restart `{}`",
            wanted.file_name, wanted.service
        ));
    }

    /// Phase 3, files that left the inventory: stopped and removed, or forgotten when already
    /// gone; one edited by hand is refused unless forced (then kept beside as a backup).
    fn plan_leaving_files(&mut self, new_manifest: &Manifest) {
        let old_files = self.old_files;
        for (name, r) in old_files {
            if new_manifest.files.contains_key(name) {
                continue;
            }
            let on_disk = self.observed.files.get(name);
            let op = match on_disk {
                None => FileOp::Forget,
                Some(f) if r.is_ours(&f.sha256) => FileOp::Remove,
                Some(_) if self.forced(name) => FileOp::Remove,
                Some(f) => {
                    self.conflicts.push(Conflict {
                        file_name: name.clone(),
                        kind: ConflictKind::Edited,
                        on_disk: f.text.clone(),
                        ours: None,
                    });
                    continue;
                }
            };
            let backup = on_disk.is_some_and(|f| !r.is_ours(&f.sha256));
            self.files.push(FileChange {
                file_name: name.clone(),
                kind: r.kind,
                entry: r.entry.clone(),
                service: r.service.clone(),
                op,
                old_text: on_disk.map(|f| f.text.clone()),
                new_text: None,
                backup,
            });
            self.work.stop.insert(r.service.clone());
            self.work
                .reason(&r.service, format!("`{}` left the inventory", r.entry));
            match r.kind {
                UnitKind::Volume => self.work.notes.push(format!(
                    "volume `{name}` left the inventory: its service is stopped and its file removed; the podman volume and its data are kept"
                )),
                UnitKind::Network => self.work.notes.push(format!(
                    "network `{name}` left the inventory: its service is stopped and its file removed; the podman network is kept"
                )),
                UnitKind::Container | UnitKind::Pod => {}
            }
        }
    }

    /// Phase 4, work an earlier install still owes (interrupted, or `--no-systemd`): its reload, its starts and restarts of
    /// units still wanted, and a network it could not remove (recreated again whole).
    fn plan_owed_work(&mut self, owed: &Pending) {
        let desired_services: BTreeSet<&str> =
            self.desired.iter().map(|d| d.service.as_str()).collect();
        let why = "owed by an earlier install (interrupted, or run with --no-systemd)";
        let work = &mut self.work;
        work.reload |= owed.reload;
        for (from, to) in [
            (&owed.restart, &mut work.restart),
            (&owed.try_restart, &mut work.try_restart),
            (&owed.start, &mut work.start),
        ] {
            for service in from {
                if desired_services.contains(service.as_str()) {
                    to.insert(service.clone());
                }
            }
        }
        for service in owed
            .restart
            .iter()
            .chain(&owed.try_restart)
            .chain(&owed.start)
        {
            if !desired_services.contains(service.as_str()) {
                continue;
            }
            if work.held.contains(service) {
                // The held note says nothing is done; the owed action is the news.
                let reason = format!("{why}; its file is held (`quadgen edit`) and kept as it is");
                work.reasons.insert(service.clone(), reason);
            } else {
                work.reason(service, why);
            }
        }
        // A network an earlier install could not remove (still in use, or a kill): do the
        // whole recreation again, stopping what uses it first.
        for name in &owed.network_rm {
            let network = self.desired.iter().find(|d| {
                d.kind == UnitKind::Network && network_name(&d.file_name, &d.text) == *name
            });
            match network {
                Some(n) => {
                    recreate_network(work, self.desired, n, name);
                    work.reason(&n.service, why);
                }
                None => {
                    work.network_rm.insert(name.clone());
                }
            }
        }
    }

    /// A removal of all or most managed units, unless allowed.
    fn mass_removal(&self, new_manifest: &Manifest) -> Option<MassRemoval> {
        let leaving: Vec<String> = self
            .old_files
            .keys()
            .filter(|name| !new_manifest.files.contains_key(*name))
            .cloned()
            .collect();
        let managed = self.old_files.len();
        (!self.options.allow_removals && is_mass_removal(leaving.len(), managed))
            .then_some(MassRemoval { leaving, managed })
    }

    /// Phase 5: sorts the files, settles the steps (one reload if any file is written, no
    /// start of a unit being restarted), and gives every unit, desired or leaving, its action.
    fn finish_steps(&mut self) -> Vec<UnitPlan> {
        self.files.sort_by(|a, c| a.file_name.cmp(&c.file_name));
        self.conflicts.sort_by(|a, c| a.file_name.cmp(&c.file_name));
        start_pod_members(&mut self.work, self.desired);
        note_pods(&mut self.work, self.desired, &self.files);
        let work = &mut self.work;
        work.reload |= self.files.iter().any(|f| !matches!(f.op, FileOp::Adopt));
        // A unit being restarted need not also be started.
        work.start.retain(|s| !work.restart.contains(s));
        work.try_restart.retain(|s| !work.restart.contains(s));
        let mut services: BTreeMap<String, String> = BTreeMap::new();
        for d in self.desired {
            services.insert(d.service.clone(), d.file_name.clone());
        }
        for (name, r) in self.old_files {
            services
                .entry(r.service.clone())
                .or_insert_with(|| name.clone());
        }
        services
            .into_iter()
            .map(|(service, file_name)| UnitPlan {
                action: work.action(&service),
                reason: work.reasons.get(&service).cloned().unwrap_or_default(),
                service,
                file_name,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
