//! The Podman version quadgen targets, and which Quadlet keys that version's generator knows.
//!
//! An unknown key makes quadlet drop the whole unit (the service then never exists), so every key
//! quadgen writes, including raw keys from the inventory's escape hatch, is checked here first.
//! Key lists come from `podman-systemd.unit(5)` of Podman 5.4.2 and 5.8.6 and Podman's release
//! notes for the versions in between; the oracle tests check them against the real generators.

use std::fmt;
use std::str::FromStr;

use crate::unit::Section;

/// A Podman `major.minor` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodmanVersion {
    pub major: u32,
    pub minor: u32,
}

impl PodmanVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// What NixOS 25.05 and Debian trixie ship; the default target.
    pub const DEFAULT: Self = Self::new(5, 4);
    /// The oldest target quadgen knows the key set of.
    pub const OLDEST: Self = Self::new(5, 4);
    /// The newest target quadgen knows the key set of.
    pub const NEWEST: Self = Self::new(5, 8);
}

impl fmt::Display for PodmanVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a `--podman` version was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not a Podman version; write it like `5.4`")]
    Syntax(String),
    #[error(
        "quadgen knows the Quadlet keys of Podman {oldest} to {newest}.x, not {version}",
        oldest = PodmanVersion::OLDEST,
        newest = PodmanVersion::NEWEST.major
    )]
    Unknown { version: PodmanVersion },
}

impl FromStr for PodmanVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().trim_start_matches('v').split('.');
        let parse = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok());
        let (Some(major), Some(minor)) = (parse(parts.next()), parse(parts.next())) else {
            return Err(VersionError::Syntax(s.to_string()));
        };
        // A patch level is allowed (`5.4.2`) and ignored: keys only change in minor releases.
        if parts.next().is_some_and(|p| p.parse::<u32>().is_err()) || parts.next().is_some() {
            return Err(VersionError::Syntax(s.to_string()));
        }
        let version = Self::new(major, minor);
        if version < Self::OLDEST || version.major > Self::NEWEST.major {
            return Err(VersionError::Unknown { version });
        }
        Ok(version)
    }
}

/// Why a key cannot be written for a target version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The key exists, but only from a later Podman release.
    TooNew { introduced: PodmanVersion },
    /// No Podman release quadgen knows has this key in this section.
    Unknown { suggestion: Option<&'static str> },
}

/// Checks that quadlet of `target` accepts `key` in `section`.
pub fn check_key(section: Section, key: &str, target: PodmanVersion) -> Result<(), KeyError> {
    if !section.is_quadlet() {
        return Ok(());
    }
    if base_keys(section).contains(&key) {
        return Ok(());
    }
    if let Some((_, _, introduced)) = LATER_KEYS
        .iter()
        .find(|(s, k, _)| *s == section && *k == key)
    {
        return if target >= *introduced {
            Ok(())
        } else {
            Err(KeyError::TooNew {
                introduced: *introduced,
            })
        };
    }
    let candidates = base_keys(section).iter().copied().chain(
        LATER_KEYS
            .iter()
            .filter(|(s, ..)| *s == section)
            .map(|(_, k, _)| *k),
    );
    Err(KeyError::Unknown {
        suggestion: crate::compile::diagnostic::did_you_mean(key, candidates),
    })
}

fn base_keys(section: Section) -> &'static [&'static str] {
    match section {
        Section::Container => CONTAINER_5_4,
        Section::Network => NETWORK_5_4,
        Section::Volume => VOLUME_5_4,
        Section::Pod => POD_5_4,
        _ => &[],
    }
}

/// Keys added after 5.4, with the release that introduced them (Podman release notes).
const LATER_KEYS: &[(Section, &str, PodmanVersion)] = &[
    (Section::Container, "Memory", PodmanVersion::new(5, 5)),
    (Section::Container, "ReloadCmd", PodmanVersion::new(5, 5)),
    (Section::Container, "ReloadSignal", PodmanVersion::new(5, 5)),
    (Section::Container, "Retry", PodmanVersion::new(5, 5)),
    (Section::Container, "RetryDelay", PodmanVersion::new(5, 5)),
    (Section::Container, "HttpProxy", PodmanVersion::new(5, 7)),
    (Section::Container, "AppArmor", PodmanVersion::new(5, 8)),
    (
        Section::Network,
        "NetworkDeleteOnStop",
        PodmanVersion::new(5, 5),
    ),
    (Section::Network, "InterfaceName", PodmanVersion::new(5, 6)),
    // `.pod` keys: HostName (podman#25892, 5.5), Label and ExitPolicy (5.6 release notes),
    // StopTimeout (5.7 release notes). The oracle tests check 5.4.2 refuses and 5.8 takes them.
    (Section::Pod, "HostName", PodmanVersion::new(5, 5)),
    (Section::Pod, "Label", PodmanVersion::new(5, 6)),
    (Section::Pod, "ExitPolicy", PodmanVersion::new(5, 6)),
    (Section::Pod, "StopTimeout", PodmanVersion::new(5, 7)),
];

