//! `quadgen status`: what is installed in a unit directory compared with the manifest (and, when
//! given, the inventory), and how each unit runs.
//!
//! Pure: [`status`] takes the manifest, the files on disk and the unit states, and returns a
//! [`Status`]. Image and auto-update policy come from the installed `.container` file; the last
//! `podman auto-update` result from the journal of `podman-auto-update.service`
//! ([`crate::host::journal`]): `podman auto-update --dry-run` would query every registry, too slow
//! for a status command.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::compile::render::RenderedFile;
use crate::host::fs::is_backup;
use crate::host::fs::{Observed, ObservedFile};
use crate::host::journal::AutoUpdateResult;
use crate::host::systemd::UnitState;
use crate::install::manifest::{FileRecord, LOCK_FILE, MANIFEST_FILE, Manifest};
use crate::install::plan::HeldFile;
use crate::unit::UnitKind;
use crate::unit::parse::ParsedUnit;

/// The state of one owned (or wanted) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// As quadgen wrote it.
    Ok,
    /// Changed by hand since quadgen wrote it.
    Edited,
    /// Listed in the manifest, gone from disk.
    Missing,
    /// As quadgen wrote it, but the inventory now renders something else: install changes it.
    Outdated,
    /// In the inventory, not installed yet.
    NotInstalled,
    /// Installed, but no longer in the inventory: install removes it.
    Leaving,
    /// Held by `quadgen edit`/`hold`: installs leave it as it is until `quadgen release`.
    Held,
}

/// One file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    pub file: String,
    pub entry: String,
    pub kind: UnitKind,
    pub state: FileState,
}

/// One unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitStatus {
    pub service: String,
    pub file: String,
    pub active_state: String,
    pub sub_state: String,
    pub invocation_id: String,
    /// systemd's `Result` (`success`, `exit-code`, `signal`…).
    pub result: String,
    /// How often systemd restarted it by itself since it was last started.
    pub n_restarts: u32,
    /// How its last main process ended, when it went down (`exit status 143 (128+15: it got
    /// SIGTERM)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// The state for a person: `activating/auto-restart (exit status 143 …, result exit-code)`.
    pub state: String,
    /// Whether it is down (failed, or died and waiting for `Restart=`): see
    /// `journalctl -u SERVICE -n 50`.
    pub down: bool,
    /// Containers: `Image=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Containers: `AutoUpdate=` (`none` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_update: Option<String>,
    /// Containers: the last `podman auto-update` result for this unit, when the journal has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_auto_update: Option<AutoUpdateResult>,
    /// Pod members: the pod their file names (`Pod=NAME.pod` → `NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// The whole status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The inventory the manifest records.
    pub inventory: Option<String>,
    pub files: Vec<FileStatus>,
    /// Files in the directory quadgen does not own (left alone).
    pub unmanaged: Vec<String>,
    /// Hand edits kept by `install --force`.
    pub backups: Vec<String>,
    pub units: Vec<UnitStatus>,
    /// systemd work is owed (an install was interrupted, or ran with `--no-systemd`); the next
    /// install does it.
    pub owed: bool,
    /// Whether systemd could be asked about the units.
    pub units_known: bool,
    /// Held files with the diff to the inventory's version (see [`held_files`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldFile>,
}

