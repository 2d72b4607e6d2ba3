//! `[networks.NAME]`: DNS, driver and the bridge interface name (subnets: `subnet.rs`).

use std::net::IpAddr;

use toml::Spanned;

use super::{Checker, span};
use crate::compile::inventory::{self, Str};
use crate::compile::model::{Name, Network, NetworkDriver};
use crate::unit::Section;

impl Checker {
    pub(super) fn ip(&mut self, value: &Str, what: &str) -> Option<IpAddr> {
        value
            .get_ref()
            .parse::<IpAddr>()
            .map_err(|_| {
                self.err(
                    span(value),
                    format!("{what} `{}` is not an IP address", value.get_ref()),
                )
            })
            .ok()
    }

    pub(super) fn network(
        &mut self,
        name: &Str,
        net: &Spanned<inventory::Network>,
    ) -> Option<Network> {
        let mut name_checked = self.name(name, "network");
        if RESERVED_NETWORKS.contains(&name.get_ref().as_str()) {
            self.err_help(
                span(name),
                format!("`{}` is a network mode of podman's own, so containers could not join a network of that name", name.get_ref()),
                "choose another name",
            );
            name_checked = None;
        }
        let n = net.get_ref();
        let subnets = self.subnets(n);
        let dns = n
            .dns
            .as_ref()
            .map(|d| {
                d.get_ref()
                    .iter()
                    .filter_map(|ip| self.ip(ip, "DNS server"))
                    .map(|ip| ip.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let driver = self.one_of(n.driver.as_ref(), NetworkDriver::Bridge, "network driver");
        let options = self.pairs(n.options.as_ref(), "network option");
        let labels = self.pairs(n.labels.as_ref(), "label");
        let raw = self.raw_keys(n.quadlet.as_ref(), &NETWORK_SECTIONS);
        self.network_ranges(
            span(name).unwrap_or_default(),
            subnets.len(),
            subnets.iter().filter(|s| s.gateway.is_some()).count(),
            &raw,
        );
        let name = name_checked?;
        let interface_name = self.interface_name(n, driver, &name);
        Some(Network {
            name,
            subnets,
            internal: n.internal.as_ref().is_some_and(|b| *b.get_ref()),
            ipv6: n.ipv6.as_ref().is_some_and(|b| *b.get_ref()),
            dns,
            driver,
            options,
            labels,
            interface_name,
            raw,
        })
    }

    /// `interface_name`: the bridge's name, by default `qg-NAME`; bridge driver only.
    fn interface_name(
        &mut self,
        n: &inventory::Network,
        driver: NetworkDriver,
        name: &Name,
    ) -> Option<String> {
        if driver != NetworkDriver::Bridge {
            if let Some(i) = &n.interface_name {
                self.err(
                    span(i),
                    "`interface_name` applies to the bridge driver only",
                );
            }
            None
        } else {
            match &n.interface_name {
                Some(i) => {
                    let v = i.get_ref();
                    if v.is_empty()
                        || v.len() > 15
                        || !v
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                    {
                        self.err(span(i), format!("`{v}` is not a valid interface name: 1 to 15 of letters, digits, `_`, `.`, `-`"));
                    }
                    Some(v.clone())
                }
                None => Some(default_interface_name(name)),
            }
        }
    }
}

/// The sections a network's raw keys may go in.
const NETWORK_SECTIONS: [Section; 4] = [
    Section::Unit,
    Section::Network,
    Section::Service,
    Section::Install,
];

/// Names podman gives a meaning of its own in `--network`.
pub(super) const RESERVED_NETWORKS: &[&str] = &[
    "host",
    "none",
    "bridge",
    "private",
    "pasta",
    "slirp4netns",
    "podman",
    "default",
    "ns",
];

/// The interface name for a bridge network: `qg-NAME`, or `qg-` + 7 characters + `-` + 4 hex
/// digits of its sha256 when that would pass the kernel's 15-character limit.
pub(super) fn default_interface_name(name: &Name) -> String {
    use sha2::{Digest, Sha256};
    let full = format!("qg-{name}");
    if full.len() <= 15 {
        return full;
    }
    let hash = Sha256::digest(name.as_str().as_bytes());
    let prefix: String = name.as_str().chars().take(7).collect();
    format!("qg-{prefix}-{:02x}{:02x}", hash[0], hash[1])
}
