//! Whether the active firewall lets a container's DNS query in: UDP 53 from the bridge's subnet to
//! aardvark-dns on its gateway, arriving on the bridge (`podman0`, `qg-…`), over IPv4 and, on a
//! dual-stack network, over IPv6 (aardvark-dns listens on each gateway, and containers are given
//! each as a name server). Pure: evaluates the packet through an nftables ruleset
//! (`nft -j list ruleset`: `inet` tables see both families, `ip` only IPv4, `ip6` only IPv6) and
//! the filter table of `iptables-save` (IPv4) or `ip6tables-save` (IPv6).
//!
//! Every input base chain must let the packet through: in nftables an `accept` ends only its own
//! base chain, the next one at the same hook still sees the packet, and a drop anywhere is final.
//! A match quadgen cannot evaluate (an `xt` match, `fib`, a mark…) in a rule that decides makes
//! the answer unknown rather than guessed. Tables that contain `xt` expressions are iptables-nft's
//! and are read from `iptables-save` instead, which shows their matches.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

/// The IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// The packet a container sends to aardvark-dns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsPacket {
    /// The bridge it arrives on.
    pub iface: String,
    pub family: Family,
    /// A container address of the bridge's subnet, when known.
    pub saddr: Option<IpAddr>,
    /// The bridge's gateway (where aardvark-dns listens), when known.
    pub daddr: Option<IpAddr>,
    /// Whether that gateway is the first name server containers on the bridge ask.
    pub first: bool,
}

