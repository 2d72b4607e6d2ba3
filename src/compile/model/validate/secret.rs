//! `[secrets.NAME]` and a container's `secrets`: names known (did-you-mean), files outside the
//! Nix store, targets that `Secret=` and `podman run --secret` read as written.

use std::ops::Range;

use toml::Spanned;

use super::{Checker, Names, span};
use crate::compile::diagnostic::Diagnostic;
use crate::compile::inventory::{self, SecretRef, SecretTable, Str};
use crate::compile::model::{
    Container, HostPath, Name, Secret, SecretKind, SecretUse, is_env_name, mount_target_problem,
};

impl Checker {
    /// Checks one `[secrets.NAME]`: a valid name, an absolute host path not in the Nix store.
    pub(super) fn secret(&mut self, name: &Str, s: &Spanned<inventory::Secret>) -> Option<Secret> {
        let name_checked = self.name(name, "secret");
        let file = &s.get_ref().file;
        let path = HostPath::parse(file.get_ref())
            .map_err(|e| self.err(span(file), format!("secret file: {e}")))
            .ok();
        if file.get_ref().starts_with("/nix/store/") {
            self.err_help(
                span(file),
                format!(
                    "secret file `{}` is in the Nix store, which every user can read",
                    file.get_ref().escape_debug()
                ),
                "point to the decrypted file outside the store, e.g. `config.sops.secrets.NAME.path` (sops-nix) or `config.age.secrets.NAME.path` (agenix)",
            );
            return None;
        }
        Some(Secret {
            name: name_checked?,
            file: path?,
        })
    }

    /// A container's `secrets`: each a known secret, mounted (default) or an environment variable.
    pub(super) fn container_secrets(
        &mut self,
        list: Option<&Spanned<Vec<Spanned<SecretRef>>>>,
        names: &Names<'_>,
    ) -> Vec<SecretUse> {
        let Some(list) = list else {
            return Vec::new();
        };
        let mut uses: Vec<SecretUse> = Vec::new();
        for entry in list.get_ref() {
            let at = span(entry);
            let table = match entry.get_ref() {
                SecretRef::Name(n) => SecretTable {
                    name: n.clone(),
                    kind: None,
                    target: None,
                    uid: None,
                    gid: None,
                    mode: None,
                },
                SecretRef::Table(t) => t.clone(),
            };
            let Some(secret) =
                self.reference_str(&table.name, at.clone(), &names.secrets, "secret")
            else {
                continue;
            };
            if let Some(kind) = self.secret_kind(&table, at.clone()) {
                let used = SecretUse { secret, kind };
                if uses.iter().any(|u| same_target(u, &used)) {
                    self.err(
                        at,
                        format!(
                            "`{}` is given twice: another entry already puts a secret there",
                            used.written()
                        ),
                    );
                } else {
                    uses.push(used);
                }
            }
        }
        uses
    }

    /// `type`, `target`, `uid`, `gid`, `mode` of one entry.
    fn secret_kind(&mut self, t: &SecretTable, at: Option<Range<usize>>) -> Option<SecretKind> {
        match t.kind.as_deref().unwrap_or("mount") {
            "env" => {
                if t.uid.is_some() || t.gid.is_some() || t.mode.is_some() {
                    self.err(
                        at.clone(),
                        "`uid`, `gid` and `mode` apply to `type = \"mount\"` only",
                    );
                }
                let target = t.target.clone().unwrap_or_else(|| t.name.clone());
                if !is_env_name(&target) {
                    self.err_help(
                        at,
                        format!(
                            "`{}` is not an environment variable name",
                            target.escape_debug()
                        ),
                        "use letters, digits and `_`, not starting with a digit",
                    );
                    return None;
                }
                Some(SecretKind::Env { target })
            }
            "mount" => self.secret_mount(t, at),
            other => {
                self.diags.push(
                    Diagnostic::error(
                        at,
                        format!("`{}` is not a secret type", other.escape_debug()),
                    )
                    .with_help("use `type = \"mount\"` (a file, the default) or `type = \"env\"`"),
                );
                None
            }
        }
    }

    fn secret_mount(&mut self, t: &SecretTable, at: Option<Range<usize>>) -> Option<SecretKind> {
        let mut ok = true;
        if let Some(problem) = t.target.as_deref().and_then(mount_target_problem) {
            self.err(at.clone(), format!("secret target {problem}"));
            ok = false;
        }
        let mut id = |value: Option<i64>, what: &str, this: &mut Self| {
            value.and_then(|v| {
                u32::try_from(v)
                    .map_err(|_| {
                        ok = false;
                        this.err(
                            at.clone(),
                            format!("`{what} = {v}` is not a user or group id"),
                        );
                    })
                    .ok()
            })
        };
        let uid = id(t.uid, "uid", self);
        let gid = id(t.gid, "gid", self);
        let mode = match t.mode.as_deref() {
            None => None,
            Some(m) => match u32::from_str_radix(m, 8) {
                Ok(v) if v <= 0o777 => Some(v),
                _ => {
                    self.err_help(
                        at,
                        format!("`mode = \"{}\"` is not a file mode", m.escape_debug()),
                        "write it in octal, e.g. `mode = \"0400\"`",
                    );
                    return None;
                }
            },
        };
        ok.then_some(SecretKind::Mount {
            target: t.target.clone(),
            uid,
            gid,
            mode,
        })
    }

    /// A `[secrets]` entry no container uses: not created, with a warning.
    pub(super) fn unused_secrets(
        &mut self,
        secrets: Vec<Secret>,
        keys: &[Str],
        containers: &[Container],
    ) -> Vec<Secret> {
        let used = |n: &Name| {
            containers
                .iter()
                .any(|c| c.secrets.iter().any(|u| &u.secret == n))
        };
        let (kept, unused): (Vec<Secret>, Vec<Secret>) =
            secrets.into_iter().partition(|s| used(&s.name));
        for s in unused {
            let at = keys
                .iter()
                .find(|k| k.get_ref() == s.name.as_str())
                .and_then(span);
            self.diags.push(
                Diagnostic::warning(at, format!("secret `{}` is used by no container", s.name))
                    .with_help("add it to a container's `secrets`, or remove it; install does not create it"),
            );
        }
        kept
    }
}

/// Whether two uses give the same secret at the same place.
fn same_target(a: &SecretUse, b: &SecretUse) -> bool {
    match (&a.kind, &b.kind) {
        (SecretKind::Env { target: x }, SecretKind::Env { target: y }) => x == y,
        (SecretKind::Mount { target: x, .. }, SecretKind::Mount { target: y, .. }) => {
            mount_path(&a.secret, x.as_deref()) == mount_path(&b.secret, y.as_deref())
        }
        _ => false,
    }
}

/// Where podman mounts a secret: `target` when absolute, else under `/run/secrets` (by default
/// the secret's name). Two secrets at one path would be two mounts at one destination.
fn mount_path(secret: &Name, target: Option<&str>) -> String {
    match target {
        Some(t) if t.starts_with('/') => t.trim_end_matches('/').to_string(),
        Some(t) => format!("/run/secrets/{}", t.trim_end_matches('/')),
        None => format!("/run/secrets/{secret}"),
    }
}
