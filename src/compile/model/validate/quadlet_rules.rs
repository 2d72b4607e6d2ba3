//! Combinations of values each valid alone that quadlet refuses, dropping the whole unit.
//!
//! From quadlet's ConvertVolume and ConvertNetwork (5.4 and newer):
//! - a volume with `Type=` or `Options=` but no `Device=` ("key Type can't be used without
//!   Device"), or the `image` driver without `Image=`;
//! - a network with `Gateway=` or `IPRange=` but no `Subnet=` ("cannot set gateway or range
//!   without subnet"), or more of them than subnets;
//! - a container with `Group=` but no `User=` ("invalid Group set without User").
//!
//! Raw `quadlet` keys replace generated ones, so each check looks at what the unit will finally
//! say.

use std::ops::Range;

use super::{Checker, span};
use crate::compile::inventory;
use crate::compile::model::RawKey;
use crate::unit::Section;

/// The values of raw `[section] key`.
fn raw_values<'a>(raw: &'a [RawKey], section: Section, key: &str) -> Vec<&'a str> {
    raw.iter()
        .filter(|r| r.section == section && r.key == key)
        .flat_map(|r| r.values.iter())
        .map(String::as_str)
        .collect()
}

/// The last value of raw `[Volume] key`, as quadlet reads it.
fn raw_value<'a>(raw: &'a [RawKey], key: &str) -> Option<&'a str> {
    raw_values(raw, Section::Volume, key).last().copied()
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

impl Checker {
    /// Refuses gateways or ranges without a subnet for each. `subnets` and `gateways` count the
    /// generated `Subnet=` and `Gateway=` lines (a raw key of the same name replaces them).
    pub(super) fn network_ranges(
        &mut self,
        at: Range<usize>,
        subnets: usize,
        gateways: usize,
        raw: &[RawKey],
    ) {
        let count = |key: &str, generated: usize| {
            let raw = raw_values(raw, Section::Network, key).len();
            if raw > 0 { raw } else { generated }
        };
        let subnets = count("Subnet", subnets);
        for (key, generated) in [("Gateway", gateways), ("IPRange", 0)] {
            let n = count(key, generated);
            if n > subnets {
                self.err_help(
                    Some(at.clone()),
                    format!(
                        "{n} `{key}=` but {subnets} `Subnet=`: quadlet refuses the network \
                         (\"cannot set gateway or range without subnet\")"
                    ),
                    "give the network a `subnet` for each gateway and range",
                );
            }
        }
    }
}

impl Checker {
    /// Refuses a raw `Group=` when the container has no user (`user` sets both).
    pub(super) fn group_needs_user(&mut self, at: Range<usize>, has_user: bool, raw: &[RawKey]) {
        let non_empty = |key: &str| {
            raw_values(raw, Section::Container, key)
                .last()
                .is_some_and(|v| !v.is_empty())
        };
        let raw_user = raw_values(raw, Section::Container, "User");
        let user = if raw_user.is_empty() {
            has_user
        } else {
            non_empty("User")
        };
        if non_empty("Group") && !user {
            self.err_help(
                Some(at),
                "a raw `Group=` without a user: quadlet refuses the container (\"invalid Group \
                 set without User\")",
                "set both with `user = \"USER:GROUP\"`",
            );
        }
    }
}
