//! iptables: the tables `iptables-save` and `ip6tables-save` print, and what their built-in
//! chains do with the query.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{
    DnsPacket, Family, Flow, M, MAX_DEPTH, Verdict, cidr_contains, entered, iface_matches,
    port_is_53,
};

/// The built-in chains a query to this host passes, in the kernel's order, as (table, chain)
/// (`nat` cannot drop).
const PATH: [(&str, &str); 5] = [
    ("raw", "PREROUTING"),
    ("mangle", "PREROUTING"),
    ("mangle", "INPUT"),
    ("filter", "INPUT"),
    ("security", "INPUT"),
];

/// The tables of `iptables-save` (or `ip6tables-save`) that a query passes (`raw`, `mangle`,
/// `filter`, `security`): chain policies and rules (as words), by (table, chain).
#[derive(Debug, Clone, Default)]
pub struct IptablesRules {
    /// `iptables` or `ip6tables`: the program, in chain names and fixes.
    program: &'static str,
    policies: BTreeMap<(String, String), String>,
    rules: BTreeMap<(String, String), Vec<Vec<String>>>,
}

/// Splits an `iptables-save` rule into words (double quotes group, as iptables-save writes them).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl IptablesRules {
    /// Parses the output of `iptables-save` (`family` V4) or `ip6tables-save` (V6); `None` when
    /// it has none of the tables a query passes.
    pub fn parse(text: &str, family: Family) -> Option<IptablesRules> {
        let mut table: Option<String> = None;
        let mut f = IptablesRules {
            program: match family {
                Family::V4 => "iptables",
                Family::V6 => "ip6tables",
            },
            ..IptablesRules::default()
        };
        let mut seen = false;
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('*') {
                table = PATH
                    .iter()
                    .any(|(t, _)| *t == name)
                    .then(|| name.to_string());
                seen |= table.is_some();
                continue;
            }
            let Some(table) = &table else {
                continue;
            };
            if let Some(decl) = line.strip_prefix(':') {
                let mut parts = decl.split_whitespace();
                if let (Some(name), Some(policy)) = (parts.next(), parts.next()) {
                    let key = (table.clone(), name.to_string());
                    f.policies.insert(key.clone(), policy.to_string());
                    f.rules.entry(key).or_default();
                }
            } else if line.starts_with("-A ") {
                let w = words(line);
                if let Some(chain) = w.get(1) {
                    f.rules
                        .entry((table.clone(), chain.clone()))
                        .or_default()
                        .push(w.get(2..).unwrap_or_default().to_vec());
                }
            }
        }
        seen.then_some(f)
    }

    /// Keeps only these tables (the others are read elsewhere); `None` when none is left.
    pub fn only_tables(mut self, tables: &[String]) -> Option<IptablesRules> {
        self.policies.retain(|(t, _), _| tables.contains(t));
        self.rules.retain(|(t, _), _| tables.contains(t));
        (!self.rules.is_empty()).then_some(self)
    }

    /// The built-in chains on the query's path that filter anything (a policy other than
    /// ACCEPT, or any rule), as `iptables filter INPUT`.
    pub fn filtering_chains(&self) -> Vec<String> {
        PATH.iter()
            .filter(|&&(table, chain)| {
                let key = (table.to_string(), chain.to_string());
                self.policies.get(&key).is_some_and(|p| p != "ACCEPT")
                    || self.rules.get(&key).is_some_and(|r| !r.is_empty())
            })
            .map(|(table, chain)| self.label(table, chain))
            .collect()
    }

    /// Whether any built-in chain on the query's path filters anything.
    pub fn filters_input(&self) -> bool {
        !self.filtering_chains().is_empty()
    }

    /// What the built-in chains on the path do with the packet: a drop in any is final.
    pub fn verdict(&self, pkt: &DnsPacket) -> Verdict {
        Verdict::of_all(self.path_verdicts(pkt))
    }

    /// Every chain that drops the packet, as [`Verdict::Drop`] names it.
    pub fn drops(&self, pkt: &DnsPacket) -> Vec<String> {
        self.path_verdicts(pkt)
            .into_iter()
            .filter_map(|v| match v {
                Verdict::Drop { chain } => Some(chain),
                _ => None,
            })
            .collect()
    }

    /// What each built-in chain on the path (that the save has) does with the packet.
    fn path_verdicts(&self, pkt: &DnsPacket) -> Vec<Verdict> {
        PATH.iter()
            .filter(|(table, chain)| {
                self.policies
                    .contains_key(&(table.to_string(), chain.to_string()))
            })
            .map(
                |(table, chain)| match self.eval_chain(table, chain, pkt, 0) {
                    Flow::Accept => Verdict::Accept,
                    Flow::Continue | Flow::Return => {
                        let key = (table.to_string(), chain.to_string());
                        if self.policies.get(&key).is_some_and(|p| p == "DROP") {
                            Verdict::Drop {
                                chain: format!("{} (policy DROP)", self.label(table, chain)),
                            }
                        } else {
                            Verdict::Accept
                        }
                    }
                    Flow::Drop(at) => Verdict::Drop { chain: at },
                    Flow::Unknown(at, why) => Verdict::Unknown { chain: at, why },
                    // (only nft's rules are `Limited`)
                    Flow::Limited(_, why) => Verdict::Unknown {
                        chain: self.label(table, chain),
                        why,
                    },
                },
            )
            .collect()
    }

    /// `iptables filter INPUT`, `ip6tables raw PREROUTING`.
    fn label(&self, table: &str, chain: &str) -> String {
        format!("{} {table} {chain}", self.program)
    }

    fn eval_chain(&self, table: &str, name: &str, pkt: &DnsPacket, depth: usize) -> Flow {
        let label = self.label(table, name);
        if depth > MAX_DEPTH {
            return Flow::Unknown(label, "chains nest too deep".into());
        }
        let key = (table.to_string(), name.to_string());
        for rule in self.rules.get(&key).map(Vec::as_slice).unwrap_or_default() {
            match self.eval_rule(table, rule, pkt, depth) {
                Flow::Continue => {}
                Flow::Return => return Flow::Continue,
                Flow::Drop(at) if at.is_empty() => return Flow::Drop(label),
                Flow::Unknown(at, why) if at.is_empty() => return Flow::Unknown(label, why),
                other => return other,
            }
        }
        Flow::Continue
    }

    fn eval_rule(&self, table: &str, rule: &[String], pkt: &DnsPacket, depth: usize) -> Flow {
        let mut unsure: Option<String> = None;
        let mut negate = false;
        let mut i = 0;
        let mut target: Option<(&str, bool)> = None; // (name, is_goto)
        let arg = |i: usize| rule.get(i).map(String::as_str).unwrap_or_default();
        while i < rule.len() {
            let opt = arg(i);
            // An option takes the next word as its value unless that is another option or a
            // `!` (`--soft`, `--fragmore` take none).
            let has_value = rule
                .get(i + 1)
                .is_some_and(|next| !next.starts_with('-') && next != "!");
            let value = if has_value { arg(i + 1) } else { "" };
            let m = match opt {
                "!" => {
                    negate = true;
                    i += 1;
                    continue;
                }
                // A match on an IPv6 extension header (`-m rt --rt-type 0`, `-m frag`, `-m hbh`,
                // `-m dst`) needs the header, which the query does not have: no match, negated
                // or not.
                _ if is_extension_header_option(opt) => return Flow::Continue,
                // The same for the bare match, whatever its options (a `-m frag` whose
                // options are all defaults is saved without any).
                "-m" | "--match" if matches!(value, "rt" | "frag" | "hbh" | "dst") => {
                    return Flow::Continue;
                }
                "-j" | "--jump" | "-g" | "--goto" => {
                    target = Some((value, opt == "-g" || opt == "--goto"));
                    break;
                }
                _ => option_match(opt, value, pkt),
            };
            match m.negate(negate) {
                M::Yes => {}
                M::No => return Flow::Continue,
                M::Unknown(why) => {
                    unsure.get_or_insert(why);
                }
            }
            negate = false;
            i += if has_value { 2 } else { 1 };
        }
        let Some((target, goto)) = target else {
            return Flow::Continue; // no target: a counter only
        };
        let decides = match target {
            "ACCEPT" | "DROP" | "REJECT" | "RETURN" | "QUEUE" | "NFQUEUE" => true,
            "LOG" | "NFLOG" | "ULOG" | "CT" | "MARK" | "CONNMARK" | "TRACE" | "AUDIT" => false,
            t => self.rules.contains_key(&(table.to_string(), t.to_string())),
        };
        if !decides {
            return Flow::Continue;
        }
        if let Some(why) = unsure {
            return Flow::Unknown(String::new(), why);
        }
        match target {
            "ACCEPT" => Flow::Accept,
            "DROP" | "REJECT" => Flow::Drop(String::new()),
            "RETURN" => Flow::Return,
            "QUEUE" | "NFQUEUE" => Flow::Unknown(String::new(), format!("`-j {target}`")),
            chain => entered(goto, self.eval_chain(table, chain, pkt, depth + 1)),
        }
    }
}

