//! `[containers.NAME]`: image, auto-update and pull policy, health check, user, devices and
//! the units it depends on.

use std::ops::Range;

use toml::Spanned;

use super::{Checker, Names, span};
use crate::compile::diagnostic::Diagnostic;
use crate::compile::inventory::{self, Str};
use crate::compile::model::{
    AutoUpdate, Container, Device, Duration, Health, HealthOnFailure, HostPath, Image,
    PULL_ALLOWANCE, PullPolicy, Restart, Single, Word, parse_port,
};
use crate::unit::Section;
use crate::unit::escape::Target;

/// The sections a container's raw keys may go in.
const CONTAINER_SECTIONS: [Section; 4] = [
    Section::Unit,
    Section::Container,
    Section::Service,
    Section::Install,
];

impl Checker {
    /// Checks one `[containers.NAME]` entry: every problem is reported, and the container is
    /// built only when nothing in it is wrong.
    pub(super) fn container(
        &mut self,
        name: &Str,
        at: Range<usize>,
        c: &inventory::Container,
        names: &Names<'_>,
    ) -> Option<Container> {
        let name_checked = self.name(name, "container");
        let auto_update = self.one_of(
            c.auto_update.as_ref(),
            AutoUpdate::Registry,
            "auto_update policy",
        );
        let image_written = self.container_image(name, at, c, auto_update);
        let description = self.description(name, c);
        let cmd = self.words(c.cmd.as_ref(), "cmd argument");
        let entrypoint = self.entrypoint(c);
        let environment = self.pairs(c.environment.as_ref(), "environment variable");
        let environment_files = self.paths(c.environment_files.as_ref(), "environment file");
        let ports = self.ports(c.ports.as_ref());
        let mounts = self.each(c.volumes.as_ref(), |this, v| this.mount(v, names));
        let (networks, network_settings) = self.container_networking(name, c, names);
        let (user, group) = c.user.as_ref().map_or((None, None), |u| self.user(u));
        let (depends_on, [after, requires, wants]) = self.dependencies(c, names);
        let health = self.health_gate(name, c, auto_update, image_written.is_some());
        let restart = self.one_of(c.restart.as_ref(), Restart::OnFailure, "restart policy");
        let (stop_timeout, start_timeout) = self.timeouts(c, health.time_to_healthy());
        let labels = self.container_labels(c);
        let devices = self.each(c.devices.as_ref(), |this, d| this.device(d));
        let pull = self.pull_policy(c, auto_update);
        let podman_args = self.podman_args(c);
        let (security, resources, runtime) = (self.security(c), self.resources(c), self.runtime(c));
        self.check_options_with_networks(c, &networks);
        let raw = self.container_raw(name, c, user.is_some());
        let secrets = self.container_secrets(c.secrets.as_ref(), names);
        self.warn_hex_only_name(name);
        Some(Container {
            name: name_checked?,
            description: description?,
            image_written: image_written??,
            cmd,
            entrypoint,
            environment,
            environment_files,
            ports,
            mounts,
            networks,
            network_settings,
            user,
            group,
            depends_on,
            after,
            requires,
            wants,
            health: health.check,
            image_health: health.from_image,
            restart,
            stop_timeout,
            start_timeout,
            labels,
            devices,
            pull,
            auto_update,
            auto_start: c.auto_start.as_ref().is_none_or(|b| *b.get_ref()),
            podman_args,
            secrets,
            raw,
            security,
            resources,
            runtime,
            pod: self.pod_membership(name, c, names),
        })
    }

    /// `depends_on` (containers of the inventory), then `after`, `requires` and `wants` (any
    /// systemd unit).
    fn dependencies(
        &mut self,
        c: &inventory::Container,
        names: &Names<'_>,
    ) -> (Vec<crate::compile::model::Name>, [Vec<String>; 3]) {
        let depends_on = self.each(c.depends_on.as_ref(), |this, d| {
            this.reference(d, &names.containers, "container")
        });
        let units = [&c.after, &c.requires, &c.wants].map(|units| self.unit_names(units.as_ref()));
        (depends_on, units)
    }

    fn entrypoint(&mut self, c: &inventory::Container) -> Option<Single> {
        c.entrypoint
            .as_ref()
            .and_then(|e| self.single(e, "entrypoint", Target::ExecStart))
    }

    /// `podman_args`, each one word, none overriding what quadgen generates.
    fn podman_args(&mut self, c: &inventory::Container) -> Vec<Word> {
        if let Some(args) = &c.podman_args {
            self.check_podman_args(args.get_ref());
        }
        self.words(c.podman_args.as_ref(), "podman argument")
    }

    /// `description`, by default the name.
    fn description(&mut self, name: &Str, c: &inventory::Container) -> Option<Single> {
        match &c.description {
            Some(d) => self.single(d, "description", Target::UnitSetting),
            None => Single::parse(name.get_ref(), Target::UnitSetting).ok(),
        }
    }

