//! A plan for people (text with unified diffs) and for machines (JSON). Both sorted and stable:
//! the same inputs print the same bytes.

use std::fmt::Write;

use crate::unit::parse::ParsedUnit;

use serde_json::{Value, json};

use super::{Action, ConflictKind, FileOp, Plan};

/// A unified diff of `old` → `new`, headed with `a` and `b`.
pub fn unified_diff(old: &str, new: &str, a: &str, b: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(a, b)
        .to_string()
}

fn op_word(op: FileOp) -> &'static str {
    match op {
        FileOp::Add => "add",
        FileOp::Restore => "restore",
        FileOp::Change => "change",
        FileOp::Remove => "remove",
        FileOp::Forget => "forget",
        FileOp::Adopt => "adopt",
    }
}

fn op_sign(op: FileOp) -> char {
    match op {
        FileOp::Add | FileOp::Restore => '+',
        FileOp::Change => '~',
        FileOp::Remove | FileOp::Forget => '-',
        FileOp::Adopt => '=',
    }
}

fn file_diff(name: &str, old: Option<&str>, new: Option<&str>) -> String {
    unified_diff(
        old.unwrap_or(""),
        new.unwrap_or(""),
        &format!("{name} (installed)"),
        &format!("{name} (inventory)"),
    )
}

fn indent(text: &str, out: &mut String) {
    for line in text.lines() {
        let _ = writeln!(out, "    {line}");
    }
}

