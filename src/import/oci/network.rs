//! How an imported container is networked: `--network=X` (an inventory network, or the modes
//! `host`, `none` and `container:NAME` → `network_mode`), the keys of the one network it joins
//! (`--ip`, `--ip6`, `--network-alias`, `--mac-address` → `networks = [{ name, … }]`), and what
//! podman refuses together with a network mode (it refused it under oci-containers too).
//!
//! `podman_args` may not carry `--network` (quadgen owns the network), so a mode the inventory
//! cannot say is not carried, with a warning.

use super::Notes;
use super::ctr::{Ctr, Origin, PendingKey, keep};
use super::fields::{Fields, Val};
use super::probe;

/// `--network=X`.
pub fn flag(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, v: &str) {
    let (name, opts) = match v.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (v, None),
    };
    match (name, opts) {
        ("host" | "none", None) => mode(ctr, at, name.to_string()),
        ("container", Some(other)) => container(ctr, notes, at, other),
        ("podman" | "bridge", None) => ctr.note(
            notes,
            at,
            "dropped: podman's default network, which a container without `networks` joins",
        ),
        ("slirp4netns" | "pasta" | "private" | "ns" | "host" | "none", _) => ctr.not_carried(
            notes,
            at,
            &format!("the network mode `{v}` has no inventory field (and `podman_args` may not set `--network`): the container joins podman's default network"),
        ),
        (n, _) if crate::compile::model::Name::parse(n).is_err() => ctr.not_carried(
            notes,
            at,
            &format!("`{n}` is not a network name quadgen can create (letters, digits, `_`, `.`, `-`), and `podman_args` may not set `--network`: the container joins podman's default network"),
        ),
        (n, _) => {
            if let Some(o) = opts {
                ctr.not_carried(notes, at, &format!("the per-network options `{o}` (write them as --ip=, --network-alias=, --mac-address= flags)"));
            }
            if !ctr.fields.networks().iter().any(|x| x == n) {
                ctr.fields.push("networks", n.to_string());
            }
            if !ctr.networks.iter().any(|x| x == n) {
                ctr.networks.push(n.to_string());
            }
        }
    }
}

/// `network_mode` (the last `--network` mode wins).
fn mode(ctr: &mut Ctr<'_>, at: &Origin, m: String) {
    ctr.fields.set("network_mode", Val::Str(m));
    ctr.mode_at = Some(at.clone());
}

/// `--network=container:OTHER`: OTHER must be imported too (quadgen orders and names it).
fn container(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, other: &str) {
    if other == ctr.name {
        ctr.not_carried(
            notes,
            at,
            "a container cannot share its own network namespace (podman refuses it)",
        );
    } else if ctr.all.iter().any(|n| n == other) {
        mode(ctr, at, format!("container:{other}"));
    } else {
        ctr.not_carried(notes, at, &format!("`{other}` is not a container of this JSON, and `network_mode` names only containers of the inventory (`podman_args` may not set `--network`): the container joins podman's default network; import `{other}` too, or give this one `networks`"));
    }
}

/// `--ip`, `--ip6`, `--network-alias`, `--mac-address`: settled once every flag is read.
pub fn key(ctr: &mut Ctr<'_>, at: &Origin, flag: &str, key: &'static str, value: String) {
    ctr.pending_keys.push(PendingKey {
        key,
        value,
        flag: flag.to_string(),
        at: at.clone(),
    });
}

/// After every flag: a mode with networks, the network keys, and what podman refuses with the
/// mode.
pub fn finish(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    mode_over_networks(ctr, notes);
    keys(ctr, notes);
    with_mode(ctr, notes);
}

/// Podman refuses other networks with `host`, `none` or `container:X`; the mode is kept.
fn mode_over_networks(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let (Some(at), Some(Val::Str(m))) = (ctr.mode_at.clone(), ctr.fields.get("network_mode"))
    else {
        return;
    };
    let m = m.clone();
    let nets = ctr.fields.networks();
    if nets.is_empty() {
        return;
    }
    ctr.fields.remove("networks");
    ctr.networks.clear();
    ctr.not_carried(notes, &at, &format!("the networks {} (podman refuses other networks with `--network={m}`, so the container did not start): it uses `network_mode = \"{m}\"`", nets.join(", ")));
}

