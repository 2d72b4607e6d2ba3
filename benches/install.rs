//! Install of a 1,000-container inventory into an empty tmpfs directory, a no-op re-install, and
//! one changed container out of 1,000, through a recording systemd (counts calls, runs nothing).
//! Timed: reading the manifest and the files, planning, applying. Not timed: compiling the
//! inventory (the same for every install). Before the timings, one run of each prints the files
//! written and the systemd calls.
//!
//! `cargo bench --bench install`

use std::cell::Cell;
use std::path::{Path, PathBuf};

use quadgen::compile::render::RenderedFile;
use quadgen::compile::version::PodmanVersion;
use quadgen::host::systemd::{NetworkRmError, SecretOwner, Systemd, SystemdError, UnitState};
use quadgen::install::Outcome;
use quadgen::install::apply::Report;
use quadgen::install::plan::PlanOptions;

#[path = "../tests/support/recording.rs"]
mod recording;
use recording::Recording;

const CONTAINERS: usize = 1000;

fn inventory(changed: Option<usize>) -> String {
    let mut s = String::new();
    for n in 0..10 {
        s.push_str(&format!("[networks.net{n}]\n"));
    }
    for i in 0..CONTAINERS {
        let tag = if changed == Some(i) { "2" } else { "1" };
        s.push_str(&format!(
            "[containers.c{i:04}]\nimage = \"docker.io/library/nginx:{tag}\"\nnetworks = [\"net{}\"]\nports = [\"{}:80\"]\nvolumes = [\"/srv/c{i:04}:/data\"]\nenvironment = {{ ID = \"{i}\" }}\n\n",
            i % 10,
            10000 + i
        ));
    }
    s
}

fn compile(changed: Option<usize>) -> Vec<RenderedFile> {
    match quadgen::compile::compile(
        Path::new("bench.toml"),
        &inventory(changed),
        PodmanVersion::DEFAULT,
    ) {
        Ok(c) => c.files,
        Err(r) => panic!("{}", r.render(false)),
    }
}

/// What `quadgen install` does after compiling: read, plan, apply (the library's install
/// sequence).
fn install(root: &Path, desired: &[RenderedFile], systemd: &mut Recording) -> Report {
    let outcome = quadgen::install::run(
        root,
        quadgen::install::Wanted::files(desired),
        "/bench.toml",
        PlanOptions::default(),
        systemd,
        0,
        |_| {},
    )
    .expect("install");
    match outcome {
        Outcome::Applied { report, .. } => report,
        Outcome::UpToDate(_) => Report::default(),
        Outcome::Refused(plan) => panic!("refused: {:?}", plan.conflicts),
    }
}

fn shm() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(shm()).expect("tempdir")
}

fn summary() {
    let v1 = compile(None);
    let v2 = compile(Some(500));
    let dir = tempdir();
    let show = |what: &str, report: &Report, systemd: &Recording| {
        let calls: Vec<String> = systemd
            .calls
            .iter()
            .map(|c| {
                let mut words = c.split(' ');
                let verb = words.next().unwrap_or_default();
                let units = words.count();
                if units > 3 {
                    format!("{verb} <{units} units>")
                } else {
                    c.clone()
                }
            })
            .collect();
        println!(
            "{what}: {} unit files written, manifest written: {}, {} systemd calls {:?}",
            report.written.len(),
            report.manifest_written,
            systemd.calls.len(),
            calls
        );
    };
    let mut s = Recording::default();
    let r = install(dir.path(), &v1, &mut s);
    show("fresh install", &r, &s);
    let mut s = Recording::default();
    let r = install(dir.path(), &v1, &mut s);
    show("no-op re-install", &r, &s);
    let mut s = Recording::default();
    let r = install(dir.path(), &v2, &mut s);
    show("one changed", &r, &s);
}

/// The binary's allocator, tuned the same way, so the figures are the binary's. (It matters:
/// compiling 1,000 in process took 24.4 ms with glibc's malloc on two threads, 13.7 on one; with
/// mimalloc 5.9 ms on two, 9.9 on one.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    quadgen::cli::keep_freed_memory();
    summary();
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn fresh_install(bencher: divan::Bencher) {
    let desired = compile(None);
    bencher.with_inputs(tempdir).bench_local_values(|dir| {
        install(dir.path(), &desired, &mut Recording::default());
        dir
    });
}

#[divan::bench(sample_count = 50)]
fn noop_reinstall(bencher: divan::Bencher) {
    let desired = compile(None);
    let dir = tempdir();
    install(dir.path(), &desired, &mut Recording::default());
    bencher.bench_local(|| {
        let mut systemd = Recording::default();
        let report = install(dir.path(), &desired, &mut systemd);
        assert!(report.written.is_empty() && systemd.calls.is_empty());
    });
}

#[divan::bench(sample_count = 50)]
fn one_changed(bencher: divan::Bencher) {
    let versions = [compile(None), compile(Some(500))];
    let dir = tempdir();
    install(dir.path(), &versions[0], &mut Recording::default());
    let next = Cell::new(1usize);
    bencher.bench_local(|| {
        let i = next.get();
        next.set(1 - i);
        let mut systemd = Recording::default();
        let report = install(dir.path(), &versions[i], &mut systemd);
        assert_eq!(report.written.len(), 1);
        assert_eq!(systemd.calls.len(), 2);
    });
}
