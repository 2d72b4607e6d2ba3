//! Held files: `quadgen edit` (and `quadgen hold`) mark a unit file as the user's for now, so
//! installs leave it as it is on disk, and its unit running as it is, until `quadgen release`.
//!
//! # Decisions
//! - **Held, desired or not.** A held file is neither written, removed, nor restarted; its
//!   manifest record (the hash quadgen last wrote) is kept, and the plan lists it in
//!   [`Plan::held`] with the inventory's version for the diff (`None` when it left the
//!   inventory). It never counts as a conflict or as a removal, so an install with held units
//!   succeeds.
//! - **Release** is an install of the inventory where the released files are taken back like a
//!   forced hand edit: written (the held edit kept as a backup beside it) and restarted.
//! - **Edit** is a plan of its own ([`edit`]): write the edited text, one reload, restart the
//!   unit (started if it was down), and record the file as held. Through the same apply as
//!   install, so it is crash-safe, honours `--no-systemd` and watches the restart.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Action, Draft, FileChange, FileOp, Plan, Steps, UnitPlan};
use crate::compile::diagnostic::did_you_mean;
use crate::compile::render::RenderedFile;
use crate::install::manifest::Manifest;

/// A held file as a plan or `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldFile {
    pub file_name: String,
    pub service: String,
    /// The held content on disk (`None`: deleted by hand since).
    pub on_disk: Option<String>,
    /// What the inventory renders there (`None`: it left the inventory, or no inventory given).
    pub ours: Option<String>,
}

/// The held files of the old manifest, and those being released.
pub(super) struct Holding<'a> {
    held: Option<&'a BTreeSet<String>>,
    release: &'a BTreeSet<String>,
    /// Held files met so far.
    pub(super) files: Vec<HeldFile>,
}

impl<'a> Holding<'a> {
    pub(super) fn new(manifest: Option<&'a Manifest>, release: &'a BTreeSet<String>) -> Self {
        Holding {
            held: manifest.map(|m| &m.held),
            release,
            files: Vec::new(),
        }
    }

    /// Whether `file_name` stays held in this plan.
    pub(super) fn holds(&self, file_name: &str) -> bool {
        self.held.is_some_and(|h| h.contains(file_name)) && !self.release.contains(file_name)
    }
}

const HELD_REASON: &str =
    "held (`quadgen edit`): left as it is; `quadgen release` takes the inventory's version";

impl Draft<'_> {
    /// Whether a hand edit of `file_name` is overwritten: `--force`, or a release of it.
    pub(super) fn forced(&self, file_name: &str) -> bool {
        self.options.force || self.holding.release.contains(file_name)
    }

    /// A desired file that is held: nothing is done, the plan shows it with the diff.
    pub(super) fn plan_held(&mut self, wanted: &RenderedFile) {
        let on_disk = self.observed.files.get(&wanted.file_name);
        self.holding.files.push(HeldFile {
            file_name: wanted.file_name.clone(),
            service: wanted.service.clone(),
            on_disk: on_disk.map(|f| f.text.clone()),
            ours: Some(wanted.text.clone()),
        });
        self.work.reason(&wanted.service, HELD_REASON);
        self.work.held.insert(wanted.service.clone());
    }

    /// Held files keep their old record and stay held in the new manifest, desired or not (a
    /// held file that left the inventory is neither stopped nor removed until released).
    pub(super) fn keep_held(&mut self, new_manifest: &mut Manifest) {
        let old_files = self.old_files;
        for (name, record) in old_files {
            if !self.holding.holds(name) {
                continue;
            }
            let desired = new_manifest.files.contains_key(name);
            new_manifest.files.insert(name.clone(), record.clone());
            new_manifest.held.insert(name.clone());
            if !desired {
                self.holding.files.push(HeldFile {
                    file_name: name.clone(),
                    service: record.service.clone(),
                    on_disk: self.observed.files.get(name).map(|f| f.text.clone()),
                    ours: None,
                });
                self.work.reason(
                    &record.service,
                    format!("{HELD_REASON}; `{}` left the inventory", record.entry),
                );
            }
        }
        self.holding
            .files
            .sort_by(|a, b| a.file_name.cmp(&b.file_name));
    }
}

