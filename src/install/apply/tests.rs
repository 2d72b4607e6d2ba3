//! apply through a recording systemd, on real compiled inventories in a temporary directory:
//! exact call sequences, files written, mtimes of unchanged files, the manifest.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;
use crate::compile::render::RenderedFile;
use crate::compile::version::PodmanVersion;
use crate::host::systemd::recording::Recording;
use crate::install::manifest::Manifest;
use crate::install::plan::{self, PlanOptions};

const INVENTORY: &str = r#"
[networks.app]
[volumes.data]

[containers.db]
image = "docker.io/library/postgres:16"
networks = ["app"]
volumes = ["data:/var/lib/postgresql/data"]

[containers.web]
image = "docker.io/library/nginx:1"
networks = ["app"]
depends_on = ["db"]

[containers.job]
image = "docker.io/library/busybox:1"
auto_start = false
"#;

fn compile(src: &str) -> Vec<RenderedFile> {
    match crate::compile::compile(Path::new("inv.toml"), src, PodmanVersion::DEFAULT) {
        Ok(c) => c.files,
        Err(r) => panic!("inventory rejected:\n{}", r.render(false)),
    }
}

/// Plans like `quadgen install` would: the manifest on disk, the files it and the inventory name.
fn plan_install(root: &Path, src: &str, force: bool) -> (plan::Plan, Option<Manifest>) {
    let desired = compile(src);
    let options = PlanOptions {
        force,
        ..PlanOptions::default()
    };
    let wanted = crate::install::Wanted::files(&desired);
    let (found, p, _, _) = crate::install::load_and_plan(
        root,
        wanted,
        "/inv.toml",
        options,
        &mut crate::host::systemd::Offline,
    )
    .expect("load");
    let manifest = found.manifest;
    (p, manifest)
}

/// Plans and applies like `quadgen install`, returning the plan, the report and the calls.
fn install(
    root: &Path,
    src: &str,
    force: bool,
    failing: &[&str],
) -> (plan::Plan, Result<Report, ApplyError>, Vec<String>) {
    let (p, manifest) = plan_install(root, src, force);
    let mut systemd = Recording {
        failing: failing.iter().map(|s| s.to_string()).collect(),
        ..Recording::default()
    };
    let report = if p.conflicts.is_empty() {
        apply(&p, root, manifest.as_ref(), &mut systemd, 1_700_000_000)
    } else {
        Ok(Report::default())
    };
    (p, report, systemd.calls)
}

/// A temporary unit directory with `INVENTORY` installed.
fn installed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    install(dir.path(), INVENTORY, false, &[])
        .1
        .expect("install");
    dir
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

/// Sets every file's mtime into the past, so a rewrite would show.
fn age(root: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    for name in crate::host::fs::list_dir(root).expect("list") {
        let f = std::fs::File::options()
            .write(true)
            .open(root.join(&name))
            .expect("open");
        f.set_modified(old).expect("set mtime");
    }
}

fn listing(root: &Path) -> Vec<String> {
    crate::host::fs::list_dir(root).expect("list")
}

#[test]
fn fresh_install_then_noop_then_one_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();

    let (_, report, calls) = install(root, INVENTORY, false, &[]);
    let report = report.expect("install");
    assert_eq!(
        report.written,
        vec![
            "app.network",
            "data.volume",
            "db.container",
            "job.container",
            "web.container"
        ]
    );
    assert_eq!(calls, vec!["daemon-reload", "start db.service web.service"]);
    assert_eq!(
        listing(root),
        vec![
            ".quadgen-manifest.json",
            "app.network",
            "data.volume",
            "db.container",
            "job.container",
            "web.container"
        ]
    );
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert_eq!(m.files.len(), 5);
    assert!(m.pending.is_none());
    assert_eq!(m.files["db.container"].service, "db.service");
    assert_eq!(m.files["db.container"].entry, "containers.db");
    assert_eq!(m.inventory, "/inv.toml");

    // Nothing changed: no write (not even the manifest), no systemd call.
    age(root);
    let before: Vec<SystemTime> = listing(root).iter().map(|n| mtime(&root.join(n))).collect();
    let (p, report, calls) = install(root, INVENTORY, false, &[]);
    assert!(p.is_noop());
    assert_eq!(report.expect("noop"), Report::default());
    assert!(calls.is_empty(), "{calls:?}");
    let after: Vec<SystemTime> = listing(root).iter().map(|n| mtime(&root.join(n))).collect();
    assert_eq!(before, after);

    // db changes: only db.container is written; one reload; db alone restarted (web, which
    // Requires= db, is restarted by systemd itself).
    let changed = INVENTORY.replace("postgres:16", "postgres:17");
    let web_mtime = mtime(&root.join("web.container"));
    let (_, report, calls) = install(root, &changed, false, &[]);
    let report = report.expect("install");
    assert_eq!(report.written, vec!["db.container"]);
    assert_eq!(calls, vec!["daemon-reload", "restart db.service"]);
    assert_eq!(mtime(&root.join("web.container")), web_mtime);
    let text = std::fs::read_to_string(root.join("db.container")).expect("read");
    assert!(text.contains("postgres:17"));
}

