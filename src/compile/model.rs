//! The validated model: what the inventory means, with every rule checked. Nothing past
//! [`validate`] can hold an invalid name, path, image or unescapable string.

mod choice;
mod cidr;
mod image;
mod options;
mod port;
mod secret;
mod validate;
pub mod values;

pub use choice::{AutoUpdate, Choice, HealthOnFailure, NetworkDriver, PullPolicy, Restart};
pub use cidr::{Cidr, CidrError};
pub use image::Image;
pub use options::{ListItem, Resources, Runtime, Seccomp, Security};
pub use port::parse_port;
pub use secret::{Secret, SecretKind, SecretUse, is_env_name, mount_target_problem};
pub use validate::{Check, Checked, Feed, validate, validate_with};
pub use values::{Duration, DurationError, HostPath, HostPathError, Name, NameError, Single, Word};

use crate::compile::version::PodmanVersion;
use crate::unit::Section;

/// Time allowed for pulling an image on start, before health checks count.
pub const PULL_ALLOWANCE: Duration = Duration::secs(300);
/// Extra time systemd gives `podman stop` beyond the container's own stop timeout.
pub const STOP_HEADROOM: Duration = Duration::secs(30);
/// Pause before systemd restarts a failed container: long enough that the default start limit
/// (5 starts in 10 s) is never hit, so a container whose NFS share is briefly away keeps retrying.
pub const RESTART_SEC: Duration = Duration::secs(10);

/// A whole inventory, checked, for one target Podman version.
#[derive(Debug, Clone)]
pub struct Model {
    pub target: PodmanVersion,
    pub networks: Vec<Network>,
    pub volumes: Vec<Volume>,
    pub containers: Vec<Container>,
    /// The `[secrets]` some container uses (an unused one is a warning and left out).
    pub secrets: Vec<Secret>,
    pub pods: Vec<Pod>,
}

/// `[containers.NAME]` after defaults and checks.
#[derive(Debug, Clone)]
pub struct Container {
    pub name: Name,
    pub description: Single,
    /// The image reference, checked, as written after `Image=`.
    pub image_written: Single,
    pub cmd: Vec<Word>,
    pub entrypoint: Option<Single>,
    /// `KEY=VALUE` words.
    pub environment: Vec<Word>,
    pub environment_files: Vec<HostPath>,
    pub ports: Vec<String>,
    pub mounts: Vec<Mount>,
    pub networks: Vec<NetworkRef>,
    /// Per-network settings (static addresses, aliases, MAC) of the inventory networks joined.
    pub network_settings: Vec<NetworkSettings>,
    pub user: Option<Single>,
    pub group: Option<Single>,
    pub depends_on: Vec<Name>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    pub wants: Vec<String>,
    pub health: Option<Health>,
    /// `health = "image"`: the image's own HEALTHCHECK gates the start (`health` is `None`).
    pub image_health: bool,
    pub restart: Restart,
    pub stop_timeout: Duration,
    pub start_timeout: Duration,
    /// `KEY=VALUE` words.
    pub labels: Vec<Word>,
    pub devices: Vec<Device>,
    pub pull: PullPolicy,
    pub auto_update: AutoUpdate,
    pub auto_start: bool,
    pub podman_args: Vec<Word>,
    /// `Secret=` lines.
    pub secrets: Vec<SecretUse>,
    pub raw: Vec<RawKey>,
    /// Capabilities, privileges and confinement.
    pub security: Security,
    /// Limits, tmpfs mounts, shared memory, sysctls and ulimits.
    pub resources: Resources,
    /// Hostname, DNS, hosts, groups, working directory, init, stop signal, user namespace,
    /// timezone and logging.
    pub runtime: Runtime,
    /// The pod the container runs in (`Pod=NAME.pod`): it then has no ports or networks of its own.
    pub pod: Option<Name>,
}

/// `[pods.NAME]`: a Podman pod (`PodName=NAME`, service `NAME-pod.service`), whose members share
/// its network namespace, published ports and volumes.
#[derive(Debug, Clone)]
pub struct Pod {
    pub name: Name,
    pub description: Single,
    pub ports: Vec<String>,
    pub networks: Vec<NetworkRef>,
    pub mounts: Vec<Mount>,
    /// `HostName=` (Podman 5.5 and later).
    pub hostname: Option<Single>,
    /// `KEY=VALUE` words for `Label=` (Podman 5.6 and later).
    pub labels: Vec<Word>,
    pub auto_start: bool,
    pub podman_args: Vec<Word>,
    pub raw: Vec<RawKey>,
}

/// A volume mount of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A host directory or file.
    Bind {
        source: HostPath,
        target: String,
        options: Vec<String>,
    },
    /// A named volume from `[volumes]`.
    Named {
        volume: Name,
        target: String,
        options: Vec<String>,
    },
    /// An anonymous volume at a container path.
    Anonymous { target: String },
}

/// A network a container joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRef {
    Inventory(Name),
    Host,
    None,
    /// `network_mode = "container:NAME"`: the network namespace of another container of the
    /// inventory.
    Container(Name),
}