impl DnsPacket {
    /// How a finding names the packet: its bridge, and `(IPv6)` for an IPv6 query.
    pub fn label(&self) -> String {
        match self.family {
            Family::V4 => self.iface.clone(),
            Family::V6 => format!("{} (IPv6)", self.iface),
        }
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

fn port_is_53(v: &str) -> bool {
    matches!(v, "53" | "domain" | "dns")
}

// ---------------------------------------------------------------------------------------------
// nftables

/// One chain of an nftables ruleset.
#[derive(Debug, Clone)]
struct NftChain {
    family: String,
    table: String,
    name: String,
    hook: Option<String>,
    chain_type: Option<String>,
    policy: Option<String>,
    rules: Vec<Vec<Value>>,
}

/// An nftables ruleset as `nft -j list ruleset` prints it.
#[derive(Debug, Clone, Default)]
pub struct NftRuleset {
    chains: Vec<NftChain>,
    /// Named sets by (family, table, name): their elements.
    sets: BTreeMap<(String, String, String), Vec<Value>>,
    /// Tables iptables-nft made (as `iptables-save` says), as (family, table): their rules are
    /// read from `iptables-save`, and a fix goes through `iptables`.
    iptables_tables: Vec<(String, String)>,
}

/// The tables an `iptables-save` (or `ip6tables-save`) of iptables-nft lists, as nftables
/// names them: (`ip` or `ip6`, table). Empty for iptables-legacy, whose tables nft does not
/// show.
pub fn iptables_nft_tables(save: &str, family: Family) -> Vec<(String, String)> {
    let nf_tables = save
        .lines()
        .any(|l| l.starts_with("# Generated by") && l.contains("(nf_tables)"));
    if !nf_tables {
        return Vec::new();
    }
    let nft_family = match family {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    };
    save.lines()
        .filter_map(|l| l.trim().strip_prefix('*'))
        .map(|table| (nft_family.to_string(), table.to_string()))
        .collect()
}

impl NftRuleset {
    /// Parses `nft -j list ruleset`.
    pub fn parse(json: &str) -> Result<NftRuleset, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| format!("not nft JSON: {e}"))?;
        let items = v
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or("no `nftables` array in nft's JSON")?;
        let mut rs = NftRuleset::default();
        let s = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        for item in items {
            if let Some(c) = item.get("chain") {
                rs.chains.push(NftChain {
                    family: s(c, "family").unwrap_or_default(),
                    table: s(c, "table").unwrap_or_default(),
                    name: s(c, "name").unwrap_or_default(),
                    hook: s(c, "hook"),
                    chain_type: s(c, "type"),
                    policy: s(c, "policy"),
                    rules: Vec::new(),
                });
            } else if let Some(r) = item.get("rule") {
                let (family, table, chain) = (s(r, "family"), s(r, "table"), s(r, "chain"));
                let expr = r
                    .get("expr")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(c) = rs.chains.iter_mut().find(|c| {
                    Some(&c.family) == family.as_ref()
                        && Some(&c.table) == table.as_ref()
                        && Some(&c.name) == chain.as_ref()
                }) {
                    c.rules.push(expr);
                }
            } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
                let key = (
                    s(set, "family").unwrap_or_default(),
                    s(set, "table").unwrap_or_default(),
                    s(set, "name").unwrap_or_default(),
                );
                let elems = match set.get("elem") {
                    Some(Value::Array(a)) => a.clone(),
                    Some(other) => vec![other.clone()],
                    None => Vec::new(),
                };
                rs.sets.insert(key, elems);
            }
        }
        Ok(rs)
    }

    /// Tables holding `xt` expressions: made by iptables-nft, read through `iptables-save`.
    fn xt_tables(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .chains
            .iter()
            .filter(|c| {
                c.rules
                    .iter()
                    .any(|r| r.iter().any(|e| e.get("xt").is_some()))
            })
            .map(|c| (c.family.clone(), c.table.clone()))
            .collect();
        out.dedup();
        out
    }

    /// The filter chains at the input hook that this module evaluates for packets of `family`
    /// (iptables-nft's tables left out), as `family table chain`.
    pub fn input_chains(&self, family: Family) -> Vec<String> {
        self.base_chains(family)
            .iter()
            .map(|c| format!("{} {} {}", c.family, c.table, c.name))
            .collect()
    }

    /// Leaves these tables (iptables-nft's, as [`iptables_nft_tables`] finds them) to
    /// `iptables-save`'s view.
    pub fn leave_to_iptables(&mut self, tables: Vec<(String, String)>) {
        self.iptables_tables.extend(tables);
    }

    fn base_chains(&self, family: Family) -> Vec<&NftChain> {
        let mut xt = self.xt_tables();
        xt.extend(self.iptables_tables.iter().cloned());
        let sees = |table_family: &str| match family {
            Family::V4 => matches!(table_family, "ip" | "inet"),
            Family::V6 => matches!(table_family, "ip6" | "inet"),
        };
        self.chains
            .iter()
            .filter(|c| {
                c.hook.as_deref() == Some("input")
                    && c.chain_type.as_deref().is_none_or(|t| t == "filter")
                    && sees(&c.family)
                    && !xt.contains(&(c.family.clone(), c.table.clone()))
            })
            .collect()
    }

    /// Whether the ruleset has iptables-nft tables for packets of `family` (`ip` for IPv4,
    /// `ip6` for IPv6) whose rules only `iptables-save` (or `ip6tables-save`) shows.
    pub fn has_iptables_nft_tables(&self, family: Family) -> bool {
        let nft_family = match family {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        };
        self.xt_tables().iter().any(|(f, _)| f == nft_family)
    }

    /// What the input base chains do with the packet.
    pub fn verdict(&self, pkt: &DnsPacket) -> Verdict {
        let verdicts = self.base_chains(pkt.family).into_iter();
        let mut verdicts = verdicts.map(|chain| self.chain_verdict(chain, pkt));
        let mut unknown = None;
        for verdict in verdicts.by_ref() {
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

    /// Every input base chain that drops the packet, as [`Verdict::Drop`] names it: a fix must
    /// let it through each of them, not only the first.
    pub fn drops(&self, pkt: &DnsPacket) -> Vec<String> {
        self.base_chains(pkt.family)
            .into_iter()
            .filter_map(|chain| match self.chain_verdict(chain, pkt) {
                Verdict::Drop { chain } => Some(chain),
                _ => None,
            })
            .collect()
    }

    /// What one base chain does with the packet, its policy included.
    fn chain_verdict(&self, chain: &NftChain, pkt: &DnsPacket) -> Verdict {
        match self.eval_chain(chain, pkt, 0) {
            Flow::Accept => Verdict::Accept,
            // (a chain's end is `Continue`; `Return` never leaves `eval_chain`)
            Flow::Continue | Flow::Return if chain.policy.as_deref() == Some("drop") => {
                Verdict::Drop {
                    chain: format!(
                        "{} {} {} (policy drop)",
                        chain.family, chain.table, chain.name
                    ),
                }
            }
            Flow::Continue | Flow::Return => Verdict::Accept,
            Flow::Drop(at) => Verdict::Drop { chain: at },
            Flow::Unknown(at, why) => Verdict::Unknown { chain: at, why },
        }
    }

    fn chain(&self, family: &str, table: &str, name: &str) -> Option<&NftChain> {
        self.chains
            .iter()
            .find(|c| c.family == family && c.table == table && c.name == name)
    }

    fn eval_chain(&self, chain: &NftChain, pkt: &DnsPacket, depth: usize) -> Flow {
        let label = format!("{} {} {}", chain.family, chain.table, chain.name);
        if depth > MAX_DEPTH {
            return Flow::Unknown(label, "chains nest too deep".into());
        }
        for rule in &chain.rules {
            match self.eval_rule(chain, rule, pkt, depth) {
                Flow::Continue => {}
                Flow::Return => return Flow::Continue,
                Flow::Drop(at) if at.is_empty() => return Flow::Drop(label),
                Flow::Unknown(at, why) if at.is_empty() => return Flow::Unknown(label, why),
                other => return other,
            }
        }
        Flow::Continue
    }

    /// One rule: `Continue` when it does not match or does not decide.
    fn eval_rule(&self, chain: &NftChain, rule: &[Value], pkt: &DnsPacket, depth: usize) -> Flow {
        let mut unsure: Option<String> = None;
        for expr in rule {
            let Some((kind, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            let verdict = match kind.as_str() {
                "match" => {
                    match self.eval_match(chain, body, pkt) {
                        M::Yes => {}
                        M::No => return Flow::Continue,
                        M::Unknown(why) => {
                            unsure.get_or_insert(why);
                        }
                    }
                    continue;
                }
                "xt" => {
                    unsure.get_or_insert("an iptables (xt) match".into());
                    continue;
                }
                "limit" | "quota" | "connlimit" => {
                    unsure.get_or_insert(format!("a `{kind}` statement"));
                    continue;
                }
                // A userspace program decides.
                "queue" => return Flow::Unknown(String::new(), "a `queue` statement".into()),
                "vmap" => {
                    let key = body.get("key").map(|k| self.value_of(k, pkt));
                    let data = body.get("data");
                    match (key, data) {
                        (Some(Ok(key)), Some(data)) => {
                            match self.lookup_map(chain, data, &key, pkt) {
                                Ok(Some(v)) => v,
                                Ok(None) => return Flow::Continue,
                                Err(why) => {
                                    return Flow::Unknown(String::new(), why);
                                }
                            }
                        }
                        (Some(Err(why)), _) => return Flow::Unknown(String::new(), why),
                        _ => return Flow::Continue,
                    }
                }
                "accept" | "drop" | "reject" | "jump" | "goto" | "return" => expr.clone(),
                // counter, log, comment, mangle, meta/ct set, notrack…: not a verdict
                _ => continue,
            };
            if let Some(why) = unsure {
                return Flow::Unknown(String::new(), why);
            }
            return self.apply_verdict(chain, &verdict, pkt, depth);
        }
        Flow::Continue
    }

    fn apply_verdict(
        &self,
        chain: &NftChain,
        verdict: &Value,
        pkt: &DnsPacket,
        depth: usize,
    ) -> Flow {
        let Some((kind, body)) = verdict.as_object().and_then(|o| o.iter().next()) else {
            return Flow::Unknown(String::new(), format!("verdict `{verdict}`"));
        };
        match kind.as_str() {
            "accept" => Flow::Accept,
            "drop" | "reject" => Flow::Drop(String::new()),
            "return" => Flow::Return,
            "jump" | "goto" => {
                let target = body
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(next) = self.chain(&chain.family, &chain.table, target) else {
                    return Flow::Unknown(String::new(), format!("no chain `{target}`"));
                };
                entered(kind == "goto", self.eval_chain(next, pkt, depth + 1))
            }
            _ => Flow::Unknown(String::new(), format!("verdict `{kind}`")),
        }
    }

    /// What the packet has for a match's left side.
    fn value_of(&self, left: &Value, pkt: &DnsPacket) -> Result<Key, String> {
        if let Some(parts) = left.get("concat").and_then(Value::as_array) {
            let keys = parts
                .iter()
                .map(|p| self.value_of(p, pkt))
                .collect::<Result<Vec<Key>, String>>()?;
            if keys.contains(&Key::Absent) {
                return Ok(Key::Absent);
            }
            return Ok(Key::Concat(keys));
        }
        if let Some(first) = left
            .get("&")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            // `tcp flags & (…)`: absent on a UDP packet; anything else is not evaluated.
            return match self.value_of(first, pkt) {
                Ok(Key::Absent) => Ok(Key::Absent),
                _ => Err(format!("`{left}`")),
            };
        }
        if let Some(meta) = left.get("meta") {
            let key = meta.get("key").and_then(Value::as_str).unwrap_or_default();
            return match key {
                "iifname" | "iif" => Ok(Key::Iface(pkt.iface.clone())),
                "pkttype" => Ok(Key::PktHost),
                "l4proto" => Ok(Key::Proto),
                "nfproto" => Ok(Key::Str(
                    match pkt.family {
                        Family::V4 => "ipv4",
                        Family::V6 => "ipv6",
                    }
                    .into(),
                )),
                "protocol" => Ok(Key::Str(
                    match pkt.family {
                        Family::V4 => "ip",
                        Family::V6 => "ip6",
                    }
                    .into(),
                )),
                _ => Err(format!("`meta {key}`")),
            };
        }
        if let Some(p) = left.get("payload") {
            return payload_key(p, pkt);
        }
        if let Some(ct) = left.get("ct") {
            let key = ct.get("key").and_then(Value::as_str).unwrap_or_default();
            return match key {
                "state" => Ok(Key::CtState),
                "status" => Ok(Key::CtStatus),
                _ => Err(format!("`ct {key}`")),
            };
        }
        Err(format!("`{left}`"))
    }

    fn eval_match(&self, chain: &NftChain, body: &Value, pkt: &DnsPacket) -> M {
        let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
        let (Some(left), Some(right)) = (body.get("left"), body.get("right")) else {
            return M::Unknown(format!("match `{body}`"));
        };
        if left.get("exthdr").is_some() {
            // An IPv6 extension header (routing, fragment, hop-by-hop…). nft makes the match
            // depend on `meta nfproto ipv6` (and hides that when it lists the rule): it never
            // matches IPv4. The IPv6 query has no extension header: `exthdr X exists` is
            // false, `missing` true, and a field of it never matches.
            if pkt.family == Family::V4 {
                return M::No;
            }
            return match right {
                Value::Bool(exists) => M::from_bool(!exists).negate(op == "!="),
                _ => M::No,
            };
        }
        let key = match self.value_of(left, pkt) {
            Ok(k) => k,
            Err(why) => return M::Unknown(why),
        };
        if key == Key::Absent {
            // The packet has no such header: nft's implicit protocol dependency fails.
            return M::No;
        }
        let negate = match op {
            "==" | "in" => false,
            "!=" => true,
            _ => return M::Unknown(format!("operator `{op}`")),
        };
        match self.right_matches(chain, &key, right) {
            Ok(b) => M::from_bool(b).negate(negate),
            Err(why) => M::Unknown(why),
        }
    }

    /// Whether the packet's value for `key` is in `right` (a value, a set, a named set, flags).
    fn right_matches(&self, chain: &NftChain, key: &Key, right: &Value) -> Result<bool, String> {
        match right {
            Value::String(s) if s.starts_with('@') => {
                let elems = self.named_set(chain, &s[1..])?;
                self.any_elem(chain, key, elems)
            }
            Value::Array(a) => self.any_elem(chain, key, a),
            Value::Object(o) if o.contains_key("set") => match o.get("set") {
                Some(Value::Array(a)) => self.any_elem(chain, key, a),
                Some(single) => key.matches(single),
                None => Ok(false),
            },
            single => key.matches(single),
        }
    }

    fn any_elem(&self, _chain: &NftChain, key: &Key, elems: &[Value]) -> Result<bool, String> {
        let mut unsure = None;
        for e in elems {
            // a map element is `[key, value]`; a set element may be wrapped in `{"elem": …}`
            let e = e.get("elem").and_then(|x| x.get("val")).unwrap_or(e);
            match key.matches(e) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(why) => unsure = Some(why),
            }
        }
        unsure.map_or(Ok(false), Err)
    }

    fn named_set(&self, chain: &NftChain, name: &str) -> Result<&Vec<Value>, String> {
        self.sets
            .get(&(chain.family.clone(), chain.table.clone(), name.to_string()))
            .ok_or(format!("no set `@{name}`"))
    }

    /// A vmap lookup: the verdict for the packet's key, `None` when no element matches.
    fn lookup_map(
        &self,
        chain: &NftChain,
        data: &Value,
        key: &Key,
        _pkt: &DnsPacket,
    ) -> Result<Option<Value>, String> {
        let elems: Vec<Value> = match data {
            Value::String(s) if s.starts_with('@') => self.named_set(chain, &s[1..])?.clone(),
            Value::Object(o) => match o.get("set") {
                Some(Value::Array(a)) => a.clone(),
                _ => return Err(format!("map `{data}`")),
            },
            _ => return Err(format!("map `{data}`")),
        };
        for e in &elems {
            let Some(pair) = e.as_array() else {
                return Err(format!("map element `{e}`"));
            };
            let (Some(k), Some(v)) = (pair.first(), pair.get(1)) else {
                return Err(format!("map element `{e}`"));
            };
            if key.matches(k)? {
                return Ok(Some(v.clone()));
            }
        }
        Ok(None)
    }
}

/// What the packet has for a payload field (`udp dport`, `ip6 saddr`…).
fn payload_key(payload: &Value, pkt: &DnsPacket) -> Result<Key, String> {
    let proto = payload
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let field = payload
        .get("field")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // The network header of the packet's family; the other family's is absent.
    let own = match pkt.family {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    };
    match (proto, field) {
        ("udp" | "th", "dport") => Ok(Key::Port),
        ("ip" | "ip6", _) if proto != own => Ok(Key::Absent),
        ("ip", "protocol") | ("ip6", "nexthdr") => Ok(Key::Proto),
        ("ip" | "ip6", "saddr") => pkt.saddr.map(Key::Addr).ok_or(format!("`{proto} saddr`")),
        ("ip" | "ip6", "daddr") => pkt.daddr.map(Key::Addr).ok_or(format!("`{proto} daddr`")),
        ("tcp" | "icmp" | "icmpv6" | "sctp" | "dccp" | "igmp" | "esp" | "ah" | "arp", _) => {
            Ok(Key::Absent)
        }
        _ => Err(format!("`{proto} {field}`")),
    }
}

/// What a match compares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Iface(String),
    /// The layer 4 protocol: UDP.
    Proto,
    /// The destination port: 53.
    Port,
    CtState,
    /// `ct status`: a new query to the gateway has none of its flags (`dnat`, `snat`,
    /// `assured`, `confirmed`…).
    CtStatus,
    Addr(IpAddr),
    Str(String),
    /// A header the packet does not have.
    Absent,
    /// `meta pkttype`: addressed to this host (`host`, alias `unicast`).
    PktHost,
    /// `a . b`: each part against the element's parts.
    Concat(Vec<Key>),
}

