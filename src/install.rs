//! Stage 2, install: put compiled units into a unit directory and make systemd run exactly what
//! changed. [`manifest`] (what quadgen installed) → [`plan`] (pure: what to write, stop, reload,
//! restart) → [`apply`] (the only place that writes unit files and drives systemd, through
//! [`Systemd`]) → [`status`] (installed versus found). [`out_dir`] writes `build --out`.
//!
//! [`run`] is the install sequence (load manifest → observe → plan → apply) that the CLI, the
//! tests and the benches all call; [`load`] is its first half, which `status` shares.
//! [`release`] is the same sequence taking held files back; [`generations`] keeps what each
//! install installed, for `quadgen rollback`.

pub mod apply;
pub mod generations;
pub mod manifest;
pub mod out_dir;
pub mod plan;
pub mod status;

use std::path::Path;

use crate::compile::render::RenderedFile;
use crate::host::fs::{self, IoError, Observed};
use crate::host::systemd::Systemd;
use apply::{ApplyError, Report};
use manifest::{Manifest, ManifestError};
use plan::{Plan, PlanOptions};

/// A unit directory as install finds it.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The manifest of the last install, if any.
    pub manifest: Option<Manifest>,
    /// The files on disk among those wanted and those the manifest records.
    pub observed: Observed,
}

/// Why the install sequence stopped.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// What [`run`] did.
#[derive(Debug)]
pub enum Outcome {
    /// The plan was refused (hand edits, foreign files, mass removal): nothing was changed.
    Refused(Plan),
    /// Nothing to do: the directory is as the inventory wants it.
    UpToDate(Plan),
    /// The plan was applied.
    Applied { plan: Plan, report: Report },
}

/// Reads the manifest in `root` and the files that matter: those named in `wanted` and those the
/// manifest records.
pub fn load<'a>(
    root: &Path,
    wanted: impl IntoIterator<Item = &'a String>,
) -> Result<Found, InstallError> {
    let manifest = Manifest::load(root)?;
    let mut names: Vec<&String> = wanted.into_iter().collect();
    if let Some(m) = &manifest {
        names.extend(m.files.keys());
    }
    names.sort();
    names.dedup();
    let observed = fs::observe(root, names)?;
    Ok(Found { manifest, observed })
}

/// Loads `root` and plans the install of `desired`. `inventory` is the label the manifest records.
pub fn load_and_plan(
    root: &Path,
    desired: &[RenderedFile],
    inventory: &str,
    options: PlanOptions,
) -> Result<(Found, Plan), InstallError> {
    let found = load(root, desired.iter().map(|d| &d.file_name))?;
    let plan = plan::plan(
        desired,
        found.manifest.as_ref(),
        &found.observed,
        inventory,
        options,
    );
    Ok((found, plan))
}

/// The install sequence: load manifest → observe → plan → apply. A refused plan or one with
/// nothing to do is returned without applying; otherwise `before_apply` sees the plan (to print
/// it) and [`apply::apply`] carries it out through `systemd`. The caller holds the lock
/// ([`fs::lock`]); `now` (Unix seconds) names the backups of hand edits.
pub fn run(
    root: &Path,
    desired: &[RenderedFile],
    inventory: &str,
    options: PlanOptions,
    systemd: &mut impl Systemd,
    now: u64,
    before_apply: impl FnOnce(&Plan),
) -> Result<Outcome, InstallError> {
    let (found, plan) = load_and_plan(root, desired, inventory, options)?;
    carry_out(root, found, plan, systemd, now, before_apply)
}

/// `quadgen release`: the install sequence of `desired`, with the held files in `release` taken
/// back to the inventory's version ([`plan::plan_releasing`]); every other file as [`run`]
/// plans it.
pub fn release(
    root: &Path,
    desired: &[RenderedFile],
    inventory: &str,
    release: &std::collections::BTreeSet<String>,
    systemd: &mut impl Systemd,
    now: u64,
    before_apply: impl FnOnce(&Plan),
) -> Result<Outcome, InstallError> {
    let found = load(root, desired.iter().map(|d| &d.file_name))?;
    let plan = plan::plan_releasing(
        desired,
        found.manifest.as_ref(),
        &found.observed,
        inventory,
        PlanOptions::default(),
        release,
    );
    carry_out(root, found, plan, systemd, now, before_apply)
}

/// The second half of the install sequence: a refused plan or one with nothing to do is
/// returned as it is; otherwise `before_apply` sees it and [`apply::apply`] carries it out.
pub fn carry_out(
    root: &Path,
    found: Found,
    plan: Plan,
    systemd: &mut impl Systemd,
    now: u64,
    before_apply: impl FnOnce(&Plan),
) -> Result<Outcome, InstallError> {
    if plan.is_refused() {
        return Ok(Outcome::Refused(plan));
    }
    if plan.is_noop() {
        return Ok(Outcome::UpToDate(plan));
    }
    before_apply(&plan);
    let report = apply::apply(&plan, root, found.manifest.as_ref(), systemd, now)?;
    Ok(Outcome::Applied { plan, report })
}
