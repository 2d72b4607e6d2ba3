//! `quadgen import oci-containers`: the JSON `nix eval --json
//! .#nixosConfigurations.HOST.config.virtualisation.oci-containers.containers` prints → inventory
//! TOML text and warnings.
//!
//! Read against NixOS's own module, nixos/modules/virtualisation/oci-containers.nix (nixpkgs
//! commit `035a24e7ed33009b8a503ad0b76679665b8977a8`, the 25.05 era: `pull`, `networks`,
//! `capabilities`, `devices`, `privileged`, `autoRemoveOnStop`; `Restart=always`). Its service
//! `podman-NAME` runs `podman run --name=NAME --log-driver=journald [--entrypoint=…]
//! [--hostname=…] --cidfile=… --cgroups=enabled --sdnotify=conmon -d --replace -e K=V…
//! --env-file F… -p P… [-u U] -v V… -l K=V… [-w W] [--privileged] [--rm] --cap-add=…
//! --cap-drop=… --device=… --network=… --pull POLICY EXTRAOPTIONS… IMAGE CMD…`, and
//! `dependsOn` becomes `requires`+`after` on `podman-DEP.service`. The same flags, derived from
//! the options in that order and followed by `extraOptions`, go through one table
//! ([`flags::ROWS`]) into inventory fields ([`apply`]; networking and network modes in
//! [`network`]), each value checked by the inventory's own rules first ([`probe`]): what it
//! refuses stays in `podman_args` with a warning, so the output always builds.

pub mod apply;
pub mod container;
pub mod ctr;
pub mod fields;
pub mod flags;
pub mod network;
pub mod probe;

use std::fmt::Write as _;
use std::path::Path;

use super::toml_out::{comment, key};
use super::yaml::{self, Loc, Node, Value};
use super::{ImportError, Imported, MovedSecret, Refused, Warning};
use ctr::Ctr;

/// What an import found besides the text: warnings, refusals, secrets left out.
#[derive(Debug, Default)]
pub struct Notes {
    pub warnings: Vec<Warning>,
    pub errors: Vec<ImportError>,
    pub moved: Vec<MovedSecret>,
}

const HELP: &str = "give the output of `nix eval --json .#nixosConfigurations.HOST.config.virtualisation.oci-containers.containers`";

/// Imports oci-containers JSON (`name` is shown in messages).
pub fn oci_containers(name: &Path, text: &str) -> Result<Imported, Refused> {
    let root = parse(name, text)?;
    let names: Vec<String> = root.entries().iter().map(|(k, _)| k.clone()).collect();
    let mut notes = Notes::default();
    let mut containers = String::new();
    let mut networks: Vec<(String, Vec<String>)> = Vec::new();
    let mut volumes: Vec<(String, Vec<String>)> = Vec::new();
    for (cname, node) in root.entries() {
        if !matches!(node.value, Value::Map(_)) {
            notes.errors.push(
                ImportError::at(
                    &node.loc,
                    format!("container `{cname}` is not an attribute set"),
                )
                .help(HELP),
            );
            continue;
        }
        if let Err(e) = crate::compile::model::Name::parse(cname) {
            notes.errors.push(ImportError::at(
                &node.loc,
                format!("container name `{cname}`: {e}"),
            ));
            continue;
        }
        let mut ctr = Ctr::new(cname, node, &names);
        container::import(&mut ctr, &mut notes);
        containers.push_str(&ctr.fields.write(cname));
        containers.push('\n');
        used_by(&mut networks, &ctr.networks, cname);
        used_by(&mut volumes, &ctr.volumes, cname);
    }
    if !notes.errors.is_empty() {
        return Err(Refused(notes.errors));
    }
    let mut text = header(name, &names, &mut notes);
    text.push_str(
        "[defaults]\nrestart = \"always\"   # oci-containers' units have Restart=always\n\n",
    );
    for (n, users) in &networks {
        let _ = writeln!(text, "[networks.{}]", key(n));
        text.push_str(&comment(&format!(
            "named by `--network={n}` ({}); oci-containers creates no networks (a oneshot running\n\
             `podman network create {n}` did). quadgen now creates it; an existing `{n}` is kept as\n\
             it is (with its old settings) until you remove it: `podman network rm {n}` once its\n\
             containers are stopped, so quadgen's (DNS, bridge `qg-{n}`) apply.",
            users.join(", ")
        )));
        text.push('\n');
    }
    for (v, users) in &volumes {
        let _ = writeln!(text, "[volumes.{}]", key(v));
        text.push_str(&comment(&format!(
            "podman volume `{v}` ({}): quadgen now defines it; an existing volume and its data are kept",
            users.join(", ")
        )));
        text.push('\n');
    }
    text.push_str(&containers);
    while text.ends_with("\n\n") {
        text.pop();
    }
    Ok(Imported {
        toml: text,
        warnings: notes.warnings,
        moved_secrets: notes.moved,
        project: "oci-containers".into(),
    })
}

