//! A container's security, resource and runtime options (`[containers.NAME]` fields of
//! [`model::Security`], [`model::Resources`], [`model::Runtime`]) as what Kubernetes sets per
//! container: `securityContext`, `resources.limits`, `workingDir`, memory-backed `emptyDir`s
//! for `tmpfs`, `shm_size` and a read-only root's writable directories, and `TZ`. What it sets
//! per pod is in [`super::pod_options`]; what it cannot set is noted.

use std::collections::BTreeSet;

use super::quantity::{cpu_quantity, cpu_rounded, size_quantity};
use super::*;
use crate::compile::model::Seccomp;

/// Where podman's `read_only_tmpfs` (on by default) mounts a writable tmpfs on a read-only
/// root, besides `/dev` and `/dev/shm`, which are writable in a Kubernetes pod anyway.
const READ_ONLY_TMPFS: [&str; 3] = ["/run", "/tmp", "/var/tmp"];

/// The container's `securityContext`: numeric user and group, capabilities, privileges, the
/// read-only root, seccomp `unconfined` and the SELinux type.
pub(super) fn security_context(
    c: &model::Container,
    notes: &mut Vec<Note>,
) -> Option<SecurityContext> {
    let s = &c.security;
    let mut context = SecurityContext::default();
    user_ids(c, &mut context, notes);
    let names = |caps: &[String]| -> Vec<String> {
        caps.iter()
            .map(|c| c.strip_prefix("CAP_").unwrap_or(c).to_string())
            .collect()
    };
    if !s.cap_add.is_empty() || !s.cap_drop.is_empty() {
        context.capabilities = Some(Capabilities {
            add: names(&s.cap_add),
            drop: names(&s.cap_drop),
        });
    }
    context.privileged = s.privileged.then_some(true);
    context.allow_privilege_escalation = s.no_new_privileges.then_some(false);
    context.read_only_root_filesystem = s.read_only;
    if s.seccomp_profile == Some(Seccomp::Unconfined) {
        context.seccomp_profile = Some(SeccompProfile { kind: "Unconfined" });
    }
    context.se_linux_options = s
        .security_label_type
        .as_ref()
        .map(|t| SeLinuxOptions { kind: t.clone() });
    (context != SecurityContext::default()).then_some(context)
}

/// `runAsUser`/`runAsGroup` from a numeric `user` (and `group`); names are noted.
fn user_ids(c: &model::Container, context: &mut SecurityContext, notes: &mut Vec<Note>) {
    let Some(user) = c.user.as_ref() else {
        return;
    };
    let (uid, gid_from_user) = match user.raw.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user.raw.as_str(), None),
    };
    let gid = c.group.as_ref().map(|g| g.raw.as_str()).or(gid_from_user);
    let mut named = Vec::new();
    match uid.parse::<u32>() {
        Ok(n) => context.run_as_user = Some(n),
        Err(_) => named.push(format!("user `{uid}`")),
    }
    if let Some(gid) = gid {
        match gid.parse::<u32>() {
            Ok(n) => context.run_as_group = Some(n),
            Err(_) => named.push(format!("group `{gid}`")),
        }
    }
    if !named.is_empty() {
        notes.push(Note {
            subject: Subject::Container(c.name.to_string()),
            text: format!(
                "{} {}: Kubernetes' securityContext takes numeric ids only, so {} not carried; write the numeric ids in `user`",
                named.join(" and "),
                if named.len() == 1 { "is a name" } else { "are names" },
                if named.len() == 1 { "it is" } else { "they are" }
            ),
        });
    }
}

/// `resources.limits` from `memory` (podman's binary units, exactly) and `cpus`.
pub(super) fn resources(c: &model::Container) -> Option<ResourceRequirements> {
    let r = &c.resources;
    let mut limits = BTreeMap::new();
    if let Some(memory) = r.memory.as_deref().and_then(size_quantity) {
        limits.insert("memory", memory);
    }
    if let Some(cpus) = &r.cpus {
        limits.insert("cpu", cpu_quantity(cpus));
    }
    (!limits.is_empty()).then_some(ResourceRequirements { limits })
}

/// `TZ` for a named `timezone`, unless `environment` sets it already.
pub(super) fn timezone_env(c: &model::Container) -> Option<EnvVar> {
    let zone = c.runtime.timezone.as_ref().filter(|z| *z != "local")?;
    let set = c.environment.iter().any(|w| w.raw.starts_with("TZ="));
    (!set).then(|| EnvVar {
        name: "TZ".into(),
        value: Some(zone.clone()),
        value_from: None,
    })
}

