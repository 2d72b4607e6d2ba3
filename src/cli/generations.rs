//! `quadgen generations` and `quadgen rollback`: list the installs kept as generations, and
//! install an earlier one again through the same install sequence ([`crate::install::run`]).

use std::path::Path;
use std::process::ExitCode;

use crate::cli::commands::{Command, Record, lock, plan_only, print_plan, run_install};
use crate::cli::{InstallArgs, exit};
use crate::compile::version::PodmanVersion;
use crate::install::Wanted;
use crate::install::generations::{self, Generation, format_time};
use crate::install::plan::PlanOptions;

/// `quadgen generations`: each with its time, inventory and changed units; the newest is
/// current.
pub fn generations_command(args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let numbers = generations::list(root)?;
    let all: Vec<Generation> = numbers
        .iter()
        .map(|n| generations::load(root, *n))
        .collect::<Result<_, _>>()?;
    let current = numbers.last().copied();
    if args.json {
        let list: Vec<serde_json::Value> = all
            .iter()
            .map(|g| {
                serde_json::json!({
                    "generation": g.number,
                    "time": g.time,
                    "inventory": g.inventory_label,
                    "podman": g.podman,
                    "changed": g.changed,
                    "current": Some(g.number) == current,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        eprintln!(
            "no generations in `{}` yet: each install that changes something records one",
            root.display()
        );
    }
    for g in &all {
        println!(
            "{:>4}  {}  {}{}\n      changed: {}",
            g.number,
            format_time(g.time),
            g.inventory_label,
            if Some(g.number) == current {
                "  (current)"
            } else {
                ""
            },
            g.changed.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `quadgen rollback [N]`: compile generation N's inventory (for the Podman it was compiled
/// for) and install it like `quadgen install`, which records a new generation.
pub fn rollback_command(
    wanted: Option<u64>,
    args: &InstallArgs,
    dry_run: bool,
    allow_removals: bool,
    keep_generations: usize,
) -> anyhow::Result<ExitCode> {
    let root = &args.root;
    let number = generations::rollback_target(&generations::list(root)?, wanted)?;
    let g = generations::load(root, number)?;
    let podman: PodmanVersion = g.podman.parse().unwrap_or(args.target.podman);
    let name = format!("{} (generation {number})", g.inventory_label);
    let compiled = match crate::compile::compile(Path::new(&name), &g.inventory, podman) {
        Ok(c) => c,
        Err(rejected) => {
            eprint!("{}", rejected.render(false));
            eprintln!(
                "error: generation {number} no longer compiles with this quadgen; nothing was changed"
            );
            return Ok(ExitCode::from(exit::FAILURE));
        }
    };
    eprintln!(
        "rolling back to generation {number} (installed {} from `{}`)",
        format_time(g.time),
        g.inventory_label
    );
    let options = PlanOptions {
        allow_removals,
        ..PlanOptions::default()
    };
    if dry_run {
        let wanted = Wanted::new(&compiled.files, &compiled.secrets);
        let plan = plan_only(wanted, &g.inventory_label, options, args)?;
        print_plan(&plan, args, false)?;
        return Ok(ExitCode::from(if plan.is_refused() {
            exit::REFUSED
        } else {
            0
        }));
    }
    crate::host::fs::create_root(root)?;
    let _lock = lock(root)?;
    let record = Record {
        source: &g.inventory,
        keep: keep_generations,
    };
    run_install(
        &g.inventory_label,
        Wanted::new(&compiled.files, &compiled.secrets),
        options,
        args,
        Command::Install(record),
    )
}