/// What one iptables match option (with its value) says of the packet.
fn option_match(opt: &str, value: &str, pkt: &DnsPacket) -> M {
    match opt {
        "-i" | "--in-interface" => M::from_bool(iface_matches(value, &pkt.iface, '+')),
        "-p" | "--protocol" => {
            M::from_bool(matches!(value, "all" | "0") || pkt.kind.protocol().contains(&value))
        }
        "-s" | "--source" | "-d" | "--destination" => address_match(opt, value, pkt),
        "--src-type" | "--dst-type" => address_type_match(opt, value, pkt),
        // The gateway is an address of the bridge the query arrives on.
        "--limit-iface-in" => M::Yes,
        "--src-range" | "--dst-range" => address_range_match(opt, value, pkt),
        // Matches the second and later fragments; the query is not fragmented.
        "-f" | "--fragment" => M::No,
        // Ports are UDP's (or TCP's…): an ICMPv6 packet has none.
        "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
            M::from_bool(!pkt.kind.is_icmpv6() && ports_include_53(value))
        }
        "--sport" | "--source-port" | "--sports" | "--source-ports" if pkt.kind.is_icmpv6() => {
            M::No
        }
        "--sport" | "--source-port" | "--sports" | "--source-ports" => source_ports_match(value),
        "--icmpv6-type" => M::from_bool(pkt.kind.icmpv6_type().contains(&value)),
        "--hl-eq" => M::from_bool(pkt.kind.is_icmpv6() && value == "255"),
        "--ctstate" | "--state" => {
            let state = pkt.kind.ct_state().to_ascii_uppercase();
            M::from_bool(value.split(',').any(|s| s == state))
        }
        "--pkt-type" => M::from_bool(pkt.kind.pkttype().contains(&value)),
        "-m" | "--match" => module_match(value, pkt),
        "--comment" => M::Yes,
        // rpfilter: the container's address is routed back through the bridge it sends from,
        // so the reverse path check passes, strict or `--loose`; `--invert` matches failures.
        "--loose" | "--validmark" | "--accept-local" => M::Yes,
        "--invert" => M::No,
        other => M::Unknown(format!("`{other} {value}`")),
    }
}

