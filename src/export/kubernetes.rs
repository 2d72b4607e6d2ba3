//! Model → Kubernetes objects, and the YAML text of them.
//!
//! [`export`] is pure: the validated [`Model`] `quadgen build` lowers to units, in; typed objects
//! and the list of what Kubernetes cannot mean the same way, out. [`render`] writes them as one
//! multi-document YAML stream, deterministic (same model, same bytes), with every note as a
//! comment next to what it is about.

use std::collections::{BTreeMap, BTreeSet};

use super::objects::*;
use crate::compile::model::{
    self, AutoUpdate, HealthOnFailure, Model, Mount, NetworkRef, PullPolicy,
};
use crate::compile::model::{Duration, Restart};

mod container_options;
mod pod;
mod pod_options;
pub mod quantity;
mod secrets;
mod sidecar;

pub use secrets::{SecretData, SecretSource};

/// The Kubernetes release whose OpenAPI schemas the output is checked against in the tests.
pub const KUBERNETES_VERSION: &str = "1.33";

/// The label every object carries and every selector matches: the container's name.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// The storage a claim asks for: the inventory has no size, so this is a placeholder to edit.
pub const CLAIM_SIZE: &str = "1Gi";

/// What the export is about, for notes and refusals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// The `--namespace` given.
    Namespace(String),
    Network(String),
    Volume(String),
    Container(String),
    Pod(String),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Namespace(n) => write!(f, "namespace `{n}`"),
            Subject::Network(n) => write!(f, "network `{n}`"),
            Subject::Volume(n) => write!(f, "volume `{n}`"),
            Subject::Container(n) => write!(f, "container `{n}`"),
            Subject::Pod(n) => write!(f, "pod `{n}`"),
        }
    }
}

/// Something Kubernetes does not mean the same way as the quadgen unit did.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub subject: Subject,
    pub text: String,
}

/// Something that cannot be exported at all: the inventory must change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub subject: Subject,
    pub message: String,
    pub help: String,
}

/// Options of `quadgen export kubernetes`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `metadata.namespace` of every object (none: the namespace kubectl applies to).
    pub namespace: Option<String>,
}

/// One object with the notes written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub notes: Vec<Note>,
    pub object: Object,
}

/// The whole export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Notes about networks (written in the header: no object stands for a network).
    pub network_notes: Vec<Note>,
    pub secrets: Vec<SecretSource>,
    /// Claims first, then per container its Service (if it has ports) and its Deployment, then
    /// the same per pod.
    pub documents: Vec<Document>,
}

impl Export {
    /// Every note, in the order written.
    pub fn notes(&self) -> impl Iterator<Item = &Note> {
        self.network_notes
            .iter()
            .chain(self.documents.iter().flat_map(|d| d.notes.iter()))
    }
}

/// Lowers a validated model into Kubernetes objects, or says what must change first.
pub fn export(model: &Model, options: &Options) -> Result<Export, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let bad_namespace = options.namespace.as_ref().filter(|ns| !is_dns_label(ns));
    if let Some(ns) = bad_namespace {
        refusals.push(Refusal {
            subject: Subject::Namespace(ns.clone()),
            message: format!("`{ns}` is not a Kubernetes namespace name"),
            help: "use lowercase letters, digits and `-` (at most 63), starting and ending with a letter or digit".into(),
        });
    }
    for c in &model.containers {
        let name = c.name.as_str();
        if !is_dns_1035_label(name) {
            refusals.push(Refusal {
                subject: Subject::Container(name.into()),
                message: format!(
                    "`{name}` cannot name a Kubernetes Service, so other containers could not reach it by this name"
                ),
                help: "rename the container with lowercase letters, digits and `-`, starting with a letter (e.g. `home-assistant`)".into(),
            });
        }
    }
    for v in &model.volumes {
        let name = v.name.as_str();
        if !is_dns_subdomain(name) {
            refusals.push(Refusal {
                subject: Subject::Volume(name.into()),
                message: format!("`{name}` cannot name a Kubernetes PersistentVolumeClaim"),
                help: "rename the volume with lowercase letters, digits, `-` and `.`".into(),
            });
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }

    let namespace = options.namespace.clone();
    let secrets = secrets::secret_sources(model);
    let mut documents = Vec::new();

    for v in &model.volumes {
        documents.push(claim(model, v, &namespace));
    }
    let standalone = model.containers.iter().filter(|c| c.pod.is_none());
    for c in standalone.filter(|c| sidecar_owner(model, c).is_none()) {
        let mut notes = container_notes(model, c);
        if let Some(service) = service(c, &namespace) {
            documents.push(Document {
                notes: Vec::new(),
                object: Object::Service(service),
            });
        }
        let sidecars: Vec<&model::Container> = model
            .containers
            .iter()
            .filter(|s| sidecar_owner(model, s) == Some(&c.name))
            .collect();
        let mut deployment = deployment(c, &namespace, &secrets, &mut notes);
        sidecar::add(model, &mut deployment, &sidecars, &secrets, &mut notes);
        notes.sort();
        notes.dedup();
        documents.push(Document {
            notes,
            object: Object::Deployment(Box::new(deployment)),
        });
    }

    for p in &model.pods {
        documents.extend(pod::documents(model, p, &namespace, &secrets));
    }

    Ok(Export {
        network_notes: model.networks.iter().flat_map(network_notes).collect(),
        secrets,
        documents,
    })
}

