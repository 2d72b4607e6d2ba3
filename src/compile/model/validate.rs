//! Inventory → [`Model`]: applies defaults and checks every rule, collecting all problems.
//!
//! This file holds the entry point, the [`Checker`] helpers every check shares, the merge of
//! `[defaults]` and the checks across entities; the per-concept checks live in the submodules.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::*;
use crate::compile::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::compile::inventory::{self, Inventory, RawSections, Str, StrMap};
use crate::unit::escape::Target;

mod container;
mod container_network;
mod health;
mod mount;
mod network;
mod pod;
mod podman_args;
mod quadlet_rules;
mod raw;
mod resources;
mod runtime;
mod secret;
mod security;
mod subnet;
mod volume;

#[cfg(test)]
use network::default_interface_name;

/// Checks an inventory for `target`. Returns the model and any warnings, or every problem found.
///
/// Takes the inventory so each container's inventory entry is freed once its model is built: the
/// two never exist whole at the same time, which halves the peak memory of a large inventory.
pub fn validate(
    mut inventory: Inventory,
    target: PodmanVersion,
) -> Result<(Model, Diagnostics), Diagnostics> {
    let containers = std::mem::take(&mut inventory.containers);
    let container_keys: Vec<Str> = containers.keys().cloned().collect();
    let fed = validate_with(inventory, &container_keys, target, |check, each| {
        containers.into_iter().all(|(name, raw)| {
            let checked = check(&name, raw);
            each(name, checked)
        })
    });
    // Every container was fed, so the check is complete.
    fed.unwrap_or_else(|| Err(Diagnostics::default()))
}

/// One container checked on its own, with `[defaults]` applied: its model (none when it has
/// errors) and its problems.
#[derive(Debug)]
pub struct Checked {
    model: Option<Container>,
    diags: Diagnostics,
}

/// The check of one container, from its name and inventory table; it needs nothing else, so it
/// may run on any thread, e.g. the one that parsed the table.
pub type Check<'c> = dyn Fn(&Str, Box<Spanned<inventory::Container>>) -> Checked + Sync + 'c;

/// What a feed hands to the checker: each container's name and its [`Checked`] result.
pub type Feed<'f> = dyn FnMut(Str, Checked) -> bool + 'f;

/// [`validate`] for an inventory whose containers arrive one at a time: `rest` holds everything
/// else, `container_keys` the names (sorted) of the containers `feed` checks (with the [`Check`]
/// it is given) and hands on in any order, each inventory table freed once checked. `None` when
/// `feed` returns `false` (it could not give every container); otherwise the same result as
/// [`validate`].
pub fn validate_with(
    rest: Inventory,
    container_keys: &[Str],
    target: PodmanVersion,
    feed: impl FnOnce(&Check<'_>, &mut Feed<'_>) -> bool,
) -> Option<Result<(Model, Diagnostics), Diagnostics>> {
    let Inventory {
        defaults,
        networks: inventory_networks,
        volumes: inventory_volumes,
        containers: _,
        secrets: inventory_secrets,
        pods: inventory_pods,
    } = rest;
    let mut c = Checker {
        diags: Diagnostics::default(),
        target,
    };
    let secret_keys: Vec<Str> = inventory_secrets.keys().cloned().collect();
    let secrets: Vec<Secret> = inventory_secrets
        .iter()
        .filter_map(|(name, s)| c.secret(name, s))
        .collect();
    let networks: Vec<Network> = inventory_networks
        .iter()
        .filter_map(|(name, net)| c.network(name, net))
        .collect();
    c.check_interface_names(&networks, &inventory_networks);
    c.check_subnet_overlaps(&networks, &inventory_networks);
    let names = Names {
        networks: key_set(inventory_networks.keys()),
        volumes: key_set(inventory_volumes.keys()),
        containers: key_set(container_keys.iter()),
        secrets: key_set(secret_keys.iter()),
        pods: key_set(inventory_pods.keys()),
        subnets: networks
            .iter()
            .map(|n| (n.name.as_str(), n.subnets.as_slice()))
            .collect(),
    };
    let volumes: Vec<Volume> = inventory_volumes
        .iter()
        .filter_map(|(name, vol)| c.volume(name, vol))
        .collect();
    let defaults = defaults.as_ref().map(Spanned::get_ref);
    c.check_defaults_pod(defaults);
    let pods: Vec<Pod> = inventory_pods
        .iter()
        .filter_map(|(name, pod)| c.pod(name, pod, &names))
        .collect();
    let containers = c.containers(feed, defaults, &names)?;

    c.check_service_names(container_keys, &inventory_networks, &inventory_volumes);
    c.check_pod_names(&inventory_pods, container_keys, &containers);
    c.check_cycles(container_keys, &containers);
    c.check_static_addresses(container_keys, &containers);
    let secrets = c.unused_secrets(secrets, &secret_keys, &containers);
    let defines_nothing = containers.is_empty()
        && networks.is_empty()
        && volumes.is_empty()
        && pods.is_empty()
        && secrets.is_empty();
    c.warn_if_it_defines_nothing(defines_nothing);
    if c.diags.has_errors() {
        return Some(Err(c.diags));
    }
    Some(Ok((
        Model {
            target,
            networks,
            volumes,
            containers,
            secrets,
            pods,
        },
        c.diags,
    )))
}

