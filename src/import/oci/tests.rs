//! The oci-containers core on plain values: options and flags into fields, what is refused.

use std::path::Path;

use super::{flags, oci_containers};

fn import(json: &str) -> crate::import::Imported {
    oci_containers(Path::new("c.json"), json).unwrap_or_else(|r| panic!("refused:\n{r}"))
}

fn table(text: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"))
}

#[test]
fn an_option_and_the_flag_it_becomes_land_in_the_same_field() {
    // `devices` and `--device`, `networks` and `--network`, `labels` and `--label`: merged, in
    // the module's order; the later scalar wins (`user`, then `-u` in extraOptions).
    let got = import(
        r#"{"a":{"image":"docker.io/library/nginx:1","devices":["/dev/dri"],"networks":["web"],
        "labels":{"x":"1"},"user":"1000","ports":["80:80"],
        "extraOptions":["--device","/dev/fuse","--network=web","--label","y=2","-u","0:0","-p","443:443"]}}"#,
    );
    let t = table(&got.toml);
    let a = &t["containers"]["a"];
    assert_eq!(a["devices"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        a["networks"].as_array().map(Vec::len),
        Some(1),
        "--network=web twice is one network"
    );
    assert_eq!(a["labels"]["y"].as_str(), Some("2"));
    assert_eq!(a["user"].as_str(), Some("0:0"));
    assert_eq!(a["ports"][1].as_str(), Some("443:443"));
    assert!(t["networks"]["web"].is_table());
    assert!(
        got.warnings.iter().all(|w| w.key == "systemd.services"),
        "{:?}",
        got.warnings
    );
}

#[test]
fn named_volumes_get_tables_and_stop_timeout_becomes_a_duration() {
    let got = import(
        r#"{"db":{"image":"docker.io/library/postgres:16","volumes":["pgdata:/var/lib/postgresql/data","/srv/x:/x:ro"],
        "extraOptions":["--stop-timeout=60"]}}"#,
    );
    let t = table(&got.toml);
    assert!(t["volumes"]["pgdata"].is_table(), "{}", got.toml);
    assert_eq!(t["volumes"].as_table().map(toml::Table::len), Some(1));
    assert_eq!(t["containers"]["db"]["stop_timeout"].as_str(), Some("60s"));
}

#[test]
fn defaults_of_every_option_say_nothing() {
    // What `nix eval --json` prints for a container that sets only `image`.
    let got = import(
        r#"{"web":{"autoRemoveOnStop":true,"autoStart":true,"capabilities":{},"cmd":[],"dependsOn":[],"devices":[],
        "entrypoint":null,"environment":{},"environmentFiles":[],"extraOptions":[],"hostname":null,
        "image":"docker.io/library/nginx:latest","imageFile":null,"imageStream":null,"labels":{},
        "log-driver":"journald","login":{"passwordFile":null,"registry":null,"username":null},"networks":[],
        "podman":{"sdnotify":"conmon","user":"root"},"ports":[],"preRunExtraOptions":[],"privileged":false,
        "pull":"missing","serviceName":"podman-web","user":null,"volumes":[],"workdir":null}}"#,
    );
    let keys: Vec<&str> = got.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["pull", "systemd.services"], "{:?}", got.warnings);
    let t = table(&got.toml);
    let web = t["containers"]["web"].as_table().expect("table");
    assert_eq!(web.keys().collect::<Vec<_>>(), ["image"]);
}

#[test]
fn refusals_are_located_and_all_reported() {
    let r = oci_containers(
        Path::new("c.json"),
        "{\n\"a\": {\"image\": \"x\", \"ports\": [\"80:80:80:80\"], \"dependsOn\": [\"ghost\"]},\n\"b\": {\"image\": \"y\", \"extraOptions\": [\"--health-interval=soon\", \"--health-cmd=true\"]},\n\"c\": {\"image\": \"z\", \"pull\": \"sometimes\"}\n}",
    )
    .expect_err("refused");
    let text = r.to_string();
    assert_eq!(r.0.len(), 4, "{text}");
    assert!(text.contains("c.json:2:"), "{text}");
    assert!(
        text.contains("`ghost`, which is not in this JSON"),
        "{text}"
    );
    assert!(text.contains("c.json:3:"), "{text}");
    assert!(text.contains("`sometimes` is not a pull policy"), "{text}");
}

fn warnings(got: &crate::import::Imported) -> Vec<String> {
    got.warnings
        .iter()
        .filter(|w| w.key != "systemd.services")
        .map(ToString::to_string)
        .collect()
}

fn strings(v: &toml::Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .filter_map(toml::Value::as_str)
        .collect()
}

