//! Networking and the image health gate: static addresses, `network_mode`, subnets,
//! `health = "image"`. Each error is asserted with the text it points at.

use super::*;
use crate::compile::inventory::parse;

const IMG: &str = "image = \"docker.io/library/busybox:latest\"\n";

fn check(src: &str) -> Result<(Model, Diagnostics), Diagnostics> {
    validate(parse(src).expect("toml"), PodmanVersion::DEFAULT)
}

/// Each error as (message, the text it points at, help).
fn errors(src: &str) -> Vec<(String, String, String)> {
    match check(src) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d
            .errors()
            .map(|d| {
                let at = d
                    .span
                    .clone()
                    .map(|s| src[s].to_string())
                    .unwrap_or_default();
                (d.message.clone(), at, d.help.clone().unwrap_or_default())
            })
            .collect(),
    }
}

fn warnings(src: &str) -> Vec<(String, String)> {
    let (_, w) = check(src).unwrap_or_else(|d| panic!("valid: {d:?}"));
    w.warnings()
        .map(|d| {
            let at = d
                .span
                .clone()
                .map(|s| src[s].to_string())
                .unwrap_or_default();
            (d.message.clone(), at)
        })
        .collect()
}

const NETS: &str = "[networks.web]\nsubnets = [\"10.89.8.0/24\", { subnet = \"fd00:8::/64\", gateway = \"fd00:8::1\" }]\n[networks.plain]\n";

#[test]
fn a_static_address_outside_the_subnet_names_the_subnet() {
    let src = format!(
        "{NETS}[containers.app]\n{IMG}networks = [{{ name = \"web\", ip = \"10.89.9.5\", ip6 = \"fd00:9::5\" }}]\n"
    );
    assert_eq!(
        errors(&src),
        [
            (
                "`10.89.9.5` is not in the subnet `10.89.8.0/24` of network `web`".into(),
                "\"10.89.9.5\"".into(),
                "choose an address inside it".into()
            ),
            (
                "`fd00:9::5` is not in the subnet `fd00:8::/64` of network `web`".into(),
                "\"fd00:9::5\"".into(),
                "choose an address inside it".into()
            ),
        ]
    );
}

#[test]
fn a_static_address_needs_a_subnet_of_its_family_and_is_not_the_gateway() {
    let src = format!(
        "{NETS}[containers.app]\n{IMG}networks = [{{ name = \"plain\", ip = \"10.0.0.2\" }}, {{ name = \"web\", ip = \"fd00:8::7\", ip6 = \"fd00:8::1\" }}]\n"
    );
    let errs = errors(&src);
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|(m, at, _)| (m.as_str(), at.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "network `plain` sets no subnet, so podman picks one when it creates the network and `10.0.0.2` may not be in it",
                "\"10.0.0.2\""
            ),
            ("`fd00:8::7` is not an IPv4 address", "\"fd00:8::7\""),
            (
                "`fd00:8::1` is the gateway of network `web`",
                "\"fd00:8::1\""
            ),
        ]
    );
    assert_eq!(
        errs[0].2,
        "give `[networks.plain]` an IPv4 subnet (`subnet` or `subnets`)"
    );
    assert_eq!(errs[1].2, "put it in `ip6`");
}

#[test]
fn network_settings_become_options_of_that_network() {
    let src = format!(
        "{NETS}[containers.app]\n{IMG}networks = [{{ name = \"web\", ip = \"10.89.8.5\", ip6 = \"fd00:8::5\", aliases = [\"db\", \"db.lan\"], mac = \"92:D0:C6:0A:29:33\" }}, \"plain\"]\n"
    );
    let (model, _) = check(&src).expect("valid");
    let c = &model.containers[0];
    assert_eq!(c.networks.len(), 2);
    assert_eq!(c.network_settings.len(), 1);
    assert_eq!(
        c.network_settings[0].options(),
        [
            "ip=10.89.8.5",
            "ip6=fd00:8::5",
            "mac=92:d0:c6:0a:29:33",
            "alias=db",
            "alias=db.lan"
        ]
    );
    for (field, bad, message) in [
        ("aliases", "[\"a,b\"]", "`a,b` is not a network alias"),
        (
            "mac",
            "\"92:d0:c6:0a:29\"",
            "`92:d0:c6:0a:29` is not a MAC address",
        ),
        ("ip", "\"10.89.8\"", "ip `10.89.8` is not an IP address"),
    ] {
        let src = format!(
            "{NETS}[containers.app]\n{IMG}networks = [{{ name = \"web\", {field} = {bad} }}]\n"
        );
        assert_eq!(errors(&src)[0].0, message, "{field}");
    }
}