fn meta(name: &str, namespace: &Option<String>) -> ObjectMeta {
    ObjectMeta {
        name: name.to_string(),
        namespace: namespace.clone(),
        labels: BTreeMap::from([
            (NAME_LABEL.to_string(), name.to_string()),
            (MANAGED_BY_LABEL.to_string(), "quadgen".to_string()),
        ]),
        annotations: BTreeMap::new(),
    }
}

fn selector(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAME_LABEL.to_string(), name.to_string())])
}

fn claim(model: &Model, v: &model::Volume, namespace: &Option<String>) -> Document {
    let name = v.name.as_str();
    let subject = || Subject::Volume(name.to_string());
    let mut notes = vec![Note {
        subject: subject(),
        text: format!(
            "the inventory gives no size: the claim asks for {CLAIM_SIZE} of the cluster's default StorageClass; edit `storage` before applying"
        ),
    }];
    if v.driver.is_some() || v.mount_type.is_some() || v.device.is_some() {
        let what: Vec<String> = [
            v.driver.as_ref().map(|d| format!("driver `{d}`")),
            v.mount_type.as_ref().map(|t| format!("type `{}`", t.raw)),
            v.device.as_ref().map(|d| format!("device `{}`", d.raw)),
            v.mount_options.as_ref().map(|o| format!("o `{}`", o.raw)),
        ]
        .into_iter()
        .flatten()
        .collect();
        notes.push(Note {
            subject: subject(),
            text: format!(
                "its podman volume options ({}) are not carried: describe that storage with a PersistentVolume or a StorageClass",
                what.join(", ")
            ),
        });
    }
    if !v.labels.is_empty() {
        notes.push(Note {
            subject: subject(),
            text: "its labels are written as annotations (Kubernetes label values are restricted)"
                .into(),
        });
    }
    if !v.raw.is_empty() {
        notes.push(raw_keys_note(subject(), &v.raw));
    }
    let users: Vec<&str> = model
        .containers
        .iter()
        .filter(|c| {
            c.mounts
                .iter()
                .any(|m| matches!(m, Mount::Named { volume, .. } if volume == &v.name))
        })
        .map(|c| c.name.as_str())
        .collect();
    if users.len() > 1 {
        notes.push(Note {
            subject: subject(),
            text: format!(
                "mounted by {}: a ReadWriteOnce claim is usable by pods on one node only; keep them together or use a ReadWriteMany StorageClass",
                list(&users)
            ),
        });
    }
    let mut metadata = meta(name, namespace);
    metadata.annotations = key_values(&v.labels);
    Document {
        notes,
        object: Object::Claim(PersistentVolumeClaim {
            api_version: "v1",
            kind: "PersistentVolumeClaim",
            metadata,
            spec: ClaimSpec {
                access_modes: vec!["ReadWriteOnce"],
                resources: ClaimResources {
                    requests: BTreeMap::from([("storage", CLAIM_SIZE.to_string())]),
                },
            },
        }),
    }
}

/// Longest port range written port by port (Kubernetes has no ranges); longer ones are noted.
const MAX_RANGE: u16 = 64;

/// The ports other pods reach the container on: the container side of each published port
/// (ranges of up to [`MAX_RANGE`] ports, one by one).
fn container_ports(c: &model::Container) -> Vec<(u16, &'static str)> {
    published_ports(&c.ports)
}

/// The container side of published port specs (a container's or a pod's `ports`).
fn published_ports(specs: &[String]) -> Vec<(u16, &'static str)> {
    let mut ports = BTreeSet::new();
    for spec in specs {
        let (spec, protocol) = match spec.rsplit_once('/') {
            Some((s, "udp")) => (s, "UDP"),
            Some((s, "sctp")) => (s, "SCTP"),
            Some((s, _)) => (s, "TCP"),
            None => (spec.as_str(), "TCP"),
        };
        let container = spec.rsplit(':').next().unwrap_or(spec);
        let (from, to) = container.split_once('-').unwrap_or((container, container));
        if let (Ok(from), Ok(to)) = (from.parse::<u16>(), to.parse::<u16>()) {
            if to.saturating_sub(from) >= MAX_RANGE {
                continue;
            }
            for port in from..=to {
                ports.insert((port, protocol));
            }
        }
    }
    ports.into_iter().collect()
}

fn service(c: &model::Container, namespace: &Option<String>) -> Option<Service> {
    service_of(c.name.as_str(), container_ports(c), namespace)
}

