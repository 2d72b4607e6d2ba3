//! `[networks.NAME]` → `NAME.network`.

use super::{Unit, UnitBuilder, UnitKind, starts_at_boot};
use crate::compile::model::{Network, NetworkDriver, Subnet};
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
    subnets(&mut b, &n.subnets);
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

/// `Subnet=`, `Gateway=` and `IPRange=` lines. Quadlet (like `podman network create`) pairs the
/// n-th gateway and the n-th range with the n-th subnet. So the subnets with a range come first
/// (their order means nothing to podman), and a subnet without a gateway that comes before one
/// with a gateway gets podman's own default written out: the first address of the subnet.
fn subnets(b: &mut UnitBuilder, subnets: &[Subnet]) {
    let mut ordered: Vec<&Subnet> = subnets.iter().collect();
    ordered.sort_by_key(|s| s.range.is_none());
    let gateways = ordered
        .iter()
        .rposition(|s| s.gateway.is_some())
        .map_or(0, |i| i + 1);
    for s in &ordered {
        b.push(N, "Subnet", s.cidr.to_string());
    }
    for s in &ordered[..gateways] {
        let gateway = s.gateway.unwrap_or_else(|| s.cidr.first_host());
        b.push(N, "Gateway", gateway.to_string());
    }
    for range in ordered.iter().filter_map(|s| s.range) {
        b.push(N, "IPRange", range.to_string());
    }
}
