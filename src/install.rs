//! Stage 2, install: put compiled units into a unit directory and make systemd run exactly what
//! changed. [`manifest`] (what quadgen installed) → [`plan`] (pure: what to write, stop, reload,
//! restart) → [`apply`] (the only place that writes unit files and drives systemd, through
//! [`Systemd`]) → [`status`] (installed versus found). [`out_dir`] writes `build --out`.
//!
//! [`run`] is the install sequence (read secrets → load manifest → observe → plan → apply) that
//! the CLI (install, release, rollback, uninstall), the tests and the benches all call, with what
//! is [`Wanted`]; [`load`] is its first half, which `status` shares. [`generations`] keeps what
//! each install installed, for `quadgen rollback`.

pub mod apply;
pub mod generations;
pub mod manifest;
pub mod out_dir;
pub mod plan;
pub mod status;

use std::collections::BTreeSet;
use std::path::Path;

use crate::compile::render::{RenderedFile, WantedSecret};
use crate::host::fs::{self, IoError, Observed};
use crate::host::secrets::{SecretIoError, SecretKey, SecretOwner};
use crate::host::systemd::{Systemd, SystemdError};
use apply::{ApplyError, Report, SecretValues};
use manifest::{Manifest, ManifestError};
use plan::secrets::SecretState;
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
    /// Secret files that cannot be read: nothing was changed.
    #[error("{}; nothing was changed", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    SecretFiles(Vec<SecretFileError>),
    #[error(transparent)]
    SecretKey(#[from] SecretIoError),
    #[error("cannot store the secret key in `{path}`: {source}")]
    StoreKey {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot ask podman about secret `{name}`: {source}")]
    SecretOwner {
        name: String,
        #[source]
        source: SystemdError,
    },
}

/// A secret file install cannot read, and the containers that need it.
#[derive(Debug, thiserror::Error)]
#[error("cannot read secret file `{file}` for secret `{name}`, needed by container{} {}: {source}", if containers.len() == 1 { "" } else { "s" }, containers.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
pub struct SecretFileError {
    pub name: String,
    pub file: String,
    /// The containers that use it (names, not services).
    pub containers: Vec<String>,
    #[source]
    pub source: std::io::Error,
}

/// The wanted secrets as install finds them: each file read (every unreadable one is an error,
/// before anything changes), fingerprinted under the host-local key, and who owns the podman
/// secret of its name. Returns the states, the values for apply, and the key (to store when new).
pub fn observe_secrets(
    root: &Path,
    wanted: &[WantedSecret],
    systemd: &mut impl Systemd,
) -> Result<(Vec<SecretState>, SecretValues, SecretKey), InstallError> {
    let key = SecretKey::load_or_generate(root)?;
    let mut values = SecretValues::new();
    let mut problems = Vec::new();
    for w in wanted {
        match crate::host::secrets::read_secret_file(Path::new(&w.file)) {
            Ok(v) => {
                values.insert(w.name.clone(), v);
            }
            Err(source) => problems.push(SecretFileError {
                name: w.name.clone(),
                file: w.file.clone(),
                containers: w
                    .consumers
                    .iter()
                    .map(|s| s.trim_end_matches(".service").to_string())
                    .collect(),
                source,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(InstallError::SecretFiles(problems));
    }
    let mut states = Vec::new();
    for w in wanted {
        let owner = if systemd.is_offline() {
            SecretOwner::Unknown
        } else {
            systemd
                .podman_secret_owner(&w.name)
                .map_err(|source| InstallError::SecretOwner {
                    name: w.name.clone(),
                    source,
                })?
        };
        states.push(SecretState {
            name: w.name.clone(),
            file: w.file.clone(),
            consumers: w.consumers.clone(),
            hmac_sha256: key.fingerprint(values.get(&w.name).map_or(&[][..], Vec::as_slice)),
            owner,
        });
    }
    Ok((states, values, key))
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

/// What an install is asked to make true: the unit files and podman secrets of an inventory, and
/// the held files to take back to the inventory's version (`quadgen release`; empty otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub files: &'a [RenderedFile],
    pub secrets: &'a [WantedSecret],
    pub release: &'a BTreeSet<String>,
}

impl<'a> Wanted<'a> {
    /// Files and secrets, releasing nothing.
    pub fn new(files: &'a [RenderedFile], secrets: &'a [WantedSecret]) -> Self {
        static NONE: BTreeSet<String> = BTreeSet::new();
        Self {
            files,
            secrets,
            release: &NONE,
        }
    }

    /// Only unit files (an inventory without secrets, or an uninstall: no files, no secrets).
    pub fn files(files: &'a [RenderedFile]) -> Self {
        Self::new(files, &[])
    }
}

/// The first half of the install sequence: reads every secret file (an unreadable one is an
/// error, before anything changes) and asks podman who owns each secret unless `systemd` is
/// offline, loads `root`, and plans files and secrets together. `inventory` is the label the
/// manifest records.
pub fn load_and_plan(
    root: &Path,
    wanted: Wanted<'_>,
    inventory: &str,
    options: PlanOptions,
    systemd: &mut impl Systemd,
) -> Result<(Found, Plan, SecretValues, SecretKey), InstallError> {
    let (states, values, key) = observe_secrets(root, wanted.secrets, systemd)?;
    let found = load(root, wanted.files.iter().map(|d| &d.file_name))?;
    let plan = plan::plan_with_secrets(
        wanted.files,
        &states,
        found.manifest.as_ref(),
        &found.observed,
        inventory,
        options,
        wanted.release,
    );
    Ok((found, plan, values, key))
}

/// The install sequence: read secrets → load manifest → observe → plan → apply. A refused plan
/// or one with nothing to do is returned without applying; otherwise `before_apply` sees the
/// plan (to print it), a new fingerprint key is stored before the manifest that uses it, and
/// [`apply::apply_with_secrets`] carries the plan out through `systemd`. The caller holds the
/// lock ([`fs::lock`]); `now` (Unix seconds) names the backups of hand edits.
pub fn run(
    root: &Path,
    wanted: Wanted<'_>,
    inventory: &str,
    options: PlanOptions,
    systemd: &mut impl Systemd,
    now: u64,
    before_apply: impl FnOnce(&Plan),
) -> Result<Outcome, InstallError> {
    let (found, plan, values, key) = load_and_plan(root, wanted, inventory, options, systemd)?;
    if plan.is_refused() {
        return Ok(Outcome::Refused(plan));
    }
    if plan.is_noop() {
        return Ok(Outcome::UpToDate(plan));
    }
    before_apply(&plan);
    if key.is_new && !plan.manifest.secrets.is_empty() {
        key.store(root).map_err(|source| InstallError::StoreKey {
            path: root.display().to_string(),
            source,
        })?;
    }
    let report =
        apply::apply_with_secrets(&plan, &values, root, found.manifest.as_ref(), systemd, now)?;
    Ok(Outcome::Applied { plan, report })
}

#[cfg(test)]
#[path = "install/secrets_tests.rs"]
mod secrets_tests;
