use super::*;
use crate::compile::inventory::parse;

fn check(src: &str) -> Result<(Model, Diagnostics), Diagnostics> {
    validate(parse(src).expect("toml"), PodmanVersion::DEFAULT)
}

fn errors(src: &str) -> Vec<String> {
    match check(src) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.errors().map(|d| d.message.clone()).collect(),
    }
}

const IMG: &str = "image = \"docker.io/library/busybox:latest\"\n";

#[test]
fn dependency_cycles_are_named() {
    let src = format!(
        "[containers.a]\n{IMG}depends_on = [\"b\"]\n[containers.b]\n{IMG}depends_on = [\"c\"]\n[containers.c]\n{IMG}depends_on = [\"a\"]\n"
    );
    assert_eq!(errors(&src), ["dependency cycle: `a` -> `b` -> `c` -> `a`"]);
}

#[test]
fn service_name_clashes_are_refused() {
    let src = format!("[networks.media]\n[containers.media-network]\n{IMG}");
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("would run as `media-network.service`"),
        "{errs:?}"
    );
}

#[test]
fn defaults_apply_and_maps_merge_key_by_key() {
    let src = format!(
        "[defaults]\nrestart = \"always\"\nenvironment = {{ TZ = \"UTC\", A = \"1\" }}\n[containers.a]\n{IMG}environment = {{ A = \"2\" }}\n[containers.b]\n{IMG}restart = \"no\"\n"
    );
    let (model, _) = check(&src).expect("valid");
    let a = &model.containers[0];
    assert_eq!(a.restart, "always");
    let env: Vec<&str> = a.environment.iter().map(|w| w.raw.as_str()).collect();
    assert_eq!(env, ["A=2", "TZ=UTC"]);
    assert_eq!(model.containers[1].restart, "no");
}

#[test]
fn start_timeout_covers_pull_and_time_to_healthy() {
    let src = format!(
        "[containers.web]\n{IMG}health = {{ cmd = \"true\", interval = \"10s\", timeout = \"5s\", retries = 2, start_period = \"1m\" }}\n"
    );
    let (model, warnings) = check(&src).expect("valid");
    // 300 s pull + 60 s start period + 3 × (10 s + 5 s)
    assert_eq!(model.containers[0].start_timeout, Duration::secs(405));
    assert!(
        !warnings.has_errors() && warnings.0.is_empty(),
        "no warning with a health check"
    );
}

#[test]
fn digest_pins_and_short_names_depend_on_auto_update() {
    let digest = format!("docker.io/library/nginx@sha256:{}", "a".repeat(64));
    let errs = errors(&format!("[containers.a]\nimage = \"{digest}\"\n"));
    assert!(errs[0].contains("pinned by digest"), "{errs:?}");
    let (_, warnings) = check("[containers.web]\nimage = \"nginx\"\nauto_update = \"none\"\n")
        .expect("only a warning");
    let w: Vec<&str> = warnings.warnings().map(|d| d.message.as_str()).collect();
    assert_eq!(
        w,
        [
            "`nginx` is a short name: which registry it comes from depends on the host's registries.conf"
        ]
    );
}

#[test]
fn long_network_names_get_short_stable_interfaces() {
    let name = Name::parse("a-very-long-network-name").expect("name");
    let iface = default_interface_name(&name);
    assert_eq!(iface.len(), 15);
    assert!(iface.starts_with("qg-a-very-"), "{iface}");
    assert_eq!(iface, default_interface_name(&name), "deterministic");
    assert_eq!(
        default_interface_name(&Name::parse("media").expect("name")),
        "qg-media"
    );
}

#[test]
fn raw_keys_are_checked_and_protected() {
    let errs = errors(&format!(
        "[containers.a]\n{IMG}[containers.a.quadlet.Container]\nShmsize = \"1g\"\n"
    ));
    assert!(
        errs[0].contains("`Shmsize` is not a key of quadlet's [Container] section"),
        "{errs:?}"
    );
    let errs = errors(&format!(
        "[containers.a]\n{IMG}[containers.a.quadlet.Pod]\nX = \"1\"\n"
    ));
    assert!(errs[0].contains("`Pod` is not a section"), "{errs:?}");
    let (model, _) = check(&format!(
        "[containers.a]\n{IMG}[containers.a.quadlet.Container]\nAnnotation = \"x=100%$\"\n"
    ))
    .expect("valid");
    assert_eq!(model.containers[0].raw[0].values, ["x=100%%$$"]);
}

