//! `quadgen plan`, `install --dry-run`, `install` refusals and `status` as a user runs them. The
//! installed state is set up through the library with a recording systemd; the binary itself
//! only runs paths that do not need systemd (plans, refusals, no-op installs, status).

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use quadgen::compile::version::PodmanVersion;
use quadgen::host::systemd::{NetworkRmError, SecretOwner, Systemd, SystemdError, UnitState};
use quadgen::install::manifest::{MANIFEST_FILE, Manifest};
use quadgen::install::plan::PlanOptions;

#[path = "support/recording.rs"]
mod recording;
use recording::Recording;

const INVENTORY: &str = r#"
[networks.app]

[containers.db]
image = "docker.io/library/postgres:16"
networks = ["app"]

[containers.web]
image = "docker.io/library/nginx:1"
networks = ["app"]
depends_on = ["db"]
"#;

fn quadgen() -> Command {
    let mut cmd = Command::cargo_bin("quadgen").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A temporary directory with `inventory.toml` and an empty `units/` root path (not created).
fn setup(inventory: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("inventory.toml"), inventory).expect("write inventory");
    dir
}

/// Installs `inventory.toml` into `units/` through the library, as `quadgen install` would.
fn installed(inventory: &str) -> tempfile::TempDir {
    let dir = setup(inventory);
    let root = dir.path().join("units");
    std::fs::create_dir(&root).expect("mkdir");
    let inv = dir.path().join("inventory.toml");
    let compiled = quadgen::compile::compile(&inv, inventory, PodmanVersion::DEFAULT)
        .unwrap_or_else(|r| panic!("{}", r.render(false)));
    let outcome = quadgen::install::run(
        &root,
        quadgen::install::Wanted::new(&compiled.files, &compiled.secrets),
        &inv.display().to_string(),
        PlanOptions::default(),
        &mut Recording::default(),
        0,
        |_| {},
    )
    .expect("install");
    assert!(matches!(outcome, quadgen::install::Outcome::Applied { .. }));
    dir
}

fn names(root: &Path) -> Vec<String> {
    quadgen::host::fs::list_dir(root).expect("list")
}

#[test]
fn plan_on_an_empty_root_lists_everything_and_writes_nothing() {
    let dir = setup(INVENTORY);
    let root = dir.path().join("units");
    quadgen()
        .current_dir(dir.path())
        .args(["plan", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "+ add db.container [containers.db]",
        ))
        .stdout(predicate::str::contains("start    db.service (new)"))
        .stdout(predicate::str::contains(
            "stay     app-network.service (new; starts with the containers that require it)",
        ))
        .stdout(predicate::str::contains("systemctl daemon-reload"))
        .stdout(predicate::str::contains(
            "systemctl start db.service web.service",
        ));
    assert!(!root.exists());
}

#[test]
fn plan_json_is_stable_and_machine_readable() {
    let dir = setup(INVENTORY);
    let run = || {
        let out = quadgen()
            .current_dir(dir.path())
            .args(["plan", "inventory.toml", "--root", "units", "--json"])
            .output()
            .expect("run");
        assert!(out.status.success());
        out.stdout
    };
    let first = run();
    assert_eq!(first, run());
    let v: serde_json::Value = serde_json::from_slice(&first).expect("json");
    let files: Vec<(&str, &str)> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default(),
                f["op"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("app.network", "add"),
            ("db.container", "add"),
            ("web.container", "add")
        ]
    );
    assert_eq!(v["steps"]["reload"], true);
    assert_eq!(v["noop"], false);
    assert_eq!(v["units"][1]["service"], "db.service");
    assert_eq!(v["units"][1]["action"], "start");
}

