//! Whether the active firewall lets a container's DNS query in: UDP 53 from the bridge's subnet to
//! aardvark-dns on its gateway, arriving on the bridge (`podman0`, `qg-…`), over IPv4 and, on a
//! dual-stack network, over IPv6 (aardvark-dns listens on each gateway, and containers are given
//! each as a name server). Pure: follows the packet through the base chains on its path in an
//! nftables ruleset (`nft -j list ruleset`, [`nft`]: ingress, prerouting and input; `inet`
//! tables see both versions, `ip` only IPv4, `ip6` only IPv6, `bridge` both) and through the
//! built-in chains of `iptables-save` (IPv4) or `ip6tables-save` (IPv6) on its path
//! ([`iptables`]: raw and mangle PREROUTING, mangle, filter and security INPUT).
//!
//! Every chain on the path must let the packet through: an `accept` ends only its own base
//! chain, the next one still sees the packet, and a drop anywhere is final. A match quadgen
//! cannot evaluate (an `xt` match, a mark, a rate limit…) in a rule that decides makes the
//! answer unknown rather than guessed. Tables that contain `xt` expressions are iptables-nft's
//! and are read from `iptables-save` instead, which shows their matches; tested against the
//! kernel by `tests/kernel_firewall.rs`.

mod iptables;
mod nft;

use std::net::IpAddr;

use serde::Serialize;

pub use iptables::IptablesRules;
pub use nft::{NftRuleset, iptables_save_is_nft, tables_in_iptables_nft_save};

/// The IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// How nftables names the version: its table family and header (`ip`, `ip6`), as in
    /// `ip6 saddr` and `meta protocol ip6`.
    pub fn nft_name(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }
}

/// What a packet is: a container's DNS query, or the IPv6 neighbour discovery between the
/// container and the gateway that the query and its answers need (ICMPv6 packets the input
/// chains see too, which conntrack leaves untracked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacketKind {
    /// UDP to port 53, from an ephemeral port: conntrack state `new`.
    #[default]
    DnsQuery,
    /// The container asks for the gateway's link-layer address: ICMPv6 type 135 to the
    /// gateway's solicited-node multicast address, hop limit 255. Without it no query leaves.
    NeighbourSolicitation,
    /// The container answers the host's probe of its address: ICMPv6 type 136 to the gateway,
    /// hop limit 255. The host learns the container's address from its solicitation, so the
    /// first answers go out; without the advertisement the host's entry fails once it goes
    /// stale, and answers stop (about 17 s in, measured on the kernel).
    NeighbourAdvertisement,
}

impl PacketKind {
    fn is_icmpv6(self) -> bool {
        self != PacketKind::DnsQuery
    }

    /// Its layer 4 protocol, by the names and numbers nft and iptables give it.
    fn protocol(self) -> &'static [&'static str] {
        match self {
            PacketKind::DnsQuery => &["udp", "17"],
            _ => &["ipv6-icmp", "icmpv6", "58"],
        }
    }

    /// Its conntrack state.
    fn ct_state(self) -> &'static str {
        match self {
            PacketKind::DnsQuery => "new",
            _ => "untracked",
        }
    }

    /// Its packet type (`meta pkttype`, `--pkt-type`).
    fn pkttype(self) -> &'static [&'static str] {
        match self {
            PacketKind::NeighbourSolicitation => &["multicast", "2"],
            _ => &["host", "unicast", "0"],
        }
    }

    /// Its destination's address type (`fib daddr type`, addrtype's `--dst-type`).
    fn destination_type(self) -> &'static str {
        match self {
            PacketKind::NeighbourSolicitation => "multicast",
            _ => "local",
        }
    }

    /// Its ICMPv6 type, by the names and numbers nft and ip6tables give it.
    fn icmpv6_type(self) -> &'static [&'static str] {
        match self {
            PacketKind::DnsQuery => &[],
            PacketKind::NeighbourSolicitation => &[
                "nd-neighbor-solicit",
                "neighbour-solicitation",
                "neighbor-solicitation",
                "135",
                "135/0",
            ],
            PacketKind::NeighbourAdvertisement => &[
                "nd-neighbor-advert",
                "neighbour-advertisement",
                "neighbor-advertisement",
                "136",
                "136/0",
            ],
        }
    }
}