#[test]
fn networks_need_a_subnet_for_a_gateway_inside_it_and_a_free_name() {
    let errs = errors("[networks.n]\ngateway = \"10.0.0.1\"\n");
    assert!(errs[0].contains("a gateway needs a subnet"), "{errs:?}");
    let errs = errors("[networks.n]\nsubnet = \"10.0.0.0/24\"\ngateway = \"10.1.0.1\"\n");
    assert_eq!(
        errs,
        ["gateway `10.1.0.1` is not in the subnet `10.0.0.0/24`"]
    );
    assert!(check("[networks.n]\nsubnet = \"fd00:1::/64\"\ngateway = \"fd00:1::1\"\n").is_ok());
    let errs = errors("[networks.n]\nsubnet = \"10.0.0.0/+24\"\n");
    assert!(errs[0].contains("is not a subnet"), "{errs:?}");
    let errs = errors("[networks.host]\n");
    assert!(errs[0].contains("network mode of podman's own"), "{errs:?}");
    let errs =
        errors("[networks.a]\ninterface_name = \"br0\"\n[networks.b]\ninterface_name = \"br0\"\n");
    assert!(
        errs[0].contains("would both use the interface `br0`"),
        "{errs:?}"
    );
}

#[test]
fn host_paths_that_mean_two_things_are_refused() {
    for (field, value) in [
        ("volumes", "[\"/srv/a$b:/data\"]"),
        ("volumes", "[\"/srv/it's:/data\"]"),
        ("environment_files", "[\"/srv/e\\\\x.env\"]"),
        ("devices", "[\"/dev/a$b\"]"),
    ] {
        let errs = errors(&format!("[containers.a]\n{IMG}{field} = {value}\n"));
        assert!(
            errs[0].contains("RequiresMountsFor"),
            "{field} {value}: {errs:?}"
        );
    }
}

#[test]
fn raw_keys_cannot_replace_names_or_change_silently() {
    let errs = errors(&format!(
        "[containers.a]\n{IMG}[containers.a.quadlet.Container]\nContainerName = \"b\"\n"
    ));
    assert!(
        errs[0].contains("`ContainerName=` is set by quadgen"),
        "{errs:?}"
    );
    let errs = errors(&format!(
        "[containers.a]\n{IMG}[containers.a.quadlet.Container]\nShmSize = \" 1g \"\n"
    ));
    assert!(
        errs[0].contains("starts or ends with whitespace"),
        "{errs:?}"
    );
    let errs = errors(&format!(
        "[containers.a]\n{IMG}labels = {{ \"io.containers.autoupdate\" = \"local\" }}\n"
    ));
    assert!(errs[0].contains("set by quadgen"), "{errs:?}");
}

#[test]
fn huge_numbers_are_errors_not_overflows() {
    let errs = errors(&format!(
        "[containers.a]\n{IMG}health = {{ cmd = \"true\", retries = 4294967295 }}\n"
    ));
    assert!(
        errs[0].contains("retries must be a whole number from 1 to 1000"),
        "{errs:?}"
    );
    let errs = errors(&format!(
        "[containers.a]\n{IMG}stop_timeout = \"18446744073709551s\"\n"
    ));
    assert!(
        errs[0].contains("is not a duration") || errs[0].contains("longer than a year"),
        "{errs:?}"
    );
    let errs = errors(&format!("[containers.a]\n{IMG}start_timeout = \"9000h\"\n"));
    assert!(errs[0].contains("longer than a year"), "{errs:?}");
}

#[test]
fn defaults_are_reported_once_and_do_not_depend_on_themselves() {
    let src =
        format!("[defaults]\nports = [\"80:80/icmp\"]\n[containers.a]\n{IMG}[containers.b]\n{IMG}");
    let Err(d) = check(&src) else {
        panic!("must fail")
    };
    assert_eq!(
        d.sorted().iter().filter(|d| d.is_error()).count(),
        1,
        "one error for one bad default"
    );
    let src =
        format!("[defaults]\ndepends_on = [\"db\"]\n[containers.db]\n{IMG}[containers.web]\n{IMG}");
    let (model, _) = check(&src).expect("no self-dependency");
    let web = model
        .containers
        .iter()
        .find(|c| c.name.as_str() == "web")
        .expect("web");
    assert_eq!(web.depends_on.len(), 1);
    let db = model
        .containers
        .iter()
        .find(|c| c.name.as_str() == "db")
        .expect("db");
    assert!(db.depends_on.is_empty());
}