/// Every flag with an inventory field, in podman's spellings (`=` and separate values, short
/// names, comma-separated string slices), lands in its field: no `podman_args`, no warning.
#[test]
fn every_flag_with_a_field_lands_in_it() {
    let got = import(
        r#"{"vpn":{"image":"docker.io/library/alpine:3","hostname":"vpn.lan","workdir":"/srv",
        "privileged":false,"capabilities":{"NET_ADMIN":true,"MKNOD":false},"log-driver":"k8s-file",
        "networks":["media"],
        "extraOptions":["--cap-add=sys_time,CAP_NET_RAW","--cap-drop","ALL",
        "--security-opt","no-new-privileges","--security-opt=label=disable",
        "--security-opt=label=type:spc_t","--security-opt=seccomp=/etc/containers/seccomp.json",
        "--read-only","--read-only-tmpfs=false","--tmpfs","/run:size=64m,mode=1777","--shm-size=1g",
        "--sysctl","net.ipv4.ip_forward=1,kernel.shmmax=1000000","--ulimit","nofile=65535:65535",
        "--ulimit=nproc=4096","--dns=9.9.9.9","--dns-search=home.lan","--dns-option=ndots:2",
        "--add-host=nas.lan:10.0.0.2","--group-add=video,keep-groups","--init","--stop-signal=SIGINT",
        "--userns=auto","--tz=Europe/Berlin","--log-opt=max-size=10m","-m","512m","--cpus=1.5",
        "--pids-limit=100","--network-alias=dl","--mac-address=92:D0:C6:0A:29:33"]},
        "app":{"image":"docker.io/library/alpine:3","dependsOn":["vpn"],
        "extraOptions":["--network=container:vpn"]},
        "edge":{"image":"docker.io/library/alpine:3","extraOptions":["--network=host","-h","edge"]}}"#,
    );
    assert_eq!(warnings(&got), Vec::<String>::new(), "{}", got.toml);
    let t = table(&got.toml);
    let vpn = &t["containers"]["vpn"];
    assert!(vpn.get("podman_args").is_none(), "{}", got.toml);
    assert_eq!(
        strings(&vpn["cap_add"]),
        ["NET_ADMIN", "sys_time", "CAP_NET_RAW"]
    );
    assert_eq!(strings(&vpn["cap_drop"]), ["MKNOD", "ALL"]);
    assert!(vpn.get("privileged").is_none(), "false is the default");
    for (k, v) in [
        ("no_new_privileges", true),
        ("security_label_disable", true),
        ("read_only", true),
        ("read_only_tmpfs", false),
        ("init", true),
    ] {
        assert_eq!(vpn[k].as_bool(), Some(v), "{k}");
    }
    for (k, v) in [
        ("hostname", "vpn.lan"),
        ("working_dir", "/srv"),
        ("log_driver", "k8s-file"),
        ("security_label_type", "spc_t"),
        ("seccomp_profile", "/etc/containers/seccomp.json"),
        ("shm_size", "1g"),
        ("stop_signal", "SIGINT"),
        ("userns", "auto"),
        ("timezone", "Europe/Berlin"),
        ("memory", "512m"),
        ("cpus", "1.5"),
    ] {
        assert_eq!(vpn[k].as_str(), Some(v), "{k}: {}", got.toml);
    }
    assert_eq!(vpn["pids_limit"].as_integer(), Some(100));
    assert_eq!(strings(&vpn["tmpfs"]), ["/run:size=64m,mode=1777"]);
    assert_eq!(vpn["sysctls"]["net.ipv4.ip_forward"].as_str(), Some("1"));
    assert_eq!(vpn["sysctls"]["kernel.shmmax"].as_str(), Some("1000000"));
    assert_eq!(vpn["ulimits"]["nofile"].as_str(), Some("65535:65535"));
    assert_eq!(vpn["ulimits"]["nproc"].as_str(), Some("4096"));
    assert_eq!(vpn["log_options"]["max-size"].as_str(), Some("10m"));
    assert_eq!(strings(&vpn["dns"]), ["9.9.9.9"]);
    assert_eq!(strings(&vpn["dns_search"]), ["home.lan"]);
    assert_eq!(strings(&vpn["dns_options"]), ["ndots:2"]);
    assert_eq!(strings(&vpn["extra_hosts"]), ["nas.lan:10.0.0.2"]);
    assert_eq!(strings(&vpn["group_add"]), ["video", "keep-groups"]);
    let net = &vpn["networks"][0];
    assert_eq!(net["name"].as_str(), Some("media"));
    assert_eq!(strings(&net["aliases"]), ["dl"]);
    assert_eq!(net["mac"].as_str(), Some("92:D0:C6:0A:29:33"));
    let app = &t["containers"]["app"];
    assert_eq!(app["network_mode"].as_str(), Some("container:vpn"));
    assert!(app.get("networks").is_none() && app.get("podman_args").is_none());
    let edge = &t["containers"]["edge"];
    assert_eq!(edge["network_mode"].as_str(), Some("host"));
    assert_eq!(edge["hostname"].as_str(), Some("edge"));
}

