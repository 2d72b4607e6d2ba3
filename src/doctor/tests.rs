//! Tables of host facts → findings. The firewall fixtures are real: `nft -j list ruleset` and
//! `iptables-save` output of nftables 1.0.6 / iptables 1.8.9 after loading NixOS's firewall
//! rulesets (nixpkgs' nftables and iptables firewalls, with and without the UDP 53 rule) in a
//! private network namespace.

use super::firewall::{DnsPacket, Family, IptablesRules, NftRuleset, PacketKind, Verdict};
use super::gather::{crontabs, parse_exec, parse_mountinfo, parse_networks};
use super::*;

const NFT_NIXOS_OPEN: &str = include_str!("fixtures/nft-nixos-open.json");
const NFT_NIXOS_CLOSED: &str = include_str!("fixtures/nft-nixos-closed.json");
const IPTABLES_NIXOS: &str = include_str!("fixtures/iptables-nixos.txt");
const IPTABLES_NIXOS_CLOSED: &str = include_str!("fixtures/iptables-nixos-closed.txt");
const NFT_OF_IPTABLES: &str = include_str!("fixtures/nft-of-iptables-nixos.json");
/// `nft -j list ruleset` (nft 1.0.6) of an `ip6` table that drops by default and lets no DNS in,
/// beside an `ip` table that lets DNS in on `qg-*`.
const NFT_DUAL_STACK_IPV6_CLOSED: &str = include_str!("fixtures/nft-dual-stack-ipv6-closed.json");
/// The same after doctor's fix, run by nft 1.0.6.
const NFT_DUAL_STACK_FIXED: &str = include_str!("fixtures/nft-dual-stack-fixed.json");
/// `ip6tables-save` (1.8.9) of an INPUT chain that drops by default and lets no DNS in.
const IP6TABLES_CLOSED: &str = include_str!("fixtures/ip6tables-closed.txt");
/// `ip6tables-nft -P INPUT DROP`, `-A INPUT -i lo -j ACCEPT`, `-A INPUT -p ipv6-icmp -j ACCEPT`
/// (ip6tables 1.8.9, nft 1.0.6): no `xt` expression, so only `ip6tables-save`'s header says
/// the `ip6 filter` table is iptables-nft's.
const NFT_OF_IP6TABLES_NFT: &str = include_str!("fixtures/nft-of-ip6tables-nft.json");
const IP6TABLES_NFT: &str = include_str!("fixtures/ip6tables-nft.txt");

fn options() -> Options {
    Options {
        target: PodmanVersion::new(5, 4),
    }
}

fn network(name: &str, iface: &str, subnet: &str, gateway: &str, dns: bool) -> NetworkFacts {
    NetworkFacts {
        name: name.into(),
        driver: "bridge".into(),
        interface: iface.into(),
        dns_enabled: dns,
        subnets: vec![SubnetFacts {
            subnet: subnet.into(),
            gateway: Some(gateway.into()),
        }],
        ours: iface.starts_with("qg-"),
        raw: serde_json::json!({
            "name": name, "driver": "bridge", "network_interface": iface,
            "dns_enabled": dns, "containers": {},
            "subnets": [{"subnet": subnet, "gateway": gateway}]
        }),
    }
}

/// A healthy host: every check ok.
fn healthy() -> HostFacts {
    HostFacts {
        nixos: false,
        podman_version: Some("5.4.2".into()),
        networks: Ok(vec![
            network("podman", "podman0", "10.88.0.0/16", "10.88.0.1", true),
            network("media", "qg-media", "10.89.7.0/24", "10.89.7.1", true),
        ]),
        nft: Some(Ok(NFT_NIXOS_OPEN.into())),
        iptables: Some(Ok(String::new())),
        ip6tables: Some(Ok(String::new())),
        timers: vec![TimerFacts {
            timer: "podman-auto-update.timer".into(),
            unit_file_state: "enabled".into(),
            active_state: "active".into(),
            next_elapse: "Wed 2026-12-02 00:06:04 UTC".into(),
            service: "podman-auto-update.service".into(),
            commands: vec!["/usr/bin/podman auto-update".into()],
            scripts: Vec::new(),
        }],
        storage: Some(StorageFacts {
            driver: "overlay".into(),
            graph_root: "/var/lib/containers/storage".into(),
            rootless: false,
            zfs_acltype: None,
        }),
        mounts: vec![mount("/", "ext4", "/dev/vda1")],
        rootless_users: Vec::new(),
        registries_conf: vec![(
            "/etc/containers/registries.conf".into(),
            "unqualified-search-registries = [\"docker.io\"]\n".into(),
        )],
        crontabs: vec![(
            "/etc/crontab".into(),
            "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n".into(),
        )],
    }
}

fn mount(at: &str, fstype: &str, source: &str) -> Mount {
    Mount {
        mount_point: at.into(),
        fstype: fstype.into(),
        source: source.into(),
    }
}

fn of<'a>(findings: &'a [Finding], id: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.id == id).collect()
}

/// The one finding with `id`.
fn one<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    let f = of(findings, id);
    assert_eq!(f.len(), 1, "{id}: {findings:#?}");
    f[0]
}

#[test]
fn a_healthy_host_has_only_ok_findings() {
    let findings = diagnose(&healthy(), &options());
    let not_ok: Vec<&Finding> = findings.iter().filter(|f| f.level != Level::Ok).collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    assert!(!has_errors(&findings));
    let ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
    assert_eq!(
        ids,
        [
            "podman-version",
            "dns-default-network",
            "dns-network",
            "firewall-dns",
            "auto-update-timer",
            "prune-volumes",
            "prune-networks",
            "storage-driver",
            "storage-persisted",
            "linger",
            "short-name-mode",
        ]
    );
    assert_eq!(
        one(&findings, "firewall-dns").what,
        "UDP 53 is accepted on podman0, qg-media (inet nixos-fw rpfilter, inet nixos-fw input)"
    );
    assert_eq!(
        one(&findings, "auto-update-timer").what,
        "podman-auto-update.timer is enabled and active; next run Wed 2026-12-02 00:06:04 UTC"
    );
}

#[test]
fn podman_older_than_the_target_is_an_error() {
    let cases = [
        (Some("5.3.1"), "5.4", Level::Error),
        (Some("5.4.2"), "5.4", Level::Ok),
        (Some("5.8.0"), "5.4", Level::Ok),
        (Some("5.4.2"), "5.6", Level::Error),
        (Some("4.9.3"), "5.4", Level::Error),
        (None, "5.4", Level::Error),
    ];
    for (version, target, level) in cases {
        let mut facts = healthy();
        facts.podman_version = version.map(String::from);
        let o = Options {
            target: target.parse().expect("version"),
        };
        let f = diagnose(&facts, &o);
        assert_eq!(
            one(&f, "podman-version").level,
            level,
            "{version:?} {target}"
        );
    }
    let mut facts = healthy();
    facts.podman_version = Some("5.4.2".into());
    let f = diagnose(
        &facts,
        &Options {
            target: PodmanVersion::new(5, 6),
        },
    );
    assert_eq!(
        one(&f, "podman-version").fix,
        "quadgen install --podman 5.4 INVENTORY   # or upgrade podman to 5.6"
    );
}

#[test]
fn dns_off_on_the_default_network_is_fixed_by_writing_its_definition() {
    let mut facts = healthy();
    facts.networks = Ok(vec![
        network("podman", "podman0", "10.88.0.0/16", "10.88.0.1", false),
        network("media", "qg-media", "10.89.7.0/24", "10.89.7.1", true),
        // not ours, not the default: not checked
        network("other", "podman1", "10.89.9.0/24", "10.89.9.1", false),
    ]);
    let f = diagnose(&facts, &options());
    let d = one(&f, "dns-default-network");
    assert_eq!(d.level, Level::Error);
    let (head, rest) = d.fix.split_once('\n').expect("heredoc");
    assert_eq!(
        head,
        "mkdir -p /etc/containers/networks && cat > /etc/containers/networks/podman.json <<'EOF'"
    );
    let json = rest.strip_suffix("\nEOF").expect("EOF");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(v["dns_enabled"], true);
    assert_eq!(v["network_interface"], "podman0");
    assert!(v.get("containers").is_none(), "{v}");
    assert_eq!(one(&f, "dns-network").level, Level::Ok);

    facts.nixos = true;
    let f = diagnose(&facts, &options());
    assert!(
        one(&f, "dns-default-network")
            .fix
            .starts_with("virtualisation.podman.defaultNetwork.settings.dns_enabled = true;")
    );
}

