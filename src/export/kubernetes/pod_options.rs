//! The options Kubernetes sets per pod, not per container: `hostname`, DNS (`dnsPolicy`,
//! `dnsConfig`), `/etc/hosts` lines (`hostAliases`), `sysctls` and supplementary groups (the
//! pod's `securityContext`). A container alone in its Deployment gets them; a member of an
//! inventory pod shares the pod's, so its own are noted.
//!
//! DNS: with name servers in `dns`, the pod gets `dnsPolicy: None` and exactly those servers,
//! search domains and options, as podman wrote them into resolv.conf (the cluster's name server is
//! then not asked, just as podman's network name server was not). With only `dns_search` or
//! `dns_options`, the pod keeps the cluster's DNS (`ClusterFirst`) and `dnsConfig` adds them, so
//! Service names still resolve: the search domains come after the cluster's (podman replaced
//! the list), which is noted.

use super::*;

/// Sysctls the kubelet allows by default (Kubernetes 1.32 and later); any other needs the
/// node's kubelet to allow it (`--allowed-unsafe-sysctls`).
const SAFE_SYSCTLS: [&str; 12] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_wmem",
];

/// Kubernetes' limit on `dnsConfig.nameservers`.
const MAX_NAMESERVERS: usize = 3;

/// The pod-level fields of a pod spec.
#[derive(Debug, Default)]
pub(super) struct PodOptions {
    pub hostname: Option<String>,
    pub dns_policy: Option<&'static str>,
    pub dns_config: Option<PodDnsConfig>,
    pub host_aliases: Vec<HostAlias>,
    pub security_context: Option<PodSecurityContext>,
}

/// The pod options of a container alone in its pod (`host_network`: it uses the node's).
pub(super) fn container_pod_options(
    c: &model::Container,
    host_network: bool,
    notes: &mut Vec<Note>,
) -> PodOptions {
    let mut texts = Vec::new();
    let mut options = PodOptions {
        hostname: hostname(c.runtime.hostname.as_deref(), host_network, &mut texts),
        host_aliases: host_aliases(&c.runtime.extra_hosts, &mut texts),
        ..PodOptions::default()
    };
    let (policy, config) = dns(&c.runtime, host_network, &mut texts);
    options.dns_policy = policy;
    options.dns_config = config;
    let context = PodSecurityContext {
        supplemental_groups: supplemental_groups(&c.runtime.group_add, &mut texts),
        sysctls: sysctls(&c.resources.sysctls, &mut texts),
    };
    options.security_context = (context != PodSecurityContext::default()).then_some(context);
    notes.extend(texts.into_iter().map(|text| Note {
        subject: Subject::Container(c.name.to_string()),
        text,
    }));
    options
}

/// The pod options of an inventory pod: its `hostname` (the members' own are noted).
pub(super) fn pod_pod_options(p: &model::Pod, host_network: bool) -> (PodOptions, Vec<String>) {
    let mut texts = Vec::new();
    let options = PodOptions {
        hostname: hostname(
            p.hostname.as_ref().map(|h| h.raw.as_str()),
            host_network,
            &mut texts,
        ),
        dns_policy: host_network.then_some("ClusterFirstWithHostNet"),
        ..PodOptions::default()
    };
    (options, texts)
}