/// Each key into the one network's table when the container joins exactly one inventory network
/// and the inventory takes the value; otherwise kept in `podman_args` with why.
fn keys(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let pending = std::mem::take(&mut ctr.pending_keys);
    let nets = ctr.fields.networks();
    let ambiguous = match (ctr.mode_at.is_some(), nets.as_slice()) {
        (true, _) => Some("the container has a network mode, not a network of its own".to_string()),
        (false, []) => Some(
            "the container joins podman's default network, which the inventory cannot name"
                .to_string(),
        ),
        (false, [_]) => None,
        (false, many) => Some(format!(
            "the container joins several networks ({}), and `networks` sets it on one of them",
            many.join(", ")
        )),
    };
    for p in pending {
        let word = format!("{}={}", p.flag, p.value);
        if let Some(why) = &ambiguous {
            keep(
                ctr,
                notes,
                &p.at,
                word,
                &format!("{why}: kept in podman_args"),
            );
            continue;
        }
        let mut alone = Fields::default();
        alone.set("networks", Val::List(nets.clone()));
        alone.network_keys = ctr.fields.network_keys.clone();
        alone.network_keys.push((p.key, p.value.clone()));
        match probe::accepts(&alone, &nets, &[]) {
            Ok(()) => ctr.fields.network_keys.push((p.key, p.value)),
            Err(why) => {
                let hint = if matches!(p.key, "ip" | "ip6") {
                    format!(
                        "; to make it a field, set `subnet` on `[networks.{}]` as `podman network inspect {}` shows it, and write `networks = [{{ name = \"{}\", {} = \"{}\" }}]`",
                        nets[0], nets[0], nets[0], p.key, p.value
                    )
                } else {
                    String::new()
                };
                keep(
                    ctr,
                    notes,
                    &p.at,
                    word,
                    &format!("`networks` does not take it ({why}): kept in podman_args{hint}"),
                );
            }
        }
    }
}

/// What podman refuses with a network mode, and the inventory with it: ports with
/// `container:X` (X publishes them), `net.*` sysctls with `host`, DNS settings with `none`.
fn with_mode(ctr: &mut Ctr<'_>, notes: &mut Notes) {
    let (Some(at), Some(Val::Str(m))) = (ctr.mode_at.clone(), ctr.fields.get("network_mode"))
    else {
        return;
    };
    let m = m.clone();
    if let Some(owner) = m.strip_prefix("container:") {
        if let Some(Val::List(ports)) = ctr.fields.remove("ports") {
            ctr.not_carried(notes, &at, &format!("the ports {}: the container shares `{owner}`'s network, so podman refuses to publish ports on it; publish them on `{owner}` (its `ports`)", ports.join(", ")));
        }
    }
    if m == "host" {
        if let Some(Val::Map(entries)) = ctr.fields.remove("sysctls") {
            let (net, other): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|(k, _)| k.starts_with("net."));
            if !other.is_empty() {
                ctr.fields.set("sysctls", Val::Map(other));
            }
            for (k, v) in net {
                keep(
                    ctr,
                    notes,
                    &at,
                    format!("--sysctl={k}={v}"),
                    &format!(
                        "podman refuses the sysctl `{k}` with the host's network (it would change the host's): kept in podman_args as oci-containers had it; set it on the host instead"
                    ),
                );
            }
        }
    }
    if m == "none" {
        for (field, flag) in [
            ("dns", "--dns"),
            ("dns_search", "--dns-search"),
            ("dns_options", "--dns-option"),
        ] {
            if let Some(Val::List(items)) = ctr.fields.remove(field) {
                for i in items {
                    keep(
                        ctr,
                        notes,
                        &at,
                        format!("{flag}={i}"),
                        "podman refuses DNS settings without a network: kept in podman_args as oci-containers had it; remove it",
                    );
                }
            }
        }
    }
}