/// A Service named `name` for `ports`, selecting the pods of the Deployment of that name.
fn service_of(
    name: &str,
    ports: Vec<(u16, &'static str)>,
    namespace: &Option<String>,
) -> Option<Service> {
    if ports.is_empty() {
        return None;
    }
    Some(Service {
        api_version: "v1",
        kind: "Service",
        metadata: meta(name, namespace),
        spec: ServiceSpec {
            selector: selector(name),
            ports: ports
                .into_iter()
                .map(|(port, protocol)| ServicePort {
                    name: format!("{}-{port}", protocol.to_lowercase()),
                    protocol,
                    port,
                    target_port: port,
                })
                .collect(),
        },
    })
}

fn deployment(
    c: &model::Container,
    namespace: &Option<String>,
    secrets: &[SecretSource],
    notes: &mut Vec<Note>,
) -> Deployment {
    let name = c.name.as_str();
    let mut names = BTreeSet::new();
    let subject = Subject::Container(c.name.to_string());
    let (mut volumes, mut volume_mounts, persistent) =
        volumes_of(&c.mounts, subject, &mut names, notes);
    let (more, more_mounts) = own_volumes(c, secrets, &volume_mounts, &mut names, notes);
    volumes.extend(more);
    volume_mounts.extend(more_mounts);
    let host_network = c.networks.contains(&NetworkRef::Host);
    let container = container(c, secrets, volume_mounts, notes);
    let options = pod_options::container_pod_options(c, host_network, notes);

    let spec = pod_spec(
        options,
        host_network,
        c.stop_timeout.whole_secs_rounded_up(),
        vec![container],
        volumes,
    );
    deployment_of(name, namespace, key_values(&c.labels), persistent, spec)
}

/// A Deployment `name` of one replica running `spec`, with `annotations` on its pod template;
/// `Recreate` when its pod writes `persistent` storage (two pods never share it).
fn deployment_of(
    name: &str,
    namespace: &Option<String>,
    annotations: BTreeMap<String, String>,
    persistent: bool,
    spec: PodSpec,
) -> Deployment {
    let mut template_meta = meta(name, &None);
    template_meta.name = String::new();
    template_meta.annotations = annotations;
    Deployment {
        api_version: "apps/v1",
        kind: "Deployment",
        metadata: meta(name, namespace),
        spec: DeploymentSpec {
            replicas: 1,
            selector: LabelSelector {
                match_labels: selector(name),
            },
            strategy: persistent.then_some(Strategy { kind: "Recreate" }),
            template: PodTemplate {
                metadata: template_meta,
                spec,
            },
        },
    }
}

/// The container whose network namespace `c` shares (`network_mode = "container:OWNER"`), when
/// the export puts `c` into OWNER's pod as a second container: OWNER stands alone (no pod of
/// its own, no network mode of its own) and so does `c`.
fn sidecar_owner<'m>(model: &'m Model, c: &model::Container) -> Option<&'m model::Name> {
    let [NetworkRef::Container(owner)] = c.networks.as_slice() else {
        return None;
    };
    let owner = model.containers.iter().find(|o| &o.name == owner)?;
    let owner_alone = owner.pod.is_none()
        && !owner
            .networks
            .iter()
            .any(|n| matches!(n, NetworkRef::Container(_)));
    (c.pod.is_none() && owner_alone).then_some(&owner.name)
}

