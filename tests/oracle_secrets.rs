//! `secrets` as the real quadlet generators (Podman 5.4.2 and the newest) read them: every form
//! converts with no warning, and `podman run` receives exactly the `--secret` the inventory means.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;

use oracle::{option_values, oracles, podman_argv};
use quadgen::compile::version::PodmanVersion;

const INVENTORY: &str = r#"
[secrets.db_password]
file = "/run/secrets/db_password"

[secrets.api]
file = "/run/agenix/api"

[secrets.cert]
file = "/var/lib/sops-nix/cert.pem"

[defaults]
secrets = ["db_password"]

[containers.web-app]
image = "docker.io/library/nginx:latest"
auto_update = "none"
secrets = [
  "db_password",
  { name = "api", target = "API_TOKEN", type = "env" },
  { name = "cert", type = "mount", target = "/etc/app/cert.pem", uid = 101, gid = 101, mode = "0400" },
  { name = "cert", target = "cert-copy" },
]

[containers.worker]
image = "docker.io/library/nginx:latest"
auto_update = "none"

[containers.plain]
image = "docker.io/library/nginx:latest"
auto_update = "none"
secrets = []
"#;

#[test]
fn secrets_become_exactly_the_secret_options_podman_receives() {
    let compiled = quadgen::compile::compile(
        Path::new("inventory.toml"),
        INVENTORY,
        PodmanVersion::DEFAULT,
    )
    .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    let dir = tempfile::tempdir().expect("tempdir");
    for f in &compiled.files {
        std::fs::write(dir.path().join(&f.file_name), &f.text).expect("write unit");
        for value in ["/run/secrets/db_password", "/run/agenix/api"] {
            assert!(!f.text.contains(value), "no secret file path in a unit");
        }
    }
    for o in oracles() {
        let run = o.dryrun(dir.path());
        run.assert_clean(&o);
        let argv = podman_argv(run.service("web-app.service"));
        assert_eq!(
            option_values(&argv, "--secret"),
            [
                "db_password",
                "api,type=env,target=API_TOKEN",
                "cert,type=mount,target=/etc/app/cert.pem,uid=101,gid=101,mode=0400",
                "cert,type=mount,target=cert-copy",
            ],
            "quadlet {}: {argv:?}",
            o.version
        );
        // `[defaults]` gives `worker` the default list; `plain` sets its own, empty one.
        let worker = podman_argv(run.service("worker.service"));
        assert_eq!(option_values(&worker, "--secret"), ["db_password"]);
        let plain = podman_argv(run.service("plain.service"));
        assert!(option_values(&plain, "--secret").is_empty(), "{plain:?}");
    }
    let names: Vec<(&str, Vec<&str>)> = compiled
        .secrets
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.consumers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("api", vec!["web-app.service"]),
            ("cert", vec!["web-app.service"]),
            ("db_password", vec!["web-app.service", "worker.service"]),
        ]
    );
}
