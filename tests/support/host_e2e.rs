//! Shared pieces of the host-integration end-to-end tests (tests/e2e_auto_update.rs,
//! tests/e2e_host_units.rs, tests/e2e_nixos_hook.rs): the web image as another machine would
//! publish it, step timings, and waiting for what a user would see.
#![allow(dead_code)] // each test binary uses only part of this module

use crate::nspawn::{Machine, REGISTRY};
use std::time::{Duration, Instant};

/// The image every test runs: `127.0.0.1:5000/web:latest` in the machine's own registry.
pub fn web_image() -> String {
    format!("{REGISTRY}/web:latest")
}

/// Publishes a web image serving `files` (paths under `/www`) as `127.0.0.1:5000/web:latest`, as
/// a CI job on another machine would: built under a scratch tag, pushed to the registry, and the
/// scratch tag removed again. The local `127.0.0.1:5000/web:latest` tag is never touched, so it
/// still names the image the running container uses, as on a real host, and the new image exists
/// only in the registry: whoever wants it has to pull it. Returns the image ID.
pub fn publish_web(m: &Machine, version: &str, files: &[(&str, &str)]) -> String {
    let scratch = format!("localhost/qg-build/web:{version}");
    let id = m.build_image(&scratch, files);
    m.run_ok([
        "podman",
        "push",
        "--quiet",
        scratch.as_str(),
        &format!("docker://{}", web_image()),
    ]);
    m.remove_image(&scratch);
    let left = m.run(["podman", "image", "exists", id.as_str()]);
    assert!(
        !left.status.success(),
        "image {id} ({version}) is still in local storage after publishing"
    );
    id
}

/// The body `GET url` returns inside the machine, retried until `timeout` (a freshly started
/// container may need a moment before its published port answers).
pub fn wait_http(m: &Machine, url: &str, want: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let got = m.http_get(url);
        if got.as_deref() == Ok(want) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "GET {url}: wanted {want:?}, still {got:?} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `f` returns `Some`, polling every 100 ms; panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "{what}: not after {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ID of the image a container runs (`podman inspect --format {{.Image}}`).
pub fn container_image(m: &Machine, container: &str) -> String {
    m.run_ok(["podman", "inspect", "--format", "{{.Image}}", container])
        .trim()
        .to_owned()
}

/// Step timings, printed as they happen (visible with `--nocapture`) and summed up at the end.
pub struct Steps {
    test: &'static str,
    start: Instant,
    last: Instant,
    done: Vec<(String, Duration)>,
}

impl Steps {
    pub fn new(test: &'static str) -> Steps {
        let now = Instant::now();
        Steps {
            test,
            start: now,
            last: now,
            done: Vec::new(),
        }
    }

    /// Ends the current step and returns how long it took.
    pub fn step(&mut self, what: &str) -> Duration {
        let now = Instant::now();
        let took = now - self.last;
        self.last = now;
        eprintln!("[{}] {what}: {:.2} s", self.test, took.as_secs_f64());
        self.done.push((what.to_owned(), took));
        took
    }

    /// Prints the total.
    pub fn finish(self) {
        eprintln!(
            "[{}] total: {:.2} s",
            self.test,
            self.start.elapsed().as_secs_f64()
        );
    }
}