/// A pod spec with `options`, on the node's network or not.
fn pod_spec(
    options: pod_options::PodOptions,
    host_network: bool,
    grace: u64,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> PodSpec {
    PodSpec {
        hostname: options.hostname,
        host_network: host_network.then_some(true),
        dns_policy: options.dns_policy,
        dns_config: options.dns_config,
        host_aliases: options.host_aliases,
        security_context: options.security_context,
        termination_grace_period_seconds: grace,
        containers,
        volumes,
    }
}

/// The container's volumes besides its `volumes`: memory-backed emptyDirs (`tmpfs`,
/// `shm_size`, a read-only root's writable directories) and its mounted secrets, named
/// uniquely among `names`; `taken` are the mounts it has already.
fn own_volumes(
    c: &model::Container,
    secrets: &[SecretSource],
    taken: &[VolumeMount],
    names: &mut BTreeSet<String>,
    notes: &mut Vec<Note>,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let (mut volumes, mut mounts) = container_options::memory_volumes(c, taken, names, notes);
    let (secret_volumes, secret_mounts) = secrets::secret_volumes(c, secrets, names, notes);
    volumes.extend(secret_volumes);
    mounts.extend(secret_mounts);
    (volumes, mounts)
}

/// The Deployment's one container: image, command, environment, ports, the given mounts,
/// security context, limits and probes (these add their notes, then the `$(`/`$$` one).
fn container(
    c: &model::Container,
    secrets: &[SecretSource],
    volume_mounts: Vec<VolumeMount>,
    notes: &mut Vec<Note>,
) -> Container {
    let mut env = env_vars(c);
    env.extend(container_options::timezone_env(c));
    env.extend(secrets::secret_env(c, secrets));
    let env_from = env_from_secrets(c, secrets);
    let security_context = container_options::security_context(c, notes);
    let (startup_probe, readiness_probe, liveness_probe) = probes(c, notes);
    note_kube_expansion(c, notes);

    Container {
        name: c.name.as_str().to_string(),
        image: c.image_written.raw.clone(),
        image_pull_policy: image_pull_policy(c.pull),
        command: c
            .entrypoint
            .iter()
            .map(|e| kube_expansion_safe(&e.raw))
            .collect(),
        args: c.cmd.iter().map(|w| kube_expansion_safe(&w.raw)).collect(),
        working_dir: c.runtime.working_dir.as_ref().map(|w| w.raw.clone()),
        env,
        env_from,
        ports: container_ports(c)
            .into_iter()
            .map(|(container_port, protocol)| ContainerPort {
                container_port,
                protocol,
            })
            .collect(),
        resources: container_options::resources(c),
        volume_mounts,
        security_context,
        startup_probe,
        readiness_probe,
        liveness_probe,
    }
}

/// The container's `environment` as `KEY=value` pairs, with `$(` and `$$` kept literal.
fn env_vars(c: &model::Container) -> Vec<EnvVar> {
    c.environment
        .iter()
        .map(|w| {
            let (key, value) = w.raw.split_once('=').unwrap_or((w.raw.as_str(), ""));
            EnvVar {
                name: key.to_string(),
                value: Some(kube_expansion_safe(value)),
                value_from: None,
            }
        })
        .collect()
}

/// An `envFrom` Secret reference for each environment file that has a Secret.
fn env_from_secrets(c: &model::Container, secrets: &[SecretSource]) -> Vec<EnvFromSource> {
    c.environment_files
        .iter()
        .filter_map(|f| {
            secrets
                .iter()
                .find(|s| s.data == SecretData::EnvFile(f.raw.clone()))
        })
        .map(|s| EnvFromSource {
            secret_ref: LocalObjectReference {
                name: s.name.clone(),
            },
        })
        .collect()
}

/// Notes that a value holds `$(` or `$$`, which Kubernetes expands and the export escapes.
fn note_kube_expansion(c: &model::Container, notes: &mut Vec<Note>) {
    if c.entrypoint
        .iter()
        .map(|e| e.raw.as_str())
        .chain(c.cmd.iter().map(|w| w.raw.as_str()))
        .chain(c.environment.iter().map(|w| w.raw.as_str()))
        .chain(c.health.iter().map(|h| h.cmd.raw.as_str()))
        .any(|s| s.contains("$(") || s.contains("$$"))
    {
        notes.push(Note {
            subject: Subject::Container(c.name.to_string()),
            text: "a value holds `$(` or `$$`, which Kubernetes expands: written with `$$` so it means the same there (`podman kube play` does not expand them and would see `$$`)".into(),
        });
    }
}

/// The `imagePullPolicy` for podman's pull policy.
fn image_pull_policy(pull: PullPolicy) -> &'static str {
    match pull {
        PullPolicy::Always | PullPolicy::Newer => "Always",
        PullPolicy::Missing => "IfNotPresent",
        PullPolicy::Never => "Never",
    }
}

/// The pod volumes and mounts for the `volumes` of `subject` (a container or a pod), with
/// volume names unique among `names`, and whether it writes persistent storage (a claim or a
/// host path), which makes the Deployment `Recreate` so two pods never share it.
fn volumes_of(
    mounts_wanted: &[Mount],
    subject: Subject,
    names: &mut BTreeSet<String>,
    notes: &mut Vec<Note>,
) -> (Vec<Volume>, Vec<VolumeMount>, bool) {
    let mut volumes: Vec<Volume> = Vec::new();
    let mut mounts = Vec::new();
    let mut persistent = false;
    let mut host_paths = Vec::new();
    for mount in mounts_wanted {
        let (volume, target, options) = mount_volume(mount, names, &mut host_paths);
        let read_only = options.iter().any(|o| o == "ro");
        note_dropped_mount_options(&subject, target, options, notes);
        if !read_only && volume.empty_dir.is_none() {
            persistent = true;
        }
        mounts.push(VolumeMount {
            name: volume.name.clone(),
            mount_path: target.clone(),
            read_only: read_only.then_some(true),
            sub_path: None,
        });
        volumes.push(volume);
    }
    if !host_paths.is_empty() {
        notes.push(Note {
            subject,
            text: format!(
                "host paths {} are mounted as hostPath: the pod then depends on the files of the node it lands on; pin it with a nodeSelector, or move the data to a PersistentVolumeClaim",
                list(&host_paths)
            ),
        });
    }
    (volumes, mounts, persistent)
}

/// `wanted`, or `wanted` cut to fit 63 characters with `-2`, `-3`… added, whichever is not in
/// `names` yet; it is added there.
fn unique_volume_name(names: &mut BTreeSet<String>, wanted: String) -> String {
    let mut name = wanted.clone();
    let mut n = 2;
    while !names.insert(name.clone()) {
        let suffix = format!("-{n}");
        let keep = 63usize.saturating_sub(suffix.len()).min(wanted.len());
        name = format!("{}{suffix}", wanted.get(..keep).unwrap_or(&wanted));
        n += 1;
    }
    name
}