/// What a container is on one inventory network: `Network=NAME.network:ip=…,alias=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    pub network: Name,
    pub ip: Option<std::net::Ipv4Addr>,
    pub ip6: Option<std::net::Ipv6Addr>,
    /// DNS names on this network only, checked (letters, digits, `-`, `_`, `.`).
    pub aliases: Vec<String>,
    /// `xx:xx:xx:xx:xx:xx`, checked.
    pub mac: Option<String>,
}

impl NetworkSettings {
    /// Podman's per-network options (`ip=…,ip6=…,mac=…,alias=…`), empty when none is set.
    pub fn options(&self) -> Vec<String> {
        let ip = self.ip.iter().map(|ip| format!("ip={ip}"));
        let ip6 = self.ip6.iter().map(|ip| format!("ip6={ip}"));
        let mac = self.mac.iter().map(|m| format!("mac={m}"));
        let aliases = self.aliases.iter().map(|a| format!("alias={a}"));
        ip.chain(ip6).chain(mac).chain(aliases).collect()
    }
}

/// One subnet of a network, with its gateway and allocation range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub cidr: Cidr,
    pub gateway: Option<std::net::IpAddr>,
    /// Where podman allocates addresses: a subnet inside this one.
    pub range: Option<Cidr>,
}

/// A device passed into a container: `HOST[:CONTAINER[:PERMISSIONS]]`, or a CDI device name
/// (`vendor.com/class=name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// As the inventory wrote it.
    pub raw: String,
    /// The host path; `None` for a CDI device, which is no path on the host.
    pub host: Option<HostPath>,
    /// The text written after `AddDevice=`.
    pub written: String,
}

/// A health check.
#[derive(Debug, Clone)]
pub struct Health {
    pub cmd: Single,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
    pub on_failure: HealthOnFailure,
}

/// A raw key from the inventory's `quadlet` escape hatch, checked against the target version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKey {
    pub section: Section,
    pub key: String,
    /// One line per value, already protected from `%`/`$` expansion.
    pub values: Vec<String>,
}

/// `[networks.NAME]`.
#[derive(Debug, Clone)]
pub struct Network {
    pub name: Name,
    /// `subnet` + `gateway`, or the `subnets` list; empty when podman picks one.
    pub subnets: Vec<Subnet>,
    pub internal: bool,
    pub ipv6: bool,
    pub dns: Vec<String>,
    pub driver: NetworkDriver,
    /// `KEY=VALUE` words for `Options=`.
    pub options: Vec<Word>,
    pub labels: Vec<Word>,
    /// The host's bridge interface name (bridge driver only).
    pub interface_name: Option<String>,
    pub raw: Vec<RawKey>,
}

/// `[volumes.NAME]`.
#[derive(Debug, Clone)]
pub struct Volume {
    pub name: Name,
    pub driver: Option<String>,
    pub mount_type: Option<Single>,
    pub device: Option<Single>,
    pub mount_options: Option<Single>,
    pub labels: Vec<Word>,
    pub raw: Vec<RawKey>,
}

impl Container {
    /// The containers this one needs running: `depends_on` and the owner of the network
    /// namespace it shares.
    pub fn required_containers(&self) -> impl Iterator<Item = &Name> {
        let owner = self.networks.iter().filter_map(|n| match n {
            NetworkRef::Container(owner) => Some(owner),
            _ => None,
        });
        self.depends_on.iter().chain(owner)
    }

    /// Every host path the container needs mounted before it starts.
    pub fn host_paths(&self) -> Vec<&HostPath> {
        let mut paths: Vec<&HostPath> = bind_sources(&self.mounts)
            .chain(self.environment_files.iter())
            .chain(self.devices.iter().filter_map(|d| d.host.as_ref()))
            .chain(
                self.security
                    .seccomp_profile
                    .iter()
                    .filter_map(|s| match s {
                        Seccomp::Profile(path) => Some(path),
                        Seccomp::Unconfined => None,
                    }),
            )
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

impl Pod {
    /// Every host path the pod's volumes need mounted before it starts.
    pub fn host_paths(&self) -> Vec<&HostPath> {
        let mut paths: Vec<&HostPath> = bind_sources(&self.mounts).collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

/// The host paths of bind mounts.
pub fn bind_sources(mounts: &[Mount]) -> impl Iterator<Item = &HostPath> {
    mounts.iter().filter_map(|m| match m {
        Mount::Bind { source, .. } => Some(source),
        _ => None,
    })
}

/// The systemd service quadlet makes from a container.
pub fn container_service(name: &Name) -> String {
    [name.as_str(), ".service"].concat()
}

/// The systemd service quadlet makes from a pod (quadlet 5.4 to 5.8 alike, without
/// `ServiceName=`, which quadgen refuses).
pub fn pod_service(name: &Name) -> String {
    [name.as_str(), "-pod.service"].concat()
}

/// The systemd service quadlet makes from a network.
pub fn network_service(name: &Name) -> String {
    [name.as_str(), "-network.service"].concat()
}

/// The systemd service quadlet makes from a volume.
pub fn volume_service(name: &Name) -> String {
    [name.as_str(), "-volume.service"].concat()
}
