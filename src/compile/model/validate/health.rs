//! `health`: a health check table, or `"image"` for the image's own HEALTHCHECK. Either gates
//! the start (`Notify=healthy`), which is what lets `podman auto-update` roll a bad image back.

use toml::Spanned;

use super::{Checker, span};
use crate::compile::diagnostic::{Diagnostic, did_you_mean};
use crate::compile::inventory::{self, OrTable, Str};
use crate::compile::model::{AutoUpdate, Duration, Health};

/// The worst time to healthy of an image's HEALTHCHECK that sets nothing, with podman's (and
/// Docker's) defaults: no start period, then 3 retries and the first try, each up to a 30 s
/// interval plus a 30 s timeout. quadgen cannot read the image when it compiles.
pub(super) const IMAGE_HEALTH_WORST: Duration = Duration::secs(4 * 60);

/// A container's health gate.
pub(super) struct HealthGate {
    /// The inventory's own check.
    pub check: Option<Health>,
    /// `health = "image"`.
    pub from_image: bool,
}

impl HealthGate {
    /// The worst time from start to first healthy, when a check gates the start.
    pub fn time_to_healthy(&self) -> Option<Duration> {
        match &self.check {
            Some(h) => Some(super::container::time_to_healthy(h)),
            None => self.from_image.then_some(IMAGE_HEALTH_WORST),
        }
    }
}

impl Checker {
    /// `health`, and the warning when a container auto-updates with nothing to gate it.
    pub(super) fn health_gate(
        &mut self,
        name: &Str,
        c: &inventory::Container,
        auto_update: AutoUpdate,
        has_image: bool,
    ) -> HealthGate {
        let gate = match c.health.as_ref() {
            None => HealthGate {
                check: None,
                from_image: false,
            },
            Some(h) => self.health_entry(h),
        };
        let gated = gate.check.is_some() || gate.from_image;
        if auto_update != AutoUpdate::None && !gated && has_image && c.health.is_none() {
            self.warn_without_health_check(name);
        }
        gate
    }

    fn health_entry(&mut self, h: &Spanned<OrTable<inventory::Health>>) -> HealthGate {
        let (check, from_image) = match h.get_ref() {
            OrTable::Table(t) => (self.health(t), false),
            OrTable::Text(t) if t == "image" => (None, true),
            OrTable::Text(t) => {
                let mut d = Diagnostic::error(
                    span(h),
                    format!("`{}` is not a health check", t.escape_debug()),
                )
                .with_help("write `health = \"image\"` for the image's own HEALTHCHECK, or a table like `{ cmd = \"curl -f http://localhost/\" }`");
                if let Some(s) = did_you_mean(t, ["image"]) {
                    d = d.with_label(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                (None, false)
            }
        };
        HealthGate { check, from_image }
    }

    /// Auto-update without a health check can roll back a crash, not a broken service.
    fn warn_without_health_check(&mut self, name: &Str) {
        self.diags.push(
            Diagnostic::warning(
                Some(name.span()),
                format!("container `{}` auto-updates but has no health check: a rollback can then only catch a crash, not a broken service", name.get_ref()),
            )
            .with_help("add `health = { cmd = \"...\" }`, or `health = \"image\"` when the image has a HEALTHCHECK (docker-format images only), so a bad image fails its start and `podman auto-update` rolls it back"),
        );
    }
}