/// A packet a container sends to the host on its way to aardvark-dns: the DNS query, or the
/// neighbour discovery an IPv6 query needs ([`DnsPacket::neighbour_discovery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsPacket {
    /// The bridge it arrives on.
    pub iface: String,
    pub family: Family,
    /// A container address of the bridge's subnet, when known.
    pub saddr: Option<IpAddr>,
    /// The bridge's gateway (where aardvark-dns listens), when known; for a neighbour
    /// solicitation, the gateway's solicited-node multicast address.
    pub daddr: Option<IpAddr>,
    /// Whether that gateway is the first name server containers on the bridge ask.
    pub first: bool,
    /// The query, or the neighbour discovery it needs.
    pub kind: PacketKind,
}

impl DnsPacket {
    /// How a finding names the packet: its bridge, and `(IPv6)` for an IPv6 query.
    pub fn label(&self) -> String {
        match self.family {
            Family::V4 => self.iface.clone(),
            Family::V6 => format!("{} (IPv6)", self.iface),
        }
    }

    /// The neighbour discovery an IPv6 query and its answers need: the container's solicitation
    /// of the gateway, and its advertisement to the gateway. None for IPv4 (ARP is not IP: no
    /// ip, ip6 or inet chain sees it).
    pub fn neighbour_discovery(&self) -> Vec<DnsPacket> {
        if self.family != Family::V6 || self.kind != PacketKind::DnsQuery {
            return Vec::new();
        }
        let solicited_node = |gateway: IpAddr| match gateway {
            IpAddr::V6(a) => {
                let low = u128::from(a) & 0xff_ffff;
                IpAddr::V6((0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low).into())
            }
            v4 => v4,
        };
        vec![
            DnsPacket {
                kind: PacketKind::NeighbourSolicitation,
                daddr: self.daddr.map(solicited_node),
                ..self.clone()
            },
            DnsPacket {
                kind: PacketKind::NeighbourAdvertisement,
                ..self.clone()
            },
        ]
    }
}

/// What a ruleset does with the packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Accepted by every chain that filters input (or nothing filters input).
    Accept,
    /// Dropped or rejected, by the named chain.
    Drop { chain: String },
    /// A rule quadgen cannot evaluate decides.
    Unknown { chain: String, why: String },
}

impl Verdict {
    /// What several chains that each see the packet do with it together: the first drop (a
    /// drop anywhere is final), else the first chain quadgen cannot evaluate, else accept.
    pub fn of_all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut unknown = None;
        for verdict in verdicts {
            match verdict {
                Verdict::Accept => {}
                Verdict::Drop { .. } => return verdict,
                Verdict::Unknown { .. } => {
                    unknown.get_or_insert(verdict);
                }
            }
        }
        unknown.unwrap_or(Verdict::Accept)
    }
}

/// Tri-state match result.
#[derive(Debug, Clone, PartialEq, Eq)]
enum M {
    Yes,
    No,
    Unknown(String),
}

impl M {
    fn from_bool(b: bool) -> M {
        if b { M::Yes } else { M::No }
    }

    fn negate(self, negate: bool) -> M {
        match (self, negate) {
            (M::Yes, true) => M::No,
            (M::No, true) => M::Yes,
            (m, _) => m,
        }
    }
}

/// What evaluating a chain ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flow {
    Accept,
    Drop(String),
    /// The rule does not decide (or a jumped-to chain ended): the next rule follows.
    Continue,
    /// `return`, or a chain entered by `goto` ended: the chain this happens in ends too, and
    /// its caller continues (a base chain's policy applies).
    Return,
    /// A rule under a limit (`limit`, `quota`, `ct count`, a meter) that matches: this flow when
    /// the limit lets it fire, the next rule when not; and why that is uncertain.
    Limited(Box<Flow>, String),
    Unknown(String, String),
}

const MAX_DEPTH: usize = 32;

/// What a jump or goto to a chain comes to, given what the chain ended with: after a jump the
/// next rule follows the chain's end; after a goto the chain that went there ends too (the
/// kernel pushes no return address for a goto).
fn entered(by_goto: bool, target: Flow) -> Flow {
    match target {
        Flow::Continue if by_goto => Flow::Return,
        other => other,
    }
}

/// An address as a 128-bit number and its width (32 or 128).
fn bits(addr: IpAddr) -> (u128, u32) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// Whether `addr` is in `cidr` (an address alone is a full-length prefix); an address of the
/// other family never is. `None` when `cidr` cannot be read.
fn cidr_contains(cidr: &str, addr: IpAddr) -> Option<bool> {
    let (net, len) = match cidr.split_once('/') {
        Some((n, l)) => (n.parse::<IpAddr>().ok()?, Some(l.parse::<u32>().ok()?)),
        None => (cidr.parse::<IpAddr>().ok()?, None),
    };
    let ((net, width), (addr, addr_width)) = (bits(net), bits(addr));
    if width != addr_width {
        return Some(false);
    }
    let len = len.unwrap_or(width);
    if len > width {
        return None;
    }
    let host_bits = width - len;
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    Some(net & mask == addr & mask)
}