/// A memory-backed `emptyDir` (a tmpfs) for each `tmpfs` entry, `shm_size` at `/dev/shm`, and
/// podman's writable directories of a read-only root; a path the container already mounts
/// something on keeps that mount.
pub(super) fn memory_volumes(
    c: &model::Container,
    taken: &[VolumeMount],
    names: &mut BTreeSet<String>,
    notes: &mut Vec<Note>,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let r = &c.resources;
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for item in &r.tmpfs {
        let (path, options) = item
            .value
            .raw
            .split_once(':')
            .unwrap_or((item.value.raw.as_str(), ""));
        wanted.push((path.to_string(), tmpfs_size(c, path, options, notes)));
    }
    if let Some(shm) = &r.shm_size {
        wanted.push(("/dev/shm".into(), size_quantity(shm)));
    }
    if c.security.read_only == Some(true) && c.security.read_only_tmpfs != Some(false) {
        for path in READ_ONLY_TMPFS {
            wanted.push((path.to_string(), None));
        }
    }
    let mut mounted: BTreeSet<String> = taken.iter().map(|m| m.mount_path.clone()).collect();
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (path, size_limit) in wanted {
        if !mounted.insert(path.clone()) {
            continue;
        }
        let mut volume = Volume::named(unique_volume_name(
            names,
            format!("tmpfs{}", to_dns_label(&path, "")),
        ));
        volume.empty_dir = Some(EmptyDir {
            medium: Some("Memory"),
            size_limit,
        });
        mounts.push(VolumeMount {
            name: volume.name.clone(),
            mount_path: path,
            read_only: None,
            sub_path: None,
        });
        volumes.push(volume);
    }
    (volumes, mounts)
}

/// The `sizeLimit` of a `tmpfs` entry's `size=`; a percentage and the other options are noted.
fn tmpfs_size(
    c: &model::Container,
    path: &str,
    options: &str,
    notes: &mut Vec<Note>,
) -> Option<String> {
    let mut size = None;
    let mut dropped = Vec::new();
    for option in options.split(',').filter(|o| !o.is_empty()) {
        match option.strip_prefix("size=").map(size_quantity) {
            Some(Some(quantity)) => size = Some(quantity),
            _ => dropped.push(option),
        }
    }
    if !dropped.is_empty() {
        notes.push(Note {
            subject: Subject::Container(c.name.to_string()),
            text: format!(
                "tmpfs `{path}` is a memory-backed emptyDir: its options {} are not carried",
                list(&dropped)
            ),
        });
    }
    size
}

/// What Kubernetes has no per-container place for, among the options: one text each.
pub(super) fn option_texts(c: &model::Container, texts: &mut Vec<String>) {
    security_texts(c, texts);
    let r = &c.resources;
    if !r.ulimits.is_empty() {
        let limits: Vec<&str> = r.ulimits.iter().map(|u| u.value.raw.as_str()).collect();
        texts.push(format!(
            "ulimits {} are not carried: Kubernetes has no per-container ulimits (the node's container runtime sets them)",
            list(&limits)
        ));
    }
    if let Some(n) = r.pids_limit {
        texts.push(format!(
            "`pids_limit = {n}` is not carried: Kubernetes limits processes per pod, on each node (the kubelet's `podPidsLimit`)"
        ));
    }
    if let Some(cpus) = r.cpus.as_ref().filter(|c| cpu_rounded(c)) {
        texts.push(format!(
            "cpus `{cpus}` is rounded up to whole millicores (`{}`)",
            cpu_quantity(cpus)
        ));
    }
    runtime_option_texts(c, texts);
}

fn security_texts(c: &model::Container, texts: &mut Vec<String>) {
    let s = &c.security;
    if s.privileged {
        texts.push("`privileged = true` is written as `privileged: true`: a namespace enforcing the baseline or restricted Pod Security Standard refuses the pod".into());
    }
    if let Some(Seccomp::Profile(path)) = &s.seccomp_profile {
        texts.push(format!(
            "seccomp profile `{}` is a file on this host and is not carried: copy it under the kubelet's seccomp directory on every node and set `seccompProfile: {{type: Localhost, localhostProfile: …}}`",
            path.raw
        ));
    }
    if s.security_label_disable {
        texts.push("`security_label_disable` is not carried: the nearest is `seLinuxOptions: {type: spc_t}`".into());
    }
    if s.read_only == Some(true) && s.read_only_tmpfs != Some(false) {
        texts.push(format!(
            "`read_only`: the writable tmpfs podman mounts on a read-only root are memory-backed emptyDirs at {}",
            list(&READ_ONLY_TMPFS)
        ));
    }
}

fn runtime_option_texts(c: &model::Container, texts: &mut Vec<String>) {
    let rt = &c.runtime;
    if rt.init == Some(true) {
        texts.push("`init = true` is not carried: Kubernetes runs no init process in the container; put one (tini, dumb-init) in the image, or set `shareProcessNamespace: true` so the pod's pause process reaps zombies".into());
    }
    if let Some(signal) = &rt.stop_signal {
        texts.push(format!(
            "stop signal `{signal}` is not carried: Kubernetes {KUBERNETES_VERSION} has `lifecycle.stopSignal` only behind the alpha ContainerStopSignals feature gate; the runtime sends the image's STOPSIGNAL (else SIGTERM), so set it in the image"
        ));
    }
    if let Some(userns) = &rt.userns {
        texts.push(format!(
            "userns `{}` is not carried: Kubernetes' user namespaces are per pod (`hostUsers: false`)",
            userns.raw
        ));
    }
    match rt.timezone.as_deref() {
        Some("local") => texts.push("`timezone = \"local\"` is not carried: the node's zone is not the host's; set a zone name".into()),
        Some(zone) => texts.push(format!(
            "timezone `{zone}` is written as `TZ` (unless `environment` sets it): podman copied the host's zone file to `/etc/localtime`, so the image needs its own tzdata"
        )),
        None => {}
    }
    if rt.log_driver.is_some() || !rt.log_options.is_empty() {
        texts.push("`log_driver` and `log_options` are not carried: the node's container runtime keeps the logs (`kubectl logs`)".into());
    }
}
