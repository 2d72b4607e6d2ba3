//! Data safety as a user meets it, through the binary: a hostile or corrupt manifest, symlinks
//! planted in the unit directory, an empty inventory, `uninstall`, and `--no-systemd`. systemctl
//! and podman are the fakes in tests/support/fake-systemd, first on PATH: they record every
//! call, so "no systemctl call" is checked where it would happen, in the process quadgen runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use quadgen::install::manifest::{MANIFEST_FILE, Manifest};

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

/// A scratch directory: `inventory.toml`, the unit directory `units/`, a `decoy/` tree outside
/// it, and the log of the fake systemctl/podman.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new(inventory: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("inventory.toml"), inventory).expect("inventory");
        let decoy = dir.path().join("decoy");
        std::fs::create_dir_all(decoy.join("sub")).expect("decoy");
        std::fs::write(
            decoy.join("victim.container"),
            "[Container]\nImage=victim\n",
        )
        .expect("w");
        std::fs::write(decoy.join("secret"), "TOP SECRET\n").expect("w");
        std::fs::write(decoy.join("sub/data"), "keep me\n").expect("w");
        std::fs::write(
            dir.path().join("victim.container"),
            "[Container]\nImage=v\n",
        )
        .expect("w");
        Host { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn root(&self) -> PathBuf {
        self.path().join("units")
    }

    fn log(&self) -> PathBuf {
        self.path().join("systemctl.log")
    }

    /// quadgen in the scratch directory, with the fake systemctl and podman first on PATH;
    /// they exit with `systemctl_exit`.
    fn quadgen(&self, systemctl_exit: i32) -> Command {
        let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-systemd");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![fakes];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = Command::cargo_bin("quadgen").expect("binary");
        cmd.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("QUADGEN_FAKE_LOG", self.log())
            .env("QUADGEN_FAKE_EXIT", systemctl_exit.to_string());
        cmd
    }

    /// Runs quadgen with `args` (systemctl succeeding) and returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.quadgen(0).args(args).output().expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The `systemctl show` queries made so far (recorded apart by the fake), and forgets them.
    fn take_queries(&self) -> Vec<String> {
        let log = PathBuf::from(format!("{}.queries", self.log().display()));
        let queries = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let _ = std::fs::remove_file(log);
        queries
    }

    /// The systemctl and podman calls that change something, made so far, and forgets them
    /// (queries: [`Host::take_queries`]).
    fn take_calls(&self) -> Vec<String> {
        let calls = std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let _ = std::fs::remove_file(self.log());
        calls
    }

    /// Every file and link under the scratch directory but the log, with the sha256 of its
    /// content (or its link target).
    fn hashes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir") {
                let p = e.expect("entry").path();
                let rel = p
                    .strip_prefix(self.path())
                    .expect("prefix")
                    .display()
                    .to_string();
                let meta = std::fs::symlink_metadata(&p).expect("meta");
                let value = if meta.file_type().is_symlink() {
                    format!("-> {}", std::fs::read_link(&p).expect("link").display())
                } else if meta.is_dir() {
                    stack.push(p);
                    "dir".to_string()
                } else {
                    quadgen::unit::sha256_hex(&std::fs::read(&p).expect("read"))
                };
                if !rel.starts_with("systemctl.log") {
                    out.insert(rel, value);
                }
            }
        }
        out
    }

    /// Installs the inventory with the fake systemd; returns its calls.
    fn install(&self) -> Vec<String> {
        let (code, _, stderr) = self.run(&["install", "inventory.toml", "--root", "units"]);
        assert_eq!(code, 0, "{stderr}");
        // The settle watch's polls: how many depends on timing.
        self.take_queries();
        self.take_calls()
    }

    fn manifest(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.root().join(MANIFEST_FILE)).expect("manifest");
        serde_json::from_str(&text).expect("json")
    }

    fn set_manifest(&self, v: &serde_json::Value) {
        std::fs::write(self.root().join(MANIFEST_FILE), v.to_string()).expect("write manifest");
    }
}