impl Plan {
    /// The plan as a person reads it. Unified diffs for changed files; `verbose` adds the text
    /// of new files and lists units that stay.
    pub fn to_text(&self, verbose: bool) -> String {
        let mut out = String::new();
        self.write_mass_removal(&mut out);
        self.write_conflicts(&mut out);
        write_held(&self.held, &mut out);
        self.write_files(&mut out, verbose);
        self.write_units(&mut out, verbose);
        self.write_secrets(&mut out);
        self.write_steps(&mut out);
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    /// A refused mass removal and the units it would remove.
    fn write_mass_removal(&self, out: &mut String) {
        if let Some(m) = &self.mass_removal {
            let _ = writeln!(
                out,
                "refused: the inventory removes {} of the {} units quadgen manages (an empty or truncated inventory looks like this); these would be stopped and deleted:",
                m.leaving.len(),
                m.managed
            );
            for name in &m.leaving {
                let _ = writeln!(out, "  - {name}");
            }
            out.push_str("  if that is what you want, run again with `--allow-removals`; to remove everything quadgen installed, run `quadgen uninstall`\n");
        }
    }

    /// The refused files, why, the diff, and for a hand edit the inventory keys that keep it.
    fn write_conflicts(&self, out: &mut String) {
        if !self.conflicts.is_empty() {
            out.push_str("refused (install will not touch these):\n");
            for c in &self.conflicts {
                let why = match (c.kind, &c.ours) {
                    (ConflictKind::Foreign, Some(ours)) if *ours == c.on_disk => {
                        "not in quadgen's manifest, but exactly what quadgen would write (a lost or corrupt manifest?); `--adopt` takes it over as it is".to_string()
                    }
                    (ConflictKind::Foreign, _) => {
                        "not written by quadgen, but the inventory wants this name; move it away or rename the inventory entry".to_string()
                    }
                    (ConflictKind::Edited, Some(_)) => {
                        "edited by hand; keep it (put the change into the inventory), or take ours with `--force` (the edit is kept as a backup)".to_string()
                    }
                    (ConflictKind::Edited, None) => {
                        "edited by hand and no longer in the inventory; `--force` removes it, keeping the edit as a backup".to_string()
                    }
                };
                let _ = writeln!(out, "  ! {}: {why}", c.file_name);
                let diff = unified_diff(
                    &c.on_disk,
                    c.ours.as_deref().unwrap_or(""),
                    &format!("{} (on disk)", c.file_name),
                    &format!("{} (quadgen)", c.file_name),
                );
                indent(&diff, out);
                let hint = match (c.kind, &c.ours) {
                    (ConflictKind::Edited, Some(ours)) => fold_hint(&c.file_name, &c.on_disk, ours),
                    _ => None,
                };
                if let Some(hint) = hint {
                    indent(&hint, out);
                }
            }
        }
    }

    /// The file operations, with diffs of changes (and of new files when `verbose`).
    fn write_files(&self, out: &mut String, verbose: bool) {
        if self.files.is_empty() && self.conflicts.is_empty() {
            out.push_str("files: no changes\n");
        } else if !self.files.is_empty() {
            out.push_str("files:\n");
            for f in &self.files {
                let backup = if f.backup {
                    " (hand edit kept as a backup)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  {} {} {} [{}]{backup}",
                    op_sign(f.op),
                    op_word(f.op),
                    f.file_name,
                    f.entry
                );
                let show_diff = match f.op {
                    FileOp::Change => true,
                    FileOp::Add | FileOp::Restore => verbose,
                    _ => false,
                };
                if show_diff {
                    let diff =
                        file_diff(&f.file_name, f.old_text.as_deref(), f.new_text.as_deref());
                    indent(&diff, out);
                }
            }
        }
    }

    /// Each unit's action and why; units that stay are counted unless `verbose`.
    fn write_units(&self, out: &mut String, verbose: bool) {
        let mut staying = 0usize;
        let mut lines = String::new();
        for u in &self.units {
            if u.action == Action::Stay && !verbose && u.reason.is_empty() {
                staying += 1;
                continue;
            }
            let _ = write!(lines, "  {:<8} {}", u.action.as_str(), u.service);
            if !u.reason.is_empty() {
                let _ = write!(lines, " ({})", u.reason);
            }
            lines.push('\n');
        }
        out.push_str("units:\n");
        out.push_str(&lines);
        if staying > 0 {
            let _ = writeln!(
                out,
                "  {staying} unchanged unit{} stay{}",
                if staying == 1 { "" } else { "s" },
                if staying == 1 { "s" } else { "" }
            );
        }
    }

    /// Each podman secret created, replaced or removed, and the restarts a change causes (never
    /// a value or a fingerprint).
    fn write_secrets(&self, out: &mut String) {
        use super::secrets::SecretOp;
        for c in &self.secrets.conflicts {
            let _ = writeln!(
                out,
                "refused: podman secret `{}` exists and quadgen did not create it (no `{}=true` label); quadgen never replaces it with `{}`",
                c.name,
                crate::host::secrets::OWNER_LABEL,
                c.file
            );
        }
        if self.secrets.changes.is_empty() {
            return;
        }
        out.push_str("secrets:\n");
        for c in &self.secrets.changes {
            let (what, why) = match (c.op, c.restarts.is_empty()) {
                (SecretOp::Create, true) => ("create", None),
                (SecretOp::Create, false) => {
                    ("create", Some("a podman secret of quadgen's was there"))
                }
                (SecretOp::Replace, _) => ("replace", Some("content changed")),
                (SecretOp::Resync, true) => ("resync", Some("gone from podman")),
                (SecretOp::Resync, false) => ("resync", Some("owed by an earlier install")),
                (SecretOp::Remove, _) => ("remove", Some("no container uses it")),
            };
            let _ = write!(out, "  {what:<8} {}", c.name);
            match (why, c.restarts.is_empty()) {
                (Some(why), true) => {
                    let _ = write!(out, " ({why})");
                }
                (Some(why), false) => {
                    let _ = write!(out, " ({why}; restarts {})", c.restarts.join(", "));
                }
                (None, _) => {}
            }
            out.push('\n');
        }
    }

    /// The systemd and podman calls, in the order install makes them.
    fn write_steps(&self, out: &mut String) {
        let s = &self.steps;
        if s.is_empty() {
            out.push_str("systemd: nothing to do\n");
        } else {
            out.push_str("systemd:\n");
            let mut step = |verb: &str, list: &[String]| {
                if !list.is_empty() {
                    let _ = writeln!(out, "  {verb} {}", list.join(" "));
                }
            };
            step("systemctl stop", &s.stop);
            for n in &s.network_rm {
                let _ = writeln!(out, "  podman network rm {n}");
            }
            for n in &s.secret_rm {
                let _ = writeln!(out, "  podman secret rm {n}");
            }
            for n in &s.secret_sync {
                let _ = writeln!(out, "  podman secret create --replace {n}");
            }
            if s.reload {
                out.push_str("  systemctl daemon-reload\n");
            }
            let mut step = |verb: &str, list: &[String]| {
                if !list.is_empty() {
                    let _ = writeln!(out, "  {verb} {}", list.join(" "));
                }
            };
            step("systemctl restart", &s.restart);
            step("systemctl try-restart", &s.try_restart);
            step("systemctl start", &s.start);
        }
    }

    /// The plan as JSON: `files`, `conflicts`, `units`, `steps`, `notes`, `noop`.
    pub fn to_json(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|f| {
                let diff = match f.op {
                    FileOp::Change | FileOp::Add | FileOp::Restore => Value::String(file_diff(
                        &f.file_name,
                        f.old_text.as_deref(),
                        f.new_text.as_deref(),
                    )),
                    _ => Value::Null,
                };
                json!({
                    "file": f.file_name,
                    "op": f.op,
                    "kind": f.kind,
                    "entry": f.entry,
                    "service": f.service,
                    "backup": f.backup,
                    "diff": diff,
                })
            })
            .collect();
        let conflicts: Vec<Value> = self
            .conflicts
            .iter()
            .map(|c| {
                json!({
                    "file": c.file_name,
                    "kind": c.kind,
                    "diff": unified_diff(
                        &c.on_disk,
                        c.ours.as_deref().unwrap_or(""),
                        &format!("{} (on disk)", c.file_name),
                        &format!("{} (quadgen)", c.file_name),
                    ),
                })
            })
            .collect();
        json!({
            "noop": self.is_noop(),
            "refused": self.is_refused(),
            "mass_removal": self.mass_removal,
            "files": files,
            "conflicts": conflicts,
            "units": self.units,
            "steps": self.steps,
            "secrets": self.secrets.changes,
            "secret_conflicts": self.secrets.conflicts,
            "notes": self.notes,
            "held": held_json(&self.held),
        })
    }
}