#[test]
fn dns_off_on_our_network_is_an_error_naming_it() {
    let mut facts = healthy();
    facts.networks = Ok(vec![
        network("podman", "podman0", "10.88.0.0/16", "10.88.0.1", true),
        network("media", "qg-media", "10.89.7.0/24", "10.89.7.1", false),
    ]);
    let f = diagnose(&facts, &options());
    let d = one(&f, "dns-network");
    assert_eq!(d.level, Level::Error);
    assert_eq!(d.what, "quadgen's network `media` has DNS disabled");
    assert!(
        d.fix.contains("[networks.media.quadlet.Network]"),
        "{}",
        d.fix
    );
}

#[test]
fn nixos_nftables_firewall_without_the_rule_drops_dns() {
    let mut facts = healthy();
    facts.nft = Some(Ok(NFT_NIXOS_CLOSED.into()));
    let f = diagnose(&facts, &options());
    let d = one(&f, "firewall-dns");
    assert_eq!(d.level, Level::Error);
    assert_eq!(
        d.what,
        "the firewall drops container DNS (UDP 53) on `podman0` by inet nixos-fw input (policy \
         drop), `qg-media` by inet nixos-fw input (policy drop)"
    );
    assert_eq!(
        d.fix,
        "nft 'insert rule inet nixos-fw input iifname { \"podman0\", \"qg-media\" } udp dport 53 \
         accept'   # and add the same rule to your firewall's saved configuration"
    );
    facts.nixos = true;
    let f = diagnose(&facts, &options());
    assert_eq!(
        one(&f, "firewall-dns").fix,
        "networking.firewall.interfaces.\"podman0\".allowedUDPPorts = [ 53 ];\n\
         networking.firewall.interfaces.\"qg-media\".allowedUDPPorts = [ 53 ];   # \
         services.quadgen.enable sets these, then nixos-rebuild switch"
    );
}

#[test]
fn iptables_firewall_is_read_from_iptables_save() {
    // The nixos-fw chains with the podman0 rule only: qg-media falls through to the refuse chain.
    let mut facts = healthy();
    facts.nft = None;
    facts.iptables = Some(Ok(IPTABLES_NIXOS.into()));
    let f = diagnose(&facts, &options());
    let fw = of(&f, "firewall-dns");
    assert_eq!(fw.len(), 2, "{fw:#?}");
    assert_eq!(fw[0].level, Level::Error);
    assert_eq!(
        fw[0].what,
        "the firewall drops container DNS (UDP 53) on `qg-media` by iptables filter nixos-fw-refuse"
    );
    assert_eq!(
        fw[0].fix,
        "iptables -I INPUT -i qg-media -p udp --dport 53 -j ACCEPT   # and add the same rule to \
         your firewall's saved configuration"
    );
    assert_eq!(fw[1].level, Level::Ok);
    assert_eq!(
        fw[1].what,
        "UDP 53 is accepted on podman0 (iptables filter INPUT)"
    );

    // iptables-nft: nft shows the same tables with opaque `xt` matches; they are skipped there
    // and read from iptables-save.
    facts.nft = Some(Ok(NFT_OF_IPTABLES.into()));
    facts.iptables = Some(Ok(IPTABLES_NIXOS_CLOSED.into()));
    let f = diagnose(&facts, &options());
    let d = one(&f, "firewall-dns");
    assert_eq!(d.level, Level::Error, "{d:#?}");
    assert!(
        d.what.contains("`podman0`") && d.what.contains("`qg-media`"),
        "{}",
        d.what
    );
    // Without iptables-save, such a ruleset cannot be judged.
    facts.iptables = None;
    assert_eq!(
        one(&diagnose(&facts, &options()), "firewall-dns").level,
        Level::Warning
    );
}

/// podman's network and quadgen's dual-stack `lan` (bridge `qg-lan`), its IPv6 subnet listed
/// first (its gateway the first name server) when `ipv6_first`.
fn dual_stack(ipv6_first: bool) -> HostFacts {
    let mut lan = network("lan", "qg-lan", "10.89.60.0/24", "10.89.60.1", true);
    let v6 = SubnetFacts {
        subnet: "fd00:60::/64".into(),
        gateway: Some("fd00:60::1".into()),
    };
    if ipv6_first {
        lan.subnets.insert(0, v6);
    } else {
        lan.subnets.push(v6);
    }
    let mut facts = healthy();
    facts.networks = Ok(vec![
        network("podman", "podman0", "10.88.0.0/16", "10.88.0.1", true),
        lan,
    ]);
    facts
}

/// Each finding's level and text.
fn said(findings: &[Finding], id: &str) -> Vec<(Level, String)> {
    of(findings, id)
        .into_iter()
        .map(|f| (f.level, f.what.clone()))
        .collect()
}

#[test]
fn ipv6_dns_dropped_by_an_ip6_table_is_an_error_when_it_is_the_first_name_server() {
    // The ip table lets DNS in on `qg-*` only (so podman0's is dropped); the ip6 table nowhere.
    let mut facts = dual_stack(true);
    facts.nft = Some(Ok(NFT_DUAL_STACK_IPV6_CLOSED.into()));
    let f = diagnose(&facts, &options());
    assert_eq!(
        said(&f, "firewall-dns"),
        [
            (
                Level::Error,
                "the firewall drops container DNS (UDP 53) on `podman0` by ip qgtest4 input \
                 (policy drop)"
                    .to_string()
            ),
            // qg-lan's IPv4 name server answers, after the dropped first one timed out.
            (
                Level::Error,
                "the firewall drops container DNS (UDP 53) to the first name server on `qg-lan` \
                 (IPv6) by ip6 qgtest6 input (policy drop)"
                    .to_string()
            ),
            (
                Level::Ok,
                "UDP 53 is accepted on qg-lan (ip qgtest4 input)".to_string()
            )
        ]
    );
    let fixes: Vec<&str> = of(&f, "firewall-dns")
        .iter()
        .map(|f| f.fix.as_str())
        .collect();
    assert_eq!(
        fixes[..2],
        [
            "nft 'insert rule ip qgtest4 input iifname { \"podman0\" } udp dport 53 accept'   # \
             and add the same rule to your firewall's saved configuration",
            "nft 'insert rule ip6 qgtest6 input iifname { \"qg-lan\" } udp dport 53 accept'   # \
             and add the same rule to your firewall's saved configuration"
        ]
    );
    assert!(
        of(&f, "firewall-dns")[1].why.contains("5 s per try"),
        "{:#?}",
        of(&f, "firewall-dns")[1]
    );

    // After the fix as printed (run by the real nft), every query is accepted.
    facts.nft = Some(Ok(NFT_DUAL_STACK_FIXED.into()));
    assert_eq!(
        said(&diagnose(&facts, &options()), "firewall-dns"),
        [(
            Level::Ok,
            "UDP 53 is accepted on podman0, qg-lan (IPv6), qg-lan (ip qgtest4 input, ip6 qgtest6 \
             input)"
                .to_string()
        )]
    );

    // On NixOS too: these tables are not NixOS's firewall (`nixos-fw`), whose options would
    // not touch them.
    let mut facts = dual_stack(true);
    facts.nft = Some(Ok(NFT_DUAL_STACK_IPV6_CLOSED.into()));
    facts.nixos = true;
    assert_eq!(
        of(&diagnose(&facts, &options()), "firewall-dns")[1].fix,
        "nft 'insert rule ip6 qgtest6 input iifname { \"qg-lan\" } udp dport 53 accept'   # \
         and add the same rule to your firewall's saved configuration"
    );
}

#[test]
fn ipv6_dns_dropped_behind_an_accepted_ipv4_name_server_is_a_warning() {
    let mut facts = dual_stack(false);
    facts.nft = Some(Ok(NFT_DUAL_STACK_IPV6_CLOSED.into()));
    let f = diagnose(&facts, &options());
    let fw = of(&f, "firewall-dns");
    assert_eq!(
        said(&f, "firewall-dns"),
        [
            (
                Level::Error,
                "the firewall drops container DNS (UDP 53) on `podman0` by ip qgtest4 input \
                 (policy drop)"
                    .to_string()
            ),
            (
                Level::Warning,
                "the firewall drops container DNS (UDP 53) to a second name server on `qg-lan` \
                 (IPv6) by ip6 qgtest6 input (policy drop)"
                    .to_string()
            ),
            (
                Level::Ok,
                "UDP 53 is accepted on qg-lan (ip qgtest4 input)".to_string()
            )
        ]
    );
    assert_eq!(
        fw[1].fix,
        "nft 'insert rule ip6 qgtest6 input iifname { \"qg-lan\" } udp dport 53 accept'   # and \
         add the same rule to your firewall's saved configuration"
    );

    // Without an IPv6 subnet there is no IPv6 query: the ip6 table is not in the way.
    let mut facts = healthy();
    facts.nft = Some(Ok(NFT_DUAL_STACK_IPV6_CLOSED.into()));
    assert_eq!(
        said(&diagnose(&facts, &options()), "firewall-dns"),
        [
            (
                Level::Error,
                "the firewall drops container DNS (UDP 53) on `podman0` by ip qgtest4 input \
                 (policy drop)"
                    .to_string()
            ),
            (
                Level::Ok,
                "UDP 53 is accepted on qg-media (ip qgtest4 input)".to_string()
            )
        ]
    );
}