/// What `-m MODULE` alone says of the query: protocol modules match only their protocol (a
/// query is UDP); the modules whose options this evaluates match as their options say; any
/// other module is not evaluated.
fn module_match(module: &str, pkt: &DnsPacket) -> M {
    let icmpv6 = pkt.kind.is_icmpv6();
    match module {
        "udp" => M::from_bool(!icmpv6),
        "icmp6" | "icmpv6" => M::from_bool(icmpv6),
        "multiport" | "conntrack" | "state" | "comment" | "addrtype" | "iprange" | "pkttype"
        | "rpfilter" | "ipv6header" | "hl" => M::Yes,
        "tcp" | "icmp" | "ah" | "esp" | "sctp" | "dccp" | "mh" | "udplite" => M::No,
        other => M::Unknown(format!("`-m {other}`")),
    }
}

/// Whether the query's source port, an ephemeral one, is in an iptables port list (`53`,
/// `1024:65535`): unknown when a range covers only part of Linux's ephemeral ports.
fn source_ports_match(value: &str) -> M {
    let mut unknown = false;
    for part in value.split(',') {
        let (lo, hi) = match part.split_once(':') {
            Some((lo, hi)) => (lo.parse().unwrap_or(0), hi.parse().unwrap_or(65535)),
            None => match part.parse::<u64>() {
                Ok(port) => (port, port),
                Err(_) => return M::Unknown(format!("`--sport {value}`")),
            },
        };
        match super::ephemeral_in(lo, hi) {
            Some(true) => return M::Yes,
            Some(false) => {}
            None => unknown = true,
        }
    }
    if unknown {
        M::Unknown(format!("`--sport {value}`"))
    } else {
        M::No
    }
}