/// The pod volume for one mount (a claim, a host path or an empty dir), with the mount's target
/// and options; a bind mount's source is added to `host_paths`.
fn mount_volume<'m>(
    mount: &'m Mount,
    names: &mut BTreeSet<String>,
    host_paths: &mut Vec<&'m str>,
) -> (Volume, &'m String, &'m [String]) {
    match mount {
        Mount::Named {
            volume,
            target,
            options,
        } => (
            Volume {
                persistent_volume_claim: Some(ClaimSource {
                    claim_name: volume.to_string(),
                }),
                ..Volume::named(unique_volume_name(
                    names,
                    to_dns_label(volume.as_str(), "volume"),
                ))
            },
            target,
            options.as_slice(),
        ),
        Mount::Bind {
            source,
            target,
            options,
        } => {
            host_paths.push(source.raw.as_str());
            (
                Volume {
                    host_path: Some(HostPathSource {
                        path: source.raw.clone(),
                    }),
                    ..Volume::named(unique_volume_name(
                        names,
                        format!("host{}", to_dns_label(&source.raw, "")),
                    ))
                },
                target,
                options.as_slice(),
            )
        }
        Mount::Anonymous { target } => (
            Volume {
                empty_dir: Some(EmptyDir::default()),
                ..Volume::named(unique_volume_name(
                    names,
                    format!("anon{}", to_dns_label(target, "")),
                ))
            },
            target,
            &[][..],
        ),
    }
}

/// Notes the mount options other than `ro` and `rw`, which Kubernetes has no place for.
fn note_dropped_mount_options(
    subject: &Subject,
    target: &str,
    options: &[String],
    notes: &mut Vec<Note>,
) {
    let dropped: Vec<&str> = options
        .iter()
        .map(String::as_str)
        .filter(|o| !matches!(*o, "ro" | "rw"))
        .collect();
    if !dropped.is_empty() {
        notes.push(Note {
            subject: subject.clone(),
            text: format!(
                "mount options {} of `{target}` are not carried (Kubernetes has no such volume mount option)",
                list(&dropped)
            ),
        });
    }
}

/// Startup, readiness and liveness probes from the health check, run by `/bin/sh -c` as podman
/// runs a `HealthCmd`.
///
/// - readiness: every `interval`, `retries` failures in a row make the pod unready;
/// - startup (with a `start_period`): failures during the start period do not count, as with
///   podman, so it allows `ceil(start_period / interval) + retries` failures;
/// - liveness (with `on_failure` `kill` or `restart`): Kubernetes restarts the container, as
///   podman's kill plus the service's restart policy did.
fn probes(
    c: &model::Container,
    notes: &mut Vec<Note>,
) -> (Option<Probe>, Option<Probe>, Option<Probe>) {
    let Some(h) = &c.health else {
        if c.image_health {
            notes.push(Note {
                subject: Subject::Container(c.name.to_string()),
                text: "`health = \"image\"`: Kubernetes ignores an image's HEALTHCHECK, so it gets no probes; write the check as `health = { cmd = \"…\" }` to get them".into(),
            });
        }
        return (None, None, None);
    };
    let secs = |d: Duration| d.whole_secs_rounded_up().max(1);
    let probe = |failure_threshold: u64| Probe {
        exec: ExecAction {
            command: vec![
                "/bin/sh".into(),
                "-c".into(),
                kube_expansion_safe(&h.cmd.raw),
            ],
        },
        period_seconds: secs(h.interval),
        timeout_seconds: secs(h.timeout),
        failure_threshold: failure_threshold.max(1),
    };
    let retries = u64::from(h.retries);
    let startup = (h.start_period.millis() > 0).then(|| {
        let during_start = h.start_period.millis().div_ceil(secs(h.interval) * 1000);
        probe(during_start + retries)
    });
    let liveness = match h.on_failure {
        HealthOnFailure::Kill | HealthOnFailure::Restart => Some(probe(retries)),
        HealthOnFailure::Stop => {
            notes.push(Note {
                subject: Subject::Container(c.name.to_string()),
                text: "health `on_failure = \"stop\"`: Kubernetes cannot leave a container stopped; it gets a liveness probe, and is restarted".into(),
            });
            Some(probe(retries))
        }
        HealthOnFailure::None => None,
    };
    (startup, Some(probe(retries)), liveness)
}

/// Everything about a container Kubernetes does not mean the same way (mounts, users and probes
/// add theirs while they are lowered).
fn container_notes(model: &Model, c: &model::Container) -> Vec<Note> {
    let mut texts = Vec::new();
    network_texts(c, &mut texts);
    port_texts(c, &mut texts);
    unreachable_texts(model, c, &mut texts);
    start_order_texts(c, &mut texts);
    runtime_texts(c, &mut texts);
    carried_elsewhere_texts(c, &mut texts);
    notes_about(c, texts)
}