/// A member's pod-level fields, which the pod it is in has once for all members.
pub(super) fn member_texts(c: &model::Container, texts: &mut Vec<String>) {
    let rt = &c.runtime;
    let set: Vec<&str> = [
        ("hostname", rt.hostname.is_some()),
        ("dns", !rt.dns.is_empty()),
        ("dns_search", !rt.dns_search.is_empty()),
        ("dns_options", !rt.dns_options.is_empty()),
        ("extra_hosts", !rt.extra_hosts.is_empty()),
        ("group_add", !rt.group_add.is_empty()),
        ("sysctls", !c.resources.sysctls.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.then_some(k))
    .collect();
    if !set.is_empty() {
        texts.push(format!(
            "{} not carried: Kubernetes sets them per pod (`hostname`, `dnsConfig`, `hostAliases`, the pod's `securityContext`), for all its members; set them on the Deployment by hand",
            list(&set)
        ));
    }
}

/// `hostname` when it is a DNS label (what a pod's hostname must be) and the pod has its own.
fn hostname(name: Option<&str>, host_network: bool, texts: &mut Vec<String>) -> Option<String> {
    let name = name?;
    if host_network {
        texts.push(format!(
            "hostname `{name}` is not carried: with `hostNetwork` the pod has the node's"
        ));
        return None;
    }
    if !is_dns_label(name) {
        texts.push(format!(
            "hostname `{name}` is not carried: a pod's hostname must be a DNS label (lowercase letters, digits and `-`, at most 63)"
        ));
        return None;
    }
    Some(name.to_string())
}

/// `dnsPolicy` and `dnsConfig` (see the module's documentation).
fn dns(
    rt: &model::Runtime,
    host_network: bool,
    texts: &mut Vec<String>,
) -> (Option<&'static str>, Option<PodDnsConfig>) {
    let default_policy = host_network.then_some("ClusterFirstWithHostNet");
    let raw = |items: &[model::ListItem]| -> Vec<String> {
        items.iter().map(|i| i.value.raw.clone()).collect()
    };
    let dns = raw(&rt.dns);
    let mut servers: Vec<String> = dns.iter().filter(|d| *d != "none").cloned().collect();
    let search = raw(&rt.dns_search);
    let searches: Vec<String> = search.iter().filter(|s| *s != ".").cloned().collect();
    let options: Vec<DnsOption> = raw(&rt.dns_options)
        .into_iter()
        .map(|o| match o.split_once(':') {
            Some((name, value)) => DnsOption {
                name: name.into(),
                value: Some(value.into()),
            },
            None => DnsOption {
                name: o,
                value: None,
            },
        })
        .collect();
    if dns.iter().any(|d| d == "none") {
        texts.push(
            "`dns = [\"none\"]` is not carried: Kubernetes always writes the pod's resolv.conf"
                .into(),
        );
    }
    if servers.len() > MAX_NAMESERVERS {
        let dropped: Vec<&str> = servers[MAX_NAMESERVERS..]
            .iter()
            .map(String::as_str)
            .collect();
        texts.push(format!(
            "dns servers {} are not carried: a pod has at most {MAX_NAMESERVERS}",
            list(&dropped)
        ));
        servers.truncate(MAX_NAMESERVERS);
    }
    if !servers.is_empty() {
        texts.push("`dns` is written as `dnsPolicy: None` with those servers, as podman wrote them: the cluster's DNS is not asked, so Service names resolve only if those servers answer them".into());
        let config = PodDnsConfig {
            nameservers: servers,
            searches,
            options,
        };
        return (Some("None"), Some(config));
    }
    if search.iter().any(|s| s == ".") {
        texts.push("`dns_search = [\".\"]` (no search domains) is not carried: the pod keeps the cluster's".into());
    }
    if !searches.is_empty() {
        texts.push("`dns_search` domains are added after the cluster's own (podman replaced the list), so Service names still resolve".into());
    }
    if searches.is_empty() && options.is_empty() {
        return (default_policy, None);
    }
    let config = PodDnsConfig {
        nameservers: Vec::new(),
        searches,
        options,
    };
    (default_policy, Some(config))
}

/// `extra_hosts` (`NAME[;NAME…]:ADDRESS`) as one `hostAliases` entry per address, in order;
/// `host-gateway` is noted.
fn host_aliases(extra_hosts: &[model::ListItem], texts: &mut Vec<String>) -> Vec<HostAlias> {
    let mut aliases: Vec<HostAlias> = Vec::new();
    for item in extra_hosts {
        let Some((names, ip)) = item.value.raw.split_once(':') else {
            continue;
        };
        if ip == "host-gateway" {
            texts.push(format!(
                "extra host `{}` is not carried: Kubernetes has no `host-gateway`; write the node's address, or use a Service",
                item.value.raw
            ));
            continue;
        }
        let names = names.split(';').map(str::to_string);
        match aliases.iter_mut().find(|a| a.ip == ip) {
            Some(alias) => alias.hostnames.extend(names),
            None => aliases.push(HostAlias {
                ip: ip.to_string(),
                hostnames: names.collect(),
            }),
        }
    }
    aliases
}

/// Numeric `group_add` entries as `supplementalGroups`; names and `keep-groups` are noted.
fn supplemental_groups(groups: &[model::ListItem], texts: &mut Vec<String>) -> Vec<u32> {
    let mut numeric = Vec::new();
    let mut other = Vec::new();
    for g in groups {
        match g.value.raw.parse::<u32>() {
            Ok(n) => numeric.push(n),
            Err(_) => other.push(g.value.raw.as_str()),
        }
    }
    if !other.is_empty() {
        texts.push(format!(
            "group_add {} not carried: `supplementalGroups` takes numeric ids only",
            list(&other)
        ));
    }
    numeric
}

/// `sysctls` as the pod's; those outside the kubelet's safe set are noted.
fn sysctls(items: &[model::ListItem], texts: &mut Vec<String>) -> Vec<Sysctl> {
    let sysctls: Vec<Sysctl> = items
        .iter()
        .filter_map(|i| i.value.raw.split_once('='))
        .map(|(name, value)| Sysctl {
            name: name.into(),
            value: value.into(),
        })
        .collect();
    let unsafe_ones: Vec<&str> = sysctls
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| !SAFE_SYSCTLS.contains(n))
        .collect();
    if !unsafe_ones.is_empty() {
        texts.push(format!(
            "sysctls {} are unsafe to Kubernetes: the pod starts only on nodes whose kubelet allows them (`--allowed-unsafe-sysctls`)",
            list(&unsafe_ones)
        ));
    }
    sysctls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(values: &[&str]) -> Vec<model::ListItem> {
        values
            .iter()
            .map(|v| model::ListItem::new("--x", v).expect("item"))
            .collect()
    }

    #[test]
    fn extra_hosts_group_by_address() {
        let mut texts = Vec::new();
        let aliases = host_aliases(
            &items(&[
                "db;db.lan:10.0.0.5",
                "cache:10.0.0.5",
                "v6:fd00::1",
                "gw:host-gateway",
            ]),
            &mut texts,
        );
        assert_eq!(
            aliases,
            vec![
                HostAlias {
                    ip: "10.0.0.5".into(),
                    hostnames: vec!["db".into(), "db.lan".into(), "cache".into()],
                },
                HostAlias {
                    ip: "fd00::1".into(),
                    hostnames: vec!["v6".into()],
                },
            ]
        );
        assert!(
            texts.iter().any(|t| t.contains("host-gateway")),
            "{texts:?}"
        );
    }

    #[test]
    fn dns_with_servers_replaces_the_cluster_dns_without_keeps_it() {
        let mut texts = Vec::new();
        let mut rt = model::Runtime {
            dns: items(&["10.0.0.53"]),
            dns_search: items(&["lan"]),
            dns_options: items(&["ndots:2", "edns0"]),
            ..model::Runtime::default()
        };
        let (policy, config) = dns(&rt, false, &mut texts);
        assert_eq!(policy, Some("None"));
        let config = config.expect("config");
        assert_eq!(config.nameservers, vec!["10.0.0.53".to_string()]);
        assert_eq!(config.options[0].value.as_deref(), Some("2"));
        rt.dns.clear();
        let (policy, config) = dns(&rt, true, &mut texts);
        assert_eq!(policy, Some("ClusterFirstWithHostNet"));
        assert_eq!(config.expect("config").searches, vec!["lan".to_string()]);
    }
}