fn sha(text: &str) -> String {
    quadgen::unit::sha256_hex(text.as_bytes())
}

#[test]
fn a_hostile_manifest_is_invalid_and_nothing_outside_the_root_or_in_systemd_is_touched() {
    let host = Host::new(INVENTORY);
    assert_eq!(
        host.install(),
        vec![
            "systemctl daemon-reload",
            "systemctl start db.service web.service"
        ]
    );
    let good = host.manifest();
    let victim_text = "[Container]\nImage=v\n";
    let decoy_abs = host.path().join("decoy/victim.container");
    let entry = |name: &str, service: &str| {
        serde_json::json!({
            "sha256": sha(victim_text),
            "entry": format!("containers.{name}"),
            "service": service,
            "kind": "container",
            "auto_start": true,
        })
    };
    // (what is planted, the text the error must name)
    let mut cases: Vec<(serde_json::Value, String)> = Vec::new();
    let mut m = good.clone();
    m["files"]["../victim.container"] = entry("victim", "victim.service");
    cases.push((m, "`../victim.container`".into()));
    let mut m = good.clone();
    let abs = decoy_abs.display().to_string();
    m["files"][abs.as_str()] = entry("victim", "victim.service");
    cases.push((m, format!("`{abs}`")));
    let mut m = good.clone();
    m["files"]["web.container"]["service"] = "--kill-whom=all".into();
    cases.push((m, "`--kill-whom=all`".into()));
    let mut m = good.clone();
    m["pending"] =
        serde_json::json!({"reload": true, "restart": ["--kill-whom=all", "web.service"]});
    cases.push((m, "`--kill-whom=all`".into()));
    let mut m = good.clone();
    m["pending"] = serde_json::json!({"reload": true, "network_rm": ["--force"]});
    cases.push((m, "`--force`".into()));

    // An empty inventory too: the hostile entries must not become removals either.
    std::fs::write(host.path().join("empty.toml"), "").expect("write");
    for (manifest, needle) in cases {
        host.set_manifest(&manifest);
        let before = host.hashes();
        for args in [
            &["plan", "inventory.toml", "--root", "units"][..],
            &["install", "inventory.toml", "--root", "units"],
            &["install", "--force", "inventory.toml", "--root", "units"],
            &[
                "install",
                "--allow-removals",
                "empty.toml",
                "--root",
                "units",
            ],
            &["uninstall", "--force", "--root", "units"],
            &["status", "--root", "units"],
        ] {
            let (code, stdout, stderr) = host.run(args);
            assert_eq!(code, 1, "{args:?} {needle}: {stdout}{stderr}");
            assert!(
                stderr.contains("is not a manifest quadgen wrote")
                    && stderr.contains(&needle)
                    && stderr.contains(".quadgen-manifest.json`")
                    && stderr.contains("Move the manifest away"),
                "{args:?} {needle}: {stderr}"
            );
            assert!(
                !stdout.contains("Image=v"),
                "{args:?}: no file outside printed"
            );
            assert_eq!(host.hashes(), before, "{args:?} {needle}: nothing changed");
            assert_eq!(host.take_calls(), Vec::<String>::new(), "{args:?} {needle}");
            assert_eq!(
                host.take_queries(),
                Vec::<String>::new(),
                "{args:?} {needle}"
            );
        }
    }
}