/// A container address in `subnet` (`10.88.0.0/16` → `10.88.0.2`, `fd00::/64` → `fd00::2`).
pub fn host_in(subnet: &str) -> Option<IpAddr> {
    let (net, _) = subnet.split_once('/')?;
    Some(match net.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(2).into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(2).into()),
    })
}

/// An interface pattern (`qg-*` in nftables, `qg-+` in iptables) against a name.
fn iface_matches(pattern: &str, iface: &str, wildcard: char) -> bool {
    match pattern.strip_suffix(wildcard) {
        Some(prefix) => iface.starts_with(prefix),
        None => pattern == iface,
    }
}

/// Whether the ports `lo..=hi` hold the query's source port, an ephemeral one (Linux's
/// default `ip_local_port_range`, 32768–60999): `None` when they hold only some of them.
fn ephemeral_in(lo: u64, hi: u64) -> Option<bool> {
    const EPHEMERAL: (u64, u64) = (32768, 60999);
    if hi < EPHEMERAL.0 || lo > EPHEMERAL.1 {
        Some(false)
    } else if lo <= EPHEMERAL.0 && hi >= EPHEMERAL.1 {
        Some(true)
    } else {
        None
    }
}

fn port_is_53(v: &str) -> bool {
    matches!(v, "53" | "domain" | "dns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_prefixes_of_either_version() {
        let ip = |a: &str| a.parse::<IpAddr>().expect("an address");
        for (cidr, addr, expected) in [
            ("10.0.0.0/8", "10.89.60.2", Some(true)),
            ("10.0.0.0/8", "11.0.0.1", Some(false)),
            ("0.0.0.0/0", "192.0.2.1", Some(true)),
            ("192.0.2.1/32", "192.0.2.1", Some(true)),
            ("192.0.2.1", "192.0.2.2", Some(false)),
            ("fd00:60::/64", "fd00:60::2", Some(true)),
            ("fd00:60::/64", "fd00:61::2", Some(false)),
            ("::/0", "fd00:60::2", Some(true)),
            ("fd00:60::1/128", "fd00:60::1", Some(true)),
            ("fd00:60::1", "fd00:60::2", Some(false)),
            // The other version is never in a prefix, whatever its bits.
            ("0.0.0.0/0", "::a59:3c02", Some(false)),
            ("::/0", "10.89.60.2", Some(false)),
            ("10.0.0.0/64", "fd00:60::2", Some(false)),
            // Unreadable: unknown, not a guess.
            ("10.0.0.0/33", "10.0.0.1", None),
            ("fd00::/129", "fd00::1", None),
            ("not an address/8", "10.0.0.1", None),
        ] {
            assert_eq!(cidr_contains(cidr, ip(addr)), expected, "{addr} in {cidr}");
        }
        assert_eq!(host_in("10.88.0.0/16"), Some(ip("10.88.0.2")));
        assert_eq!(host_in("fd00:60::/64"), Some(ip("fd00:60::2")));
        assert_eq!(host_in("fd00:60::"), None);
    }

    #[test]
    fn an_ipv6_query_needs_the_solicitation_of_its_gateway() {
        let query = |family, daddr: &str| DnsPacket {
            iface: "qg-lan".into(),
            family,
            saddr: None,
            daddr: daddr.parse().ok(),
            first: true,
            kind: PacketKind::DnsQuery,
        };
        let nd = query(Family::V6, "fd00:60::12:3456").neighbour_discovery();
        assert_eq!(nd.len(), 2);
        assert_eq!(nd[0].kind, PacketKind::NeighbourSolicitation);
        // The solicited-node multicast address: ff02::1:ff and the gateway's last 24 bits.
        assert_eq!(nd[0].daddr, "ff02::1:ff12:3456".parse().ok());
        assert_eq!(nd[1].kind, PacketKind::NeighbourAdvertisement);
        assert_eq!(nd[1].daddr, "fd00:60::12:3456".parse().ok());
        assert_eq!(nd[0].neighbour_discovery(), []);
        assert_eq!(query(Family::V4, "10.89.60.1").neighbour_discovery(), []);
    }
}
