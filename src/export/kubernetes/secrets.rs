//! Secrets: each environment file and each `[secrets.NAME]` becomes a Kubernetes Secret the
//! objects reference and the header says how to create (`kubectl create secret generic`), never
//! one written out: its data would be the secret.
//!
//! A container's `secrets` entry becomes what podman made of it: `type=mount` a file at its
//! target (a `secret` volume with the one key as an item, mounted with `subPath`, so the rest of
//! the directory stays the image's), `type=env` an environment variable (`secretKeyRef`).

use std::collections::BTreeSet;

use super::*;
use crate::compile::model::{SecretKind, SecretUse};

/// Where podman mounts a secret whose entry gives no target, and what a relative target is in.
const SECRETS_DIR: &str = "/run/secrets";
/// The mode podman gives a mounted secret file when the entry gives none.
const PODMAN_SECRET_MODE: u32 = 0o444;

/// What a Secret is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretData {
    /// An environment file: a key per `KEY=value` line (`--from-env-file`).
    EnvFile(String),
    /// `[secrets.NAME]`: one key, NAME, holding the content of the file (`--from-file`).
    File {
        /// The quadgen secret's name, which is the key.
        key: String,
        path: String,
    },
}

/// A Secret the objects reference (never written: its data would be the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSource {
    pub name: String,
    pub data: SecretData,
}

impl SecretSource {
    /// The host file it stands for.
    pub fn file(&self) -> &str {
        match &self.data {
            SecretData::EnvFile(path) | SecretData::File { path, .. } => path,
        }
    }

    /// The `kubectl` command that creates it (in namespace `ns`, if given).
    pub fn command(&self, namespace: Option<&str>) -> String {
        let ns = namespace.map(|n| format!(" -n {n}")).unwrap_or_default();
        let from = match &self.data {
            SecretData::EnvFile(path) => format!("--from-env-file={path}"),
            SecretData::File { key, path } => format!("--from-file={key}={path}"),
        };
        format!(
            "kubectl create secret generic {}{ns} {}",
            self.name,
            shell_word(&from)
        )
    }
}

/// `word` as a POSIX shell reads it back: as is when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Every environment file (named after the file: `app-db.env` → `app-db-env`), then every
/// `[secrets.NAME]` (named after NAME), made unique with `-2`, `-3` … in that order.
pub(super) fn secret_sources(model: &Model) -> Vec<SecretSource> {
    let files: BTreeSet<&str> = model
        .containers
        .iter()
        .flat_map(|c| c.environment_files.iter().map(|f| f.raw.as_str()))
        .collect();
    let mut taken = BTreeSet::new();
    let mut unique = |stem: String| {
        let mut name = stem.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{stem}-{n}");
            n += 1;
        }
        name
    };
    let mut sources: Vec<SecretSource> = files
        .into_iter()
        .map(|file| {
            let base = file.rsplit('/').next().unwrap_or(file);
            SecretSource {
                name: unique(to_dns_label(base, "env")),
                data: SecretData::EnvFile(file.to_string()),
            }
        })
        .collect();
    for s in &model.secrets {
        sources.push(SecretSource {
            name: unique(to_dns_label(s.name.as_str(), "secret")),
            data: SecretData::File {
                key: s.name.to_string(),
                path: s.file.raw.clone(),
            },
        });
    }
    sources
}

/// The Secret standing for `[secrets.NAME]`.
fn source_of<'s>(secrets: &'s [SecretSource], secret: &str) -> Option<&'s SecretSource> {
    secrets
        .iter()
        .find(|s| matches!(&s.data, SecretData::File { key, .. } if key == secret))
}