#[test]
fn a_managed_file_replaced_by_a_symlink_out_of_the_root_is_never_followed() {
    let host = Host::new(INVENTORY);
    host.install();
    let root = host.root();
    std::fs::remove_file(root.join("web.container")).expect("rm");
    std::os::unix::fs::symlink(host.path().join("decoy/secret"), root.join("web.container"))
        .expect("symlink");
    // The manifest's hash is the secret's: a symlink must not pass as "ours" and be removed
    // or rewritten through.
    let mut m = host.manifest();
    m["files"]["web.container"]["sha256"] = sha("TOP SECRET\n").into();
    host.set_manifest(&m);
    std::fs::write(host.path().join("empty.toml"), "").expect("write");
    let before = host.hashes();
    for args in [
        &["plan", "inventory.toml", "--root", "units"][..],
        &["install", "inventory.toml", "--root", "units"],
        &["install", "--force", "inventory.toml", "--root", "units"],
        &[
            "install",
            "--allow-removals",
            "empty.toml",
            "--root",
            "units",
        ],
        &["uninstall", "--force", "--root", "units"],
        &["status", "--root", "units"],
    ] {
        let (code, stdout, stderr) = host.run(args);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("web.container`: it is a symlink")
                && stderr.contains("never follows a link"),
            "{args:?}: {stderr}"
        );
        assert!(!stdout.contains("TOP SECRET") && !stderr.contains("TOP SECRET"));
        assert_eq!(host.hashes(), before, "{args:?}: nothing changed");
        assert_eq!(host.take_calls(), Vec::<String>::new(), "{args:?}");
        assert_eq!(host.take_queries(), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn a_corrupt_manifest_is_recovered_with_adopt_without_restarting_anything() {
    let host = Host::new(INVENTORY);
    host.install();
    let root = host.root();
    let good = Manifest::load(&root).expect("load").expect("manifest");
    std::fs::write(root.join(MANIFEST_FILE), "{\"format\": 1, \"fil").expect("corrupt");

    let (code, _, stderr) = host.run(&["install", "inventory.toml", "--root", "units"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is not a quadgen manifest")
            && stderr.contains("move it away, then `quadgen install --adopt`"),
        "{stderr}"
    );
    // Doing what it says.
    std::fs::rename(root.join(MANIFEST_FILE), host.path().join("manifest.bad")).expect("mv");
    let before = host.hashes();
    let (code, stdout, stderr) =
        host.run(&["install", "--force", "inventory.toml", "--root", "units"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "! web.container: not in quadgen's manifest, but exactly what quadgen would write"
        ) && stdout.contains("`--adopt` takes it over"),
        "{stdout}"
    );
    assert!(stderr.contains("taken over with `--adopt`"), "{stderr}");
    assert_eq!(host.hashes(), before);

    let (code, stdout, _) = host.run(&["plan", "--adopt", "inventory.toml", "--root", "units"]);
    assert_eq!(code, 0);
    for line in [
        "= adopt app.network [networks.app]",
        "= adopt db.container [containers.db]",
        "= adopt web.container [containers.web]",
        "systemd: nothing to do",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let (code, _, stderr) = host.run(&["install", "--adopt", "inventory.toml", "--root", "units"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        host.take_calls(),
        Vec::<String>::new(),
        "no reload, no restart"
    );
    let adopted = Manifest::load(&root).expect("load").expect("manifest");
    assert_eq!(
        adopted.files, good.files,
        "the same records as the lost manifest"
    );
    let (_, _, stderr) = host.run(&["install", "inventory.toml", "--root", "units"]);
    assert!(stderr.contains("nothing to do"), "{stderr}");

    // A file that differs is never adopted.
    std::fs::rename(root.join(MANIFEST_FILE), host.path().join("manifest.2")).expect("mv");
    std::fs::write(root.join("web.container"), "[Container]\nImage=mine\n").expect("w");
    let (code, stdout, _) = host.run(&["install", "--adopt", "inventory.toml", "--root", "units"]);
    assert_eq!(code, 3);
    assert!(
        stdout.contains("! web.container: not written by quadgen"),
        "{stdout}"
    );
    assert!(!root.join(MANIFEST_FILE).exists());
}

#[test]
fn an_empty_inventory_does_not_remove_everything_without_allow_removals() {
    let host = Host::new(INVENTORY);
    host.install();
    std::fs::write(host.path().join("empty.toml"), "# truncated\n").expect("write");
    let before = host.hashes();
    for args in [
        &["install", "empty.toml", "--root", "units"][..],
        &["plan", "empty.toml", "--root", "units"],
    ] {
        let (code, stdout, stderr) = host.run(args);
        assert_eq!(code, 3, "{args:?}: {stdout}{stderr}");
        assert!(
            stdout.contains("refused: the inventory removes 3 of the 3 units quadgen manages")
                && stdout.contains("  - web.container")
                && stdout.contains("`--allow-removals`")
                && stdout.contains("`quadgen uninstall`"),
            "{stdout}"
        );
        assert_eq!(host.hashes(), before, "{args:?}");
        assert_eq!(host.take_calls(), Vec::<String>::new());
    }
    let (_, _, stderr) = host.run(&["install", "empty.toml", "--root", "units"]);
    assert!(
        stderr.contains("refusing to remove 3 of the 3 units quadgen manages in `units` (`app.network`, `db.container`, `web.container`); nothing was changed"),
        "{stderr}"
    );
    host.take_calls();
    // Asked for: done, through the same plan and apply.
    let (code, _, stderr) = host.run(&[
        "install",
        "--allow-removals",
        "empty.toml",
        "--root",
        "units",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        host.take_calls(),
        vec![
            "systemctl stop app-network.service db.service web.service",
            "systemctl daemon-reload"
        ]
    );
    // The generations stay: `quadgen rollback` brings the units back (an install of an empty
    // inventory is still an install; `quadgen uninstall` removes them too).
    assert_eq!(
        quadgen::host::fs::list_dir(&host.root()).expect("list"),
        vec![".quadgen-generations", ".quadgen.lock"]
    );
    let (code, _, stderr) = host.run(&["rollback", "--root", "units"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        host.take_calls(),
        vec![
            "systemctl daemon-reload",
            "systemctl start db.service web.service"
        ]
    );
}

#[test]
fn uninstall_removes_what_quadgen_installed_and_nothing_else() {
    let host = Host::new(INVENTORY);
    host.install();
    let root = host.root();
    std::fs::write(root.join("mine.container"), "[Container]\nImage=mine\n").expect("w");
    std::fs::write(root.join("notes.txt"), "mine\n").expect("w");

    let before = host.hashes();
    let (code, stdout, _) = host.run(&["uninstall", "--dry-run", "--root", "units"]);
    assert_eq!(code, 0);
    for line in [
        "- remove web.container [containers.web]",
        "stop     web.service (`containers.web` left the inventory)",
        "systemctl stop app-network.service db.service web.service",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert_eq!(host.hashes(), before, "dry run");
    assert_eq!(host.take_calls(), Vec::<String>::new());

    // A hand edit is refused, then removed with --force, the edit kept.
    let edited = std::fs::read_to_string(root.join("db.container"))
        .expect("read")
        .replace("postgres:16", "postgres:mine");
    std::fs::write(root.join("db.container"), &edited).expect("edit");
    let (code, stdout, stderr) = host.run(&["uninstall", "--root", "units"]);
    assert_eq!(code, 3);
    assert!(
        stdout.contains("! db.container: edited by hand"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error: refusing to uninstall: `db.container` in `units` is not as quadgen wrote it; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(host.hashes()["units/db.container"], sha(&edited));
    assert_eq!(host.take_calls(), Vec::<String>::new());

    let (code, _, stderr) = host.run(&["uninstall", "--force", "--root", "units"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("uninstalled from `units`: 0 written, 3 removed"),
        "{stderr}"
    );
    assert_eq!(
        host.take_calls(),
        vec![
            "systemctl stop app-network.service db.service web.service",
            "systemctl daemon-reload"
        ]
    );
    let left = quadgen::host::fs::list_dir(&root).expect("list");
    assert_eq!(left.len(), 4, "{left:?}");
    assert_eq!(&left[..1], [".quadgen.lock"]);
    assert!(
        left[1].starts_with("db.container.quadgen-edit-"),
        "{left:?}"
    );
    assert_eq!(&left[2..], ["mine.container", "notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(root.join(&left[1])).expect("backup"),
        edited
    );
    let (code, _, stderr) = host.run(&["uninstall", "--root", "units"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("nothing to do"), "{stderr}");
    assert_eq!(host.take_calls(), Vec::<String>::new());
}

#[test]
fn no_systemd_writes_the_root_without_any_systemctl_call_and_the_next_install_catches_up() {
    let host = Host::new(INVENTORY);
    let root = host.root();
    // systemctl fails if it is called at all.
    let run_offline = |args: &[&str]| {
        let out = host.quadgen(1).args(args).output().expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run_offline(&[
        "install",
        "--no-systemd",
        "inventory.toml",
        "--root",
        "units",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("note: --no-systemd: no systemctl or podman call is made"));
    assert!(
        stderr.contains("systemd not touched (--no-systemd)"),
        "{stderr}"
    );
    assert_eq!(host.take_calls(), Vec::<String>::new());
    assert!(root.join("web.container").is_file());
    let m = Manifest::load(&root).expect("load").expect("manifest");
    let owed = m.pending.expect("the manifest records nothing was started");
    assert!(owed.reload);
    assert_eq!(owed.start, vec!["db.service", "web.service"]);

    // A change, still offline: written, and the restart is owed too.
    std::fs::write(
        host.path().join("inventory.toml"),
        INVENTORY.replace("postgres:16", "postgres:17"),
    )
    .expect("write");
    let (code, _, stderr) = run_offline(&[
        "install",
        "--no-systemd",
        "inventory.toml",
        "--root",
        "units",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = run_offline(&["status", "--no-systemd", "--root", "units"]);
    assert_eq!(code, 0);
    assert_eq!(host.take_calls(), Vec::<String>::new());
    let m = Manifest::load(&root).expect("load").expect("manifest");
    assert_eq!(
        m.pending.as_ref().map(|p| p.restart.clone()),
        Some(vec!["db.service".to_string()])
    );

    // The first install with systemd does what is owed, then nothing is.
    let calls = host.install();
    assert_eq!(
        calls,
        vec![
            "systemctl daemon-reload",
            "systemctl restart db.service",
            "systemctl start web.service"
        ]
    );
    assert!(
        Manifest::load(&root)
            .expect("load")
            .expect("manifest")
            .pending
            .is_none()
    );
    let (_, _, stderr) = host.run(&["install", "inventory.toml", "--root", "units"]);
    assert!(stderr.contains("nothing to do"), "{stderr}");
}

#[test]
fn help_says_root_still_drives_this_hosts_systemd() {
    let (_, help, _) = Host::new("").run(&["install", "--help"]);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Install still drives THIS host's systemd") && flat.contains("--no-systemd"),
        "{help}"
    );
}

#[test]
fn symlinks_at_the_lock_and_manifest_names_are_refused_and_their_targets_untouched() {
    let host = Host::new(INVENTORY);
    host.install();
    let root = host.root();
    let secret = host.path().join("decoy/secret");
    for name in [".quadgen.lock", MANIFEST_FILE] {
        let saved = host.path().join("saved");
        std::fs::rename(root.join(name), &saved).expect("mv");
        std::os::unix::fs::symlink(&secret, root.join(name)).expect("symlink");
        let before = host.hashes();
        let (code, stdout, stderr) = host.run(&["install", "inventory.toml", "--root", "units"]);
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert!(stderr.contains(&format!("{name}`")), "{name}: {stderr}");
        assert!(stderr.contains("symlink"), "{name}: {stderr}");
        assert!(!stdout.contains("TOP SECRET") && !stderr.contains("TOP SECRET"));
        assert_eq!(host.hashes(), before, "{name}");
        assert_eq!(host.take_calls(), Vec::<String>::new(), "{name}");
        std::fs::remove_file(root.join(name)).expect("rm link");
        std::fs::rename(&saved, root.join(name)).expect("mv back");
    }
}