impl Checker {
    /// An inventory that defines nothing (and has no other problem) is a warning.
    fn warn_if_it_defines_nothing(&mut self, defines_nothing: bool) {
        if !defines_nothing || self.diags.has_errors() {
            return;
        }
        self.diags.push(
            Diagnostic::warning(None, "the inventory defines nothing: it gives no unit")
                .with_help("installed, it removes every unit an earlier install of it wrote (after asking for --allow-removals)"),
        );
    }

    /// Two networks must not share a bridge interface name.
    fn check_interface_names<N>(&mut self, networks: &[Network], keys: &BTreeMap<Str, N>) {
        let mut interfaces: BTreeMap<&str, &Name> = BTreeMap::new();
        for n in networks {
            let clash = n
                .interface_name
                .as_ref()
                .and_then(|i| interfaces.insert(i, &n.name).map(|other| (i, other)));
            if let Some((i, other)) = clash {
                let at = keys
                    .keys()
                    .find(|k| k.get_ref() == n.name.as_str())
                    .and_then(span);
                self.diags.push(
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
    }
}

/// The names of one kind of inventory entry.
fn key_set<'a>(keys: impl Iterator<Item = &'a Str>) -> BTreeSet<&'a str> {
    keys.map(|k| k.get_ref().as_str()).collect()
}

/// The names defined in the inventory, for references to them (sorted, like the inventory).
struct Names<'a> {
    networks: BTreeSet<&'a str>,
    volumes: BTreeSet<&'a str>,
    containers: BTreeSet<&'a str>,
    secrets: BTreeSet<&'a str>,
    pods: BTreeSet<&'a str>,
    /// The subnets of each valid network, for the static addresses of containers on it.
    subnets: BTreeMap<&'a str, &'a [Subnet]>,
}

struct Checker {
    diags: Diagnostics,
    target: PodmanVersion,
}

impl Checker {
    /// One container with `[defaults]` applied, checked with a checker of its own; its
    /// inventory entry is dropped as soon as its model is built.
    fn one_container(
        target: PodmanVersion,
        name: &Str,
        raw: Spanned<inventory::Container>,
        defaults: Option<&inventory::Container>,
        names: &Names<'_>,
    ) -> Checked {
        let at = raw.span();
        let own_depends_on = raw.get_ref().depends_on.is_some();
        let mut merged = pod::merge_member(defaults, raw.into_inner());
        // A `[defaults]` dependency on a container does not apply to that container.
        if !own_depends_on {
            if let Some(deps) = merged.depends_on.as_mut() {
                deps.get_mut().retain(|d| d.get_ref() != name.get_ref());
            }
        }
        let mut checker = Checker {
            diags: Diagnostics::default(),
            target,
        };
        let model = checker.container(name, at, &merged, names);
        Checked {
            model,
            diags: checker.diags,
        }
    }

    /// Each container `feed` gives, checked by [`Checker::one_container`] wherever `feed` runs
    /// the check. The models and their problems come out in the order of the names, whatever
    /// the order of `feed`. `None` when `feed` returns `false`.
    fn containers(
        &mut self,
        feed: impl FnOnce(&Check<'_>, &mut Feed<'_>) -> bool,
        defaults: Option<&inventory::Container>,
        names: &Names<'_>,
    ) -> Option<Vec<Container>> {
        // The models in the order they were fed, and for each container its name, where its
        // model is (none when it has errors) and its problems.
        let mut models: Vec<Container> = Vec::with_capacity(names.containers.len());
        let mut checked: Vec<(Str, Option<usize>, Diagnostics)> =
            Vec::with_capacity(names.containers.len());
        let target = self.target;
        let check = |name: &Str, raw: Box<Spanned<inventory::Container>>| {
            Checker::one_container(target, name, *raw, defaults, names)
        };
        let complete = feed(&check, &mut |name, Checked { model, diags }| {
            let index = model.map(|m| {
                models.push(m);
                models.len() - 1
            });
            checked.push((name, index, diags));
            true
        });
        if !complete {
            return None;
        }
        checked.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
        let mut order = Vec::with_capacity(models.len());
        for (_, index, diags) in checked {
            self.diags.0.extend(diags.0);
            order.extend(index);
        }
        permute(&mut models, order);
        Some(models)
    }
}

