//! Table tests of the planner: old manifest + new render + files on disk → plan.

use super::*;
use crate::host::fs::ObservedFile;
use crate::unit::sha256_hex;

/// A container, network or volume as the renderer would make it.
fn unit(name: &str, version: &str, auto_start: bool, uses: &[&str]) -> RenderedFile {
    let (stem, ext) = name.split_once('.').unwrap_or((name, "container"));
    let kind = UnitKind::from_extension(ext).unwrap_or(UnitKind::Container);
    let service = match kind {
        UnitKind::Container => format!("{stem}.service"),
        UnitKind::Network => format!("{stem}-network.service"),
        UnitKind::Volume => format!("{stem}-volume.service"),
        UnitKind::Pod => format!("{stem}-pod.service"),
    };
    let section = match kind {
        UnitKind::Container => format!("[Container]\nImage=docker.io/library/{stem}:{version}\n"),
        UnitKind::Network => format!("[Network]\nNetworkName={stem}\nSubnet=10.0.{version}.0/24\n"),
        UnitKind::Volume => format!("[Volume]\nVolumeName={stem}\nLabel=v={version}\n"),
        UnitKind::Pod => format!("[Pod]\nPodName={stem}\nPublishPort={version}:80\n"),
    };
    let install = if auto_start {
        "\n[Install]\nWantedBy=multi-user.target\n"
    } else {
        ""
    };
    let text = format!("# {name}\n{section}{install}");
    RenderedFile {
        file_name: name.to_string(),
        kind,
        entry: format!("{}.{stem}", kind.table()),
        service,
        uses: uses.iter().map(|s| s.to_string()).collect(),
        auto_start,
        text,
    }
}

fn manifest_of(files: &[&RenderedFile]) -> Manifest {
    let mut m = Manifest::new("/inv.toml");
    for f in files {
        m.files.insert(f.file_name.clone(), record(f, f.sha256()));
    }
    m
}

fn disk(files: &[(&str, &str)]) -> Observed {
    let mut o = Observed::default();
    for (name, text) in files {
        o.files.insert(
            name.to_string(),
            ObservedFile {
                sha256: sha256_hex(text.as_bytes()),
                text: text.to_string(),
            },
        );
    }
    o
}

fn on_disk(files: &[&RenderedFile]) -> Observed {
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.file_name.as_str(), f.text.as_str()))
        .collect();
    disk(&pairs)
}

fn ops(p: &Plan) -> Vec<(&str, FileOp, bool)> {
    p.files
        .iter()
        .map(|f| (f.file_name.as_str(), f.op, f.backup))
        .collect()
}

