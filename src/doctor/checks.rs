//! The checks of [`diagnose`](super::diagnose), one function each: facts in, findings out.

use super::firewall::{self, DnsPacket, Family, IptablesRules, NftRuleset, PacketKind, Verdict};
use super::{Finding, HostFacts, Level, Mount, NetworkFacts, Options, StorageFacts, TimerFacts};
use crate::compile::version::PodmanVersion;

const AUTO_UPDATE_TIMER: &str = "podman-auto-update.timer";

fn finding(id: &'static str, level: Level, what: String, why: &str, fix: String) -> Finding {
    Finding {
        id,
        level,
        what,
        why: why.to_string(),
        fix,
    }
}

fn ok(id: &'static str, what: String) -> Finding {
    finding(id, Level::Ok, what, "", String::new())
}

pub(super) fn check_podman_version(facts: &HostFacts, options: &Options, out: &mut Vec<Finding>) {
    const ID: &str = "podman-version";
    let target = options.target;
    let Some(version) = &facts.podman_version else {
        out.push(finding(
            ID,
            Level::Error,
            "podman is not installed (or not on PATH)".into(),
            "quadlet units need podman and its systemd generator",
            if facts.nixos {
                "virtualisation.podman.enable = true;".into()
            } else {
                "apt install podman   # or your distribution's package".into()
            },
        ));
        return;
    };
    let installed = match version.parse::<PodmanVersion>() {
        Ok(v) => v,
        Err(_) => {
            // Older or newer than quadgen knows: compare numerically anyway.
            let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            PodmanVersion::new(parts.next().unwrap_or(0), parts.next().unwrap_or(0))
        }
    };
    if installed < target {
        out.push(finding(
            ID,
            Level::Error,
            format!("podman {version} is older than the target `--podman {target}`"),
            "units may use keys this podman's quadlet does not know, and quadlet drops a unit \
             with an unknown key: the service never exists",
            format!(
                "quadgen install --podman {installed} INVENTORY   # or upgrade podman to {target}"
            ),
        ));
    } else {
        out.push(ok(
            ID,
            format!("podman {version} runs units built for `--podman {target}`"),
        ));
    }
}

pub(super) fn check_dns(facts: &HostFacts, out: &mut Vec<Finding>) {
    let networks = match &facts.networks {
        Ok(n) => n,
        Err(e) => {
            out.push(finding(
                "dns-default-network",
                Level::Warning,
                format!("cannot list podman networks: {e}"),
                "DNS could not be checked",
                "podman network ls".into(),
            ));
            return;
        }
    };
    for n in networks.iter().filter(|n| n.driver == "bridge") {
        let default = n.name == "podman";
        if !default && !n.ours {
            continue;
        }
        if n.dns_enabled {
            let id = if default {
                "dns-default-network"
            } else {
                "dns-network"
            };
            out.push(ok(id, format!("network `{}` has DNS enabled", n.name)));
        } else if default {
            out.push(finding(
                "dns-default-network",
                Level::Error,
                "the default network `podman` has DNS disabled".into(),
                "containers on it cannot resolve each other by name (podman's default; the \
                 guide's first fix). Containers started before the fix need a restart",
                default_network_fix(facts.nixos, n),
            ));
        } else {
            out.push(finding(
                "dns-network",
                Level::Error,
                format!("quadgen's network `{}` has DNS disabled", n.name),
                "its containers cannot resolve each other by name; quadgen creates networks with \
                 DNS, so a raw `DisableDNS` key or a hand edit turned it off",
                format!(
                    "remove `DisableDNS` from [networks.{}.quadlet.Network] in the inventory, then \
                     `quadgen install INVENTORY` (it recreates the network)",
                    n.name
                ),
            ));
        }
    }
}

/// The default network lives in memory until a file defines it: write one with DNS on.
fn default_network_fix(nixos: bool, n: &NetworkFacts) -> String {
    if nixos {
        return "virtualisation.podman.defaultNetwork.settings.dns_enabled = true;   # in configuration.nix (services.quadgen.enable sets it), then nixos-rebuild switch".into();
    }
    let mut raw = n.raw.clone();
    if let Some(o) = raw.as_object_mut() {
        o.insert("dns_enabled".into(), serde_json::Value::Bool(true));
        // Runtime fields of `inspect`, not part of the stored definition.
        o.remove("containers");
    }
    let json = serde_json::to_string_pretty(&raw).unwrap_or_default();
    format!(
        "mkdir -p /etc/containers/networks && cat > /etc/containers/networks/podman.json <<'EOF'\n{json}\nEOF"
    )
}

pub(super) fn check_firewall(facts: &HostFacts, out: &mut Vec<Finding>) {
    const ID: &str = "firewall-dns";
    let packets = dns_packets(facts);
    let Some(firewall) = read_firewall(facts, out) else {
        return;
    };
    let needed = families(&packets);
    let unread: Vec<&Unread> = firewall
        .unread
        .iter()
        .filter(|u| needed.contains(&u.family))
        .collect();
    if firewall.filtering_chains(&needed).is_empty() {
        if let Some(u) = unread.first() {
            out.push(finding(
                ID,
                Level::Warning,
                u.what.clone(),
                &u.why,
                u.fix.clone(),
            ));
            return;
        }
        let what = if firewall
            .filtering_chains(&[Family::V4, Family::V6])
            .is_empty()
        {
            "no firewall is active (no nftables input chain, no iptables INPUT rule): UDP 53 \
             reaches aardvark-dns"
        } else {
            // Only IPv6 is filtered, and no network here has an IPv6 subnet.
            "nothing filters IPv4 input (the firewall's chains are for IPv6, and no network \
             here has an IPv6 subnet): UDP 53 reaches aardvark-dns"
        };
        out.push(ok(ID, what.into()));
        return;
    }
    let mut verdicts = DnsVerdicts::default();
    for pkt in &packets {
        let unread = unread.iter().find(|u| u.family == pkt.family);
        match (firewall.verdict(pkt), unread) {
            (Verdict::Drop { chain }, _) => verdicts.closed.push(Dropped {
                pkt: pkt.clone(),
                chain,
                every_chain: firewall.drops(pkt),
            }),
            // What was read lets it through, but not everything could be read.
            (_, Some(u)) => verdicts.unknown.push(unreadable(pkt, u)),
            (Verdict::Accept, None) => verdicts.open.push(pkt.clone()),
            (Verdict::Unknown { chain, why }, None) => {
                verdicts.unknown.push(undecided(pkt, &chain, &why))
            }
        }
    }
    report_dns_verdicts(facts, out, &firewall, &verdicts);
}