#[test]
fn removed_units_are_stopped_before_their_file_goes() {
    let dir = installed();
    let root = dir.path();
    let without_job = INVENTORY.replace(
        "[containers.job]\nimage = \"docker.io/library/busybox:1\"\nauto_start = false\n",
        "",
    );
    let (p, report, calls) = install(root, &without_job, false, &[]);
    assert_eq!(report.expect("install").removed, vec!["job.container"]);
    assert_eq!(calls, vec!["stop job.service", "daemon-reload"]);
    assert!(!root.join("job.container").exists());
    assert!(p.to_text(false).contains("stop     job.service"));
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert!(!m.files.contains_key("job.container"));
}

#[test]
fn changed_network_stops_removes_and_restarts() {
    let dir = installed();
    let root = dir.path();
    let changed = INVENTORY.replace("[networks.app]", "[networks.app]\ninternal = true");
    let (_, report, calls) = install(root, &changed, false, &[]);
    assert_eq!(report.expect("install").written, vec!["app.network"]);
    assert_eq!(
        calls,
        vec![
            "stop app-network.service db.service web.service",
            "podman network rm app",
            "daemon-reload",
            "restart db.service web.service",
            "start app-network.service",
        ]
    );
}

#[test]
fn hand_edit_is_refused_then_forced_with_a_backup() {
    let dir = installed();
    let root = dir.path();
    let path = root.join("web.container");
    let edited = std::fs::read_to_string(&path)
        .expect("read")
        .replace("nginx:1", "nginx:mine");
    std::fs::write(&path, &edited).expect("edit");
    let changed = INVENTORY.replace("postgres:16", "postgres:17");

    // Refused: nothing written at all, not even the unrelated db change.
    let manifest_before = std::fs::read(root.join(MANIFEST_FILE)).expect("manifest");
    let (p, _, calls) = install(root, &changed, false, &[]);
    assert_eq!(p.conflicts.len(), 1);
    assert!(calls.is_empty());
    assert_eq!(std::fs::read_to_string(&path).expect("read"), edited);
    assert!(
        !std::fs::read_to_string(root.join("db.container"))
            .expect("read")
            .contains("postgres:17")
    );
    assert_eq!(
        std::fs::read(root.join(MANIFEST_FILE)).expect("manifest"),
        manifest_before
    );

    // Forced: ours, the edit kept beside it under a name quadlet ignores.
    let (_, report, calls) = install(root, &changed, true, &[]);
    let report = report.expect("install");
    let backup = "web.container.quadgen-edit-1700000000";
    assert_eq!(
        report.backups,
        vec![("web.container".to_string(), backup.to_string())]
    );
    assert_eq!(
        std::fs::read_to_string(root.join(backup)).expect("backup"),
        edited
    );
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("nginx:1")
    );
    assert_eq!(
        calls,
        vec!["daemon-reload", "restart db.service web.service"]
    );
    // The backup is not ours: the next install leaves it alone and does nothing.
    let (p, _, calls) = install(root, &changed, false, &[]);
    assert!(p.is_noop());
    assert!(calls.is_empty());
    assert!(root.join(backup).exists());
}

#[test]
fn deleted_file_is_restored() {
    let dir = installed();
    let root = dir.path();
    std::fs::remove_file(root.join("web.container")).expect("rm");
    let (_, report, calls) = install(root, INVENTORY, false, &[]);
    assert_eq!(report.expect("install").written, vec!["web.container"]);
    assert_eq!(calls, vec!["daemon-reload", "start web.service"]);
}

