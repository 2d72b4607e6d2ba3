//! `[pods.NAME]` → `NAME.pod`, and a member's `Pod=NAME.pod`.
//!
//! quadlet makes `NAME-pod.service` from it (`podman pod create … --name NAME`, infra container
//! `NAME-infra`), which `Wants=` and is `Before=` every member, and each member `BindsTo=` and is
//! `After=` the pod: starting the pod starts its members, and stopping or restarting it stops
//! or restarts them too. A member restarts alone.

use super::container::volume_line;
use super::{Unit, UnitBuilder, UnitKind, starts_at_boot};
use crate::compile::model::{NetworkRef, Pod, network_service};
use crate::compile::model::{RESTART_SEC, Word};
use crate::compile::version::PodmanVersion;
use crate::unit::Section::{Install, Pod as P, Service, Unit as U};

/// The first Podman whose `.pod` has `ExitPolicy=`; before it, `--exit-policy` goes through
/// `PodmanArgs=` (after quadlet's own `--exit-policy=stop`, so it wins).
const EXIT_POLICY_KEY: PodmanVersion = PodmanVersion::new(5, 6);

/// Lowers a pod: `[Unit]` (mounts it needs), `[Pod]` (what `podman pod create` gets),
/// `[Service]` (restart), `[Install]`, then the raw keys.
pub fn lower(p: &Pod, target: PodmanVersion) -> Unit {
    let mut b = UnitBuilder::default();
    let mut uses = Vec::new();
    b.push(U, "Description", p.description.written.clone());
    for path in p.host_paths() {
        b.push(U, "RequiresMountsFor", path.written.clone());
    }
    b.push(P, "PodName", p.name.to_string());
    attachments(&mut b, p, &mut uses);
    if let Some(hostname) = &p.hostname {
        b.push(P, "HostName", hostname.written.clone());
    }
    for label in &p.labels {
        b.push(P, "Label", label.quoted.clone());
    }
    exit_policy(&mut b, target);
    for arg in &p.podman_args {
        b.push(P, "PodmanArgs", arg.quoted.clone());
    }
    // The pod restarts if its infra container dies; its members then restart with it.
    b.push(Service, "Restart", "on-failure");
    b.push(Service, "RestartSec", RESTART_SEC.written());
    if p.auto_start {
        b.push(Install, "WantedBy", "multi-user.target");
    }
    b.raw(&p.raw);
    uses.sort();
    uses.dedup();
    Unit {
        kind: UnitKind::Pod,
        name: p.name.clone(),
        sections: b.build(),
        uses,
        auto_start: starts_at_boot(p.auto_start, &p.raw),
    }
}

/// Networks, published ports and volumes: what the pod's members share.
fn attachments(b: &mut UnitBuilder, p: &Pod, uses: &mut Vec<String>) {
    for net in &p.networks {
        match net {
            NetworkRef::Inventory(n) => {
                uses.push(network_service(n));
                b.push(P, "Network", format!("{n}.network"));
            }
            NetworkRef::Host => b.push(P, "Network", "host"),
            NetworkRef::None => b.push(P, "Network", "none"),
            // A pod's networks are inventory networks, `host` or `none` (validate::pod).
            NetworkRef::Container(owner) => b.push(P, "Network", format!("{owner}.container")),
        }
    }
    for port in &p.ports {
        b.push(P, "PublishPort", port.clone());
    }
    for mount in &p.mounts {
        b.push(P, "Volume", volume_line(mount, uses));
    }
}

/// `continue`: the pod stays up while a member restarts. quadlet's default, `stop`, stops the
/// pod when its last running member exits, and with it (`BindsTo=`) the member systemd was
/// about to restart: a one-member pod would stay down after one crash.
fn exit_policy(b: &mut UnitBuilder, target: PodmanVersion) {
    if target >= EXIT_POLICY_KEY {
        b.push(P, "ExitPolicy", "continue");
    } else {
        let arg = Word::parse("--exit-policy=continue").map(|w| w.quoted);
        b.push(P, "PodmanArgs", arg.unwrap_or_default());
    }
}