/// Puts `items[order[k]]` at `k` for every `k`, in place (`order` is a permutation): a large
/// inventory's models are moved once each, never copied into a second list.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// Applies `[defaults]`: the container's own value wins; maps merge key by key.
fn merge(
    defaults: Option<&inventory::Container>,
    mut own: inventory::Container,
) -> inventory::Container {
    let Some(d) = defaults else {
        return own;
    };
    // The container's own values are moved; of `[defaults]`, only the values that are used are
    // cloned.
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
    // A container's networking comes whole from its own table or whole from `[defaults]`:
    // `networks` and `network_mode` replace each other.
    let (networks, network_mode) = if own.networks.is_some() || own.network_mode.is_some() {
        (own.networks.take(), own.network_mode.take())
    } else {
        (d.networks.clone(), d.network_mode.clone())
    };
    inventory::Container {
        image: own.image.take().or_else(|| d.image.clone()),
        description: own.description.take().or_else(|| d.description.clone()),
        cmd: own.cmd.take().or_else(|| d.cmd.clone()),
        entrypoint: own.entrypoint.take().or_else(|| d.entrypoint.clone()),
        environment: merge_str_map(d.environment.clone(), own.environment.take()),
        environment_files: own
            .environment_files
            .take()
            .or_else(|| d.environment_files.clone()),
        ports: own.ports.take().or_else(|| d.ports.clone()),
        volumes: own.volumes.take().or_else(|| d.volumes.clone()),
        networks,
        network_mode,
        user: own.user.take().or_else(|| d.user.clone()),
        depends_on: own.depends_on.take().or_else(|| d.depends_on.clone()),
        after: own.after.take().or_else(|| d.after.clone()),
        requires: own.requires.take().or_else(|| d.requires.clone()),
        wants: own.wants.take().or_else(|| d.wants.clone()),
        health: own.health.take().or_else(|| d.health.clone()),
        restart: own.restart.take().or_else(|| d.restart.clone()),
        stop_timeout: own.stop_timeout.take().or_else(|| d.stop_timeout.clone()),
        start_timeout: own.start_timeout.take().or_else(|| d.start_timeout.clone()),
        labels: merge_str_map(d.labels.clone(), own.labels.take()),
        devices: own.devices.take().or_else(|| d.devices.clone()),
        pull: own.pull.take().or_else(|| d.pull.clone()),
        auto_update: own.auto_update.take().or_else(|| d.auto_update.clone()),
        auto_start: own.auto_start.take().or_else(|| d.auto_start.clone()),
        podman_args: own.podman_args.take().or_else(|| d.podman_args.clone()),
        secrets: own.secrets.take().or_else(|| d.secrets.clone()),
        quadlet: merge_raw(d.quadlet.clone(), own.quadlet.take()),
        // `[defaults]` cannot set a pod (refused in `check_defaults_pod`).
        pod: own.pod.take(),
        ..merge_options(d, &mut own)
    }
}