/// Held files (`quadgen edit`/`hold`): left as they are, each with the diff from the held
/// version on disk to the inventory's. Shared by the plan and `status`.
pub fn write_held(held: &[super::HeldFile], out: &mut String) {
    if held.is_empty() {
        return;
    }
    out.push_str(
        "held (left as they are; `quadgen release NAME` puts the inventory's version back):\n",
    );
    for h in held {
        let what = match (&h.on_disk, &h.ours) {
            (None, _) => "held, but deleted by hand since",
            (Some(_), None) => "held; no longer in the inventory (release removes it)",
            (Some(d), Some(o)) if d == o => "held; the same as the inventory's version",
            (Some(_), Some(_)) => "held; differs from the inventory's version",
        };
        let _ = writeln!(out, "  = held {} ({what})", h.file_name);
        if let (Some(d), Some(o)) = (&h.on_disk, &h.ours) {
            if d != o {
                indent(&held_diff(h, d, o), out);
            }
        }
    }
}

fn held_diff(h: &super::HeldFile, on_disk: &str, ours: &str) -> String {
    unified_diff(
        on_disk,
        ours,
        &format!("{} (held)", h.file_name),
        &format!("{} (inventory)", h.file_name),
    )
}

/// Held files as JSON: `file`, `service`, `in_inventory`, `diff` (held → inventory).
pub fn held_json(held: &[super::HeldFile]) -> Value {
    Value::Array(
        held.iter()
            .map(|h| {
                let diff = match (&h.on_disk, &h.ours) {
                    (Some(d), Some(o)) => Value::String(held_diff(h, d, o)),
                    _ => Value::Null,
                };
                json!({
                    "file": h.file_name,
                    "service": h.service,
                    "in_inventory": h.ours.is_some(),
                    "on_disk": h.on_disk.is_some(),
                    "diff": diff,
                })
            })
            .collect(),
    )
}