#[test]
fn foreign_file_in_the_way_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("web.container"), "[Container]\nImage=mine\n").expect("write");
    std::fs::write(root.join("other.container"), "[Container]\nImage=x\n").expect("write");
    let (p, _, calls) = install(root, INVENTORY, true, &[]);
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].file_name, "web.container");
    assert!(calls.is_empty());
    assert_eq!(listing(root), vec!["other.container", "web.container"]);
}

#[test]
fn failed_restart_is_reported_per_unit_and_the_manifest_still_records_the_install() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let (_, report, calls) = install(root, INVENTORY, false, &["web.service"]);
    let report = report.expect("install");
    assert_eq!(
        calls,
        vec![
            "daemon-reload",
            "start db.service web.service",
            "show db.service web.service"
        ]
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].unit, "web.service");
    assert_eq!(report.failed[0].hint, "journalctl -u web.service -n 50");
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert_eq!(m.files.len(), 5);
    assert!(m.pending.is_none());
    // Nothing changed since: the next install does nothing.
    assert!(install(root, INVENTORY, false, &[]).2.is_empty());
}

#[test]
fn killed_after_writing_files_converges() {
    // Simulate a kill after step 3: the intent manifest and the new files are on disk, systemd
    // was never told.
    let dir = installed();
    let root = dir.path();
    let changed = INVENTORY.replace("postgres:16", "postgres:17");
    let (p, old) = plan_install(root, &changed, false);
    let old = old.expect("manifest");
    let intent = p.intent(Some(&old));
    crate::host::fs::write_atomic(
        root,
        MANIFEST_FILE,
        intent.to_json().expect("json").as_bytes(),
    )
    .expect("w");
    for f in p.files.iter().filter(|f| f.op.writes()) {
        crate::host::fs::write_atomic(
            root,
            &f.file_name,
            f.new_text.as_deref().unwrap_or("").as_bytes(),
        )
        .expect("w");
    }

    let (p, report, calls) = install(root, &changed, false, &[]);
    assert!(p.conflicts.is_empty());
    assert!(report.expect("install").written.is_empty());
    assert_eq!(calls, vec!["daemon-reload", "restart db.service"]);
    assert!(install(root, &changed, false, &[]).2.is_empty());
}

#[test]
fn killed_after_the_intent_before_any_write_converges() {
    let dir = installed();
    let root = dir.path();
    let changed = INVENTORY.replace("postgres:16", "postgres:17");
    let (p, old) = plan_install(root, &changed, false);
    let old = old.expect("manifest");
    crate::host::fs::write_atomic(
        root,
        MANIFEST_FILE,
        p.intent(Some(&old)).to_json().expect("json").as_bytes(),
    )
    .expect("w");

    let (p, report, calls) = install(root, &changed, false, &[]);
    assert!(p.conflicts.is_empty());
    assert_eq!(report.expect("install").written, vec!["db.container"]);
    assert_eq!(calls, vec!["daemon-reload", "restart db.service"]);
}

#[test]
fn unwritable_directory_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("missing");
    let desired = compile(INVENTORY);
    let p = plan::plan(
        &desired,
        None,
        &crate::host::fs::Observed::default(),
        "/inv.toml",
        PlanOptions::default(),
    );
    let mut systemd = Recording::default();
    let err = apply(&p, &root, None, &mut systemd, 0).expect_err("no directory");
    assert!(
        err.to_string().contains(&root.display().to_string()),
        "{err}"
    );
    assert!(systemd.calls.is_empty());
}

/// A systemd that dies (like `kill -9` of quadgen) at its `n`-th call, before doing it.
struct CrashAt {
    inner: Recording,
    n: usize,
}

impl CrashAt {
    fn tick(&mut self) {
        if self.inner.calls.len() == self.n {
            panic!("simulated kill at systemd call {}", self.n);
        }
    }
}

