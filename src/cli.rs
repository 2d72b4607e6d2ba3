//! Command-line interface, the outer edge: clap types, dispatch to the pipeline, exit codes.
//! The only place that uses `anyhow`; [`commands`] holds the commands that print and decide an
//! exit code.

pub mod commands;
pub mod export;
pub mod generations;
pub mod hold;
pub mod import;
pub mod rootless;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use anyhow::Context;

use crate::compile::version::PodmanVersion;
use crate::compile::{self, Compiled};
use crate::install::plan::PlanOptions;

/// Compile a TOML inventory of containers, networks and volumes into Podman Quadlet units, and
/// install exactly what changed.
///
/// Every container gets `AutoUpdate=registry` (with `Pull=missing`, so a rollback sticks), a restart policy, `RequiresMountsFor=`
/// for its host paths and, with a health check, `Notify=healthy` so `podman auto-update` can roll
/// back a bad image.
#[derive(Debug, Parser)]
#[command(name = "quadgen", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the inventory into Quadlet files in a directory.
    ///
    /// Writes nothing when the inventory has an error. The output directory is replaced whole, and
    /// only if it is empty or an earlier `quadgen build` wrote it.
    Build {
        /// The inventory file (TOML).
        inventory: PathBuf,
        /// Where to write the units.
        #[arg(long, short, default_value = "quadlets")]
        out: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Write the inventory for another orchestrator, saying what does not carry over.
    Export {
        #[command(subcommand)]
        to: ExportTarget,
    },
    /// Print a shell completion script (`quadgen completions bash > /etc/bash_completion.d/quadgen`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (`quadgen man | man -l -`).
    Man,
    /// The systemd units for hosts without NixOS: install from /etc/quadgen/inventory.toml at boot
    /// and whenever it changes, the auto-update schedule, and a safe prune (never `--volumes`).
    HostUnits {
        #[command(subcommand)]
        action: HostUnitsAction,
    },
    /// Write an inventory from another tool's configuration (Docker Compose, NixOS oci-containers).
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Check the inventory and print warnings, writing nothing.
    Check {
        /// The inventory file (TOML).
        inventory: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Show what `install` would do, touching nothing.
    ///
    /// Lists files added, changed (with a unified diff), restored or removed, files refused
    /// (edited by hand, or not quadgen's), and for each unit whether it will start, restart, stop
    /// or stay, then the systemd commands install would run. Sorted and stable.
    Plan {
        /// The inventory file (TOML).
        inventory: PathBuf,
        #[command(flatten)]
        install: InstallArgs,
        /// Plan as if `--force` were given.
        #[arg(long)]
        force: bool,
        /// Plan as if `--adopt` were given.
        #[arg(long)]
        adopt: bool,
        /// Plan as if `--allow-removals` were given.
        #[arg(long)]
        allow_removals: bool,
        /// Also show the text of new files and every unit that stays.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Install the units into the Quadlet directory and make systemd match them.
    ///
    /// Writes only files whose content changed (each atomically), runs one `systemctl
    /// daemon-reload` if anything changed, restarts exactly the services whose unit changed,
    /// starts new `auto_start` ones, and stops and removes units that left the inventory. A second
    /// install with nothing changed does nothing. A file edited by hand is never overwritten
    /// without `--force`; a file quadgen did not write is never touched.
    ///
    /// Exit codes: 0 done; 1 error (nothing changed, or the next install converges); 3 refused
    /// because of hand edits or a foreign file (nothing done); 4 installed, but some units failed.
    Install {
        /// The inventory file (TOML).
        inventory: PathBuf,
        #[command(flatten)]
        install: InstallArgs,
        /// Print the plan and do nothing (same as `quadgen plan`).
        #[arg(long)]
        dry_run: bool,
        /// Replace files edited by hand with ours; each edit is kept beside it as
        /// `NAME.quadgen-edit-UNIXTIME`, which quadlet ignores.
        #[arg(long)]
        force: bool,
        /// Take over files quadgen's manifest does not list when they are byte for byte what
        /// quadgen would write (after moving a corrupt manifest away): recorded as quadgen's,
        /// not rewritten, not restarted.
        #[arg(long)]
        adopt: bool,
        /// Allow removing all the managed units, or more than half of them (and more than 2):
        /// without it such a plan is refused, since an empty or truncated inventory looks the
        /// same.
        #[arg(long)]
        allow_removals: bool,
        /// How many generations to keep (`quadgen generations`, `quadgen rollback`): each
        /// install that changes a file records one.
        #[arg(long, value_name = "N", default_value_t = crate::install::generations::DEFAULT_KEEP)]
        keep_generations: usize,
    },
    /// Edit an installed unit by hand, like `systemctl edit`, and hold it.
    ///
    /// Opens `$EDITOR` (then `$VISUAL`, then editor, nano, vim or vi; `code -w` works) on a copy
    /// of the unit file. If it changed, writes it back atomically, runs `systemctl
    /// daemon-reload` and restarts the unit. The unit is then **held**: installs leave it as it
    /// is (and say so) until `quadgen release NAME`; `status` shows it, with the diff, and exits 5.
    Edit {
        /// The unit: `web`, `web.container` or `web.service`.
        name: String,
        #[command(flatten)]
        install: InstallArgs,
    },
    /// Hold a unit edited by hand earlier, as it is on disk: installs leave it alone until
    /// `quadgen release NAME`. Touches no file and no unit.
    Hold {
        /// The unit: `web`, `web.container` or `web.service`.
        name: String,
        #[command(flatten)]
        install: InstallArgs,
    },
    /// Put the inventory's version of a held unit back: an install of the inventory in which the
    /// held file is written (its edit kept beside it as a backup), reloaded and restarted.
    ///
    /// Shows the diff and the inventory keys that would keep the edit. Same exit codes as `install`.
    Release {
        /// The unit: `web`, `web.container` or `web.service`.
        name: String,
        /// The inventory file (TOML); default: the one the manifest records.
        #[arg(long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        #[command(flatten)]
        install: InstallArgs,
        /// How many generations to keep.
        #[arg(long, value_name = "N", default_value_t = crate::install::generations::DEFAULT_KEEP)]
        keep_generations: usize,
    },
    /// List the generations: each install that changed a file, with its time and changed units.
    Generations {
        #[command(flatten)]
        install: InstallArgs,
    },
    /// Install an earlier generation again, through the same plan and apply as `install`; the
    /// result is a new generation. Held units stay held.
    ///
    /// Same exit codes as `install`.
    Rollback {
        /// The generation; default: the one before the newest.
        generation: Option<u64>,
        #[command(flatten)]
        install: InstallArgs,
        /// Print the plan and do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Allow removing all or most of the managed units (see `install --allow-removals`).
        #[arg(long)]
        allow_removals: bool,
        /// How many generations to keep.
        #[arg(long, value_name = "N", default_value_t = crate::install::generations::DEFAULT_KEEP)]
        keep_generations: usize,
    },
    /// Remove everything quadgen installed in the Quadlet directory: stop its units, delete its
    /// files and its manifest. Files quadgen did not write are never touched; a file edited by
    /// hand is refused unless `--force` (the edit is kept as a backup).
    ///
    /// Same plan and exit codes as `install`.
    Uninstall {
        #[command(flatten)]
        install: InstallArgs,
        /// Print the plan and do nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove files edited by hand too, keeping each edit as a backup.
        #[arg(long)]
        force: bool,
    },
    /// Show what is installed: edited, missing and unmanaged files, and each unit's state.
    ///
    /// With an inventory, also the files install would add, change or remove.
    ///
    /// Exit codes: 0 as installed; 5 something is not (a hand edit, a held unit, a missing
    /// file, a failed unit, an interrupted install), listed on stderr; 1 error.
    Status {
        /// The inventory file (TOML); default: compare with the manifest only.
        inventory: Option<PathBuf>,
        #[command(flatten)]
        install: InstallArgs,
    },
    /// Check the host for the traps of running containers under systemd, each with its fix.
    ///
    /// Podman against `--podman`; DNS on the default network and on quadgen's; UDP 53 open for
    /// `podman0` and `qg-*` in the active firewall (nftables or iptables); `podman-auto-update.timer`
    /// enabled, and when it runs next; scheduled prunes with `--volumes`, or that remove networks;
    /// the storage driver on btrfs or ZFS; `/var/lib/containers` persisted on a tmpfs root; linger
    /// for rootless users; `short-name-mode` in registries.conf. Changes nothing.
    ///
    /// Exit codes: 0 no error-level finding; 5 at least one; 1 doctor itself failed.
    Doctor {
        #[command(flatten)]
        install: InstallArgs,
    },
}

/// Where to install, and how to print.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {
    /// The Quadlet directory. Install still drives THIS host's systemd (daemon-reload, stop,
    /// start, restart) and podman, whatever DIR is: for a chroot or an image, add
    /// `--no-systemd`.
    #[arg(long, value_name = "DIR", default_value = "/etc/containers/systemd")]
    pub root: PathBuf,
    /// No systemctl or podman call (image builders, chroots): the Quadlet directory is written
    /// and the manifest records the reload, starts and restarts not done, which the next install
    /// without `--no-systemd` does; units that leave are not stopped. (`plan` writes nothing
    /// either way: it shows what such an install would do.)
    #[arg(long)]
    pub no_systemd: bool,
    /// Print JSON for machines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub rootless: RootlessArgs,
    /// Whose systemd and podman: set from `rootless` by [`resolve_scope`] before a command runs.
    #[arg(skip)]
    pub scope: crate::host::scope::Scope,
}

/// Rootless containers: the calling user's, or, as root, another user's.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RootlessArgs {
    /// Your own rootless containers: the Quadlet directory is
    /// `$XDG_CONFIG_HOME/containers/systemd` (default `~/.config/containers/systemd`, unless
    /// `--root` says otherwise), with `systemctl --user` and your podman. Checks linger, subuid and
    /// subgid ranges, privileged ports and bind-mount sources first.
    #[arg(long, conflicts_with = "for_user")]
    pub user: bool,
    /// As root: rootless containers for USER, in `/etc/containers/systemd/users/UID`, driving
    /// `systemctl --user -M USER@` and USER's podman. The same checks as `--user`; USER needs
    /// linger (`loginctl enable-linger USER`).
    #[arg(long, value_name = "USER")]
    pub for_user: Option<String>,
}

