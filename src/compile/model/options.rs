//! The container options beyond image, mounts and networks, grouped by concern: [`Security`], [`Resources`] and
//! [`Runtime`]. Every value is checked and carries the text written into the unit.

use super::{HostPath, Single, Word};

/// Capabilities, privileges and confinement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// Capability names in one form: `CAP_NET_ADMIN`, or `ALL`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub read_only: Option<bool>,
    pub read_only_tmpfs: Option<bool>,
    pub seccomp_profile: Option<Seccomp>,
    pub security_label_disable: bool,
    /// An SELinux process type, like `spc_t`.
    pub security_label_type: Option<String>,
}

/// `seccomp_profile`: a profile file on the host, or no seccomp filter at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    Unconfined,
    Profile(HostPath),
}

impl Seccomp {
    /// The text written after `SeccompProfile=`.
    pub fn written(&self) -> &str {
        match self {
            Seccomp::Unconfined => "unconfined",
            Seccomp::Profile(path) => &path.written,
        }
    }
}

/// Limits, tmpfs mounts, shared memory, sysctls and ulimits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `PATH[:OPTIONS]`.
    pub tmpfs: Vec<ListItem>,
    /// A checked size, like `1g`.
    pub shm_size: Option<String>,
    /// `NAME=VALUE`.
    pub sysctls: Vec<ListItem>,
    /// `NAME=SOFT[:HARD]`.
    pub ulimits: Vec<ListItem>,
    /// A checked size, like `2g`.
    pub memory: Option<String>,
    /// A checked decimal number of CPUs, like `1.5`.
    pub cpus: Option<String>,
    pub pids_limit: Option<i64>,
}

/// Hostname, DNS, hosts, groups, working directory, init, stop signal, user namespace, timezone
/// and logging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtime {
    pub hostname: Option<String>,
    pub dns: Vec<ListItem>,
    pub dns_search: Vec<ListItem>,
    pub dns_options: Vec<ListItem>,
    /// `NAME:ADDRESS`.
    pub extra_hosts: Vec<ListItem>,
    pub group_add: Vec<ListItem>,
    pub working_dir: Option<Single>,
    pub init: Option<bool>,
    /// A signal name in one form, like `SIGTERM`.
    pub stop_signal: Option<String>,
    pub userns: Option<Single>,
    pub timezone: Option<String>,
    pub log_driver: Option<String>,
    /// `KEY=VALUE`.
    pub log_options: Vec<ListItem>,
}

/// A value for a Quadlet key that quadlet splits on whitespace (`Tmpfs=`, `Sysctl=`, `LogOpt=`,
/// …, read with `LookupAllStrv`, which keeps backslashes): written to the key when it is one
/// plain word, otherwise as one `PodmanArgs=--flag=VALUE` word, which quadlet unquotes fully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    pub value: Word,
    /// `--flag=VALUE` as one word.
    pub arg: Word,
}

impl ListItem {
    /// `value` for the option `flag` (like `--sysctl`); `None` when no command line can carry it.
    pub fn new(flag: &str, value: &str) -> Option<Self> {
        Some(Self {
            value: Word::parse(value).ok()?,
            arg: Word::parse(&format!("{flag}={value}")).ok()?,
        })
    }

    /// The text for the Quadlet key, when the value is one plain word (nothing quoted).
    pub fn key_value(&self) -> Option<&str> {
        (!self.value.quoted.starts_with('"')).then_some(self.value.quoted.as_str())
    }
}

impl Security {
    /// The inventory names of the fields that are set (differ from podman's defaults).
    pub fn fields_set(&self) -> Vec<&'static str> {
        let set = [
            ("cap_add", !self.cap_add.is_empty()),
            ("cap_drop", !self.cap_drop.is_empty()),
            ("privileged", self.privileged),
            ("no_new_privileges", self.no_new_privileges),
            ("read_only", self.read_only.is_some()),
            ("read_only_tmpfs", self.read_only_tmpfs.is_some()),
            ("seccomp_profile", self.seccomp_profile.is_some()),
            ("security_label_disable", self.security_label_disable),
            ("security_label_type", self.security_label_type.is_some()),
        ];
        set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
    }
}

impl Resources {
    /// The inventory names of the fields that are set.
    pub fn fields_set(&self) -> Vec<&'static str> {
        let set = [
            ("tmpfs", !self.tmpfs.is_empty()),
            ("shm_size", self.shm_size.is_some()),
            ("sysctls", !self.sysctls.is_empty()),
            ("ulimits", !self.ulimits.is_empty()),
            ("memory", self.memory.is_some()),
            ("cpus", self.cpus.is_some()),
            ("pids_limit", self.pids_limit.is_some()),
        ];
        set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
    }
}

impl Runtime {
    /// The inventory names of the fields that are set.
    pub fn fields_set(&self) -> Vec<&'static str> {
        let set = [
            ("hostname", self.hostname.is_some()),
            ("dns", !self.dns.is_empty()),
            ("dns_search", !self.dns_search.is_empty()),
            ("dns_options", !self.dns_options.is_empty()),
            ("extra_hosts", !self.extra_hosts.is_empty()),
            ("group_add", !self.group_add.is_empty()),
            ("working_dir", self.working_dir.is_some()),
            ("init", self.init.is_some()),
            ("stop_signal", self.stop_signal.is_some()),
            ("userns", self.userns.is_some()),
            ("timezone", self.timezone.is_some()),
            ("log_driver", self.log_driver.is_some()),
            ("log_options", !self.log_options.is_empty()),
        ];
        set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect()
    }
}