impl Key {
    /// Whether one right-hand value (not a set) matches the packet.
    fn matches(&self, v: &Value) -> Result<bool, String> {
        let text = match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match self {
            Key::Iface(iface) => text
                .map(|t| iface_matches(&t, iface, '*'))
                .ok_or(format!("interface `{v}`")),
            Key::Proto => text
                .map(|t| t == "udp" || t == "17")
                .ok_or(format!("protocol `{v}`")),
            Key::Port => {
                if let Some(t) = text {
                    return Ok(port_is_53(&t));
                }
                if let Some(r) = v.get("range").and_then(Value::as_array) {
                    let n = |i: usize| r.get(i).and_then(Value::as_u64);
                    if let (Some(lo), Some(hi)) = (n(0), n(1)) {
                        return Ok((lo..=hi).contains(&53));
                    }
                }
                Err(format!("port `{v}`"))
            }
            Key::CtStatus => match v {
                Value::String(_) => Ok(false),
                Value::Array(a) if a.iter().all(Value::is_string) => Ok(false),
                _ => Err(format!("ct status `{v}`")),
            },
            Key::CtState => match v {
                Value::String(s) => Ok(s == "new"),
                Value::Array(a) => Ok(a.iter().any(|x| x.as_str() == Some("new"))),
                _ => Err(format!("ct state `{v}`")),
            },
            Key::Addr(addr) => addr_matches(*addr, v),
            Key::Str(s) => text.map(|t| &t == s).ok_or(format!("value `{v}`")),
            Key::Absent => Ok(false),
            Key::PktHost => text
                .map(|t| t == "host" || t == "unicast" || t == "0")
                .ok_or(format!("pkttype `{v}`")),
            Key::Concat(keys) => {
                let Some(parts) = v.get("concat").and_then(Value::as_array) else {
                    return Err(format!("concatenation `{v}`"));
                };
                if parts.len() != keys.len() {
                    return Err(format!("concatenation `{v}`"));
                }
                let mut all = true;
                for (k, part) in keys.iter().zip(parts) {
                    all &= k.matches(part)?;
                }
                Ok(all)
            }
        }
    }
}