    /// `stop_timeout` (default 10 s) and `start_timeout` (default: the pull allowance plus the
    /// worst time to healthy).
    fn timeouts(
        &mut self,
        c: &inventory::Container,
        time_to_healthy: Option<Duration>,
    ) -> (Duration, Duration) {
        let stop_timeout = self.duration(c.stop_timeout.as_ref(), Duration::secs(10));
        let start_timeout = match &c.start_timeout {
            Some(_) => self.duration(c.start_timeout.as_ref(), PULL_ALLOWANCE),
            None => PULL_ALLOWANCE.plus(time_to_healthy.unwrap_or(Duration::secs(0))),
        };
        (stop_timeout, start_timeout)
    }

    /// Published ports (`ports` of a container or a pod), each checked.
    pub(super) fn ports(&mut self, ports: Option<&Spanned<Vec<Str>>>) -> Vec<String> {
        self.each(ports, |this, p| {
            parse_port(p.get_ref())
                .map_err(|e| this.err(span(p), e))
                .ok()
        })
    }

    /// Checks each entry of an optional list with `check`, keeping the ones that pass.
    pub(super) fn each<T, U>(
        &mut self,
        list: Option<&Spanned<Vec<T>>>,
        mut check: impl FnMut(&mut Self, &T) -> Option<U>,
    ) -> Vec<U> {
        list.map(|items| {
            items
                .get_ref()
                .iter()
                .filter_map(|item| check(self, item))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The image: required, a valid reference (checked against the auto-update policy), and
    /// writable as `Image=`. `None` when it is missing or bad; `Some(None)` when the reference
    /// is valid but cannot be written.
    /// The raw `quadlet` keys, checked, and refused where quadlet would refuse the container.
    fn container_raw(
        &mut self,
        name: &Str,
        c: &inventory::Container,
        has_user: bool,
    ) -> Vec<crate::compile::model::RawKey> {
        let raw = self.raw_keys(c.quadlet.as_ref(), &CONTAINER_SECTIONS);
        self.group_needs_user(span(name).unwrap_or_default(), has_user, &raw);
        raw
    }

    fn container_image(
        &mut self,
        name: &Str,
        at: Range<usize>,
        c: &inventory::Container,
        auto_update: AutoUpdate,
    ) -> Option<Option<Single>> {
        let image = match &c.image {
            None => {
                self.err_help(
                    Some(at),
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
        // Written only when the reference checked out.
        image.map(|_| image_written)
    }

    /// The labels, but not `io.containers.autoupdate`: quadgen sets it from `auto_update`.
    fn container_labels(&mut self, c: &inventory::Container) -> Vec<Word> {
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
        labels
    }

    /// The pull policy (by default one that never blocks a start), with a warning when it
    /// would defeat auto-update's rollback.
    fn pull_policy(&mut self, c: &inventory::Container, auto_update: AutoUpdate) -> PullPolicy {
        let pull = self.one_of(c.pull.as_ref(), default_pull(auto_update), "pull policy");
        let defeating_pull = c.pull.as_ref().filter(|_| {
            auto_update == AutoUpdate::Registry
                && matches!(pull, PullPolicy::Newer | PullPolicy::Always)
        });
        if let Some(p) = defeating_pull {
            self.diags.push(
                Diagnostic::warning(
                    span(p),
                    format!("`pull = \"{}\"` defeats `podman auto-update`'s rollback", pull.as_str()),
                )
                .with_help("the rollback restart would pull the broken image again, and every restart would start whatever the registry has without the health gate; leave `pull` unset (`missing`) and let `podman-auto-update.timer` bring new images"),
            );
        }
        pull
    }

    /// A hex-only name is also read by podman as the start of a container ID.
    fn warn_hex_only_name(&mut self, name: &Str) {
        if is_hex_only(name.get_ref()) {
            let n = name.get_ref();
            self.diags.push(
                Diagnostic::warning(
                    Some(name.span()),
                    format!(
                        "container name `{n}` is made only of hex digits, so podman also reads it as the start of a container ID: at every start of `{n}.service` (quadlet's `podman run --replace --name {n}`, while no container is named `{n}` yet; newer quadlet also at every stop) podman force-removes another container whose ID begins with `{n}`, killing it"
                    ),
                )
                .with_help(format!(
                    "rename it so it has a character outside 0-9 and a-f (in any case), e.g. `{n}-1`, or what it runs (`postgres` for `db`)"
                )),
            );
        }
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

    pub(super) fn network_ref(
        &mut self,
        value: &Str,
        names: &Names<'_>,
    ) -> Option<crate::compile::model::NetworkRef> {
        use crate::compile::model::NetworkRef;
        match value.get_ref().as_str() {
            "host" => Some(NetworkRef::Host),
            "none" => Some(NetworkRef::None),
            _ => self
                .reference(value, &names.networks, "network")
                .map(NetworkRef::Inventory),
        }
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

    pub(super) fn health(&mut self, h: &inventory::Health) -> Option<Health> {
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
        if interval.millis() == 0 {
            self.err(
                h.interval.as_ref().and_then(span),
                "the health check interval must be longer than 0",
            );
        }
        let on_failure = self.one_of(
            h.on_failure.as_ref(),
            HealthOnFailure::Kill,
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

    /// `HOST[:CONTAINER[:PERMISSIONS]]`, or a CDI device name (`vendor.com/class=name`).
    fn device(&mut self, value: &Str) -> Option<Device> {
        let v = value.get_ref();
        if !v.starts_with('/') && v.contains('/') {
            return self.cdi_device(value);
        }
        let mut parts = v.splitn(3, ':');
        let host = parts.next().unwrap_or_default();
        let container = parts.next();
        let perms = parts.next();
        let host = HostPath::parse(host)
            .map_err(|e| {
                self.err_help(
                    span(value),
                    format!("device: {e}"),
                    "write a host device path like `/dev/ttyUSB0[:/dev/ttyUSB0[:rwm]]`, or a CDI device like `nvidia.com/gpu=all`",
                )
            })
            .ok()?;
        let container = match container.map(HostPath::parse) {
            Some(Err(e)) => {
                self.err(span(value), format!("device: container path: {e}"));
                return None;
            }
            Some(Ok(c)) => Some(c.written),
            None => None,
        };
        if let Some(p) = perms.filter(|p| !device_permissions(p)) {
            self.err_help(
                span(value),
                format!("device: `{p}` are not device permissions"),
                "use each of `r` (read), `w` (write) and `m` (mknod) at most once, like `rw` or `rwm`",
            );
            return None;
        }
        let written = match (container, perms) {
            (None, _) => host.written.clone(),
            (Some(c), None) => format!("{}:{c}", host.written),
            (Some(c), Some(p)) => format!("{}:{c}:{p}", host.written),
        };
        Some(Device {
            raw: v.clone(),
            written,
            host: Some(host),
        })
    }

    /// A CDI device name, `VENDOR/CLASS=NAME` (CDI specification: the vendor a domain-like
    /// name, the class letters, digits, `-` and `_`, the device name also `.` and `:`).
    fn cdi_device(&mut self, value: &Str) -> Option<Device> {
        let v = value.get_ref();
        let ok = v.split_once('/').is_some_and(|(vendor, rest)| {
            rest.split_once('=').is_some_and(|(class, name)| {
                cdi_part(vendor, ".-_") && cdi_part(class, "-_") && cdi_part(name, "-_.:")
            })
        });
        if !ok {
            self.err_help(
                span(value),
                format!("device `{}` is not a CDI device name", v.escape_debug()),
                "write a CDI device as `VENDOR/CLASS=NAME`, like `nvidia.com/gpu=all` (see `nvidia-ctk cdi list`), or a host path starting with `/`",
            );
            return None;
        }
        Some(Device {
            raw: v.clone(),
            written: v.clone(),
            host: None,
        })
    }
}

/// `r`, `w` and `m`, each at most once.
fn device_permissions(p: &str) -> bool {
    !p.is_empty()
        && p.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && ['r', 'w', 'm'].iter().all(|x| p.matches(*x).count() <= 1)
}

/// A part of a CDI name: starts and ends with a letter or digit, otherwise also `extra`.
fn cdi_part(part: &str, extra: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    edge_ok(part.chars().next())
        && edge_ok(part.chars().last())
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// The pull policy when the inventory sets none. With registry auto-update, images are brought
/// by `podman auto-update` alone (`missing`): its rollback re-tags the previous image and restarts
/// the unit, and `newer` would pull the broken image straight back (shown on a real podman by
/// tests/e2e_auto_update.rs). Without it, `newer` keeps images fresh on every start, and falls
/// back to the local image when the registry is down.
fn default_pull(auto_update: AutoUpdate) -> PullPolicy {
    match auto_update {
        AutoUpdate::Registry => PullPolicy::Missing,
        AutoUpdate::Local | AutoUpdate::None => PullPolicy::Newer,
    }
}

/// Worst case from start to first healthy: the start period, then every retry failing.
pub(super) fn time_to_healthy(h: &Health) -> Duration {
    let per_try = h.interval.plus(h.timeout);
    h.start_period
        .plus(per_try.times(u64::from(h.retries).saturating_add(1)))
}

/// Whether podman can take `name` for the start of a container ID (64 hex digits): its
/// name-or-ID lookups fall back to an ID prefix when no container has that name (in any case:
/// podman 5's SQLite state matches with `LIKE`, which ignores ASCII case).
fn is_hex_only(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_hexdigit())
}
