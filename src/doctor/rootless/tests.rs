use super::*;
use crate::compile::version::PodmanVersion;

fn ready() -> RootlessFacts {
    RootlessFacts {
        user: "alice".into(),
        uid: 1000,
        for_user: false,
        linger: true,
        subuid: "alice:100000:65536\n".into(),
        subgid: "alice:100000:65536\n".into(),
        unprivileged_port_start: 1024,
        access: Vec::new(),
    }
}

fn model(inventory: &str) -> Model {
    crate::compile::validate_source(Path::new("inv.toml"), inventory, PodmanVersion::DEFAULT)
        .map(|(model, _)| model)
        .unwrap_or_else(|r| panic!("{}", r.render(false)))
}

const INVENTORY: &str = r#"
[containers.web]
image = "docker.io/library/nginx:latest"
ports = ["80:80", "127.0.0.1:8443:443/tcp", "[::1]:53:53/udp", "9000", "1000-1010:1000-1010"]
volumes = ["/srv/www:/usr/share/nginx/html:ro", "data:/data"]
environment_files = ["/etc/web.env"]

[volumes.data]
"#;

#[test]
fn needs_lists_host_ports_and_host_paths_from_the_model() {
    let n = needs(&model(INVENTORY));
    let ports: Vec<(&str, Option<u16>)> = n
        .ports
        .iter()
        .map(|p| (p.mapping.as_str(), p.host_port))
        .collect();
    assert_eq!(
        ports,
        [
            ("80:80", Some(80)),
            ("127.0.0.1:8443:443/tcp", Some(8443)),
            ("[::1]:53:53/udp", Some(53)),
            ("9000", None),
            ("1000-1010:1000-1010", Some(1000)),
        ]
    );
    let paths: Vec<(&str, &str)> = n.paths.iter().map(|p| (p.path.as_str(), p.what)).collect();
    assert_eq!(
        paths,
        [
            ("/srv/www", "bind mount"),
            ("/etc/web.env", "environment file")
        ]
    );
}

#[test]
fn a_ready_user_has_no_finding() {
    let n = needs(&model(
        "[containers.web]\nimage = \"docker.io/library/nginx:latest\"\nports = [\"8080:80\"]\n",
    ));
    assert_eq!(check(&ready(), &n), []);
}

#[test]
fn linger_off_is_a_warning_for_oneself_and_an_error_for_root_installing_for_a_user() {
    let facts = RootlessFacts {
        linger: false,
        ..ready()
    };
    let f = check(&facts, &Needs::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "rootless-linger");
    assert_eq!(f[0].level, Level::Warning);
    assert_eq!(f[0].what, "user `alice` does not linger");
    assert!(
        f[0].why
            .contains("stops at logout and does not start at boot")
    );
    assert_eq!(
        f[0].fix,
        "sudo loginctl enable-linger alice   # NixOS: users.users.alice.linger = true;"
    );
    let root = RootlessFacts {
        for_user: true,
        ..facts
    };
    assert_eq!(check(&root, &Needs::default())[0].level, Level::Error);
}

#[test]
fn a_missing_subuid_or_subgid_range_is_an_error_with_a_free_range() {
    let facts = RootlessFacts {
        subuid: "bob:100000:65536\ncarol:165536:65536\n".into(),
        subgid: "alice:100000:65536\n".into(),
        ..ready()
    };
    let f = check(&facts, &Needs::default());
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].id, f[0].level, f[0].what.as_str()),
        (
            "rootless-subid",
            Level::Error,
            "user `alice` has no range in /etc/subuid"
        )
    );
    assert_eq!(
        f[0].fix,
        "sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice   # NixOS: users.users.alice.autoSubUidGidRange = true;"
    );
    // by UID counts too; a zero-length range does not
    assert!(has_subid_range("1000:100000:65536", "alice", 1000));
    assert!(!has_subid_range("alice:100000:0", "alice", 1000));
    assert!(!has_subid_range("", "alice", 1000));
    assert_eq!(free_subid_start(""), 100_000);
    let both = check(
        &RootlessFacts {
            subuid: String::new(),
            subgid: String::new(),
            ..ready()
        },
        &Needs::default(),
    );
    assert_eq!(
        both[0].what,
        "user `alice` has no range in /etc/subuid or /etc/subgid"
    );
}