/// The IP versions of `packets`, IPv4 first.
fn families(packets: &[DnsPacket]) -> Vec<Family> {
    [Family::V4, Family::V6]
        .into_iter()
        .filter(|f| packets.iter().any(|p| p.family == *f))
        .collect()
}

/// One DNS query per bridge (podman's own and quadgen's) and IP version, from a host in its
/// first subnet of that version to the subnet's gateway, in the order of the subnets (which is
/// the order of the name servers containers are given); `podman0` over IPv4 when there is none.
pub(super) fn dns_packets(facts: &HostFacts) -> Vec<DnsPacket> {
    let bridges: Vec<&NetworkFacts> = match &facts.networks {
        Ok(n) => n
            .iter()
            .filter(|n| n.driver == "bridge" && (n.name == "podman" || n.ours))
            .collect(),
        Err(_) => Vec::new(),
    };
    let unaddressed = |iface: &str| DnsPacket {
        iface: iface.into(),
        family: Family::V4,
        saddr: None,
        daddr: None,
        first: true,
        kind: PacketKind::DnsQuery,
    };
    if bridges.is_empty() {
        return vec![unaddressed("podman0")];
    }
    let mut packets = Vec::new();
    for bridge in bridges {
        let before = packets.len();
        // A subnet without a gateway gives containers no name server (netavark lists gateways).
        for subnet in bridge.subnets.iter().filter(|s| s.gateway.is_some()) {
            let saddr = firewall::host_in(&subnet.subnet);
            let daddr = subnet.gateway.as_deref().and_then(|g| g.parse().ok());
            let family = match saddr.or(daddr) {
                Some(std::net::IpAddr::V6(_)) => Family::V6,
                _ => Family::V4,
            };
            // One query per family: a second subnet of the same family meets the same rules
            // but for its addresses, and podman gives the first one's gateway first.
            if packets[before..]
                .iter()
                .any(|p: &DnsPacket| p.family == family)
            {
                continue;
            }
            packets.push(DnsPacket {
                iface: bridge.interface.clone(),
                family,
                saddr,
                daddr,
                first: packets.len() == before,
                kind: PacketKind::DnsQuery,
            });
        }
        if packets.len() == before {
            packets.push(unaddressed(&bridge.interface));
        }
    }
    packets
}

/// The rulesets a DNS query meets: nftables' base chains on its path, and iptables' and
/// ip6tables' built-in chains on it, each when it is there and filters.
struct Firewall {
    nft: Option<NftRuleset>,
    iptables: Option<IptablesRules>,
    ip6tables: Option<IptablesRules>,
    /// The IP versions whose rules could not all be read.
    unread: Vec<Unread>,
}

/// Rules of one IP version that could not be read: a failed `iptables-save`, or iptables-nft
/// tables (which only `iptables-save` shows) when it cannot be run.
struct Unread {
    family: Family,
    what: String,
    why: String,
    fix: String,
}

impl Unread {
    /// What `iptables-save` (`family` V4) or `ip6tables-save` (V6) leaves unread.
    fn of(family: Family, probe: &super::Probe, nft: Option<&NftRuleset>) -> Option<Unread> {
        let (program, rules) = match family {
            Family::V4 => ("iptables-save", "iptables' rules"),
            Family::V6 => ("ip6tables-save", "ip6tables' rules"),
        };
        let xt_unread = nft.is_some_and(|rs| !rs.xt_tables_of(family).is_empty())
            && !matches!(probe, Some(Ok(_)));
        if xt_unread {
            return Some(Unread {
                family,
                what: format!("the ruleset has iptables-nft tables, and `{program}` cannot be run"),
                why: "UDP 53 could not be checked".into(),
                fix: program.into(),
            });
        }
        // An `iptables-save` of iptables-legacy (the `iptables` alternative) shows none of
        // iptables-nft's tables that another program made.
        let legacy =
            matches!(probe, Some(Ok(text)) if firewall::iptables_save_is_nft(text) == Some(false));
        if let (Some(rs), Some(Ok(text)), true) = (nft, probe, legacy) {
            let nft_family = family.nft_name();
            let listed = firewall::tables_in_iptables_nft_save(text, family);
            let hidden: Vec<String> = rs
                .xt_tables_of(family)
                .into_iter()
                .filter(|t| !listed.contains(&(nft_family.to_string(), t.clone())))
                .collect();
            if let Some(table) = hidden.first() {
                return Some(Unread {
                    family,
                    what: format!(
                        "the ruleset has iptables-nft's `{nft_family} {table}` table, which \
                         `{program}` does not show (it is iptables-legacy's)"
                    ),
                    why: "UDP 53 could not be checked".into(),
                    fix: format!("{}-nft-save", program.trim_end_matches("-save")),
                });
            }
        }
        match probe {
            Some(Err(e)) => Some(Unread {
                family,
                what: format!("`{program}` failed: {e}"),
                why: format!("UDP 53 could not be checked in {rules} (run doctor as root)"),
                fix: "sudo quadgen doctor".into(),
            }),
            _ => None,
        }
    }
}

