//! Model → Quadlet units: one [`Unit`] per container, network and volume, as sections of keys in a
//! stable, natural order. Values arrive escaped from the model, so lowering cannot fail.

mod container;
mod container_network;
mod network;
mod options;
mod pod;
mod user;
mod volume;

pub use user::{PODMAN_PAUSE_SERVICE, PODMAN_PAUSE_UNIT, for_user_manager};

use crate::compile::model::{Container, Model, Name, Network, Pod, RawKey, Volume};
use crate::compile::version::PodmanVersion;
use crate::unit::{Section, UnitKind};

/// One Quadlet file before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub kind: UnitKind,
    pub name: Name,
    pub sections: Vec<SectionBody>,
    /// Services this unit's service requires: its networks' and volumes' (which podman does not
    /// change in place) and, for `depends_on`, other containers'. Install follows them when a
    /// network is recreated, since systemd stops every unit that requires a stopped one.
    pub uses: Vec<String>,
    /// Whether the unit starts at boot (`[Install] WantedBy=` or `RequiredBy=`), so install
    /// starts it when it is new.
    pub auto_start: bool,
}

/// A `[Section]` and its `Key=value` lines, values already escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionBody {
    pub section: Section,
    pub entries: Vec<(String, String)>,
}

impl Unit {
    pub fn file_name(&self) -> String {
        [self.name.as_str(), ".", self.kind.extension()].concat()
    }

    /// The systemd service quadlet generates from this file.
    pub fn service(&self) -> String {
        match self.kind {
            UnitKind::Container => crate::compile::model::container_service(&self.name),
            UnitKind::Network => crate::compile::model::network_service(&self.name),
            UnitKind::Volume => crate::compile::model::volume_service(&self.name),
            UnitKind::Pod => crate::compile::model::pod_service(&self.name),
        }
    }
}

/// Whether a unit has `[Install] WantedBy=` or `RequiredBy=`: `wanted_by` says whether quadgen
/// writes `WantedBy=` itself, and a raw key replaces the generated one of its name (an empty
/// list removes it).
fn starts_at_boot(wanted_by: bool, raw: &[RawKey]) -> bool {
    let raw_install = |key: &str| {
        raw.iter()
            .find(|r| r.section == Section::Install && r.key == key)
    };
    // An empty value resets the list in systemd: only non-empty values make the unit start.
    let listed = |r: &RawKey| r.values.iter().any(|v| !v.trim().is_empty());
    let wanted_by = raw_install("WantedBy").map_or(wanted_by, listed);
    let required_by = raw_install("RequiredBy").is_some_and(listed);
    wanted_by || required_by
}

/// Builds sections in order, dropping empty ones.
#[derive(Debug, Default)]
struct UnitBuilder {
    sections: Vec<SectionBody>,
}

impl UnitBuilder {
    fn push(&mut self, section: Section, key: &str, value: impl Into<String>) {
        let entry = (key.to_string(), value.into());
        match self.sections.iter_mut().find(|s| s.section == section) {
            Some(body) => body.entries.push(entry),
            None => self.sections.push(SectionBody {
                section,
                entries: vec![entry],
            }),
        }
    }

    /// Raw keys from the escape hatch replace generated keys of the same name.
    fn raw(&mut self, raw: &[RawKey]) {
        for r in raw {
            if let Some(body) = self.sections.iter_mut().find(|s| s.section == r.section) {
                body.entries.retain(|(k, _)| *k != r.key);
            }
            for v in &r.values {
                self.push(r.section, &r.key, v.clone());
            }
        }
    }

    fn build(mut self) -> Vec<SectionBody> {
        self.sections.retain(|s| !s.entries.is_empty());
        self.sections.sort_by_key(|s| s.section);
        self.sections
    }
}

/// All units of a model: networks, volumes, containers, then pods, each sorted by name.
pub fn lower(model: &Model) -> Vec<Unit> {
    lower_each(model).collect()
}

/// [`lower`] one unit at a time, so a caller that renders each unit at once never holds them all.
pub fn lower_each(model: &Model) -> impl Iterator<Item = Unit> + '_ {
    let networks = model
        .networks
        .iter()
        .map(|n| network::lower(n, model.target));
    let volumes = model.volumes.iter().map(volume::lower);
    let containers = model
        .containers
        .iter()
        .map(|c| container::lower(c, model.target));
    let pods = model.pods.iter().map(|p| pod::lower(p, model.target));
    networks.chain(volumes).chain(containers).chain(pods)
}

/// One object of the model, to be lowered into its unit on its own (on any thread).
#[derive(Debug)]
pub enum Object {
    Network(Network),
    Volume(Volume),
    Container(Box<Container>),
    Pod(Pod),
}

impl Object {
    /// The object's unit for Podman `target`.
    pub fn lower(&self, target: PodmanVersion) -> Unit {
        match self {
            Object::Network(n) => network::lower(n, target),
            Object::Volume(v) => volume::lower(v),
            Object::Container(c) => container::lower(c, target),
            Object::Pod(p) => pod::lower(p, target),
        }
    }
}

/// The model's objects, taking the model: each is freed once its unit is built (in any order,
/// on any thread). The Podman version they are lowered for comes with them.
pub fn into_objects(model: Model) -> (PodmanVersion, impl Iterator<Item = Object> + Send) {
    let Model {
        target,
        networks,
        volumes,
        containers,
        secrets: _,
        pods,
    } = model;
    let objects = (networks.into_iter().map(Object::Network))
        .chain(volumes.into_iter().map(Object::Volume))
        .chain(
            containers
                .into_iter()
                .map(|c| Object::Container(Box::new(c))),
        )
        .chain(pods.into_iter().map(Object::Pod));
    (target, objects)
}

#[cfg(test)]
mod tests;