#[test]
fn an_inet_chain_dropping_both_versions_names_the_bridge_once_in_the_fix() {
    let mut facts = dual_stack(true);
    facts.nft = Some(Ok(nft_chain("drop", &[])));
    let fix = one(&diagnose(&facts, &options()), "firewall-dns")
        .fix
        .clone();
    // The IPv6 query needs neighbour discovery, which the chain drops too.
    assert_eq!(
        fix,
        "nft 'insert rule inet t in iifname { \"podman0\", \"qg-lan\" } udp dport 53 accept' && \
         nft 'insert rule inet t in iifname { \"qg-lan\" } icmpv6 type { nd-neighbor-solicit, \
         nd-neighbor-advert } accept'   # and add the same rule to your firewall's saved \
         configuration"
    );
    // On NixOS the same: `inet t` is not NixOS's firewall.
    facts.nixos = true;
    let on_nixos = one(&diagnose(&facts, &options()), "firewall-dns")
        .fix
        .clone();
    assert_eq!(on_nixos, fix);
}

#[test]
fn the_fix_opens_every_chain_that_drops_a_query_not_only_the_first() {
    use serde_json::json;
    // `in` drops qg-media's queries by a rule; `late` (a later base chain) drops everything by
    // its policy: qg-media's query must be let through both.
    let chain = |name: &str, policy: &str| {
        json!({"chain": {"family": "inet", "table": "t", "name": name, "type": "filter",
            "hook": "input", "prio": 0, "policy": policy}})
    };
    let ruleset = json!({"nftables": [
        {"table": {"family": "inet", "name": "t"}},
        chain("in", "accept"),
        chain("late", "drop"),
        {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "qg-media"}},
            {"drop": null}
        ]}}
    ]});
    let mut facts = healthy();
    facts.nft = Some(Ok(ruleset.to_string()));
    let f = diagnose(&facts, &options());
    let fw = one(&f, "firewall-dns");
    assert_eq!(
        fw.what,
        "the firewall drops container DNS (UDP 53) on `podman0` by inet t late (policy drop), \
         `qg-media` by inet t in"
    );
    assert_eq!(
        fw.fix,
        "nft 'insert rule inet t late iifname { \"podman0\", \"qg-media\" } udp dport 53 accept' \
         && nft 'insert rule inet t in iifname { \"qg-media\" } udp dport 53 accept'   # and add \
         the same rule to your firewall's saved configuration"
    );
}

#[test]
fn one_query_per_bridge_and_version_to_each_gateway_in_subnet_order() {
    let subnet = |subnet: &str, gateway: Option<&str>| SubnetFacts {
        subnet: subnet.into(),
        gateway: gateway.map(str::to_string),
    };
    let mut lan = network("lan", "qg-lan", "10.89.60.0/24", "10.89.60.1", true);
    lan.subnets = vec![
        subnet("fd00:60::/64", Some("fd00:60::1")),
        subnet("fd00:61::/64", Some("fd00:61::1")),
        subnet("10.89.60.0/24", None),
        subnet("10.89.61.0/24", Some("10.89.61.1")),
    ];
    let mut only6 = network("six", "qg-six", "fd00:62::/64", "fd00:62::1", true);
    only6.subnets[0].gateway = Some("fd00:62::1".into());
    let mut bare = network("bare", "qg-bare", "10.89.63.0/24", "10.89.63.1", true);
    bare.subnets.clear();
    let mut facts = healthy();
    facts.networks = Ok(vec![lan, only6, bare]);
    type Query = (String, Family, Option<String>, Option<String>, bool);
    let queries: Vec<Query> = super::checks::dns_packets(&facts)
        .into_iter()
        .map(|p| {
            let addr = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string());
            (p.iface, p.family, addr(p.saddr), addr(p.daddr), p.first)
        })
        .collect();
    let q = |iface: &str, family, saddr: Option<&str>, daddr: Option<&str>, first| {
        (
            iface.to_string(),
            family,
            saddr.map(str::to_string),
            daddr.map(str::to_string),
            first,
        )
    };
    assert_eq!(
        queries,
        [
            q(
                "qg-lan",
                Family::V6,
                Some("fd00:60::2"),
                Some("fd00:60::1"),
                true
            ),
            q(
                "qg-lan",
                Family::V4,
                Some("10.89.61.2"),
                Some("10.89.61.1"),
                false
            ),
            q(
                "qg-six",
                Family::V6,
                Some("fd00:62::2"),
                Some("fd00:62::1"),
                true
            ),
            q("qg-bare", Family::V4, None, None, true),
        ]
    );
}

#[test]
fn ipv6_dns_is_read_from_ip6tables_save() {
    let mut facts = dual_stack(true);
    facts.nft = None;
    facts.iptables = Some(Ok(String::new()));
    facts.ip6tables = Some(Ok(IP6TABLES_CLOSED.into()));
    let f = diagnose(&facts, &options());
    assert_eq!(
        said(&f, "firewall-dns"),
        [
            (
                Level::Error,
                "the firewall drops container DNS (UDP 53) to the first name server on `qg-lan` \
                 (IPv6) by ip6tables filter INPUT (policy DROP)"
                    .to_string()
            ),
            (
                Level::Ok,
                "UDP 53 is accepted on podman0, qg-lan (no input chain filters them)".to_string()
            )
        ]
    );
    assert_eq!(
        of(&f, "firewall-dns")[0].fix,
        "ip6tables -I INPUT -i qg-lan -p udp --dport 53 -j ACCEPT && ip6tables -I INPUT -i qg-lan \
         -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT && ip6tables -I INPUT -i \
         qg-lan -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT   # and add the \
         same rule to your firewall's saved configuration"
    );
    // The fix as ip6tables-save prints it once run: the query is accepted.
    let fixed = IP6TABLES_CLOSED.replace(
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -i qg-lan -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT\n\
         -A INPUT -i qg-lan -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT\n\
         -A INPUT -i qg-lan -p udp -m udp --dport 53 -j ACCEPT\n-A INPUT -i lo -j ACCEPT",
    );
    facts.ip6tables = Some(Ok(fixed));
    assert_eq!(
        one(&diagnose(&facts, &options()), "firewall-dns").level,
        Level::Ok
    );
    // An IPv4-only host does not consult ip6tables.
    let mut facts = healthy();
    facts.nft = None;
    facts.iptables = Some(Ok(String::new()));
    facts.ip6tables = Some(Ok(IP6TABLES_CLOSED.into()));
    let fw = one(&diagnose(&facts, &options()), "firewall-dns").clone();
    assert_eq!(fw.level, Level::Ok, "{fw:#?}");
    assert_eq!(
        fw.what,
        "nothing filters IPv4 input (the firewall's chains are for IPv6, and no network here has \
         an IPv6 subnet): UDP 53 reaches aardvark-dns"
    );
}

#[test]
fn ip6tables_extension_header_matches_and_valueless_options() {
    // ufw's before6.rules drop routing header type 0; a DNS query has no routing header.
    let filter = |rules: &str| {
        let text = format!("*filter\n:INPUT DROP [0:0]\n{rules}\nCOMMIT\n");
        IptablesRules::parse(&text, Family::V6).expect("a filter table")
    };
    let query = DnsPacket {
        iface: "qg-lan".into(),
        family: Family::V6,
        saddr: "fd00:60::2".parse().ok(),
        daddr: "fd00:60::1".parse().ok(),
        first: true,
        kind: PacketKind::DnsQuery,
    };
    let accept_dns = "-A INPUT -i qg-lan -p udp -m udp --dport 53 -j ACCEPT";
    for (rules, expected) in [
        (
            format!("-A INPUT -m rt --rt-type 0 -j DROP\n{accept_dns}"),
            Verdict::Accept,
        ),
        (
            format!("-A INPUT -m rt ! --rt-type 0 -j DROP\n{accept_dns}"),
            Verdict::Accept,
        ),
        // `--soft` takes no value: the rule's target is still read, and its header match is not
        // evaluated, so the rule's verdict is unknown rather than skipped.
        (
            "-A INPUT -m ipv6header --header ipv6-frag --soft -j DROP".to_string(),
            Verdict::Unknown {
                chain: "ip6tables filter INPUT".into(),
                why: "`--header ipv6-frag`".into(),
            },
        ),
        (
            format!("-A INPUT -m frag --fragmore -j DROP\n{accept_dns}"),
            Verdict::Accept,
        ),
        (
            format!("-A INPUT -s fd00:61::/64 -j DROP\n{accept_dns}"),
            Verdict::Accept,
        ),
        (
            format!("-A INPUT ! -s fd00:60::/64 -j DROP\n{accept_dns}"),
            Verdict::Accept,
        ),
        (
            "-A INPUT -s fd00:60::/64 -j DROP".to_string(),
            Verdict::Drop {
                chain: "ip6tables filter INPUT".into(),
            },
        ),
        (
            "-A INPUT -p ipv6-icmp -j ACCEPT".to_string(),
            Verdict::Drop {
                chain: "ip6tables filter INPUT (policy DROP)".into(),
            },
        ),
    ] {
        assert_eq!(filter(&rules).verdict(&query), expected, "{rules}");
    }
}