impl Firewall {
    /// The chains that filter queries of `families`, as findings name them.
    fn filtering_chains(&self, families: &[Family]) -> Vec<String> {
        let mut chains = Vec::new();
        if let Some(nft) = &self.nft {
            for family in families {
                for chain in nft.path_chains(*family) {
                    if !chains.contains(&chain) {
                        chains.push(chain);
                    }
                }
            }
        }
        for family in families {
            if let Some(rules) = self.iptables_for(*family) {
                chains.extend(rules.filtering_chains());
            }
        }
        chains
    }

    fn iptables_for(&self, family: Family) -> Option<&IptablesRules> {
        match family {
            Family::V4 => self.iptables.as_ref(),
            Family::V6 => self.ip6tables.as_ref(),
        }
    }

    /// Every chain that drops the query or the neighbour discovery it needs, with the packet
    /// it drops: a fix must let each through each chain.
    fn drops(&self, query: &DnsPacket) -> Vec<(String, DnsPacket)> {
        let mut drops = Vec::new();
        for pkt in std::iter::once(query.clone()).chain(query.neighbour_discovery()) {
            let mut chains = self
                .nft
                .as_ref()
                .map(|rs| rs.drops(&pkt))
                .unwrap_or_default();
            if let Some(rules) = self.iptables_for(pkt.family) {
                chains.extend(rules.drops(&pkt));
            }
            drops.extend(chains.into_iter().map(|chain| (chain, pkt.clone())));
        }
        drops
    }

    /// What the query meets, and the neighbour discovery it needs (a drop of that says
    /// `neighbour discovery` after its chain): a drop anywhere wins, then an unknown, else
    /// accept.
    fn verdict(&self, query: &DnsPacket) -> Verdict {
        let nd =
            query
                .neighbour_discovery()
                .into_iter()
                .map(|pkt| match self.packet_verdict(&pkt) {
                    Verdict::Drop { chain } => Verdict::Drop {
                        chain: match chain.strip_suffix(')') {
                            Some(head) => format!("{head}, neighbour discovery)"),
                            None => format!("{chain} (neighbour discovery)"),
                        },
                    },
                    Verdict::Unknown { chain, why } => Verdict::Unknown {
                        chain,
                        why: format!("{why} (for neighbour discovery)"),
                    },
                    Verdict::Accept => Verdict::Accept,
                });
        Verdict::of_all(std::iter::once(self.packet_verdict(query)).chain(nd))
    }

    /// What one packet meets.
    fn packet_verdict(&self, pkt: &DnsPacket) -> Verdict {
        let iptables = self.iptables_for(pkt.family);
        Verdict::of_all(
            [
                self.nft.as_ref().map(|rs| rs.verdict(pkt)),
                iptables.map(|f| f.verdict(pkt)),
            ]
            .into_iter()
            .flatten(),
        )
    }
}

/// The nftables ruleset and iptables' tables, when they can be read (each table once: an
/// iptables-nft table from nft's JSON unless it holds `xt` expressions), with what could not be
/// read; `None` (with a finding) when the check cannot go on.
fn read_firewall(facts: &HostFacts, out: &mut Vec<Finding>) -> Option<Firewall> {
    const ID: &str = "firewall-dns";
    let nft = match &facts.nft {
        Some(Ok(json)) => match NftRuleset::parse(json) {
            Ok(rs) => Some(rs),
            Err(e) => {
                out.push(finding(
                    ID,
                    Level::Warning,
                    format!("cannot read the nftables ruleset: {e}"),
                    "UDP 53 could not be checked",
                    "nft list ruleset".into(),
                ));
                return None;
            }
        },
        Some(Err(e)) => {
            out.push(finding(
                ID,
                Level::Warning,
                format!("`nft -j list ruleset` failed: {e}"),
                "UDP 53 could not be checked in nftables (run doctor as root)",
                "sudo quadgen doctor".into(),
            ));
            return None;
        }
        None => None,
    };
    let mut nft = nft;
    let probes = [
        (Family::V4, &facts.iptables),
        (Family::V6, &facts.ip6tables),
    ];
    let unread = probes
        .into_iter()
        .filter_map(|(family, probe)| Unread::of(family, probe, nft.as_ref()))
        .collect();
    let mut rules = [None, None];
    for (slot, (family, probe)) in rules.iter_mut().zip(probes) {
        let Some(Ok(text)) = probe else {
            continue;
        };
        let parsed = IptablesRules::parse(text, family);
        let nf_tables = firewall::tables_in_iptables_nft_save(text, family);
        *slot = match nft.as_mut() {
            // iptables-nft's tables are nft tables: nft's JSON shows them exactly, but for
            // `xt` expressions, whose tables are read from the save alone (its view of other
            // tables can be lossy: a set lookup it cannot show is left out).
            Some(rs) if !nf_tables.is_empty() => {
                rs.mark_iptables_tables(nf_tables);
                parsed.and_then(|p| p.only_tables(&rs.xt_tables_of(family)))
            }
            _ => parsed,
        }
        .filter(IptablesRules::filters_input);
    }
    let [iptables, ip6tables] = rules;
    Some(Firewall {
        nft,
        iptables,
        ip6tables,
        unread,
    })
}

