//! The oci-containers importer's probe: a container's imported fields, with the networks and
//! volumes they name, as a one-container inventory; see [`crate::import::probe`].

use std::fmt::Write as _;

use super::fields::Fields;

/// The image of the probe container (any valid reference: only its fields are under test).
const IMAGE: &str = "docker.io/library/busybox:latest";

/// `Ok` when an inventory holding `fields` (a container's, without its image), the networks
/// `networks` and the volumes `volumes` (tables without settings) builds; otherwise the first
/// error's message.
pub fn accepts(fields: &Fields, networks: &[String], volumes: &[String]) -> Result<(), String> {
    let mut text = String::new();
    for (kind, names) in [("networks", networks), ("volumes", volumes)] {
        for n in names {
            let _ = writeln!(text, "[{kind}.{}]", crate::import::toml_out::key(n));
        }
    }
    let mut probe = fields.clone();
    probe.set("image", super::fields::Val::Str(IMAGE.into()));
    text.push_str(&probe.write("probe"));
    crate::import::probe::verdict(&text)
}

#[cfg(test)]
mod tests {
    use super::super::fields::Val;
    use super::*;

    fn one(name: &str, v: Val) -> Result<(), String> {
        let mut f = Fields::default();
        f.set(name, v);
        accepts(&f, &[], &[])
    }

    #[test]
    fn the_inventory_rules_decide() {
        assert_eq!(one("cap_add", Val::List(vec!["net_admin".into()])), Ok(()));
        let why = one("cap_add", Val::List(vec!["NET_ADMINN".into()])).expect_err("refused");
        assert!(why.contains("is not a Linux capability"), "{why}");
        assert!(one("shm_size", Val::Str("1g".into())).is_ok());
        assert!(one("shm_size", Val::Str("lots".into())).is_err());
        assert!(one("pids_limit", Val::Int(0)).is_err());
        let why = one(
            "sysctls",
            Val::Map(vec![("kernel.hostname".into(), "x".into())]),
        )
        .expect_err("not namespaced");
        assert!(why.contains("not namespaced"), "{why}");
    }

    #[test]
    fn a_static_address_needs_the_networks_subnet() {
        let mut f = Fields::default();
        f.push("networks", "media".into());
        f.network_keys.push(("aliases", "dl".into()));
        assert_eq!(accepts(&f, &["media".into()], &[]), Ok(()));
        f.network_keys.push(("ip", "10.89.7.5".into()));
        let why = accepts(&f, &["media".into()], &[]).expect_err("no subnet");
        assert!(why.contains("sets no subnet"), "{why}");
    }
}
