//! The container options of issue 7, grouped by concern: [`Security`], [`Resources`] and
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