/// `env` entries for the container's `type=env` secrets.
pub(super) fn secret_env(c: &model::Container, secrets: &[SecretSource]) -> Vec<EnvVar> {
    c.secrets
        .iter()
        .filter_map(|u| match &u.kind {
            SecretKind::Env { target } => {
                let source = source_of(secrets, u.secret.as_str())?;
                Some(EnvVar {
                    name: target.clone(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        secret_key_ref: SecretKeySelector {
                            name: source.name.clone(),
                            key: u.secret.to_string(),
                        },
                    }),
                })
            }
            SecretKind::Mount { .. } => None,
        })
        .collect()
}

/// A `secret` volume and its mount for each `type=mount` secret of the container, with volume
/// names unique among `names`; `uid`/`gid` are noted (a Secret's files belong to root, or to the
/// pod's `fsGroup`).
pub(super) fn secret_volumes(
    c: &model::Container,
    secrets: &[SecretSource],
    names: &mut BTreeSet<String>,
    notes: &mut Vec<Note>,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for u in &c.secrets {
        let SecretKind::Mount {
            target, uid, gid, ..
        } = &u.kind
        else {
            continue;
        };
        let Some(source) = source_of(secrets, u.secret.as_str()) else {
            continue;
        };
        if uid.is_some() || gid.is_some() {
            notes.push(Note {
                subject: Subject::Container(c.name.to_string()),
                text: format!(
                    "secret `{}`: `uid`/`gid` are not carried: a Secret's files belong to root (group: the pod's `fsGroup`, if set)",
                    u.secret
                ),
            });
        }
        let mut volume = Volume::named(unique_volume_name(
            names,
            format!("secret{}", to_dns_label(u.secret.as_str(), "")),
        ));
        volume.secret = Some(secret_volume(source, u));
        mounts.push(VolumeMount {
            name: volume.name.clone(),
            mount_path: mount_target(u.secret.as_str(), target.as_deref()),
            read_only: Some(true),
            sub_path: Some(u.secret.to_string()),
        });
        volumes.push(volume);
    }
    (volumes, mounts)
}

/// The volume source: the secret's one key as a file of the same name, with podman's mode (as
/// the volume's `defaultMode`, which `podman kube play` applies too; it ignores an item's).
fn secret_volume(source: &SecretSource, u: &SecretUse) -> SecretVolumeSource {
    let mode = match &u.kind {
        SecretKind::Mount { mode, .. } => mode.unwrap_or(PODMAN_SECRET_MODE),
        SecretKind::Env { .. } => PODMAN_SECRET_MODE,
    };
    SecretVolumeSource {
        secret_name: source.name.clone(),
        default_mode: mode,
        items: vec![KeyToPath {
            key: u.secret.to_string(),
            path: u.secret.to_string(),
        }],
    }
}

/// Where podman puts a mounted secret: the target, made absolute under `/run/secrets`, or
/// `/run/secrets/NAME`.
fn mount_target(secret: &str, target: Option<&str>) -> String {
    match target {
        Some(t) if t.starts_with('/') => t.to_string(),
        Some(t) => format!("{SECRETS_DIR}/{t}"),
        None => format!("{SECRETS_DIR}/{secret}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_targets_as_podman_places_them() {
        assert_eq!(mount_target("db", None), "/run/secrets/db");
        assert_eq!(mount_target("db", Some("pw")), "/run/secrets/pw");
        assert_eq!(
            mount_target("db", Some("/etc/app/pw")),
            "/etc/app/pw".to_string()
        );
    }

    #[test]
    fn kubectl_commands() {
        assert_eq!(shell_word("--from-file=a=/run/k"), "--from-file=a=/run/k");
        assert_eq!(
            shell_word("--from-file=a=/my keys/it's"),
            "'--from-file=a=/my keys/it'\\''s'"
        );
        let file = SecretSource {
            name: "db-password".into(),
            data: SecretData::File {
                key: "db_password".into(),
                path: "/run/keys/db".into(),
            },
        };
        assert_eq!(
            file.command(Some("lab")),
            "kubectl create secret generic db-password -n lab --from-file=db_password=/run/keys/db"
        );
    }
}
