//! The `plan`, `install`, `uninstall`, `status` and `doctor` commands: compile, run the library's
//! install sequence ([`crate::install::run`]), print, and choose the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{InstallArgs, compile_for_scope, exit};
use crate::doctor;
use crate::host::fs;
use crate::host::systemd::{Offline, ScopedSystemctl, Systemd};
use crate::install::manifest::Manifest;
use crate::install::plan::{self, Plan, PlanOptions};
use crate::install::{self, InstallError, Outcome, Wanted};

/// The inventory path recorded in the manifest: absolute, so `status` can find it from anywhere.
pub(crate) fn inventory_label(inventory: &Path) -> String {
    std::path::absolute(inventory)
        .unwrap_or_else(|_| inventory.to_path_buf())
        .display()
        .to_string()
}

/// The first half of the install sequence, for `plan` and `--dry-run`: reads the secret files,
/// the manifest and the files that matter, and plans. Asks podman who owns each secret unless
/// `--no-systemd`. `inventory` is the label recorded in the manifest.
pub(crate) fn plan_only(
    wanted: Wanted<'_>,
    inventory: &str,
    options: PlanOptions,
    args: &InstallArgs,
) -> anyhow::Result<Plan> {
    let root = &args.root;
    let (_, plan, _, _) = if args.no_systemd {
        install::load_and_plan(root, wanted, inventory, options, &mut Offline)?
    } else {
        install::load_and_plan(
            root,
            wanted,
            inventory,
            options,
            &mut ScopedSystemctl::new(args.scope.clone()),
        )?
    };
    Ok(plan)
}

pub(crate) fn print_plan(plan: &Plan, args: &InstallArgs, verbose: bool) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
    } else {
        print!("{}", plan.to_text(verbose));
        if args.no_systemd && !plan.steps.is_empty() {
            println!("{NO_SYSTEMD_NOTE}");
        }
    }
    Ok(())
}

const NO_SYSTEMD_NOTE: &str = "note: --no-systemd: no systemctl or podman call is made, so units that leave are not stopped (the `stop` lines above are what an install with systemd would do); the reload, starts, restarts and podman secrets above are recorded in the manifest and done by the next install without --no-systemd";

