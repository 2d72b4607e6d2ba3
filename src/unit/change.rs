//! Whether a changed unit file needs its service restarted, or only a `daemon-reload`.
//!
//! Borrowed from nixpkgs' switch-to-configuration-ng `compare_units`: both texts are parsed (so
//! comments, blank lines and spacing around `=` do not count) and compared with the keys of
//! [`RELOAD_ONLY`] left out. Those keys describe the unit to systemd and to people, but the
//! running container never sees them: quadlet copies `[Unit]` and `[Install]` into the generated
//! service as they are, and after the `daemon-reload` systemd uses the new values from then on.
//! Everything else (`[Container]`, `[Network]`, `[Volume]`, `[Service]`, and any other `[Unit]`
//! key, such as `Requires=`) changes how the service runs, so it restarts. A key repeated or
//! reordered counts as a change.

use std::collections::BTreeMap;

use crate::unit::parse::ParsedUnit;

/// What a change from one unit file to another asks of systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitChange {
    /// The same unit once parsed: only comments, blank lines or spacing differ.
    Equal,
    /// Only keys of [`RELOAD_ONLY`] differ: `daemon-reload` applies them, the service keeps
    /// running.
    ReloadOnly,
    /// The service runs differently: it must be restarted for the change to apply.
    Restart,
}

/// A key (or a whole section) whose change needs no restart, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadOnlyKey {
    pub section: &'static str,
    /// `None`: every key of the section.
    pub key: Option<&'static str>,
    /// Why a restart would not change anything (systemd.unit(5), podman-systemd.unit(5)).
    pub why: &'static str,
}

/// The section of boot-time enablement: quadlet turns it into the generator's symlinks.
pub const INSTALL_SECTION: &str = "Install";

const fn unit_key(key: &'static str, why: &'static str) -> ReloadOnlyKey {
    ReloadOnlyKey {
        section: "Unit",
        key: Some(key),
        why,
    }
}

/// The keys whose change is applied by `daemon-reload` alone. The `[Unit]` entries are those of
/// switch-to-configuration-ng's `unit_section_ignores` that a quadlet file can carry (its own
/// `X-Reload-Triggers` and NixOS's `SourcePath` are not ours).
pub const RELOAD_ONLY: &[ReloadOnlyKey] = &[
    ReloadOnlyKey {
        section: INSTALL_SECTION,
        key: None,
        why: "only read when the unit is enabled: quadlet's generator makes the `WantedBy=`/\
              `RequiredBy=` links at each daemon-reload, so it decides the next boot, not the \
              running container",
    },
    unit_key(
        "Description",
        "a label for people (systemctl, the journal's Starting/Started lines); systemd shows \
         the new one after the reload",
    ),
    unit_key(
        "Documentation",
        "URLs that `systemctl status` and `systemctl help` show",
    ),
    unit_key(
        "OnFailure",
        "units activated when this one fails: read at that moment, from the reloaded unit",
    ),
    unit_key(
        "OnSuccess",
        "units activated when this one exits cleanly: read at that moment, from the reloaded unit",
    ),
    unit_key(
        "OnFailureJobMode",
        "the job mode of the `OnFailure=` units, read when they are queued",
    ),
    unit_key(
        "OnSuccessJobMode",
        "the job mode of the `OnSuccess=` units, read when they are queued",
    ),
    unit_key(
        "RefuseManualStart",
        "checked when someone asks for a start job, not by the running service",
    ),
    unit_key(
        "RefuseManualStop",
        "checked when someone asks for a stop job, not by the running service",
    ),
    unit_key(
        "AllowIsolate",
        "checked only by `systemctl isolate` of this unit",
    ),
    unit_key(
        "IgnoreOnIsolate",
        "checked only when another unit is isolated",
    ),
    unit_key(
        "CollectMode",
        "when systemd forgets the unit after it stopped: read at that moment",
    ),
];

/// The sections of a parsed unit as systemd merges them (a repeated `[Unit]` header continues the
/// section), keeping each key's values in file order, without the entries `keep` rejects.
fn sections(
    unit: &ParsedUnit,
    keep: impl Fn(&str, &str) -> bool,
) -> BTreeMap<&str, Vec<(&str, &str)>> {
    let mut out: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for section in &unit.sections {
        let entries = section
            .entries
            .iter()
            .filter(|(k, _)| keep(&section.name, k))
            .map(|(k, v)| (k.as_str(), v.as_str()));
        out.entry(section.name.as_str())
            .or_default()
            .extend(entries);
    }
    out.retain(|_, entries| !entries.is_empty());
    out
}

fn is_reload_only(section: &str, key: &str) -> bool {
    RELOAD_ONLY
        .iter()
        .any(|r| r.section == section && r.key.is_none_or(|k| k == key))
}

/// Compares an installed unit file with the one replacing it: [`UnitChange::Restart`] unless
/// every difference is in [`RELOAD_ONLY`].
pub fn compare_units(old_text: &str, new_text: &str) -> UnitChange {
    let (old, new) = (ParsedUnit::parse(old_text), ParsedUnit::parse(new_text));
    let all = |_: &str, _: &str| true;
    let runs = |section: &str, key: &str| !is_reload_only(section, key);
    if sections(&old, all) == sections(&new, all) {
        UnitChange::Equal
    } else if sections(&old, runs) == sections(&new, runs) {
        UnitChange::ReloadOnly
    } else {
        UnitChange::Restart
    }
}