#[test]
fn an_unknown_network_mode_container_gets_a_did_you_mean() {
    let src = format!(
        "[containers.gluetun]\n{IMG}[containers.qbit]\n{IMG}network_mode = \"container:gluetn\"\n"
    );
    assert_eq!(
        errors(&src),
        [(
            "there is no container named `gluetn` in the inventory".into(),
            "\"container:gluetn\"".into(),
            "did you mean `gluetun`?".into()
        )]
    );
    let src = format!("[containers.a]\n{IMG}network_mode = \"service:vpn\"\n");
    let errs = errors(&src);
    assert_eq!(
        errs[0].0,
        "`service:vpn` is not a network mode quadgen supports"
    );
    assert_eq!(errs[0].1, "\"service:vpn\"");
    assert!(errs[0].2.contains("`container:NAME`"), "{errs:?}");
    let src = format!("[containers.a]\n{IMG}network_mode = \"container:a\"\n");
    assert_eq!(
        errors(&src)[0].0,
        "a container cannot share its own network namespace"
    );
}

#[test]
fn ports_and_networks_with_container_mode_point_to_the_owner() {
    let src = format!(
        "[networks.web]\n[containers.gluetun]\n{IMG}[containers.qbit]\n{IMG}network_mode = \"container:gluetun\"\nnetworks = [\"web\"]\nports = [\"8080:8080\"]\n"
    );
    assert_eq!(
        errors(&src),
        [
            (
                "`networks` and `network_mode` cannot both be set".into(),
                "[\"web\"]".into(),
                "the container uses `gluetun`'s network: set `networks` on `[containers.gluetun]`"
                    .into()
            ),
            (
                "this container shares `gluetun`'s network, so `gluetun` publishes its ports"
                    .into(),
                "[\"8080:8080\"]".into(),
                "move these `ports` to `[containers.gluetun]`".into()
            ),
        ]
    );
}

#[test]
fn container_mode_in_networks_points_to_network_mode() {
    let src = format!(
        "[containers.gluetun]\n{IMG}[containers.qbit]\n{IMG}networks = [\"container:gluetun\"]\n"
    );
    assert_eq!(
        errors(&src),
        [(
            "`container:gluetun` is a network mode, not a network".into(),
            "\"container:gluetun\"".into(),
            "write `network_mode = \"container:gluetun\"` instead of listing it in `networks`"
                .into()
        )]
    );
}

#[test]
fn container_mode_requires_the_owner_and_joins_the_cycle_check() {
    let src = format!(
        "[containers.gluetun]\n{IMG}depends_on = [\"qbit\"]\n[containers.qbit]\n{IMG}network_mode = \"container:gluetun\"\n"
    );
    assert_eq!(
        errors(&src)[0].0,
        "dependency cycle: `gluetun` -> `qbit` -> `gluetun`"
    );
    let src = format!(
        "[containers.gluetun]\n{IMG}[containers.qbit]\n{IMG}network_mode = \"container:gluetun\"\n"
    );
    let (model, _) = check(&src).expect("valid");
    let qbit = &model.containers[1];
    assert_eq!(
        qbit.networks,
        [NetworkRef::Container(Name::parse("gluetun").expect("name"))]
    );
    let required: Vec<&str> = qbit.required_containers().map(Name::as_str).collect();
    assert_eq!(required, ["gluetun"]);
}

#[test]
fn ports_with_the_hosts_network_are_a_warning_and_networks_host_still_works() {
    for mode in ["network_mode = \"host\"", "networks = [\"host\"]"] {
        let src =
            format!("[containers.web]\n{IMG}{mode}\nports = [\"80:80\"]\nauto_update = \"none\"\n");
        assert_eq!(
            warnings(&src),
            [(
                "podman ignores `ports` here: with the host's network, the container's ports are already the host's".to_string(),
                "[\"80:80\"]".to_string()
            )],
            "{mode}"
        );
        let (model, _) = check(&src).expect("valid");
        assert_eq!(model.containers[0].networks, [NetworkRef::Host], "{mode}");
    }
}

#[test]
fn defaults_networking_is_replaced_whole() {
    let src = format!(
        "[defaults]\nnetworks = [\"web\"]\n[networks.web]\n[containers.gluetun]\n{IMG}[containers.qbit]\n{IMG}network_mode = \"container:gluetun\"\n"
    );
    let (model, _) =
        check(&src).expect("the default `networks` does not clash with `network_mode`");
    assert_eq!(
        model.containers[0].networks,
        [NetworkRef::Inventory(Name::parse("web").expect("name"))]
    );
    assert_eq!(
        model.containers[1].networks,
        [NetworkRef::Container(Name::parse("gluetun").expect("name"))]
    );
    let src = format!("[defaults]\nnetwork_mode = \"host\"\n[containers.a]\n{IMG}");
    let (model, _) = check(&src).expect("valid");
    assert_eq!(
        model.containers[0].networks,
        [NetworkRef::Host],
        "network_mode goes through [defaults]"
    );
}