/// What to import from.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// A Docker Compose project, loaded the way Compose loads it (`-f` merging, `.env` and
    /// interpolation, profiles, `include`, `extends`). What the inventory cannot hold is a warning
    /// naming the service and the key, and a comment at that place in the output; secret-looking
    /// values from `.env` are never written into it. Nothing is written when the import is refused.
    Compose(import::ComposeArgs),
    /// NixOS `virtualisation.oci-containers`, from the JSON `nix eval --json
    /// .#nixosConfigurations.HOST.config.virtualisation.oci-containers.containers` prints (a file,
    /// or `-` for standard input). Options and `extraOptions` flags become inventory fields where
    /// the inventory has one; the rest is a warning and a comment. Container names stay;
    /// `podman-NAME.service` becomes `NAME.service`.
    OciContainers(import::OciArgs),
}

/// Where `quadgen export` writes for.
#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// Kubernetes YAML: a Deployment per container (one replica; `Recreate` when it writes a
    /// volume or host path), a Service per container with ports (named after it, so the names
    /// containers use still resolve), a PersistentVolumeClaim per volume, probes from `health`,
    /// environment files as referenced Secrets (never inlined).
    ///
    /// What Kubernetes cannot mean the same way (host network, devices, host paths, start order,
    /// systemd units, restart policies, auto-update, …) is printed on stderr and written as a
    /// `# NOTE` comment. Deterministic: the same inventory gives the same bytes.
    Kubernetes {
        /// The inventory file (TOML).
        inventory: PathBuf,
        /// Write the YAML to FILE (atomically) instead of stdout; an existing FILE is replaced
        /// only if an earlier export wrote it.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Put every object in this namespace (default: none, kubectl's current one).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
}