/// `texts` as notes about container `c`, with the note on its raw keys.
fn notes_about(c: &model::Container, texts: Vec<String>) -> Vec<Note> {
    notes_of(Subject::Container(c.name.to_string()), texts, &c.raw)
}

/// `texts` as notes about `subject` (a container or a pod), with the note on its raw keys.
fn notes_of(subject: Subject, texts: Vec<String>, raw: &[model::RawKey]) -> Vec<Note> {
    let mut notes: Vec<Note> = texts
        .into_iter()
        .map(|text| Note {
            subject: subject.clone(),
            text,
        })
        .collect();
    if !raw.is_empty() {
        notes.push(raw_keys_note(subject, raw));
    }
    notes
}

/// The note on `podman_args` (a container's or a pod's), which Kubernetes has no place for.
fn podman_args_texts(args: &[model::Word], texts: &mut Vec<String>) {
    if !args.is_empty() {
        let args: Vec<&str> = args.iter().map(|w| w.raw.as_str()).collect();
        texts.push(format!("podman_args {} are not carried", list(&args)));
    }
}

/// For a container that shares a pod template with others: its labels are not the template's
/// (`whose` labels are).
fn labels_of_another_texts(c: &model::Container, whose: &str, texts: &mut Vec<String>) {
    if !c.labels.is_empty() {
        texts.retain(|t| !t.starts_with("its labels"));
        texts.push(format!(
            "its labels are not carried: the pod template has {whose} labels, as annotations"
        ));
    }
}

/// The host network and no network, which a Kubernetes pod cannot have the same way.
fn network_texts(c: &model::Container, texts: &mut Vec<String>) {
    networks_texts(&c.networks, texts);
    network_settings_texts(c, texts);
}

/// [`network_texts`] of a container's or a pod's networks.
fn networks_texts(networks: &[NetworkRef], texts: &mut Vec<String>) {
    for net in networks {
        match net {
            NetworkRef::Host => texts.push(
                "uses the host's network: written as `hostNetwork: true`, which shares the network of whichever node the pod lands on".to_string(),
            ),
            NetworkRef::None => texts.push(
                "has no network (`none`): every Kubernetes pod has one; it is not isolated there".to_string(),
            ),
            NetworkRef::Container(owner) => texts.push(format!(
                "shares `{owner}`'s network namespace (`network_mode`): in Kubernetes, put both containers in one pod to share it"
            )),
            NetworkRef::Inventory(_) => {}
        }
    }
}

/// Port ranges too long to list in a Service, and ports published on the host.
fn port_texts(c: &model::Container, texts: &mut Vec<String>) {
    ports_texts(c.name.as_str(), &c.ports, texts);
}

/// [`port_texts`] of the `ports` of a container or a pod named `name`.
fn ports_texts(name: &str, ports: &[String], texts: &mut Vec<String>) {
    let published: Vec<&str> = ports
        .iter()
        .map(String::as_str)
        .filter(|p| p.contains(':'))
        .collect();
    let long_ranges: Vec<&str> = ports
        .iter()
        .map(String::as_str)
        .filter(|p| {
            let spec = p.rsplit_once('/').map_or(*p, |(s, _)| s);
            let container = spec.rsplit(':').next().unwrap_or(spec);
            container.split_once('-').is_some_and(|(a, b)| {
                matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if b.saturating_sub(a) >= MAX_RANGE)
            })
        })
        .collect();
    if !long_ranges.is_empty() {
        texts.push(format!(
            "port ranges {} are longer than {MAX_RANGE} ports and not carried: a Service lists each port; write the ones others use",
            list(&long_ranges)
        ));
    }
    if !published.is_empty() {
        texts.push(format!(
            "publishes {} on the host: the Service is ClusterIP (reachable inside the cluster by `{}`); expose it with an Ingress, a LoadBalancer or a NodePort Service",
            list(&published),
            name
        ));
    }
}

/// A container without `ports` gets no Service: the containers that depend on it or share a
/// network with it cannot reach it by name.
fn unreachable_texts(model: &Model, c: &model::Container, texts: &mut Vec<String>) {
    if c.ports.is_empty() {
        let reached_by: BTreeSet<&str> = model
            .containers
            .iter()
            .filter(|o| o.name != c.name)
            .filter(|o| {
                o.depends_on.contains(&c.name)
                    || o.networks
                        .iter()
                        .any(|n| matches!(n, NetworkRef::Inventory(_)) && c.networks.contains(n))
            })
            .map(|o| o.name.as_str())
            .collect();
        if !reached_by.is_empty() {
            texts.push(format!(
                "has no `ports`, so no Service: {} cannot reach it as `{}` in Kubernetes; add the port it listens on to `ports` (e.g. `\"127.0.0.1::5432\"` publishes it on the host's loopback only)",
                list(&reached_by.into_iter().collect::<Vec<_>>()),
                c.name
            ));
        }
    }
}