/// `[Container]` keys of quadlet 5.4.2.
const CONTAINER_5_4: &[&str] = &[
    "AddCapability",
    "AddDevice",
    "AddHost",
    "Annotation",
    "AutoUpdate",
    "CgroupsMode",
    "ContainerName",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "DropCapability",
    "Entrypoint",
    "Environment",
    "EnvironmentFile",
    "EnvironmentHost",
    "Exec",
    "ExposeHostPort",
    "GIDMap",
    "GlobalArgs",
    "Group",
    "GroupAdd",
    "HealthCmd",
    "HealthInterval",
    "HealthLogDestination",
    "HealthMaxLogCount",
    "HealthMaxLogSize",
    "HealthOnFailure",
    "HealthRetries",
    "HealthStartPeriod",
    "HealthStartupCmd",
    "HealthStartupInterval",
    "HealthStartupRetries",
    "HealthStartupSuccess",
    "HealthStartupTimeout",
    "HealthTimeout",
    "HostName",
    "IP",
    "IP6",
    "Image",
    "Label",
    "LogDriver",
    "LogOpt",
    "Mask",
    "Mount",
    "Network",
    "NetworkAlias",
    "NoNewPrivileges",
    "Notify",
    "PidsLimit",
    "Pod",
    "PodmanArgs",
    "PublishPort",
    "Pull",
    "ReadOnly",
    "ReadOnlyTmpfs",
    "Rootfs",
    "RunInit",
    "SeccompProfile",
    "Secret",
    "SecurityLabelDisable",
    "SecurityLabelFileType",
    "SecurityLabelLevel",
    "SecurityLabelNested",
    "SecurityLabelType",
    "ShmSize",
    "StartWithPod",
    "StopSignal",
    "StopTimeout",
    "SubGIDMap",
    "SubUIDMap",
    "Sysctl",
    "Timezone",
    "Tmpfs",
    "UIDMap",
    "Ulimit",
    "Unmask",
    "User",
    "UserNS",
    "Volume",
    "WorkingDir",
];

/// `[Network]` keys of quadlet 5.4.2.
const NETWORK_5_4: &[&str] = &[
    "ContainersConfModule",
    "DNS",
    "DisableDNS",
    "Driver",
    "Gateway",
    "GlobalArgs",
    "IPAMDriver",
    "IPRange",
    "IPv6",
    "Internal",
    "Label",
    "NetworkName",
    "Options",
    "PodmanArgs",
    "Subnet",
];

/// `[Pod]` keys of quadlet 5.4.2.
const POD_5_4: &[&str] = &[
    "AddHost",
    "ContainersConfModule",
    "DNS",
    "DNSOption",
    "DNSSearch",
    "GIDMap",
    "GlobalArgs",
    "IP",
    "IP6",
    "Network",
    "NetworkAlias",
    "PodName",
    "PodmanArgs",
    "PublishPort",
    "ServiceName",
    "ShmSize",
    "SubGIDMap",
    "SubUIDMap",
    "UIDMap",
    "UserNS",
    "Volume",
];

/// `[Volume]` keys of quadlet 5.4.2.
const VOLUME_5_4: &[&str] = &[
    "ContainersConfModule",
    "Copy",
    "Device",
    "Driver",
    "GlobalArgs",
    "Group",
    "Image",
    "Label",
    "Options",
    "PodmanArgs",
    "Type",
    "User",
    "VolumeName",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!("5.4".parse(), Ok(PodmanVersion::new(5, 4)));
        assert_eq!("5.8.6".parse(), Ok(PodmanVersion::new(5, 8)));
        assert_eq!("v5.6".parse(), Ok(PodmanVersion::new(5, 6)));
        assert!("5".parse::<PodmanVersion>().is_err());
        assert!("4.9".parse::<PodmanVersion>().is_err());
        assert!("5.4.x".parse::<PodmanVersion>().is_err());
    }

    #[test]
    fn gates_keys_by_version() {
        let v54 = PodmanVersion::new(5, 4);
        assert_eq!(check_key(Section::Container, "ShmSize", v54), Ok(()));
        assert_eq!(
            check_key(Section::Container, "Memory", v54),
            Err(KeyError::TooNew {
                introduced: PodmanVersion::new(5, 5)
            })
        );
        assert_eq!(
            check_key(Section::Container, "Memory", PodmanVersion::new(5, 5)),
            Ok(())
        );
        assert_eq!(
            check_key(Section::Network, "InterfaceName", PodmanVersion::new(5, 5)),
            Err(KeyError::TooNew {
                introduced: PodmanVersion::new(5, 6)
            })
        );
        assert_eq!(
            check_key(Section::Container, "Shmsize", v54),
            Err(KeyError::Unknown {
                suggestion: Some("ShmSize")
            })
        );
        assert_eq!(check_key(Section::Service, "Anything", v54), Ok(()));
    }

    #[test]
    fn gates_pod_keys_by_version() {
        let v54 = PodmanVersion::new(5, 4);
        assert_eq!(check_key(Section::Pod, "PublishPort", v54), Ok(()));
        for (key, introduced) in [
            ("HostName", PodmanVersion::new(5, 5)),
            ("Label", PodmanVersion::new(5, 6)),
            ("ExitPolicy", PodmanVersion::new(5, 6)),
            ("StopTimeout", PodmanVersion::new(5, 7)),
        ] {
            assert_eq!(
                check_key(Section::Pod, key, v54),
                Err(KeyError::TooNew { introduced }),
                "{key}"
            );
            assert_eq!(check_key(Section::Pod, key, PodmanVersion::NEWEST), Ok(()));
        }
        // A container key is not a pod key.
        assert!(matches!(
            check_key(Section::Pod, "Image", PodmanVersion::NEWEST),
            Err(KeyError::Unknown { .. })
        ));
    }
}