/// Builds the status. `listing` is every name in the directory; `desired` the rendered inventory,
/// when one was given; `states` the unit states by service (empty when systemd is unavailable).
pub fn status(
    manifest: Option<&Manifest>,
    observed: &Observed,
    listing: &[String],
    desired: Option<&[RenderedFile]>,
    states: &BTreeMap<String, UnitState>,
    auto_updates: &BTreeMap<String, AutoUpdateResult>,
) -> Status {
    let mut files = Vec::new();
    let mut units = Vec::new();
    let empty = BTreeMap::new();
    let owned = manifest.map_or(&empty, |m| &m.files);
    let wanted: BTreeMap<&str, &RenderedFile> = desired
        .unwrap_or_default()
        .iter()
        .map(|d| (d.file_name.as_str(), d))
        .collect();

    for (name, r) in owned {
        let on_disk = observed.files.get(name);
        let want = wanted.get(name.as_str()).copied();
        files.push(FileStatus {
            file: name.clone(),
            entry: r.entry.clone(),
            kind: r.kind,
            state: if manifest.is_some_and(|m| m.held.contains(name)) {
                FileState::Held
            } else {
                file_state(r, on_disk, want, desired.is_some())
            },
        });
        let state = states.get(&r.service).cloned().unwrap_or_default();
        let last_auto_update = auto_updates.get(&r.service).cloned();
        units.push(unit_status(name, r, on_disk, state, last_auto_update));
    }
    for (name, d) in &wanted {
        if !owned.contains_key(*name) {
            files.push(FileStatus {
                file: name.to_string(),
                entry: d.entry.clone(),
                kind: d.kind,
                state: FileState::NotInstalled,
            });
        }
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    units.sort_by(|a, b| a.service.cmp(&b.service));

    let (unmanaged, backups) = unmanaged_and_backups(listing, owned);
    Status {
        inventory: manifest.map(|m| m.inventory.clone()),
        files,
        unmanaged,
        backups,
        units,
        owed: manifest.is_some_and(|m| m.pending.is_some()),
        units_known: !states.is_empty(),
        held: held_files(manifest, observed, desired),
    }
}

/// The held files of `manifest`, each with its content on disk and what `desired` (the
/// inventory, when known) renders there.
pub fn held_files(
    manifest: Option<&Manifest>,
    observed: &Observed,
    desired: Option<&[RenderedFile]>,
) -> Vec<HeldFile> {
    let Some(m) = manifest else {
        return Vec::new();
    };
    m.held
        .iter()
        .filter_map(|name| {
            let record = m.files.get(name)?;
            Some(HeldFile {
                file_name: name.clone(),
                service: record.service.clone(),
                on_disk: observed.files.get(name).map(|f| f.text.clone()),
                ours: desired
                    .unwrap_or_default()
                    .iter()
                    .find(|d| d.file_name == *name)
                    .map(|d| d.text.clone()),
            })
        })
        .collect()
}

/// How a managed file is found: missing, edited by hand, leaving the inventory, outdated, ok.
fn file_state(
    record: &FileRecord,
    on_disk: Option<&ObservedFile>,
    want: Option<&RenderedFile>,
    inventory_given: bool,
) -> FileState {
    let want = want.map(RenderedFile::sha256);
    match on_disk {
        None => FileState::Missing,
        Some(f) if !record.is_ours(&f.sha256) && want.as_ref().is_none_or(|d| *d != f.sha256) => {
            FileState::Edited
        }
        Some(_) if inventory_given && want.is_none() => FileState::Leaving,
        Some(f) if want.as_ref().is_some_and(|d| *d != f.sha256) => FileState::Outdated,
        Some(_) => FileState::Ok,
    }
}

/// A managed unit's status: its systemd state, and for a container the image and auto-update
/// policy its file on disk names.
fn unit_status(
    name: &str,
    record: &FileRecord,
    on_disk: Option<&ObservedFile>,
    s: UnitState,
    last_auto_update: Option<AutoUpdateResult>,
) -> UnitStatus {
    let parsed = on_disk.map(|f| ParsedUnit::parse(&f.text));
    let (image, auto_update) = match (record.kind, &parsed) {
        (UnitKind::Container, Some(p)) => (
            p.last("Container", "Image").map(str::to_string),
            Some(
                p.last("Container", "AutoUpdate")
                    .unwrap_or("none")
                    .to_string(),
            ),
        ),
        _ => (None, None),
    };
    UnitStatus {
        service: record.service.clone(),
        file: name.to_string(),
        exit: if s.is_down() {
            s.exit_description()
        } else {
            None
        },
        state: s.describe(),
        down: s.is_down(),
        result: s.result,
        n_restarts: s.n_restarts,
        active_state: s.active_state.to_string(),
        sub_state: s.sub_state.to_string(),
        invocation_id: s.invocation_id,
        image,
        auto_update,
        last_auto_update,
        pod: parsed
            .as_ref()
            .and_then(|p| p.last("Container", "Pod"))
            .map(|p| p.strip_suffix(".pod").unwrap_or(p).to_string()),
    }
}

/// The other names in the directory: files quadgen does not manage, and kept hand edits.
fn unmanaged_and_backups(
    listing: &[String],
    owned: &BTreeMap<String, FileRecord>,
) -> (Vec<String>, Vec<String>) {
    let mut unmanaged = Vec::new();
    let mut backups = Vec::new();
    for name in listing {
        if name == MANIFEST_FILE
            || name == LOCK_FILE
            || name == crate::install::generations::GENERATIONS_DIR
            || name == crate::host::secrets::KEY_FILE
            || owned.contains_key(name)
        {
            continue;
        }
        if is_backup(name) {
            backups.push(name.clone());
        } else if !name.starts_with(".quadgen-tmp-") {
            unmanaged.push(name.clone());
        }
    }
    (unmanaged, backups)
}

impl Status {
    /// What is not as quadgen installed it, one line each: a hand edit, a missing file, a failed
    /// unit (or one waiting to be restarted after failing), an interrupted install. Empty when all is as installed. `quadgen status` exits
    /// non-zero when it is not empty, so monitoring can use it. An inventory that now renders
    /// something else (outdated, not installed, leaving) is not listed: the host is as installed,
    /// the next install changes it.
    pub fn not_as_installed(&self) -> Vec<String> {
        let mut out = Vec::new();
        // Owed work counts once systemd answered: then units are really not as installed. Without
        // systemd (`--no-systemd`, an image build) it is expected, and the text still shows it.
        if self.owed && self.units_known {
            out.push("systemd work is owed (an interrupted or --no-systemd install)".to_string());
        }
        for f in &self.files {
            // Exhaustive on purpose: a new state (issue 12's "held" unit from `quadgen edit`,
            // which must count here and show as held) has to be decided in this match.
            let problem = match f.state {
                FileState::Edited => Some("edited by hand"),
                FileState::Held => Some(
                    "held by `quadgen edit` (`quadgen release NAME` puts the inventory's version back)",
                ),
                FileState::Missing => Some("missing"),
                FileState::Ok
                | FileState::Outdated
                | FileState::NotInstalled
                | FileState::Leaving => None,
            };
            if let Some(p) = problem {
                out.push(format!("{}: {p}", f.file));
            }
        }
        if self.units_known {
            for u in self.units.iter().filter(|u| u.down) {
                out.push(format!("{}: down, {}", u.service, u.state));
            }
        }
        out
    }

    /// The status as a person reads it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match &self.inventory {
            Some(i) => {
                let _ = writeln!(out, "installed from `{i}`");
            }
            None => out.push_str("nothing installed by quadgen here\n"),
        }
        if self.owed {
            out.push_str(
                "systemd work is owed (an install was interrupted, or ran with --no-systemd); the next `quadgen install` does it\n",
            );
        }
        let not_ok: Vec<&FileStatus> = self
            .files
            .iter()
            .filter(|f| f.state != FileState::Ok)
            .collect();
        if self.files.is_empty() {
            // Nothing owned, nothing wanted.
        } else if not_ok.is_empty() {
            let _ = writeln!(out, "files: {} as installed", self.files.len());
        } else {
            out.push_str("files:\n");
            for f in not_ok {
                let word = match f.state {
                    FileState::Ok => "ok",
                    FileState::Edited => "edited by hand",
                    FileState::Missing => "missing (install restores it)",
                    FileState::Outdated => "outdated (install changes it)",
                    FileState::NotInstalled => "not installed (install adds it)",
                    FileState::Leaving => "left the inventory (install removes it)",
                    FileState::Held => "held by `quadgen edit` (installs leave it alone)",
                };
                let _ = writeln!(out, "  {}: {word}", f.file);
            }
        }
        crate::install::plan::show::write_held(&self.held, &mut out);
        for name in &self.unmanaged {
            let _ = writeln!(out, "unmanaged (not quadgen's, left alone): {name}");
        }
        for name in &self.backups {
            let _ = writeln!(out, "backup of a hand edit: {name}");
        }
        if !self.units.is_empty() {
            out.push_str("units:\n");
            for u in &self.units {
                let state = if self.units_known {
                    u.state.clone()
                } else {
                    "unknown".to_string()
                };
                let _ = write!(out, "  {:<32} {state}", u.service);
                if let Some(image) = &u.image {
                    let _ = write!(out, "  {image}");
                }
                if let Some(a) = &u.auto_update {
                    let _ = write!(out, "  auto-update={a}");
                }
                if let Some(pod) = &u.pod {
                    let _ = write!(out, "  pod={pod}");
                }
                if let Some(last) = &u.last_auto_update {
                    let _ = write!(out, "  last update {}: {}", last.when, last.updated);
                }
                if self.units_known && u.down {
                    let _ = write!(out, "\n    down: see journalctl -u {} -n 50", u.service);
                }
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fs::ObservedFile;
    use crate::install::manifest::FileRecord;
    use crate::unit::sha256_hex;

    fn rec(kind: UnitKind, sha: &str, service: &str) -> FileRecord {
        FileRecord {
            sha256: sha.into(),
            next_sha256: None,
            entry: "containers.x".into(),
            service: service.into(),
            kind,
            auto_start: true,
        }
    }

    #[test]
    fn reports_edited_missing_unmanaged_and_image() {
        let text = "[Container]\nImage=docker.io/library/nginx:1\nAutoUpdate=registry\n";
        let edited = "[Container]\nImage=docker.io/library/nginx:2\n";
        let mut m = Manifest::new("/inv.toml");
        m.files.insert(
            "a.container".into(),
            rec(
                UnitKind::Container,
                &sha256_hex(text.as_bytes()),
                "a.service",
            ),
        );
        m.files.insert(
            "b.container".into(),
            rec(
                UnitKind::Container,
                &sha256_hex(text.as_bytes()),
                "b.service",
            ),
        );
        m.files.insert(
            "c.network".into(),
            rec(UnitKind::Network, "00", "c-network.service"),
        );
        let mut observed = Observed::default();
        for (name, t) in [("a.container", text), ("b.container", edited)] {
            observed.files.insert(
                name.into(),
                ObservedFile {
                    sha256: sha256_hex(t.as_bytes()),
                    text: t.into(),
                },
            );
        }
        let listing: Vec<String> = [
            MANIFEST_FILE,
            LOCK_FILE,
            crate::host::secrets::KEY_FILE,
            "a.container",
            "b.container",
            "mine.container",
            "b.container.quadgen-edit-1",
        ]
        .map(String::from)
        .to_vec();
        let mut states = BTreeMap::new();
        states.insert(
            "a.service".to_string(),
            UnitState {
                unit: "a.service".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                invocation_id: "i1".into(),
                ..UnitState::default()
            },
        );
        states.insert(
            "b.service".to_string(),
            UnitState {
                unit: "b.service".into(),
                active_state: "activating".into(),
                sub_state: "auto-restart".into(),
                result: "exit-code".into(),
                exec_main_code: 1,
                exec_main_status: 143,
                ..UnitState::default()
            },
        );
        let s = status(
            Some(&m),
            &observed,
            &listing,
            None,
            &states,
            &BTreeMap::new(),
        );
        let states: Vec<(&str, FileState)> =
            s.files.iter().map(|f| (f.file.as_str(), f.state)).collect();
        assert_eq!(
            states,
            vec![
                ("a.container", FileState::Ok),
                ("b.container", FileState::Edited),
                ("c.network", FileState::Missing),
            ]
        );
        assert_eq!(s.unmanaged, vec!["mine.container"]);
        assert_eq!(s.backups, vec!["b.container.quadgen-edit-1"]);
        assert_eq!(
            s.units[0].image.as_deref(),
            Some("docker.io/library/nginx:1")
        );
        assert_eq!(s.units[0].auto_update.as_deref(), Some("registry"));
        assert_eq!(s.units[1].auto_update.as_deref(), Some("none"));
        let text = s.to_text();
        assert!(text.contains("b.container: edited by hand"), "{text}");
        assert!(text.contains("c.network: missing"), "{text}");
        assert!(text.contains("a.service"), "{text}");
        assert!(text.contains("active/running"), "{text}");
        // A container that died and waits for `Restart=` is visible as such, with the hint.
        assert!(
            text.contains(
                "b.service                        activating/auto-restart (exit status 143 (128+15: it got SIGTERM), result exit-code)"
            ) && text.contains("down: see journalctl -u b.service -n 50"),
            "{text}"
        );
        assert!(!s.units[0].down && s.units[1].down);
        assert_eq!(
            s.units[1].exit.as_deref(),
            Some("exit status 143 (128+15: it got SIGTERM)")
        );
        assert_eq!(
            s.not_as_installed(),
            [
                "b.container: edited by hand",
                "c.network: missing",
                "b.service: down, activating/auto-restart (exit status 143 (128+15: it got SIGTERM), result exit-code)"
            ]
        );
    }

    #[test]
    fn not_as_installed_lists_failed_units_and_interrupted_installs_only() {
        let text = "[Container]\nImage=docker.io/library/nginx:1\n";
        let sha = sha256_hex(text.as_bytes());
        let mut m = Manifest::new("/inv.toml");
        for name in ["a", "b"] {
            m.files.insert(
                format!("{name}.container"),
                rec(UnitKind::Container, &sha, &format!("{name}.service")),
            );
        }
        let mut observed = Observed::default();
        for name in ["a.container", "b.container"] {
            observed.files.insert(
                name.into(),
                ObservedFile {
                    sha256: sha.clone(),
                    text: text.into(),
                },
            );
        }
        let state = |unit: &str, active: &str| UnitState {
            unit: unit.into(),
            active_state: active.into(),
            sub_state: Default::default(),
            invocation_id: String::new(),
            ..UnitState::default()
        };
        let mut states = BTreeMap::new();
        states.insert("a.service".to_string(), state("a.service", "active"));
        states.insert("b.service".to_string(), state("b.service", "inactive"));
        let none = BTreeMap::new();
        let s = status(Some(&m), &observed, &[], None, &states, &none);
        assert!(s.not_as_installed().is_empty(), "{s:?}");
        // The inventory moved on (a left, b renders differently, c is new): still as installed.
        let rendered = |name: &str, text: &str| RenderedFile {
            file_name: format!("{name}.container"),
            kind: UnitKind::Container,
            entry: format!("containers.{name}"),
            service: format!("{name}.service"),
            uses: Vec::new(),
            auto_start: true,
            text: text.into(),
        };
        let desired = vec![
            rendered("b", "[Container]\nImage=x:2\n"),
            rendered("c", text),
        ];
        let s = status(Some(&m), &observed, &[], Some(&desired), &states, &none);
        assert!(s.not_as_installed().is_empty(), "{s:?}");

        states.insert("b.service".to_string(), state("b.service", "failed"));
        m.pending = Some(Default::default());
        let s = status(Some(&m), &observed, &[], None, &states, &none);
        assert_eq!(
            s.not_as_installed(),
            [
                "systemd work is owed (an interrupted or --no-systemd install)",
                "b.service: down, failed/"
            ]
        );
        // Without systemd (`status --no-systemd` of an image root), unit states are unknown, not
        // failed, and owed work is what such a root is expected to carry.
        let s = status(Some(&m), &observed, &[], None, &BTreeMap::new(), &none);
        assert!(s.not_as_installed().is_empty(), "{s:?}");
        assert!(
            s.to_text().contains("systemd work is owed"),
            "{}",
            s.to_text()
        );
    }
}