/// How to keep a hand edit by putting it into the inventory: the keys the edit added or changed,
/// as the inventory's raw-key escape hatch. `None` when the edit only removed lines.
pub fn fold_hint(file_name: &str, on_disk: &str, ours: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    let table = crate::unit::UnitKind::from_extension(ext)?.table();
    let edited = ParsedUnit::parse(on_disk);
    let generated = ParsedUnit::parse(ours);
    let mut out = String::new();
    for section in &edited.sections {
        let mut keys: Vec<&str> = section.entries.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        let mut lines = String::new();
        for key in keys {
            let mine = edited.all(&section.name, key);
            if mine == generated.all(&section.name, key) {
                continue;
            }
            // Unit files double `%` (and `$`); the inventory's raw values are doubled by quadgen.
            let plain =
                |v: &&str| toml::Value::String(v.replace("%%", "%").replace("$$", "$")).to_string();
            let value = match mine.as_slice() {
                [one] => plain(one),
                many => format!(
                    "[{}]",
                    many.iter().map(plain).collect::<Vec<_>>().join(", ")
                ),
            };
            let _ = writeln!(lines, "{key} = {value}");
        }
        if !lines.is_empty() {
            let _ = writeln!(out, "[{table}.{stem}.quadlet.{}]\n{lines}", section.name);
        }
    }
    (!out.is_empty()).then(|| {
        format!(
            "to keep the edit, add this to the inventory (then install):\n{}",
            out.trim_end()
        )
    })
}

#[cfg(test)]
mod fold_tests {
    use super::fold_hint;

    #[test]
    fn a_hand_edit_is_offered_as_inventory_keys() {
        let ours = "# x\n[Container]\nImage=docker.io/library/nginx:1\nStopTimeout=10\n\n[Service]\nRestart=always\n";
        let edited = "# x\n[Container]\nImage=docker.io/library/nginx:1\nStopTimeout=30\nAddHost=a:1.2.3.4\nAddHost=b:5.6.7.8\n\n[Service]\nRestart=always\nEnvironment=X=100%%\n";
        let hint = fold_hint("web.container", edited, ours).expect("a hint");
        assert_eq!(
            hint,
            "to keep the edit, add this to the inventory (then install):\n\
             [containers.web.quadlet.Container]\n\
             StopTimeout = \"30\"\n\
             AddHost = [\"a:1.2.3.4\", \"b:5.6.7.8\"]\n\
             \n\
             [containers.web.quadlet.Service]\n\
             Environment = \"X=100%\""
        );
        assert_eq!(fold_hint("web.container", ours, ours), None);
    }

    #[test]
    fn folding_the_hint_into_the_inventory_reproduces_the_edit() {
        use crate::unit::parse::ParsedUnit;
        let inventory = "[containers.web]\nimage = \"docker.io/library/nginx:1\"\nhealth = { cmd = \"true\" }\n";
        let compile = |src: &str| {
            crate::compile::compile(
                std::path::Path::new("i.toml"),
                src,
                crate::compile::version::PodmanVersion::DEFAULT,
            )
            .unwrap_or_else(|r| panic!("{}", r.render(false)))
            .files
            .remove(0)
            .text
        };
        let ours = compile(inventory);
        let edited = ours.replace("StopTimeout=10", "StopTimeout=30").replace(
            "TimeoutStopSec=40s\n",
            "TimeoutStopSec=40s\nLimitNOFILE=4096\n",
        );
        let hint = fold_hint("web.container", &edited, &ours).expect("a hint");
        let toml: String = hint.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let folded = ParsedUnit::parse(&compile(&format!("{inventory}{toml}")));
        let want = ParsedUnit::parse(&edited);
        for (section, key) in [("Container", "StopTimeout"), ("Service", "LimitNOFILE")] {
            assert_eq!(
                folded.all(section, key),
                want.all(section, key),
                "{section}.{key}\n{hint}"
            );
        }
    }
}
