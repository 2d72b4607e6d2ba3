//! How a container is networked: `networks` (inventory networks by name, or tables with a static
//! address, aliases and a MAC on that network) or `network_mode` (`host`, `none`, or
//! `container:NAME` to share another container's network namespace), and `ports` with them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use toml::Spanned;

use super::network::RESERVED_NETWORKS;
use super::{Checker, Names, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::{self, NetworkJoin, OrTable, Str};
use crate::compile::model::{Container, Name, NetworkRef, NetworkSettings, Subnet};

/// The network modes `network_mode` takes, besides `container:NAME`.
const MODES: [&str; 2] = ["host", "none"];

impl Checker {
    /// The networks a container joins, and its settings on each.
    pub(super) fn container_networking(
        &mut self,
        name: &Str,
        c: &inventory::Container,
        names: &Names<'_>,
    ) -> (Vec<NetworkRef>, Vec<NetworkSettings>) {
        let mut refs = Vec::new();
        let mut settings = Vec::new();
        for entry in c.networks.iter().flat_map(|l| l.get_ref()) {
            if let Some((r, s)) = self.network_entry(entry, names) {
                refs.push(r);
                settings.extend(s);
            }
        }
        if refs.len() > 1 && refs.iter().any(|n| !matches!(n, NetworkRef::Inventory(_))) {
            self.err(
                c.networks.as_ref().and_then(span),
                "`host` and `none` cannot be combined with other networks",
            );
        }
        if let Some(m) = &c.network_mode {
            let mode = self.network_mode(name, m, names);
            if let Some(list) = &c.networks {
                self.err_help(
                    span(list),
                    "`networks` and `network_mode` cannot both be set",
                    mode_owner_help(mode.as_ref(), "remove `networks`", |o| {
                        format!("the container uses `{o}`'s network: set `networks` on `[containers.{o}]`")
                    }),
                );
            }
            refs = mode.into_iter().collect();
            settings.clear();
        }
        self.check_ports_with_mode(c, &refs);
        (refs, settings)
    }

    /// `network_mode`: `host`, `none` or `container:NAME` (a container of this inventory).
    fn network_mode(&mut self, own: &Str, m: &Str, names: &Names<'_>) -> Option<NetworkRef> {
        let value = m.get_ref().as_str();
        match value {
            "host" => return Some(NetworkRef::Host),
            "none" => return Some(NetworkRef::None),
            _ => {}
        }
        let Some(owner) = value.strip_prefix("container:") else {
            let mut d = Diagnostic::error(
                span(m),
                format!("`{}` is not a network mode quadgen supports", value.escape_debug()),
            )
            .with_help("use `host`, `none` or `container:NAME` (another container of this inventory); to join networks of the inventory, list them in `networks`");
            let suggestion = match value.strip_prefix("service:") {
                Some(service) => Some(format!("container:{service}")),
                None => did_you_mean(value, MODES).map(str::to_owned),
            };
            if let Some(s) = suggestion {
                d = d.with_label(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
            return None;
        };
        if owner == own.get_ref() {
            self.err_help(
                span(m),
                "a container cannot share its own network namespace",
                "name another container of the inventory, or remove `network_mode`",
            );
            return None;
        }
        self.reference_str(owner, span(m), &names.containers, "container")
            .map(NetworkRef::Container)
    }

    /// `ports` are published by whoever owns the network namespace.
    fn check_ports_with_mode(&mut self, c: &inventory::Container, refs: &[NetworkRef]) {
        let Some(ports) = c.ports.as_ref().filter(|p| !p.get_ref().is_empty()) else {
            return;
        };
        match refs {
            [NetworkRef::Container(owner)] => self.err_help(
                span(ports),
                format!(
                    "this container shares `{owner}`'s network, so `{owner}` publishes its ports"
                ),
                format!("move these `ports` to `[containers.{owner}]`"),
            ),
            [mode @ (NetworkRef::Host | NetworkRef::None)] => {
                let why = match mode {
                    NetworkRef::Host => {
                        "with the host's network, the container's ports are already the host's"
                    }
                    _ => "a container without a network has nothing to publish them on",
                };
                self.diags.push(
                    Diagnostic::warning(span(ports), format!("podman ignores `ports` here: {why}"))
                        .with_help("remove `ports`"),
                );
            }
            _ => {}
        }
    }

    /// One `networks` entry: a name, or a table with settings on that network.
    fn network_entry(
        &mut self,
        entry: &Spanned<OrTable<NetworkJoin>>,
        names: &Names<'_>,
    ) -> Option<(NetworkRef, Option<NetworkSettings>)> {
        match entry.get_ref() {
            OrTable::Text(text) => {
                let value = Spanned::new(entry.span(), text.clone());
                self.network_name(&value, names).map(|r| (r, None))
            }
            OrTable::Table(t) => {
                let network = match self.network_name(&t.name, names)? {
                    NetworkRef::Inventory(n) => n,
                    _ => {
                        self.err(
                            span(&t.name),
                            "addresses, aliases and a MAC apply to networks of the inventory only",
                        );
                        return None;
                    }
                };
                let settings = self.network_settings(network.clone(), t, names)?;
                Some((NetworkRef::Inventory(network), Some(settings)))
            }
        }
    }

    /// A network by name: `host`, `none` or one of the inventory's.
    fn network_name(&mut self, value: &Str, names: &Names<'_>) -> Option<NetworkRef> {
        let v = value.get_ref().as_str();
        match v {
            "host" => return Some(NetworkRef::Host),
            "none" => return Some(NetworkRef::None),
            _ => {}
        }
        if RESERVED_NETWORKS.contains(&v) || v.starts_with("ns:") {
            self.err_help(
                span(value),
                format!("`{}` is a podman network mode, not a network of the inventory", v.escape_debug()),
                "list networks of the inventory here; `network_mode` takes `host`, `none` or `container:NAME`",
            );
            return None;
        }
        if v.starts_with("container:") || v.starts_with("service:") {
            let owner = v.split_once(':').map_or("", |(_, o)| o);
            self.err_help(
                span(value),
                format!("`{}` is a network mode, not a network", v.escape_debug()),
                format!(
                    "write `network_mode = \"container:{}\"` instead of listing it in `networks`",
                    owner.escape_debug()
                ),
            );
            return None;
        }
        self.reference(value, &names.networks, "network")
            .map(NetworkRef::Inventory)
    }

    /// `ip`, `ip6`, `aliases` and `mac` on one network, each checked.
    fn network_settings(
        &mut self,
        network: Name,
        t: &NetworkJoin,
        names: &Names<'_>,
    ) -> Option<NetworkSettings> {
        let subnets = names.subnets.get(network.as_str()).copied().unwrap_or(&[]);
        let ip =
            t.ip.as_ref()
                .and_then(|ip| match self.static_ip(ip, &network, subnets, true)? {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                });
        let ip6 =
            t.ip6
                .as_ref()
                .and_then(|ip| match self.static_ip(ip, &network, subnets, false)? {
                    IpAddr::V6(v6) => Some(v6),
                    IpAddr::V4(_) => None,
                });
        let aliases = self.each(t.aliases.as_ref(), |this, a| this.alias(a));
        let mac = t.mac.as_ref().and_then(|m| self.mac(m));
        let ok = t.ip.is_some() == ip.is_some()
            && t.ip6.is_some() == ip6.is_some()
            && t.mac.is_some() == mac.is_some()
            && t.aliases.as_ref().map_or(0, |a| a.get_ref().len()) == aliases.len();
        ok.then_some(NetworkSettings {
            network,
            ip,
            ip6,
            aliases,
            mac,
        })
    }

    /// A static address: of the right family, in one of the network's subnets, not its gateway.
    fn static_ip(
        &mut self,
        value: &Str,
        network: &Name,
        subnets: &[Subnet],
        v4: bool,
    ) -> Option<IpAddr> {
        let (key, family, other_key) = if v4 {
            ("ip", "IPv4", "ip6")
        } else {
            ("ip6", "IPv6", "ip")
        };
        let ip = self.ip(value, key)?;
        if ip.is_ipv4() != v4 {
            self.err_help(
                span(value),
                format!("`{ip}` is not an {family} address"),
                format!("put it in `{other_key}`"),
            );
            return None;
        }
        let family_subnets: Vec<&Subnet> =
            subnets.iter().filter(|s| s.cidr.is_ipv4() == v4).collect();
        if family_subnets.is_empty() {
            let why = if subnets.is_empty() {
                format!(
                    "network `{network}` sets no subnet, so podman picks one when it creates the network and `{ip}` may not be in it"
                )
            } else {
                format!("network `{network}` has no {family} subnet for `{ip}`")
            };
            self.err_help(
                span(value),
                why,
                format!("give `[networks.{network}]` an {family} subnet (`subnet` or `subnets`)"),
            );
            return None;
        }
        let Some(subnet) = family_subnets.iter().find(|s| s.cidr.contains(ip)) else {
            let listed: Vec<String> = family_subnets
                .iter()
                .map(|s| format!("`{}`", s.cidr))
                .collect();
            self.err_help(
                span(value),
                format!(
                    "`{ip}` is not in the subnet {} of network `{network}`",
                    listed.join(", ")
                ),
                "choose an address inside it",
            );
            return None;
        };
        let gateway = subnet.gateway.unwrap_or_else(|| subnet.cidr.first_host());
        if ip == gateway || ip == subnet.cidr.address() {
            let what = if ip == gateway {
                "the gateway"
            } else {
                "the network address"
            };
            self.err_help(
                span(value),
                format!("`{ip}` is {what} of network `{network}`"),
                "choose another address of the subnet",
            );
            return None;
        }
        Some(ip)
    }

    /// A network alias: a DNS name (letters, digits, `-`, `_`, `.`), so it can sit in podman's
    /// comma-separated network options.
    fn alias(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let ok = !v.is_empty()
            && v.len() <= 253
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            self.err_help(span(value), format!("`{}` is not a network alias", v.escape_debug()), "use a DNS name: letters, digits, `-`, `_` and `.`, starting with a letter or digit");
        }
        ok.then(|| v.clone())
    }

    /// A MAC address: six pairs of hex digits separated by `:`.
    fn mac(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let parts: Vec<&str> = v.split(':').collect();
        let ok = parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            self.err_help(
                span(value),
                format!("`{}` is not a MAC address", v.escape_debug()),
                "write six pairs of hex digits separated by `:`, like `92:d0:c6:0a:29:33`",
            );
        }
        ok.then(|| v.to_ascii_lowercase())
    }
}

/// The help for a networking field set together with `network_mode`: point to the owner of the
/// namespace when there is one.
fn mode_owner_help(
    mode: Option<&NetworkRef>,
    otherwise: &str,
    owner: impl Fn(&Name) -> String,
) -> String {
    match mode {
        Some(NetworkRef::Container(o)) => owner(o),
        _ => otherwise.to_string(),
    }
}

impl Checker {
    /// Two containers must not claim one static address on one network: podman would refuse to
    /// start the second ("already allocated").
    pub(super) fn check_static_addresses(&mut self, keys: &[Str], containers: &[Container]) {
        let mut claimed: BTreeMap<(&str, IpAddr), &str> = BTreeMap::new();
        for c in containers {
            for s in &c.network_settings {
                let ips =
                    s.ip.map(IpAddr::V4)
                        .into_iter()
                        .chain(s.ip6.map(IpAddr::V6));
                for ip in ips {
                    let Some(other) = claimed.insert((s.network.as_str(), ip), c.name.as_str())
                    else {
                        continue;
                    };
                    let at = keys.iter().find(|k| k.get_ref() == c.name.as_str());
                    self.err_help(
                        at.and_then(span),
                        format!(
                            "containers `{other}` and `{}` both take `{ip}` on network `{}`",
                            c.name, s.network
                        ),
                        "give each container its own address",
                    );
                }
            }
        }
    }
}