/// A NAME given to `edit`, `hold` or `release` that is no file quadgen manages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{name}` is not a unit quadgen manages here{}; give a file name, a service or an inventory name ({})",
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
    if known.is_empty() { "none installed".to_string() } else { known.join(", ") }
)]
pub struct UnknownUnit {
    pub name: String,
    pub suggestion: Option<String>,
    /// Every file quadgen manages.
    pub known: Vec<String>,
}

/// `NAME` as a managed file name: the file itself (`web.container`), its service
/// (`web.service`, `app-network.service`) or its inventory name (`web`; a container before a
/// network or volume of the same name).
pub fn resolve(manifest: Option<&Manifest>, name: &str) -> Result<String, UnknownUnit> {
    let files: Vec<(&String, &crate::install::manifest::FileRecord)> = manifest
        .map(|m| m.files.iter().collect())
        .unwrap_or_default();
    let by_stem = |ext: &str| format!("{name}.{ext}");
    let found = files.iter().find(|(f, _)| *f == name).or_else(|| {
        files.iter().find(|(_, r)| r.service == name).or_else(|| {
            ["container", "network", "volume"]
                .iter()
                .find_map(|ext| files.iter().find(|(f, _)| **f == by_stem(ext)))
        })
    });
    if let Some((file, _)) = found {
        return Ok((*file).clone());
    }
    let candidates: Vec<&str> = files
        .iter()
        .flat_map(|(f, r)| {
            [
                f.as_str(),
                r.service.as_str(),
                f.rsplit_once('.').unwrap_or((f, "")).0,
            ]
        })
        .collect();
    Err(UnknownUnit {
        name: name.escape_debug().to_string(),
        suggestion: did_you_mean(name, candidates.iter().copied()).map(str::to_string),
        known: files.iter().map(|(f, _)| (*f).clone()).collect(),
    })
}

/// The plan of `quadgen edit`: write `edited` over the managed `file_name` (now `on_disk`), one
/// reload, restart its unit, and hold the file. `None` when the manifest does not list it.
pub fn edit(manifest: &Manifest, file_name: &str, on_disk: &str, edited: &str) -> Option<Plan> {
    let record = manifest.files.get(file_name)?;
    let mut new_manifest = manifest.clone();
    new_manifest.held.insert(file_name.to_string());
    let mut notes = Vec::new();
    if record.kind != crate::unit::UnitKind::Container {
        notes.push(format!(
            "`{file_name}`: restarting `{}` does not recreate the podman {} itself; remove it by hand (`podman {} rm`) for a changed definition to apply",
            record.service,
            record.kind.extension(),
            record.kind.extension(),
        ));
    }
    Some(Plan {
        files: vec![FileChange {
            file_name: file_name.to_string(),
            kind: record.kind,
            entry: record.entry.clone(),
            service: record.service.clone(),
            op: FileOp::Change,
            old_text: Some(on_disk.to_string()),
            new_text: Some(edited.to_string()),
            backup: false,
        }],
        conflicts: Vec::new(),
        mass_removal: None,
        units: vec![UnitPlan {
            service: record.service.clone(),
            file_name: file_name.to_string(),
            action: Action::Restart,
            reason: "edited with `quadgen edit`; held".to_string(),
        }],
        steps: Steps {
            reload: true,
            restart: vec![record.service.clone()],
            ..Steps::default()
        },
        notes,
        manifest: new_manifest,
        manifest_changed: true,
        held: Vec::new(),
        secrets: Default::default(),
    })
}

/// The plan of `quadgen hold`: record `file_name` as held, as it is on disk (a hand edit made
/// earlier), touching no file and no unit. `None` when the manifest does not list it.
pub fn hold(manifest: &Manifest, file_name: &str) -> Option<Plan> {
    manifest.files.get(file_name)?;
    let mut new_manifest = manifest.clone();
    let changed = new_manifest.held.insert(file_name.to_string());
    Some(Plan {
        files: Vec::new(),
        conflicts: Vec::new(),
        mass_removal: None,
        units: Vec::new(),
        steps: Steps::default(),
        notes: Vec::new(),
        manifest: new_manifest,
        manifest_changed: changed,
        held: Vec::new(),
        secrets: Default::default(),
    })
}
