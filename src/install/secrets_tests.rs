//! The install sequence with secrets, through the recording systemd, on compiled inventories:
//! the podman calls and their order, what the manifest keeps, `--no-systemd`, a missing file.

use std::path::Path;

use crate::compile::version::PodmanVersion;
use crate::host::secrets::SecretOwner;
use crate::host::systemd::recording::Recording;
use crate::host::systemd::{Offline, Systemd};
use crate::install::manifest::{MANIFEST_FILE, Manifest};
use crate::install::plan::PlanOptions;
use crate::install::{InstallError, Outcome, Wanted, run};

/// `a` gets secret `db` as a file, `b` as `DB`, `c` nothing; the secret file is `secret`.
fn inventory(dir: &Path, c_tag: &str) -> String {
    format!(
        r#"
[secrets.db]
file = "{}/secret"
[containers.a]
image = "docker.io/library/busybox:1"
secrets = ["db"]
[containers.b]
image = "docker.io/library/busybox:1"
secrets = [{{ name = "db", type = "env", target = "DB" }}]
[containers.c]
image = "docker.io/library/busybox:1"
environment = {{ TAG = "{c_tag}" }}
"#,
        dir.display()
    )
}

fn install(root: &Path, src: &str, systemd: &mut impl Systemd) -> Result<Outcome, InstallError> {
    let compiled = crate::compile::compile(Path::new("inv.toml"), src, PodmanVersion::DEFAULT)
        .unwrap_or_else(|r| panic!("inventory rejected:\n{}", r.render(false)));
    run(
        root,
        Wanted::new(&compiled.files, &compiled.secrets),
        "/inv.toml",
        PlanOptions::default(),
        systemd,
        0,
        |_| {},
    )
}

fn manifest(root: &Path) -> Manifest {
    Manifest::load(root).expect("load").expect("a manifest")
}

#[test]
fn secret_is_given_before_the_starts_and_a_rotation_restarts_its_consumers() {
    let root = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("secret"), "pw-1").expect("write");
    let src = inventory(files.path(), "1");
    let mut sd = Recording::default();
    install(root.path(), &src, &mut sd).expect("install");
    assert_eq!(
        sd.calls,
        [
            "podman secret create db",
            "daemon-reload",
            "start a.service b.service c.service"
        ]
    );
    assert_eq!(sd.podman_secrets["db"].1, b"pw-1");
    let text = std::fs::read_to_string(root.path().join(MANIFEST_FILE)).expect("manifest");
    assert!(
        !text.contains("pw-1") && text.contains("hmac_sha256"),
        "{text}"
    );

    sd.calls.clear();
    std::fs::write(files.path().join("secret"), "pw-2").expect("write");
    install(root.path(), &src, &mut sd).expect("install");
    assert_eq!(
        sd.calls,
        ["podman secret create db", "restart a.service b.service"]
    );
    assert_eq!(sd.podman_secrets["db"].1, b"pw-2");

    sd.calls.clear();
    let outcome = install(root.path(), &src, &mut sd).expect("install");
    assert!(matches!(outcome, Outcome::UpToDate(_)), "{outcome:?}");
    assert!(sd.calls.is_empty(), "{:?}", sd.calls);
}

#[test]
fn a_missing_secret_file_changes_nothing_and_names_the_file_and_containers() {
    let root = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("secret"), "pw-1").expect("write");
    let mut sd = Recording::default();
    install(root.path(), &inventory(files.path(), "1"), &mut sd).expect("install");
    let before = std::fs::read(root.path().join(MANIFEST_FILE)).expect("manifest");
    std::fs::remove_file(files.path().join("secret")).expect("rm");
    sd.calls.clear();
    let err = install(root.path(), &inventory(files.path(), "2"), &mut sd).expect_err("missing");
    let text = err.to_string();
    let file = format!("`{}/secret`", files.path().display());
    assert!(text.contains(&file), "{text}");
    assert!(text.contains("containers `a`, `b`"), "{text}");
    assert!(sd.calls.is_empty(), "{:?}", sd.calls);
    assert_eq!(
        std::fs::read(root.path().join(MANIFEST_FILE)).expect("manifest"),
        before
    );
    assert!(
        std::fs::read_to_string(root.path().join("c.container"))
            .expect("c")
            .contains("TAG=1"),
        "c's change waits"
    );
}

#[test]
fn someone_elses_secret_is_never_replaced() {
    let root = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("secret"), "pw-1").expect("write");
    let mut sd = Recording::default();
    sd.podman_secrets
        .insert("db".into(), (SecretOwner::Foreign, b"theirs".to_vec()));
    let outcome = install(root.path(), &inventory(files.path(), "1"), &mut sd).expect("plan");
    assert!(matches!(outcome, Outcome::Refused(_)), "{outcome:?}");
    assert!(sd.calls.is_empty(), "{:?}", sd.calls);
    assert_eq!(sd.podman_secrets["db"].1, b"theirs");
    assert!(!root.path().join(MANIFEST_FILE).exists());
}

#[test]
fn no_systemd_owes_the_secret_and_the_next_install_gives_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("secret"), "pw-1").expect("write");
    let src = inventory(files.path(), "1");
    install(root.path(), &src, &mut Offline).expect("offline install");
    let owed = manifest(root.path()).pending.expect("owed work");
    assert_eq!(owed.secret_sync, ["db"]);
    // A rotation while offline: still owed, and now its consumers owe a restart too.
    std::fs::write(files.path().join("secret"), "pw-2").expect("write");
    install(root.path(), &src, &mut Offline).expect("offline install");
    let owed = manifest(root.path()).pending.expect("owed work");
    assert_eq!(owed.secret_sync, ["db"]);

    let mut sd = Recording::default();
    install(root.path(), &src, &mut sd).expect("install");
    assert_eq!(sd.calls[0], "podman secret create db");
    assert_eq!(sd.podman_secrets["db"].1, b"pw-2");
    assert!(manifest(root.path()).pending.is_none());
}

#[test]
fn a_secret_no_container_uses_is_removed_after_the_restarts() {
    let root = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("secret"), "pw-1").expect("write");
    let mut sd = Recording::default();
    install(root.path(), &inventory(files.path(), "1"), &mut sd).expect("install");
    sd.calls.clear();
    let without = "[containers.a]\nimage = \"docker.io/library/busybox:1\"\n[containers.b]\nimage = \"docker.io/library/busybox:1\"\n[containers.c]\nimage = \"docker.io/library/busybox:1\"\nenvironment = { TAG = \"1\" }\n";
    install(root.path(), without, &mut sd).expect("install");
    assert_eq!(
        sd.calls,
        [
            "daemon-reload",
            "restart a.service b.service",
            "podman secret rm db"
        ]
    );
    assert!(manifest(root.path()).secrets.is_empty());
}