/// What to do with the units shipped for hosts without NixOS.
#[derive(Debug, Subcommand)]
pub enum HostUnitsAction {
    /// Print every unit, each preceded by a `# FILE` line, as shipped: they run
    /// `/usr/local/bin/quadgen`, where `install` writes the path of its `--quadgen`.
    Print,
    /// Write the units into a systemd unit directory (existing files are replaced atomically).
    /// Then: `systemctl daemon-reload && systemctl enable --now quadgen-install.path
    /// quadgen-install.service quadgen-prune.timer podman-auto-update.timer`.
    Install {
        /// The unit directory.
        #[arg(long, default_value = "/etc/systemd/system")]
        dest: PathBuf,
        /// The quadgen the units run (default: this binary).
        #[arg(long, value_name = "PATH")]
        quadgen: Option<PathBuf>,
    },
}

/// The Podman version the units are for.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Podman version on the hosts (`5.4` is what NixOS 25.05 and Debian trixie ship). Keys
    /// quadlet of that version does not know are refused, with the version that added them.
    #[arg(long = "podman", value_name = "VERSION", default_value_t = PodmanVersion::DEFAULT)]
    pub podman: PodmanVersion,
}

/// Exit codes, for scripts and the NixOS module.
pub mod exit {
    /// The inventory has errors, or an operation failed.
    pub const FAILURE: u8 = 1;
    /// Wrong command-line usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// install refused: files edited by hand, a file quadgen does not own in the way, or a
    /// removal of all or most units without `--allow-removals`. Nothing was done.
    pub const REFUSED: u8 = 3;
    /// Installed, but some units failed to stop, start or restart.
    pub const UNITS_FAILED: u8 = 4;
    /// `doctor` found an error-level problem; `status` found something not as installed (a hand
    /// edit, a held unit, a missing file, a failed unit).
    pub const UNHEALTHY: u8 = 5;
}