#[test]
fn quadlet_file_names_as_dependencies_get_a_hint() {
    let errs = errors(&format!(
        "[containers.a]\n{IMG}requires = [\"x.container\"]\n"
    ));
    assert!(errs[0].contains("is a Quadlet file name"), "{errs:?}");
}

#[test]
fn pull_policy_follows_auto_update_so_rollback_sticks() {
    let (model, _) = check(&format!(
        "[containers.a]\n{IMG}health = {{ cmd = \"true\" }}\n"
    ))
    .expect("valid");
    assert_eq!(
        model.containers[0].pull, "missing",
        "auto-update brings images; a restart never does"
    );
    let (model, _) =
        check(&format!("[containers.a]\n{IMG}auto_update = \"none\"\n")).expect("valid");
    assert_eq!(
        model.containers[0].pull, "newer",
        "without auto-update, each start refreshes"
    );
    let (model, warnings) = check(&format!(
        "[containers.web]\n{IMG}pull = \"newer\"\nhealth = {{ cmd = \"true\" }}\n"
    ))
    .expect("valid");
    assert_eq!(model.containers[0].pull, "newer");
    let w: Vec<&str> = warnings.warnings().map(|d| d.message.as_str()).collect();
    assert_eq!(
        w,
        ["`pull = \"newer\"` defeats `podman auto-update`'s rollback"]
    );
}

#[test]
fn unknown_systemd_keys_in_the_escape_hatch_are_warnings_with_a_hint() {
    let (model, warnings) = check(&format!(
        "[containers.web]\n{IMG}health = {{ cmd = \"true\" }}\n[containers.web.quadlet.Service]\nRestrat = \"always\"\nLimitNOFILE = \"65536\"\n"
    ))
    .expect("a warning, not an error");
    let w: Vec<(&str, Option<&str>)> = warnings
        .warnings()
        .map(|d| (d.message.as_str(), d.help.as_deref()))
        .collect();
    assert_eq!(
        w,
        [(
            "systemd 257 knows no `Restrat=` in unit files: systemd ignores an unknown key with only a log line",
            Some("did you mean `Restart`?")
        )]
    );
    assert_eq!(
        model.containers[0].raw.len(),
        2,
        "still written: a newer systemd may know it"
    );
}

#[test]
fn names_podman_can_take_for_an_id_prefix_are_warned_about() {
    // Issue 14: on podman 5.4.2, `podman run --replace --name d` of d.service removed a running
    // container whose ID began with `d`.
    for name in ["a", "db", "cafe", "42", "0f", "DB"] {
        let (_, warnings) = check(&format!("[containers.{name}]\n{IMG}"))
            .unwrap_or_else(|_| panic!("`{name}` is still accepted"));
        let w: Vec<&str> = warnings.warnings().map(|d| d.message.as_str()).collect();
        assert!(
            w.iter()
                .any(|m| m.contains(&format!(
                    "container name `{name}` is made only of hex digits"
                )) && m.contains("force-removes another container whose ID begins with")),
            "{name}: {w:?}"
        );
    }
    for name in ["web", "db-1", "dbx", "Web", "postgres"] {
        let (_, warnings) = check(&format!("[containers.{name}]\n{IMG}")).expect("valid");
        assert!(
            warnings
                .warnings()
                .all(|d| !d.message.contains("hex digits")),
            "{name} cannot be an ID prefix"
        );
    }
}

proptest::proptest! {
    /// The linear cycle pre-check finds exactly the containers the full search finds a cycle
    /// through, on random dependency graphs (with self-edges and edges to unknown names).
    #[test]
    fn nodes_on_cycles_are_those_with_a_cycle(
        graph in proptest::collection::vec(proptest::collection::vec(0usize..14, 0..3), 0..12)
    ) {
        let names: Vec<String> = (0..14).map(|i| format!("c{i:02}")).collect();
        let edges: BTreeMap<&str, Vec<&str>> = graph
            .iter()
            .enumerate()
            .map(|(i, next)| (names[i].as_str(), next.iter().map(|&j| names[j].as_str()).collect()))
            .collect();
        let brute: BTreeSet<&str> = edges
            .keys()
            .copied()
            .filter(|n| super::find_cycle(n, &edges).is_some())
            .collect();
        proptest::prop_assert_eq!(super::nodes_on_cycles(&edges), brute);
    }
}