/// `quadgen plan` and `install --dry-run`: exit 0, or 3 when install would refuse.
pub fn plan_command(
    inventory: &Path,
    args: &InstallArgs,
    options: PlanOptions,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let Some(compiled) = compile_for_scope(inventory, args)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    if !crate::cli::rootless::preflight(inventory, &compiled, args)? {
        return Ok(ExitCode::from(exit::FAILURE));
    }
    let label = inventory_label(inventory);
    let wanted = Wanted::new(&compiled.files, &compiled.secrets);
    let plan = plan_only(wanted, &label, options, args)?;
    print_plan(&plan, args, verbose)?;
    if plan.is_refused() {
        Ok(ExitCode::from(exit::REFUSED))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// `quadgen install`.
pub fn install_command(
    inventory: &Path,
    args: &InstallArgs,
    options: PlanOptions,
    keep_generations: usize,
) -> anyhow::Result<ExitCode> {
    let Some(compiled) = compile_for_scope(inventory, args)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    if !crate::cli::rootless::preflight(inventory, &compiled, args)? {
        return Ok(ExitCode::from(exit::FAILURE));
    }
    let root = &args.root;
    fs::create_root(root)?;
    let _lock = lock(root)?;
    let label = inventory_label(inventory);
    let record = Record {
        source: &compiled.source,
        keep: keep_generations,
    };
    let wanted = Wanted::new(&compiled.files, &compiled.secrets);
    run_install(&label, wanted, options, args, Command::Install(record))
}

/// `quadgen uninstall`: the plan of an empty inventory, removals allowed, through the same apply.
pub fn uninstall_command(
    args: &InstallArgs,
    force: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let label = match Manifest::load(root)? {
        Some(m) => m.inventory,
        None => {
            eprintln!(
                "nothing to do: `{}` has no quadgen manifest, so quadgen installed nothing there",
                root.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let options = PlanOptions {
        force,
        adopt: false,
        allow_removals: true,
    };
    if dry_run {
        let plan = plan_only(Wanted::files(&[]), &label, options, args)?;
        print_plan(&plan, args, false)?;
        return Ok(ExitCode::from(if plan.is_refused() {
            exit::REFUSED
        } else {
            0
        }));
    }
    let _lock = lock(root)?;
    let code = run_install(
        &label,
        Wanted::files(&[]),
        options,
        args,
        Command::Uninstall,
    )?;
    if Manifest::load(root)?.is_none() {
        // Everything quadgen installed is gone: its generations go too.
        crate::install::generations::remove_all(root)?;
        crate::cli::rootless::remove_podman_pause_unit(&args.scope, root);
    }
    Ok(code)
}

pub(crate) fn lock(root: &Path) -> anyhow::Result<fs::Lock> {
    Ok(fs::lock(root, |path| {
        eprintln!(
            "waiting for another quadgen install to finish (lock `{}`)",
            path.display()
        );
    })?)
}

/// Which command applies a plan, for its messages.
#[derive(Clone, Copy)]
pub(crate) enum Command<'a> {
    /// An install of an inventory, recorded as a generation when it changes a file.
    Install(Record<'a>),
    Uninstall,
    /// `quadgen release` of these files, recorded like an install.
    Release(Record<'a>, &'a std::collections::BTreeSet<String>),
    /// `quadgen edit`: one file, not a generation.
    Edit,
}

/// What a generation keeps of an install: the inventory text, and how many generations to keep.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a> {
    pub source: &'a str,
    pub keep: usize,
}

impl<'a> Command<'a> {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Command::Install(_) => "install",
            Command::Uninstall => "uninstall",
            Command::Release(..) => "release",
            Command::Edit => "edit",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Command::Install(_) | Command::Release(..) => "installed into",
            Command::Uninstall => "uninstalled from",
            Command::Edit => "edited in",
        }
    }

    fn record(self) -> Option<Record<'a>> {
        match self {
            Command::Install(r) | Command::Release(r, _) => Some(r),
            Command::Uninstall | Command::Edit => None,
        }
    }
}

/// Runs the install sequence (under the lock the caller holds) and reports: the plan, then what
/// was done, or why nothing was.
pub(crate) fn run_install(
    inventory: &str,
    wanted: Wanted<'_>,
    options: PlanOptions,
    args: &InstallArgs,
    command: Command,
) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let now = unix_now();
    // quadgen's pause unit goes in only once the plan is accepted (never for a refused one), and
    // before the units that want it are written and reloaded.
    let needs_pause_unit = !matches!(command, Command::Uninstall);
    let _pause_unit_kept = if needs_pause_unit {
        crate::cli::rootless::hold_podman_pause_unit(&args.scope, root)
    } else {
        None
    };
    let show = |plan: &Plan| {
        if needs_pause_unit {
            crate::cli::rootless::ensure_podman_pause_unit(&args.scope, root);
        }
        if !args.json {
            // A closed stdout must not stop the install half-way: printing is best effort.
            let _ = print_plan(plan, args, false);
            if let Command::Release(_, names) = command {
                print_fold_hints(plan, names);
            }
        }
    };
    let wanted = match command {
        Command::Release(_, names) => Wanted {
            release: names,
            ..wanted
        },
        _ => wanted,
    };
    let outcome = if args.no_systemd {
        install::run(root, wanted, inventory, options, &mut Offline, now, show)
    } else {
        let mut systemd = ScopedSystemctl::new(args.scope.clone());
        systemd.prepare();
        install::run(root, wanted, inventory, options, &mut systemd, now, show)
    };
    let outcome = outcome.map_err(|e| match e {
        InstallError::Apply(e) => {
            anyhow::Error::from(e).context(format!("install into `{}` stopped", root.display()))
        }
        other => other.into(),
    })?;
    match outcome {
        Outcome::Refused(plan) => report_refusal(&plan, args, command),
        Outcome::UpToDate(plan) => {
            if needs_pause_unit {
                // Up to date, but the pause unit may have been removed by hand.
                crate::cli::rootless::ensure_podman_pause_unit(&args.scope, root);
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
            } else {
                eprintln!("nothing to do: `{}` is up to date", root.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Applied { plan, report } => {
            if let Some(record) = command.record() {
                record_generation(inventory, &plan, args, record, now);
            }
            report_applied(&plan, &report, args, command)
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// For each released file: the inventory keys that would keep its held edit.
fn print_fold_hints(plan: &Plan, names: &std::collections::BTreeSet<String>) {
    for f in plan.files.iter().filter(|f| names.contains(&f.file_name)) {
        let (Some(old), Some(new)) = (&f.old_text, &f.new_text) else {
            continue;
        };
        if let Some(hint) = plan::show::fold_hint(&f.file_name, old, new) {
            println!("{}: {hint}", f.file_name);
        }
    }
}

/// Keeps what an applied install installed as a new generation, when it changed a file. A
/// failure is a warning: the install itself is done.
fn record_generation(inventory: &str, plan: &Plan, args: &InstallArgs, record: Record, now: u64) {
    use crate::install::generations::{self, Generation};
    if plan.files.is_empty() {
        return;
    }
    let root = &args.root;
    let result = generations::list(root).and_then(|numbers| {
        let generation = Generation {
            format: generations::FORMAT,
            number: numbers.last().map_or(1, |n| n + 1),
            time: now,
            inventory_label: inventory.to_string(),
            podman: args.target.podman.to_string(),
            inventory: record.source.to_string(),
            changed: plan.files.iter().map(|f| f.file_name.clone()).collect(),
            // What apply wrote (a unit it could not stop keeps its record), else what it planned.
            manifest: Manifest::load(root)
                .ok()
                .flatten()
                .unwrap_or_else(|| plan.manifest.clone()),
        };
        generations::record(root, &generation, record.keep).map(|()| generation.number)
    });
    match result {
        Ok(n) => eprintln!("recorded as generation {n}"),
        Err(e) => eprintln!("warning: the install is done, but no generation was recorded: {e}"),
    }
}

/// Prints a refused plan and why: exit 3.
fn report_refusal(plan: &Plan, args: &InstallArgs, command: Command) -> anyhow::Result<ExitCode> {
    let verb = command.verb();
    let root = &args.root;
    print_plan(plan, args, false)?;
    if let Some(m) = &plan.mass_removal {
        eprintln!(
            "error: refusing to remove {} of the {} units quadgen manages in `{}` ({}); nothing was changed. If that is intended, run again with `--allow-removals`; to remove everything quadgen installed, run `quadgen uninstall`",
            m.leaving.len(),
            m.managed,
            root.display(),
            m.leaving
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    for c in &plan.secrets.conflicts {
        eprintln!(
            "error: refusing to {verb}: podman secret `{}` exists and quadgen did not create it (it has no `{}=true` label), so quadgen will not replace it with `{}`; nothing was changed. Remove it (`podman secret rm {}`) if it may go, or rename the secret in the inventory",
            c.name,
            crate::host::secrets::OWNER_LABEL,
            c.file,
            c.name
        );
    }
    if !plan.conflicts.is_empty() {
        let names: Vec<&str> = plan
            .conflicts
            .iter()
            .map(|c| c.file_name.as_str())
            .collect();
        let adoptable = plan.conflicts.iter().any(|c| {
            c.kind == plan::ConflictKind::Foreign && c.ours.as_deref() == Some(&c.on_disk)
        });
        eprintln!(
            "error: refusing to {verb}: {} in `{}` {} not as quadgen wrote {}; nothing was changed{}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            root.display(),
            if names.len() == 1 { "is" } else { "are" },
            if names.len() == 1 { "it" } else { "them" },
            if adoptable {
                ". Files not in the manifest that are exactly what quadgen would write are taken over with `--adopt`"
            } else {
                ""
            },
        );
    }
    Ok(ExitCode::from(exit::REFUSED))
}

/// Prints what an applied install did: exit 0, or 4 when units failed.
pub(crate) fn report_applied(
    plan: &Plan,
    report: &install::apply::Report,
    args: &InstallArgs,
    command: Command,
) -> anyhow::Result<ExitCode> {
    let done = command.done();
    let root = &args.root;
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
        "{done} `{}`: {} written, {} removed{}",
        root.display(),
        report.written.len(),
        report.removed.len(),
        if args.no_systemd {
            "; systemd not touched (--no-systemd)"
        } else {
            ""
        }
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
        Some(inv) => match compile_for_scope(inv, args)? {
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
    let observed = fs::observe(root, names)?;
    let listing = fs::list_dir(root)?;
    let services: Vec<String> = manifest
        .iter()
        .flat_map(|m| m.files.values().map(|r| r.service.clone()))
        .collect();
    // No systemd (a container, a CI box, `--no-systemd`): states stay unknown rather than
    // failing the command.
    let states: BTreeMap<String, crate::host::systemd::UnitState> = if args.no_systemd {
        BTreeMap::new()
    } else {
        ScopedSystemctl::new(args.scope.clone())
            .show(&services)
            .map(|v| v.into_iter().map(|s| (s.unit.clone(), s)).collect())
            .unwrap_or_default()
    };
    let mut status = crate::install::status::status(
        manifest.as_ref(),
        &observed,
        &listing,
        compiled.as_ref().map(|c| c.files.as_slice()),
        &states,
        &crate::host::journal::read_last_results_of(&args.scope),
    );
    if compiled.is_none() {
        status.held = held_against_recorded(manifest.as_ref(), &observed, args);
    }
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

/// The held files with the diff to the inventory the manifest records (read quietly: without
/// it, or when it no longer compiles, the held files show without a diff).
fn held_against_recorded(
    manifest: Option<&Manifest>,
    observed: &fs::Observed,
    args: &InstallArgs,
) -> Vec<crate::install::plan::HeldFile> {
    let recorded = manifest
        .filter(|m| !m.held.is_empty())
        .and_then(|m| {
            crate::compile::compile_file(Path::new(&m.inventory), args.target.podman).ok()
        })
        .and_then(Result::ok);
    crate::install::status::held_files(
        manifest,
        observed,
        recorded.as_ref().map(|c| c.files.as_slice()),
    )
}

/// `quadgen doctor`: gathers, diagnoses, prints; exit 5 on any error-level finding.
pub fn doctor_command(args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let facts = doctor::gather::gather(&args.root);
    let findings = doctor::diagnose(
        &facts,
        &doctor::Options {
            target: args.target.podman,
        },
    );
    if args.json {
        let count = |l: doctor::Level| findings.iter().filter(|f| f.level == l).count();
        let report = doctor::Report {
            errors: count(doctor::Level::Error),
            warnings: count(doctor::Level::Warning),
            findings: &findings,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", doctor::render_text(&findings));
    }
    Ok(if doctor::has_errors(&findings) {
        ExitCode::from(exit::UNHEALTHY)
    } else {
        ExitCode::SUCCESS
    })
}