fn actions(p: &Plan) -> Vec<(&str, Action)> {
    p.units
        .iter()
        .map(|u| (u.service.as_str(), u.action))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

struct Case {
    name: &'static str,
    desired: Vec<RenderedFile>,
    manifest: Option<Manifest>,
    disk: Observed,
    force: bool,
    files: Vec<(&'static str, FileOp, bool)>,
    conflicts: Vec<(&'static str, ConflictKind)>,
    steps: Steps,
    units: Vec<(&'static str, Action)>,
}

fn cases() -> Vec<Case> {
    let a1 = unit("a.container", "1", true, &[]);
    let a2 = unit("a.container", "2", true, &[]);
    let b1 = unit("b.container", "1", false, &[]);
    let b2 = unit("b.container", "2", false, &[]);
    let edited_a = "# a.container\n[Container]\nImage=docker.io/library/a:hacked\n";
    vec![
        Case {
            name: "fresh install: write all, start auto_start, one reload",
            desired: vec![a1.clone(), b1.clone()],
            manifest: None,
            disk: Observed::default(),
            force: false,
            files: vec![
                ("a.container", FileOp::Add, false),
                ("b.container", FileOp::Add, false),
            ],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                start: strings(&["a.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Start), ("b.service", Action::Stay)],
        },
        Case {
            name: "nothing changed: nothing at all",
            desired: vec![a1.clone(), b1.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: on_disk(&[&a1, &b1]),
            force: false,
            files: vec![],
            conflicts: vec![],
            steps: Steps::default(),
            units: vec![("a.service", Action::Stay), ("b.service", Action::Stay)],
        },
        Case {
            name: "one auto_start container changed: restart it alone",
            desired: vec![a2.clone(), b1.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: on_disk(&[&a1, &b1]),
            force: false,
            files: vec![("a.container", FileOp::Change, false)],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                restart: strings(&["a.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Restart), ("b.service", Action::Stay)],
        },
        Case {
            name: "a changed container without auto_start is restarted only if running",
            desired: vec![a1.clone(), b2.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: on_disk(&[&a1, &b1]),
            force: false,
            files: vec![("b.container", FileOp::Change, false)],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                try_restart: strings(&["b.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Stay), ("b.service", Action::Restart)],
        },
        Case {
            name: "hand edit: refused, nothing planned for it",
            desired: vec![a2.clone(), b2.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: disk(&[("a.container", edited_a), ("b.container", &b1.text)]),
            force: false,
            files: vec![("b.container", FileOp::Change, false)],
            conflicts: vec![("a.container", ConflictKind::Edited)],
            steps: Steps {
                reload: true,
                try_restart: strings(&["b.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Stay), ("b.service", Action::Restart)],
        },
        Case {
            name: "hand edit with --force: ours, edit backed up, restarted (even if the inventory did not change)",
            desired: vec![a1.clone()],
            manifest: Some(manifest_of(&[&a1])),
            disk: disk(&[("a.container", edited_a)]),
            force: true,
            files: vec![("a.container", FileOp::Change, true)],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                restart: strings(&["a.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Restart)],
        },
        Case {
            name: "a file not in the manifest in the way: refused, even with --force",
            desired: vec![a1.clone()],
            manifest: None,
            disk: disk(&[("a.container", "[Container]\nImage=mine\n")]),
            force: true,
            files: vec![],
            conflicts: vec![("a.container", ConflictKind::Foreign)],
            steps: Steps::default(),
            units: vec![("a.service", Action::Stay)],
        },
        Case {
            name: "crash after the write, before the manifest: adopted, not a hand edit",
            desired: vec![a2.clone()],
            manifest: Some(manifest_of(&[&a1])),
            disk: on_disk(&[&a2]),
            force: false,
            files: vec![("a.container", FileOp::Adopt, false)],
            conflicts: vec![],
            steps: Steps::default(),
            units: vec![("a.service", Action::Stay)],
        },
        Case {
            name: "an identical file not in the manifest is still not ours: a conflict",
            desired: vec![a1.clone()],
            manifest: None,
            disk: on_disk(&[&a1]),
            force: false,
            files: vec![],
            conflicts: vec![("a.container", ConflictKind::Foreign)],
            steps: Steps::default(),
            units: vec![("a.service", Action::Stay)],
        },
        Case {
            name: "left the inventory: stop, then remove",
            desired: vec![a1.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: on_disk(&[&a1, &b1]),
            force: false,
            files: vec![("b.container", FileOp::Remove, false)],
            conflicts: vec![],
            steps: Steps {
                stop: strings(&["b.service"]),
                reload: true,
                ..Steps::default()
            },
            units: vec![("a.service", Action::Stay), ("b.service", Action::Stop)],
        },
        Case {
            name: "left the inventory but edited by hand: refused",
            desired: vec![],
            manifest: Some(manifest_of(&[&a1])),
            disk: disk(&[("a.container", edited_a)]),
            force: false,
            files: vec![],
            conflicts: vec![("a.container", ConflictKind::Edited)],
            steps: Steps::default(),
            units: vec![("a.service", Action::Stay)],
        },
        Case {
            name: "left the inventory, edited, --force: stopped, edit kept as the backup",
            desired: vec![],
            manifest: Some(manifest_of(&[&a1])),
            disk: disk(&[("a.container", edited_a)]),
            force: true,
            files: vec![("a.container", FileOp::Remove, true)],
            conflicts: vec![],
            steps: Steps {
                stop: strings(&["a.service"]),
                reload: true,
                ..Steps::default()
            },
            units: vec![("a.service", Action::Stop)],
        },
        Case {
            name: "left the inventory and already deleted: stop, forget",
            desired: vec![],
            manifest: Some(manifest_of(&[&a1])),
            disk: Observed::default(),
            force: false,
            files: vec![("a.container", FileOp::Forget, false)],
            conflicts: vec![],
            steps: Steps {
                stop: strings(&["a.service"]),
                reload: true,
                ..Steps::default()
            },
            units: vec![("a.service", Action::Stop)],
        },
        Case {
            name: "deleted by hand: restored and started",
            desired: vec![a1.clone(), b1.clone()],
            manifest: Some(manifest_of(&[&a1, &b1])),
            disk: on_disk(&[&b1]),
            force: false,
            files: vec![("a.container", FileOp::Restore, false)],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                start: strings(&["a.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Start), ("b.service", Action::Stay)],
        },
        Case {
            name: "deleted by hand and changed in the inventory: restored and restarted",
            desired: vec![a2.clone()],
            manifest: Some(manifest_of(&[&a1])),
            disk: Observed::default(),
            force: false,
            files: vec![("a.container", FileOp::Restore, false)],
            conflicts: vec![],
            steps: Steps {
                reload: true,
                restart: strings(&["a.service"]),
                ..Steps::default()
            },
            units: vec![("a.service", Action::Restart)],
        },
    ]
}

#[test]
fn plan_table() {
    for case in cases() {
        let p = plan(
            &case.desired,
            case.manifest.as_ref(),
            &case.disk,
            "/inv.toml",
            PlanOptions {
                force: case.force,
                ..PlanOptions::default()
            },
        );
        assert_eq!(ops(&p), case.files, "files: {}", case.name);
        let conflicts: Vec<(&str, ConflictKind)> = p
            .conflicts
            .iter()
            .map(|c| (c.file_name.as_str(), c.kind))
            .collect();
        assert_eq!(conflicts, case.conflicts, "conflicts: {}", case.name);
        assert_eq!(p.steps, case.steps, "steps: {}", case.name);
        assert_eq!(actions(&p), case.units, "units: {}", case.name);
    }
}

#[test]
fn no_change_is_a_noop_and_says_so() {
    let a = unit("a.container", "1", true, &[]);
    let p = plan(
        std::slice::from_ref(&a),
        Some(&manifest_of(&[&a])),
        &on_disk(&[&a]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(p.is_noop());
    let text = p.to_text(false);
    assert!(text.contains("files: no changes"), "{text}");
    assert!(text.contains("systemd: nothing to do"), "{text}");
    assert!(text.contains("1 unchanged unit stays"), "{text}");
}

#[test]
fn changed_network_brings_back_what_depends_on_its_containers() {
    // `api` is on no network but `depends_on` web, which is on `app`: systemd stops api with
    // web, so install must start it again; `other` depends on nothing there and stays.
    let n1 = unit("app.network", "1", false, &[]);
    let n2 = unit("app.network", "2", false, &[]);
    let web = unit("web.container", "1", true, &["app-network.service"]);
    let api = unit("api.container", "1", true, &["web.service"]);
    let front = unit("front.container", "1", true, &["api.service"]);
    let other = unit("other.container", "1", true, &[]);
    let p = plan(
        &[
            n2.clone(),
            web.clone(),
            api.clone(),
            front.clone(),
            other.clone(),
        ],
        Some(&manifest_of(&[&n1, &web, &api, &front, &other])),
        &on_disk(&[&n1, &web, &api, &front, &other]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(
        p.steps.stop,
        strings(&[
            "api.service",
            "app-network.service",
            "front.service",
            "web.service"
        ])
    );
    assert_eq!(
        p.steps.restart,
        strings(&["api.service", "front.service", "web.service"])
    );
    assert!(actions(&p).contains(&("other.service", Action::Stay)));
}

#[test]
fn changed_network_is_recreated_with_its_containers() {
    let n1 = unit("app.network", "1", false, &[]);
    let n2 = unit("app.network", "2", false, &[]);
    let db = unit("db.container", "1", true, &["app-network.service"]);
    let job = unit("job.container", "1", false, &["app-network.service"]);
    let web = unit("web.container", "1", true, &[]);
    let p = plan(
        &[n2.clone(), db.clone(), job.clone(), web.clone()],
        Some(&manifest_of(&[&n1, &db, &job, &web])),
        &on_disk(&[&n1, &db, &job, &web]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(
        p.steps,
        Steps {
            stop: strings(&["app-network.service", "db.service", "job.service"]),
            network_rm: strings(&["app"]),
            reload: true,
            restart: strings(&["db.service"]),
            try_restart: vec![],
            start: strings(&["app-network.service"]),
            ..Steps::default()
        }
    );
    assert_eq!(
        actions(&p),
        vec![
            ("app-network.service", Action::Start),
            ("db.service", Action::Restart),
            ("job.service", Action::Stop),
            ("web.service", Action::Stay),
        ]
    );
    assert!(p.notes.iter().any(|n| n.contains("podman network `app`")));
    let text = p.to_text(false);
    assert!(text.contains("podman network rm app"), "{text}");
    assert!(text.contains("-Subnet=10.0.1.0/24"), "{text}");
    assert!(text.contains("+Subnet=10.0.2.0/24"), "{text}");
}

#[test]
fn changed_volume_is_written_but_never_recreated() {
    let v1 = unit("data.volume", "1", false, &[]);
    let v2 = unit("data.volume", "2", false, &[]);
    let db = unit("db.container", "1", true, &["data-volume.service"]);
    let p = plan(
        &[v2, db.clone()],
        Some(&manifest_of(&[&v1, &db])),
        &on_disk(&[&v1, &db]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(ops(&p), vec![("data.volume", FileOp::Change, false)]);
    assert_eq!(
        p.steps,
        Steps {
            reload: true,
            ..Steps::default()
        }
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("WARNING: volume `data.volume` changed")
                && n.contains("podman volume rm data")),
        "{:?}",
        p.notes
    );
}

#[test]
fn removed_volume_keeps_its_data() {
    let v = unit("data.volume", "1", false, &[]);
    let p = plan(
        &[],
        Some(&manifest_of(&[&v])),
        &on_disk(&[&v]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(p.steps.stop, strings(&["data-volume.service"]));
    assert!(p.notes.iter().any(|n| n.contains("data are kept")));
}

#[test]
fn interrupted_install_is_finished() {
    // The intent was written, the file too, then the process was killed before the reload.
    let a1 = unit("a.container", "1", true, &[]);
    let a2 = unit("a.container", "2", true, &[]);
    let first = plan(
        std::slice::from_ref(&a2),
        Some(&manifest_of(&[&a1])),
        &on_disk(&[&a1]),
        "/inv.toml",
        PlanOptions::default(),
    );
    let intent = first.intent(Some(&manifest_of(&[&a1])));
    let rec = &intent.files["a.container"];
    assert_eq!(rec.sha256, a1.sha256());
    assert_eq!(rec.next_sha256.as_deref(), Some(a2.sha256().as_str()));
    assert!(intent.pending.as_ref().is_some_and(|p| p.reload));

    let again = plan(
        std::slice::from_ref(&a2),
        Some(&intent),
        &on_disk(&[&a2]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(again.conflicts.is_empty());
    assert_eq!(
        again.steps,
        Steps {
            reload: true,
            restart: strings(&["a.service"]),
            ..Steps::default()
        }
    );
    assert_eq!(
        again.units[0].reason,
        "owed by an earlier install (interrupted, or run with --no-systemd)"
    );
    // And once that is done, nothing more.
    let done = plan(
        std::slice::from_ref(&a2),
        Some(&again.manifest),
        &on_disk(&[&a2]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(done.is_noop());
}

#[test]
fn interrupted_install_with_the_old_file_still_there_is_not_a_hand_edit() {
    // Killed after the intent, before writing; meanwhile the inventory changed again.
    let a1 = unit("a.container", "1", true, &[]);
    let a2 = unit("a.container", "2", true, &[]);
    let a3 = unit("a.container", "3", true, &[]);
    let intent = plan(
        std::slice::from_ref(&a2),
        Some(&manifest_of(&[&a1])),
        &on_disk(&[&a1]),
        "/inv.toml",
        PlanOptions::default(),
    )
    .intent(Some(&manifest_of(&[&a1])));
    for disk_now in [&a1, &a2] {
        let p = plan(
            std::slice::from_ref(&a3),
            Some(&intent),
            &on_disk(&[disk_now]),
            "/inv.toml",
            PlanOptions::default(),
        );
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
        assert_eq!(ops(&p), vec![("a.container", FileOp::Change, false)]);
    }
}

#[test]
fn refusals_show_the_diff() {
    let a1 = unit("a.container", "1", true, &[]);
    let p = plan(
        std::slice::from_ref(&a1),
        Some(&manifest_of(&[&a1])),
        &disk(&[(
            "a.container",
            "# a.container\n[Container]\nImage=docker.io/library/a:hacked\n",
        )]),
        "/inv.toml",
        PlanOptions::default(),
    );
    let text = p.to_text(false);
    assert!(text.contains("! a.container: edited by hand"), "{text}");
    assert!(text.contains("-Image=docker.io/library/a:hacked"), "{text}");
    assert!(text.contains("+Image=docker.io/library/a:1"), "{text}");
    let json = p.to_json();
    assert_eq!(json["refused"], true);
    assert_eq!(json["conflicts"][0]["kind"], "edited");
}

#[test]
fn plan_output_is_stable() {
    let files: Vec<RenderedFile> = ["z", "m", "a"]
        .iter()
        .map(|n| unit(&format!("{n}.container"), "1", true, &[]))
        .collect();
    let p1 = plan(
        &files,
        None,
        &Observed::default(),
        "/i",
        PlanOptions::default(),
    );
    let mut reversed = files.clone();
    reversed.reverse();
    let p2 = plan(
        &reversed,
        None,
        &Observed::default(),
        "/i",
        PlanOptions::default(),
    );
    assert_eq!(p1.to_text(true), p2.to_text(true));
    assert_eq!(p1.to_json(), p2.to_json());
    assert_eq!(
        p1.steps.start,
        strings(&["a.service", "m.service", "z.service"])
    );
}

#[test]
fn toggling_auto_start_reloads_but_never_restarts() {
    let on = unit("a.container", "1", true, &[]);
    let off = unit("a.container", "1", false, &[]);
    let p = plan(
        std::slice::from_ref(&off),
        Some(&manifest_of(&[&on])),
        &on_disk(&[&on]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(p.steps.reload, "the boot-time link changes");
    assert!(
        p.steps.restart.is_empty() && p.steps.try_restart.is_empty() && p.steps.stop.is_empty(),
        "{:?}",
        p.steps
    );
    let p = plan(
        std::slice::from_ref(&on),
        Some(&manifest_of(&[&off])),
        &on_disk(&[&off]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(
        p.steps.restart.is_empty() && p.steps.try_restart.is_empty(),
        "{:?}",
        p.steps
    );
    assert_eq!(
        p.steps.start,
        strings(&["a.service"]),
        "started if it was not running"
    );
    // Anything else changing still restarts.
    let on2 = unit("a.container", "2", true, &[]);
    let p = plan(
        &[on2],
        Some(&manifest_of(&[&off])),
        &on_disk(&[&off]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(p.steps.restart, strings(&["a.service"]));
}

#[test]
fn removing_all_or_most_managed_units_needs_allow_removals() {
    // (leaving, managed) → refused
    let table = [
        ((0, 0), false),
        ((1, 1), true),
        ((1, 2), false),
        ((2, 2), true),
        ((2, 3), false),
        ((3, 3), true),
        ((3, 4), true),
        ((3, 6), false),
        ((4, 6), true),
        ((4, 10), false),
        ((6, 10), true),
    ];
    for ((leaving, managed), refused) in table {
        assert_eq!(
            is_mass_removal(leaving, managed),
            refused,
            "{leaving} of {managed}"
        );
    }
    let all: Vec<RenderedFile> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| unit(&format!("{n}.container"), "1", true, &[]))
        .collect();
    let refs: Vec<&RenderedFile> = all.iter().collect();
    let keep_one = plan(
        &all[..1],
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(keep_one.is_refused());
    assert_eq!(
        keep_one.mass_removal,
        Some(MassRemoval {
            leaving: strings(&["b.container", "c.container", "d.container"]),
            managed: 4
        })
    );
    let allowed = plan(
        &all[..1],
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions {
            allow_removals: true,
            ..PlanOptions::default()
        },
    );
    assert!(!allowed.is_refused());
    assert_eq!(
        allowed.steps.stop,
        strings(&["b.service", "c.service", "d.service"])
    );
    let keep_two = plan(
        &all[..2],
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(!keep_two.is_refused(), "half is not most");
}

#[test]
fn adopt_takes_over_only_byte_identical_files_and_restarts_nothing() {
    let a = unit("a.container", "1", true, &[]);
    let b = unit("b.container", "1", true, &[]);
    let b_other = unit("b.container", "2", true, &[]);
    let desired = [a.clone(), b.clone()];
    // No manifest (moved away): a is identical, b differs.
    let disk = on_disk(&[&a, &b_other]);
    let without = plan(&desired, None, &disk, "/inv.toml", PlanOptions::default());
    assert_eq!(
        without
            .conflicts
            .iter()
            .map(|c| (c.file_name.as_str(), c.kind))
            .collect::<Vec<_>>(),
        vec![
            ("a.container", ConflictKind::Foreign),
            ("b.container", ConflictKind::Foreign)
        ]
    );
    let options = PlanOptions {
        adopt: true,
        ..PlanOptions::default()
    };
    let with = plan(&desired, None, &disk, "/inv.toml", options);
    assert_eq!(ops(&with), vec![("a.container", FileOp::Adopt, false)]);
    assert_eq!(with.conflicts.len(), 1, "b differs: still refused");
    assert_eq!(with.conflicts[0].file_name, "b.container");
    // Only identical files: recorded, nothing for systemd.
    let with = plan(&desired, None, &on_disk(&[&a, &b]), "/inv.toml", options);
    assert!(with.conflicts.is_empty());
    assert!(with.steps.is_empty(), "{:?}", with.steps);
    assert!(with.manifest_changed);
    assert_eq!(with.manifest, manifest_of(&[&a, &b]));
}

#[test]
fn a_change_the_service_does_not_see_reloads_and_never_restarts() {
    let with = |f: &RenderedFile, text: String| RenderedFile { text, ..f.clone() };
    let old = [
        unit("a.container", "1", true, &[]),
        unit("n.network", "1", false, &[]),
        unit("v.volume", "1", false, &[]),
    ];
    let old_refs: Vec<&RenderedFile> = old.iter().collect();
    let plan_to = |new: &[RenderedFile]| {
        plan(
            new,
            Some(&manifest_of(&old_refs)),
            &on_disk(&old_refs),
            "/inv.toml",
            PlanOptions::default(),
        )
    };
    let described: Vec<RenderedFile> = old
        .iter()
        .map(|f| with(f, format!("[Unit]\nDescription=new words\n{}", f.text)))
        .collect();
    let p = plan_to(&described);
    assert_eq!(
        p.steps,
        Steps {
            reload: true,
            ..Steps::default()
        },
        "a reload, no restart, no network recreated"
    );
    assert!(
        p.units.iter().all(|u| u.action == Action::Stay),
        "{:?}",
        p.units
    );
    assert_eq!(
        p.units[0].reason,
        "only Description= changed: applied by the reload, not restarted"
    );
    assert!(p.notes.is_empty(), "no volume warning: {:?}", p.notes);
    assert_eq!(
        ops(&p),
        [
            ("a.container", FileOp::Change, false),
            ("n.network", FileOp::Change, false),
            ("v.volume", FileOp::Change, false),
        ]
    );
    for f in &described {
        assert_eq!(
            p.manifest.files[&f.file_name].sha256,
            f.sha256(),
            "the manifest records the new file"
        );
    }

    let commented: Vec<RenderedFile> = old
        .iter()
        .map(|f| with(f, format!("# a new comment\n{}", f.text)))
        .collect();
    let p = plan_to(&commented);
    assert_eq!(
        p.steps,
        Steps {
            reload: true,
            ..Steps::default()
        }
    );
    assert_eq!(p.units[0].reason, "only comments changed; not restarted");

    // The same words with a changed image: restarted (and the network recreated).
    let changed: Vec<RenderedFile> = described
        .iter()
        .map(|f| with(f, f.text.replace(":1\n", ":2\n").replace(".1.0/", ".2.0/")))
        .collect();
    let p = plan_to(&changed);
    assert_eq!(p.steps.restart, strings(&["a.service"]));
    assert_eq!(p.steps.network_rm, strings(&["n"]));
}

#[test]
fn a_held_file_is_left_alone_and_a_release_takes_it_back() {
    let a1 = unit("a.container", "1", true, &[]);
    let a2 = unit("a.container", "2", true, &[]);
    let b1 = unit("b.container", "1", true, &[]);
    let b2 = unit("b.container", "2", true, &[]);
    let c1 = unit("c.container", "1", true, &[]);
    let held_a = "# a.container\n[Container]\nImage=docker.io/library/a:1\nEnvironment=DEBUG=1\n";
    let mut m = manifest_of(&[&a1, &b1, &c1]);
    m.held.insert("a.container".into());
    m.held.insert("c.container".into());
    let disk = disk(&[
        ("a.container", held_a),
        ("b.container", &b1.text),
        ("c.container", &c1.text),
    ]);
    // a changes in the inventory and c leaves it: both held, neither touched; b changes.
    let p = plan(
        &[a2.clone(), b2.clone()],
        Some(&m),
        &disk,
        "/inv.toml",
        PlanOptions::default(),
    );
    assert!(!p.is_refused(), "{:?}", p.conflicts);
    assert_eq!(ops(&p), vec![("b.container", FileOp::Change, false)]);
    assert_eq!(p.steps.restart, strings(&["b.service"]));
    assert!(
        p.steps.stop.is_empty(),
        "a held unit that left is not stopped"
    );
    let held: Vec<(&str, Option<&str>)> = p
        .held
        .iter()
        .map(|h| (h.file_name.as_str(), h.ours.as_deref()))
        .collect();
    assert_eq!(
        held,
        vec![
            ("a.container", Some(a2.text.as_str())),
            ("c.container", None)
        ]
    );
    assert_eq!(p.manifest.files["a.container"], m.files["a.container"]);
    assert_eq!(p.manifest.files["c.container"], m.files["c.container"]);
    assert_eq!(p.manifest.held, m.held);
    assert!(p.to_text(false).contains("= held a.container"));

    // The release of a: written over the held edit (kept as a backup), restarted; c stays held.
    let release = BTreeSet::from(["a.container".to_string()]);
    let p = plan_releasing(
        &[a2.clone(), b1.clone()],
        Some(&m),
        &disk,
        "/inv.toml",
        PlanOptions::default(),
        &release,
    );
    assert_eq!(ops(&p), vec![("a.container", FileOp::Change, true)]);
    assert_eq!(p.steps.restart, strings(&["a.service"]));
    assert_eq!(p.manifest.held, BTreeSet::from(["c.container".to_string()]));
    assert_eq!(p.manifest.files["a.container"].sha256, a2.sha256());

    // Without the hold, the same edit is refused as before.
    m.held.clear();
    let p = plan(
        &[a1.clone(), b1.clone(), c1.clone()],
        Some(&m),
        &disk,
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].kind, ConflictKind::Edited);
}

#[test]
fn a_restart_owed_to_a_held_unit_is_done_and_says_why() {
    // `quadgen edit --no-systemd` wrote the edit and owes its restart; an install follows.
    let a1 = unit("a.container", "1", true, &[]);
    let edited = "# a.container\n[Container]\nImage=docker.io/library/a:1\nEnvironment=DEBUG=1\n";
    let mut m = manifest_of(&[&a1]);
    m.held.insert("a.container".into());
    m.pending = Some(Pending {
        reload: true,
        restart: strings(&["a.service"]),
        ..Pending::default()
    });
    let plan_with = |m: &Manifest| {
        plan(
            std::slice::from_ref(&a1),
            Some(m),
            &disk(&[("a.container", edited)]),
            "/inv.toml",
            PlanOptions::default(),
        )
    };
    let p = plan_with(&m);
    assert!(ops(&p).is_empty(), "the held file is not written");
    assert_eq!(p.steps.restart, strings(&["a.service"]));
    assert_eq!(p.units[0].action, Action::Restart);
    assert_eq!(
        p.units[0].reason,
        "owed by an earlier install (interrupted, or run with --no-systemd); its file is held \
         (`quadgen edit`) and kept as it is"
    );
    // Without owed work the held unit stays, and its reason says it is held.
    m.pending = None;
    let p = plan_with(&m);
    assert!(p.steps.restart.is_empty());
    assert!(p.units[0].reason.starts_with("held (`quadgen edit`)"));
}

#[test]
fn edit_writes_reloads_restarts_and_holds() {
    let a1 = unit("a.container", "1", true, &[]);
    let m = manifest_of(&[&a1]);
    let edited = a1
        .text
        .replace("[Container]\n", "[Container]\nEnvironment=DEBUG=1\n");
    let p = hold::edit(&m, "a.container", &a1.text, &edited).expect("managed");
    assert_eq!(ops(&p), vec![("a.container", FileOp::Change, false)]);
    assert!(p.steps.reload);
    assert_eq!(p.steps.restart, strings(&["a.service"]));
    assert!(p.manifest.held.contains("a.container"));
    assert_eq!(
        p.manifest.files, m.files,
        "the record of quadgen's version is kept"
    );
    // The intent already holds it: a crash after the write leaves a held file, not an edit.
    assert!(p.intent(Some(&m)).held.contains("a.container"));
    assert!(hold::edit(&m, "b.container", "", "").is_none());
    let h = hold::hold(&m, "a.container").expect("managed");
    assert!(h.manifest_changed && h.steps.is_empty() && h.files.is_empty());
}

#[test]
fn names_resolve_to_files_with_a_did_you_mean() {
    let m = manifest_of(&[
        &unit("web.container", "1", true, &[]),
        &unit("app.network", "1", true, &[]),
    ]);
    for (name, file) in [
        ("web", "web.container"),
        ("web.service", "web.container"),
        ("web.container", "web.container"),
        ("app", "app.network"),
        ("app-network.service", "app.network"),
    ] {
        assert_eq!(hold::resolve(Some(&m), name).as_deref(), Ok(file), "{name}");
    }
    let err = hold::resolve(Some(&m), "wbe").expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "`wbe` is not a unit quadgen manages here (did you mean `web`?); give a file name, a service or an inventory name (app.network, web.container)"
    );
}

mod secret_plans {
    use super::*;
    use crate::host::secrets::SecretOwner;
    use crate::install::manifest::SecretRecord;
    use crate::install::plan::secrets::{SecretOp, SecretState};

    fn state(name: &str, hmac: char, consumers: &[&str], owner: SecretOwner) -> SecretState {
        SecretState {
            name: name.into(),
            file: format!("/run/secrets/{name}"),
            consumers: strings(consumers),
            hmac_sha256: hmac.to_string().repeat(64),
            owner,
        }
    }

    /// Three running containers (`c` not auto_start), a manifest recording secret `db` with
    /// fingerprint `a`.
    fn installed() -> (Vec<RenderedFile>, Manifest) {
        let files = vec![
            unit("a.container", "1", true, &[]),
            unit("b.container", "1", true, &[]),
            unit("c.container", "1", false, &[]),
        ];
        let mut m = manifest_of(&files.iter().collect::<Vec<_>>());
        m.secrets.insert(
            "db".into(),
            SecretRecord {
                hmac_sha256: "a".repeat(64),
            },
        );
        (files, m)
    }

    fn plan_of(files: &[RenderedFile], m: &Manifest, secrets: &[SecretState]) -> Plan {
        plan_with_secrets(
            files,
            secrets,
            Some(m),
            &on_disk(&files.iter().collect::<Vec<_>>()),
            "/inv.toml",
            PlanOptions::default(),
            &BTreeSet::new(),
        )
    }

    #[test]
    fn unchanged_secret_does_nothing() {
        let (files, m) = installed();
        let db = state("db", 'a', &["a.service"], SecretOwner::Quadgen);
        let p = plan_of(&files, &m, &[db]);
        assert!(p.is_noop(), "{:?}", p.steps);
    }

    #[test]
    fn changed_secret_restarts_exactly_its_consumers() {
        let (files, m) = installed();
        let db = state("db", 'b', &["a.service", "c.service"], SecretOwner::Quadgen);
        let p = plan_of(&files, &m, &[db]);
        assert_eq!(p.steps.secret_sync, strings(&["db"]));
        assert_eq!(p.steps.restart, strings(&["a.service"]));
        assert_eq!(
            p.steps.try_restart,
            strings(&["c.service"]),
            "not auto_start"
        );
        assert!(!p.steps.reload, "no unit file changed");
        assert_eq!(
            actions(&p),
            vec![
                ("a.service", Action::Restart),
                ("b.service", Action::Stay),
                ("c.service", Action::Restart),
            ]
        );
        assert_eq!(p.secrets.changes[0].op, SecretOp::Replace);
        assert_eq!(p.manifest.secrets["db"].hmac_sha256, "b".repeat(64));
        let text = p.to_text(false);
        assert!(
            text.contains("replace  db (content changed; restarts a.service, c.service)"),
            "{text}"
        );
        assert!(
            !text.contains(&"b".repeat(64)),
            "no fingerprint in the output"
        );
    }

    #[test]
    fn new_secret_is_created_and_restarts_nothing() {
        let (files, mut m) = installed();
        m.secrets.clear();
        let db = state("db", 'a', &["a.service"], SecretOwner::Absent);
        let p = plan_of(&files, &m, &[db]);
        assert_eq!(p.steps.secret_sync, strings(&["db"]));
        assert!(p.steps.restart.is_empty() && p.steps.try_restart.is_empty());
        // Without a record but with quadgen's secret in podman (a lost manifest), the content
        // the consumers run with is unknown: they restart.
        let db = state("db", 'a', &["a.service"], SecretOwner::Quadgen);
        let p = plan_of(&files, &m, &[db]);
        assert_eq!(p.steps.restart, strings(&["a.service"]));
    }

    #[test]
    fn someone_elses_secret_refuses_the_plan() {
        let (files, mut m) = installed();
        m.secrets.clear();
        let db = state("db", 'a', &["a.service"], SecretOwner::Foreign);
        let p = plan_of(&files, &m, &[db]);
        assert!(p.is_refused());
        assert_eq!(p.secrets.conflicts[0].name, "db");
        assert!(
            p.to_text(false)
                .contains("refused: podman secret `db` exists and quadgen did not create it"),
            "{}",
            p.to_text(false)
        );
        assert!(p.steps.secret_sync.is_empty());
    }

    #[test]
    fn owed_or_vanished_secret_is_given_again_without_restart() {
        let (files, mut m) = installed();
        let db = state("db", 'a', &["a.service"], SecretOwner::Absent);
        let p = plan_of(&files, &m, &[db]);
        assert_eq!(p.steps.secret_sync, strings(&["db"]));
        assert!(p.steps.restart.is_empty());
        m.pending = Some(Pending {
            secret_sync: strings(&["db"]),
            ..Pending::default()
        });
        let db = state("db", 'a', &["a.service"], SecretOwner::Unknown);
        let p = plan_of(&files, &m, &[db]);
        assert_eq!(p.steps.secret_sync, strings(&["db"]));
        assert_eq!(
            p.steps.restart,
            strings(&["a.service"]),
            "an owed secret restarts its consumers once podman has it"
        );
        assert_eq!(p.secrets.changes[0].op, SecretOp::Resync);
    }

    #[test]
    fn a_secret_no_container_uses_is_removed() {
        let (files, m) = installed();
        let p = plan_of(&files, &m, &[]);
        assert_eq!(p.steps.secret_rm, strings(&["db"]));
        assert!(p.manifest.secrets.is_empty());
        assert!(p.steps.restart.is_empty());
    }
}

/// A pod `p` with members `a` (auto_start) and `b`, and a member `c` that is not auto_start.
fn pod_units(pod_version: &str, a_version: &str) -> Vec<RenderedFile> {
    vec![
        unit("a.container", a_version, true, &["p-pod.service"]),
        unit("b.container", "1", true, &["p-pod.service"]),
        unit("c.container", "1", false, &["p-pod.service"]),
        unit("p.pod", pod_version, true, &[]),
    ]
}

#[test]
fn new_pod_starts_with_its_auto_start_members() {
    let desired = pod_units("1", "1");
    let p = plan(
        &desired,
        None,
        &Observed::default(),
        "/inv.toml",
        PlanOptions::default(),
    );
    // `c` is not auto_start, but the pod's service `Wants=` it: it starts with the pod.
    assert_eq!(
        p.steps.start,
        strings(&["a.service", "b.service", "c.service", "p-pod.service"])
    );
    assert_eq!(p.manifest.files["p.pod"].service, "p-pod.service");
    assert_eq!(
        p.notes,
        [
            "pod `p.pod` runs as `p-pod.service`: podman pod `p`, infra container `p-infra`, members a.service, b.service, c.service"
        ]
    );
}

#[test]
fn changed_pod_restarts_and_its_members_are_started_and_watched() {
    let old = pod_units("1", "1");
    let new = pod_units("2", "1");
    let refs: Vec<&RenderedFile> = old.iter().collect();
    let p = plan(
        &new,
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    // systemd restarts the running members with the pod (BindsTo=); install starts the
    // auto_start ones after, which waits for them and puts them in the settle watch.
    assert_eq!(p.steps.restart, strings(&["p-pod.service"]));
    assert_eq!(
        p.steps.start,
        strings(&["a.service", "b.service", "c.service"])
    );
    assert!(p.steps.stop.is_empty());
    let a = p
        .units
        .iter()
        .find(|u| u.service == "a.service")
        .expect("a.service is planned");
    assert!(a.reason.contains("p-pod.service"), "{}", a.reason);
}

#[test]
fn changed_member_restarts_alone() {
    let old = pod_units("1", "1");
    let new = pod_units("1", "2");
    let refs: Vec<&RenderedFile> = old.iter().collect();
    let p = plan(
        &new,
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(
        p.steps,
        Steps {
            reload: true,
            restart: strings(&["a.service"]),
            ..Steps::default()
        }
    );
}

#[test]
fn removed_member_is_the_only_unit_stopped() {
    let old = pod_units("1", "1");
    let refs: Vec<&RenderedFile> = old.iter().collect();
    let new: Vec<RenderedFile> = old
        .iter()
        .filter(|f| f.file_name != "a.container")
        .cloned()
        .collect();
    let p = plan(
        &new,
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(
        p.steps,
        Steps {
            stop: strings(&["a.service"]),
            reload: true,
            ..Steps::default()
        }
    );
    assert_eq!(ops(&p), [("a.container", FileOp::Remove, false)]);
}

#[test]
fn changed_network_of_a_pod_recreates_it_with_the_pod_and_its_members() {
    let n1 = unit("app.network", "1", false, &[]);
    let n2 = unit("app.network", "2", false, &[]);
    let pod = unit("p.pod", "1", true, &["app-network.service"]);
    let a = unit("a.container", "1", true, &["p-pod.service"]);
    let c = unit("c.container", "1", false, &["p-pod.service"]);
    let p = plan(
        &[n2, pod.clone(), a.clone(), c.clone()],
        Some(&manifest_of(&[&n1, &pod, &a, &c])),
        &on_disk(&[&n1, &pod, &a, &c]),
        "/inv.toml",
        PlanOptions::default(),
    );
    assert_eq!(
        p.steps,
        Steps {
            stop: strings(&[
                "a.service",
                "app-network.service",
                "c.service",
                "p-pod.service"
            ]),
            network_rm: strings(&["app"]),
            reload: true,
            restart: strings(&["a.service", "p-pod.service"]),
            try_restart: vec![],
            // `c` is not auto_start, but the pod it stopped with `Wants=` it back.
            start: strings(&["app-network.service", "c.service"]),
            ..Steps::default()
        }
    );
}

#[test]
fn changed_pod_that_is_not_auto_start_restarts_with_its_members_only_if_running() {
    let pod_units = |version: &str| {
        vec![
            unit("a.container", "1", true, &["p-pod.service"]),
            unit("p.pod", version, false, &[]),
        ]
    };
    let old = pod_units("1");
    let refs: Vec<&RenderedFile> = old.iter().collect();
    let p = plan(
        &pod_units("2"),
        Some(&manifest_of(&refs)),
        &on_disk(&refs),
        "/inv.toml",
        PlanOptions::default(),
    );
    // Starting `a` would start the pod (BindsTo=): both only restart if running.
    assert_eq!(
        p.steps,
        Steps {
            reload: true,
            try_restart: strings(&["a.service", "p-pod.service"]),
            ..Steps::default()
        }
    );
}