/// The help of each error of `src`, by message.
fn helps(src: &str) -> Vec<(String, String)> {
    match check(src) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d
            .errors()
            .map(|d| (d.message.clone(), d.help.clone().unwrap_or_default()))
            .collect(),
    }
}

#[test]
fn a_host_path_without_its_slash_is_not_taken_for_a_volume_name() {
    let src = format!("[containers.app]\n{IMG}volumes = [\"srv/app:/data\"]\n");
    let found = helps(&src);
    assert_eq!(
        found,
        [(
            "`srv/app` looks like a relative host path".to_string(),
            "bind mounts need an absolute host path: write `/srv/app`".to_string()
        )]
    );
}

#[test]
fn help_never_suggests_an_invalid_name() {
    let src =
        format!("[containers.app]\n{IMG}volumes = [\"my data:/data\"]\nnetworks = [\"@lan\"]\n");
    for (message, help) in helps(&src) {
        assert!(!help.contains("define it"), "{message}: {help}");
        assert!(help.contains("letters, digits"), "{message}: {help}");
    }
    // An invalid inventory name is never offered as a did-you-mean.
    let src = format!("[volumes.\"dat a\"]\n[containers.app]\n{IMG}volumes = [\"data:/data\"]\n");
    for (message, help) in helps(&src) {
        assert!(!help.contains("dat a"), "{message}: {help}");
    }
}

#[test]
fn volume_type_or_options_without_a_device_are_refused() {
    for options in ["{ type = \"tmpfs\" }", "{ o = \"size=1g\" }"] {
        let src = format!("[volumes.v]\noptions = {options}\n");
        let found = helps(&src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("needs a `device`"), "{found:?}");
        assert!(found[0].1.contains("device = \"tmpfs\""), "{found:?}");
    }
    let ok = "[volumes.v]\noptions = { type = \"tmpfs\", device = \"tmpfs\", o = \"size=1g\" }\n";
    assert!(check(ok).is_ok());
    let raw_type = "[volumes.v.quadlet.Volume]\nType = \"tmpfs\"\n";
    assert_eq!(helps(raw_type).len(), 1);
    let image = "[volumes.v]\ndriver = \"image\"\n";
    assert!(helps(image)[0].0.contains("needs an image"));
}

#[test]
fn network_ranges_and_gateways_need_a_subnet_even_as_raw_keys() {
    let src = "[networks.n.quadlet.Network]\nIPRange = \"10.250.0.0/28\"\n";
    let found = helps(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].0.contains("1 `IPRange=` but 0 `Subnet=`"),
        "{found:?}"
    );
    let ok = "[networks.n]\nsubnet = \"10.250.0.0/24\"\n[networks.n.quadlet.Network]\nIPRange = \"10.250.0.0/28\"\n";
    assert!(check(ok).is_ok());
}

#[test]
fn a_raw_group_needs_a_user() {
    let src =
        format!("[containers.app]\n{IMG}[containers.app.quadlet.Container]\nGroup = \"100\"\n");
    let found = helps(&src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].0.contains("invalid Group set without User"),
        "{found:?}"
    );
    let ok = format!(
        "[containers.app]\n{IMG}user = \"1000\"\n[containers.app.quadlet.Container]\nGroup = \"100\"\n"
    );
    assert!(check(&ok).is_ok());
}

mod secrets {
    use super::*;