/// What the firewall does with each query.
#[derive(Default)]
struct DnsVerdicts {
    closed: Vec<Dropped>,
    /// Undecided, each with its warning.
    unknown: Vec<Finding>,
    /// Accepted.
    open: Vec<DnsPacket>,
}

/// A dropped query.
struct Dropped {
    pkt: DnsPacket,
    /// The first chain that drops it, as the finding names it.
    chain: String,
    /// Every chain that drops it or its neighbour discovery, with the packet dropped there,
    /// for the fix.
    every_chain: Vec<(String, DnsPacket)>,
}

/// How an error or warning names a query: its bridge, and the IP version when it is IPv6.
fn quoted(pkt: &DnsPacket) -> String {
    match pkt.family {
        Family::V4 => format!("`{}`", pkt.iface),
        Family::V6 => format!("`{}` (IPv6)", pkt.iface),
    }
}

/// The findings: errors for the bridges where DNS is dropped (with the fix), a warning where
/// only a later name server is dropped and the first answers, a warning per query that cannot be
/// decided, ok for the rest.
fn report_dns_verdicts(
    facts: &HostFacts,
    out: &mut Vec<Finding>,
    firewall: &Firewall,
    verdicts: &DnsVerdicts,
) {
    report_dropped(facts, firewall, out, verdicts);
    out.extend(verdicts.unknown.iter().cloned());
    if !verdicts.open.is_empty() {
        let labels: Vec<String> = verdicts.open.iter().map(DnsPacket::label).collect();
        let by = firewall.filtering_chains(&families(&verdicts.open));
        let by = if by.is_empty() {
            "no input chain filters them".to_string()
        } else {
            by.join(", ")
        };
        out.push(ok(
            "firewall-dns",
            format!("UDP 53 is accepted on {} ({by})", labels.join(", ")),
        ));
    }
}

