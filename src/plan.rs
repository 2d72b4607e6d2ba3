//! The install plan: a pure function from what the inventory renders to, what the manifest says
//! quadgen installed, and what is on disk now, to exactly what install will write, remove, stop,
//! reload and (re)start. Nothing here touches the world; [`crate::apply`] carries a plan out.
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
//!   comments: [`crate::unit_change::RELOAD_ONLY`]): the reload applies it, nothing restarts or
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

pub mod show;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::manifest::{FileRecord, Manifest, Pending};
use crate::quadlet::UnitKind;
use crate::render::RenderedFile;
use crate::unit_change::{INSTALL_SECTION, UnitChange, compare_units, reload_only_changes};
use crate::unitfile::ParsedUnit;

/// A file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFile {
    pub sha256: String,
    pub text: String,
}

/// What is on disk in the unit directory, for the names that matter to a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// File name → content, for every present file among those asked about.
    pub files: BTreeMap<String, ObservedFile>,
}

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
    }

    /// The part an interrupted install must still do.
    pub fn pending(&self) -> Pending {
        Pending {
            reload: self.reload,
            restart: self.restart.clone(),
            try_restart: self.try_restart.clone(),
            start: self.start.clone(),
            network_rm: self.network_rm.clone(),
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
}

impl Plan {
    /// Whether install refuses this plan (conflicts, or a mass removal not allowed).
    pub fn is_refused(&self) -> bool {
        !self.conflicts.is_empty() || self.mass_removal.is_some()
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
        let pending = self.steps.pending();
        intent.pending = (!pending.is_empty()).then_some(pending);
        intent
    }
}

fn record(file: &RenderedFile) -> FileRecord {
    FileRecord {
        sha256: file.sha256.clone(),
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
    b: &mut Builder,
    desired: &[RenderedFile],
    network: &RenderedFile,
    name: &str,
) -> usize {
    b.stop.insert(network.service.clone());
    b.network_rm.insert(name.to_string());
    b.start.insert(network.service.clone());
    b.reason(
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
        b.stop.insert(user.service.clone());
        if user.auto_start {
            b.restart.insert(user.service.clone());
            b.reason(
                &user.service,
                format!("its network `{name}` is created again"),
            );
        } else {
            b.reason(
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
fn reload_only(b: &mut Builder, d: &RenderedFile, old_text: &str) {
    let changes = reload_only_changes(old_text, &d.text);
    let install = changes.iter().any(|r| r.section == INSTALL_SECTION);
    match (d.kind, install, d.auto_start) {
        (UnitKind::Container, true, true) => {
            b.start.insert(d.service.clone());
            b.reason(&d.service, "now starts at boot; started if not running");
        }
        (UnitKind::Container, true, false) => {
            b.reason(&d.service, "no longer starts at boot; left running");
        }
        _ if changes.is_empty() => b.reason(&d.service, "only comments changed; not restarted"),
        _ => {
            let names: Vec<String> = changes.iter().map(|r| r.name()).collect();
            b.reason(
                &d.service,
                format!(
                    "only {} changed: applied by the reload, not restarted",
                    names.join(", ")
                ),
            );
        }
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
    reasons: BTreeMap<String, String>,
    notes: Vec<String>,
}

impl Builder {
    fn reason(&mut self, service: &str, reason: impl Into<String>) {
        self.reasons
            .entry(service.to_string())
            .or_insert_with(|| reason.into());
    }
}

/// Computes the plan. `inventory` is recorded in the manifest.
pub fn plan(
    desired: &[RenderedFile],
    manifest: Option<&Manifest>,
    observed: &Observed,
    inventory: &str,
    options: PlanOptions,
) -> Plan {
    let empty = BTreeMap::new();
    let old_files = manifest.map_or(&empty, |m| &m.files);
    let mut files = Vec::new();
    let mut conflicts = Vec::new();
    let mut b = Builder::default();
    let mut new_manifest = Manifest::new(inventory);
    // Services whose own file changes, by kind.
    let mut changed: Vec<&RenderedFile> = Vec::new();

    for d in desired {
        new_manifest.files.insert(d.file_name.clone(), record(d));
        let old = old_files.get(&d.file_name);
        let on_disk = observed.files.get(&d.file_name);
        let change = |op: FileOp, backup: bool| FileChange {
            file_name: d.file_name.clone(),
            kind: d.kind,
            entry: d.entry.clone(),
            service: d.service.clone(),
            op,
            old_text: on_disk.map(|f| f.text.clone()),
            new_text: op.writes().then(|| d.text.clone()),
            backup,
        };
        match (on_disk, old) {
            (None, None) => {
                files.push(change(FileOp::Add, false));
                if d.auto_start {
                    b.start.insert(d.service.clone());
                    b.reason(&d.service, "new");
                } else {
                    b.reason(
                        &d.service,
                        match d.kind {
                            UnitKind::Container => "new; not auto_start",
                            _ => "new; starts with the containers that require it",
                        },
                    );
                }
            }
            (None, Some(r)) => {
                files.push(change(FileOp::Restore, false));
                if r.sha256 != d.sha256 {
                    changed.push(d);
                } else if d.auto_start {
                    b.start.insert(d.service.clone());
                    b.reason(&d.service, "file deleted by hand; restored");
                } else {
                    b.reason(&d.service, "file deleted by hand; restored");
                }
            }
            // Our content on disk under a name the manifest (or an interrupted install's intent)
            // lists: an earlier install wrote it. Unlisted, it is someone else's file, whatever
            // its content.
            (Some(f), Some(r)) if f.sha256 == d.sha256 => {
                if r.sha256 != d.sha256 {
                    files.push(change(FileOp::Adopt, false));
                }
            }
            (Some(f), None) if options.adopt && f.sha256 == d.sha256 => {
                files.push(change(FileOp::Adopt, false));
                b.reason(
                    &d.service,
                    "adopted: the file is already exactly what quadgen writes; left as it is",
                );
            }
            (Some(f), None) => conflicts.push(Conflict {
                file_name: d.file_name.clone(),
                kind: ConflictKind::Foreign,
                on_disk: f.text.clone(),
                ours: Some(d.text.clone()),
            }),
            (Some(f), Some(r)) => {
                let edited = !r.is_ours(&f.sha256);
                if edited && !options.force {
                    conflicts.push(Conflict {
                        file_name: d.file_name.clone(),
                        kind: ConflictKind::Edited,
                        on_disk: f.text.clone(),
                        ours: Some(d.text.clone()),
                    });
                } else {
                    files.push(change(FileOp::Change, edited));
                    changed.push(d);
                }
            }
        }
    }

    // Units whose file changed.
    for d in &changed {
        // A change the running service does not see (`[Install]`, `Description=`, comments…):
        // the reload applies it, nothing restarts. See `crate::unit_change`.
        if let Some(old) = observed.files.get(&d.file_name) {
            if compare_units(&old.text, &d.text) != UnitChange::Restart {
                reload_only(&mut b, d, &old.text);
                continue;
            }
        }
        match d.kind {
            UnitKind::Container => {
                if d.auto_start {
                    b.restart.insert(d.service.clone());
                    b.reason(&d.service, "unit file changed");
                } else {
                    b.try_restart.insert(d.service.clone());
                    b.reason(&d.service, "unit file changed; restarted if running");
                }
            }
            UnitKind::Network => {
                let old_text = observed.files.get(&d.file_name).map(|f| f.text.as_str());
                let name = network_name(&d.file_name, old_text.unwrap_or(&d.text));
                let users = recreate_network(&mut b, desired, d, &name);
                b.notes.push(format!(
                    "network `{}` changed: podman does not update a network in place, so install stops the {users} container{} that need it, removes podman network `{name}` and starts them again",
                    d.file_name,
                    if users == 1 { "" } else { "s" },
                ));
            }
            UnitKind::Volume => {
                let name = podman_name(&d.file_name, &d.text, "Volume", "VolumeName");
                b.reason(
                    &d.service,
                    "volume changed; the existing volume and its data are kept",
                );
                b.notes.push(format!(
                    "WARNING: volume `{}` changed, but podman keeps the existing volume `{name}` with its old options, and quadgen never deletes data; the new definition applies only after you back up and remove it (`podman volume rm {name}`) and restart `{}`",
                    d.file_name, d.service
                ));
            }
        }
    }

    // Files that left the inventory.
    for (name, r) in old_files {
        if new_manifest.files.contains_key(name) {
            continue;
        }
        let on_disk = observed.files.get(name);
        let mut leave = |op: FileOp, backup: bool| {
            files.push(FileChange {
                file_name: name.clone(),
                kind: r.kind,
                entry: r.entry.clone(),
                service: r.service.clone(),
                op,
                old_text: on_disk.map(|f| f.text.clone()),
                new_text: None,
                backup,
            });
        };
        match on_disk {
            None => leave(FileOp::Forget, false),
            Some(f) if r.is_ours(&f.sha256) => leave(FileOp::Remove, false),
            Some(_) if options.force => leave(FileOp::Remove, true),
            Some(f) => {
                conflicts.push(Conflict {
                    file_name: name.clone(),
                    kind: ConflictKind::Edited,
                    on_disk: f.text.clone(),
                    ours: None,
                });
                continue;
            }
        }
        b.stop.insert(r.service.clone());
        b.reason(&r.service, format!("`{}` left the inventory", r.entry));
        match r.kind {
            UnitKind::Volume => b.notes.push(format!(
                "volume `{name}` left the inventory: its service is stopped and its file removed; the podman volume and its data are kept"
            )),
            UnitKind::Network => b.notes.push(format!(
                "network `{name}` left the inventory: its service is stopped and its file removed; the podman network is kept"
            )),
            UnitKind::Container => {}
        }
    }

    // Work an interrupted install still owes.
    if let Some(p) = manifest.and_then(|m| m.pending.as_ref()) {
        let desired_services: BTreeSet<&str> = desired.iter().map(|d| d.service.as_str()).collect();
        let owed = "owed by an interrupted install";
        b.reload |= p.reload;
        for (from, to) in [
            (&p.restart, &mut b.restart),
            (&p.try_restart, &mut b.try_restart),
            (&p.start, &mut b.start),
        ] {
            for s in from {
                if desired_services.contains(s.as_str()) {
                    to.insert(s.clone());
                }
            }
        }
        for s in p.restart.iter().chain(&p.try_restart).chain(&p.start) {
            if desired_services.contains(s.as_str()) {
                b.reason(s, owed);
            }
        }
        // A network an earlier install could not remove (still in use, or a kill): do the
        // whole recreation again, stopping what uses it first.
        for name in &p.network_rm {
            let network = desired.iter().find(|d| {
                d.kind == UnitKind::Network && network_name(&d.file_name, &d.text) == *name
            });
            match network {
                Some(n) => {
                    recreate_network(&mut b, desired, n, name);
                    b.reason(&n.service, owed);
                }
                None => {
                    b.network_rm.insert(name.clone());
                }
            }
        }
    }

    let leaving: Vec<String> = old_files
        .keys()
        .filter(|name| !new_manifest.files.contains_key(*name))
        .cloned()
        .collect();
    let managed = old_files.len();
    let mass_removal = (!options.allow_removals && is_mass_removal(leaving.len(), managed))
        .then_some(MassRemoval { leaving, managed });

    files.sort_by(|a, c| a.file_name.cmp(&c.file_name));
    conflicts.sort_by(|a, c| a.file_name.cmp(&c.file_name));
    b.reload |= files.iter().any(|f| !matches!(f.op, FileOp::Adopt));
    // A unit being restarted need not also be started.
    b.start.retain(|s| !b.restart.contains(s));
    b.try_restart.retain(|s| !b.restart.contains(s));

    // Every unit, desired or leaving.
    let mut services: BTreeMap<String, String> = BTreeMap::new();
    for d in desired {
        services.insert(d.service.clone(), d.file_name.clone());
    }
    for (name, r) in old_files {
        services
            .entry(r.service.clone())
            .or_insert_with(|| name.clone());
    }
    let units = services
        .into_iter()
        .map(|(service, file_name)| {
            let action = if b.restart.contains(&service) || b.try_restart.contains(&service) {
                Action::Restart
            } else if b.start.contains(&service) {
                Action::Start
            } else if b.stop.contains(&service) {
                Action::Stop
            } else {
                Action::Stay
            };
            let reason = b.reasons.get(&service).cloned().unwrap_or_default();
            UnitPlan {
                service,
                file_name,
                action,
                reason,
            }
        })
        .collect();

    let manifest_changed = match manifest {
        None => !new_manifest.files.is_empty(),
        Some(m) => m.files != new_manifest.files || m.pending.is_some() || m.inventory != inventory,
    };
    let steps = Steps {
        stop: b.stop.into_iter().collect(),
        network_rm: b.network_rm.into_iter().collect(),
        reload: b.reload,
        restart: b.restart.into_iter().collect(),
        try_restart: b.try_restart.into_iter().collect(),
        start: b.start.into_iter().collect(),
    };
    Plan {
        files,
        conflicts,
        mass_removal,
        units,
        steps,
        notes: b.notes,
        manifest: new_manifest,
        manifest_changed,
    }
}

#[cfg(test)]
mod tests;