/// A value the inventory refuses stays in `podman_args` as one `--flag=value` word, with the
/// inventory's own reason; a security option without a field too.
#[test]
fn a_value_the_inventory_refuses_stays_in_podman_args_with_its_reason() {
    let got = import(
        r#"{"x1":{"image":"docker.io/library/alpine:3","extraOptions":["--cap-add=NET_ADMIN,CAP_BOGUS",
        "--sysctl=kernel.hostname=x","--ulimit=host","--pids-limit=0","--shm-size","lots",
        "--security-opt=apparmor=unconfined","--security-opt=label=level:s0:c1,c2",
        "--stop-signal=SIGNOPE","--init=maybe","--log-driver=json-file"]}}"#,
    );
    let t = table(&got.toml);
    let x = &t["containers"]["x1"];
    assert_eq!(strings(&x["cap_add"]), ["NET_ADMIN"]);
    assert_eq!(x["log_driver"].as_str(), Some("k8s-file"), "podman's alias");
    assert_eq!(
        strings(&x["podman_args"]),
        [
            "--cap-add=CAP_BOGUS",
            "--sysctl=kernel.hostname=x",
            "--ulimit=host",
            "--pids-limit=0",
            "--shm-size=lots",
            "--security-opt=apparmor=unconfined",
            "--security-opt=label=level:s0:c1,c2",
            "--stop-signal=SIGNOPE",
            "--init=maybe",
        ]
    );
    let msgs = warnings(&got).join("\n");
    for want in [
        "`cap_add` does not take it (`CAP_BOGUS` is not a Linux capability",
        "`sysctls` does not take it (podman refuses the sysctl `kernel.hostname`: it is not namespaced",
        "not KEY=VALUE: kept in podman_args",
        "`pids_limit` does not take it (pids_limit 0 is not a limit",
        "`shm_size` does not take it (shm_size `lots` is not a size",
        "no inventory field for this security option",
        "`stop_signal` does not take it (`SIGNOPE` is not a signal",
        "not true or false",
        "`json-file` is podman's alias of `k8s-file`",
    ] {
        assert!(msgs.contains(want), "no `{want}` in\n{msgs}");
    }
}

/// Network modes: a container of the JSON (not itself, not an unknown one), `host`, the modes
/// `podman_args` may not carry, and what podman refuses together with a mode.
#[test]
fn network_modes_and_what_podman_refuses_with_them() {
    let got = import(
        r#"{"app":{"image":"docker.io/library/nginx:1","serviceName":"web-app","ports":["80:80"],
        "extraOptions":["--network=container:vpn"]},
        "vpn":{"image":"docker.io/library/alpine:3","networks":["media"],
        "extraOptions":["--network=host","--sysctl=net.ipv4.ip_forward=1","--sysctl=kernel.shmmax=1000"]},
        "lone":{"image":"docker.io/library/alpine:3","extraOptions":["--network=container:ghost","--network=slirp4netns","--network=none","--dns=9.9.9.9"]},
        "self":{"image":"docker.io/library/alpine:3","extraOptions":["--network=container:self"]}}"#,
    );
    assert!(
        got.toml.contains("# was web-app.service; now app.service"),
        "{}",
        got.toml
    );
    let t = table(&got.toml);
    let c = &t["containers"];
    assert_eq!(c["app"]["network_mode"].as_str(), Some("container:vpn"));
    assert!(c["app"].get("ports").is_none(), "{}", got.toml);
    assert_eq!(c["vpn"]["network_mode"].as_str(), Some("host"));
    assert!(c["vpn"].get("networks").is_none());
    assert!(
        t.get("networks").is_none(),
        "no table for a network no one joins"
    );
    assert_eq!(c["vpn"]["sysctls"]["kernel.shmmax"].as_str(), Some("1000"));
    assert_eq!(
        strings(&c["vpn"]["podman_args"]),
        ["--sysctl=net.ipv4.ip_forward=1"]
    );
    assert_eq!(c["lone"]["network_mode"].as_str(), Some("none"));
    assert_eq!(strings(&c["lone"]["podman_args"]), ["--dns=9.9.9.9"]);
    assert!(c["self"].get("network_mode").is_none());
    let msgs = warnings(&got).join("\n");
    for want in [
        "not carried: the ports 80:80: the container shares `vpn`'s network",
        "not carried: the networks media (podman refuses other networks with `--network=host`",
        "podman refuses the sysctl `net.ipv4.ip_forward` with the host's network",
        "`ghost` is not a container of this JSON",
        "the network mode `slirp4netns` has no inventory field",
        "podman refuses DNS settings without a network",
        "a container cannot share its own network namespace",
    ] {
        assert!(msgs.contains(want), "no `{want}` in\n{msgs}");
    }
}