/// [`merge`] for the security, resources and runtime fields: maps merge key by key, anything
/// else is replaced whole by the container's own value.
fn merge_options(d: &inventory::Container, own: &mut inventory::Container) -> inventory::Container {
    inventory::Container {
        cap_add: own.cap_add.take().or_else(|| d.cap_add.clone()),
        cap_drop: own.cap_drop.take().or_else(|| d.cap_drop.clone()),
        privileged: own.privileged.take().or_else(|| d.privileged.clone()),
        no_new_privileges: own
            .no_new_privileges
            .take()
            .or_else(|| d.no_new_privileges.clone()),
        read_only: own.read_only.take().or_else(|| d.read_only.clone()),
        read_only_tmpfs: own
            .read_only_tmpfs
            .take()
            .or_else(|| d.read_only_tmpfs.clone()),
        seccomp_profile: own
            .seccomp_profile
            .take()
            .or_else(|| d.seccomp_profile.clone()),
        security_label_disable: own
            .security_label_disable
            .take()
            .or_else(|| d.security_label_disable.clone()),
        security_label_type: own
            .security_label_type
            .take()
            .or_else(|| d.security_label_type.clone()),
        tmpfs: own.tmpfs.take().or_else(|| d.tmpfs.clone()),
        shm_size: own.shm_size.take().or_else(|| d.shm_size.clone()),
        sysctls: merge_str_map(d.sysctls.clone(), own.sysctls.take()),
        ulimits: merge_str_map(d.ulimits.clone(), own.ulimits.take()),
        memory: own.memory.take().or_else(|| d.memory.clone()),
        cpus: own.cpus.take().or_else(|| d.cpus.clone()),
        pids_limit: own.pids_limit.take().or_else(|| d.pids_limit.clone()),
        hostname: own.hostname.take().or_else(|| d.hostname.clone()),
        dns: own.dns.take().or_else(|| d.dns.clone()),
        dns_search: own.dns_search.take().or_else(|| d.dns_search.clone()),
        dns_options: own.dns_options.take().or_else(|| d.dns_options.clone()),
        extra_hosts: own.extra_hosts.take().or_else(|| d.extra_hosts.clone()),
        group_add: own.group_add.take().or_else(|| d.group_add.clone()),
        working_dir: own.working_dir.take().or_else(|| d.working_dir.clone()),
        init: own.init.take().or_else(|| d.init.clone()),
        stop_signal: own.stop_signal.take().or_else(|| d.stop_signal.clone()),
        userns: own.userns.take().or_else(|| d.userns.clone()),
        timezone: own.timezone.take().or_else(|| d.timezone.clone()),
        log_driver: own.log_driver.take().or_else(|| d.log_driver.clone()),
        log_options: merge_str_map(d.log_options.clone(), own.log_options.take()),
        ..inventory::Container::default()
    }
}

/// A map of `[defaults]` with the container's own entries over it.
fn merge_str_map(d: Option<StrMap>, own: Option<StrMap>) -> Option<StrMap> {
    match (d, own) {
        (Some(mut d), Some(o)) => {
            for (k, v) in o {
                d.remove(&k);
                d.insert(k, v);
            }
            Some(d)
        }
        (d, o) => o.or(d),
    }
}

fn span<T>(s: &Spanned<T>) -> Option<Range<usize>> {
    Some(s.span())
}

impl Checker {
    fn err(&mut self, at: Option<Range<usize>>, message: impl ToString) {
        self.diags.push(Diagnostic::error(at, message.to_string()));
    }

    fn err_help(
        &mut self,
        at: Option<Range<usize>>,
        message: impl ToString,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(at, message.to_string()).with_help(help));
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
            match Word::parse(&[key.as_str(), "=", v.get_ref()].concat()) {
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

    /// The [`Choice`] written in `value`, or `default` when it is unset or not one of them.
    fn one_of<T: Choice>(&mut self, value: Option<&Str>, default: T, what: &str) -> T {
        let Some(v) = value else {
            return default;
        };
        if let Some(choice) = T::parse(v.get_ref()) {
            return choice;
        }
        let allowed: Vec<&str> = T::ALL.iter().map(|c| c.as_str()).collect();
        let mut d = Diagnostic::error(
            span(v),
            format!("`{}` is not a valid {what}", v.get_ref().escape_debug()),
        )
        .with_help(format!("use one of: {}", allowed.join(", ")));
        if let Some(s) = did_you_mean(v.get_ref(), allowed.iter().copied()) {
            d = d.with_label(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
        default
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

    fn reference(&mut self, value: &Str, known: &BTreeSet<&str>, what: &str) -> Option<Name> {
        self.reference_str(value.get_ref(), span(value), known, what)
    }

    fn reference_str(
        &mut self,
        value: &str,
        at: Option<Range<usize>>,
        known: &BTreeSet<&str>,
        what: &str,
    ) -> Option<Name> {
        if known.contains(value) {
            return Name::parse(value).ok();
        }
        let value = value.escape_debug().to_string();
        let value = value.as_str();
        let mut d = Diagnostic::error(
            at,
            format!("there is no {what} named `{value}` in the inventory"),
        );
        // Help never suggests a name that is not valid itself.
        let valid = known.iter().copied().filter(|k| Name::parse(k).is_ok());
        d = match did_you_mean(value, valid) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if Name::parse(value).is_ok() => {
                d.with_help(format!("define it under `[{what}s.{value}]`"))
            }
            None => d.with_help(format!(
                "a {what} name is letters, digits, `_`, `.` and `-`, starting with a letter or digit"
            )),
        };
        self.diags.push(d);
        None
    }

    /// Services quadlet will make must not collide.
    fn check_service_names<N, V>(
        &mut self,
        containers: &[Str],
        networks: &BTreeMap<Str, N>,
        volumes: &BTreeMap<Str, V>,
    ) {
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
        for k in containers {
            if let Ok(n) = Name::parse(k.get_ref()) {
                claim(
                    container_service(&n),
                    format!("container `{n}`"),
                    span(k),
                    &mut self.diags,
                );
            }
        }
        for k in networks.keys() {
            if let Ok(n) = Name::parse(k.get_ref()) {
                claim(
                    network_service(&n),
                    format!("network `{n}`"),
                    span(k),
                    &mut self.diags,
                );
            }
        }
        for k in volumes.keys() {
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
    fn check_cycles(&mut self, container_keys: &[Str], containers: &[Container]) {
        let edges: BTreeMap<&str, Vec<&str>> = containers
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.required_containers().map(Name::as_str).collect(),
                )
            })
            .collect();
        let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
        // Searching every container for a cycle through it is quadratic on a long chain; only
        // the containers that are on some cycle can have one.
        let on_cycle = nodes_on_cycles(&edges);
        for start in edges.keys().filter(|n| on_cycle.contains(*n)) {
            if let Some(cycle) = find_cycle(start, &edges) {
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    let at = container_keys
                        .iter()
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
                        "remove one of these `depends_on` entries (or `network_mode` containers)",
                    );
                }
            }
        }
    }
}

