//! The `quadlet` escape hatch: raw keys, checked against the target Podman and against what
//! quadgen sets itself.

use super::{Checker, span};
use crate::compile::diagnostic::Diagnostic;
use toml::Spanned;

use crate::compile::inventory::{RawSections, RawValue, Str};
use crate::compile::model::RawKey;
use crate::compile::version::{KeyError, check_key};
use crate::unit::Section;
use crate::unit::escape::Target;

impl Checker {
    pub(super) fn raw_keys(
        &mut self,
        raw: Option<&RawSections>,
        sections: &[Section],
    ) -> Vec<RawKey> {
        let mut out = Vec::new();
        for (section_name, keys) in raw.into_iter().flatten() {
            let Some(section) =
                Section::from_name(section_name.get_ref()).filter(|s| sections.contains(s))
            else {
                let names: Vec<&str> = sections.iter().map(|s| s.name()).collect();
                self.err_help(
                    span(section_name),
                    format!(
                        "`{}` is not a section quadgen can write here",
                        section_name.get_ref()
                    ),
                    format!("use one of: {}", names.join(", ")),
                );
                continue;
            };
            for (key, value) in keys {
                if !self.raw_key_allowed(section, key) {
                    continue;
                }
                let values = self.raw_values(section, key.get_ref(), value);
                out.push(RawKey {
                    section,
                    key: key.get_ref().clone(),
                    values,
                });
            }
        }
        out
    }

    /// Whether raw key `key` may be written in `section`: a valid name, not one quadgen sets from
    /// the inventory, and known to the target's quadlet (a key systemd does not know is only a
    /// warning: systemd ignores it).
    fn raw_key_allowed(&mut self, section: Section, key: &Str) -> bool {
        let k = key.get_ref();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            self.err(
                span(key),
                format!("`{}` is not a valid key name", k.escape_debug()),
            );
            return false;
        }
        if let Some(field) = modelled_key(section, k) {
            self.err_help(
                span(key),
                format!("`{k}=` is set by quadgen from the inventory and cannot be replaced"),
                format!("use the inventory's `{field}` instead: service and object names, images and networks must stay what the inventory says"),
            );
            return false;
        }
        if !section.is_quadlet() && !crate::unit::directives::is_known(k) {
            let mut d = Diagnostic::warning(
                span(key),
                format!(
                    "systemd 257 knows no `{k}=` in unit files: systemd ignores an unknown key with only a log line"
                ),
            );
            if let Some(s) = crate::compile::diagnostic::did_you_mean(
                k,
                crate::unit::directives::UNIT_DIRECTIVES.iter().copied(),
            ) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
        }
        match check_key(section, k, self.target) {
            Ok(()) => {}
            Err(KeyError::TooNew { introduced }) => {
                self.err_help(
                    span(key),
                    format!("`{k}=` needs Podman {introduced}; the target is Podman {}", self.target),
                    format!("raise the target with `--podman {introduced}` if every host runs it, or remove the key"),
                );
                return false;
            }
            Err(KeyError::Unknown { suggestion }) => {
                let mut d = Diagnostic::error(
                    span(key),
                    format!(
                        "`{k}` is not a key of quadlet's [{}] section: quadlet would drop the whole unit",
                        section.name()
                    ),
                );
                if let Some(s) = suggestion {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                return false;
            }
        }
        true
    }

    /// A raw key's values, protected from systemd's `%` and `$` expansion; one that cannot be
    /// written as it is is an error.
    fn raw_values(&mut self, section: Section, k: &str, value: &Spanned<RawValue>) -> Vec<String> {
        let target =
            if section.is_quadlet() || (section == Section::Service && k.starts_with("Exec")) {
                Target::ExecStart
            } else {
                Target::UnitSetting
            };
        let mut values = Vec::new();
        for v in value.get_ref().values() {
            if let Some(c) = v.chars().find(|c| c.is_control()) {
                self.err(span(value), format!("`{k}` value contains the control character {c:?}, which would end or break the line"));
            } else if v.trim() != v || v.starts_with('"') || v.ends_with('"') {
                self.err_help(
                    span(value),
                    format!("`{k}` value `{v}` starts or ends with whitespace or `\"`, which quadlet strips"),
                    "remove them; raw values are written after `Key=` as they are",
                );
            } else if v.ends_with('\\') {
                self.err(
                    span(value),
                    format!("`{k}` value ends with `\\`, which would join it with the next line"),
                );
            } else {
                values.push(crate::unit::escape::protect(v, target));
            }
        }
        values
    }
}

/// Raw keys that would break what quadgen promises about names, images and dependencies, with the
/// inventory field that sets them.
fn modelled_key(section: Section, key: &str) -> Option<&'static str> {
    match (section, key) {
        (Section::Container, "ContainerName") | (_, "ServiceName") => Some("table name"),
        (Section::Network, "NetworkName") | (Section::Volume, "VolumeName") => Some("table name"),
        (Section::Container, "Image") => Some("image"),
        (Section::Container, "Network") => Some("networks"),
        (Section::Container, "Pod") => Some("pod"),
        (Section::Pod, "PodName") => Some("table name"),
        (Section::Pod, "Network") => Some("networks"),
        (Section::Container, "Notify") => Some("health"),
        (Section::Network, "InterfaceName") => Some("interface_name"),
        _ => None,
    }
}