impl Systemd for CrashAt {
    fn daemon_reload(&mut self) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.daemon_reload()
    }
    fn start(&mut self, units: &[String]) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.start(units)
    }
    fn restart(&mut self, units: &[String]) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.restart(units)
    }
    fn try_restart(&mut self, units: &[String]) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.try_restart(units)
    }
    fn stop(&mut self, units: &[String]) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.stop(units)
    }
    fn show(
        &mut self,
        units: &[String],
    ) -> Result<Vec<crate::host::systemd::UnitState>, crate::host::systemd::SystemdError> {
        self.inner.show(units)
    }
    fn watch(
        &mut self,
        units: &[String],
    ) -> Result<Vec<crate::host::systemd::UnitState>, crate::host::systemd::SystemdError> {
        self.inner.watch(units)
    }
    fn podman_secret_owner(
        &mut self,
        name: &str,
    ) -> Result<crate::host::systemd::SecretOwner, crate::host::systemd::SystemdError> {
        self.inner.podman_secret_owner(name)
    }
    fn podman_secret_create(
        &mut self,
        name: &str,
        value: &[u8],
    ) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.podman_secret_create(name, value)
    }
    fn podman_secret_rm(&mut self, name: &str) -> Result<(), crate::host::systemd::SystemdError> {
        self.tick();
        self.inner.podman_secret_rm(name)
    }
    fn pause(&mut self, duration: Duration) {
        self.inner.pause(duration);
    }
    fn clock(&mut self) -> Duration {
        self.inner.clock()
    }
    fn podman_network_rm(
        &mut self,
        name: &str,
    ) -> Result<(), crate::host::systemd::NetworkRmError> {
        self.tick();
        self.inner.podman_network_rm(name)
    }
}

/// Every unit file and the manifest's files, as text.
fn snapshot(root: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let files = listing(root)
        .into_iter()
        .filter(|n| n.ends_with(".container") || n.ends_with(".network") || n.ends_with(".volume"))
        .map(|n| {
            let text = std::fs::read_to_string(root.join(&n)).expect("read");
            (n, text)
        })
        .collect();
    let manifest = Manifest::load(root).expect("load").expect("manifest");
    assert!(manifest.pending.is_none(), "work still pending");
    (files, manifest.files.keys().cloned().collect())
}

#[test]
fn a_kill_at_any_systemd_call_converges_and_the_owed_work_is_done() {
    // A change that needs every kind of step: a network recreated (stops, network rm, start),
    // a container changed (restart), a container removed (stop, file removed), one added.
    let changed = INVENTORY
        .replace(
            "[networks.app]",
            "[networks.app]\nsubnet = \"10.89.9.0/24\"",
        )
        .replace(
            "[containers.job]\nimage = \"docker.io/library/busybox:1\"\nauto_start = false\n",
            "",
        )
        + "\n[containers.cache]\nimage = \"docker.io/library/redis:7\"\n";

    // The uninterrupted install: its calls, and what it leaves.
    let dir = tempfile::tempdir().expect("tempdir");
    install(dir.path(), INVENTORY, false, &[])
        .1
        .expect("install");
    let (_, report, calls) = install(dir.path(), &changed, false, &[]);
    report.expect("install");
    let expected = snapshot(dir.path());
    assert!(
        calls.len() >= 5,
        "the scenario exercises several steps: {calls:?}"
    );

    for n in 0..calls.len() {
        let dir = installed();
        let root = dir.path();
        // The crashing install.
        let (p, old) = plan_install(root, &changed, false);
        let mut crashing = CrashAt {
            inner: Recording::default(),
            n,
        };
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = apply(&p, root, old.as_ref(), &mut crashing, 1_700_000_000);
        }));
        assert!(died.is_err(), "call {n} was reached");
        let done = crashing.inner.calls.clone();

        // The next install finishes the job.
        let (p2, report, recovery) = install(root, &changed, false, &[]);
        assert!(
            p2.conflicts.is_empty(),
            "kill at call {n}: {:?}",
            p2.conflicts
        );
        report.unwrap_or_else(|e| panic!("kill at call {n}: recovery failed: {e}"));
        assert_eq!(
            snapshot(root),
            expected,
            "kill at call {n}: files and manifest converge"
        );
        for owed in &calls[n..] {
            let verb_units: Vec<&str> = owed.split(' ').collect();
            // Each unit the crashed install still owed a step to gets that step (or a stronger
            // one: a restart covers a start).
            for unit in verb_units
                .iter()
                .skip(1)
                .filter(|u| u.ends_with(".service"))
            {
                assert!(
                    recovery
                        .iter()
                        .any(|c| c.split(' ').skip(1).any(|u| u == *unit))
                        || done.iter().any(|c| c == owed),
                    "kill at call {n}: `{owed}` was owed but the recovery {recovery:?} never touched {unit}"
                );
            }
            if owed == "daemon-reload" {
                assert!(
                    recovery.contains(&"daemon-reload".to_string()),
                    "kill at call {n}: reload owed"
                );
            }
        }
        assert!(
            install(root, &changed, false, &[]).2.is_empty(),
            "kill at call {n}: then nothing to do"
        );
    }
}