/// The nodes that lie on some cycle: those of a strongly connected component with more than
/// one node, or with an edge to itself (Tarjan's algorithm, iterative so a long chain cannot
/// overflow the stack).
fn nodes_on_cycles<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> BTreeSet<&'a str> {
    let names: Vec<&str> = edges.keys().copied().collect();
    let index_of = |n: &str| names.binary_search(&n).ok();
    let successors: Vec<Vec<usize>> = edges
        .values()
        .map(|next| next.iter().filter_map(|n| index_of(n)).collect())
        .collect();
    const UNVISITED: usize = usize::MAX;
    let mut index = vec![UNVISITED; names.len()];
    let mut low = vec![0; names.len()];
    let mut on_stack = vec![false; names.len()];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut on_cycle = BTreeSet::new();
    for root in 0..names.len() {
        if index[root] != UNVISITED {
            continue;
        }
        // (node, position of the next successor to look at)
        let mut call = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (node, ref mut pos)) = call.last_mut() {
            if let Some(&next) = successors[node].get(*pos) {
                *pos += 1;
                if index[next] == UNVISITED {
                    index[next] = next_index;
                    low[next] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next] = true;
                    call.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 || successors[node].contains(&node) {
                    on_cycle.extend(component.iter().map(|&m| names[m]));
                }
            }
        }
    }
    on_cycle
}

/// A cycle through `start`, if there is one (names in order, `start` first).
fn find_cycle<'a>(start: &'a str, edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    // Depth first with a stack of our own (a chain of 100,000 `depends_on` would overflow the
    // thread's): each entry is a node on the path and the index of its next edge to try.
    let next_of = |node: &'a str| edges.get(node).map_or(&[][..], Vec::as_slice);
    let mut stack: Vec<(&'a str, usize)> = vec![(start, 0)];
    let mut seen = BTreeSet::from([start]);
    while let Some((node, i)) = stack.last_mut() {
        let Some(&next) = next_of(node).get(*i) else {
            stack.pop();
            continue;
        };
        *i += 1;
        if next == start {
            return Some(stack.iter().map(|(n, _)| *n).collect());
        }
        if seen.insert(next) {
            stack.push((next, 0));
        }
    }
    None
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fields_tests;
#[cfg(test)]
mod tests_network;

#[cfg(test)]
mod find_cycle_tests {
    use std::collections::BTreeMap;

    /// a ↔ b, and a also depends on a chain of 300,000 containers: the cycle is found, with no
    /// stack overflow (the walk was recursive).
    #[test]
    fn a_cycle_behind_a_long_chain_is_found_without_recursion() {
        let names: Vec<String> = (0..300_000).map(|i| format!("c{i}")).collect();
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        edges.insert("a", vec![names[0].as_str(), "b"]);
        edges.insert("b", vec!["a"]);
        for pair in names.windows(2) {
            edges.insert(pair[0].as_str(), vec![pair[1].as_str()]);
        }
        assert_eq!(super::find_cycle("a", &edges), Some(vec!["a", "b"]));
        assert_eq!(super::find_cycle("b", &edges), Some(vec!["b", "a"]));
        assert_eq!(super::find_cycle("c0", &edges), None);
    }
}

#[cfg(test)]
mod permute_tests {
    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e'];
        super::permute(&mut items, vec![2, 0, 1, 4, 3]);
        assert_eq!(items, vec!['c', 'a', 'b', 'e', 'd']);
    }
}