/// Whether an address is in a right-hand value: an address or prefix as text, a `prefix`, or a
/// `range`.
fn addr_matches(addr: IpAddr, v: &Value) -> Result<bool, String> {
    if let Some(t) = v.as_str() {
        return cidr_contains(t, addr).ok_or(format!("address `{t}`"));
    }
    if let Some(p) = v.get("prefix") {
        let net = p.get("addr").and_then(Value::as_str);
        let len = p.get("len").and_then(Value::as_u64);
        return net
            .zip(len)
            .and_then(|(net, len)| cidr_contains(&format!("{net}/{len}"), addr))
            .ok_or(format!("prefix `{v}`"));
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        let a = |i: usize| {
            r.get(i)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<IpAddr>().ok())
        };
        if let (Some(lo), Some(hi)) = (a(0), a(1)) {
            // `IpAddr` orders every IPv4 address before every IPv6 one, so a range of one
            // version holds no address of the other.
            return Ok((lo..=hi).contains(&addr));
        }
    }
    Err(format!("address `{v}`"))
}

// ---------------------------------------------------------------------------------------------
// iptables

/// The filter table of `iptables-save` (or `ip6tables-save`): chain policies and rules (as words).
#[derive(Debug, Clone, Default)]
pub struct IptablesFilter {
    /// `iptables` or `ip6tables`: the program, in chain names and fixes.
    program: &'static str,
    policies: BTreeMap<String, String>,
    rules: BTreeMap<String, Vec<Vec<String>>>,
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

impl IptablesFilter {
    /// Parses the output of `iptables-save` (`family` V4) or `ip6tables-save` (V6); `None` when
    /// it has no filter table.
    pub fn parse(text: &str, family: Family) -> Option<IptablesFilter> {
        let mut in_filter = false;
        let mut seen = false;
        let mut f = IptablesFilter {
            program: match family {
                Family::V4 => "iptables",
                Family::V6 => "ip6tables",
            },
            ..IptablesFilter::default()
        };
        for line in text.lines() {
            let line = line.trim();
            if let Some(table) = line.strip_prefix('*') {
                in_filter = table == "filter";
                seen |= in_filter;
                continue;
            }
            if !in_filter {
                continue;
            }
            if line == "COMMIT" {
                in_filter = false;
            } else if let Some(decl) = line.strip_prefix(':') {
                let mut parts = decl.split_whitespace();
                if let (Some(name), Some(policy)) = (parts.next(), parts.next()) {
                    f.policies.insert(name.to_string(), policy.to_string());
                    f.rules.entry(name.to_string()).or_default();
                }
            } else if line.starts_with("-A ") {
                let w = words(line);
                if let Some(chain) = w.get(1) {
                    f.rules
                        .entry(chain.clone())
                        .or_default()
                        .push(w.get(2..).unwrap_or_default().to_vec());
                }
            }
        }
        seen.then_some(f)
    }

