//! The kinds of Quadlet file and the sections a unit file has: the vocabulary every stage shares.

/// The kind of Quadlet file, which decides its extension and the service quadlet makes from it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    Container,
    Network,
    Volume,
    Pod,
}

impl UnitKind {
    pub fn extension(self) -> &'static str {
        match self {
            UnitKind::Container => "container",
            UnitKind::Network => "network",
            UnitKind::Volume => "volume",
            UnitKind::Pod => "pod",
        }
    }

    /// The inventory table entries of this kind live in.
    pub fn table(self) -> &'static str {
        match self {
            UnitKind::Container => "containers",
            UnitKind::Network => "networks",
            UnitKind::Volume => "volumes",
            UnitKind::Pod => "pods",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Self> {
        [
            UnitKind::Container,
            UnitKind::Network,
            UnitKind::Volume,
            UnitKind::Pod,
        ]
        .into_iter()
        .find(|k| k.extension() == ext)
    }
}

/// A Quadlet section quadgen can write: the podman-specific ones it checks key by key, and the
/// systemd ones quadlet passes through to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Unit,
    Container,
    Network,
    Volume,
    Pod,
    Service,
    Install,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Unit,
        Section::Container,
        Section::Network,
        Section::Volume,
        Section::Pod,
        Section::Service,
        Section::Install,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Unit => "Unit",
            Section::Container => "Container",
            Section::Network => "Network",
            Section::Volume => "Volume",
            Section::Pod => "Pod",
            Section::Service => "Service",
            Section::Install => "Install",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether quadlet checks this section's keys (systemd sections pass through).
    pub fn is_quadlet(self) -> bool {
        matches!(
            self,
            Section::Container | Section::Network | Section::Volume | Section::Pod
        )
    }
}
