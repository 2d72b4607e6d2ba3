//! The oci-containers core on plain values: options and flags into fields, what is refused.

use std::path::Path;

use super::container::{Ctr, Origin, field};
use super::fields::Fields;
use super::flags::{self, Field, Target};
use super::{Notes, oci_containers};
use crate::import::yaml::{Loc, Node, Value};

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

#[test]
fn a_custom_service_name_and_a_container_network_are_said() {
    let got = import(
        r#"{"app":{"image":"docker.io/library/nginx:1","serviceName":"web-app","extraOptions":["--network=container:vpn","--ip=10.0.0.5"]}}"#,
    );
    assert!(
        got.toml.contains("# was web-app.service; now app.service"),
        "{}",
        got.toml
    );
    let t = table(&got.toml);
    let args = t["containers"]["app"]["podman_args"]
        .as_array()
        .expect("args");
    assert_eq!(args[0].as_str(), Some("--network=container:vpn"));
    assert_eq!(args[1].as_str(), Some("--ip=10.0.0.5"));
    let msgs: Vec<String> = got.warnings.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter().any(|m| m.contains("its field `network_mode`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("its field `networks[].ip`")),
        "{msgs:?}"
    );
}

/// The ISSUE-7 switch: a row turned from `Later` to `Field` writes the field. Every `Later` row's
/// field goes through the same code here, so switching the table is the one-line change.
#[test]
fn every_later_row_writes_its_field_once_switched() {
    let node = Node::new(Value::Map(Vec::new()), Loc::default());
    for row in flags::ROWS {
        let Target::Later(f) = row.target else {
            continue;
        };
        let mut ctr = Ctr {
            name: "x",
            node: &node,
            fields: Fields::default(),
            volumes: Vec::new(),
            networks: Vec::new(),
        };
        ctr.fields.push("networks", "media".into());
        let value = match f {
            Field::Bool(_) => None,
            Field::Int(_) => Some("100".to_string()),
            Field::Map(_) => Some("nofile=65535:65535".to_string()),
            Field::SecurityOpt => Some("no-new-privileges".to_string()),
            _ => Some("v".to_string()),
        };
        let flag = flags::Flag {
            row: Some(row),
            name: row.names[0].to_string(),
            value,
            words: vec![row.names[0].to_string()],
            at: Origin {
                loc: Loc::default(),
                option: "extraOptions".into(),
            },
        };
        let mut notes = Notes::default();
        field(&mut ctr, &mut notes, &flag.at.clone(), &flag, f);
        let text = ctr.fields.write("x");
        let t = table(&text);
        let x = &t["containers"]["x"];
        let name = match f {
            Field::NetworkKey(k) => {
                assert!(
                    x["networks"][0].get(k).is_some(),
                    "{}: {text}",
                    row.names[0]
                );
                continue;
            }
            Field::SecurityOpt => "no_new_privileges",
            Field::List(n) | Field::Scalar(n) | Field::Bool(n) | Field::Int(n) | Field::Map(n) => n,
            other => panic!("{other:?} is not an issue-7 shape"),
        };
        assert!(
            x.get(name).is_some(),
            "{}: no `{name}` in\n{text}",
            row.names[0]
        );
        assert!(x.get("podman_args").is_none(), "{}: {text}", row.names[0]);
        assert!(notes.warnings.is_empty() && notes.errors.is_empty());
    }
}
