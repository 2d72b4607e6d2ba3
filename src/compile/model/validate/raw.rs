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
                if !self.raw_key_allowed(section, key)
                    || !self.raw_value_allowed(section, key, value)
                {
                    continue;
                }
                self.warn_raw_key_with_field(section, key);
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
        (Section::Container, "Pull") => Some("pull"),
        (Section::Container, "AutoUpdate") => Some("auto_update"),
        (Section::Container, "Rootfs") => Some("image"),
        (Section::Container, "PodmanArgs") => Some("podman_args"),
        // Would replace quadlet's `podman run`, and with it everything above.
        (Section::Service, "ExecStart") => Some("cmd"),
        _ => None,
    }
}

/// `[Container]` keys an inventory field now writes, with the field.
fn key_with_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "AddCapability" => "cap_add",
        "DropCapability" => "cap_drop",
        "NoNewPrivileges" => "no_new_privileges",
        "ReadOnly" => "read_only",
        "ReadOnlyTmpfs" => "read_only_tmpfs",
        "SeccompProfile" => "seccomp_profile",
        "SecurityLabelDisable" => "security_label_disable",
        "SecurityLabelType" => "security_label_type",
        "Tmpfs" => "tmpfs",
        "ShmSize" => "shm_size",
        "Sysctl" => "sysctls",
        "Ulimit" => "ulimits",
        "Memory" => "memory",
        "PidsLimit" => "pids_limit",
        "HostName" => "hostname",
        "DNS" => "dns",
        "DNSSearch" => "dns_search",
        "DNSOption" => "dns_options",
        "AddHost" => "extra_hosts",
        "GroupAdd" => "group_add",
        "WorkingDir" => "working_dir",
        "RunInit" => "init",
        "StopSignal" => "stop_signal",
        "UserNS" => "userns",
        "Timezone" => "timezone",
        "LogDriver" => "log_driver",
        "LogOpt" => "log_options",
        _ => return None,
    })
}

impl Checker {
    /// A raw `Label=` must not set the auto-update label, which quadgen sets from `auto_update`.
    fn raw_value_allowed(
        &mut self,
        section: Section,
        key: &Str,
        value: &Spanned<RawValue>,
    ) -> bool {
        let sets_auto_update = section == Section::Container
            && key.get_ref() == "Label"
            && value
                .get_ref()
                .values()
                .iter()
                .any(|v| v.contains("io.containers.autoupdate"));
        if sets_auto_update {
            self.err_help(
                span(value),
                "the `io.containers.autoupdate` label is set by quadgen from `auto_update`",
                "use `auto_update = \"registry\"`, `\"local\"` or `\"none\"`",
            );
        }
        !sets_auto_update
    }

    /// A raw key an inventory field covers: it works, but quadgen does not check its value.
    fn warn_raw_key_with_field(&mut self, section: Section, key: &Str) {
        if section != Section::Container {
            return;
        }
        if let Some(field) = key_with_field(key.get_ref()) {
            self.diags.push(
                Diagnostic::warning(
                    span(key),
                    format!(
                        "raw key `{}=` has an inventory field: quadgen does not check its value here",
                        key.get_ref()
                    ),
                )
                .with_help(format!("use `{field}` instead")),
            );
        }
    }
}