#[test]
fn install_dry_run_touches_nothing() {
    let dir = installed(INVENTORY);
    let root = dir.path().join("units");
    let before = std::fs::read(root.join(MANIFEST_FILE)).expect("manifest");
    std::fs::write(
        dir.path().join("inventory.toml"),
        INVENTORY.replace("nginx:1", "nginx:2"),
    )
    .expect("write");
    quadgen()
        .current_dir(dir.path())
        .args(["install", "--dry-run", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stdout(predicate::str::contains("~ change web.container"))
        .stdout(predicate::str::contains("-Image=docker.io/library/nginx:1"))
        .stdout(predicate::str::contains("+Image=docker.io/library/nginx:2"))
        .stdout(predicate::str::contains(
            "restart  web.service (unit file changed)",
        ))
        .stdout(predicate::str::contains("systemctl restart web.service"));
    assert_eq!(
        std::fs::read(root.join(MANIFEST_FILE)).expect("manifest"),
        before
    );
    assert!(
        std::fs::read_to_string(root.join("web.container"))
            .expect("read")
            .contains("nginx:1")
    );
}

#[test]
fn install_with_nothing_changed_does_nothing() {
    let dir = installed(INVENTORY);
    let root = dir.path().join("units");
    let mtime = |n: &str| {
        std::fs::metadata(root.join(n))
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let before = (mtime(MANIFEST_FILE), mtime("db.container"));
    quadgen()
        .current_dir(dir.path())
        .args(["install", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "nothing to do: `units` is up to date",
        ));
    assert_eq!((mtime(MANIFEST_FILE), mtime("db.container")), before);
    quadgen()
        .current_dir(dir.path())
        .args(["plan", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stdout(predicate::str::contains("files: no changes"))
        .stdout(predicate::str::contains("systemd: nothing to do"));
}

#[test]
fn hand_edit_is_refused_with_its_diff_and_exit_3() {
    let dir = installed(INVENTORY);
    let root = dir.path().join("units");
    let path = root.join("web.container");
    let edited = std::fs::read_to_string(&path)
        .expect("read")
        .replace("nginx:1", "nginx:mine");
    std::fs::write(&path, &edited).expect("edit");
    let manifest = std::fs::read(root.join(MANIFEST_FILE)).expect("manifest");

    quadgen()
        .current_dir(dir.path())
        .args(["plan", "inventory.toml", "--root", "units"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("! web.container: edited by hand"))
        .stdout(predicate::str::contains(
            "-Image=docker.io/library/nginx:mine",
        ))
        .stdout(predicate::str::contains("+Image=docker.io/library/nginx:1"));
    quadgen()
        .current_dir(dir.path())
        .args(["install", "inventory.toml", "--root", "units"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: refusing to install: `web.container` in `units` is not as quadgen wrote it; nothing was changed",
        ));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), edited);
    assert_eq!(
        std::fs::read(root.join(MANIFEST_FILE)).expect("manifest"),
        manifest
    );
    // --force would take ours and keep the edit: the plan says so.
    quadgen()
        .current_dir(dir.path())
        .args(["plan", "--force", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "~ change web.container [containers.web] (hand edit kept as a backup)",
        ));
}

#[test]
fn foreign_file_in_the_way_is_refused_even_with_force() {
    let dir = setup(INVENTORY);
    let root = dir.path().join("units");
    std::fs::create_dir(&root).expect("mkdir");
    std::fs::write(root.join("db.container"), "[Container]\nImage=mine\n").expect("write");
    quadgen()
        .current_dir(dir.path())
        .args(["install", "--force", "inventory.toml", "--root", "units"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "! db.container: not written by quadgen",
        ))
        .stderr(predicate::str::contains("`db.container`"));
    // Nothing written: no manifest, no other unit; only the lock file appeared.
    assert_eq!(names(&root), vec![".quadgen.lock", "db.container"]);
}

#[test]
fn bad_inventory_writes_nothing_and_exits_1() {
    let dir = setup("[containers.x]\nimage = \"nginx\"\nbogus = 1\n");
    quadgen()
        .current_dir(dir.path())
        .args(["install", "inventory.toml", "--root", "units"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing was written"));
    assert!(!dir.path().join("units").exists());
}

#[test]
fn unusable_root_is_an_error_naming_it() {
    let dir = setup(INVENTORY);
    std::fs::write(dir.path().join("file"), "").expect("write");
    quadgen()
        .current_dir(dir.path())
        .args(["install", "inventory.toml", "--root", "file/units"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`file/units`"));
}

#[test]
fn status_lists_edited_missing_unmanaged_and_images() {
    let dir = installed(INVENTORY);
    let root = dir.path().join("units");
    std::fs::write(root.join("web.container"), "[Container]\nImage=edited\n").expect("edit");
    std::fs::remove_file(root.join("app.network")).expect("rm");
    std::fs::write(root.join("mine.container"), "[Container]\nImage=x\n").expect("write");

    let out = quadgen()
        .current_dir(dir.path())
        .args(["status", "--root", "units", "--json"])
        .output()
        .expect("run");
    // Not as installed (a hand edit, a missing file): exit 5, for monitoring.
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "not as installed: app.network: missing; web.container: edited by hand\n"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let states: Vec<(&str, &str)> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default(),
                f["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("app.network", "missing"),
            ("db.container", "ok"),
            ("web.container", "edited"),
        ]
    );
    assert_eq!(v["unmanaged"], serde_json::json!(["mine.container"]));
    assert_eq!(v["units"][0]["service"], "app-network.service");
    assert_eq!(v["units"][1]["image"], "docker.io/library/postgres:16");
    assert_eq!(v["units"][1]["auto_update"], "registry");
    let inventory = dir.path().join("inventory.toml");
    assert_eq!(v["inventory"], inventory.display().to_string());

    quadgen()
        .current_dir(dir.path())
        .args(["status", "--root", "units"])
        .assert()
        .code(5)
        .stdout(predicate::str::contains("web.container: edited by hand"))
        .stdout(predicate::str::contains(
            "app.network: missing (install restores it)",
        ))
        .stdout(predicate::str::contains(
            "unmanaged (not quadgen's, left alone): mine.container",
        ));

    // With the inventory, a change shows as outdated.
    std::fs::write(&inventory, INVENTORY.replace("postgres:16", "postgres:17")).expect("write");
    quadgen()
        .current_dir(dir.path())
        .args(["status", "inventory.toml", "--root", "units"])
        .assert()
        .code(5)
        .stdout(predicate::str::contains(
            "db.container: outdated (install changes it)",
        ));
    // As installed, with an inventory that moved on: an outdated file alone exits 0.
    let dir = installed(INVENTORY);
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, INVENTORY.replace("postgres:16", "postgres:17")).expect("write");
    quadgen()
        .current_dir(dir.path())
        .args(["status", "inventory.toml", "--root", "units"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "db.container: outdated (install changes it)",
        ));
}

#[test]
fn manifest_records_files_entries_services_and_inventory() {
    let dir = installed(INVENTORY);
    let m = Manifest::load(&dir.path().join("units"))
        .expect("load")
        .expect("manifest");
    let rec = &m.files["web.container"];
    assert_eq!(rec.entry, "containers.web");
    assert_eq!(rec.service, "web.service");
    assert_eq!(m.quadgen_version, env!("CARGO_PKG_VERSION"));
    let text = std::fs::read_to_string(dir.path().join("units/web.container")).expect("read");
    assert_eq!(rec.sha256, quadgen::unit::sha256_hex(text.as_bytes()));
}