#[test]
fn subnets_are_checked_inside_and_across_networks() {
    let errs = errors(
        "[networks.a]\nsubnets = [\"10.89.0.0/16\", { subnet = \"10.90.0.0/24\", gateway = \"10.91.0.1\", range = \"10.90.1.0/25\" }]\n[networks.b]\nsubnet = \"10.89.8.0/24\"\n[networks.c]\nsubnets = [\"10.1.0.0/16\", \"10.1.2.0/24\"]\n[networks.d]\nsubnet = \"10.2.0.5/16\"\n",
    );
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|(m, at, _)| (m.as_str(), at.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "gateway `10.91.0.1` is not in the subnet `10.90.0.0/24`",
                "\"10.91.0.1\""
            ),
            (
                "range `10.90.1.0/25` is not inside the subnet `10.90.0.0/24`",
                "\"10.90.1.0/25\""
            ),
            (
                "subnets `10.1.0.0/16` and `10.1.2.0/24` overlap",
                "[\"10.1.0.0/16\", \"10.1.2.0/24\"]"
            ),
            (
                "network `b`'s subnet `10.89.8.0/24` overlaps network `a`'s `10.89.0.0/16`: podman would refuse to create it",
                "b"
            ),
        ]
    );
    let errs = errors(
        "[networks.a]\nsubnet = \"10.89.0.0/16\"\nsubnets = [\"fd00::/64\"]\ngateway = \"10.89.0.1\"\n",
    );
    let got: Vec<&str> = errs.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(
        got,
        [
            "`subnet` and `subnets` cannot both be set",
            "with `subnets`, each subnet has its own gateway"
        ]
    );
    // Podman takes the network address of a subnet with host bits set: a warning, not an error.
    let src = "[networks.d]\nsubnet = \"10.2.0.5/16\"\n";
    assert_eq!(
        warnings(src),
        [(
            "`10.2.0.5/16` has host bits set: podman uses `10.2.0.0/16`".to_string(),
            "\"10.2.0.5/16\"".to_string()
        )]
    );
    let (model, _) = check(src).expect("valid");
    assert_eq!(model.networks[0].subnets[0].cidr.to_string(), "10.2.0.0/16");
}

#[test]
fn health_image_gates_the_start_without_a_command() {
    let src = format!("[containers.web]\n{IMG}health = \"image\"\n");
    let (model, w) = check(&src).expect("valid");
    assert!(w.0.is_empty(), "no warning: {w:?}");
    let c = &model.containers[0];
    assert!(c.image_health && c.health.is_none());
    // 300 s pull + podman's defaults for a HEALTHCHECK that sets nothing: 4 × (30 s + 30 s)
    assert_eq!(c.start_timeout, Duration::secs(540));
    let errs = errors(&format!("[containers.web]\n{IMG}health = \"imag\"\n"));
    assert_eq!(errs[0].0, "`imag` is not a health check");
    let w = warnings(&format!("[containers.web]\n{IMG}"));
    assert!(
        w[0].0.contains("auto-updates but has no health check"),
        "{w:?}"
    );
    let (_, d) = check(&format!("[containers.web]\n{IMG}")).expect("valid");
    let help = d
        .warnings()
        .next()
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    assert!(
        help.contains("`health = \"image\"`"),
        "the warning offers the image's check: {help}"
    );
}

#[test]
fn one_static_address_is_taken_once_per_network() {
    let src = format!(
        "{NETS}[containers.a]\n{IMG}networks = [{{ name = \"web\", ip = \"10.89.8.5\" }}]\n[containers.b]\n{IMG}networks = [{{ name = \"web\", ip = \"10.89.8.5\" }}]\n"
    );
    assert_eq!(
        errors(&src),
        [(
            "containers `a` and `b` both take `10.89.8.5` on network `web`".into(),
            "b".into(),
            "give each container its own address".into()
        )]
    );
}

#[test]
fn help_never_suggests_a_network_that_could_not_be_defined() {
    let src = format!("[containers.a]\n{IMG}networks = [\"pasta\", \"my net\", \"lan\"]\n");
    let errs = errors(&src);
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|(m, _, h)| (m.as_str(), h.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "`pasta` is a podman network mode, not a network of the inventory",
                "list networks of the inventory here; `network_mode` takes `host`, `none` or `container:NAME`"
            ),
            (
                "there is no network named `my net` in the inventory",
                "a network name is letters, digits, `_`, `.` and `-`, starting with a letter or digit"
            ),
            (
                "there is no network named `lan` in the inventory",
                "define it under `[networks.lan]`"
            ),
        ]
    );
}
