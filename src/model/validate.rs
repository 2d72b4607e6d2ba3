//! Inventory → [`Model`]: applies defaults and checks every rule, collecting all problems.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;

use toml::Spanned;

use super::*;
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::inventory::{self, Inventory, RawSections, Str, StrMap};
use crate::render::escape::Target;
use crate::version::{KeyError, check_key};

/// Checks an inventory for `target`. Returns the model and any warnings, or every problem found.
pub fn validate(
    inventory: &Inventory,
    target: PodmanVersion,
) -> Result<(Model, Diagnostics), Diagnostics> {
    let mut c = Checker {
        diags: Diagnostics::default(),
        target,
    };
    let network_names: Vec<&str> = inventory
        .networks
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    let volume_names: Vec<&str> = inventory
        .volumes
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    let container_names: Vec<&str> = inventory
        .containers
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    let names = Names {
        networks: &network_names,
        volumes: &volume_names,
        containers: &container_names,
    };

    let networks: Vec<Network> = inventory
        .networks
        .iter()
        .filter_map(|(name, net)| c.network(name, net))
        .collect();
    let mut interfaces: BTreeMap<&str, &Name> = BTreeMap::new();
    for n in &networks {
        if let Some(i) = &n.interface_name
            && let Some(other) = interfaces.insert(i, &n.name)
        {
            let at = inventory
                .networks
                .keys()
                .find(|k| k.get_ref() == n.name.as_str())
                .and_then(span);
            c.diags.push(
                Diagnostic::error(
                    at,
                    format!(
                        "networks `{other}` and `{}` would both use the interface `{i}`",
                        n.name
                    ),
                )
                .with_help("set a distinct `interface_name` on one of them"),
            );
        }
    }
    let volumes: Vec<Volume> = inventory
        .volumes
        .iter()
        .filter_map(|(name, vol)| c.volume(name, vol))
        .collect();
    let defaults = inventory.defaults.as_ref().map(Spanned::get_ref);
    let containers: Vec<Container> = inventory
        .containers
        .iter()
        .filter_map(|(name, raw)| {
            let mut merged = merge(defaults, raw.get_ref());
            // A `[defaults]` dependency on a container does not apply to that container itself.
            if raw.get_ref().depends_on.is_none()
                && let Some(deps) = merged.depends_on.as_mut()
            {
                deps.get_mut().retain(|d| d.get_ref() != name.get_ref());
            }
            c.container(name, raw.span(), &merged, &names)
        })
        .collect();

    c.check_service_names(inventory);
    c.check_cycles(inventory, &containers);

    if c.diags.has_errors() {
        return Err(c.diags);
    }
    Ok((
        Model {
            target,
            networks,
            volumes,
            containers,
        },
        c.diags,
    ))
}

struct Names<'a> {
    networks: &'a [&'a str],
    volumes: &'a [&'a str],
    containers: &'a [&'a str],
}

struct Checker {
    diags: Diagnostics,
    target: PodmanVersion,
}

/// Applies `[defaults]`: the container's own value wins; maps merge key by key.
fn merge(
    defaults: Option<&inventory::Container>,
    own: &inventory::Container,
) -> inventory::Container {
    let Some(d) = defaults else {
        return own.clone();
    };
    let d = d.clone();
    let own = own.clone();
    let merge_map = |d: Option<StrMap>, o: Option<StrMap>| match (d, o) {
        (Some(mut d), Some(o)) => {
            for (k, v) in o {
                d.remove(&k);
                d.insert(k, v);
            }
            Some(d)
        }
        (d, o) => o.or(d),
    };
    let merge_raw = |d: Option<RawSections>, o: Option<RawSections>| match (d, o) {
        (Some(mut d), Some(o)) => {
            for (section, keys) in o {
                let entry = d.entry(section).or_default();
                for (k, v) in keys {
                    entry.remove(&k);
                    entry.insert(k, v);
                }
            }
            Some(d)
        }
        (d, o) => o.or(d),
    };
    inventory::Container {
        image: own.image.or(d.image),
        description: own.description.or(d.description),
        cmd: own.cmd.or(d.cmd),
        entrypoint: own.entrypoint.or(d.entrypoint),
        environment: merge_map(d.environment, own.environment),
        environment_files: own.environment_files.or(d.environment_files),
        ports: own.ports.or(d.ports),
        volumes: own.volumes.or(d.volumes),
        networks: own.networks.or(d.networks),
        user: own.user.or(d.user),
        depends_on: own.depends_on.or(d.depends_on),
        after: own.after.or(d.after),
        requires: own.requires.or(d.requires),
        wants: own.wants.or(d.wants),
        health: own.health.or(d.health),
        restart: own.restart.or(d.restart),
        stop_timeout: own.stop_timeout.or(d.stop_timeout),
        start_timeout: own.start_timeout.or(d.start_timeout),
        labels: merge_map(d.labels, own.labels),
        devices: own.devices.or(d.devices),
        pull: own.pull.or(d.pull),
        auto_update: own.auto_update.or(d.auto_update),
        auto_start: own.auto_start.or(d.auto_start),
        podman_args: own.podman_args.or(d.podman_args),
        quadlet: merge_raw(d.quadlet, own.quadlet),
    }
}

