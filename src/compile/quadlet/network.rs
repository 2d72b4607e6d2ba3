//! `[networks.NAME]` → `NAME.network`.

use super::{Unit, UnitBuilder, UnitKind, starts_at_boot};
use crate::compile::model::{Network, NetworkDriver};
use crate::compile::version::PodmanVersion;
use crate::unit::Section::{Network as N, Unit as U};

/// The first Podman whose quadlet has `InterfaceName=`; before it, `--interface-name` goes
/// through `PodmanArgs=`.
const INTERFACE_NAME_KEY: PodmanVersion = PodmanVersion::new(5, 6);

pub fn lower(n: &Network, target: PodmanVersion) -> Unit {
    let mut b = UnitBuilder::default();
    b.push(U, "Description", format!("quadgen network {}", n.name));
    b.push(N, "NetworkName", n.name.to_string());
    if n.driver != NetworkDriver::Bridge {
        b.push(N, "Driver", n.driver.as_str());
    }
    if let Some(subnet) = &n.subnet {
        b.push(N, "Subnet", subnet.clone());
    }
    if let Some(gateway) = &n.gateway {
        b.push(N, "Gateway", gateway.clone());
    }
    if n.internal {
        b.push(N, "Internal", "true");
    }
    if n.ipv6 {
        b.push(N, "IPv6", "true");
    }
    for dns in &n.dns {
        b.push(N, "DNS", dns.clone());
    }
    for option in &n.options {
        b.push(N, "Options", option.quoted.clone());
    }
    for label in &n.labels {
        b.push(N, "Label", label.quoted.clone());
    }
    if let Some(interface) = &n.interface_name {
        if target >= INTERFACE_NAME_KEY {
            b.push(N, "InterfaceName", interface.clone());
        } else {
            b.push(N, "PodmanArgs", format!("--interface-name={interface}"));
        }
    }
    b.raw(&n.raw);
    Unit {
        kind: UnitKind::Network,
        name: n.name.clone(),
        sections: b.build(),
        uses: Vec::new(),
        auto_start: starts_at_boot(false, &n.raw),
    }
}
