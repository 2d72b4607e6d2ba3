//! `[volumes.NAME]` → `NAME.volume`.

use super::{Unit, UnitBuilder, UnitKind, starts_at_boot};
use crate::compile::model::Volume;
use crate::unit::Section::{Unit as U, Volume as V};

pub fn lower(v: &Volume) -> Unit {
    let mut b = UnitBuilder::default();
    b.push(U, "Description", format!("quadgen volume {}", v.name));
    b.push(V, "VolumeName", v.name.to_string());
    if let Some(driver) = &v.driver {
        b.push(V, "Driver", driver.clone());
    }
    if let Some(t) = &v.mount_type {
        b.push(V, "Type", t.written.clone());
    }
    if let Some(d) = &v.device {
        b.push(V, "Device", d.written.clone());
    }
    if let Some(o) = &v.mount_options {
        b.push(V, "Options", o.written.clone());
    }
    for label in &v.labels {
        b.push(V, "Label", label.quoted.clone());
    }
    b.raw(&v.raw);
    Unit {
        kind: UnitKind::Volume,
        name: v.name.clone(),
        sections: b.build(),
        uses: Vec::new(),
        auto_start: starts_at_boot(false, &v.raw),
    }
}