/// Remembers that `user` uses each of `names`.
fn used_by(list: &mut Vec<(String, Vec<String>)>, names: &[String], user: &str) {
    for n in names {
        match list.iter_mut().find(|(x, _)| x == n) {
            Some((_, users)) => users.push(user.to_string()),
            None => list.push((n.clone(), vec![user.to_string()])),
        }
    }
}

/// Strict JSON first (a located syntax error), then the located tree the mapping reads.
fn parse(name: &Path, text: &str) -> Result<Node, Refused> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        let loc = Loc {
            line: e.line(),
            col: e.column(),
            ..Loc::file(name)
        };
        return Err(ImportError::at(&loc, format!("not valid JSON: {e}"))
            .help(HELP)
            .into());
    }
    let root = yaml::parse(name, text).map_err(|e| ImportError::at(&e.loc, e.message))?;
    if !matches!(root.value, Value::Map(_)) {
        return Err(ImportError::at(
            &root.loc,
            format!(
                "expected the attribute set of containers, found {}",
                root.kind()
            ),
        )
        .help(HELP)
        .into());
    }
    if root.get("image").is_some_and(|i| i.as_str().is_some()) {
        return Err(ImportError::at(
            &root.loc,
            "this is one container's options, not the set of containers",
        )
        .help("evaluate `…virtualisation.oci-containers.containers`, not `…containers.NAME`")
        .into());
    }
    Ok(root)
}

/// The comment at the top, and the one warning about what the JSON cannot show.
fn header(name: &Path, names: &[String], notes: &mut Notes) -> String {
    let services: Vec<String> = names.iter().map(|n| format!("podman-{n}")).collect();
    let by_hand = format!(
        "not in this JSON: your `systemd.services.{{{}}}` settings (e.g. `after`/`requires` on the mount of an NFS share, a Restart= override): carry them into `after`, `requires`, `restart` by hand",
        services.join(",")
    );
    if !names.is_empty() {
        notes.warnings.push(Warning {
            loc: Loc::file(name),
            service: None,
            key: "systemd.services".into(),
            message: by_hand.clone(),
        });
    }
    let mut h = comment(&format!(
        "Imported by `quadgen import oci-containers` from {} (NixOS virtualisation.oci-containers).\n\
         Container names stay; each service is renamed: podman-NAME.service becomes NAME.service\n\
         (update `systemctl`/`journalctl -u` habits, monitoring and units that name the old ones).\n\
         {by_hand}.\n\
         quadgen adds AutoUpdate=registry to every container (set `auto_update = \"none\"` to opt\n\
         out); logs go to podman's default log driver (journald on a systemd host), as the\n\
         module's default `log-driver = \"journald\"` did.\n\
         Read every `not carried` comment before installing.",
        name.display()
    ));
    h.push('\n');
    h
}

#[cfg(test)]
mod tests;
