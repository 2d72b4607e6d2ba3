//! `[pods.NAME]` and the containers that join one with `pod = "NAME"`.
//!
//! A pod is one network namespace: its members reach each other on 127.0.0.1 and are reached
//! through the pod's published ports, so `ports` and `networks` belong to the pod, never to a
//! member. Settings a target's `.pod` does not know are refused with the Podman that has them.

use std::collections::BTreeMap;

use toml::Spanned;

use super::{Checker, Names, span};
use crate::compile::diagnostic::Diagnostic;
use crate::compile::inventory::{self, Str};
use crate::compile::model::{Container, Name, NetworkRef, Pod, Single, Word};
use crate::compile::version::{KeyError, check_key};
use crate::unit::Section;
use crate::unit::escape::Target;

/// `[defaults]` applied to a container, except that a pod member gets no `ports` or `networks`
/// from it: those are the pod's.
pub(super) fn merge_member(
    defaults: Option<&inventory::Container>,
    mut own: inventory::Container,
) -> inventory::Container {
    if own.pod.is_none() {
        return super::merge(defaults, own);
    }
    let ports = own.ports.take();
    let networks = own.networks.take();
    let network_mode = own.network_mode.take();
    let mut merged = super::merge(defaults, own);
    merged.ports = ports;
    merged.networks = networks;
    merged.network_mode = network_mode;
    merged
}

/// The sections a pod's raw keys may go in.
const POD_SECTIONS: [Section; 4] = [
    Section::Unit,
    Section::Pod,
    Section::Service,
    Section::Install,
];

impl Checker {
    /// Checks one `[pods.NAME]` entry; the pod is built only when nothing in it is wrong.
    pub(super) fn pod(
        &mut self,
        name: &Str,
        pod: &Spanned<inventory::Pod>,
        names: &Names<'_>,
    ) -> Option<Pod> {
        let name_checked = self.name(name, "pod");
        let p = pod.get_ref();
        let description = match &p.description {
            Some(d) => self.single(d, "description", Target::UnitSetting),
            None => Single::parse(name.get_ref(), Target::UnitSetting).ok(),
        };
        let ports = self.ports(p.ports.as_ref());
        let networks = self.pod_networks(p, names);
        let mounts = self.each(p.volumes.as_ref(), |this, v| this.mount(v, names));
        let hostname = p.hostname.as_ref().and_then(|h| self.pod_hostname(h));
        let labels = self.pod_labels(p);
        let podman_args = self.words(p.podman_args.as_ref(), "podman argument");
        let raw = self.raw_keys(p.quadlet.as_ref(), &POD_SECTIONS);
        Some(Pod {
            name: name_checked?,
            description: description?,
            ports,
            networks,
            mounts,
            hostname,
            labels,
            auto_start: p.auto_start.as_ref().is_none_or(|b| *b.get_ref()),
            podman_args,
            raw,
        })
    }

    /// The pod's networks: inventory networks, or `host` / `none` alone.
    fn pod_networks(&mut self, p: &inventory::Pod, names: &Names<'_>) -> Vec<NetworkRef> {
        let networks = self.each(p.networks.as_ref(), |this, n| this.network_ref(n, names));
        if networks.len() > 1
            && networks
                .iter()
                .any(|n| !matches!(n, NetworkRef::Inventory(_)))
        {
            self.err(
                p.networks.as_ref().and_then(span),
                "`host` and `none` cannot be combined with other networks",
            );
        }
        networks
    }

    /// `hostname`: a host name (letters, digits, `-`, `.`), on a target whose `.pod` has
    /// `HostName=`.
    fn pod_hostname(&mut self, value: &Str) -> Option<Single> {
        if !self.pod_key_available(value.span(), "hostname", "HostName") {
            return None;
        }
        let v = value.get_ref();
        let ok = !v.is_empty()
            && v.len() <= 253
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            && !v.starts_with(['-', '.']);
        if !ok {
            self.err_help(
                span(value),
                format!("`{}` is not a host name", v.escape_debug()),
                "use letters, digits, `-` and `.`, like `media.lan`",
            );
            return None;
        }
        Single::parse(v, Target::ExecStart).ok()
    }

    /// `labels`, on a target whose `.pod` has `Label=`.
    fn pod_labels(&mut self, p: &inventory::Pod) -> Vec<Word> {
        let Some(first) = p.labels.as_ref().and_then(|l| l.keys().next()) else {
            return Vec::new();
        };
        if !self.pod_key_available(first.span(), "labels", "Label") {
            return Vec::new();
        }
        self.pairs(p.labels.as_ref(), "label")
    }