/// The entries of [`RELOAD_ONLY`] whose values differ between the two texts, in list order: what
/// a reload-only change changed, to tell the user.
pub fn reload_only_changes(old_text: &str, new_text: &str) -> Vec<&'static ReloadOnlyKey> {
    let (old, new) = (ParsedUnit::parse(old_text), ParsedUnit::parse(new_text));
    RELOAD_ONLY
        .iter()
        .filter(|r| {
            let this =
                |section: &str, key: &str| section == r.section && r.key.is_none_or(|k| k == key);
            sections(&old, this) != sections(&new, this)
        })
        .collect()
}

impl ReloadOnlyKey {
    /// `Description=` or `[Install]`.
    pub fn name(&self) -> String {
        match self.key {
            Some(key) => format!("{key}="),
            None => format!("[{}]", self.section),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
# Generated by quadgen from the inventory entry [containers.web].

[Unit]
Description=web
After=network-online.target

[Container]
Image=docker.io/library/nginx:1
Environment=TAG=1
PublishPort=8080:80
PublishPort=8443:443

[Service]
Restart=always

[Install]
WantedBy=multi-user.target
";

    fn edit(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from:?} is not in the base unit");
        BASE.replacen(from, to, 1)
    }

    #[test]
    fn table() {
        use UnitChange::*;
        let cases: Vec<(&str, String, UnitChange)> = vec![
            ("same text", BASE.to_string(), Equal),
            (
                "a comment changed",
                edit("# Generated", "# Regenerated"),
                Equal,
            ),
            (
                "a comment inside a section",
                edit(
                    "Restart=always\n",
                    "# why: it must run\nRestart=always\n; and more\n",
                ),
                Equal,
            ),
            (
                "spacing around `=` and blank lines",
                edit("Description=web\n", "Description = web\n\n"),
                Equal,
            ),
            (
                "Description changed",
                edit("Description=web", "Description=the web"),
                ReloadOnly,
            ),
            (
                "Description removed",
                edit("Description=web\n", ""),
                ReloadOnly,
            ),
            (
                "Documentation added",
                edit(
                    "Description=web\n",
                    "Description=web\nDocumentation=https://example.org/\n",
                ),
                ReloadOnly,
            ),
            (
                "OnFailure added in a second [Unit] header",
                format!("{BASE}\n[Unit]\nOnFailure=notify@%n.service\n"),
                ReloadOnly,
            ),
            (
                "[Install] removed (auto_start = false)",
                edit("\n[Install]\nWantedBy=multi-user.target\n", ""),
                ReloadOnly,
            ),
            (
                "[Install] target changed",
                edit("WantedBy=multi-user.target", "WantedBy=default.target"),
                ReloadOnly,
            ),
            (
                "Description and [Install] changed",
                edit("Description=web", "Description=x").replace("WantedBy", "RequiredBy"),
                ReloadOnly,
            ),
            (
                "an environment value changed",
                edit("TAG=1", "TAG=2"),
                Restart,
            ),
            (
                "Description and the image changed",
                edit("Description=web", "Description=x").replace("nginx:1", "nginx:2"),
                Restart,
            ),
            (
                "a [Unit] dependency changed",
                edit("After=network-online.target", "After=mnt.mount"),
                Restart,
            ),
            (
                "[Service] Restart= changed",
                edit("Restart=always", "Restart=on-failure"),
                Restart,
            ),
            (
                "repeated keys reordered",
                edit(
                    "PublishPort=8080:80\nPublishPort=8443:443",
                    "PublishPort=8443:443\nPublishPort=8080:80",
                ),
                Restart,
            ),
            (
                "a [Unit] key of the list under another section",
                edit("Restart=always", "Restart=always\nDescription=x"),
                Restart,
            ),
            (
                "keys are case-sensitive: `description=` is not `Description=`",
                edit("Description=web", "description=web"),
                Restart,
            ),
            (
                "the whole [Unit] section removed, `After=` with it",
                edit("[Unit]\nDescription=web\nAfter=network-online.target\n", ""),
                Restart,
            ),
        ];
        for (what, new, want) in cases {
            assert_eq!(compare_units(BASE, &new), want, "{what}:\n{new}");
            assert_eq!(compare_units(&new, BASE), want, "{what}, reversed:\n{new}");
        }
    }

    #[test]
    fn names_what_changed() {
        let new = edit("Description=web", "Description=x").replace("WantedBy", "RequiredBy");
        let names: Vec<String> = reload_only_changes(BASE, &new)
            .iter()
            .map(|r| r.name())
            .collect();
        assert_eq!(names, ["[Install]", "Description="]);
        assert!(reload_only_changes(BASE, BASE).is_empty());
    }

    #[test]
    fn every_entry_says_why_and_is_listed_once() {
        for (i, r) in RELOAD_ONLY.iter().enumerate() {
            assert!(!r.why.is_empty(), "{r:?}");
            assert!(
                !RELOAD_ONLY[..i]
                    .iter()
                    .any(|o| o.section == r.section && o.key == r.key),
                "{r:?} twice"
            );
        }
    }
}
