//! The Compose oracle: Debian's `docker-compose` (v2), trixie's 2.26 and sid's newest, from
//! `bash tests/provision.sh compose`. `docker-compose config --format json` prints Compose's own
//! normalized model of a project and needs no daemon. A missing binary fails the test unless
//! `QUADGEN_SKIP_COMPOSE=1` is set, in which case the test says loudly that it skipped
//! (tests/support/skip.rs).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One real docker-compose binary.
#[derive(Debug, Clone)]
pub struct Compose {
    pub suite: &'static str,
    pub bin: PathBuf,
    pub version: String,
}

/// Both docker-compose binaries (trixie first), or none after a loud skip notice.
pub fn composes() -> Vec<Compose> {
    let mut found = Vec::new();
    for suite in ["trixie", "sid"] {
        let bin = crate::skip::cache_dir()
            .join("compose")
            .join(suite)
            .join("usr/libexec/docker/cli-plugins/docker-compose");
        if !bin.is_file() {
            crate::skip::skip_or_fail(
                "QUADGEN_SKIP_COMPOSE",
                &format!("docker-compose ({suite}) is missing at {}", bin.display()),
                "run `bash tests/provision.sh compose` first",
            );
            return Vec::new();
        }
        let out = Command::new(&bin)
            .args(["version", "--short"])
            .output()
            .expect("run docker-compose version");
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        found.push(Compose {
            suite,
            bin,
            version,
        });
    }
    found
}

/// The environment both Compose and the importer see: fixed, so results do not depend on the
/// machine running the test.
pub fn test_environment() -> BTreeMap<String, String> {
    [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/root"),
        ("USER", "root"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Compose {
    /// `docker-compose -f FILE… config --format json` in `dir`: Ok(JSON text) or Err(stderr).
    pub fn config(&self, dir: &Path, files: &[&Path], extra: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(dir).env_clear().envs(test_environment());
        for f in files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(extra).args(["config", "--format", "json"]);
        let out = cmd.output().expect("run docker-compose");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}
