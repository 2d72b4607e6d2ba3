//! A network's subnets: `subnet` (+ `gateway`), or `subnets = ["…", { subnet, gateway, range }]`
//! for dual stack. Each gateway and range lies inside its subnet, and no two subnets of the
//! inventory overlap (podman refuses to create a network whose subnet another one uses).

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Checker, span};
use crate::compile::diagnostic::Diagnostic;
use crate::compile::inventory::{self, OrTable, Str};
use crate::compile::model::{Cidr, CidrError, Network, Subnet};

impl Checker {
    /// The subnets of a network, in the order written.
    pub(super) fn subnets(&mut self, n: &inventory::Network) -> Vec<Subnet> {
        let Some(list) = &n.subnets else {
            let gateway = n.gateway.as_ref();
            return match &n.subnet {
                Some(s) => self.subnet(s, gateway, None).into_iter().collect(),
                None => {
                    if let Some(g) = gateway {
                        self.err_help(
                            span(g),
                            "a gateway needs a subnet: quadlet refuses the network otherwise",
                            "add `subnet = \"…/24\"` to this network",
                        );
                    }
                    Vec::new()
                }
            };
        };
        if let Some(s) = &n.subnet {
            self.err_help(
                span(s),
                "`subnet` and `subnets` cannot both be set",
                "move this subnet into the `subnets` list",
            );
        }
        if let Some(g) = &n.gateway {
            self.err_help(
                span(g),
                "with `subnets`, each subnet has its own gateway",
                "write the entry as `{ subnet = \"…\", gateway = \"…\" }`",
            );
        }
        let subnets: Vec<Subnet> = list
            .get_ref()
            .iter()
            .filter_map(|entry| self.subnet_entry(entry))
            .collect();
        self.check_overlaps_within(list, &subnets);
        subnets
    }

    fn subnet_entry(&mut self, entry: &Spanned<OrTable<inventory::Subnet>>) -> Option<Subnet> {
        match entry.get_ref() {
            OrTable::Text(text) => {
                let s = Spanned::new(entry.span(), text.clone());
                self.subnet(&s, None, None)
            }
            OrTable::Table(t) => self.subnet(&t.subnet, t.gateway.as_ref(), t.range.as_ref()),
        }
    }

    /// One subnet with its optional gateway and range, each inside it.
    fn subnet(&mut self, s: &Str, gateway: Option<&Str>, range: Option<&Str>) -> Option<Subnet> {
        let cidr = self.cidr(s, "subnet")?;
        let gateway = gateway.and_then(|g| {
            let ip = self.ip(g, "gateway")?;
            if cidr.contains(ip) {
                Some(ip)
            } else {
                self.err(
                    span(g),
                    format!("gateway `{ip}` is not in the subnet `{cidr}`"),
                );
                None
            }
        });
        let range = range.and_then(|r| {
            let inner = self.cidr(r, "range")?;
            if cidr.contains(inner.address()) && inner.prefix_len() >= cidr.prefix_len() {
                Some(inner)
            } else {
                self.err(
                    span(r),
                    format!("range `{inner}` is not inside the subnet `{cidr}`"),
                );
                None
            }
        });
        Some(Subnet {
            cidr,
            gateway,
            range,
        })
    }

    /// A subnet in CIDR form, with no host bits set.
    fn cidr(&mut self, s: &Str, what: &str) -> Option<Cidr> {
        match Cidr::parse(s.get_ref()) {
            Ok(c) => Some(c),
            Err(CidrError::Syntax) => {
                self.err_help(
                    span(s),
                    format!("`{}` is not a {what}", s.get_ref().escape_debug()),
                    "write it in CIDR form, like `10.89.7.0/24` or `fd00:7::/64`",
                );
                None
            }
            // Podman takes the network address, so this is what it creates; said, not refused.
            Err(CidrError::HostBits(network)) => {
                self.diags.push(
                    Diagnostic::warning(
                        span(s),
                        format!(
                            "`{}` has host bits set: podman uses `{network}`",
                            s.get_ref()
                        ),
                    )
                    .with_help(format!("write the {what} as `{network}`")),
                );
                Some(network)
            }
        }
    }

    /// Two subnets of one network must not overlap.
    fn check_overlaps_within(
        &mut self,
        list: &Spanned<Vec<Spanned<OrTable<inventory::Subnet>>>>,
        subnets: &[Subnet],
    ) {
        for (i, a) in subnets.iter().enumerate() {
            if let Some(b) = subnets[..i].iter().find(|b| b.cidr.overlaps(a.cidr)) {
                self.err(
                    span(list),
                    format!("subnets `{}` and `{}` overlap", b.cidr, a.cidr),
                );
            }
        }
    }

    /// No two networks of the inventory may share addresses: podman refuses to create the second.
    pub(super) fn check_subnet_overlaps<N>(
        &mut self,
        networks: &[Network],
        keys: &BTreeMap<Str, N>,
    ) {
        for (i, n) in networks.iter().enumerate() {
            let clash = networks[..i].iter().find_map(|other| {
                n.subnets.iter().find_map(|s| {
                    other
                        .subnets
                        .iter()
                        .find(|o| o.cidr.overlaps(s.cidr))
                        .map(|o| (other, o, s))
                })
            });
            if let Some((other, theirs, ours)) = clash {
                let at = keys
                    .keys()
                    .find(|k| k.get_ref() == n.name.as_str())
                    .and_then(span);
                self.err_help(
                    at,
                    format!(
                        "network `{}`'s subnet `{}` overlaps network `{}`'s `{}`: podman would refuse to create it",
                        n.name, ours.cidr, other.name, theirs.cidr
                    ),
                    "give each network its own subnet",
                );
            }
        }
    }
}
