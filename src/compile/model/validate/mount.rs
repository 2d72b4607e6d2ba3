//! A container's `volumes` entries: bind mounts, named volumes and anonymous volumes.

use super::{Checker, Names, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::Str;
use crate::compile::model::{HostPath, Mount};

/// The options podman accepts after a volume spec's second `:`.
const OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "U",
    "O",
    "copy",
    "nocopy",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "bind",
    "rbind",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "idmap",
    "chown",
    "noatime",
];

impl Checker {
    pub(super) fn mount(&mut self, value: &Str, names: &Names<'_>) -> Option<Mount> {
        let v = value.get_ref();
        let parts: Vec<&str> = v.split(':').collect();
        let (source, target, options) = match parts.as_slice() {
            [t] => (None, *t, None),
            [s, t] => (Some(*s), *t, None),
            [s, t, o] => (Some(*s), *t, Some(*o)),
            _ => {
                self.err_help(span(value), format!("`{v}` is not a volume spec"), "write `HOST_PATH:CONTAINER_PATH[:OPTIONS]` or `VOLUME:CONTAINER_PATH[:OPTIONS]`");
                return None;
            }
        };
        if !target.starts_with('/')
            || target.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '%' | '$' | '"' | '\\' | ',')
            })
        {
            self.err_help(
                span(value),
                format!("container path `{target}` must be absolute, without whitespace, quotes, `%`, `$`, `\\` or `,`"),
                "write it like `/config`",
            );
            return None;
        }
        let options: Vec<String> = options
            .map(|o| o.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        for o in &options {
            if !OPTIONS.contains(&o.as_str()) {
                let mut d = Diagnostic::error(span(value), format!("`{o}` is not a volume option"))
                    .with_help(format!("use any of: {}", OPTIONS.join(", ")));
                if let Some(s) = did_you_mean(o, OPTIONS.iter().copied()) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                return None;
            }
        }
        let target = target.to_string();
        match source {
            None => Some(Mount::Anonymous { target }),
            Some(s) if s.starts_with('/') => match HostPath::parse(s) {
                Ok(source) => Some(Mount::Bind {
                    source,
                    target,
                    options,
                }),
                Err(e) => {
                    self.err(span(value), e);
                    None
                }
            },
            Some(s) if s.starts_with('.') || s.starts_with('~') => {
                self.err_help(
                    span(value),
                    format!("`{s}` is a relative path"),
                    "bind mounts need an absolute host path, like `/var/lib/app`",
                );
                None
            }
            // A volume name has no `/`: `srv/app` is a host path without its leading `/`.
            Some(s) if s.contains('/') => {
                self.err_help(
                    span(value),
                    format!("`{s}` looks like a relative host path"),
                    format!("bind mounts need an absolute host path: write `/{s}`"),
                );
                None
            }
            Some(s) => {
                let volume = self.reference_str(s, span(value), &names.volumes, "volume")?;
                Some(Mount::Named {
                    volume,
                    target,
                    options,
                })
            }
        }
    }
}
