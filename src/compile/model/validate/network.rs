//! `[networks.NAME]`: subnet, gateway, DNS, driver and the bridge interface name.

use std::net::IpAddr;

use toml::Spanned;

use super::{Checker, span};
use crate::compile::inventory::{self, Str};
use crate::compile::model::{Name, Network, NetworkDriver};
use crate::unit::Section;

impl Checker {
    fn ip(&mut self, value: &Str, what: &str) -> Option<IpAddr> {
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
        let (subnet, gateway) = self.subnet_and_gateway(n);
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
            usize::from(subnet.is_some()),
            usize::from(gateway.is_some()),
            &raw,
        );
        let name = name_checked?;
        let interface_name = self.interface_name(n, driver, &name);
        Some(Network {
            name,
            subnet,
            gateway,
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

    /// `subnet` (CIDR) and `gateway` (an address in the subnet; quadlet needs a subnet for it).
    fn subnet_and_gateway(&mut self, n: &inventory::Network) -> (Option<String>, Option<String>) {
        let parsed_subnet = n
            .subnet
            .as_ref()
            .and_then(|s| match parse_cidr(s.get_ref()) {
                Some(cidr) => Some(cidr),
                None => {
                    self.err_help(
                        span(s),
                        format!("`{}` is not a subnet", s.get_ref()),
                        "write it in CIDR form, like `10.89.7.0/24`",
                    );
                    None
                }
            });
        let subnet = parsed_subnet
            .and(n.subnet.as_ref())
            .map(|s| s.get_ref().clone());
        let gateway = n.gateway.as_ref().and_then(|g| {
            let ip = self.ip(g, "gateway")?;
            match (&n.subnet, parsed_subnet) {
                (None, _) => {
                    self.err_help(
                        span(g),
                        "a gateway needs a subnet: quadlet refuses the network otherwise",
                        "add `subnet = \"…/24\"` to this network",
                    );
                    None
                }
                (Some(s), Some(cidr)) if !cidr.contains(ip) => {
                    self.err(
                        span(g),
                        format!("gateway `{ip}` is not in the subnet `{}`", s.get_ref()),
                    );
                    None
                }
                _ => Some(ip.to_string()),
            }
        });
        (subnet, gateway)
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
const RESERVED_NETWORKS: &[&str] = &[
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

/// An address range in CIDR form.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    fn contains(self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)) << 96, 32u32),
            IpAddr::V6(v) => (u128::from(v), 128u32),
        };
        let ((net, width), (host, host_width)) = (bits(self.addr), bits(ip));
        if width != host_width {
            return false;
        }
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.len))
            .unwrap_or(0);
        net & mask == host & mask
    }
}

/// `ADDRESS/LENGTH` with digits only in the length.
fn parse_cidr(value: &str) -> Option<Cidr> {
    let (addr, len) = value.split_once('/')?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some(Cidr { addr, len })
}

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
