//! End-to-end test machines: a real systemd 257 + podman 5.4.2 (Debian trixie) booted as PID 1 in
//! `systemd-nspawn`, driven from Rust integration tests.
//!
//! # Use
//!
//! ```ignore
//! #[path = "support/nspawn.rs"]
//! mod nspawn;
//! use nspawn::Machine;
//!
//! #[test]
//! fn something_a_user_would_see() {
//!     let Some(m) = Machine::boot_with(std::path::Path::new(env!("CARGO_BIN_EXE_quadgen"))) else {
//!         return; // QUADGEN_SKIP_E2E=1 and no usable environment: a SKIPPED line was printed
//!     };
//!     m.write_file("/etc/containers/systemd/web.container", "...");
//!     m.run_ok(["quadgen", "install", "/root/inventory.toml"]);
//!     m.wait_active("web.service", std::time::Duration::from_secs(60));
//! } // dropping `m` halts the machine, also when the test panics
//! ```
//!
//! Provision the cached root once with `bash tests/provision.sh` (as root). Without it, or without
//! root or systemd-nspawn, [`Machine::boot`] fails the test with a message saying so, unless
//! `QUADGEN_SKIP_E2E=1` is set (and not `CI=true`): then it prints `SKIPPED: <test>: …` to the
//! terminal and returns `None` (tests/support/skip.rs). It never skips silently.
//!
//! # How a machine is made
//!
//! * The cached root (`${QUADGEN_CACHE:-$HOME/.cache/quadgen-test}/e2e-root`, made by
//!   `tests/provision/e2e-root.sh`) is never written: nspawn's `--volatile=overlay` puts a tmpfs
//!   overlay over it, so each boot starts from the same fresh system and all its writes vanish at
//!   halt. Podman's overlay driver refuses an overlayfs backing store, so `/var/lib/containers` is a
//!   separate tmpfs (`--tmpfs=`). Several machines can run at once from the same root (the lower
//!   layer is shared read-only), each with its own name, cgroup and `--private-network` netns: the
//!   registry on 127.0.0.1:5000, podman bridges and published ports exist only inside.
//!   Measured on this VM (2 cores, 23 GiB, ext4): with `--volatile=overlay` a boot reaches
//!   `running` in 0.45–1.0 s (three at once: 1.2–1.5 s each) and costs no copy at all; a fresh
//!   copy of the 325 MB root with `cp -a --reflink=auto` (ext4 has no reflinks) takes 0.9–1.1 s
//!   plus 0.17 s to delete, or 0.38 s into tmpfs at 325 MB of RAM per machine, before the boot.
//!   Halting takes 0.15 s idle and about 0.5 s with quadlet containers that use `RunInit=true`, but
//!   10 s per container whose PID 1 ignores SIGTERM (busybox httpd without an init): podman's stop
//!   timeout. Give test containers `RunInit=true`.
//! * This VM's quirks (see `/work/shared/reference/e2e-nspawn-recipe.sh`): PID 1 of the VM is not
//!   systemd and cgroups are hybrid v1/v2, so nspawn is started inside a fresh cgroup of ours in both
//!   `/sys/fs/cgroup/systemd` and `/sys/fs/cgroup/unified` with
//!   `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1`; no controllers are delegated to the nested cgroup2 tree
//!   (the provisioned `containers.conf.d` sets `pids_limit = 0`); crun cannot raise rlimits above
//!   the hard limits of the process that started nspawn, so each boot writes
//!   `/etc/containers/containers.conf.d/60-quadgen-e2e-ulimits.conf` from this process's own hard
//!   limits.
//! * Commands run in the machine's namespaces (`nsenter -t <leader> -a`). [`Machine::run`] and
//!   [`Machine::sh`] wrap them in a transient service (`systemd-run --wait --pipe --collect
//!   -p Type=exec`) so that they get a proper cgroup, as a command typed at a root shell would;
//!   [`Machine::exec`] runs them directly (faster: about 5 ms against 35–70 ms; fine for
//!   `systemctl`, `cat`, `ip`). `--expand-environment=no` keeps systemd from expanding `$VAR` and
//!   `$$` in argv, so `m.sh("a=$?; echo $a")` means what it says.
//!   The transient service sets `INVOCATION_ID=` (empty): podman keeps conmon inside the calling
//!   unit when it sees `$INVOCATION_ID`, so `podman run -d` would otherwise leave conmon behind in
//!   the transient service, which then hangs 90 s in `stop-sigterm`.
//! * Dropping a [`Machine`] halts it: SIGTERM to nspawn (a clean shutdown of the machine), a second
//!   SIGTERM (immediate termination) if it takes too long, then `cgroup.kill` and SIGKILL; then the
//!   cgroups and the temporary directory are removed. Machines left behind by a test process that
//!   was killed outright (SIGKILL: no destructors) are reaped by the next [`Machine::boot`].
#![allow(dead_code)] // each test binary uses only part of this API

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The registry inside every machine (docker-registry.service, plain HTTP, `insecure` in
/// registries.conf). Push images here; quadlet units pull `127.0.0.1:5000/NAME:TAG`.
pub const REGISTRY: &str = "127.0.0.1:5000";

/// How long one command may take, unless a `*_timeout` variant says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// How long [`Machine::boot`] waits for `systemctl is-system-running` to say `running`.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long the clean shutdown may take before the machine is terminated.
const HALT_TIMEOUT: Duration = Duration::from_secs(20);

/// Environment variable that turns "cannot run" into a loud skip instead of a failure.
pub const SKIP_ENV: &str = "QUADGEN_SKIP_E2E";

/// Prefix of machine names, cgroups and temporary directories (used to reap leftovers).
const PREFIX: &str = "qg-e2e-";

/// PATH inside the machine for directly executed commands.
const MACHINE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The cgroup hierarchies nspawn must be placed in on this VM (hybrid v1 + v2).
const CGROUP_V1_SYSTEMD: &str = "/sys/fs/cgroup/systemd";
const CGROUP_V2: &str = "/sys/fs/cgroup/unified";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The cached root that every machine boots from.
pub fn root_dir() -> PathBuf {
    crate::skip::cache_dir().join("e2e-root")
}

/// The cached root of the rootless machines: the e2e root plus uidmap, passt, libpam-systemd and
/// dbus-user-session (`tests/provision/e2e-rootless.sh`).
pub fn rootless_root_dir() -> PathBuf {
    crate::skip::cache_dir().join("e2e-root-rootless")
}

/// A booted machine. All methods panic with a readable message (command, exit status, stdout,
/// stderr) when the harness itself cannot do what was asked; the plain `run`/`sh`/`exec`/
/// `systemctl` return the [`Output`] so tests can assert on failures too.
pub struct Machine {
    name: String,
    nspawn: Child,
    leader: u32,
    run_dir: PathBuf,
    console_log: PathBuf,
    cgroups: [PathBuf; 2],
    halted: bool,
    boot_time: Duration,
    /// For a machine that can reboot ([`Machine::boot_rootless_with`]): the root it boots from and
    /// the directory that keeps its writes (nspawn `--overlay=ROOT:UPPER:/`) across reboots.
    persistent: Option<(PathBuf, PathBuf)>,
}

impl Machine {
    /// Boots a fresh machine from the cached root and waits until it is `running`.
    ///
    /// Returns `None` only when the environment cannot run machines and `QUADGEN_SKIP_E2E=1` is
    /// set (after printing a `SKIPPED` line to stderr); panics in every other failure.
    pub fn boot() -> Option<Machine> {
        let root = match check_environment() {
            Ok(root) => root,
            Err(reason) => return skip_or_fail(&reason),
        };
        reap_stale_machines();
        Some(Machine::start(&root))
    }

    /// [`Machine::boot`], then installs the quadgen binary built for this test crate (pass
    /// `env!("CARGO_BIN_EXE_quadgen")`) as `/usr/local/bin/quadgen`, so `quadgen` is on PATH.
    pub fn boot_with(quadgen: &Path) -> Option<Machine> {
        let m = Machine::boot()?;
        m.install_binary(quadgen, "/usr/local/bin/quadgen");
        Some(m)
    }

    /// [`Machine::boot_with`] from the rootless root ([`rootless_root_dir`]), with its writes kept
    /// in a directory of its own instead of a tmpfs, so [`Machine::reboot`] comes back to the same
    /// files (users, linger, units, the user's images).
    pub fn boot_rootless_with(quadgen: &Path) -> Option<Machine> {
        if let Err(reason) = check_environment() {
            return skip_or_fail(&reason);
        }
        let root = rootless_root_dir();
        if !root.join(".quadgen-e2e-root").is_file() {
            return skip_or_fail(&format!(
                "no provisioned rootless root at `{}` (run `bash tests/provision.sh e2e-rootless`)",
                root.display()
            ));
        }
        reap_stale_machines();
        let upper = std::env::temp_dir().join(format!(
            "{PREFIX}{}-{}-upper",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&upper)
            .unwrap_or_else(|e| panic!("cannot create `{}`: {e}", upper.display()));
        let m = Machine::start_on(&root, Some(upper));
        m.install_binary(quadgen, "/usr/local/bin/quadgen");
        Some(m)
    }

    /// Reboots a machine of [`Machine::boot_rootless_with`]: a clean shutdown (SIGTERM to nspawn,
    /// as a power-off), then a boot on the same files. Returns how long the boot took.
    pub fn reboot(&mut self) -> Duration {
        let (root, upper) = self
            .persistent
            .take()
            .expect("only a machine of boot_rootless_with can reboot");
        if let Err(e) = self.shutdown() {
            panic!("reboot: {e}");
        }
        *self = Machine::start_on(&root, Some(upper));
        self.boot_time
    }

    /// The machine's name (also its hostname and the name of its host cgroups).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host PID of the machine's PID 1 (systemd).
    pub fn leader_pid(&self) -> u32 {
        self.leader
    }

    /// How long the boot took, from spawning nspawn to `is-system-running` = `running`.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// Copies an executable from the host into the machine at `dest` (mode 0755).
    pub fn install_binary(&self, host_path: &Path, dest: &str) {
        let bytes = fs::read(host_path)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", host_path.display()));
        self.write_file(dest, bytes);
        self.exec_ok(["chmod", "0755", dest]);
    }

    // ------------------------------------------------------------------------------------------
    // Running commands

    /// Runs `argv` inside the machine as a transient service (`systemd-run --wait --pipe
    /// --collect -p Type=exec`): its own cgroup, the service manager's environment (PATH set,
    /// `HOME=/root`), working directory `/`, stdin empty. `argv` reaches the command unchanged
    /// (`--expand-environment=no`: systemd does not expand `$VAR` or `$$`). The exit code is the
    /// command's; a command killed by a signal shows as a failure (systemd-run exits 255).
    /// Gives up after [`DEFAULT_TIMEOUT`].
    pub fn run<I, S>(&self, argv: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_timeout(argv, DEFAULT_TIMEOUT)
    }

    /// [`Machine::run`] with `stdin` fed to the command.
    pub fn run_stdin<I, S>(&self, argv: I, stdin: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.transient(argv, Some(stdin), DEFAULT_TIMEOUT)
    }

    /// [`Machine::run`] with a time limit: the transient unit gets `RuntimeMaxSec=`, so past the
    /// limit systemd stops the command and this returns a failed [`Output`] (exit status 1); the
    /// host side panics only if even that does not come back within 5 s more.
    pub fn run_timeout<I, S>(&self, argv: I, timeout: Duration) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.transient(argv, None, timeout)
    }

    fn transient<I, S>(&self, argv: I, stdin: Option<&[u8]>, timeout: Duration) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.nsenter();
        cmd.args([
            "systemd-run",
            "--quiet",
            "--wait",
            "--pipe",
            "--collect",
            "--service-type=exec",
            // argv reaches the command as given: no `$VAR`/`$$` expansion by systemd
            "--expand-environment=no",
            "--setenv=INVOCATION_ID=",
            "--setenv=HOME=/root",
        ]);
        cmd.arg(format!(
            "--property=RuntimeMaxSec={}",
            timeout.as_secs().max(1)
        ));
        cmd.arg("--");
        cmd.args(argv);
        run_command(cmd, stdin, timeout + Duration::from_secs(5))
    }

    /// [`Machine::run`], panicking with the full output unless the command exits 0; returns
    /// stdout.
    pub fn run_ok<I, S>(&self, argv: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let argv: Vec<_> = argv.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&argv);
        expect_success(&argv, &out)
    }

    /// Runs a shell script (`/bin/sh -c SCRIPT`, dash) as [`Machine::run`] does.
    pub fn sh(&self, script: &str) -> Output {
        self.run(["/bin/sh", "-c", script])
    }

    /// [`Machine::sh`], panicking with the full output unless the script exits 0; returns stdout.
    pub fn sh_ok(&self, script: &str) -> String {
        self.run_ok(["/bin/sh", "-c", script])
    }

    /// Runs `argv` directly in the machine's namespaces (no transient unit, so no cgroup of its
    /// own, and a minimal environment: PATH, `HOME=/root`, `LANG=C.UTF-8`). Faster than
    /// [`Machine::run`]; use it for queries (`systemctl`, `cat`, `ip`), not for podman.
    pub fn exec<I, S>(&self, argv: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.nsenter();
        cmd.args(argv);
        run_command(cmd, None, DEFAULT_TIMEOUT)
    }

    /// [`Machine::exec`], panicking with the full output unless the command exits 0; returns
    /// stdout.
    pub fn exec_ok<I, S>(&self, argv: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let argv: Vec<_> = argv.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.exec(&argv);
        expect_success(&argv, &out)
    }

    // ------------------------------------------------------------------------------------------
    // Files

    /// Writes `contents` to `path` inside the machine (creating parent directories, replacing
    /// the file; mode 0644 for a new file).
    pub fn write_file(&self, path: &str, contents: impl AsRef<[u8]>) {
        let mut cmd = self.nsenter();
        cmd.args([
            "/bin/sh",
            "-c",
            r#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1""#,
            "sh",
            path,
        ]);
        let out = run_command(cmd, Some(contents.as_ref()), DEFAULT_TIMEOUT);
        expect_success(&[format!("write_file {path}")], &out);
    }

    /// The contents of `path` inside the machine (lossy UTF-8); panics if it cannot be read.
    pub fn read_file(&self, path: &str) -> String {
        self.exec_ok(["cat", "--", path])
    }

    /// Whether `path` exists inside the machine (without following a final symlink).
    pub fn exists(&self, path: &str) -> bool {
        let out = self.exec(["test", "-e", path, "-o", "-L", path]);
        out.status.success()
    }

    /// Removes `path` (a file, or a directory recursively) inside the machine; no error if absent.
    pub fn remove(&self, path: &str) {
        self.exec_ok(["rm", "-rf", "--", path]);
    }

    // ------------------------------------------------------------------------------------------
    // systemd

    /// `systemctl --no-pager ARGS…` inside the machine.
    pub fn systemctl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.nsenter();
        cmd.args(["systemctl", "--no-pager"]);
        cmd.args(args);
        run_command(cmd, None, DEFAULT_TIMEOUT)
    }

    /// [`Machine::systemctl`], panicking with the full output unless it exits 0; returns stdout.
    pub fn systemctl_ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.systemctl(&args);
        let mut argv = vec!["systemctl".into()];
        argv.extend(args);
        expect_success(&argv, &out)
    }

    /// `systemctl daemon-reload` (runs the quadlet generator).
    pub fn daemon_reload(&self) {
        self.systemctl_ok(["daemon-reload"]);
    }

    /// A unit property (`systemctl show -p NAME --value UNIT`).
    pub fn unit_property(&self, unit: &str, property: &str) -> String {
        self.systemctl_ok(["show", "-p", property, "--value", unit])
            .trim_end()
            .to_owned()
    }

    /// The unit's current `InvocationID` (empty when it never ran); changes on every (re)start.
    pub fn invocation_id(&self, unit: &str) -> String {
        self.unit_property(unit, "InvocationID")
    }

    /// `systemctl is-active UNIT` printed `active`.
    pub fn is_active(&self, unit: &str) -> bool {
        let out = self.systemctl(["is-active", unit]);
        String::from_utf8_lossy(&out.stdout).trim() == "active"
    }

    /// Waits until the unit is `active`; panics with its status and journal if it fails or
    /// `timeout` passes first.
    pub fn wait_active(&self, unit: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let out = self.systemctl(["is-active", unit]);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match state.as_str() {
                "active" => return,
                "failed" => panic!(
                    "`{unit}` failed while waiting for it to become active\n{}",
                    self.unit_report(unit)
                ),
                _ if start.elapsed() > timeout => panic!(
                    "`{unit}` not active after {timeout:?} (state `{state}`)\n{}",
                    self.unit_report(unit)
                ),
                _ => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The last 200 journal lines of a unit.
    pub fn journal(&self, unit: &str) -> String {
        let out = self.exec([
            "journalctl",
            "--no-pager",
            "-o",
            "short-precise",
            "-n",
            "200",
            "-u",
            unit,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `systemctl status` plus the journal of a unit, for failure messages.
    pub fn unit_report(&self, unit: &str) -> String {
        let status = self.systemctl(["status", "--lines=0", unit]);
        format!(
            "--- systemctl status {unit}\n{}--- journalctl -u {unit}\n{}",
            String::from_utf8_lossy(&status.stdout),
            self.journal(unit)
        )
    }

    // ------------------------------------------------------------------------------------------
    // HTTP, images

    /// GETs `url` from inside the machine (busybox wget, 5 s timeout): `Ok(body)` or
    /// `Err(wget's stderr)`.
    pub fn http_get(&self, url: &str) -> Result<String, String> {
        let out = self.exec(["busybox", "wget", "-q", "-T", "5", "-O", "-", url]);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "wget {url}: {}{}",
                describe_status(out.status),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Asserts `unit` is active in a new invocation, i.e. it was (re)started since `before` (an
    /// earlier [`Machine::invocation_id`]).
    pub fn assert_restarted(&self, unit: &str, before: &str) {
        assert!(
            self.is_active(unit),
            "{unit} is not active\n{}",
            self.unit_report(unit)
        );
        assert_ne!(self.invocation_id(unit), before, "{unit} was not restarted");
    }

    /// A container's environment as podman shows it, one `KEY=VALUE` per entry.
    pub fn container_env(&self, container: &str) -> Vec<String> {
        self.run_ok([
            "podman",
            "inspect",
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            container,
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// Builds a tiny image tagged `tag` inside the machine (`podman build --network=none`): FROM
    /// scratch, busybox-static installed in `/bin`, `files` copied in (`(path in the image,
    /// contents)`; relative paths are taken from `/`, e.g. `("www/index.html", "v1\n")`), and
    /// `CMD httpd -f -v -p 8080 -h /www` (`/www` always exists). Returns the image ID.
    pub fn build_image(&self, tag: &str, files: &[(&str, &str)]) -> String {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let ctx = format!("/root/qg-image-build-{n}");
        for (path, contents) in files {
            let rel = path.trim_start_matches('/');
            assert!(
                !rel.is_empty() && !rel.split('/').any(|c| c == ".."),
                "build_image: bad path {path:?}"
            );
            self.write_file(&format!("{ctx}/rootfs/{rel}"), contents);
        }
        self.write_file(
            &format!("{ctx}/Containerfile"),
            concat!(
                "FROM scratch\n",
                "COPY busybox /bin/busybox\n",
                "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
                "COPY rootfs/ /\n",
                "CMD [\"/bin/httpd\", \"-f\", \"-v\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
            ),
        );
        self.exec_ok(["mkdir", "-p", &format!("{ctx}/rootfs/www")]);
        self.exec_ok(["cp", "/usr/bin/busybox", &format!("{ctx}/busybox")]);
        let out = self.run_ok([
            "podman",
            "build",
            "--quiet",
            "--network=none",
            "--tag",
            tag,
            &ctx,
        ]);
        self.remove(&ctx);
        let id = out.lines().last().unwrap_or_default().trim().to_owned();
        assert!(!id.is_empty(), "podman build printed no image ID");
        id
    }

    /// Pushes a local image to the machine's registry (the tag must name it, e.g.
    /// `127.0.0.1:5000/web:latest`).
    pub fn push_image(&self, tag: &str) {
        self.run_ok(["podman", "push", "--quiet", tag]);
    }

    /// Removes a local image (e.g. so that a unit must pull it from the registry).
    pub fn remove_image(&self, tag: &str) {
        self.run_ok(["podman", "rmi", "--force", tag]);
    }

    // ------------------------------------------------------------------------------------------
    // Lifecycle

    /// Halts the machine now (what `Drop` does), returning a description of anything that went
    /// wrong instead of only printing it.
    pub fn halt(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn start(root: &Path) -> Machine {
        Machine::start_on(root, None)
    }

    /// Boots from `root`: writes go to a tmpfs (`--volatile=overlay`), or, with `upper`, to that
    /// directory (`--overlay=ROOT:UPPER:/`), which outlives the machine.
    fn start_on(root: &Path, upper: Option<PathBuf>) -> Machine {
        let started = Instant::now();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{seq}", std::process::id());
        let run_dir = std::env::temp_dir().join(&name);
        fs::create_dir_all(&run_dir)
            .unwrap_or_else(|e| panic!("cannot create `{}`: {e}", run_dir.display()));
        let console_log = run_dir.join("console.log");
        let cgroups = [
            Path::new(CGROUP_V1_SYSTEMD).join(&name),
            Path::new(CGROUP_V2).join(&name),
        ];
        // A directory of this name can only be a leftover of a dead process that had our PID.
        let _ = fs::write(cgroups[1].join("cgroup.kill"), "1");
        if let Err(e) = remove_cgroups(&cgroups) {
            panic!("cannot clear stale cgroups: {e}");
        }
        for cg in &cgroups {
            if let Err(e) = fs::create_dir(cg) {
                let _ = remove_cgroups(&cgroups);
                panic!("cannot create cgroup `{}`: {e}", cg.display());
            }
        }
        let log = fs::File::create(&console_log)
            .unwrap_or_else(|e| panic!("cannot create `{}`: {e}", console_log.display()));
        let log2 = log.try_clone().expect("dup console log fd");

        // nspawn must start inside our fresh cgroups (v1 name=systemd and v2), so a tiny shell
        // moves itself there and execs it.
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            r#"echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@""#,
            "sh",
        ]);
        cmd.args(&cgroups);
        cmd.arg("systemd-nspawn");
        cmd.arg("--directory").arg(root);
        cmd.args([
            &format!("--machine={name}"),
            "--boot",
            "--register=no",
            "--keep-unit",
            "--private-network",
            "--capability=all",
            "--system-call-filter=@keyring bpf",
            "--console=pipe",
            "--tmpfs=/var/lib/containers:mode=0700",
        ]);
        match &upper {
            None => cmd.arg("--volatile=overlay"),
            Some(upper) => cmd.arg(format!(
                "--overlay={}:{}:/",
                root.display(),
                upper.display()
            )),
        };
        cmd.env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1");
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let nspawn = cmd.spawn().expect("spawn systemd-nspawn");

        let mut m = Machine {
            name,
            nspawn,
            leader: 0,
            run_dir,
            console_log,
            cgroups,
            halted: false,
            boot_time: Duration::ZERO,
            persistent: upper.map(|upper| (root.to_path_buf(), upper)),
        };
        // From here on, a panic drops `m`, which halts whatever was started.
        m.leader = m.find_leader();
        m.wait_running();
        m.boot_time = started.elapsed();
        m.write_file(
            "/etc/containers/containers.conf.d/60-quadgen-e2e-ulimits.conf",
            ulimits_conf(),
        );
        m
    }

    /// nspawn's child whose innermost PID is 1: the machine's systemd.
    fn find_leader(&mut self) -> u32 {
        let pid = self.nspawn.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let children =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for child in children.split_whitespace() {
                let status =
                    fs::read_to_string(format!("/proc/{child}/status")).unwrap_or_default();
                let nspid = status
                    .lines()
                    .find_map(|l| l.strip_prefix("NSpid:"))
                    .map(|s| s.split_whitespace().collect::<Vec<_>>())
                    .unwrap_or_default();
                if nspid.len() >= 2 && nspid.last() == Some(&"1") {
                    if let Ok(leader) = child.parse() {
                        return leader;
                    }
                }
            }
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!(
                    "systemd-nspawn exited ({}) before the machine started\n{}",
                    describe_status(status),
                    self.console_tail(60)
                );
            }
            if Instant::now() > deadline {
                panic!("no machine PID 1 after 20 s\n{}", self.console_tail(60));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_running(&mut self) {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let state = loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!(
                    "systemd-nspawn exited ({}) during boot\n{}",
                    describe_status(status),
                    self.console_tail(60)
                );
            }
            let out = self.systemctl(["is-system-running"]);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match state.as_str() {
                "running" => return,
                "degraded" | "maintenance" | "stopping" => break state,
                _ if Instant::now() > deadline => break state,
                _ => thread::sleep(Duration::from_millis(25)),
            }
        };
        let failed = self.systemctl(["--failed", "--full"]);
        let journal = self.exec([
            "journalctl",
            "--no-pager",
            "-b",
            "-p",
            "warning",
            "-n",
            "80",
        ]);
        panic!(
            "machine `{}` did not reach `running` (is-system-running: `{state}`)\n\
             --- systemctl --failed\n{}--- journalctl -p warning\n{}{}",
            self.name,
            String::from_utf8_lossy(&failed.stdout),
            String::from_utf8_lossy(&journal.stdout),
            self.console_tail(60)
        );
    }

    /// `nsenter` into all of the machine's namespaces, with a clean environment.
    fn nsenter(&self) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("--target")
            .arg(self.leader.to_string())
            .arg("--all");
        cmd.env_clear()
            .env("PATH", MACHINE_PATH)
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("SYSTEMD_COLORS", "0")
            .env("SYSTEMD_PAGER", "");
        cmd
    }

    fn console_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.console_log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        format!(
            "--- console of `{}` (last {lines} lines of {})\n{}\n",
            self.name,
            self.console_log.display(),
            all[from..].join("\n")
        )
    }

    fn shutdown(&mut self) -> Result<(), String> {
        if self.halted {
            return Ok(());
        }
        self.halted = true;
        let mut problems = Vec::new();
        let pid = self.nspawn.id().to_string();
        let exited = |child: &mut Child, within: Duration| -> bool {
            let deadline = Instant::now() + within;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => return true,
                    Ok(None) if Instant::now() > deadline => return false,
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                }
            }
        };
        // 1. SIGTERM: nspawn asks the machine's systemd for a clean shutdown.
        signal(&pid, "TERM");
        if !exited(&mut self.nspawn, HALT_TIMEOUT) {
            problems.push(format!("no clean shutdown within {HALT_TIMEOUT:?}"));
            // 2. A second SIGTERM makes nspawn terminate the machine at once.
            signal(&pid, "TERM");
            if !exited(&mut self.nspawn, Duration::from_secs(5)) {
                // 3. Kill everything in the machine's cgroup, and nspawn itself.
                let _ = fs::write(self.cgroups[1].join("cgroup.kill"), "1");
                let _ = self.nspawn.kill();
                let _ = self.nspawn.wait();
            }
        }
        // Whatever may still sit in the cgroups (nothing, normally) goes too.
        if let Err(e) = remove_cgroups(&self.cgroups) {
            problems.push(e);
        }
        if let Err(e) = fs::remove_dir_all(&self.run_dir) {
            problems.push(format!("cannot remove `{}`: {e}", self.run_dir.display()));
        }
        // a machine halted for good takes its kept writes along (a reboot took them out first)
        if let Some((_, upper)) = self.persistent.take() {
            if let Err(e) = fs::remove_dir_all(&upper) {
                problems.push(format!("cannot remove `{}`: {e}", upper.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "halting machine `{}`: {}",
                self.name,
                problems.join("; ")
            ))
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if self.halted {
            return;
        }
        if thread::panicking() && self.leader != 0 {
            // The test failed: leave the machine's own account of it next to the panic message.
            // Never panic here (a panic while unwinding aborts before the machine is halted).
            let mut cmd = self.nsenter();
            cmd.args([
                "journalctl",
                "--no-pager",
                "-b",
                "-o",
                "short-precise",
                "-n",
                "80",
            ]);
            let journal = try_run_command(cmd, None, Duration::from_secs(10))
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_else(|e| format!("(no journal: {e})"));
            eprintln!(
                "--- journal of machine `{}` (last 80 lines), at the failure\n{journal}",
                self.name
            );
        }
        if let Err(e) = self.shutdown() {
            eprintln!("warning: {e}");
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Environment checks, skipping, reaping

fn check_environment() -> Result<PathBuf, String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|s| s.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Err(format!("not running as root (euid {euid})"));
    }
    for tool in ["systemd-nspawn", "nsenter"] {
        if !on_path(tool) {
            return Err(format!("`{tool}` is not installed"));
        }
    }
    for dir in [CGROUP_V1_SYSTEMD, CGROUP_V2] {
        if !Path::new(dir).join("cgroup.procs").exists() {
            return Err(format!(
                "cgroup hierarchy `{dir}` is missing (this harness expects the hybrid v1+v2 \
                 layout of the project's VMs)"
            ));
        }
    }
    let root = root_dir();
    let stamp = root.join(".quadgen-e2e-root");
    if !stamp.is_file() {
        return Err(format!(
            "no provisioned root at `{}` (stamp `{}` missing)",
            root.display(),
            stamp.display()
        ));
    }
    Ok(root)
}

fn skip_or_fail<T>(reason: &str) -> Option<T> {
    crate::skip::skip_or_fail(
        SKIP_ENV,
        &format!("end-to-end test machine: {reason}"),
        "Provision the test machine root by running `bash tests/provision.sh` as root",
    );
    None
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            "/usr/sbin".into(),
            "/usr/bin".into(),
            "/sbin".into(),
            "/bin".into(),
        ])
        .any(|dir| dir.join(tool).is_file())
}

/// Machines of test processes that no longer exist (killed with SIGKILL, so no destructor ran):
/// kill what is left in their cgroups and remove the cgroups and temporary directories.
fn reap_stale_machines() {
    let dead = |name: &str| -> bool {
        name.strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    };
    let names = fs::read_dir(CGROUP_V2)
        .into_iter()
        .flatten()
        .chain(fs::read_dir(CGROUP_V1_SYSTEMD).into_iter().flatten())
        .chain(fs::read_dir(std::env::temp_dir()).into_iter().flatten())
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| dead(n))
        .collect::<std::collections::BTreeSet<_>>();
    for name in names {
        eprintln!("note: reaping machine `{name}` left behind by a test process that was killed");
        let cgroups = [
            Path::new(CGROUP_V1_SYSTEMD).join(&name),
            Path::new(CGROUP_V2).join(&name),
        ];
        let _ = fs::write(cgroups[1].join("cgroup.kill"), "1");
        if let Err(e) = remove_cgroups(&cgroups) {
            eprintln!("warning: {e}");
        }
        let _ = fs::remove_dir_all(std::env::temp_dir().join(&name));
    }
}

/// Removes cgroup directories depth-first, killing leftovers, retrying while they drain.
fn remove_cgroups(cgroups: &[PathBuf]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = Vec::new();
        for cg in cgroups {
            if cg.exists() {
                rmdir_tree(cg);
                if cg.exists() {
                    left.push(cg.display().to_string());
                }
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("cgroups still busy: {}", left.join(", ")));
        }
        if let Some(v2) = cgroups.iter().find(|c| c.starts_with(CGROUP_V2)) {
            let _ = fs::write(v2.join("cgroup.kill"), "1");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn rmdir_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// `kill -SIG -- TARGET` (a PID, or `-PGID` for a process group).
fn signal(target: &str, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `default_ulimits` no higher than this process's hard limits (crun cannot raise them here).
fn ulimits_conf() -> String {
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let hard = |name: &str| -> Option<u64> {
        let line = limits.lines().find(|l| l.starts_with(name))?;
        let mut fields = line[name.len()..].split_whitespace();
        fields.next()?; // soft
        fields.next()?.parse().ok()
    };
    let mut ulimits = Vec::new();
    if let Some(n) = hard("Max open files") {
        ulimits.push(format!("\"nofile={n}:{n}\""));
    }
    if let Some(n) = hard("Max processes") {
        ulimits.push(format!("\"nproc={n}:{n}\""));
    }
    format!(
        "# written by tests/support/nspawn.rs at boot: the hard limits of the test process\n\
         [containers]\ndefault_ulimits = [{}]\n",
        ulimits.join(", ")
    )
}

// ----------------------------------------------------------------------------------------------
// Running host commands with a time limit

fn run_command(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    try_run_command(cmd, stdin, timeout).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a host command (usually `nsenter …`) with piped output and a time limit. On timeout the
/// whole process group is killed (nsenter forks to enter the PID namespace, so killing nsenter
/// alone would leave its child holding the pipes) and the partial output is reported.
fn try_run_command(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, String> {
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};

    let shown = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn {shown}: {e}"))?;

    // Output is collected as it arrives, so that a timeout can still show what was printed.
    fn collect(
        pipe: Option<impl Read + Send + 'static>,
    ) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let handle = thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let (Ok(mut b), Some(data)) = (sink.lock(), chunk.get(..n)) {
                    b.extend_from_slice(data);
                }
            }
        });
        (buf, handle)
    }
    let snapshot = |buf: &Arc<Mutex<Vec<u8>>>| buf.lock().map(|b| b.clone()).unwrap_or_default();
    let (out_buf, out_thread) = collect(child.stdout.take());
    let (err_buf, err_thread) = collect(child.stderr.take());
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        // A failed write shows up as the command's own error.
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }

    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                signal(&format!("-{}", child.id()), "KILL");
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "timed out after {timeout:?}: {shown}\n--- stdout\n{}\n--- stderr\n{}",
                    String::from_utf8_lossy(&snapshot(&out_buf)),
                    String::from_utf8_lossy(&snapshot(&err_buf))
                ));
            }
            Ok(None) => {
                thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    let _ = out_thread.join();
    let _ = err_thread.join();
    Ok(Output {
        status,
        stdout: snapshot(&out_buf),
        stderr: snapshot(&err_buf),
    })
}

fn expect_success<S: AsRef<OsStr>>(argv: &[S], out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let shown: Vec<_> = argv.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        panic!(
            "command failed in the machine ({}): {:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
            describe_status(out.status),
            shown,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}