/// `--ip`, `--network-alias`, … go to the one network's table; with no network, several, or a
/// static address on a network whose subnet the JSON does not say, they stay in `podman_args`.
#[test]
fn network_keys_need_exactly_one_network_of_the_inventory() {
    let got = import(
        r#"{"one":{"image":"docker.io/library/alpine:3","extraOptions":["--ip=10.89.7.5","--network-alias=a1,a2","--network=media"]},
        "two":{"image":"docker.io/library/alpine:3","networks":["media","back"],"extraOptions":["--network-alias=b"]},
        "none":{"image":"docker.io/library/alpine:3","extraOptions":["--mac-address=92:d0:c6:0a:29:33"]}}"#,
    );
    let t = table(&got.toml);
    let c = &t["containers"];
    let one = &c["one"]["networks"][0];
    assert_eq!(one["name"].as_str(), Some("media"));
    assert_eq!(strings(&one["aliases"]), ["a1", "a2"]);
    assert!(one.get("ip").is_none());
    assert_eq!(strings(&c["one"]["podman_args"]), ["--ip=10.89.7.5"]);
    assert_eq!(strings(&c["two"]["podman_args"]), ["--network-alias=b"]);
    assert_eq!(
        strings(&c["none"]["podman_args"]),
        ["--mac-address=92:d0:c6:0a:29:33"]
    );
    let msgs = warnings(&got).join("\n");
    for want in [
        "network `media` sets no subnet",
        "set `subnet` on `[networks.media]`",
        "joins several networks (media, back)",
        "joins podman's default network, which the inventory cannot name",
    ] {
        assert!(msgs.contains(want), "no `{want}` in\n{msgs}");
    }
}

/// `--health-*` without `--health-cmd` tune the image's own check: `podman_args` may not carry
/// them (quadgen's start gate depends on `health`), so they are not carried, with a warning.
#[test]
fn health_settings_without_a_command_are_not_carried() {
    let got = import(
        r#"{"web":{"image":"docker.io/library/nginx:1","extraOptions":["--health-interval=5s"]}}"#,
    );
    let t = table(&got.toml);
    assert!(t["containers"]["web"].get("podman_args").is_none());
    assert!(t["containers"]["web"].get("health").is_none());
    let msgs = warnings(&got).join("\n");
    assert!(
        msgs.contains("not carried: --health-interval=5s without --health-cmd"),
        "{msgs}"
    );
}

/// The import's promise (the CLI checks it, and calls a failure an importer bug): whatever the
/// flags, the output builds. Every flag of the table with values of every shape, alone and
/// with each network mode.
#[test]
fn whatever_the_flags_the_output_builds() {
    let values = [
        "",
        "x",
        "1",
        "0",
        "-1",
        "a=b",
        "a,b",
        "/abs",
        "/run:size=64m",
        "host",
        "none",
        "container:other",
        "container:x1",
        "slirp4netns",
        "media",
        "media:ip=10.0.0.2",
        "nofile=-1",
        "nofile=65535:65535",
        "net.ipv4.ip_forward=1",
        "kernel.shmmax=1",
        "kernel.hostname=x",
        "1g",
        "1.5",
        "true",
        "false",
        "10.89.0.5",
        "fd00::5",
        "92:d0:c6:0a:29:33",
        "label=disable",
        "label=type:spc_t",
        "seccomp=rel.json",
        "no-new-privileges",
        "SIGTERM",
        "Europe/Berlin",
        "nas:10.0.0.2",
        "json-file",
        "a b",
    ];
    let modes = [
        "",
        "--network=host",
        "--network=none",
        "--network=container:other",
    ];
    let mut tried = 0;
    let mut failed = Vec::new();
    for row in flags::ROWS {
        for v in values {
            for mode in modes {
                let mut words = vec![format!("{}={v}", row.names[0])];
                if !mode.is_empty() {
                    words.push(mode.to_string());
                }
                let json = serde_json::json!({
                    "x1": { "image": "docker.io/library/alpine:3", "ports": ["8080:80"],
                            "networks": ["media"], "extraOptions": words },
                    "other": { "image": "docker.io/library/alpine:3" },
                });
                let Ok(got) = oci_containers(Path::new("c.json"), &json.to_string()) else {
                    continue;
                };
                tried += 1;
                if let Err(r) = crate::compile::compile(
                    Path::new("imported.toml"),
                    &got.toml,
                    crate::compile::version::PodmanVersion::DEFAULT,
                ) {
                    let errors: Vec<String> = r
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| d.message.clone())
                        .collect();
                    failed.push(format!("{words:?}: {errors:?}"));
                }
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {tried} do not build:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(tried > 5000, "{tried}");
}