/// Options of ip6tables' extension header matches: `rt` (`--rt-type`, `--rt-segsleft`…),
/// `frag` (`--fragid`, `--fragmore`…), `hbh` and `dst` (`--hbh-len`, `--dst-opts`…). Not
/// addrtype's `--dst-type`, iprange's `--dst-range` or iptables' `--fragment`.
fn is_extension_header_option(opt: &str) -> bool {
    opt.starts_with("--rt-")
        || (opt.starts_with("--frag") && opt != "--fragment")
        || matches!(opt, "--hbh-len" | "--hbh-opts" | "--dst-len" | "--dst-opts")
}

/// addrtype's `--src-type`/`--dst-type`: the query comes from a container (a `UNICAST`
/// address) to the bridge's gateway, an address of this host (`LOCAL`).
fn address_type_match(opt: &str, value: &str, pkt: &DnsPacket) -> M {
    let is = if opt == "--src-type" {
        "UNICAST".to_string()
    } else {
        pkt.kind.destination_type().to_ascii_uppercase()
    };
    M::from_bool(value.split(',').any(|t| t.eq_ignore_ascii_case(&is)))
}

/// iprange's `--src-range`/`--dst-range` (`FROM-TO`): unknown when the packet has no such
/// address or the range cannot be read.
fn address_range_match(opt: &str, value: &str, pkt: &DnsPacket) -> M {
    let addr = if opt == "--src-range" {
        pkt.saddr
    } else {
        pkt.daddr
    };
    let range = value
        .split_once('-')
        .and_then(|(lo, hi)| Some((lo.parse::<IpAddr>().ok()?, hi.parse::<IpAddr>().ok()?)));
    match (addr, range) {
        // `IpAddr` orders every IPv4 address before every IPv6 one: a range of one version
        // holds no address of the other.
        (Some(addr), Some((lo, hi))) => M::from_bool((lo..=hi).contains(&addr)),
        _ => M::Unknown(format!("`{opt} {value}`")),
    }
}

/// Whether the packet's source (`-s`) or destination (`-d`) address is in the rule's list of
/// CIDRs; unknown when the packet has no such address or a CIDR cannot be read.
fn address_match(opt: &str, value: &str, pkt: &DnsPacket) -> M {
    let addr = if opt.starts_with("-s") || opt == "--source" {
        pkt.saddr
    } else {
        pkt.daddr
    };
    match addr.and_then(|a| {
        value
            .split(',')
            .map(|c| cidr_contains(c, a))
            .try_fold(false, |acc, x| x.map(|x| acc || x))
    }) {
        Some(b) => M::from_bool(b),
        None => M::Unknown(format!("`{opt} {value}`")),
    }
}

/// Whether an iptables port list (`53`, `1:1024`, `53,853`) includes port 53.
fn ports_include_53(value: &str) -> bool {
    value.split(',').any(|p| match p.split_once(':') {
        Some((lo, hi)) => {
            let lo = lo.parse::<u32>().unwrap_or(0);
            let hi = hi.parse::<u32>().unwrap_or(65535);
            (lo..=hi).contains(&53)
        }
        None => port_is_53(p),
    })
}
