//! Runtime fields: `hostname`, `dns`, `dns_search`, `dns_options`, `extra_hosts`, `group_add`,
//! `working_dir`, `init`, `stop_signal`, `userns`, `timezone`, `log_driver`, `log_options`.

use std::net::IpAddr;

use super::{Checker, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::{self, Str};
use crate::compile::model::{NetworkRef, Runtime, Single};
use crate::unit::escape::Target;

/// Signal names podman's `--stop-signal` knows on Linux, without `SIG`.
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Podman's log drivers.
const LOG_DRIVERS: &[&str] = &[
    "journald",
    "k8s-file",
    "none",
    "passthrough",
    "passthrough-tty",
];

/// The user namespace modes of `--userns`.
const USERNS_MODES: &[&str] = &["auto", "host", "keep-id", "nomap", "ns", "private"];

impl Checker {
    /// The runtime fields of a container.
    pub(super) fn runtime(&mut self, c: &inventory::Container) -> Runtime {
        Runtime {
            hostname: c.hostname.as_ref().and_then(|h| self.hostname(h)),
            dns: self.each_item(c.dns.as_ref(), "--dns", Self::dns_server),
            dns_search: self.each_item(c.dns_search.as_ref(), "--dns-search", Self::dns_domain),
            dns_options: self.each_item(c.dns_options.as_ref(), "--dns-option", Self::dns_option),
            extra_hosts: self.each_item(c.extra_hosts.as_ref(), "--add-host", Self::extra_host),
            group_add: self.each_item(c.group_add.as_ref(), "--group-add", Self::group),
            working_dir: c.working_dir.as_ref().and_then(|w| self.working_dir(w)),
            init: c.init.as_ref().map(|b| *b.get_ref()),
            stop_signal: c.stop_signal.as_ref().and_then(|s| self.signal(s)),
            userns: c.userns.as_ref().and_then(|u| self.userns(u)),
            timezone: c.timezone.as_ref().and_then(|t| self.timezone(t)),
            log_driver: c.log_driver.as_ref().and_then(|d| self.log_driver(d)),
            log_options: self.map_items(c.log_options.as_ref(), "--log-opt", |this, k, v| {
                this.log_option(k, v)
            }),
        }
    }

    /// What podman 5.4.2 refuses with the host's or no network (seen on the rig): `net.*`
    /// sysctls with `host` ("can't be set since Network Namespace set to host"), DNS settings
    /// with `none` ("conflicting options: dns and the network mode: none").
    pub(super) fn check_options_with_networks(
        &mut self,
        c: &inventory::Container,
        networks: &[NetworkRef],
    ) {
        if networks.contains(&NetworkRef::Host) {
            for (k, _) in c.sysctls.iter().flatten() {
                if k.get_ref().starts_with("net.") {
                    self.err_help(
                        span(k),
                        format!("podman refuses the sysctl `{}` with `networks = [\"host\"]`: it would change the host's network", k.get_ref()),
                        "set it in the host's sysctl configuration, or give the container its own network",
                    );
                }
            }
        }
        if networks.contains(&NetworkRef::None) {
            let dns = [&c.dns, &c.dns_search, &c.dns_options];
            for list in dns.into_iter().flatten() {
                self.err_help(
                    span(list),
                    "podman refuses DNS settings with `networks = [\"none\"]`",
                    "remove `dns`, `dns_search` and `dns_options`, or give the container a network",
                );
            }
        }
    }

    fn hostname(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        if is_hostname(v) && v.len() <= 64 {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("`{}` is not a host name", v.escape_debug()),
            "use letters, digits and `-` in labels separated by `.`, at most 64 characters",
        );
        None
    }

    fn dns_server(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        if v == "none" || v.parse::<IpAddr>().is_ok() {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("dns `{}` is not an IP address", v.escape_debug()),
            "write the address of a DNS server, like `9.9.9.9` or `2620:fe::fe`, or `none`",
        );
        None
    }

    fn dns_domain(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        if v == "." || is_hostname(v.strip_suffix('.').unwrap_or(v)) {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("dns_search `{}` is not a domain", v.escape_debug()),
            "write a search domain like `home.lan`, or `.` for none",
        );
        None
    }

    /// A resolv.conf option: `NAME` or `NAME:VALUE`, like `ndots:2` or `edns0`.
    fn dns_option(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let (name, arg) = match v.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (v.as_str(), None),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if name_ok && arg.is_none_or(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_digit())) {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!(
                "dns_options `{}` is not a resolver option",
                v.escape_debug()
            ),
            "write an option of resolv.conf(5), like `ndots:2`, `timeout:1` or `edns0`",
        );
        None
    }

    /// `NAME:ADDRESS`: a host name (or several, separated by `;`) and an IPv4 or IPv6 address,
    /// or `host-gateway` (the host's address as the container sees it).
    fn extra_host(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let parsed = v.split_once(':').filter(|(names, address)| {
            names.split(';').all(is_hostname)
                && (*address == "host-gateway" || address.parse::<IpAddr>().is_ok())
        });
        if parsed.is_some() {
            return Some(v.clone());
        }
        let help = if v.contains('[') || v.contains('=') {
            "write `NAME:ADDRESS` with the address as it is, like `nas.lan:10.0.0.2` or `nas.lan:fd00::2` (no brackets, no `=`)"
        } else {
            "write `NAME:ADDRESS`, like `nas.lan:10.0.0.2`, `nas.lan:fd00::2` or `host.lan:host-gateway`"
        };
        self.err_help(
            span(value),
            format!("extra_hosts `{}` is not `NAME:ADDRESS`", v.escape_debug()),
            help,
        );
        None
    }

    /// A group name or id, or `keep-groups`.
    fn group(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let ok = !v.is_empty()
            && !v.starts_with('-')
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("group_add `{}` is not a group", v.escape_debug()),
            "write a group name or number, like `video` or `44`, or `keep-groups`",
        );
        None
    }

    fn working_dir(&mut self, value: &Str) -> Option<Single> {
        let v = value.get_ref();
        if !v.starts_with('/') {
            self.err_help(
                span(value),
                format!("working_dir `{}` is not an absolute path", v.escape_debug()),
                "write the directory inside the container, like `/app`",
            );
            return None;
        }
        self.single(value, "working_dir", Target::ExecStart)
    }

    /// `TERM`, `SIGTERM` (any case) or a number from 1 to 64; written `SIGTERM` or the number.
    fn signal(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        if let Ok(n) = v.parse::<u8>() {
            if (1..=64).contains(&n) {
                return Some(n.to_string());
            }
        }
        let upper = v.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        let realtime = |base: &str| {
            bare.strip_prefix(base).is_some_and(|n| {
                n.is_empty()
                    || n.strip_prefix(['+', '-'])
                        .is_some_and(|d| d.parse::<u8>().is_ok_and(|d| d <= 15))
            })
        };
        if SIGNALS.contains(&bare) || realtime("RTMIN") || realtime("RTMAX") {
            return Some(format!("SIG{bare}"));
        }
        let mut d = Diagnostic::error(
            span(value),
            format!("`{}` is not a signal", v.escape_debug()),
        )
        .with_help("write a signal name like `SIGTERM` or `SIGINT`, or its number");
        if let Some(s) = did_you_mean(bare, SIGNALS.iter().copied()) {
            d = d.with_label(format!("did you mean `SIG{s}`?"));
        }
        self.diags.push(d);
        None
    }

    /// `MODE[:OPTIONS]` of `--userns`, like `auto`, `keep-id:uid=1000` or `ns:/run/userns/x`.
    fn userns(&mut self, value: &Str) -> Option<Single> {
        let v = value.get_ref();
        let mode = v.split(':').next().unwrap_or_default();
        if !USERNS_MODES.contains(&mode) || v.chars().any(char::is_whitespace) {
            let mut d = Diagnostic::error(
                span(value),
                format!("`{}` is not a user namespace mode", v.escape_debug()),
            )
            .with_help(format!(
                "write `MODE[:OPTIONS]` with a mode of: {}",
                USERNS_MODES.join(", ")
            ));
            if let Some(s) = did_you_mean(mode, USERNS_MODES.iter().copied()) {
                d = d.with_label(format!("did you mean `{s}`?"));
            }
            self.diags.push(d);
            return None;
        }
        self.single(value, "userns", Target::ExecStart)
    }

    /// `local`, or a time zone name like `Europe/Berlin`.
    fn timezone(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        let ok = !v.is_empty()
            && !v.starts_with(['/', '-'])
            && !v.split('/').any(|p| p.is_empty() || p == "." || p == "..")
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
        if ok {
            return Some(v.clone());
        }
        self.err_help(
            span(value),
            format!("`{}` is not a time zone", v.escape_debug()),
            "write a name of the tz database, like `Europe/Berlin` or `UTC`, or `local` for the host's",
        );
        None
    }

    fn log_driver(&mut self, value: &Str) -> Option<String> {
        let v = value.get_ref();
        if LOG_DRIVERS.contains(&v.as_str()) {
            return Some(v.clone());
        }
        let mut d = Diagnostic::error(
            span(value),
            format!("`{}` is not a podman log driver", v.escape_debug()),
        )
        .with_help(format!("use one of: {}", LOG_DRIVERS.join(", ")));
        if let Some(s) = did_you_mean(v, LOG_DRIVERS.iter().copied()) {
            d = d.with_label(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
        None
    }

    fn log_option(&mut self, key: &Str, value: &Str) -> Option<String> {
        let k = key.get_ref();
        let ok = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.err(
                span(key),
                format!("`{}` is not a log option name", k.escape_debug()),
            );
            return None;
        }
        Some(format!("{k}={}", value.get_ref()))
    }
}

/// Labels of letters, digits and `-` (not at either end), separated by `.`.
fn is_hostname(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