#[test]
fn a_privileged_port_is_an_error_naming_the_sysctl() {
    let n = needs(&model(INVENTORY));
    let f = check(&ready(), &n);
    let ports: Vec<&str> = f
        .iter()
        .filter(|f| f.id == "rootless-port")
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(
        ports,
        [
            "container `web` publishes `80:80`: host port 80 is below net.ipv4.ip_unprivileged_port_start (1024)",
            "container `web` publishes `[::1]:53:53/udp`: host port 53 is below net.ipv4.ip_unprivileged_port_start (1024)",
            "container `web` publishes `1000-1010:1000-1010`: host port 1000 is below net.ipv4.ip_unprivileged_port_start (1024)",
        ]
    );
    let first = f
        .iter()
        .find(|f| f.id == "rootless-port")
        .expect("a port finding");
    assert_eq!(first.level, Level::Error);
    assert!(
        first.fix.starts_with("publish a port at or above 1024 (e.g. `8080:80`), or let users bind from 80: sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80"),
        "{}",
        first.fix
    );
    // a host that lowered the limit accepts them
    let lowered = RootlessFacts {
        unprivileged_port_start: 53,
        ..ready()
    };
    assert!(check(&lowered, &n).iter().all(|f| f.id != "rootless-port"));
}

#[test]
fn an_unreadable_source_is_an_error_and_a_missing_one_a_warning() {
    let n = needs(&model(INVENTORY));
    let facts = RootlessFacts {
        access: vec![
            ("/srv/www".into(), Access::Unreadable),
            ("/etc/web.env".into(), Access::Missing),
        ],
        unprivileged_port_start: 0,
        ..ready()
    };
    let f = check(&facts, &n);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(
        (f[0].level, f[0].what.as_str()),
        (
            Level::Error,
            "bind mount `/srv/www` of container `web` cannot be read by user `alice`"
        )
    );
    assert_eq!(
        f[0].fix,
        "sudo chown -R alice: /srv/www   # or keep the owner and grant access: sudo setfacl -R -m u:alice:rX /srv/www"
    );
    assert_eq!(
        (f[1].level, f[1].what.as_str()),
        (
            Level::Warning,
            "environment file `/etc/web.env` of container `web` does not exist"
        )
    );
}

#[test]
fn access_is_decided_by_the_kernel_for_this_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let me = Account {
        name: "me".into(),
        uid: crate::host::scope::current_uid(),
        gid: 0,
        home: dir.path().to_path_buf(),
    };
    let file = dir.path().join("f");
    std::fs::write(&file, "x").expect("write");
    assert_eq!(access(&me, false, &file), Access::Readable);
    assert_eq!(access(&me, false, dir.path()), Access::Readable);
    assert_eq!(
        access(&me, false, &dir.path().join("nope")),
        Access::Missing
    );
}

#[test]
fn a_pods_ports_and_bind_mounts_are_checked_as_its_own() {
    let n = needs(&model(
        "[pods.shop]\nports = [\"80:8080\"]\nvolumes = [\"/srv/shop:/srv\"]\n\
         [containers.front]\nimage = \"docker.io/library/nginx:latest\"\npod = \"shop\"\n",
    ));
    let facts = RootlessFacts {
        access: vec![("/srv/shop".into(), Access::Unreadable)],
        ..ready()
    };
    let what: Vec<String> = check(&facts, &n).into_iter().map(|f| f.what).collect();
    assert_eq!(
        what,
        [
            "pod `shop` publishes `80:8080`: host port 80 is below net.ipv4.ip_unprivileged_port_start (1024)",
            "bind mount `/srv/shop` of pod `shop` cannot be read by user `alice`",
        ]
    );
}
