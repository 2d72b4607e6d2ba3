//! The secrets part of the plan, pure: from the secrets the inventory wants (each with the keyed
//! fingerprint of its file's content now and who owns the podman secret of its name), what the
//! manifest recorded and what an earlier install still owes, to which podman secrets to create,
//! replace or remove and which containers restart.
//!
//! # Decisions
//! - **Changed content** (the fingerprint differs from the manifest's): the secret is replaced
//!   and exactly its consumers restart (`restart` when `auto_start`, else `try-restart`): a
//!   running container keeps the value it was created with until then.
//! - **New** (no record): created; consumers restart only when a podman secret of quadgen's
//!   was already there (a lost manifest), since its content is then unknown.
//! - **Owed** (`--no-systemd`, an interrupted install, or a failed `podman secret create`):
//!   created or replaced again, and its consumers restart: what they run with is not known to be
//!   the current value.
//! - **Gone from podman** (quadgen's record, podman has none): created again, nothing restarts.
//! - **Someone else's**: a podman secret of the name without quadgen's label is never replaced or
//!   removed: the plan is refused ([`SecretConflict`]).
//! - **Leaving** (recorded, no longer wanted): removed after the stops, if it is still quadgen's.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Builder, Plan};
use crate::compile::render::RenderedFile;
use crate::host::secrets::SecretOwner;
use crate::install::manifest::{Manifest, SecretRecord};

/// A wanted secret as install found it: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    pub name: String,
    /// The file it is read from.
    pub file: String,
    /// The services that use it, sorted.
    pub consumers: Vec<String>,
    /// HMAC-SHA256 of the file's content now, under the host-local key.
    pub hmac_sha256: String,
    /// Who owns the podman secret of this name ([`SecretOwner::Unknown`] without podman).
    pub owner: SecretOwner,
}

/// What happens to one podman secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretOp {
    Create,
    /// Content changed: replaced, consumers restarted.
    Replace,
    /// Same content, given to podman again (owed, or gone from podman).
    Resync,
    /// No container uses it any more: removed if podman still has it with quadgen's label,
    /// otherwise only forgotten.
    Remove,
}

/// One secret's change, for the plan's output (no value, no fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretChange {
    pub name: String,
    pub op: SecretOp,
    /// The services restarted because of it.
    pub restarts: Vec<String>,
}

/// A podman secret install will not touch: it exists and quadgen did not make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretConflict {
    pub name: String,
    pub file: String,
}

/// The secrets' part of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretPlan {
    pub changes: Vec<SecretChange>,
    pub conflicts: Vec<SecretConflict>,
    /// The manifest's records after the install.
    pub records: BTreeMap<String, SecretRecord>,
}

/// Plans the secrets (see the module docs) into `work`; `desired` gives consumers' `auto_start`.
pub(super) fn plan_secrets(
    wanted: &[SecretState],
    old: Option<&Manifest>,
    desired: &[RenderedFile],
    work: &mut Builder,
) -> SecretPlan {
    let empty = BTreeMap::new();
    let old_records = old.map_or(&empty, |m| &m.secrets);
    let owed = old.and_then(|m| m.pending.as_ref());
    let owed_sync = |n: &str| owed.is_some_and(|p| p.secret_sync.iter().any(|s| s == n));
    let mut out = SecretPlan::default();
    for s in wanted {
        out.records.insert(
            s.name.clone(),
            SecretRecord {
                hmac_sha256: s.hmac_sha256.clone(),
            },
        );
        if s.owner == SecretOwner::Foreign {
            out.conflicts.push(SecretConflict {
                name: s.name.clone(),
                file: s.file.clone(),
            });
            continue;
        }
        let owed = owed_sync(&s.name);
        let op = match old_records.get(&s.name) {
            None => SecretOp::Create,
            Some(r) if r.hmac_sha256 != s.hmac_sha256 => SecretOp::Replace,
            Some(_) if owed || s.owner == SecretOwner::Absent => SecretOp::Resync,
            Some(_) => continue,
        };
        work.secret_sync.insert(s.name.clone());
        // Owed: an earlier install may have restarted the consumers before podman had the new
        // value (a failed create), so they restart once it has.
        let restart = op == SecretOp::Replace
            || (op == SecretOp::Create && s.owner == SecretOwner::Quadgen)
            || (op == SecretOp::Resync && owed);
        let restarts = if restart {
            restart_consumers(s, desired, work)
        } else {
            Vec::new()
        };
        out.changes.push(SecretChange {
            name: s.name.clone(),
            op,
            restarts,
        });
    }
    plan_leaving(wanted, old_records, owed, work, &mut out);
    out
}

/// Restarts the consumers of a changed secret; returns them.
fn restart_consumers(s: &SecretState, desired: &[RenderedFile], work: &mut Builder) -> Vec<String> {
    for service in &s.consumers {
        let auto_start = desired
            .iter()
            .find(|d| &d.service == service)
            .is_none_or(|d| d.auto_start);
        if auto_start {
            work.restart.insert(service.clone());
            work.reason(service, format!("secret `{}` changed", s.name));
        } else {
            work.try_restart.insert(service.clone());
            work.reason(
                service,
                format!("secret `{}` changed; restarted if running", s.name),
            );
        }
    }
    s.consumers.clone()
}

/// Recorded secrets no longer wanted (or owed a removal): removed when quadgen's.
fn plan_leaving(
    wanted: &[SecretState],
    old_records: &BTreeMap<String, SecretRecord>,
    owed: Option<&crate::install::manifest::Pending>,
    work: &mut Builder,
    out: &mut SecretPlan,
) {
    let owed_rm = owed.map(|p| p.secret_rm.iter()).into_iter().flatten();
    let mut leaving: Vec<&String> = old_records.keys().chain(owed_rm).collect();
    leaving.sort();
    leaving.dedup();
    for name in leaving {
        if wanted.iter().any(|s| &s.name == name) {
            continue;
        }
        work.secret_rm.insert(name.clone());
        out.changes.push(SecretChange {
            name: name.clone(),
            op: SecretOp::Remove,
            restarts: Vec::new(),
        });
    }
}

impl Plan {
    /// Whether a secret conflict refuses the plan.
    pub fn has_secret_conflicts(&self) -> bool {
        !self.secrets.conflicts.is_empty()
    }
}
