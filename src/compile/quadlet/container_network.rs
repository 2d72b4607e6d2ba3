//! A container's networks → `Network=` lines: `NAME.network` (with per-network options such as
//! `:ip=10.89.8.5,alias=db`, which quadlet 5.4 and later pass on as `--network NAME:…`), `host`,
//! `none`, or `OWNER.container` (quadlet writes `--network container:OWNER` and makes the unit
//! require and start after `OWNER.service`).

use super::UnitBuilder;
use crate::compile::model::{Container, NetworkRef, container_service, network_service};
use crate::unit::Section::Container as C;

/// Writes the `Network=` lines and records the services they make the container use.
pub(super) fn networks(b: &mut UnitBuilder, c: &Container, uses: &mut Vec<String>) {
    for net in &c.networks {
        match net {
            NetworkRef::Inventory(n) => {
                uses.push(network_service(n));
                let options = c
                    .network_settings
                    .iter()
                    .find(|s| &s.network == n)
                    .map(|s| s.options())
                    .unwrap_or_default();
                if options.is_empty() {
                    b.push(C, "Network", [n.as_str(), ".network"].concat());
                } else {
                    b.push(
                        C,
                        "Network",
                        [n.as_str(), ".network:", &options.join(",")].concat(),
                    );
                }
            }
            NetworkRef::Host => b.push(C, "Network", "host"),
            NetworkRef::None => b.push(C, "Network", "none"),
            NetworkRef::Container(owner) => {
                uses.push(container_service(owner));
                b.push(C, "Network", [owner.as_str(), ".container"].concat());
            }
        }
    }
}