#[test]
fn nft_rules_are_evaluated_for_an_ipv6_query() {
    use serde_json::json;
    let query = |family, saddr: &str, daddr: &str| DnsPacket {
        iface: "qg-lan".into(),
        family,
        saddr: saddr.parse().ok(),
        daddr: daddr.parse().ok(),
        first: true,
        kind: PacketKind::DnsQuery,
    };
    let v6 = query(Family::V6, "fd00:60::2", "fd00:60::1");
    let v4 = query(Family::V4, "10.89.60.2", "10.89.60.1");
    let matches = |proto: &str, field: &str, op: &str, right: serde_json::Value| json!({"match": {"op": op, "left": {"payload": {"protocol": proto, "field": field}}, "right": right}});
    let meta = |key: &str, right: &str| json!({"match": {"op": "==", "left": {"meta": {"key": key}}, "right": right}});
    let exthdr = |header: serde_json::Value, right: serde_json::Value| json!({"match": {"op": "==", "left": {"exthdr": header}, "right": right}});
    let prefix = |addr: &str, len: u32| json!({"prefix": {"addr": addr, "len": len}});
    let (accept, drop) = (json!({"accept": null}), json!({"drop": null}));
    let dport = matches("udp", "dport", "==", json!(53));
    // (policy, rule, what the IPv6 query meets, what the IPv4 one meets); all rules as
    // nft 1.0.6 prints them in JSON.
    let cases = [
        (
            "accept",
            json!([matches("ip", "saddr", "!=", prefix("10.0.0.0", 8)), drop]),
            true,
            true,
        ),
        (
            "accept",
            json!([matches("ip", "protocol", "==", json!("udp")), drop]),
            true,
            false,
        ),
        (
            "drop",
            json!([meta("nfproto", "ipv6"), dport, accept]),
            true,
            false,
        ),
        (
            "drop",
            json!([meta("nfproto", "ipv4"), accept]),
            false,
            true,
        ),
        (
            "drop",
            json!([meta("protocol", "ip6"), accept]),
            true,
            false,
        ),
        (
            "drop",
            json!([matches("ip6", "nexthdr", "==", json!("udp")), accept]),
            true,
            false,
        ),
        (
            "drop",
            json!([
                matches("ip6", "saddr", "==", prefix("fd00:60::", 64)),
                accept
            ]),
            true,
            false,
        ),
        (
            "drop",
            json!([
                matches("ip6", "saddr", "==", prefix("fd00:61::", 64)),
                accept
            ]),
            false,
            false,
        ),
        (
            "drop",
            json!([matches("ip6", "saddr", "==", prefix("::", 0)), accept]),
            true,
            false,
        ),
        (
            "drop",
            json!([
                matches(
                    "ip6",
                    "daddr",
                    "==",
                    json!({"range": ["fd00:60::1", "fd00:60::ff"]})
                ),
                accept
            ]),
            true,
            false,
        ),
        (
            "drop",
            json!([
                matches("icmpv6", "type", "==", json!("echo-request")),
                accept
            ]),
            false,
            false,
        ),
        (
            "accept",
            json!([
                exthdr(json!({"name": "rt", "field": "type"}), json!(0)),
                drop
            ]),
            true,
            true,
        ),
        // `exthdr frag missing` carries nft's hidden `meta nfproto ipv6`: never IPv4.
        (
            "drop",
            json!([exthdr(json!({"name": "frag"}), json!(false)), accept]),
            true,
            false,
        ),
        (
            "drop",
            json!([exthdr(json!({"name": "frag"}), json!(true)), accept]),
            false,
            false,
        ),
    ];
    for (policy, rule, v6_accepted, v4_accepted) in cases {
        let rs =
            NftRuleset::parse(&nft_chain(policy, std::slice::from_ref(&rule))).expect("nft JSON");
        assert_eq!(
            rs.verdict(&v6) == Verdict::Accept,
            v6_accepted,
            "IPv6: {policy} {rule}"
        );
        assert_eq!(
            rs.verdict(&v4) == Verdict::Accept,
            v4_accepted,
            "IPv4: {policy} {rule}"
        );
    }
    // Which tables see which version: `ip` only IPv4, `ip6` only IPv6.
    for (family, v6_seen, v4_seen) in [
        ("ip", false, true),
        ("ip6", true, false),
        ("inet", true, true),
    ] {
        let json = nft_chain("drop", &[]).replace("\"inet\"", &format!("\"{family}\""));
        let rs = NftRuleset::parse(&json).expect("nft JSON");
        assert_eq!(
            rs.verdict(&v6) != Verdict::Accept,
            v6_seen,
            "{family} table, IPv6"
        );
        assert_eq!(
            rs.verdict(&v4) != Verdict::Accept,
            v4_seen,
            "{family} table, IPv4"
        );
    }
}

#[test]
fn no_firewall_is_said_so() {
    let mut facts = healthy();
    facts.nft = Some(Ok(
        r#"{"nftables": [{"metainfo": {"json_schema_version": 1}}]}"#.into(),
    ));
    facts.iptables = Some(Ok(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n".into(),
    ));
    let f = diagnose(&facts, &options());
    let d = one(&f, "firewall-dns");
    assert_eq!(d.level, Level::Ok);
    assert!(d.what.starts_with("no firewall is active"), "{}", d.what);
    // Not root: iptables-save fails, so nothing can be said.
    facts.nft = None;
    facts.iptables = Some(Err("Permission denied (you must be root)".into()));
    assert_eq!(
        one(&diagnose(&facts, &options()), "firewall-dns").level,
        Level::Warning
    );
    facts.iptables = None;
    assert!(
        one(&diagnose(&facts, &options()), "firewall-dns")
            .what
            .starts_with("no firewall is active")
    );
}

/// An nft ruleset with one input chain (`policy`) and these rules.
fn nft_chain(policy: &str, rules: &[serde_json::Value]) -> String {
    let mut items = vec![
        serde_json::json!({"table": {"family": "inet", "name": "t"}}),
        serde_json::json!({"chain": {"family": "inet", "table": "t", "name": "in",
            "type": "filter", "hook": "input", "prio": 0, "policy": policy}}),
    ];
    for r in rules {
        items.push(
            serde_json::json!({"rule": {"family": "inet", "table": "t", "chain": "in", "expr": r}}),
        );
    }
    serde_json::json!({ "nftables": items }).to_string()
}

