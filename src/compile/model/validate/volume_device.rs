//! `[volumes.NAME]`: the combinations of `options` quadlet refuses.
//!
//! quadlet (ConvertVolume, 5.4 and newer) drops the whole unit when a volume has `Type=` or
//! `Options=` but no `Device=` ("key Type can't be used without Device"), and when the `image`
//! driver has no `Image=`. Raw `quadlet.Volume` keys replace generated ones, so the check looks at
//! what the unit will finally say.

use std::ops::Range;

use super::{Checker, span};
use crate::compile::inventory;
use crate::compile::model::RawKey;
use crate::unit::Section;

/// The last non-empty value of raw `[Volume] key`, as quadlet reads it.
fn raw_value<'a>(raw: &'a [RawKey], key: &str) -> Option<&'a str> {
    raw.iter()
        .filter(|r| r.section == Section::Volume && r.key == key)
        .flat_map(|r| r.values.iter())
        .next_back()
        .map(String::as_str)
}

/// The span and value of `options.KEY`.
fn option<'a>(v: &'a inventory::Volume, key: &str) -> Option<(Range<usize>, &'a str)> {
    v.options
        .iter()
        .flatten()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, value)| (span(k).unwrap_or_default(), value.get_ref().as_str()))
}

impl Checker {
    /// Refuses `type` or `o` without a `device`, and the `image` driver without an image.
    pub(super) fn volume_device(
        &mut self,
        v: &inventory::Volume,
        at: Range<usize>,
        raw: &[RawKey],
    ) {
        let driver = raw_value(raw, "Driver").or(v.driver.as_ref().map(|d| d.get_ref().as_str()));
        if driver == Some("image") {
            if raw_value(raw, "Image").is_none() {
                self.err_help(
                    Some(at),
                    "the `image` volume driver needs an image: quadlet refuses the volume otherwise",
                    "set it with `[volumes.NAME.quadlet.Volume] Image = \"…\"`",
                );
            }
            return;
        }
        let device = raw_value(raw, "Device").or(option(v, "device").map(|o| o.1));
        if device.is_some_and(|d| !d.is_empty()) {
            return;
        }
        for (key, quadlet_key) in [("type", "Type"), ("o", "Options")] {
            let given = option(v, key)
                .filter(|o| !o.1.is_empty())
                .map(|o| o.0)
                .or_else(|| {
                    raw_value(raw, quadlet_key)
                        .filter(|r| !r.is_empty())
                        .map(|_| at.clone())
                });
            if let Some(place) = given {
                self.err_help(
                    Some(place),
                    format!(
                        "volume option `{key}` needs a `device`: quadlet refuses the volume \
                         otherwise (\"key {quadlet_key} can't be used without Device\")"
                    ),
                    "add the device: for a tmpfs, `options = { type = \"tmpfs\", device = \"tmpfs\", \
                     o = \"size=1g\" }`; for a host directory, `{ type = \"none\", device = \
                     \"/srv/data\", o = \"bind\" }`",
                );
            }
        }
    }
}
