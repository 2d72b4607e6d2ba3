//! `[volumes.NAME]`: driver and `podman volume create --opt` options.

use toml::Spanned;

use super::{Checker, span};
use crate::compile::inventory::{self, Str};
use crate::compile::model::Volume;
use crate::unit::Section;
use crate::unit::escape::Target;

impl Checker {
    pub(super) fn volume(
        &mut self,
        name: &Str,
        vol: &Spanned<inventory::Volume>,
    ) -> Option<Volume> {
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
        self.volume_device(v, span(name).unwrap_or_default(), &raw);
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
}