#[test]
fn nft_rules_are_evaluated_for_the_dns_packet() {
    use serde_json::json;
    let iif = |v: serde_json::Value| json!({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": v}});
    let dport = |v: serde_json::Value| json!({"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": v}});
    let saddr = json!({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.88.0.0", "len": 16}}}});
    let accept = json!({"accept": null});
    let drop = json!({"drop": null});
    let cases: Vec<(&str, Vec<serde_json::Value>, Level)> = vec![
        ("drop", vec![], Level::Error),
        ("accept", vec![], Level::Ok),
        (
            "drop",
            vec![json!([iif(json!("podman0")), dport(json!(53)), accept])],
            Level::Error,
        ), // qg-media still dropped
        (
            "drop",
            vec![json!([
                iif(json!({"set": ["podman0", "qg-*"]})),
                dport(json!(53)),
                accept
            ])],
            Level::Ok,
        ),
        (
            "drop",
            vec![
                json!([iif(json!("qg-*")), accept]),
                json!([
                    iif(json!("podman0")),
                    dport(json!({"range": [50, 60]})),
                    accept
                ]),
            ],
            Level::Ok,
        ),
        // wrong port, TCP only
        (
            "drop",
            vec![json!([iif(json!("podman0")), dport(json!(54)), accept])],
            Level::Error,
        ),
        (
            "drop",
            vec![json!([
                json!({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 53}}),
                accept
            ])],
            Level::Error,
        ),
        // an explicit drop before a later accept
        (
            "accept",
            vec![json!([dport(json!(53)), drop]), json!([accept])],
            Level::Error,
        ),
        // != on the interface
        (
            "accept",
            vec![json!([
                json!({"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}),
                drop
            ])],
            Level::Error,
        ),
        // source address only from podman's subnet: qg-media's 10.89.7.0/24 is dropped
        (
            "drop",
            vec![json!([saddr.clone(), dport(json!(53)), accept])],
            Level::Error,
        ),
        // an unevaluable match that decides: warning, not a guess
        (
            "drop",
            vec![json!([
                json!({"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}}),
                accept
            ])],
            Level::Warning,
        ),
        // an unevaluable match in a rule that does not decide changes nothing
        (
            "accept",
            vec![json!([
                json!({"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}}),
                json!({"counter": null})
            ])],
            Level::Ok,
        ),
    ];
    for (i, (policy, rules, level)) in cases.into_iter().enumerate() {
        let mut facts = healthy();
        facts.nft = Some(Ok(nft_chain(policy, &rules)));
        let f = diagnose(&facts, &options());
        let worst = of(&f, "firewall-dns")
            .iter()
            .map(|f| f.level)
            .min()
            .expect("a firewall finding");
        assert_eq!(worst, level, "case {i}: {policy} {rules:?}\n{f:#?}");
    }
}

fn timer(name: &str, state: &str, active: &str, commands: &[&str]) -> TimerFacts {
    TimerFacts {
        timer: name.into(),
        unit_file_state: state.into(),
        active_state: active.into(),
        next_elapse: if active == "active" {
            "Mon 2026-12-07 00:00:00 UTC".into()
        } else {
            String::new()
        },
        service: name.replace(".timer", ".service"),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        scripts: Vec::new(),
    }
}

#[test]
fn auto_update_timer_states() {
    let cases = [
        (
            "enabled",
            "active",
            Level::Ok,
            "systemctl enable --now podman-auto-update.timer",
        ),
        (
            "disabled",
            "inactive",
            Level::Error,
            "systemctl enable --now podman-auto-update.timer",
        ),
        (
            "enabled",
            "inactive",
            Level::Error,
            "systemctl enable --now podman-auto-update.timer",
        ),
        (
            "disabled",
            "active",
            Level::Warning,
            "systemctl enable --now podman-auto-update.timer",
        ),
        ("linked", "active", Level::Ok, ""),
    ];
    for (state, active, level, fix) in cases {
        let mut facts = healthy();
        facts.timers = vec![timer("podman-auto-update.timer", state, active, &[])];
        let f = diagnose(&facts, &options());
        let t = one(&f, "auto-update-timer");
        assert_eq!(t.level, level, "{state} {active}");
        if level != Level::Ok {
            assert_eq!(t.fix, fix);
        }
    }
    let mut facts = healthy();
    facts.timers.clear();
    let f = diagnose(&facts, &options());
    assert_eq!(one(&f, "auto-update-timer").level, Level::Error);
    assert_eq!(
        one(&f, "auto-update-timer").what,
        "podman-auto-update.timer does not exist"
    );
}

/// A prune in cron is found like one in a timer; a commented-out line is not.
#[test]
fn prunes_scheduled_by_cron() {
    let mut facts = healthy();
    facts.crontabs.push((
        "/etc/cron.d/podman".into(),
        "# 0 3 * * * root podman system prune -af --volumes\n\
         0 4 * * 0 root /usr/bin/podman system prune -af --volumes\n"
            .into(),
    ));
    let f = diagnose(&facts, &options());
    let volumes = one(&f, "prune-volumes");
    assert_eq!(volumes.level, Level::Error, "{f:#?}");
    assert_eq!(
        volumes.what,
        "cron (/etc/cron.d/podman) runs `0 4 * * 0 root /usr/bin/podman system prune -af --volumes`"
    );
    assert!(
        volumes
            .fix
            .starts_with("edit /etc/cron.d/podman: remove `--volumes`"),
        "{}",
        volumes.fix
    );
    assert_eq!(one(&f, "prune-networks").level, Level::Error);

    facts.crontabs[1].1 = "# 0 3 * * * root podman system prune -af --volumes\n".into();
    let f = diagnose(&facts, &options());
    assert_eq!(one(&f, "prune-volumes").level, Level::Ok);
    assert_eq!(one(&f, "prune-networks").level, Level::Ok);

    // A user's own crontab, or a system crontab line run as a user, prunes that user's podman:
    // quadgen's system networks are out of its reach (a warning), its volumes are not safe.
    for (path, line) in [
        (
            "/var/spool/cron/crontabs/alice",
            "0 4 * * * podman system prune -af --volumes",
        ),
        (
            "/etc/cron.d/podman",
            "@weekly alice podman system prune -af --volumes",
        ),
    ] {
        facts.crontabs[1] = (path.into(), format!("{line}\n"));
        let f = diagnose(&facts, &options());
        let networks = one(&f, "prune-networks");
        assert_eq!(networks.level, Level::Warning, "{path}: {networks:#?}");
        assert!(
            networks.what.contains("of alice's podman"),
            "{}",
            networks.what
        );
        assert_eq!(one(&f, "prune-volumes").level, Level::Error);
    }

    // `--volumes=false` keeps volumes; a quoted `sh -c` line is still read.
    facts.crontabs[1].1 = "0 4 * * * root podman image prune -af --volumes=false\n\
                           0 5 * * * root sh -c \"podman volume prune -f --volumes\"\n"
        .into();
    let f = diagnose(&facts, &options());
    let volumes: Vec<_> = f.iter().filter(|x| x.id == "prune-volumes").collect();
    assert_eq!(volumes.len(), 1, "{volumes:#?}");
    assert!(volumes[0].what.contains("sh -c"), "{volumes:#?}");
}

#[test]
fn prunes_with_volumes_or_that_remove_networks() {
    let cases: Vec<(Vec<TimerFacts>, Level, Level)> = vec![
        // quadgen's own prune: fine
        (
            vec![timer(
                "quadgen-prune.timer",
                "enabled",
                "active",
                &["/usr/bin/podman image prune --all --force --filter until=24h"],
            )],
            Level::Ok,
            Level::Ok,
        ),
        (
            vec![timer(
                "prune.timer",
                "enabled",
                "active",
                &["/usr/bin/podman system prune -f --volumes"],
            )],
            Level::Error,
            Level::Error, // quadgen's network `media` exists
        ),
        (
            vec![timer(
                "prune.timer",
                "enabled",
                "active",
                &["/usr/bin/podman volume prune --volumes=true -f"],
            )],
            Level::Error,
            Level::Ok,
        ),
        (
            vec![timer(
                "prune.timer",
                "enabled",
                "active",
                &["/usr/bin/podman network prune -f"],
            )],
            Level::Ok,
            Level::Error,
        ),
        // disabled and not running: never fires
        (
            vec![timer(
                "prune.timer",
                "disabled",
                "inactive",
                &["/usr/bin/podman system prune -f --volumes"],
            )],
            Level::Ok,
            Level::Ok,
        ),
    ];
    for (i, (timers, volumes, networks)) in cases.into_iter().enumerate() {
        let mut facts = healthy();
        facts.timers.extend(timers);
        let f = diagnose(&facts, &options());
        assert_eq!(one(&f, "prune-volumes").level, volumes, "case {i}: {f:#?}");
        assert_eq!(
            one(&f, "prune-networks").level,
            networks,
            "case {i}: {f:#?}"
        );
    }

    // The fix disables the timer, and enables quadgen's safe prune when it is there.
    let mut facts = healthy();
    facts.timers.push(timer(
        "bad.timer",
        "enabled",
        "active",
        &["/usr/bin/podman system prune -af --volumes"],
    ));
    assert_eq!(
        one(&diagnose(&facts, &options()), "prune-volumes").fix,
        "systemctl disable --now bad.timer   # a safe prune: quadgen-prune.timer from `quadgen host-units install` (images only)"
    );
    facts.timers.push(timer(
        "quadgen-prune.timer",
        "disabled",
        "inactive",
        &["/usr/local/bin/podman image prune --all --force --filter until=24h"],
    ));
    assert_eq!(
        one(&diagnose(&facts, &options()), "prune-networks").fix,
        "systemctl disable --now bad.timer && systemctl enable --now quadgen-prune.timer   # images only: `podman image prune --all --filter until=24h`"
    );

    // NixOS's autoPrune unit runs a script from the store.
    let mut facts = healthy();
    facts.nixos = true;
    let mut t = timer(
        "podman-prune.timer",
        "linked",
        "active",
        &["/nix/store/abc-unit-script-podman-prune-start/bin/podman-prune-start"],
    );
    t.scripts = vec![(
        "/nix/store/abc-unit-script-podman-prune-start/bin/podman-prune-start".into(),
        "#!/nix/store/x-bash/bin/bash\nset -e\n/nix/store/y-podman-5.4.1/bin/podman system prune -f --all --volumes\n".into(),
    )];
    facts.timers.push(t);
    let f = diagnose(&facts, &options());
    let v = one(&f, "prune-volumes");
    assert_eq!(v.level, Level::Error);
    assert_eq!(
        v.what,
        "podman-prune.timer runs `/nix/store/y-podman-5.4.1/bin/podman system prune -f --all --volumes`"
    );
    assert!(
        v.fix.contains("virtualisation.podman.autoPrune"),
        "{}",
        v.fix
    );
    // Without quadgen networks, system prune is a warning.
    facts.networks = Ok(vec![network(
        "podman",
        "podman0",
        "10.88.0.0/16",
        "10.88.0.1",
        true,
    )]);
    assert_eq!(
        one(&diagnose(&facts, &options()), "prune-networks").level,
        Level::Warning
    );
}

#[test]
fn storage_driver_and_filesystem() {
    let base = healthy();
    let with = |driver: &str, mounts: Vec<Mount>, acl: Option<&str>, rootless: bool| {
        let mut f = base.clone();
        f.storage = Some(StorageFacts {
            driver: driver.into(),
            graph_root: "/var/lib/containers/storage".into(),
            rootless,
            zfs_acltype: acl.map(String::from),
        });
        f.mounts = mounts;
        diagnose(&f, &options())
    };
    let btrfs = vec![mount("/", "btrfs", "/dev/sda2")];
    assert_eq!(
        one(
            &with("overlay", btrfs.clone(), None, false),
            "storage-driver"
        )
        .level,
        Level::Warning
    );
    assert_eq!(
        one(&with("btrfs", btrfs, None, false), "storage-driver").level,
        Level::Ok
    );
    let zfs = vec![
        mount("/", "ext4", "/dev/sda1"),
        mount("/var/lib/containers", "zfs", "tank/containers"),
    ];
    let f = with("overlay", zfs.clone(), Some("off"), false);
    let d = one(&f, "storage-driver");
    assert_eq!(d.level, Level::Error);
    assert_eq!(d.fix, "zfs set acltype=posixacl tank/containers");
    assert_eq!(
        one(
            &with("overlay", zfs.clone(), Some("posix"), false),
            "storage-driver"
        )
        .level,
        Level::Ok
    );
    assert_eq!(
        one(&with("zfs", zfs, None, true), "storage-driver").level,
        Level::Error
    );
}

#[test]
fn impermanence_needs_var_lib_containers_persisted() {
    let mut facts = healthy();
    facts.nixos = true;
    facts.mounts = vec![
        mount("/", "tmpfs", "none"),
        mount("/nix", "ext4", "/dev/sda1"),
    ];
    let f = diagnose(&facts, &options());
    let d = one(&f, "storage-persisted");
    assert_eq!(d.level, Level::Error);
    assert_eq!(
        d.fix,
        "environment.persistence.\"/persist\".directories = [ \"/var/lib/containers\" ];"
    );
    // A bind mount from /persist: persisted.
    facts
        .mounts
        .push(mount("/var/lib/containers", "ext4", "/dev/sda1"));
    assert_eq!(
        one(&diagnose(&facts, &options()), "storage-persisted").level,
        Level::Ok
    );
    // A tmpfs graph root on a disk root: a warning.
    facts.mounts = vec![
        mount("/", "ext4", "/dev/sda1"),
        mount("/var/lib/containers", "tmpfs", "tmpfs"),
    ];
    assert_eq!(
        one(&diagnose(&facts, &options()), "storage-persisted").level,
        Level::Warning
    );
}

#[test]
fn rootless_users_need_linger() {
    let mut facts = healthy();
    facts.rootless_users = vec![
        RootlessUser {
            user: "alice".into(),
            units_dir: "/home/alice/.config/containers/systemd".into(),
            linger: false,
        },
        RootlessUser {
            user: "bob".into(),
            units_dir: "/etc/containers/systemd/users/1001".into(),
            linger: true,
        },
    ];
    let f = diagnose(&facts, &options());
    let l = of(&f, "linger");
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].level, l[0].fix.as_str()),
        (Level::Error, "loginctl enable-linger alice")
    );
    assert_eq!(l[1].level, Level::Ok);
    facts.nixos = true;
    assert_eq!(
        of(&diagnose(&facts, &options()), "linger")[0].fix,
        "users.users.alice.linger = true;"
    );
    assert_eq!(
        one(&diagnose(&healthy(), &options()), "linger").what,
        "no rootless quadlet units: linger not needed"
    );
}

#[test]
fn short_name_mode_last_file_wins() {
    let main = (
        "/etc/containers/registries.conf".to_string(),
        "short-name-mode = \"enforcing\"\n".to_string(),
    );
    let dropin = (
        "/etc/containers/registries.conf.d/10-x.conf".to_string(),
        "short-name-mode = \"permissive\"\n[aliases]\n\"nginx\" = \"docker.io/library/nginx\"\n"
            .to_string(),
    );
    let mut facts = healthy();
    facts.registries_conf = vec![main.clone(), dropin.clone()];
    let f = diagnose(&facts, &options());
    let d = one(&f, "short-name-mode");
    assert_eq!(d.level, Level::Warning);
    assert_eq!(
        d.what,
        "short-name-mode is `permissive` (/etc/containers/registries.conf.d/10-x.conf)"
    );
    assert_eq!(
        d.fix,
        "sed -i 's/^short-name-mode *=.*/short-name-mode = \"enforcing\"/' /etc/containers/registries.conf.d/10-x.conf"
    );
    facts.registries_conf = vec![dropin, main];
    assert_eq!(
        one(&diagnose(&facts, &options()), "short-name-mode").level,
        Level::Ok
    );
    facts.registries_conf = vec![(
        "/etc/containers/registries.conf".into(),
        "short-name-mode = \n".into(),
    )];
    assert_eq!(
        one(&diagnose(&facts, &options()), "short-name-mode").level,
        Level::Warning
    );
}

#[test]
fn text_lists_problems_first_with_why_and_fix() {
    let mut facts = healthy();
    facts.timers.clear();
    let f = diagnose(&facts, &options());
    let text = render_text(&f);
    assert!(
        text.starts_with(
            "error    [auto-update-timer] podman-auto-update.timer does not exist\n\
             \x20        why: nothing runs `podman auto-update`: `AutoUpdate=registry` images go stale\n\
             \x20        fix: systemctl enable --now podman-auto-update.timer\n\
             ok       [podman-version]"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("1 error(s), 0 warning(s), 10 ok\n"),
        "{text}"
    );
    assert!(has_errors(&f));
}

#[test]
fn parsers_of_the_gathered_output() {
    let exec = "{ path=/usr/bin/podman ; argv[]=/usr/bin/podman auto-update ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }";
    assert_eq!(parse_exec(exec), ["/usr/bin/podman auto-update"]);
    assert!(parse_exec("").is_empty());

    let mountinfo = "\
26 1 0:23 / / rw,relatime shared:1 - tmpfs none rw,mode=755
27 26 8:1 /persist/var/lib/containers /var/lib/containers rw,relatime shared:2 - ext4 /dev/sda1 rw
28 26 0:24 / /mnt/with\\040space rw - nfs4 srv:/x rw
";
    let m = parse_mountinfo(mountinfo);
    assert_eq!(
        m,
        vec![
            mount("/", "tmpfs", "none"),
            mount("/var/lib/containers", "ext4", "/dev/sda1"),
            mount("/mnt/with space", "nfs4", "srv:/x"),
        ]
    );

    // `podman network inspect` of podman 5.4.2 (from the e2e machine).
    let json = r#"[{"name":"podman","id":"2f25","driver":"bridge","network_interface":"podman0",
        "created":"2026-12-01T14:47:18Z","subnets":[{"subnet":"fd00::/64","gateway":"fd00::1"},
        {"subnet":"10.88.0.0/16","gateway":"10.88.0.1"}],"ipv6_enabled":false,"internal":false,
        "dns_enabled":false,"ipam_options":{"driver":"host-local"},"containers":{}},
        {"name":"media","driver":"bridge","network_interface":"qg-media","dns_enabled":true,
        "subnets":[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]},
        {"name":"mine","driver":"bridge","network_interface":"podman2","dns_enabled":true}]"#;
    let n = parse_networks(json, &["mine".to_string()]);
    assert_eq!(n.len(), 3);
    assert_eq!(
        (
            n[0].name.as_str(),
            n[0].interface.as_str(),
            n[0].dns_enabled,
            n[0].ours
        ),
        ("podman", "podman0", false, false)
    );
    let subnet = |subnet: &str, gateway: &str| SubnetFacts {
        subnet: subnet.into(),
        gateway: Some(gateway.into()),
    };
    assert_eq!(
        n[0].subnets,
        vec![
            subnet("fd00::/64", "fd00::1"),
            subnet("10.88.0.0/16", "10.88.0.1")
        ]
    );
    assert!(n[1].ours && n[1].dns_enabled);
    assert!(n[2].ours, "named in the manifest");
}

/// cron's places are read: the system table, `cron.d`, the periodic script folders and the users'
/// tables, each as its path and text.
#[test]
fn crontabs_are_read_from_crons_places() {
    let root = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let p = root.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("etc/crontab", "system\n");
    write("etc/cron.d/podman", "d\n");
    write("etc/cron.weekly/prune", "weekly\n");
    write("var/spool/cron/crontabs/alice", "alice\n");
    let got: Vec<(String, String)> = crontabs(root.path())
        .into_iter()
        .map(|(p, t)| {
            let rel = std::path::Path::new(&p)
                .strip_prefix(root.path())
                .expect("under root");
            (rel.display().to_string(), t)
        })
        .collect();
    let want = [
        ("etc/crontab", "system\n"),
        ("etc/cron.d/podman", "d\n"),
        ("etc/cron.weekly/prune", "weekly\n"),
        ("var/spool/cron/crontabs/alice", "alice\n"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// An nft ruleset of one inet table: its input base chain (`policy`, `rules`) and regular
/// chains (`name`, `rules`).
fn nft_chains(
    policy: &str,
    rules: &[serde_json::Value],
    chains: &[(&str, Vec<serde_json::Value>)],
) -> NftRuleset {
    let mut items = vec![
        serde_json::json!({"table": {"family": "inet", "name": "t"}}),
        serde_json::json!({"chain": {"family": "inet", "table": "t", "name": "in",
            "type": "filter", "hook": "input", "prio": 0, "policy": policy}}),
    ];
    for (name, _) in chains {
        items.push(serde_json::json!({"chain": {"family": "inet", "table": "t", "name": name}}));
    }
    let all = std::iter::once(("in", rules)).chain(chains.iter().map(|(n, r)| (*n, &r[..])));
    for (chain, rules) in all {
        for r in rules {
            items.push(serde_json::json!({"rule": {"family": "inet", "table": "t",
                "chain": chain, "expr": r}}));
        }
    }
    NftRuleset::parse(&serde_json::json!({ "nftables": items }).to_string()).expect("nft JSON")
}

fn lan_query(family: Family) -> DnsPacket {
    let (saddr, daddr) = match family {
        Family::V4 => ("10.89.60.2", "10.89.60.1"),
        Family::V6 => ("fd00:60::2", "fd00:60::1"),
    };
    DnsPacket {
        iface: "qg-lan".into(),
        family,
        saddr: saddr.parse().ok(),
        daddr: daddr.parse().ok(),
        first: true,
        kind: PacketKind::DnsQuery,
    }
}

#[test]
fn nft_goto_return_and_jump_end_chains_as_the_kernel_does() {
    use serde_json::json;
    let (accept, drop) = (json!({"accept": null}), json!({"drop": null}));
    let jump = |t: &str| json!({"jump": {"target": t}});
    let goto = |t: &str| json!({"goto": {"target": t}});
    let ret = json!({"return": null});
    let on_lan =
        json!({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "qg-lan"}});
    let drop_chain = Verdict::Drop {
        chain: "inet t in (policy drop)".into(),
    };
    // (case, the base chain's rules, the other chains, what the query meets)
    type Chains<'a> = Vec<(&'a str, Vec<serde_json::Value>)>;
    let cases: Vec<(&str, Vec<serde_json::Value>, Chains, Verdict)> = vec![
        // A jumped-to chain that ends: the next rule (accept) follows.
        (
            "jump",
            vec![json!([jump("sub")]), json!([accept.clone()])],
            vec![("sub", vec![])],
            Verdict::Accept,
        ),
        // After a goto, the end of the target ends the base chain too: its policy.
        (
            "goto",
            vec![json!([goto("sub")]), json!([accept.clone()])],
            vec![("sub", vec![])],
            drop_chain.clone(),
        ),
        // `return` ends its chain: the drop after it is not reached.
        (
            "return",
            vec![json!([jump("sub")]), json!([accept.clone()])],
            vec![(
                "sub",
                vec![json!([on_lan.clone(), ret.clone()]), json!([drop.clone()])],
            )],
            Verdict::Accept,
        ),
        // `return` in a base chain: its policy.
        (
            "base return",
            vec![json!([ret.clone()]), json!([accept.clone()])],
            vec![],
            drop_chain.clone(),
        ),
        // firewalld: the zones chain goes to the zone, whose end returns past the zones chain
        // to filter_INPUT, which rejects.
        (
            "firewalld",
            vec![
                json!([
                    json!({"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}),
                    accept.clone()
                ]),
                json!([jump("zones")]),
                json!([json!({"reject": {"type": "icmpx", "expr": "admin-prohibited"}})]),
            ],
            vec![
                (
                    "zones",
                    vec![json!([goto("public")]), json!([accept.clone()])],
                ),
                (
                    "public",
                    vec![json!([
                        json!({"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["icmp", "ipv6-icmp"]}}}),
                        accept.clone()
                    ])],
                ),
            ],
            Verdict::Drop {
                chain: "inet t in".into(),
            },
        ),
        // A userspace program decides a queued packet.
        (
            "queue",
            vec![json!([json!({"queue": {"num": 0}})])],
            vec![],
            Verdict::Unknown {
                chain: "inet t in".into(),
                why: "a `queue` statement".into(),
            },
        ),
    ];
    for (name, rules, chains, expected) in cases {
        let rs = nft_chains("drop", &rules, &chains);
        for family in [Family::V4, Family::V6] {
            assert_eq!(
                rs.verdict(&lan_query(family)),
                expected,
                "{name}, {family:?}"
            );
        }
    }
    // An interface named `xt` does not make a table iptables-nft's.
    let rs = nft_chains(
        "drop",
        &[json!([
            json!({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "xt"}}),
            accept
        ])],
        &[],
    );
    assert!(rs.xt_tables_of(Family::V4).is_empty());
    assert_eq!(rs.path_chains(Family::V4), ["inet t in"]);
}

#[test]
fn iptables_goto_return_addrtype_and_iprange_as_the_kernel_has_them() {
    let filter = |family, rules: &str| {
        let text = format!("*filter\n:INPUT DROP [0:0]\n:sub - [0:0]\n{rules}\nCOMMIT\n");
        IptablesRules::parse(&text, family).expect("a filter table")
    };
    let policy = |program: &str| Verdict::Drop {
        chain: format!("{program} filter INPUT (policy DROP)"),
    };
    for (rules, expected) in [
        ("-A INPUT -j sub\n-A INPUT -j ACCEPT", Verdict::Accept),
        ("-A INPUT -g sub\n-A INPUT -j ACCEPT", policy("iptables")),
        (
            "-A INPUT -j sub\n-A INPUT -j ACCEPT\n-A sub -i qg-+ -j RETURN\n-A sub -j DROP",
            Verdict::Accept,
        ),
        (
            "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT",
            Verdict::Accept,
        ),
        (
            "-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT",
            Verdict::Accept,
        ),
        (
            "-A INPUT -m addrtype --dst-type BROADCAST,MULTICAST -j ACCEPT",
            policy("iptables"),
        ),
        (
            "-A INPUT -m addrtype --src-type UNICAST -j ACCEPT",
            Verdict::Accept,
        ),
        (
            "-A INPUT -m addrtype --src-type LOCAL -j ACCEPT",
            policy("iptables"),
        ),
        // ufw's ufw-not-local: a local destination returns before the rate-limited log.
        (
            "-A INPUT -j sub\n-A INPUT -j ACCEPT\n-A sub -m addrtype --dst-type LOCAL -j RETURN\n\
             -A sub -m limit --limit 3/min --limit-burst 10 -j sub\n-A sub -j DROP",
            Verdict::Accept,
        ),
        (
            "-A INPUT -m iprange ! --dst-range 192.168.1.1-192.168.1.9 -j DROP\n-A INPUT -j ACCEPT",
            Verdict::Drop {
                chain: "iptables filter INPUT".into(),
            },
        ),
        (
            "-A INPUT -m iprange --src-range 10.89.60.2-10.89.60.9 -j ACCEPT",
            Verdict::Accept,
        ),
        ("-A INPUT -f -j ACCEPT", policy("iptables")),
        ("-A INPUT ! -f -j ACCEPT", Verdict::Accept),
        (
            "-A INPUT -j NFQUEUE --queue-num 1",
            Verdict::Unknown {
                chain: "iptables filter INPUT".into(),
                why: "`-j NFQUEUE`".into(),
            },
        ),
    ] {
        assert_eq!(
            filter(Family::V4, rules).verdict(&lan_query(Family::V4)),
            expected,
            "{rules}"
        );
    }
    // ip6tables: an IPv4 range holds no IPv6 address.
    assert_eq!(
        filter(
            Family::V6,
            "-A INPUT -m iprange --src-range 10.0.0.0-10.255.255.255 -j ACCEPT"
        )
        .verdict(&lan_query(Family::V6)),
        policy("ip6tables")
    );
}

#[test]
fn iptables_nft_tables_are_read_once_and_fixed_with_iptables() {
    let mut facts = dual_stack(true);
    facts.nft = Some(Ok(NFT_OF_IP6TABLES_NFT.into()));
    facts.iptables = Some(Ok(String::new()));
    facts.ip6tables = Some(Ok(IP6TABLES_NFT.into()));
    let f = diagnose(&facts, &options());
    let dropped = of(&f, "firewall-dns")[0];
    assert_eq!(
        (dropped.level, dropped.what.as_str()),
        (
            Level::Error,
            "the firewall drops container DNS (UDP 53) to the first name server on `qg-lan` \
             (IPv6) by ip6 filter INPUT (policy drop)"
        ),
        "{f:#?}"
    );
    // Read once, from nft's JSON; fixed with ip6tables, not with `nft insert rule ip6 filter
    // INPUT … { "qg-lan" }`, which iptables-nft cannot read back.
    assert_eq!(
        dropped.fix,
        "ip6tables -I INPUT -i qg-lan -p udp --dport 53 -j ACCEPT   # and add the same rule to \
         your firewall's saved configuration"
    );
}

#[test]
fn rules_that_cannot_be_read_leave_their_queries_undecided() {
    use serde_json::json;
    // An inet chain that lets DNS (and ICMPv6) in on every bridge, over both versions.
    let open = nft_chain(
        "drop",
        &[
            json!([
                json!({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": ["podman0", "qg-*"]}}}),
                json!({"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}}),
                json!({"accept": null})
            ]),
            json!([
                json!({"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "ipv6-icmp"}}),
                json!({"accept": null})
            ]),
        ],
    );
    let mut facts = dual_stack(true);
    facts.nft = Some(Ok(open.clone()));
    facts.iptables = Some(Ok(String::new()));
    facts.ip6tables = Some(Err("Permission denied (you must be root)".into()));
    assert_eq!(
        said(&diagnose(&facts, &options()), "firewall-dns"),
        [
            (
                Level::Warning,
                "cannot tell whether UDP 53 on `qg-lan` (IPv6) is accepted: `ip6tables-save` \
                 failed: Permission denied (you must be root)"
                    .to_string()
            ),
            (
                Level::Ok,
                "UDP 53 is accepted on podman0, qg-lan (inet t in)".to_string()
            )
        ]
    );
    // Without an IPv6 network, ip6tables' rules do not matter.
    let mut v4_only = facts.clone();
    v4_only.networks = healthy().networks;
    assert!(
        of(&diagnose(&v4_only, &options()), "firewall-dns")
            .iter()
            .all(|f| f.level == Level::Ok)
    );
    // iptables-nft's `ip6 filter` (xt expressions) when ip6tables-save is not installed.
    let mut items: serde_json::Value = serde_json::from_str(&open).expect("nft JSON");
    let xt = serde_json::from_str::<serde_json::Value>(&NFT_OF_IP6TABLES_NFT.replace(
        r#"{"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]}}, {"rule""#,
        r#"{"xt": {"type": "match", "name": "conntrack"}}, {"accept": null}]}}, {"rule""#,
    ))
    .expect("nft JSON");
    let list = items["nftables"].as_array_mut().expect("array");
    list.extend(xt["nftables"].as_array().expect("array").iter().cloned());
    facts.nft = Some(Ok(items.to_string()));
    facts.ip6tables = None;
    let f = diagnose(&facts, &options());
    assert_eq!(
        said(&f, "firewall-dns")[0],
        (
            Level::Warning,
            "cannot tell whether UDP 53 on `qg-lan` (IPv6) is accepted: the ruleset has \
             iptables-nft tables, and `ip6tables-save` cannot be run"
                .to_string()
        ),
        "{f:#?}"
    );
}

#[test]
fn netdev_chains_and_dormant_tables_as_nft_1_1_prints_them() {
    use serde_json::json;
    // nft 1.1.3 prints an ingress chain's device as `dev` and table flags by name.
    let ruleset = |flags: serde_json::Value, dev: serde_json::Value| {
        let mut table = json!({"family": "netdev", "name": "t"});
        if !flags.is_null() {
            table["flags"] = flags;
        }
        let mut chain = json!({"family": "netdev", "table": "t", "name": "ingress",
            "type": "filter", "hook": "ingress", "prio": 0, "policy": "accept"});
        if !dev.is_null() {
            chain["dev"] = dev;
        }
        let rule = json!({"family": "netdev", "table": "t", "chain": "ingress", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}},
            {"drop": null}]});
        let json = json!({"nftables": [{"table": table}, {"chain": chain}, {"rule": rule}]});
        NftRuleset::parse(&json.to_string()).expect("nft JSON")
    };
    let query = lan_query(Family::V4);
    let dropped = Verdict::Drop {
        chain: "netdev t ingress".into(),
    };
    for (flags, dev, expected) in [
        (json!(null), json!("qg-lan"), dropped.clone()),
        (json!(null), json!(["eth0", "qg-lan"]), dropped.clone()),
        // Another device's ingress: the query does not pass it.
        (json!(null), json!("eth0"), Verdict::Accept),
        (json!("dormant"), json!("qg-lan"), Verdict::Accept),
        (
            json!(["owner", "persist"]),
            json!("qg-lan"),
            dropped.clone(),
        ),
    ] {
        assert_eq!(
            ruleset(flags.clone(), dev.clone()).verdict(&query),
            expected,
            "flags {flags}, dev {dev}"
        );
    }
    // A veth may be a port of the bridge; nft 1.0.6 names no device; its flags are garbled.
    for (flags, dev) in [
        (json!(null), json!("veth3f2a")),
        (json!(null), json!(null)),
        (json!("Lester Gooch #5"), json!("qg-lan")),
    ] {
        assert!(
            matches!(
                ruleset(flags.clone(), dev.clone()).verdict(&query),
                Verdict::Unknown { .. }
            ),
            "flags {flags}, dev {dev}"
        );
    }
}

#[test]
fn firewalld_is_fixed_with_firewall_cmd() {
    use serde_json::json;
    // firewalld's filter_INPUT rejects what its zones do not accept; the bridges are in none.
    let mut facts = healthy();
    let json = json!({"nftables": [
        {"table": {"family": "inet", "name": "firewalld", "flags": ["owner", "persist"]}},
        {"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT",
            "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "expr": [
            {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}}]});
    facts.nft = Some(Ok(json.to_string()));
    let f = diagnose(&facts, &options());
    let dropped = one(&f, "firewall-dns");
    assert_eq!(dropped.level, Level::Error, "{f:#?}");
    assert_eq!(
        dropped.fix,
        "firewall-cmd --permanent --zone=trusted --add-interface=podman0 && firewall-cmd \
         --permanent --zone=trusted --add-interface=qg-media && firewall-cmd --reload   # \
         firewalld keeps it (--permanent)"
    );
}

#[test]
fn iptables_nft_tables_that_a_legacy_iptables_save_hides_are_not_called_open() {
    let mut facts = healthy();
    facts.nft = Some(Ok(NFT_OF_IPTABLES.into()));
    // The `iptables` alternative is iptables-legacy: its save shows none of nft's tables.
    facts.iptables = Some(Ok(
        "# Generated by iptables-save v1.8.9 (legacy) on Wed Dec  2 06:00:00 2026\n".into(),
    ));
    let f = diagnose(&facts, &options());
    assert_eq!(
        said(&f, "firewall-dns"),
        [(
            Level::Warning,
            "the ruleset has iptables-nft's `ip filter` table, which `iptables-save` does not \
             show (it is iptables-legacy's)"
                .to_string()
        )],
        "{f:#?}"
    );
    assert_eq!(one(&f, "firewall-dns").fix, "iptables-nft-save");
    // iptables-nft before 1.8.6 names itself instead of saying `(nf_tables)`: not legacy.
    facts.iptables = Some(Ok(IPTABLES_NIXOS.into()));
    let today = said(&diagnose(&facts, &options()), "firewall-dns");
    for old in [
        "# Generated by iptables-nft-save v1.8.4 on Tue Dec  1 14:48:27 2026",
        "# Generated by xtables-save v1.8.2 on Tue Dec  1 14:48:27 2026",
    ] {
        let header = IPTABLES_NIXOS.lines().next().expect("a header");
        facts.iptables = Some(Ok(IPTABLES_NIXOS.replacen(header, old, 1)));
        assert_eq!(
            said(&diagnose(&facts, &options()), "firewall-dns"),
            today,
            "{old}"
        );
    }
}
