//! Published ports: `[[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTOCOL]`, ports or ranges.

use std::net::IpAddr;

/// Why a port mapping was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a port mapping ({why}); write it like `8080:80`, `127.0.0.1:5353:53/udp` or `[::1]:8080:80`"
)]
pub struct PortError {
    pub value: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Checks a port mapping and returns it as podman reads it (`--publish`).
pub fn parse_port(value: &str) -> Result<String, PortError> {
    let err = |why: &'static str| PortError {
        value: value.to_string(),
        why,
    };
    let (spec, protocol) = match value.rsplit_once('/') {
        Some((spec, proto)) => (spec, Some(proto)),
        None => (value, None),
    };
    if protocol.is_some_and(|p| !matches!(p, "tcp" | "udp" | "sctp")) {
        return Err(err("the protocol is tcp, udp or sctp"));
    }
    // An IPv6 address is bracketed: `[::1]:8080:80`.
    let (ip, rest) = if let Some(stripped) = spec.strip_prefix('[') {
        let (addr, rest) = stripped
            .split_once("]:")
            .ok_or_else(|| err("unclosed `[`"))?;
        (Some(addr), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.len() {
            1 | 2 => (None, spec),
            3 => (
                parts.first().copied(),
                spec.split_once(':').map_or(spec, |(_, r)| r),
            ),
            _ => return Err(err("too many `:`")),
        }
    };
    if ip.is_some_and(|ip| !ip.is_empty() && ip.parse::<IpAddr>().is_err()) {
        return Err(err("the host address is not an IP address"));
    }
    let ports: Vec<&str> = rest.split(':').collect();
    let (host, container) = match ports.as_slice() {
        [c] => (None, *c),
        [h, c] => (Some(*h), *c),
        _ => return Err(err("too many `:`")),
    };
    let container_len =
        range_len(container).ok_or_else(|| err("the container port is not a port or range"))?;
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        let host_len = range_len(h).ok_or_else(|| err("the host port is not a port or range"))?;
        if host_len != container_len && host_len != 1 {
            return Err(err("host and container ranges differ in length"));
        }
    }
    Ok(value.to_string())
}

/// Length of `PORT` (1) or `FROM-TO`, with every port in 1..=65535.
fn range_len(value: &str) -> Option<u32> {
    let port = |p: &str| {
        let digits = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| p.parse::<u16>().ok())
            .flatten()
            .filter(|p| *p > 0)
            .map(u32::from)
    };
    match value.split_once('-') {
        Some((from, to)) => {
            let (from, to) = (port(from)?, port(to)?);
            (from <= to).then(|| to - from + 1)
        }
        None => port(value).map(|_| 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_podman_forms() {
        for ok in [
            "5800:5800",
            "127.0.0.1:5353:53/udp",
            "80",
            "8000-8010:8000-8010",
            "[::1]:8080:80",
            "0.0.0.0::80",
            "69:69/udp",
            "10.0.0.1:8080:80/tcp",
        ] {
            assert_eq!(parse_port(ok).as_deref(), Ok(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_mappings() {
        for bad in [
            "",
            "abc",
            "0:80",
            "70000:80",
            "80:80/icmp",
            "1:2:3:4",
            "300.0.0.1:80:80",
            "8000-8010:8000-8005",
            "[::1:80:80",
            "80 :80",
            "9-1:9-1",
        ] {
            assert!(parse_port(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