fn span<T>(s: &Spanned<T>) -> Option<Range<usize>> {
    Some(s.span())
}

impl Checker {
    fn err(&mut self, at: Option<Range<usize>>, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(at, message));
    }

    fn err_help(
        &mut self,
        at: Option<Range<usize>>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(at, message).with_help(help));
    }

    fn name(&mut self, name: &Str, what: &str) -> Option<Name> {
        Name::parse(name.get_ref())
            .map_err(|e| self.err(span(name), format!("invalid {what} name: {e}")))
            .ok()
    }

    fn word(&mut self, value: &Str, what: &str) -> Option<Word> {
        Word::parse(value.get_ref())
            .map_err(|e| {
                self.err(
                    span(value),
                    format!("{what} `{}` {e}", value.get_ref().escape_debug()),
                )
            })
            .ok()
    }

    fn words(&mut self, values: Option<&Spanned<Vec<Str>>>, what: &str) -> Vec<Word> {
        values
            .map(|vs| {
                vs.get_ref()
                    .iter()
                    .filter_map(|v| self.word(v, what))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn single(&mut self, value: &Str, what: &str, target: Target) -> Option<Single> {
        Single::parse(value.get_ref(), target)
            .map_err(|e| {
                self.err_help(
                    span(value),
                    format!("{what} `{}` {e}", value.get_ref().escape_debug()),
                    "remove the character, or pass the value through a file the container reads",
                )
            })
            .ok()
    }

    /// `KEY=VALUE` words from a map (environment, labels, options).
    fn pairs(&mut self, map: Option<&StrMap>, what: &str) -> Vec<Word> {
        let mut out = Vec::new();
        for (k, v) in map.into_iter().flatten() {
            let key = k.get_ref();
            if key.is_empty()
                || key.contains('=')
                || key.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                self.err(
                    span(k),
                    format!(
                        "{what} key `{}` must be non-empty, without `=` or whitespace",
                        key.escape_debug()
                    ),
                );
                continue;
            }
            match Word::parse(&format!("{key}={}", v.get_ref())) {
                Ok(w) => out.push(w),
                Err(e) => self.err(span(v), format!("{what} `{key}` {e}")),
            }
        }
        out
    }

    fn duration(&mut self, value: Option<&Str>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(v) => Duration::parse(v.get_ref()).unwrap_or_else(|e| {
                self.err(span(v), e);
                default
            }),
        }
    }

    fn one_of(
        &mut self,
        value: Option<&Str>,
        allowed: &[&str],
        default: &str,
        what: &str,
    ) -> String {
        match value {
            None => default.to_string(),
            Some(v) if allowed.contains(&v.get_ref().as_str()) => v.get_ref().clone(),
            Some(v) => {
                let mut d = Diagnostic::error(
                    span(v),
                    format!("`{}` is not a valid {what}", v.get_ref().escape_debug()),
                )
                .with_help(format!("use one of: {}", allowed.join(", ")));
                if let Some(s) = did_you_mean(v.get_ref(), allowed.iter().copied()) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                default.to_string()
            }
        }
    }

    fn raw_keys(&mut self, raw: Option<&RawSections>, sections: &[Section]) -> Vec<RawKey> {
        let mut out = Vec::new();
        for (section_name, keys) in raw.into_iter().flatten() {
            let Some(section) =
                Section::from_name(section_name.get_ref()).filter(|s| sections.contains(s))
            else {
                let names: Vec<&str> = sections.iter().map(|s| s.name()).collect();
                self.err_help(
                    span(section_name),
                    format!(
                        "`{}` is not a section quadgen can write here",
                        section_name.get_ref()
                    ),
                    format!("use one of: {}", names.join(", ")),
                );
                continue;
            };
            for (key, value) in keys {
                let k = key.get_ref();
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    self.err(
                        span(key),
                        format!("`{}` is not a valid key name", k.escape_debug()),
                    );
                    continue;
                }
                if let Some(field) = modelled_key(section, k) {
                    self.err_help(
                        span(key),
                        format!("`{k}=` is set by quadgen from the inventory and cannot be replaced"),
                        format!("use the inventory's `{field}` instead: service and object names, images and networks must stay what the inventory says"),
                    );
                    continue;
                }
                match check_key(section, k, self.target) {
                    Ok(()) => {}
                    Err(KeyError::TooNew { introduced }) => {
                        self.err_help(
                            span(key),
                            format!("`{k}=` needs Podman {introduced}; the target is Podman {}", self.target),
                            format!("raise the target with `--podman {introduced}` if every host runs it, or remove the key"),
                        );
                        continue;
                    }
                    Err(KeyError::Unknown { suggestion }) => {
                        let mut d = Diagnostic::error(
                            span(key),
                            format!(
                                "`{k}` is not a key of quadlet's [{}] section: quadlet would drop the whole unit",
                                section.name()
                            ),
                        );
                        if let Some(s) = suggestion {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.diags.push(d);
                        continue;
                    }
                }
                let target = if section.is_quadlet()
                    || (section == Section::Service && k.starts_with("Exec"))
                {
                    Target::ExecStart
                } else {
                    Target::UnitSetting
                };
                let mut values = Vec::new();
                for v in value.get_ref().values() {
                    if let Some(c) = v.chars().find(|c| c.is_control()) {
                        self.err(span(value), format!("`{k}` value contains the control character {c:?}, which would end or break the line"));
                    } else if v.trim() != v || v.starts_with('"') || v.ends_with('"') {
                        self.err_help(
                            span(value),
                            format!("`{k}` value `{v}` starts or ends with whitespace or `\"`, which quadlet strips"),
                            "remove them; raw values are written after `Key=` as they are",
                        );
                    } else if v.ends_with('\\') {
                        self.err(
                            span(value),
                            format!(
                                "`{k}` value ends with `\\`, which would join it with the next line"
                            ),
                        );
                    } else {
                        values.push(crate::render::escape::protect(v, target));
                    }
                }
                out.push(RawKey {
                    section,
                    key: k.clone(),
                    values,
                });
            }
        }
        out
    }

    fn ip(&mut self, value: &Str, what: &str) -> Option<IpAddr> {
        value
            .get_ref()
            .parse::<IpAddr>()
            .map_err(|_| {
                self.err(
                    span(value),
                    format!("{what} `{}` is not an IP address", value.get_ref()),
                )
            })
            .ok()
    }

    fn network(&mut self, name: &Str, net: &Spanned<inventory::Network>) -> Option<Network> {
        let mut name_checked = self.name(name, "network");
        if RESERVED_NETWORKS.contains(&name.get_ref().as_str()) {
            self.err_help(
                span(name),
                format!("`{}` is a network mode of podman's own, so containers could not join a network of that name", name.get_ref()),
                "choose another name",
            );
            name_checked = None;
        }
        let n = net.get_ref();
        let parsed_subnet = n
            .subnet
            .as_ref()
            .and_then(|s| match parse_cidr(s.get_ref()) {
                Some(cidr) => Some(cidr),
                None => {
                    self.err_help(
                        span(s),
                        format!("`{}` is not a subnet", s.get_ref()),
                        "write it in CIDR form, like `10.89.7.0/24`",
                    );
                    None
                }
            });
        let subnet = parsed_subnet
            .and(n.subnet.as_ref())
            .map(|s| s.get_ref().clone());
        let gateway = n.gateway.as_ref().and_then(|g| {
            let ip = self.ip(g, "gateway")?;
            match (&n.subnet, parsed_subnet) {
                (None, _) => {
                    self.err_help(
                        span(g),
                        "a gateway needs a subnet: quadlet refuses the network otherwise",
                        "add `subnet = \"…/24\"` to this network",
                    );
                    None
                }
                (Some(s), Some(cidr)) if !cidr.contains(ip) => {
                    self.err(
                        span(g),
                        format!("gateway `{ip}` is not in the subnet `{}`", s.get_ref()),
                    );
                    None
                }
                _ => Some(ip.to_string()),
            }
        });
        let dns = n
            .dns
            .as_ref()
            .map(|d| {
                d.get_ref()
                    .iter()
                    .filter_map(|ip| self.ip(ip, "DNS server"))
                    .map(|ip| ip.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let driver = self.one_of(
            n.driver.as_ref(),
            &["bridge", "macvlan", "ipvlan"],
            "bridge",
            "network driver",
        );
        let options = self.pairs(n.options.as_ref(), "network option");
        let labels = self.pairs(n.labels.as_ref(), "label");
        let raw = self.raw_keys(
            n.quadlet.as_ref(),
            &[
                Section::Unit,
                Section::Network,
                Section::Service,
                Section::Install,
            ],
        );
        let name = name_checked?;
        let interface_name = if driver != "bridge" {
            if let Some(i) = &n.interface_name {
                self.err(
                    span(i),
                    "`interface_name` applies to the bridge driver only",
                );
            }
            None
        } else {
            match &n.interface_name {
                Some(i) => {
                    let v = i.get_ref();
                    if v.is_empty()
                        || v.len() > 15
                        || !v
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                    {
                        self.err(span(i), format!("`{v}` is not a valid interface name: 1 to 15 of letters, digits, `_`, `.`, `-`"));
                    }
                    Some(v.clone())
                }
                None => Some(default_interface_name(&name)),
            }
        };
        Some(Network {
            name,
            subnet,
            gateway,
            internal: n.internal.as_ref().is_some_and(|b| *b.get_ref()),
            ipv6: n.ipv6.as_ref().is_some_and(|b| *b.get_ref()),
            dns,
            driver,
            options,
            labels,
            interface_name,
            raw,
        })
    }

    fn volume(&mut self, name: &Str, vol: &Spanned<inventory::Volume>) -> Option<Volume> {
        let name_checked = self.name(name, "volume");
        let v = vol.get_ref();
        let driver = v
            .driver
            .as_ref()
            .and_then(|d| self.single(d, "volume driver", Target::ExecStart))
            .map(|s| s.written);
        let (mut mount_type, mut device, mut mount_options) = (None, None, None);
        for (k, val) in v.options.iter().flatten() {
            let slot = match k.get_ref().as_str() {
                "type" => &mut mount_type,
                "device" => &mut device,
                "o" => &mut mount_options,
                other => {
                    self.err_help(
                        span(k),
                        format!("`{other}` is not a volume option"),
                        "use `type`, `device` or `o` (as for `podman volume create --opt`)",
                    );
                    continue;
                }
            };
            *slot = self.single(val, "volume option", Target::ExecStart);
        }
        let labels = self.pairs(v.labels.as_ref(), "label");
        let raw = self.raw_keys(
            v.quadlet.as_ref(),
            &[
                Section::Unit,
                Section::Volume,
                Section::Service,
                Section::Install,
            ],
        );
        Some(Volume {
            name: name_checked?,
            driver,
            mount_type,
            device,
            mount_options,
            labels,
            raw,
        })
    }

    fn container(
        &mut self,
        name: &Str,
        at: Range<usize>,
        c: &inventory::Container,
        names: &Names<'_>,
    ) -> Option<Container> {
        let name_checked = self.name(name, "container");
        let auto_update = match self
            .one_of(
                c.auto_update.as_ref(),
                &["registry", "local", "none"],
                "registry",
                "auto_update policy",
            )
            .as_str()
        {
            "local" => AutoUpdate::Local,
            "none" => AutoUpdate::None,
            _ => AutoUpdate::Registry,
        };
        let image = match &c.image {
            None => {
                self.err_help(
                    Some(at.clone()),
                    format!("container `{}` has no `image`", name.get_ref()),
                    "add `image = \"registry/name:tag\"`",
                );
                None
            }
            Some(i) => self.image(i, auto_update),
        };
        let image_written = c
            .image
            .as_ref()
            .and_then(|i| self.single(i, "image", Target::ExecStart));
        let description = match &c.description {
            Some(d) => self.single(d, "description", Target::UnitSetting),
            None => Single::parse(name.get_ref(), Target::UnitSetting).ok(),
        };
        let cmd = self.words(c.cmd.as_ref(), "cmd argument");
        let entrypoint = c
            .entrypoint
            .as_ref()
            .and_then(|e| self.single(e, "entrypoint", Target::ExecStart));
        let environment = self.pairs(c.environment.as_ref(), "environment variable");
        let environment_files = self.paths(c.environment_files.as_ref(), "environment file");
        let ports = c
            .ports
            .as_ref()
            .map(|ps| {
                ps.get_ref()
                    .iter()
                    .filter_map(|p| {
                        parse_port(p.get_ref())
                            .map_err(|e| self.err(span(p), e))
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mounts = c
            .volumes
            .as_ref()
            .map(|vs| {
                vs.get_ref()
                    .iter()
                    .filter_map(|v| self.mount(v, names))
                    .collect()
            })
            .unwrap_or_default();
        let networks = c
            .networks
            .as_ref()
            .map(|ns| {
                ns.get_ref()
                    .iter()
                    .filter_map(|n| self.network_ref(n, names))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if networks.len() > 1
            && networks
                .iter()
                .any(|n| !matches!(n, NetworkRef::Inventory(_)))
        {
            self.err(
                c.networks.as_ref().and_then(span),
                "`host` and `none` cannot be combined with other networks",
            );
        }
        let (user, group) = match &c.user {
            None => (None, None),
            Some(u) => self.user(u),
        };
        let depends_on = c
            .depends_on
            .as_ref()
            .map(|ds| {
                ds.get_ref()
                    .iter()
                    .filter_map(|d| self.reference(d, names.containers, "container"))
                    .collect()
            })
            .unwrap_or_default();
        let after = self.unit_names(c.after.as_ref());
        let requires = self.unit_names(c.requires.as_ref());
        let wants = self.unit_names(c.wants.as_ref());
        let health = c.health.as_ref().and_then(|h| self.health(h));
        let restart = self.one_of(
            c.restart.as_ref(),
            &[
                "no",
                "on-success",
                "on-failure",
                "on-abnormal",
                "on-watchdog",
                "on-abort",
                "always",
            ],
            "on-failure",
            "restart policy",
        );
        let stop_timeout = self.duration(c.stop_timeout.as_ref(), Duration::secs(10));
        let start_timeout = match &c.start_timeout {
            Some(_) => self.duration(c.start_timeout.as_ref(), PULL_ALLOWANCE),
            None => Duration(
                PULL_ALLOWANCE
                    .0
                    .saturating_add(health.as_ref().map_or(0, time_to_healthy)),
            ),
        };
        let labels = self.pairs(c.labels.as_ref(), "label");
        if let Some((k, _)) = c
            .labels
            .iter()
            .flatten()
            .find(|(k, _)| k.get_ref() == "io.containers.autoupdate")
        {
            self.err_help(
                span(k),
                "the `io.containers.autoupdate` label is set by quadgen",
                "use `auto_update = \"registry\"`, `\"local\"` or `\"none\"`",
            );
        }
        let devices = c
            .devices
            .as_ref()
            .map(|ds| ds.get_ref().iter().filter_map(|d| self.device(d)).collect())
            .unwrap_or_default();
        let pull = self.one_of(
            c.pull.as_ref(),
            &["always", "missing", "never", "newer"],
            default_pull(auto_update),
            "pull policy",
        );
        if auto_update == AutoUpdate::Registry
            && let Some(p) = c
                .pull
                .as_ref()
                .filter(|p| matches!(p.get_ref().as_str(), "newer" | "always"))
        {
            self.diags.push(
                Diagnostic::warning(
                    span(p),
                    format!("`pull = \"{}\"` defeats `podman auto-update`'s rollback", p.get_ref()),
                )
                .with_help("the rollback restart would pull the broken image again, and every restart would start whatever the registry has without the health gate; leave `pull` unset (`missing`) and let `podman-auto-update.timer` bring new images"),
            );
        }
        let podman_args = self.words(c.podman_args.as_ref(), "podman argument");
        let raw = self.raw_keys(
            c.quadlet.as_ref(),
            &[
                Section::Unit,
                Section::Container,
                Section::Service,
                Section::Install,
            ],
        );

        if auto_update != AutoUpdate::None && health.is_none() && image.is_some() {
            self.diags.push(
                Diagnostic::warning(
                    Some(name.span()),
                    format!("container `{}` auto-updates but has no health check: a rollback can then only catch a crash, not a broken service", name.get_ref()),
                )
                .with_help("add `health = { cmd = \"...\" }` so a bad image fails its start and `podman auto-update` rolls it back"),
            );
        }

        Some(Container {
            name: name_checked?,
            description: description?,
            image: image?,
            image_written: image_written?,
            cmd,
            entrypoint,
            environment,
            environment_files,
            ports,
            mounts,
            networks,
            user,
            group,
            depends_on,
            after,
            requires,
            wants,
            health,
            restart,
            stop_timeout,
            start_timeout,
            labels,
            devices,
            pull,
            auto_update,
            auto_start: c.auto_start.as_ref().is_none_or(|b| *b.get_ref()),
            podman_args,
            raw,
        })
    }

    fn image(&mut self, value: &Str, auto_update: AutoUpdate) -> Option<Image> {
        let image = match Image::parse(value.get_ref()) {
            Ok(i) => i,
            Err(e) => {
                self.err_help(
                    span(value),
                    e,
                    "write it like `docker.io/library/nginx:latest`",
                );
                return None;
            }
        };
        if auto_update == AutoUpdate::Registry && image.digest_pinned {
            self.err_help(
                span(value),
                format!(
                    "`{}` is pinned by digest, so `podman auto-update` can never update it",
                    image.raw
                ),
                "pin a tag instead, or set `auto_update = \"none\"`",
            );
        } else if !image.fully_qualified {
            let help = format!("write the fully qualified name: `{}`", image.qualified);
            if auto_update == AutoUpdate::Registry {
                self.err_help(
                    span(value),
                    format!("`{}` is a short name: `podman auto-update` needs the registry in the image name", image.raw),
                    help,
                );
            } else {
                self.diags.push(
                    Diagnostic::warning(span(value), format!("`{}` is a short name: which registry it comes from depends on the host's registries.conf", image.raw))
                        .with_help(help),
                );
            }
        }
        Some(image)
    }

    fn paths(&mut self, values: Option<&Spanned<Vec<Str>>>, what: &str) -> Vec<HostPath> {
        values
            .map(|vs| {
                vs.get_ref()
                    .iter()
                    .filter_map(|v| {
                        HostPath::parse(v.get_ref())
                            .map_err(|e| self.err(span(v), format!("{what}: {e}")))
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn mount(&mut self, value: &Str, names: &Names<'_>) -> Option<Mount> {
        let v = value.get_ref();
        let parts: Vec<&str> = v.split(':').collect();
        let (source, target, options) = match parts.as_slice() {
            [t] => (None, *t, None),
            [s, t] => (Some(*s), *t, None),
            [s, t, o] => (Some(*s), *t, Some(*o)),
            _ => {
                self.err_help(span(value), format!("`{v}` is not a volume spec"), "write `HOST_PATH:CONTAINER_PATH[:OPTIONS]` or `VOLUME:CONTAINER_PATH[:OPTIONS]`");
                return None;
            }
        };
        if !target.starts_with('/')
            || target.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '%' | '$' | '"' | '\\' | ',')
            })
        {
            self.err_help(
                span(value),
                format!("container path `{target}` must be absolute, without whitespace, quotes, `%`, `$`, `\\` or `,`"),
                "write it like `/config`",
            );
            return None;
        }
        let options: Vec<String> = options
            .map(|o| o.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        const OPTIONS: &[&str] = &[
            "ro",
            "rw",
            "z",
            "Z",
            "U",
            "O",
            "copy",
            "nocopy",
            "dev",
            "nodev",
            "exec",
            "noexec",
            "suid",
            "nosuid",
            "bind",
            "rbind",
            "shared",
            "rshared",
            "slave",
            "rslave",
            "private",
            "rprivate",
            "unbindable",
            "runbindable",
            "idmap",
            "chown",
            "noatime",
        ];
        for o in &options {
            if !OPTIONS.contains(&o.as_str()) {
                let mut d = Diagnostic::error(span(value), format!("`{o}` is not a volume option"))
                    .with_help(format!("use any of: {}", OPTIONS.join(", ")));
                if let Some(s) = did_you_mean(o, OPTIONS.iter().copied()) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                return None;
            }
        }
        let target = target.to_string();
        match source {
            None => Some(Mount::Anonymous { target }),
            Some(s) if s.starts_with('/') => match HostPath::parse(s) {
                Ok(source) => Some(Mount::Bind {
                    source,
                    target,
                    options,
                }),
                Err(e) => {
                    self.err(span(value), e);
                    None
                }
            },
            Some(s) if s.starts_with('.') || s.starts_with('~') => {
                self.err_help(
                    span(value),
                    format!("`{s}` is a relative path"),
                    "bind mounts need an absolute host path, like `/var/lib/app`",
                );
                None
            }
            Some(s) => {
                let volume = self.reference_str(s, span(value), names.volumes, "volume")?;
                Some(Mount::Named {
                    volume,
                    target,
                    options,
                })
            }
        }
    }

    fn network_ref(&mut self, value: &Str, names: &Names<'_>) -> Option<NetworkRef> {
        match value.get_ref().as_str() {
            "host" => Some(NetworkRef::Host),
            "none" => Some(NetworkRef::None),
            _ => self
                .reference(value, names.networks, "network")
                .map(NetworkRef::Inventory),
        }
    }

    fn reference(&mut self, value: &Str, known: &[&str], what: &str) -> Option<Name> {
        self.reference_str(value.get_ref(), span(value), known, what)
    }

    fn reference_str(
        &mut self,
        value: &str,
        at: Option<Range<usize>>,
        known: &[&str],
        what: &str,
    ) -> Option<Name> {
        if known.contains(&value) {
            return Name::parse(value).ok();
        }
        let mut d = Diagnostic::error(
            at,
            format!("there is no {what} named `{value}` in the inventory"),
        );
        d = match did_you_mean(value, known.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!("define it under `[{what}s.{value}]`")),
        };
        self.diags.push(d);
        None
    }

    fn unit_names(&mut self, values: Option<&Spanned<Vec<Str>>>) -> Vec<String> {
        const SUFFIXES: &[&str] = &[
            "service",
            "mount",
            "automount",
            "target",
            "socket",
            "path",
            "timer",
            "device",
            "swap",
            "slice",
            "scope",
        ];
        let mut out = Vec::new();
        for v in values.into_iter().flat_map(|vs| vs.get_ref()) {
            let name = v.get_ref();
            let suffix_ok = name
                .rsplit_once('.')
                .is_some_and(|(stem, suffix)| !stem.is_empty() && SUFFIXES.contains(&suffix));
            let chars_ok = name.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\' | '@')
            });
            if !chars_ok || name.len() > 255 {
                self.err(
                    span(v),
                    format!("`{}` is not a systemd unit name", name.escape_debug()),
                );
            } else if [".container", ".network", ".volume"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                self.err_help(
                    span(v),
                    format!("`{name}` is a Quadlet file name, which quadlet before 5.5 does not translate here"),
                    "for a container of this inventory use `depends_on`; otherwise name its service, like `db.service`",
                );
            } else if !suffix_ok {
                self.err_help(
                    span(v),
                    format!("`{name}` has no unit type suffix"),
                    "write the full unit name, like `mnt-backup.mount` or `network-online.target`; for a container of this inventory use `depends_on`",
                );
            } else {
                out.push(name.clone());
            }
        }
        out
    }

    fn user(&mut self, value: &Str) -> (Option<Single>, Option<Single>) {
        let v = value.get_ref();
        let ok_part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        let (u, g) = match v.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (v.as_str(), None),
        };
        if !ok_part(u) || g.is_some_and(|g| !ok_part(g)) {
            self.err_help(
                span(value),
                format!("`{}` is not a user", v.escape_debug()),
                "write `USER`, `UID` or `UID:GID`, like `1000:1000`",
            );
            return (None, None);
        }
        (
            Single::parse(u, Target::ExecStart).ok(),
            g.and_then(|g| Single::parse(g, Target::ExecStart).ok()),
        )
    }

    fn health(&mut self, h: &Spanned<inventory::Health>) -> Option<Health> {
        let h = h.get_ref();
        if h.cmd.get_ref().trim().is_empty() {
            self.err(span(&h.cmd), "the health check command is empty");
            return None;
        }
        let cmd = self.single(&h.cmd, "health command", Target::ExecStart);
        let interval = self.duration(h.interval.as_ref(), Duration::secs(30));
        let timeout = self.duration(h.timeout.as_ref(), Duration::secs(30));
        let start_period = self.duration(h.start_period.as_ref(), Duration::secs(0));
        let retries = match &h.retries {
            None => 3,
            Some(r) => match u32::try_from(*r.get_ref()) {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    self.err(span(r), "retries must be a whole number from 1 to 1000");
                    3
                }
            },
        };
        if interval.0 == 0 {
            self.err(
                h.interval.as_ref().and_then(span),
                "the health check interval must be longer than 0",
            );
        }
        let on_failure = self.one_of(
            h.on_failure.as_ref(),
            &["none", "kill", "restart", "stop"],
            "kill",
            "health on_failure action",
        );
        Some(Health {
            cmd: cmd?,
            interval,
            timeout,
            retries,
            start_period,
            on_failure,
        })
    }

    fn device(&mut self, value: &Str) -> Option<Device> {
        let v = value.get_ref();
        let mut parts = v.splitn(3, ':');
        let host = parts.next().unwrap_or_default();
        let container = parts.next();
        let perms = parts.next();
        let host = HostPath::parse(host)
            .map_err(|e| self.err(span(value), format!("device: {e}")))
            .ok()?;
        let container = match container.map(HostPath::parse) {
            Some(Err(e)) => {
                self.err(span(value), format!("device: container path: {e}"));
                return None;
            }
            Some(Ok(c)) => Some(c.written),
            None => None,
        };
        if let Some(p) = perms
            && (p.is_empty() || !p.chars().all(|c| matches!(c, 'r' | 'w' | 'm')))
        {
            self.err_help(
                span(value),
                format!("device: `{p}` are not device permissions"),
                "use a combination of `r`, `w` and `m`",
            );
            return None;
        }
        let written = match (container, perms) {
            (None, _) => host.written.clone(),
            (Some(c), None) => format!("{}:{c}", host.written),
            (Some(c), Some(p)) => format!("{}:{c}:{p}", host.written),
        };
        Some(Device { written, host })
    }

    /// Services quadlet will make must not collide.
    fn check_service_names(&mut self, inventory: &Inventory) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut claim =
            |service: String, what: String, at: Option<Range<usize>>, diags: &mut Diagnostics| {
                if let Some(other) = seen.get(&service) {
                    diags.push(
                        Diagnostic::error(
                            at,
                            format!("{what} would run as `{service}`, which {other} already uses"),
                        )
                        .with_help("rename one of them"),
                    );
                } else {
                    seen.insert(service, what);
                }
            };
        for k in inventory.containers.keys() {
            if let Ok(n) = Name::parse(k.get_ref()) {
                claim(
                    container_service(&n),
                    format!("container `{n}`"),
                    span(k),
                    &mut self.diags,
                );
            }
        }
        for k in inventory.networks.keys() {
            if let Ok(n) = Name::parse(k.get_ref()) {
                claim(
                    network_service(&n),
                    format!("network `{n}`"),
                    span(k),
                    &mut self.diags,
                );
            }
        }
        for k in inventory.volumes.keys() {
            if let Ok(n) = Name::parse(k.get_ref()) {
                claim(
                    volume_service(&n),
                    format!("volume `{n}`"),
                    span(k),
                    &mut self.diags,
                );
            }
        }
    }

    /// `depends_on` must not loop: systemd would break the cycle at an arbitrary unit.
    fn check_cycles(&mut self, inventory: &Inventory, containers: &[Container]) {
        let edges: BTreeMap<&str, Vec<&str>> = containers
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.depends_on.iter().map(Name::as_str).collect(),
                )
            })
            .collect();
        let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
        for start in edges.keys() {
            if let Some(cycle) = find_cycle(start, &edges) {
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    let at = inventory
                        .containers
                        .keys()
                        .find(|k| k.get_ref() == start)
                        .and_then(span);
                    self.err_help(
                        at,
                        format!(
                            "dependency cycle: {}",
                            cycle
                                .iter()
                                .chain(cycle.first())
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(" -> ")
                        ),
                        "remove one of these `depends_on` entries",
                    );
                }
            }
        }
    }
}

/// A cycle through `start`, if there is one (names in order, `start` first).
fn find_cycle<'a>(start: &'a str, edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    fn walk<'a>(
        node: &'a str,
        start: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        for next in edges.get(node).into_iter().flatten() {
            if *next == start {
                return true;
            }
            if seen.insert(next) {
                path.push(next);
                if walk(next, start, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    walk(start, start, edges, &mut path, &mut seen).then_some(path)
}

/// Raw keys that would break what quadgen promises about names, images and dependencies, with the
/// inventory field that sets them.
fn modelled_key(section: Section, key: &str) -> Option<&'static str> {
    match (section, key) {
        (Section::Container, "ContainerName") | (_, "ServiceName") => Some("table name"),
        (Section::Network, "NetworkName") | (Section::Volume, "VolumeName") => Some("table name"),
        (Section::Container, "Image") => Some("image"),
        (Section::Container, "Network") => Some("networks"),
        (Section::Container, "Pod") => Some("networks"),
        (Section::Container, "Notify") => Some("health"),
        (Section::Network, "InterfaceName") => Some("interface_name"),
        _ => None,
    }
}

/// Names podman gives a meaning of its own in `--network`.
const RESERVED_NETWORKS: &[&str] = &[
    "host",
    "none",
    "bridge",
    "private",
    "pasta",
    "slirp4netns",
    "podman",
    "default",
    "ns",
];

/// The pull policy when the inventory sets none. With registry auto-update, images are brought
/// by `podman auto-update` alone (`missing`): its rollback re-tags the previous image and restarts
/// the unit, and `newer` would pull the broken image straight back (shown on a real podman by
/// tests/e2e_auto_update.rs). Without it, `newer` keeps images fresh on every start, and falls
/// back to the local image when the registry is down.
fn default_pull(auto_update: AutoUpdate) -> &'static str {
    match auto_update {
        AutoUpdate::Registry => "missing",
        AutoUpdate::Local | AutoUpdate::None => "newer",
    }
}

/// An address range in CIDR form.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    fn contains(self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v) => (u128::from(u32::from(v)) << 96, 32u32),
            IpAddr::V6(v) => (u128::from(v), 128u32),
        };
        let ((net, width), (host, host_width)) = (bits(self.addr), bits(ip));
        if width != host_width {
            return false;
        }
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.len))
            .unwrap_or(0);
        net & mask == host & mask
    }
}

/// `ADDRESS/LENGTH` with digits only in the length.
fn parse_cidr(value: &str) -> Option<Cidr> {
    let (addr, len) = value.split_once('/')?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some(Cidr { addr, len })
}

/// The interface name for a bridge network: `qg-NAME`, or `qg-` + 7 characters + `-` + 4 hex
/// digits of its sha256 when that would pass the kernel's 15-character limit.
pub fn default_interface_name(name: &Name) -> String {
    use sha2::{Digest, Sha256};
    let full = format!("qg-{name}");
    if full.len() <= 15 {
        return full;
    }
    let hash = Sha256::digest(name.as_str().as_bytes());
    let prefix: String = name.as_str().chars().take(7).collect();
    format!("qg-{prefix}-{:02x}{:02x}", hash[0], hash[1])
}

/// Worst case from start to first healthy: the start period, then every retry failing.
fn time_to_healthy(h: &Health) -> u64 {
    let per_try = h.interval.0.saturating_add(h.timeout.0);
    h.start_period.0.saturating_add(
        u64::from(h.retries)
            .saturating_add(1)
            .saturating_mul(per_try),
    )
}

#[cfg(test)]
mod tests;
