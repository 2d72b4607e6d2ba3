//! Security fields: `cap_add`, `cap_drop`, `privileged`, `no_new_privileges`, `read_only`,
//! `read_only_tmpfs`, `seccomp_profile`, `security_label_disable`, `security_label_type`.

use toml::Spanned;

use super::{Checker, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::{self, Str};
use crate::compile::model::{HostPath, Seccomp, Security};

/// The capabilities of `include/uapi/linux/capability.h` (Linux 6.x: 0 to 40), without `CAP_`.
pub(super) const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

impl Checker {
    /// The security fields of a container.
    pub(super) fn security(&mut self, c: &inventory::Container) -> Security {
        let flag = |b: &Option<Spanned<bool>>| b.as_ref().map(|b| *b.get_ref());
        let privileged = flag(&c.privileged).unwrap_or(false);
        if privileged {
            self.warn_privileged(c.privileged.as_ref());
        }
        Security {
            cap_add: self.capabilities(c.cap_add.as_ref()),
            cap_drop: self.capabilities(c.cap_drop.as_ref()),
            privileged,
            no_new_privileges: flag(&c.no_new_privileges).unwrap_or(false),
            read_only: flag(&c.read_only),
            read_only_tmpfs: flag(&c.read_only_tmpfs),
            seccomp_profile: c.seccomp_profile.as_ref().and_then(|s| self.seccomp(s)),
            security_label_disable: flag(&c.security_label_disable).unwrap_or(false),
            security_label_type: c
                .security_label_type
                .as_ref()
                .and_then(|t| self.label_type(t)),
        }
    }

    fn warn_privileged(&mut self, at: Option<&Spanned<bool>>) {
        self.diags.push(
            Diagnostic::warning(
                at.and_then(span),
                "`privileged = true` gives the container every capability, every host device, no seccomp filter and no SELinux confinement: root in it is root on the host",
            )
            .with_help("prefer the narrow fields: `cap_add` for a capability, `devices` for a device, `seccomp_profile` or `security_label_disable` for confinement"),
        );
    }

    /// Capability names: `NET_ADMIN` or `CAP_NET_ADMIN` in any case, or `ALL`; written
    /// `CAP_NET_ADMIN`.
    fn capabilities(&mut self, list: Option<&Spanned<Vec<Str>>>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in list.map(Spanned::get_ref).into_iter().flatten() {
            let upper = v.get_ref().to_ascii_uppercase();
            let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
            let written = if bare == "ALL" {
                "ALL".to_string()
            } else if CAPABILITIES.contains(&bare) {
                format!("CAP_{bare}")
            } else {
                let mut d = Diagnostic::error(
                    span(v),
                    format!(
                        "`{}` is not a Linux capability",
                        v.get_ref().escape_debug()
                    ),
                )
                .with_help("use a name from capabilities(7), like `NET_ADMIN` or `CAP_NET_ADMIN`, or `ALL`");
                if let Some(s) = did_you_mean(bare, CAPABILITIES.iter().copied()) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                continue;
            };
            if !out.contains(&written) {
                out.push(written);
            }
        }
        out
    }

    /// `unconfined`, or a host path to a profile (which then also gets `RequiresMountsFor=`).
    fn seccomp(&mut self, value: &Str) -> Option<Seccomp> {
        let v = value.get_ref();
        if v == "unconfined" {
            return Some(Seccomp::Unconfined);
        }
        HostPath::parse(v)
            .map(Seccomp::Profile)
            .map_err(|e| {
                self.err_help(
                    span(value),
                    format!("seccomp_profile: {e}"),
                    "write the absolute path of a JSON seccomp profile on the host, or `unconfined`",
                )
            })
            .ok()
    }

    /// An SELinux type: letters, digits and `_`, like `spc_t`.
    fn label_type(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let ok = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.err_help(
                span(value),
                format!("`{}` is not an SELinux type", v.escape_debug()),
                "write a type name like `spc_t` or `container_runtime_t`",
            );
            return None;
        }
        Some(v.clone())
    }
}
