//! The `plan`, `install` and `status` commands: load (inventory, manifest, files on disk), plan,
//! print, and for install apply under the lock.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::cli::{InstallArgs, exit};
use crate::fsio;
use crate::manifest::Manifest;
use crate::plan::{self, Plan, PlanOptions};
use crate::render::RenderedFile;
use crate::systemd::{Systemctl, Systemd};

/// The inventory path recorded in the manifest: absolute, so `status` can find it from anywhere.
fn inventory_label(inventory: &Path) -> String {
    std::path::absolute(inventory)
        .unwrap_or_else(|_| inventory.to_path_buf())
        .display()
        .to_string()
}

/// Reads the manifest and the files that matter, and plans.
fn load_and_plan(
    inventory: &Path,
    desired: &[RenderedFile],
    root: &Path,
    force: bool,
) -> anyhow::Result<(Option<Manifest>, Plan)> {
    let manifest = Manifest::load(root)?;
    let mut names: Vec<&String> = desired.iter().map(|d| &d.file_name).collect();
    if let Some(m) = &manifest {
        names.extend(m.files.keys());
    }
    names.sort();
    names.dedup();
    let observed = fsio::observe(root, names)?;
    let plan = plan::plan(
        desired,
        manifest.as_ref(),
        &observed,
        &inventory_label(inventory),
        PlanOptions { force },
    );
    Ok((manifest, plan))
}

fn print_plan(plan: &Plan, args: &InstallArgs, verbose: bool) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
    } else {
        print!("{}", plan.to_text(verbose));
    }
    Ok(())
}

/// `quadgen plan` and `install --dry-run`: exit 0, or 3 when install would refuse.
pub fn plan_command(
    inventory: &Path,
    args: &InstallArgs,
    force: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let Some(compiled) = crate::cli::compile(inventory, args.target.podman)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    let (_, plan) = load_and_plan(inventory, &compiled.files, &args.root, force)?;
    print_plan(&plan, args, verbose)?;
    if plan.conflicts.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(exit::REFUSED))
    }
}

/// `quadgen install`.
pub fn install_command(
    inventory: &Path,
    args: &InstallArgs,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let Some(compiled) = crate::cli::compile(inventory, args.target.podman)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    let root = &args.root;
    fsio::create_root(root)?;
    let _lock = fsio::lock(root, |path| {
        eprintln!(
            "waiting for another quadgen install to finish (lock `{}`)",
            path.display()
        );
    })?;
    let (manifest, plan) = load_and_plan(inventory, &compiled.files, root, force)?;
    if !plan.conflicts.is_empty() {
        print_plan(&plan, args, false)?;
        let names: Vec<&str> = plan
            .conflicts
            .iter()
            .map(|c| c.file_name.as_str())
            .collect();
        eprintln!(
            "error: refusing to install: {} in `{}` {} not as quadgen wrote {}; nothing was changed",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            root.display(),
            if names.len() == 1 { "is" } else { "are" },
            if names.len() == 1 { "it" } else { "them" },
        );
        return Ok(ExitCode::from(exit::REFUSED));
    }
    if plan.is_noop() {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
        } else {
            eprintln!("nothing to do: `{}` is up to date", root.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.json {
        print!("{}", plan.to_text(false));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let report = crate::apply::apply(&plan, root, manifest.as_ref(), &mut Systemctl, now)
        .with_context(|| format!("install into `{}` stopped", root.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "plan": plan.to_json(),
                "report": report,
            }))?
        );
    }
    for (file, backup) in &report.backups {
        eprintln!("kept the hand edit of `{file}` as `{backup}`");
    }
    eprintln!(
        "installed into `{}`: {} written, {} removed",
        root.display(),
        report.written.len(),
        report.removed.len()
    );
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &report.failed {
            eprintln!(
                "error: {} `{}` failed: {}\n  see: {}",
                f.step, f.unit, f.error, f.hint
            );
        }
        Ok(ExitCode::from(exit::UNITS_FAILED))
    }
}

/// `quadgen status`.
pub fn status_command(inventory: Option<&Path>, args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let compiled = match inventory {
        Some(inv) => match crate::cli::compile(inv, args.target.podman)? {
            Some(c) => Some(c),
            None => return Ok(ExitCode::from(exit::FAILURE)),
        },
        None => None,
    };
    let root = &args.root;
    let manifest = Manifest::load(root)?;
    let mut names: Vec<&String> = Vec::new();
    if let Some(m) = &manifest {
        names.extend(m.files.keys());
    }
    if let Some(c) = &compiled {
        names.extend(c.files.iter().map(|f| &f.file_name));
    }
    names.sort();
    names.dedup();
    let observed = fsio::observe(root, names)?;
    let listing = fsio::list_dir(root)?;
    let services: Vec<String> = manifest
        .iter()
        .flat_map(|m| m.files.values().map(|r| r.service.clone()))
        .collect();
    // No systemd (a container, a CI box): states stay unknown rather than failing the command.
    let states: BTreeMap<String, crate::systemd::UnitState> = Systemctl
        .show(&services)
        .map(|v| v.into_iter().map(|s| (s.unit.clone(), s)).collect())
        .unwrap_or_default();
    let status = crate::status::status(
        manifest.as_ref(),
        &observed,
        &listing,
        compiled.as_ref().map(|c| c.files.as_slice()),
        &states,
        &crate::auto_update::read_last_results(),
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status.to_text());
    }
    let problems = status.not_as_installed();
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("not as installed: {}", problems.join("; "));
        Ok(ExitCode::from(exit::UNHEALTHY))
    }
}
