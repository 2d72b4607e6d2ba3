//! A container on another's network namespace (`network_mode = "container:OWNER"`) → a second
//! container in OWNER's Deployment. The containers of a Kubernetes pod share one network
//! namespace, which is what `network_mode` means under podman: a VPN sidecar's client keeps
//! sending its traffic through the tunnel, instead of getting a network of its own.

use std::collections::BTreeSet;

use super::*;

/// Adds `sidecars` (each sharing the network namespace of the Deployment's container) to
/// `deployment`'s pod template, with their volumes, and their notes to `notes`.
pub(super) fn add(
    model: &Model,
    deployment: &mut Deployment,
    sidecars: &[&model::Container],
    secrets: &[SecretSource],
    notes: &mut Vec<Note>,
) {
    let owner = deployment.metadata.name.clone();
    let spec = &mut deployment.spec.template.spec;
    let mut names: BTreeSet<String> = spec.volumes.iter().map(|v| v.name.clone()).collect();
    let mut persistent = false;
    for c in sidecars {
        notes.extend(sidecar_notes(model, c, &owner));
        let subject = Subject::Container(c.name.to_string());
        let (mut own, mut mounts, writes) = volumes_of(&c.mounts, subject, &mut names, notes);
        let (more, more_mounts) = own_volumes(c, secrets, &mounts, &mut names, notes);
        own.extend(more);
        mounts.extend(more_mounts);
        pod::share_volumes(&mut spec.volumes, own, &mut mounts);
        persistent |= writes;
        spec.containers.push(container(c, secrets, mounts, notes));
        spec.termination_grace_period_seconds = spec
            .termination_grace_period_seconds
            .max(c.stop_timeout.whole_secs_rounded_up());
    }
    if persistent {
        deployment.spec.strategy = Some(Strategy { kind: "Recreate" });
    }
}

/// A sidecar's notes: where it went, and those of any container except its network's (it has
/// its owner's) and its labels (the pod template has its owner's).
fn sidecar_notes(model: &Model, c: &model::Container, owner: &str) -> Vec<Note> {
    let mut texts = vec![format!(
        "shares `{owner}`'s network namespace (`network_mode`): written as a second container of `{owner}`'s pod, which shares it the same way; the two are scheduled, started and stopped together"
    )];
    unreachable_texts(model, c, &mut texts);
    start_order_texts(c, &mut texts);
    runtime_texts(c, &mut texts);
    carried_elsewhere_texts(c, &mut texts);
    pod_options::member_texts(c, &mut texts);
    labels_of_another_texts(c, &format!("`{owner}`'s"), &mut texts);
    notes_about(c, texts)
}
