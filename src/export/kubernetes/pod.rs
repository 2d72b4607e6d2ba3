//! A pod → one Deployment whose pod template has a container per member (they share localhost
//! there too), and a Service for the pod's ports, both named after the pod.

use std::collections::BTreeSet;

use super::*;

/// The Service (if the pod publishes ports) and the Deployment of pod `p`.
pub(super) fn documents(
    model: &Model,
    p: &model::Pod,
    namespace: &Option<String>,
    secrets: &[SecretSource],
) -> Vec<Document> {
    let mut documents = Vec::new();
    let name = p.name.as_str();
    if let Some(service) = service_of(name, published_ports(&p.ports), namespace) {
        documents.push(Document {
            notes: Vec::new(),
            object: Object::Service(service),
        });
    }
    let mut notes = pod_notes(p);
    let deployment = deployment(model, p, namespace, secrets, &mut notes);
    notes.sort();
    notes.dedup();
    documents.push(Document {
        notes,
        object: Object::Deployment(Box::new(deployment)),
    });
    documents
}

/// The members of `p`, in inventory order.
fn members<'m>(model: &'m Model, p: &model::Pod) -> Vec<&'m model::Container> {
    model
        .containers
        .iter()
        .filter(|c| c.pod.as_ref() == Some(&p.name))
        .collect()
}

fn deployment(
    model: &Model,
    p: &model::Pod,
    namespace: &Option<String>,
    secrets: &[SecretSource],
    notes: &mut Vec<Note>,
) -> Deployment {
    let name = p.name.as_str();
    let mut names = BTreeSet::new();
    let (mut volumes, shared_mounts, mut persistent) =
        volumes_of(&p.mounts, Subject::Pod(name.into()), &mut names, notes);
    let mut containers = Vec::new();
    let mut grace = 0;
    for c in members(model, p) {
        notes.extend(member_notes(model, c));
        let subject = Subject::Container(c.name.to_string());
        let (mut own, mut mounts, writes) = volumes_of(&c.mounts, subject, &mut names, notes);
        let taken: Vec<VolumeMount> = shared_mounts.iter().chain(&mounts).cloned().collect();
        let (more, more_mounts) = own_volumes(c, secrets, &taken, &mut names, notes);
        own.extend(more);
        mounts.extend(more_mounts);
        share_volumes(&mut volumes, own, &mut mounts);
        persistent |= writes;
        mounts.splice(0..0, shared_mounts.iter().cloned());
        let mut container = container(c, secrets, mounts, notes);
        // The pod's Service reaches the members by port number; no member declares them.
        container.ports.clear();
        containers.push(container);
        grace = grace.max(c.stop_timeout.whole_secs_rounded_up());
    }
    let host_network = p.networks.contains(&NetworkRef::Host);
    let (options, texts) = pod_options::pod_pod_options(p, host_network);
    notes.extend(texts.into_iter().map(|text| Note {
        subject: Subject::Pod(name.into()),
        text,
    }));
    let spec = pod_spec(options, host_network, grace, containers, volumes);
    deployment_of(name, namespace, key_values(&p.labels), persistent, spec)
}

/// Adds a member's own volumes to the pod's, except one with the same source (a claim or a host
/// path another member mounts too), whose mounts then name the volume already there.
pub(super) fn share_volumes(
    volumes: &mut Vec<Volume>,
    own: Vec<Volume>,
    mounts: &mut [VolumeMount],
) {
    let source = |v: &Volume| Volume {
        name: String::new(),
        ..v.clone()
    };
    for volume in own {
        let same = volumes
            .iter()
            .find(|v| v.empty_dir.is_none() && source(v) == source(&volume));
        match same {
            Some(existing) => {
                for m in mounts.iter_mut().filter(|m| m.name == volume.name) {
                    m.name = existing.name.clone();
                }
            }
            None => volumes.push(volume),
        }
    }
}

/// A member's notes: those of any container but the ones about its own ports and networks,
/// which are the pod's (it has none), and its labels, which a pod template has once.
fn member_notes(model: &Model, c: &model::Container) -> Vec<Note> {
    let mut texts = Vec::new();
    start_order_texts(c, &mut texts);
    runtime_texts(c, &mut texts);
    carried_elsewhere_texts(c, &mut texts);
    pod_options::member_texts(c, &mut texts);
    labels_of_another_texts(c, "the pod's", &mut texts);
    let reached_by: Vec<&str> = model
        .containers
        .iter()
        .filter(|o| o.pod != c.pod && o.depends_on.contains(&c.name))
        .map(|o| o.name.as_str())
        .collect();
    if !reached_by.is_empty() {
        texts.push(format!(
            "{} reach it through its pod's Service (by the pod's name) in Kubernetes",
            list(&reached_by)
        ));
    }
    notes_about(c, texts)
}

/// What the pod itself has that Kubernetes does not mean the same way.
fn pod_notes(p: &model::Pod) -> Vec<Note> {
    let mut texts = Vec::new();
    networks_texts(&p.networks, &mut texts);
    ports_texts(p.name.as_str(), &p.ports, &mut texts);
    podman_args_texts(&p.podman_args, &mut texts);
    notes_of(Subject::Pod(p.name.to_string()), texts, &p.raw)
}