/// Whether to colour diagnostics: a terminal, and `NO_COLOR` unset.
fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Runs a parsed command line.
/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, the same in mimalloc 2 and 3;
/// `libmimalloc-sys` names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc (the allocator of the binary and the benchmarks) to keep memory it frees for
/// the next allocation: quadgen runs for milliseconds, and giving memory back to the kernel (an
/// `madvise` each time, and a page fault when it is used again) is what mimalloc otherwise does
/// 10 ms after a free and for all of it at exit. Call it first thing in `main`.
pub fn keep_freed_memory() {
    // SAFETY: sets one of the allocator's options (an integer it reads when it purges); the
    // allocator is in a valid state at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// Sets `args.scope` from `--user` / `--for-user`, and the Quadlet directory to the scope's own
/// when `--root` was left at the system default.
fn resolve_scope(args: &mut InstallArgs) -> anyhow::Result<()> {
    use crate::host::scope;
    let scope = if args.rootless.user {
        scope::calling_user()?
    } else if let Some(name) = &args.rootless.for_user {
        scope::for_user(name)?
    } else {
        return Ok(());
    };
    if args.root == std::path::Path::new(DEFAULT_ROOT) {
        args.root = scope
            .user_quadlet_dir()
            .unwrap_or_else(|| args.root.clone());
    }
    args.scope = scope;
    Ok(())
}

/// `--root`'s default: the system's Quadlet directory.
const DEFAULT_ROOT: &str = "/etc/containers/systemd";

/// [`resolve_scope`] for the commands that install or look at an install.
fn resolve_command_scope(command: &mut Command) -> anyhow::Result<()> {
    match command {
        Command::Plan { install, .. }
        | Command::Install { install, .. }
        | Command::Uninstall { install, .. }
        | Command::Status { install, .. }
        | Command::Doctor { install } => resolve_scope(install),
        _ => Ok(()),
    }
}

fn dispatch(mut cli: Cli) -> anyhow::Result<ExitCode> {
    resolve_command_scope(&mut cli.command)?;
    match cli.command {
        Command::Build {
            inventory,
            out,
            target,
        } => build_command(&inventory, &out, target),
        Command::Plan {
            inventory,
            install,
            force,
            adopt,
            allow_removals,
            verbose,
        } => {
            let options = PlanOptions {
                force,
                adopt,
                allow_removals,
            };
            commands::plan_command(&inventory, &install, options, verbose)
        }
        Command::Install {
            inventory,
            install,
            dry_run,
            force,
            adopt,
            allow_removals,
            keep_generations,
        } => {
            let options = PlanOptions {
                force,
                adopt,
                allow_removals,
            };
            if dry_run {
                commands::plan_command(&inventory, &install, options, false)
            } else {
                commands::install_command(&inventory, &install, options, keep_generations)
            }
        }
        command @ (Command::Edit { .. }
        | Command::Hold { .. }
        | Command::Release { .. }
        | Command::Generations { .. }
        | Command::Rollback { .. }) => dispatch_held_and_generations(command),
        Command::Uninstall {
            install,
            dry_run,
            force,
        } => commands::uninstall_command(&install, force, dry_run),
        Command::Status { inventory, install } => {
            commands::status_command(inventory.as_deref(), &install)
        }
        Command::Export {
            to:
                ExportTarget::Kubernetes {
                    inventory,
                    out,
                    namespace,
                    target,
                },
        } => export::kubernetes_command(
            &inventory,
            out.as_deref(),
            namespace,
            target.podman,
            use_color(),
        ),
        Command::Doctor { install } => commands::doctor_command(&install),
        Command::Completions { shell } => completions_command(shell),
        Command::Man => man_command(),
        Command::HostUnits { action } => host_units_command(action),
        Command::Import { from } => import::import_command(&from),
        Command::Check { inventory, target } => check_command(&inventory, target),
    }
}

/// `edit`, `hold`, `release`, `generations` and `rollback`.
fn dispatch_held_and_generations(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Edit { name, install } => hold::edit_command(&name, &install),
        Command::Hold { name, install } => hold::hold_command(&name, &install),
        Command::Release {
            name,
            inventory,
            install,
            keep_generations,
        } => hold::release_command(&name, inventory.as_deref(), &install, keep_generations),
        Command::Generations { install } => generations::generations_command(&install),
        Command::Rollback {
            generation,
            install,
            dry_run,
            allow_removals,
            keep_generations,
        } => generations::rollback_command(
            generation,
            &install,
            dry_run,
            allow_removals,
            keep_generations,
        ),
        _ => unreachable!("dispatch sends only these commands here"),
    }
}