    /// Whether INPUT filters anything: a policy other than ACCEPT, or any rule.
    pub fn filters_input(&self) -> bool {
        self.policies.get("INPUT").is_some_and(|p| p != "ACCEPT")
            || self.rules.get("INPUT").is_some_and(|r| !r.is_empty())
    }

    /// What INPUT does with the packet.
    pub fn verdict(&self, pkt: &DnsPacket) -> Verdict {
        match self.eval_chain("INPUT", pkt, 0) {
            Flow::Accept => Verdict::Accept,
            Flow::Continue | Flow::Return => {
                if self.policies.get("INPUT").is_some_and(|p| p == "DROP") {
                    Verdict::Drop {
                        chain: format!("{} (policy DROP)", self.input_label()),
                    }
                } else {
                    Verdict::Accept
                }
            }
            Flow::Drop(at) => Verdict::Drop { chain: at },
            Flow::Unknown(at, why) => Verdict::Unknown { chain: at, why },
        }
    }

    /// `iptables filter INPUT` or `ip6tables filter INPUT`.
    pub fn input_label(&self) -> String {
        format!("{} filter INPUT", self.program)
    }

    fn eval_chain(&self, name: &str, pkt: &DnsPacket, depth: usize) -> Flow {
        let label = format!("{} filter {name}", self.program);
        if depth > MAX_DEPTH {
            return Flow::Unknown(label, "chains nest too deep".into());
        }
        for rule in self.rules.get(name).map(Vec::as_slice).unwrap_or_default() {
            match self.eval_rule(rule, pkt, depth) {
                Flow::Continue => {}
                Flow::Return => return Flow::Continue,
                Flow::Drop(at) if at.is_empty() => return Flow::Drop(label),
                Flow::Unknown(at, why) if at.is_empty() => return Flow::Unknown(label, why),
                other => return other,
            }
        }
        Flow::Continue
    }