#[test]
fn a_network_that_cannot_be_removed_is_retried_by_the_next_install() {
    let dir = installed();
    let root = dir.path();
    let changed = INVENTORY.replace(
        "[networks.app]",
        "[networks.app]\nsubnet = \"10.89.9.0/24\"",
    );
    // Someone's own container still uses the network: removal fails.
    let (_, report, _) = install(root, &changed, false, &["app"]);
    let report = report.expect("install");
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].step, "network rm");
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert_eq!(
        m.pending.as_ref().map(|p| p.network_rm.clone()),
        Some(vec!["app".to_string()])
    );
    // The next install recreates it properly, stopping what uses it first.
    let (_, report, calls) = install(root, &changed, false, &[]);
    report.expect("install");
    assert_eq!(
        calls[0], "stop app-network.service db.service web.service",
        "{calls:?}"
    );
    assert_eq!(calls[1], "podman network rm app", "{calls:?}");
    assert!(
        calls.contains(&"restart db.service web.service".to_string()),
        "{calls:?}"
    );
    assert!(
        install(root, &changed, false, &[]).2.is_empty(),
        "then nothing to do"
    );
}

#[test]
fn a_leaving_unit_that_will_not_stop_keeps_its_file_until_it_does() {
    let dir = installed();
    let root = dir.path();
    let without_job = INVENTORY.replace(
        "[containers.job]\nimage = \"docker.io/library/busybox:1\"\nauto_start = false\n",
        "",
    );
    let (p, old) = plan_install(root, &without_job, false);
    let mut systemd = Recording {
        stubborn: ["job.service".to_string()].into(),
        ..Recording::default()
    };
    let report = apply(&p, root, old.as_ref(), &mut systemd, 1_700_000_000).expect("apply");
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(
        (
            report.failed[0].unit.as_str(),
            report.failed[0].step.as_str()
        ),
        ("job.service", "stop")
    );
    assert!(
        root.join("job.container").exists(),
        "kept while its container runs"
    );
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert!(m.files.contains_key("job.container"), "still quadgen's");
    // Once it can be stopped, the next install finishes the removal.
    let (_, report, calls) = install(root, &without_job, false, &[]);
    assert_eq!(report.expect("install").removed, vec!["job.container"]);
    assert_eq!(calls.first().map(String::as_str), Some("stop job.service"));
    assert!(!root.join("job.container").exists());
    assert!(install(root, &without_job, false, &[]).2.is_empty());
}

#[test]
fn a_leaving_unit_whose_stop_and_show_both_fail_is_not_forgotten() {
    let dir = installed();
    let root = dir.path();
    let without_job = INVENTORY.replace(
        "[containers.job]\nimage = \"docker.io/library/busybox:1\"\nauto_start = false\n",
        "",
    );
    let (p, old) = plan_install(root, &without_job, false);
    let mut systemd = Recording {
        stubborn: ["job.service".to_string()].into(),
        show_fails: true,
        ..Recording::default()
    };
    let report = apply(&p, root, old.as_ref(), &mut systemd, 1_700_000_000).expect("apply");
    assert_eq!(
        systemd.calls,
        vec!["stop job.service", "show job.service", "daemon-reload"]
    );
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].unit, "job.service");
    assert!(
        report.failed[0].error.contains("state is unknown"),
        "{:?}",
        report.failed
    );
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert!(
        root.join("job.container").exists(),
        "kept: it may still run"
    );
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert!(m.files.contains_key("job.container"), "still quadgen's");
    // The next install, with systemd answering, stops it and only then removes it.
    let (_, report, calls) = install(root, &without_job, false, &[]);
    assert_eq!(report.expect("install").removed, vec!["job.container"]);
    assert_eq!(calls.first().map(String::as_str), Some("stop job.service"));
    assert!(!root.join("job.container").exists());
    let m = Manifest::load(root).expect("load").expect("manifest");
    assert!(!m.files.contains_key("job.container"));
}