/// The start order after other containers and host systemd units, which Kubernetes lacks.
fn start_order_texts(c: &model::Container, texts: &mut Vec<String>) {
    if !c.depends_on.is_empty() {
        let deps: Vec<&str> = c.depends_on.iter().map(|d| d.as_str()).collect();
        texts.push(format!(
            "starts after {} under systemd: Kubernetes has no start order, so it must retry until they answer (their readiness gates only their own Service)",
            list(&deps)
        ));
    }
    let units: BTreeSet<&str> = c
        .after
        .iter()
        .chain(&c.requires)
        .chain(&c.wants)
        .map(String::as_str)
        .collect();
    if !units.is_empty() {
        texts.push(format!(
            "orders itself with the host's systemd units {}: Kubernetes cannot wait for them",
            list(&units.into_iter().collect::<Vec<_>>())
        ));
    }
}

/// Devices, restart policy, `auto_start` and auto-update, which a Deployment does not carry.
fn runtime_texts(c: &model::Container, texts: &mut Vec<String>) {
    for device in &c.devices {
        texts.push(format!(
            "device `{}` is not carried: Kubernetes passes devices through a device plugin (or a privileged pod with a hostPath)",
            device.host.as_ref().map_or(&device.raw, |h| &h.raw)
        ));
    }
    if c.restart != Restart::Always {
        texts.push(format!(
            "restart `{}`: a Deployment's pod always restarts its container",
            c.restart.as_str()
        ));
    }
    if !c.auto_start {
        texts.push(
            "`auto_start = false`: a Deployment runs its pod at once; scale it to 0 replicas while it should not run".to_string(),
        );
    }
    if c.auto_update != AutoUpdate::None {
        texts.push(format!(
            "auto-update `{}` is not carried: nothing updates images in Kubernetes by itself (Flux or Argo CD image automation, Keel or Renovate do)",
            c.auto_update.as_str()
        ));
    }
}

/// Environment files (Secrets), labels (annotations), and `podman_args` (dropped).
fn carried_elsewhere_texts(c: &model::Container, texts: &mut Vec<String>) {
    if !c.environment_files.is_empty() {
        texts.push(
            "its environment files come from Secrets (`envFrom`), which you create; see the header"
                .to_string(),
        );
    }
    if !c.labels.is_empty() {
        texts.push(
            "its labels are written as pod annotations (Kubernetes label values are restricted)"
                .to_string(),
        );
    }
    podman_args_texts(&c.podman_args, texts);
    if !c.secrets.is_empty() {
        texts.push(
            "its secrets come from Secrets (`secretKeyRef`, or a `secret` volume with the one file), which you create; see the header"
                .to_string(),
        );
    }
    container_options::option_texts(c, texts);
}