/// The findings for dropped queries, by what the drop does to a bridge's lookups: none answer,
/// each waits for a dropped first name server, or only the fallback to a later one is lost.
fn report_dropped(
    facts: &HostFacts,
    firewall: &Firewall,
    out: &mut Vec<Finding>,
    verdicts: &DnsVerdicts,
) {
    const ID: &str = "firewall-dns";
    // Whether another name server of the query's bridge is accepted (the first one, when
    // `first`).
    let accepted_beside = |pkt: &DnsPacket, first: bool| {
        verdicts.open.iter().any(|open| {
            open.iface == pkt.iface && open.family != pkt.family && (open.first || !first)
        })
    };
    let (fallback, blocking): (Vec<&Dropped>, Vec<&Dropped>) = verdicts
        .closed
        .iter()
        .partition(|d| accepted_beside(&d.pkt, true));
    let (delayed, unanswered): (Vec<&Dropped>, Vec<&Dropped>) = blocking
        .into_iter()
        .partition(|d| accepted_beside(&d.pkt, false));
    let dropped_on = |dropped: &[&Dropped]| {
        dropped
            .iter()
            .map(|d| format!("{} by {}", quoted(&d.pkt), d.chain))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let groups = [
        (
            Level::Error,
            "",
            unanswered,
            "containers' name lookups time out silently: aardvark-dns listens on the bridge, \
             and a default-deny input chain drops the queries",
        ),
        (
            Level::Error,
            "to the first name server ",
            delayed,
            "every name lookup first waits for the dropped name server to time out (5 s per \
             try with glibc) before the bridge's other one, which is accepted, answers; many \
             clients give up first",
        ),
        (
            Level::Warning,
            "to a second name server ",
            fallback,
            "lookups work through the bridge's first name server, which is accepted; when it \
             does not answer, the fallback to this one times out too",
        ),
    ];
    for (level, which, dropped, why) in groups {
        if dropped.is_empty() {
            continue;
        }
        out.push(finding(
            ID,
            level,
            format!(
                "the firewall drops container DNS (UDP 53) {which}on {}",
                dropped_on(&dropped)
            ),
            why,
            firewall_fix(facts, firewall, &dropped),
        ));
    }
}

/// The warning for a query that what could be read of the firewall lets through, while rules
/// of its IP version could not be read.
fn unreadable(pkt: &DnsPacket, unread: &Unread) -> Finding {
    finding(
        "firewall-dns",
        Level::Warning,
        format!(
            "cannot tell whether UDP 53 on {} is accepted: {}",
            quoted(pkt),
            unread.what
        ),
        &unread.why,
        unread.fix.clone(),
    )
}

/// The warning for a query a rule quadgen cannot evaluate decides.
fn undecided(pkt: &DnsPacket, chain: &str, why: &str) -> Finding {
    finding(
        "firewall-dns",
        Level::Warning,
        format!(
            "cannot tell whether UDP 53 on {} is accepted: {chain} has {why}",
            quoted(pkt)
        ),
        "a rule quadgen cannot evaluate decides; check it by hand",
        format!(
            "nft list ruleset; {}   # look for what {chain} does with udp dport 53 on {}",
            match pkt.family {
                Family::V4 => "iptables-save",
                Family::V6 => "ip6tables-save",
            },
            pkt.label()
        ),
    )
}

/// The fix for dropped queries: NixOS options for NixOS's own firewall, and for every other
/// chain that drops them a rule inserted ahead of its drops (`nft`, `iptables`, `firewall-cmd`).
fn firewall_fix(facts: &HostFacts, firewall: &Firewall, dropped: &[&Dropped]) -> String {
    // NixOS's own firewall (its chains are `nixos-fw…`) is opened by its options; any other
    // chain (a table of one's own, firewalld's) by commands.
    let by_nixos = |chain: &str| facts.nixos && chain.contains("nixos-fw");
    let mut ifaces: Vec<&str> = Vec::new();
    for d in dropped {
        let nixos_drops = d.every_chain.iter().any(|(c, _)| by_nixos(c));
        if nixos_drops && !ifaces.contains(&d.pkt.iface.as_str()) {
            ifaces.push(&d.pkt.iface);
        }
    }
    let mut parts = Vec::new();
    if !ifaces.is_empty() {
        // NixOS's firewall opens an interface's ports over IPv4 and IPv6 alike.
        parts.push(
            ifaces
                .iter()
                .map(|i| {
                    format!("networking.firewall.interfaces.\"{i}\".allowedUDPPorts = [ 53 ];")
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "   # services.quadgen.enable sets these, then nixos-rebuild switch",
        );
    }
    let commands = commands_fix(firewall, dropped, |chain| !by_nixos(chain));
    if !commands.is_empty() {
        parts.push(commands);
    }
    parts.join("\n")
}

/// The commands that let dropped queries through each chain that drops them and that `fixes`
/// takes, in the order met; empty when there is none.
fn commands_fix(firewall: &Firewall, dropped: &[&Dropped], fixes: impl Fn(&str) -> bool) -> String {
    let mut chains: Vec<(&str, Vec<&DnsPacket>)> = Vec::new();
    for d in dropped {
        for (chain, pkt) in d.every_chain.iter().filter(|(c, _)| fixes(c)) {
            let chain = chain.split(" (").next().unwrap_or(chain);
            match chains.iter_mut().find(|(c, _)| *c == chain) {
                Some((_, packets)) => packets.push(pkt),
                None => chains.push((chain, vec![pkt])),
            }
        }
    }
    let mut cmds: Vec<String> = Vec::new();
    for (chain, packets) in chains {
        for cmd in chain_fix(firewall, chain, &packets) {
            if !cmds.contains(&cmd) {
                cmds.push(cmd);
            }
        }
    }
    if cmds.is_empty() {
        return String::new();
    }
    let saved = if cmds.iter().all(|c| c.starts_with("firewall-cmd")) {
        "   # firewalld keeps it (--permanent)"
    } else {
        "   # and add the same rule to your firewall's saved configuration"
    };
    cmds.join(" && ") + saved
}

/// What a fix lets through.
#[derive(Clone, Copy)]
enum Allow {
    /// DNS queries: UDP to port 53.
    Dns,
    /// IPv6 neighbour solicitations and advertisements.
    NeighbourDiscovery,
}

impl Allow {
    /// The match in nft's words.
    fn nft(self) -> &'static str {
        match self {
            Allow::Dns => "udp dport 53",
            Allow::NeighbourDiscovery => "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }",
        }
    }

    /// The matches in iptables' words: one rule each.
    fn iptables(self) -> &'static [&'static str] {
        match self {
            Allow::Dns => &["-p udp --dport 53"],
            Allow::NeighbourDiscovery => &[
                "-p ipv6-icmp --icmpv6-type neighbour-solicitation",
                "-p ipv6-icmp --icmpv6-type neighbour-advertisement",
            ],
        }
    }
}

/// The commands that let `packets` (queries, neighbour discovery) through one chain that drops
/// them.
fn chain_fix(firewall: &Firewall, chain: &str, packets: &[&DnsPacket]) -> Vec<String> {
    let (nd, queries): (Vec<&DnsPacket>, Vec<&DnsPacket>) =
        packets.iter().partition(|p| p.kind != PacketKind::DnsQuery);
    let mut cmds = Vec::new();
    for (allow, packets) in [(Allow::Dns, queries), (Allow::NeighbourDiscovery, nd)] {
        if !packets.is_empty() {
            cmds.extend(chain_rules(firewall, chain, &packets, allow));
        }
    }
    cmds
}

/// The commands that let `packets` of one kind through one chain.
fn chain_rules(
    firewall: &Firewall,
    chain: &str,
    packets: &[&DnsPacket],
    allow: Allow,
) -> Vec<String> {
    let mut ifaces: Vec<&str> = Vec::new();
    for pkt in packets {
        if !ifaces.contains(&pkt.iface.as_str()) {
            ifaces.push(&pkt.iface);
        }
    }
    let mut words = chain.splitn(3, ' ');
    let (first, table) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let name = words.next().unwrap_or_default();
    // iptables' chains, and iptables-nft's tables in nft: an `iptables` rule (an nft rule
    // iptables-nft cannot read back would break its table). In filter, insert into INPUT
    // ahead of the rule that leads to the drop; elsewhere into the chain that drops.
    let program = match first {
        "iptables" | "ip6tables" => Some(first),
        _ => firewall
            .nft
            .as_ref()
            .and_then(|rs| rs.iptables_program_of(chain)),
    };
    match program {
        Some(program) => {
            let (table, name) = match table {
                "filter" => (String::new(), "INPUT"),
                _ => (format!("-t {table} "), name),
            };
            ifaces
                .iter()
                .flat_map(|iface| {
                    let table = &table;
                    allow.iptables().iter().map(move |m| {
                        format!("{program} {table}-I {name} -i {iface} {m} -j ACCEPT")
                    })
                })
                .collect()
        }
        None if first == "bridge" => match allow {
            Allow::Dns => bridge_fix(chain, packets),
            Allow::NeighbourDiscovery => {
                vec![format!("nft 'insert rule {chain} {} accept'", allow.nft())]
            }
        },
        // firewalld owns its table (2.x: `NftablesTableOwner`, and a reload rebuilds it):
        // put the bridge in the trusted zone, as netavark does with its subnets.
        None if first == "inet" && table == "firewalld" => {
            let mut cmd: Vec<String> = ifaces
                .iter()
                .map(|i| format!("firewall-cmd --permanent --zone=trusted --add-interface={i}"))
                .collect();
            cmd.push("firewall-cmd --reload".into());
            vec![cmd.join(" && ")]
        }
        None => {
            let quoted: Vec<String> = ifaces.iter().map(|i| format!("\"{i}\"")).collect();
            vec![format!(
                "nft 'insert rule {chain} iifname {{ {} }} {} accept'",
                quoted.join(", "),
                allow.nft()
            )]
        }
    }
}

/// The fix in a bridge-family chain, where the input interface is the bridge port (and `meta
/// ibrname` needs a kernel module not every kernel has): accept the queries by the gateway
/// they are sent to, where aardvark-dns listens.
fn bridge_fix(chain: &str, packets: &[&DnsPacket]) -> Vec<String> {
    let mut cmds = Vec::new();
    for (family, proto) in [(Family::V4, "ip"), (Family::V6, "ip6")] {
        let gateways: Vec<String> = packets
            .iter()
            .filter(|p| p.family == family)
            .filter_map(|p| p.daddr.map(|a| a.to_string()))
            .collect();
        if !gateways.is_empty() {
            cmds.push(format!(
                "nft 'insert rule {chain} {proto} daddr {{ {} }} udp dport 53 accept'",
                gateways.join(", ")
            ));
        }
    }
    if packets.iter().any(|p| p.daddr.is_none()) {
        cmds.push(format!("nft 'insert rule {chain} udp dport 53 accept'"));
    }
    cmds
}

pub(super) fn check_auto_update_timer(facts: &HostFacts, out: &mut Vec<Finding>) {
    const ID: &str = "auto-update-timer";
    let fix = if facts.nixos {
        "systemd.timers.podman-auto-update.wantedBy = [ \"timers.target\" ];   # services.quadgen.enable sets it".to_string()
    } else {
        format!("systemctl enable --now {AUTO_UPDATE_TIMER}")
    };
    let Some(t) = facts.timers.iter().find(|t| t.timer == AUTO_UPDATE_TIMER) else {
        out.push(finding(
            ID,
            Level::Error,
            format!("{AUTO_UPDATE_TIMER} does not exist"),
            "nothing runs `podman auto-update`: `AutoUpdate=registry` images go stale",
            fix,
        ));
        return;
    };
    match (t.scheduled(), t.enabled()) {
        (true, true) => {
            let next = if t.next_elapse.is_empty() {
                "not scheduled yet".to_string()
            } else {
                format!("next run {}", t.next_elapse)
            };
            out.push(ok(
                ID,
                format!("{AUTO_UPDATE_TIMER} is enabled and active; {next}"),
            ));
        }
        (true, false) => out.push(finding(
            ID,
            Level::Warning,
            format!(
                "{AUTO_UPDATE_TIMER} is active but {} (next run {}): it stops at the next boot",
                t.unit_file_state, t.next_elapse
            ),
            "after a reboot nothing runs `podman auto-update`",
            fix,
        )),
        (false, _) => out.push(finding(
            ID,
            Level::Error,
            format!(
                "{AUTO_UPDATE_TIMER} is {} and {}",
                t.active_state, t.unit_file_state
            ),
            "nothing runs `podman auto-update`: `AutoUpdate=registry` images go stale",
            fix,
        )),
    }
}

/// The words of every command and script line a timer's service runs.
fn prune_lines(t: &TimerFacts) -> Vec<String> {
    t.commands
        .iter()
        .cloned()
        .chain(
            t.scripts
                .iter()
                .flat_map(|(_, text)| text.lines().map(str::to_string)),
        )
        .filter(|l| is_podman_prune(l))
        .collect()
}

fn is_podman_prune(line: &str) -> bool {
    line.contains("prune") && line.contains("podman")
}

/// A podman prune something schedules: which timer or cron file, the line, and the fixes for a
/// prune that takes volumes and for one that takes networks.
struct ScheduledPrune {
    by: String,
    line: String,
    /// The user whose podman it prunes, when not root's (a user's crontab, or a system crontab
    /// line run as that user): quadgen's system networks are then out of its reach.
    user: Option<String>,
    fix_volumes: String,
    fix_networks: String,
}

/// Every prune the enabled or scheduled timers and the cron tables run.
fn scheduled_prunes(facts: &HostFacts) -> Vec<ScheduledPrune> {
    let has_safe_prune = facts
        .timers
        .iter()
        .any(|t| t.timer == "quadgen-prune.timer");
    let mut out = Vec::new();
    for t in facts.timers.iter().filter(|t| t.scheduled() || t.enabled()) {
        for line in prune_lines(t) {
            out.push(ScheduledPrune {
                by: t.timer.clone(),
                line,
                user: None,
                fix_volumes: prune_fix(facts, t, "volumes", has_safe_prune),
                fix_networks: prune_fix(facts, t, "networks", has_safe_prune),
            });
        }
    }
    for (path, text) in &facts.crontabs {
        let lines = text.lines().map(str::trim);
        for line in lines.filter(|l| !l.starts_with('#') && is_podman_prune(l)) {
            out.push(ScheduledPrune {
                by: format!("cron ({path})"),
                line: line.to_string(),
                user: cron_user(path, line).filter(|u| u != "root"),
                fix_volumes: format!("edit {path}: remove `--volumes` from `{line}`"),
                fix_networks: format!(
                    "edit {path}: in `{line}`, run `podman image prune --all --force --filter until=24h` (images only) instead of the system or network prune"
                ),
            });
        }
    }
    out
}

/// Who runs a cron line: a user's own table is named after the user; a line of `/etc/crontab`
/// or `/etc/cron.d` names its user after the schedule (five fields, or one `@word`); the
/// periodic script folders run as root.
fn cron_user(path: &str, line: &str) -> Option<String> {
    if path.contains("/var/spool/cron/") {
        return path.rsplit('/').next().map(str::to_string);
    }
    if !(path.ends_with("/etc/crontab") || path.contains("/etc/cron.d/")) {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let schedule = if words.first().is_some_and(|w| w.starts_with('@')) {
        1
    } else {
        5
    };
    words.get(schedule).map(|w| w.to_string())
}

pub(super) fn check_prunes(facts: &HostFacts, out: &mut Vec<Finding>) {
    let mut volumes = 0;
    let mut networks = 0;
    let ours = facts
        .networks
        .as_ref()
        .map(|n| {
            n.iter()
                .filter(|n| n.ours)
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for p in scheduled_prunes(facts) {
        let words: Vec<&str> = p.line.split_whitespace().collect();
        let volumes_flag = |w: &&str| {
            let w = w.trim_matches(|c| c == '"' || c == '\'');
            w == "--volumes" || (w.starts_with("--volumes=") && w != "--volumes=false")
        };
        if words.iter().any(volumes_flag) {
            volumes += 1;
            out.push(finding(
                "prune-volumes",
                Level::Error,
                format!("{} runs `{}`", p.by, p.line.trim()),
                "`--volumes` deletes every named volume no running container uses: a stopped \
                 container's data is gone",
                p.fix_volumes.clone(),
            ));
        }
        let system = words.windows(2).any(|w| w == ["system", "prune"]);
        let network = words.windows(2).any(|w| w == ["network", "prune"]);
        if system || network {
            networks += 1;
            let (level, of, whose) = match &p.user {
                Some(user) => (
                    Level::Warning,
                    format!(" of {user}'s podman"),
                    String::new(),
                ),
                None if ours.is_empty() => (Level::Warning, String::new(), String::new()),
                None => (
                    Level::Error,
                    String::new(),
                    format!(" (quadgen's: {})", ours.join(", ")),
                ),
            };
            out.push(finding(
                "prune-networks",
                level,
                format!(
                    "{} runs `{}`, which removes every network{of} no running container uses{whose}",
                    p.by,
                    p.line.trim()
                ),
                "the network of a stopped quadlet container is removed while its \
                 `-network.service` still says active: the container cannot start again \
                 until that service is restarted",
                p.fix_networks,
            ));
        }
    }
    if volumes == 0 {
        out.push(ok(
            "prune-volumes",
            "no scheduled prune removes volumes".into(),
        ));
    }
    if networks == 0 {
        out.push(ok(
            "prune-networks",
            "no scheduled `podman system prune` or `network prune`".into(),
        ));
    }
}

/// The fix for a timer that prunes too much: on NixOS the option, elsewhere disable it (and
/// enable quadgen's images-only prune when it is installed).
fn prune_fix(facts: &HostFacts, t: &TimerFacts, what: &str, has_safe_prune: bool) -> String {
    let disable = format!("systemctl disable --now {}", t.timer);
    if facts.nixos && t.timer == "podman-prune.timer" {
        match what {
            "volumes" => "remove \"--volumes\" from virtualisation.podman.autoPrune.flags;   # then nixos-rebuild switch".to_string(),
            _ => "virtualisation.podman.autoPrune.enable = false;   # it always runs `system prune`; services.quadgen's prune takes images only".to_string(),
        }
    } else if facts.nixos {
        format!(
            "systemd.timers.\"{}\".enable = false;   # or fix its service; `systemctl disable` is undone by nixos-rebuild",
            t.timer
        )
    } else if has_safe_prune {
        format!(
            "{disable} && systemctl enable --now quadgen-prune.timer   # images only: `podman image prune --all --filter until=24h`"
        )
    } else {
        format!(
            "{disable}   # a safe prune: quadgen-prune.timer from `quadgen host-units install` (images only)"
        )
    }
}

/// The mount holding `path`: the longest mount point that is a prefix of it.
pub(crate) fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| {
            path == m.mount_point
                || m.mount_point == "/"
                || path.starts_with(&format!("{}/", m.mount_point))
        })
        .max_by_key(|m| m.mount_point.len())
}

pub(super) fn check_storage(facts: &HostFacts, out: &mut Vec<Finding>) {
    let Some(s) = &facts.storage else {
        out.push(finding(
            "storage-driver",
            Level::Warning,
            "`podman info` failed: storage not checked".into(),
            "the storage driver and its filesystem could not be read",
            "podman info".into(),
        ));
        return;
    };
    let fs = mount_of(&facts.mounts, &s.graph_root);
    let fstype = fs.map_or("unknown", |m| m.fstype.as_str());
    let nix_or = |nix: &str, other: &str| {
        if facts.nixos {
            nix.to_string()
        } else {
            other.to_string()
        }
    };
    match (fstype, s.driver.as_str()) {
        ("btrfs", "overlay") => out.push(finding(
            "storage-driver",
            Level::Warning,
            format!("storage driver `overlay` on btrfs ({})", s.graph_root),
            "overlay on btrfs can create excessive subvolumes (the guide); the btrfs driver uses \
             subvolumes natively. Changing the driver needs an empty storage: images are pulled \
             again, and volumes must be backed up first",
            nix_or(
                "virtualisation.containers.storage.settings.storage.driver = \"btrfs\";   # then podman system reset (removes images and volumes)",
                "sed -i 's/^driver = .*/driver = \"btrfs\"/' /etc/containers/storage.conf   # then podman system reset (removes images and volumes: back them up first)",
            ),
        )),
        ("zfs", "zfs") if s.rootless => out.push(finding(
            "storage-driver",
            Level::Error,
            "rootless podman with the zfs storage driver".into(),
            "rootless podman cannot use the ZFS driver (the guide)",
            "use driver = \"overlay\" in ~/.config/containers/storage.conf, on a dataset with acltype=posixacl".into(),
        )),
        ("zfs", "overlay") => {
            let dataset = fs.map_or("DATASET", |m| m.source.as_str());
            match s.zfs_acltype.as_deref() {
                Some("posix" | "posixacl") => out.push(ok(
                    "storage-driver",
                    format!("overlay on ZFS dataset `{dataset}` with acltype=posixacl"),
                )),
                other => out.push(finding(
                    "storage-driver",
                    Level::Error,
                    format!(
                        "overlay on ZFS dataset `{dataset}` with acltype={}",
                        other.unwrap_or("unknown")
                    ),
                    "overlay on ZFS needs acltype=posixacl to work correctly (the guide)",
                    format!("zfs set acltype=posixacl {dataset}"),
                )),
            }
        }
        _ => out.push(ok(
            "storage-driver",
            format!("storage driver `{}` on {fstype} ({})", s.driver, s.graph_root),
        )),
    }

    check_storage_persisted(facts, s, fs, fstype, out);
}

/// Impermanence: a tmpfs root, and the graph root not on a mount of its own that persists.
fn check_storage_persisted(
    facts: &HostFacts,
    s: &StorageFacts,
    fs: Option<&Mount>,
    fstype: &str,
    out: &mut Vec<Finding>,
) {
    let nix_or = |nix: &str, other: &str| {
        if facts.nixos {
            nix.to_string()
        } else {
            other.to_string()
        }
    };
    let root_tmpfs = mount_of(&facts.mounts, "/").is_some_and(|m| m.fstype == "tmpfs");
    let graph_tmpfs = fs.is_some_and(|m| m.fstype == "tmpfs");
    let containers_dir = s
        .graph_root
        .strip_suffix("/storage")
        .unwrap_or(&s.graph_root)
        .to_string();
    if root_tmpfs && graph_tmpfs {
        out.push(finding(
            "storage-persisted",
            Level::Error,
            format!("`/` is tmpfs and `{containers_dir}` is not persisted"),
            "every boot starts with no images, containers or named volumes: pulls at boot, and \
             named volumes' data is lost",
            nix_or(
                &format!(
                    "environment.persistence.\"/persist\".directories = [ \"{containers_dir}\" ];"
                ),
                &format!("mount a persistent filesystem on {containers_dir} (an fstab entry)"),
            ),
        ));
    } else if graph_tmpfs {
        out.push(finding(
            "storage-persisted",
            Level::Warning,
            format!("`{}` is on tmpfs", s.graph_root),
            "images and named volumes vanish at every reboot",
            format!("mount a persistent filesystem on {containers_dir}"),
        ));
    } else {
        out.push(ok(
            "storage-persisted",
            format!("`{}` is on {fstype}", s.graph_root),
        ));
    }
}

pub(super) fn check_linger(facts: &HostFacts, out: &mut Vec<Finding>) {
    const ID: &str = "linger";
    if facts.rootless_users.is_empty() {
        out.push(ok(
            ID,
            "no rootless quadlet units: linger not needed".into(),
        ));
        return;
    }
    for u in &facts.rootless_users {
        if u.linger {
            out.push(ok(ID, format!("user `{}` lingers", u.user)));
        } else {
            out.push(finding(
                ID,
                Level::Error,
                format!(
                    "user `{}` has rootless units ({}) but no linger",
                    u.user, u.units_dir
                ),
                "without linger, the user's systemd (and every container) starts only at login \
                 and stops at logout",
                if facts.nixos {
                    format!("users.users.{}.linger = true;", u.user)
                } else {
                    format!("loginctl enable-linger {}", u.user)
                },
            ));
        }
    }
}

/// `short-name-mode` as containers-registries.conf(5) resolves it: the last file that sets it
/// wins; `enforcing` when none does.
pub fn short_name_mode(files: &[(String, String)]) -> Result<(String, String), String> {
    let mut mode = ("enforcing".to_string(), "podman's default".to_string());
    for (path, text) in files {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| format!("`{path}` is not valid TOML: {e}"))?;
        if let Some(m) = table.get("short-name-mode").and_then(toml::Value::as_str) {
            mode = (m.to_string(), path.clone());
        }
    }
    Ok(mode)
}

pub(super) fn check_short_names(facts: &HostFacts, out: &mut Vec<Finding>) {
    const ID: &str = "short-name-mode";
    match short_name_mode(&facts.registries_conf) {
        Err(e) => out.push(finding(
            ID,
            Level::Warning,
            e,
            "podman refuses to pull with a broken registries.conf",
            "podman info   # shows podman's own error".into(),
        )),
        Ok((mode, from)) if mode == "enforcing" => out.push(ok(
            ID,
            format!("short-name-mode is `enforcing` ({from})"),
        )),
        Ok((mode, from)) => out.push(finding(
            ID,
            Level::Warning,
            format!("short-name-mode is `{mode}` ({from})"),
            "quadgen's images are fully qualified (auto-update requires it), so their updates \
             are not affected; but a short name elsewhere is resolved silently through \
             unqualified-search-registries, first match wins: an image of the same name on \
             another registry can be pulled instead",
            if facts.nixos {
                "virtualisation.containers.registries.settings.short-name-mode = \"enforcing\";   # or the matching containers.registries option".into()
            } else {
                format!("sed -i 's/^short-name-mode *=.*/short-name-mode = \"enforcing\"/' {from}")
            },
        )),
    }
}