/// Applies `src` to `root` through `systemd`, like `quadgen install`.
fn install_with(root: &Path, src: &str, systemd: &mut Recording) -> Report {
    let (p, manifest) = plan_install(root, src, false);
    apply(&p, root, manifest.as_ref(), systemd, 1_700_000_000).expect("apply")
}

#[test]
fn a_unit_that_dies_right_after_its_start_is_reported_with_its_exit_status() {
    // Issue 14: the start job succeeded, then the container got SIGTERM and systemd waits to
    // restart it. install must say so, like a failed start.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut systemd = Recording {
        dying: ["db.service".to_string()].into(),
        ..Recording::default()
    };
    let report = install_with(dir.path(), INVENTORY, &mut systemd);
    assert_eq!(
        systemd.calls,
        vec!["daemon-reload", "start db.service web.service"],
        "the watch changes nothing"
    );
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    let f = &report.failed[0];
    assert_eq!((f.unit.as_str(), f.step.as_str()), ("db.service", "start"));
    assert!(
        f.error.contains("exit status 143 (128+15: it got SIGTERM)")
            && f.error.contains("activating/auto-restart")
            && f.error.contains("systemd will restart it")
            && f.error.contains("died within 0.2 s of the start jobs"),
        "{}",
        f.error
    );
    assert_eq!(f.hint, "journalctl -u db.service -n 50");
    assert!(report.manifest_written, "what was installed is recorded");
    // web still runs, so the watch goes on for the whole window, one poll every SETTLE_POLL.
    assert_eq!(systemd.clock, SETTLE_WINDOW);
    assert_eq!(
        systemd.watches as u32,
        1 + SETTLE_WINDOW.as_millis() as u32 / SETTLE_POLL.as_millis() as u32
    );
}

#[test]
fn units_that_stay_up_pass_the_window_and_health_gated_ones_need_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut systemd = Recording::default();
    let report = install_with(dir.path(), INVENTORY, &mut systemd);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(systemd.clock, SETTLE_WINDOW, "watched for the window");

    // Only health-gated containers started: their start proved them, no window at all.
    let gated = r#"
[containers.db]
image = "docker.io/library/postgres:16"
health = { cmd = "pg_isready" }
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut systemd = Recording::default();
    let report = install_with(dir.path(), gated, &mut systemd);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!((systemd.clock, systemd.watches), (Duration::ZERO, 0));

    // Nothing started (a no-op install): no watch either.
    let report = install_with(dir.path(), gated, &mut systemd);
    assert!(report.failed.is_empty() && systemd.watches == 0);
}

#[test]
fn a_health_gated_unit_is_still_watched_beside_one_that_is_not() {
    // A gated container proved it serves, but a sibling's start can still kill it (issue 14):
    // the window runs anyway for the other one, and costs nothing more for it.
    let src = r#"
[containers.db]
image = "docker.io/library/postgres:16"
health = { cmd = "pg_isready" }

[containers.web]
image = "docker.io/library/nginx:1"
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut systemd = Recording {
        dying: ["db.service".to_string()].into(),
        ..Recording::default()
    };
    let report = install_with(dir.path(), src, &mut systemd);
    let failed: Vec<&str> = report.failed.iter().map(|f| f.unit.as_str()).collect();
    assert_eq!(failed, vec!["db.service"]);
}

#[test]
fn a_restarted_unit_that_dies_is_reported_under_restart() {
    let dir = installed();
    let changed = INVENTORY.replace("postgres:16", "postgres:17");
    let mut systemd = Recording {
        dying: ["db.service".to_string()].into(),
        ..Recording::default()
    };
    let report = install_with(dir.path(), &changed, &mut systemd);
    assert_eq!(systemd.calls, vec!["daemon-reload", "restart db.service"]);
    let failed: Vec<(&str, &str)> = report
        .failed
        .iter()
        .map(|f| (f.unit.as_str(), f.step.as_str()))
        .collect();
    assert_eq!(failed, vec![("db.service", "restart")]);
}
