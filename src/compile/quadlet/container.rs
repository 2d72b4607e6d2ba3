//! `[containers.NAME]` → `NAME.container`.

use super::{Unit, UnitBuilder, UnitKind, options, starts_at_boot};
use crate::compile::model::{
    AutoUpdate, Container, HealthOnFailure, Mount, Name, pod_service, volume_service,
};
use crate::compile::model::{RESTART_SEC, STOP_HEADROOM};
use crate::compile::version::PodmanVersion;
use crate::unit::Section::{Container as C, Install, Service, Unit as U};

/// Lowers a container: `[Unit]` (dependencies, mounts it needs), `[Container]` (what podman
/// runs), `[Service]` (restart and timeouts), `[Install]`, then the raw keys. `target` decides
/// whether an option has a Quadlet key or goes to `PodmanArgs=`.
pub fn lower(c: &Container, target: PodmanVersion) -> Unit {
    let mut b = UnitBuilder::default();
    let mut uses = Vec::new();
    unit_section(&mut b, c, &mut uses);
    b.push(C, "Image", c.image_written.written.clone());
    b.push(C, "ContainerName", c.name.as_str());
    if c.auto_update != AutoUpdate::None {
        b.push(C, "AutoUpdate", c.auto_update.as_str());
    }
    b.push(C, "Pull", c.pull.as_str());
    attachments(&mut b, c, &mut uses);
    process(&mut b, c);
    options::security(&mut b, &c.security);
    options::resources(&mut b, &c.resources, target);
    options::runtime(&mut b, &c.runtime);
    health_check(&mut b, c);
    b.push(
        C,
        "StopTimeout",
        c.stop_timeout.whole_secs_rounded_up().to_string(),
    );
    for secret in &c.secrets {
        b.push(C, "Secret", secret.written());
    }
    for arg in &c.podman_args {
        b.push(C, "PodmanArgs", arg.quoted.clone());
    }

    b.push(Service, "Restart", c.restart.as_str());
    b.push(Service, "RestartSec", RESTART_SEC.written());
    b.push(Service, "TimeoutStartSec", c.start_timeout.written());
    b.push(
        Service,
        "TimeoutStopSec",
        c.stop_timeout.plus(STOP_HEADROOM).written(),
    );
    if c.auto_start {
        b.push(Install, "WantedBy", "multi-user.target");
    }
    b.raw(&c.raw);

    uses.sort();
    uses.dedup();
    Unit {
        kind: UnitKind::Container,
        name: c.name.clone(),
        sections: b.build(),
        uses,
        auto_start: starts_at_boot(c.auto_start, &c.raw),
    }
}

/// `[Unit]`: description, dependencies (`depends_on` becomes `Requires=` + `After=`), and
/// `RequiresMountsFor=` for every host path.
fn unit_section(b: &mut UnitBuilder, c: &Container, uses: &mut Vec<String>) {
    b.push(U, "Description", c.description.written.clone());
    for dep in &c.depends_on {
        let service = crate::compile::model::container_service(dep);
        uses.push(service.clone());
        b.push(U, "Requires", service.clone());
        b.push(U, "After", service);
    }
    for unit in &c.requires {
        b.push(U, "Requires", unit.clone());
    }
    for unit in &c.wants {
        b.push(U, "Wants", unit.clone());
    }
    for unit in &c.after {
        b.push(U, "After", unit.clone());
    }
    for path in c.host_paths() {
        b.push(U, "RequiresMountsFor", path.written.clone());
    }
}

/// Networks and volumes: what the container is attached to (and the services it then uses).
fn attachments(b: &mut UnitBuilder, c: &Container, uses: &mut Vec<String>) {
    if let Some(pod) = &c.pod {
        join_pod(b, pod, uses);
    }
    super::container_network::networks(b, c, uses);
    for port in &c.ports {
        b.push(C, "PublishPort", port.clone());
    }
    for mount in &c.mounts {
        b.push(C, "Volume", volume_line(mount, uses));
    }
}

/// A mount as `Volume=` writes it (a named volume's service is then used). Pods write theirs
/// the same way.
pub(super) fn volume_line(mount: &Mount, uses: &mut Vec<String>) -> String {
    match mount {
        Mount::Bind {
            source,
            target,
            options,
        } => with_options(&[source.written.as_str(), ":", target], options),
        Mount::Named {
            volume,
            target,
            options,
        } => {
            uses.push(volume_service(volume));
            with_options(&[volume.as_str(), ".volume:", target], options)
        }
        Mount::Anonymous { target } => target.clone(),
    }
}

/// Devices, environment, labels, user, entrypoint and command.
fn process(b: &mut UnitBuilder, c: &Container) {
    for device in &c.devices {
        b.push(C, "AddDevice", device.written.clone());
    }
    for file in &c.environment_files {
        b.push(C, "EnvironmentFile", file.written.clone());
    }
    for env in &c.environment {
        b.push(C, "Environment", env.quoted.clone());
    }
    for label in &c.labels {
        b.push(C, "Label", label.quoted.clone());
    }
    if let Some(user) = &c.user {
        b.push(C, "User", user.written.clone());
    }
    if let Some(group) = &c.group {
        b.push(C, "Group", group.written.clone());
    }
    if let Some(entrypoint) = &c.entrypoint {
        b.push(C, "Entrypoint", entrypoint.written.clone());
    }
    if !c.cmd.is_empty() {
        let words: Vec<&str> = c.cmd.iter().map(|w| w.quoted.as_str()).collect();
        b.push(C, "Exec", words.join(" "));
    }
}

/// The health check, and `Notify=healthy` so a start waits for it. With `health = "image"`,
/// podman runs the image's own HEALTHCHECK (docker-format images only: an OCI image has none,
/// and podman then refuses the start), and `HealthOnFailure=kill` makes an unhealthy start fail.
fn health_check(b: &mut UnitBuilder, c: &Container) {
    if c.image_health {
        b.push(C, "HealthOnFailure", HealthOnFailure::Kill.as_str());
        b.push(C, "Notify", "healthy");
    }
    if let Some(h) = &c.health {
        b.push(C, "HealthCmd", h.cmd.written.clone());
        b.push(C, "HealthInterval", h.interval.written());
        b.push(C, "HealthTimeout", h.timeout.written());
        b.push(C, "HealthRetries", h.retries.to_string());
        b.push(C, "HealthStartPeriod", h.start_period.written());
        b.push(C, "HealthOnFailure", h.on_failure.as_str());
        b.push(C, "Notify", "healthy");
    }
}

/// `spec` (its pieces joined), then `:` and the options, comma-separated, when there are any.
fn with_options(spec: &[&str], options: &[String]) -> String {
    let mut line = spec.concat();
    for (i, option) in options.iter().enumerate() {
        line.push_str(if i == 0 { ":" } else { "," });
        line.push_str(option);
    }
    line
}

/// A member: `Pod=NAME.pod`, so quadlet runs it with `--pod` and binds its service to the pod's.
fn join_pod(b: &mut UnitBuilder, pod: &Name, uses: &mut Vec<String>) {
    uses.push(pod_service(pod));
    b.push(C, "Pod", [pod.as_str(), ".pod"].concat());
}