/// `quadgen completions SHELL`: the completion script, from the CLI definition.
fn completions_command(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "quadgen", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// `quadgen man`: the manual page, from the CLI definition.
fn man_command() -> anyhow::Result<ExitCode> {
    let command = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}

/// `1 unit`, `2 units`.
fn units(count: usize) -> String {
    if count == 1 {
        "1 unit".to_string()
    } else {
        format!("{count} units")
    }
}

/// `quadgen build`: compile and replace the output directory.
fn build_command(
    inventory: &std::path::Path,
    out: &std::path::Path,
    target: TargetArgs,
) -> anyhow::Result<ExitCode> {
    use crate::install::out_dir::{self, Written};
    let Some(compiled) = compile_and_report(inventory, target.podman)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    let (units, podman, shown) = (units(compiled.files.len()), target.podman, out.display());
    match out_dir::write_out_dir(out, &compiled.files)? {
        Written::Replaced => eprintln!("wrote {units} for Podman {podman} to `{shown}`"),
        Written::Unchanged => {
            eprintln!("`{shown}` already holds these {units} for Podman {podman}: nothing written")
        }
    }
    // The process ends now: freeing every unit one by one would only cost time.
    std::mem::forget(compiled);
    Ok(ExitCode::SUCCESS)
}

/// `quadgen check`: compile, write nothing.
fn check_command(inventory: &std::path::Path, target: TargetArgs) -> anyhow::Result<ExitCode> {
    let Some(compiled) = compile_and_report(inventory, target.podman)? else {
        return Ok(ExitCode::from(exit::FAILURE));
    };
    eprintln!(
        "`{}` is valid: {} for Podman {}",
        inventory.display(),
        units(compiled.files.len()),
        target.podman
    );
    // The process ends now: freeing every unit one by one would only cost time.
    std::mem::forget(compiled);
    Ok(ExitCode::SUCCESS)
}

/// `quadgen host-units print|install`.
fn host_units_command(action: HostUnitsAction) -> anyhow::Result<ExitCode> {
    match action {
        HostUnitsAction::Print => {
            let mut out = std::io::stdout().lock();
            for (name, text) in crate::host::units::host_units() {
                writeln!(out, "# {name}\n{text}")?;
            }
        }
        HostUnitsAction::Install { dest, quadgen } => {
            let quadgen = match quadgen {
                Some(path) => path,
                None => std::env::current_exe()?,
            };
            for path in crate::host::units::install(&dest, &quadgen)? {
                eprintln!("wrote {}", path.display());
            }
            eprintln!(
                "now run: systemctl daemon-reload && systemctl enable --now quadgen-install.path quadgen-install.service quadgen-prune.timer podman-auto-update.timer"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Compiles and prints warnings; prints the errors and returns `None` when the inventory is bad.
pub fn compile_and_report(
    inventory: &std::path::Path,
    target: PodmanVersion,
) -> anyhow::Result<Option<Compiled>> {
    compile_and_report_for(inventory, target, false)
}

/// [`compile_and_report`] of the units for `args`' scope: a user's systemd (`--user`,
/// `--for-user`) gets units that start with its `default.target`.
pub fn compile_for_scope(
    inventory: &std::path::Path,
    args: &InstallArgs,
) -> anyhow::Result<Option<Compiled>> {
    compile_and_report_for(inventory, args.target.podman, args.scope.is_rootless())
}

fn compile_and_report_for(
    inventory: &std::path::Path,
    target: PodmanVersion,
    for_user: bool,
) -> anyhow::Result<Option<Compiled>> {
    let color = use_color();
    let compiled = if for_user {
        compile::compile_file_for_user(inventory, target)
    } else {
        compile::compile_file(inventory, target)
    };
    match compiled.context("cannot read the inventory")? {
        Ok(compiled) => {
            if !compiled.warnings.is_empty() {
                let text = crate::compile::diagnostic::render(
                    &compiled.warnings,
                    &inventory.display().to_string(),
                    &compiled.source,
                    color,
                );
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            Ok(Some(compiled))
        }
        Err(rejected) => {
            let _ = std::io::stderr().write_all(rejected.render(color).as_bytes());
            let errors = rejected.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: `{}` has {errors} problem{}; nothing was written",
                inventory.display(),
                if errors == 1 { "" } else { "s" }
            );
            Ok(None)
        }
    }
}