    /// Whether the target's `.pod` has `key`; if not, an error naming the Podman that has it.
    fn pod_key_available(&mut self, at: std::ops::Range<usize>, field: &str, key: &str) -> bool {
        match check_key(Section::Pod, key, self.target) {
            Ok(()) => true,
            Err(KeyError::TooNew { introduced }) => {
                self.err_help(
                    Some(at),
                    format!(
                        "a pod's `{field}` needs Podman {introduced} (`{key}=` in `.pod` files); the target is Podman {}",
                        self.target
                    ),
                    format!("raise the target with `--podman {introduced}` if every host runs it, or set it on each member container (`podman_args`) instead"),
                );
                false
            }
            Err(KeyError::Unknown { .. }) => false,
        }
    }

    /// The pod a container joins: it must exist, and the container must leave ports and
    /// networks to it (`own` is the container's own entry, before `[defaults]`).
    pub(super) fn pod_membership(
        &mut self,
        container: &Str,
        c: &inventory::Container,
        names: &Names<'_>,
    ) -> Option<Name> {
        let pod = c.pod.as_ref()?;
        let name = self.reference(pod, &names.pods, "pod")?;
        let owned = [
            ("ports", c.ports.as_ref().map(|v| v.span())),
            ("networks", c.networks.as_ref().map(|v| v.span())),
            ("network_mode", c.network_mode.as_ref().map(|v| v.span())),
        ];
        for (field, at) in owned {
            if let Some(at) = at {
                self.err_help(
                    Some(at),
                    format!(
                        "container `{}` is in pod `{name}`, which owns the {field} of its members",
                        container.get_ref()
                    ),
                    format!("move `{field}` to `[pods.{name}]`: members share the pod's network namespace, so they reach each other on 127.0.0.1 and are reached through the pod's ports"),
                );
            }
        }
        Some(name)
    }

    /// `pod` in `[defaults]` is refused: which containers form a pod is each container's choice.
    pub(super) fn check_defaults_pod(&mut self, defaults: Option<&inventory::Container>) {
        if let Some(p) = defaults.and_then(|d| d.pod.as_ref()) {
            self.err_help(
                span(p),
                "`pod` cannot be a default",
                "set `pod = \"NAME\"` on each container that joins the pod",
            );
        }
    }

    /// Pods and containers share podman's name space (and each pod has an infra container
    /// `NAME-infra`), and a pod runs as `NAME-pod.service`: no container may take one of these
    /// names. A pod no container joins is a warning.
    pub(super) fn check_pod_names(
        &mut self,
        pods: &BTreeMap<Str, Spanned<inventory::Pod>>,
        containers: &[Str],
        checked: &[Container],
    ) {
        for (key, entry) in pods {
            let pod = key.get_ref();
            let pod_starts = entry
                .get_ref()
                .auto_start
                .as_ref()
                .is_none_or(|b| *b.get_ref());
            self.warn_member_auto_start(pod, pod_starts, containers, checked);
            let clashes = [
                (pod.clone(), format!("pod `{pod}`")),
                (
                    format!("{pod}-infra"),
                    format!("the infra container of pod `{pod}`"),
                ),
                (
                    format!("{pod}-pod"),
                    format!("the service `{pod}-pod.service` of pod `{pod}`"),
                ),
            ];
            for (clash, what) in clashes {
                if containers.iter().any(|c| *c.get_ref() == clash) {
                    self.err_help(
                        span(key),
                        format!("{what} would have the name of container `{clash}`: podman keeps pods and containers in one name space, and systemd has one `{clash}.service`"),
                        "rename the pod or the container",
                    );
                }
            }
            if !checked
                .iter()
                .any(|c| c.pod.as_ref().is_some_and(|p| p.as_str() == pod))
            {
                self.diags.push(
                    Diagnostic::warning(
                        span(key),
                        format!("no container joins pod `{pod}`: it runs only its infra container"),
                    )
                    .with_help(format!(
                        "add `pod = \"{pod}\"` to the containers that belong in it"
                    )),
                );
            }
        }
    }
}

impl Checker {
    /// quadlet's pod service `Wants=` every member: when the pod starts (at boot, or pulled in
    /// by a member that starts at boot), all its members start. A member's `auto_start = false`
    /// then means nothing: a warning saying so.
    fn warn_member_auto_start(
        &mut self,
        pod: &str,
        pod_starts: bool,
        keys: &[Str],
        checked: &[Container],
    ) {
        let members: Vec<&Container> = checked
            .iter()
            .filter(|c| c.pod.as_ref().is_some_and(|p| p.as_str() == pod))
            .collect();
        if !(pod_starts || members.iter().any(|m| m.auto_start)) {
            return;
        }
        for m in members.iter().filter(|m| !m.auto_start) {
            let at = keys.iter().find(|k| k.get_ref() == m.name.as_str());
            self.diags.push(
                Diagnostic::warning(
                    at.and_then(span),
                    format!(
                        "container `{}` has `auto_start = false`, but it starts at boot anyway with its pod `{pod}`, whose service `Wants=` every member",
                        m.name
                    ),
                )
                .with_help(format!(
                    "to keep them from starting at boot, set `auto_start = false` on `[pods.{pod}]` and on every member"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests;