    fn eval_rule(&self, rule: &[String], pkt: &DnsPacket, depth: usize) -> Flow {
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
            t => self.rules.contains_key(t),
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
            chain => entered(goto, self.eval_chain(chain, pkt, depth + 1)),
        }
    }
}

/// What one iptables match option (with its value) says of the packet.
fn option_match(opt: &str, value: &str, pkt: &DnsPacket) -> M {
    match opt {
        "-i" | "--in-interface" => M::from_bool(iface_matches(value, &pkt.iface, '+')),
        "-p" | "--protocol" => match value {
            "udp" | "17" | "all" | "0" => M::Yes,
            _ => M::No,
        },
        "-s" | "--source" | "-d" | "--destination" => address_match(opt, value, pkt),
        "--src-type" | "--dst-type" => address_type_match(opt, value),
        // The gateway is an address of the bridge the query arrives on.
        "--limit-iface-in" => M::Yes,
        "--src-range" | "--dst-range" => address_range_match(opt, value, pkt),
        // Matches the second and later fragments; the query is not fragmented.
        "-f" | "--fragment" => M::No,
        "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
            M::from_bool(ports_include_53(value))
        }
        "--ctstate" | "--state" => M::from_bool(value.split(',').any(|s| s == "NEW")),
        // addressed to the host's gateway address
        "--pkt-type" => M::from_bool(value == "unicast" || value == "host"),
        "-m" | "--match" | "--comment" => M::Yes,
        other => M::Unknown(format!("`{other} {value}`")),
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
fn address_type_match(opt: &str, value: &str) -> M {
    let is = if opt == "--src-type" {
        "UNICAST"
    } else {
        "LOCAL"
    };
    M::from_bool(value.split(',').any(|t| t.eq_ignore_ascii_case(is)))
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
    fn a_range_of_the_other_version_holds_no_address() {
        let v4_range = serde_json::json!({"range": ["0.0.0.0", "255.255.255.255"]});
        let v6_range =
            serde_json::json!({"range": ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]});
        let v4 = Key::Addr("10.89.60.2".parse().expect("v4"));
        let v6 = Key::Addr("fd00:60::2".parse().expect("v6"));
        assert_eq!(v4.matches(&v4_range), Ok(true));
        assert_eq!(v6.matches(&v6_range), Ok(true));
        assert_eq!(v6.matches(&v4_range), Ok(false));
        assert_eq!(v4.matches(&v6_range), Ok(false));
    }
}
