//! `quadgen edit`, `quadgen hold` and `quadgen release`: debugging by hand-editing a unit, as a
//! flow. The decisions are in [`crate::install::plan::hold`]; this is the edge that runs the
//! editor, applies the plan and prints.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::commands::{
    Command, Record, inventory_label, lock, print_plan, report_applied, run_install, unix_now,
};
use crate::cli::{InstallArgs, compile_and_report, exit};
use crate::host::fs;
use crate::host::systemd::{Offline, ScopedSystemctl};
use crate::install::apply;
use crate::install::manifest::Manifest;
use crate::install::plan::{self, Plan, PlanOptions};

/// Said when a command leaves the work an earlier install owes for the next install.
const OWED_NOTE: &str = "note: the systemd work an earlier install owes (interrupted, or --no-systemd) is still owed: the next `quadgen install` without --no-systemd does it";

/// A managed file found by the NAME the user gave: the manifest, the file's name and its
/// content on disk. Work an earlier install still owes (interrupted, or `--no-systemd`) stays
/// owed: the hold and edit plans carry it in their manifest (an edit with systemd refuses
/// instead, see [`edit_command`]).
struct Managed {
    manifest: Manifest,
    file: String,
    text: String,
}

fn read_managed(root: &Path, name: &str) -> anyhow::Result<Managed> {
    let Some(manifest) = Manifest::load(root)? else {
        bail!(
            "`{}` has no quadgen manifest: nothing is installed there to edit (`--root DIR` names another Quadlet directory)",
            root.display()
        );
    };
    let file = plan::hold::resolve(Some(&manifest), name)?;
    let observed = fs::observe(root, [&file])?;
    let Some(on_disk) = observed.files.get(&file) else {
        bail!(
            "`{file}` is missing from `{}`; `quadgen install` restores it",
            root.display()
        );
    };
    Ok(Managed {
        text: on_disk.text.clone(),
        manifest,
        file,
    })
}

/// Prints `plan`, applies it (through `systemctl`, or none with `--no-systemd`) and reports.
fn apply_plan(
    plan: &Plan,
    old: &Manifest,
    args: &InstallArgs,
    command: Command,
) -> anyhow::Result<ExitCode> {
    if !args.json {
        // With --json, the plan comes once, with the report.
        print_plan(plan, args, false)?;
    }
    let root = &args.root;
    let report = if args.no_systemd {
        apply::apply(plan, root, Some(old), &mut Offline, unix_now())
    } else {
        apply::apply(
            plan,
            root,
            Some(old),
            &mut ScopedSystemctl::new(args.scope.clone()),
            unix_now(),
        )
    }
    .with_context(|| {
        format!(
            "`quadgen {}` in `{}` stopped",
            command.verb(),
            root.display()
        )
    })?;
    report_applied(plan, &report, args, command)
}

/// `quadgen edit NAME`: the editor on a copy, then (if changed) write, reload, restart, hold.
/// The lock is not held while the editor is open; the file must be unchanged when it closes.
pub fn edit_command(name: &str, args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let before = {
        let _lock = lock(root)?;
        read_managed(root, name)?
    };
    if before.manifest.pending.is_some() && !args.no_systemd {
        // The edit restarts its unit: not before the owed reload, secrets and networks exist.
        bail!(
            "an install into `{}` still owes systemd work (interrupted, or `--no-systemd`): run `quadgen install` first, which does it (with `--no-systemd`, the edit carries it on)",
            root.display()
        );
    }
    let edited = crate::host::editor::edit_text(&before.text, &before.file)?;
    let file = &before.file;
    if edited == before.text || edited.trim().is_empty() {
        eprintln!(
            "`{file}` {}: nothing written, nothing restarted",
            if edited == before.text {
                "is unchanged"
            } else {
                "came back empty"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let _lock = lock(root)?;
    let now = read_managed(root, name)?;
    if now.text != before.text || now.manifest != before.manifest {
        bail!(
            "`{file}` or the manifest changed while the editor was open (an install?); nothing was written. Run `quadgen edit {name}` again"
        );
    }
    let plan = plan::hold::edit(&now.manifest, file, &now.text, &edited)
        .context("the file left the manifest")?;
    let code = apply_plan(&plan, &now.manifest, args, Command::Edit)?;
    eprintln!(
        "`{file}` is held: installs leave it as it is; `quadgen release {name}` puts the inventory's version back"
    );
    Ok(code)
}

/// `quadgen hold NAME`: hold a file as it is on disk (a hand edit made earlier).
pub fn hold_command(name: &str, args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let _lock = lock(root)?;
    let managed = read_managed(root, name)?;
    let file = &managed.file;
    let plan = plan::hold::hold(&managed.manifest, file).context("the file left the manifest")?;
    if !plan.manifest_changed {
        eprintln!("`{file}` is already held");
        return Ok(ExitCode::SUCCESS);
    }
    apply::apply(
        &plan,
        root,
        Some(&managed.manifest),
        &mut Offline,
        unix_now(),
    )?;
    eprintln!(
        "`{file}` is held as it is on disk: installs leave it alone; if the edit is not running yet: systemctl daemon-reload && systemctl restart {}",
        managed.manifest.files[file].service
    );
    if managed.manifest.pending.is_some() {
        eprintln!("{OWED_NOTE}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `quadgen release NAME`: install the inventory (given, or the one the manifest records) with
/// the held file taken back.
pub fn release_command(
    name: &str,
    inventory: Option<&Path>,
    args: &InstallArgs,
    keep_generations: usize,
) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let Some(manifest) = Manifest::load(root)? else {
        bail!(
            "`{}` has no quadgen manifest: nothing is held there",
            root.display()
        );
    };
    let file = plan::hold::resolve(Some(&manifest), name)?;
    if !manifest.held.contains(&file) {
        bail!(
            "`{file}` is not held, so there is nothing to release (a hand edit made without `quadgen edit` is taken back with `quadgen install --force`, or held with `quadgen hold {name}`)"
        );
    }
    let (path, label) = match inventory {
        Some(p) => (p.to_path_buf(), inventory_label(p)),
        None => (
            Path::new(&manifest.inventory).to_path_buf(),
            manifest.inventory.clone(),
        ),
    };
    let Some(compiled) = compile_and_report(&path, args.target.podman)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    let _lock = lock(root)?;
    let names = BTreeSet::from([file]);
    let record = Record {
        source: &compiled.source,
        keep: keep_generations,
    };
    run_install(
        &label,
        crate::install::Wanted::new(&compiled.files, &compiled.secrets),
        PlanOptions::default(),
        args,
        Command::Release(record, &names),
    )
}