/// Static addresses, MAC addresses and aliases on inventory networks, which a pod network has
/// no place for.
fn network_settings_texts(c: &model::Container, texts: &mut Vec<String>) {
    for s in &c.network_settings {
        let fixed: Vec<String> = [
            s.ip.map(|ip| ip.to_string()),
            s.ip6.map(|ip| ip.to_string()),
            s.mac.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !fixed.is_empty() {
            let fixed: Vec<&str> = fixed.iter().map(String::as_str).collect();
            texts.push(format!(
                "its addresses {} on network `{}` are not carried: the cluster's network plugin assigns pod addresses; reach it by its Service name",
                list(&fixed),
                s.network
            ));
        }
        if !s.aliases.is_empty() {
            let aliases: Vec<&str> = s.aliases.iter().map(String::as_str).collect();
            texts.push(format!(
                "its aliases {} on network `{}` are not carried: only the Service name `{}` resolves; add a Service per alias (with the same selector) where others use them",
                list(&aliases),
                s.network,
                c.name
            ));
        }
    }
}

fn network_notes(n: &model::Network) -> Vec<Note> {
    let subject = || Subject::Network(n.name.to_string());
    let mut notes = vec![Note {
        subject: subject(),
        text: "Kubernetes has one flat pod network: every pod can reach every Service, whichever quadgen networks it joined; names resolve through the Services".into(),
    }];
    if n.internal {
        notes.push(Note {
            subject: subject(),
            text: "is internal (no way out): write a NetworkPolicy for that".into(),
        });
    }
    let settings: Vec<&str> = [
        ("subnet", !n.subnets.is_empty()),
        ("gateway", n.subnets.iter().any(|s| s.gateway.is_some())),
        ("ipv6", n.ipv6),
        ("dns", !n.dns.is_empty()),
        ("driver", n.driver != model::NetworkDriver::Bridge),
        ("options", !n.options.is_empty()),
        ("labels", !n.labels.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if !settings.is_empty() {
        notes.push(Note {
            subject: subject(),
            text: format!(
                "{} not carried: the cluster's network plugin assigns pod addresses",
                list(&settings)
            ),
        });
    }
    if !n.raw.is_empty() {
        notes.push(raw_keys_note(subject(), &n.raw));
    }
    notes
}

fn raw_keys_note(subject: Subject, raw: &[model::RawKey]) -> Note {
    let keys: Vec<String> = raw
        .iter()
        .map(|k| format!("{}={}", k.key, k.values.join(",")))
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    Note {
        subject,
        text: format!("raw quadlet keys {} are not carried", list(&keys)),
    }
}

/// `KEY=VALUE` words as a map.
fn key_values(words: &[model::Word]) -> BTreeMap<String, String> {
    words
        .iter()
        .map(|w| {
            let (k, v) = w.raw.split_once('=').unwrap_or((w.raw.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// `a`, `a` and `b`, `a`, `b` and `c`, each in backticks.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Kubernetes expands `$(VAR)` in `command`, `args` and `env` values and reads `$$` as `$`:
/// doubling each `$` that starts either keeps the text as written.
pub fn kube_expansion_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('$' | '(')) {
            out.push('$');
        }
    }
    out
}

/// A DNS label (RFC 1123) made from `text`: lowercase, runs of anything else as one `-`, at most
/// 63 characters; `fallback` when nothing is left. With an empty fallback the result starts with
/// `-` (for use after a prefix).
fn to_dns_label(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = if fallback.is_empty() {
        let t = out.trim_end_matches('-');
        if t.starts_with('-') {
            t.to_string()
        } else {
            format!("-{t}")
        }
    } else {
        out.trim_matches('-').to_string()
    };
    let mut label: String = trimmed.chars().take(58).collect();
    while label.ends_with('-') && label.len() > 1 {
        label.pop();
    }
    if label.is_empty() || label == "-" {
        fallback.to_string()
    } else {
        label
    }
}

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1035 label (what a Service name must be): an RFC 1123 label starting with a letter.
fn is_dns_1035_label(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// RFC 1123 subdomain: labels joined by `.`, at most 253.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The YAML stream: a header naming the source, the Kubernetes version, the Secrets to create
/// and the network notes; then each object after `---`, its notes as comments above it.
pub fn render(export: &Export, source: &str, namespace: Option<&str>) -> String {
    let mut out = String::new();
    let comment = |out: &mut String, text: &str| {
        out.push_str(&comment_line(text));
        out.push('\n');
    };
    comment(
        &mut out,
        &format!(
            "Generated by `quadgen export kubernetes` from `{source}`, for Kubernetes {KUBERNETES_VERSION}."
        ),
    );
    comment(
        &mut out,
        "Lines starting with `NOTE` say what Kubernetes does not mean the same way (also printed on stderr).",
    );
    if !export.secrets.is_empty() {
        comment(&mut out, "");
        comment(
            &mut out,
            "Secrets referenced (`envFrom`, `secretKeyRef`, `secret` volumes), never written here: create each from its file first:",
        );
        for s in &export.secrets {
            comment(&mut out, &format!("  {}", s.command(namespace)));
        }
    }
    if !export.network_notes.is_empty() {
        comment(&mut out, "");
        for note in &export.network_notes {
            comment(&mut out, &format!("NOTE {}: {}", note.subject, note.text));
        }
    }
    for doc in &export.documents {
        out.push_str("---\n");
        for note in &doc.notes {
            comment(&mut out, &format!("NOTE {}: {}", note.subject, note.text));
        }
        out.push_str(&yaml(&doc.object));
    }
    out
}

/// One object as YAML, through [`super::yaml`]. The objects hold only strings, numbers,
/// booleans, lists and maps, which always convert.
fn yaml(object: &Object) -> String {
    match serde_norway::to_value(object) {
        Ok(value) => super::yaml::to_string(&value),
        Err(e) => format!("# cannot write {}: {e}\n", object.describe()),
    }
}

/// `# TEXT`, with any control character escaped so the comment stays one line.
fn comment_line(text: &str) -> String {
    let mut line = String::from("#");
    if !text.is_empty() {
        line.push(' ');
    }
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_is_kept_as_written_through_kubernetes_expansion() {
        assert_eq!(kube_expansion_safe("$HOME"), "$HOME");
        assert_eq!(kube_expansion_safe("$(HOME)"), "$$(HOME)");
        assert_eq!(kube_expansion_safe("a$$b"), "a$$$b");
        assert_eq!(kube_expansion_safe("$$("), "$$$$(");
        assert_eq!(kube_expansion_safe("100%$"), "100%$");
    }

    #[test]
    fn dns_names() {
        assert_eq!(to_dns_label("app-db.env", "env"), "app-db-env");
        assert_eq!(
            to_dns_label("/var/lib/Kopia_config", ""),
            "-var-lib-kopia-config"
        );
        assert_eq!(to_dns_label("...", "env"), "env");
        assert!(is_dns_1035_label("web"));
        assert!(!is_dns_1035_label("1web"));
        assert!(!is_dns_1035_label("home_assistant"));
        assert!(is_dns_subdomain("pg.data"));
        assert!(!is_dns_subdomain("pg..data"));
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment_line("a\nb"), "# a\\nb");
        assert_eq!(comment_line(""), "#");
    }
}