    fn help_of(src: &str) -> Vec<(String, Option<String>)> {
        match check(src) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d
                .errors()
                .map(|d| (d.message.clone(), d.help.clone()))
                .collect(),
        }
    }

    const SECRET: &str = "[secrets.db_password]\nfile = \"/run/secrets/db_password\"\n";

    #[test]
    fn unknown_secret_gets_did_you_mean() {
        let src = format!("{SECRET}[containers.a]\n{IMG}secrets = [\"db_pasword\"]\n");
        let errs = help_of(&src);
        assert_eq!(
            errs,
            [(
                "there is no secret named `db_pasword` in the inventory".to_string(),
                Some("did you mean `db_password`?".to_string())
            )]
        );
    }

    #[test]
    fn a_file_in_the_nix_store_is_refused() {
        let src = format!(
            "[secrets.db]\nfile = \"/nix/store/abc-db\"\n[containers.a]\n{IMG}secrets = [\"db\"]\n"
        );
        let errs = help_of(&src);
        assert!(errs[0].0.contains("in the Nix store"), "{errs:?}");
        assert!(
            errs[0].1.as_deref().is_some_and(|h| h.contains("sops")),
            "{errs:?}"
        );
    }

    #[test]
    fn bad_entries_are_each_reported() {
        let src = format!(
            "{SECRET}[containers.a]\n{IMG}secrets = [\n  {{ name = \"db_password\", type = \"envv\" }},\n  {{ name = \"db_password\", type = \"env\", target = \"1BAD\" }},\n  {{ name = \"db_password\", type = \"env\", target = \"OK\", mode = \"0400\" }},\n  {{ name = \"db_password\", target = \"/a,b\" }},\n  {{ name = \"db_password\", target = \"/x\", mode = \"999\" }},\n  {{ name = \"db_password\", target = \"/y\", uid = -1 }},\n]\n"
        );
        let errs: Vec<String> = help_of(&src).into_iter().map(|(m, _)| m).collect();
        assert_eq!(errs.len(), 6, "{errs:?}");
        assert!(errs[0].contains("`envv` is not a secret type"), "{errs:?}");
        assert!(
            errs[1].contains("`1BAD` is not an environment variable"),
            "{errs:?}"
        );
        assert!(
            errs[2].contains("apply to `type = \"mount\"` only"),
            "{errs:?}"
        );
        assert!(errs[3].contains("secret target"), "{errs:?}");
        assert!(errs[4].contains("`mode = \"999\"`"), "{errs:?}");
        assert!(errs[5].contains("`uid = -1`"), "{errs:?}");
    }

    #[test]
    fn defaults_give_secrets_and_an_unused_one_is_a_warning() {
        let src = format!(
            "{SECRET}[secrets.spare]\nfile = \"/run/secrets/spare\"\n[defaults]\nsecrets = [\"db_password\"]\n[containers.a]\n{IMG}[containers.b]\n{IMG}secrets = [{{ name = \"db_password\", type = \"env\", target = \"DB\" }}]\n"
        );
        let (model, warnings) = check(&src).expect("valid");
        let lines: Vec<Vec<String>> = model
            .containers
            .iter()
            .map(|c| c.secrets.iter().map(SecretUse::written).collect())
            .collect();
        assert_eq!(
            lines,
            [
                vec!["db_password".to_string()],
                vec!["db_password,type=env,target=DB".to_string()]
            ]
        );
        let names: Vec<&str> = model.secrets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["db_password"], "the unused secret is left out");
        assert!(
            warnings
                .warnings()
                .any(|w| w.message == "secret `spare` is used by no container"),
            "{warnings:?}"
        );
    }

    #[test]
    fn two_secrets_in_one_variable_are_refused() {
        let src = format!(
            "{SECRET}[secrets.other]\nfile = \"/run/secrets/other\"\n[containers.a]\n{IMG}secrets = [{{ name = \"db_password\", type = \"env\", target = \"X\" }}, {{ name = \"other\", type = \"env\", target = \"X\" }}]\n"
        );
        let errs = errors(&src);
        assert!(errs[0].contains("given twice"), "{errs:?}");
    }

    /// Two secrets mounted at one path (an absolute target, or a relative one under
    /// `/run/secrets`, or the other's default) would be two mounts at one destination.
    #[test]
    fn two_secrets_at_one_path_are_refused() {
        for (first, second) in [
            (
                "{ name = \"db_password\", target = \"/etc/x\" }",
                "{ name = \"other\", target = \"/etc/x\" }",
            ),
            (
                "\"db_password\"",
                "{ name = \"other\", target = \"db_password\" }",
            ),
        ] {
            let src = format!(
                "{SECRET}[secrets.other]\nfile = \"/run/secrets/other\"\n[containers.a]\n{IMG}secrets = [{first}, {second}]\n"
            );
            let errs = errors(&src);
            assert!(
                errs[0].contains("given twice"),
                "{first} {second}: {errs:?}"
            );
        }
        let fine = format!(
            "{SECRET}[secrets.other]\nfile = \"/run/secrets/other\"\n[containers.a]\n{IMG}secrets = [\"db_password\", \"other\"]\n"
        );
        assert!(check(&fine).is_ok());
    }
}
