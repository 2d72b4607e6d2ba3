//! The systemd side of an install, behind one small trait: [`Systemd`]. [`Systemctl`] is the real
//! one (it runs `systemctl` and `podman`); tests and benchmarks use recording fakes.
//!
//! Calls take several units at once: one `systemctl restart a b c` enqueues a job per unit in one
//! go, and systemd merges the restart a dependant gets through `Requires=` with its own pending
//! one, so it is restarted once, not twice (observed on systemd 257; the end-to-end tests check
//! that a changed dependant and its dependency both restart).

pub use crate::host::podman::NetworkRmError;
pub use crate::host::process::SystemdError;
use crate::host::process::run;
use crate::host::scope::Scope;
pub use crate::host::secrets::SecretOwner;

/// The `systemctl show` properties [`UnitState`] is made of.
pub const SHOW_PROPERTIES: &str =
    "Id,ActiveState,SubState,InvocationID,Result,NRestarts,ExecMainCode,ExecMainStatus";

/// Declares an enum of the systemd state names quadgen acts on, with every other name kept as
/// `Other`: parsed from and shown as systemd's own words.
macro_rules! state_names {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
            /// A state quadgen does not act on (or none: empty), as systemd named it.
            Other(String),
        }

        impl $name {
            /// systemd's name for the state.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

state_names! {
    /// A unit's `ActiveState`.
    ActiveState {
        Active = "active",
        Reloading = "reloading",
        Inactive = "inactive",
        Failed = "failed",
        Activating = "activating",
        Deactivating = "deactivating",
        Maintenance = "maintenance",
        Refreshing = "refreshing",
    }
}

state_names! {
    /// A service's `SubState` (the ones quadgen tells apart).
    SubState {
        Running = "running",
        Exited = "exited",
        Dead = "dead",
        Failed = "failed",
        AutoRestart = "auto-restart",
    }
}

/// What `systemctl show` says about a unit ([`SHOW_PROPERTIES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnitState {
    /// The unit name.
    pub unit: String,
    /// `active`, `inactive`, `failed`, `activating`…
    pub active_state: ActiveState,
    /// `running`, `dead`, `exited`, `auto-restart` (died, `Restart=` brings it back)…
    pub sub_state: SubState,
    /// Changes every time the unit is started: tells a restart happened.
    pub invocation_id: String,
    /// `Result`: `success`, `exit-code`, `signal`, `timeout`… (why it last stopped or failed).
    pub result: String,
    /// How often systemd restarted the unit by itself (`Restart=`) since it was last started by
    /// hand or by install (a manual start resets it).
    pub n_restarts: u32,
    /// `ExecMainCode`: how the last main process ended: 1 exited, 2 killed, 3 dumped core (0:
    /// it still runs, or none ran).
    pub exec_main_code: u32,
    /// `ExecMainStatus`: its exit status, or the signal that killed it.
    pub exec_main_status: i32,
}

impl UnitState {
    /// Whether the unit is up, or on its way up.
    pub fn is_up(&self) -> bool {
        matches!(
            self.active_state,
            ActiveState::Active
                | ActiveState::Activating
                | ActiveState::Reloading
                | ActiveState::Refreshing
        )
    }

    /// Whether its process died and systemd is about to start it again (`Restart=`): it counts
    /// as `activating`, but nothing runs.
    pub fn is_auto_restarting(&self) -> bool {
        self.sub_state == SubState::AutoRestart
    }

    /// Whether systemd marks the unit `failed`.
    pub fn is_failed(&self) -> bool {
        self.active_state == ActiveState::Failed
    }

    /// Whether the unit went down on its own: failed, waiting to be restarted, or stopped with
    /// anything but success. A unit whose process exited cleanly (`inactive`, `success`) is not.
    pub fn is_down(&self) -> bool {
        self.is_failed()
            || self.is_auto_restarting()
            || (!self.is_up() && !self.result.is_empty() && self.result != "success")
    }

    /// How its last main process ended, as a person reads it: `exit status 143 (128+15: it got
    /// SIGTERM)`, `killed by signal 9 (SIGKILL)`; `None` while it runs or when none ran.
    pub fn exit_description(&self) -> Option<String> {
        let status = self.exec_main_status;
        match self.exec_main_code {
            1 if status > 128 && status <= 128 + 64 => Some(format!(
                "exit status {status} (128+{}: it got {})",
                status - 128,
                signal_name(status - 128)
            )),
            1 => Some(format!("exit status {status}")),
            2 | 3 => Some(format!(
                "killed by signal {status} ({}){}",
                signal_name(status),
                if self.exec_main_code == 3 {
                    ", core dumped"
                } else {
                    ""
                }
            )),
            _ => None,
        }
    }

    /// The unit's state in one line for a person: `activating/auto-restart`, and when it went
    /// down, how (`exit status 143 …, result exit-code, restarted 2 times`).
    pub fn describe(&self) -> String {
        let mut text = format!("{}/{}", self.active_state, self.sub_state);
        if self.is_down() || self.n_restarts > 0 {
            let mut why = Vec::new();
            if let Some(exit) = self.exit_description() {
                why.push(exit);
            }
            if !self.result.is_empty() && self.result != "success" {
                why.push(format!("result {}", self.result));
            }
            if self.n_restarts > 0 {
                why.push(format!(
                    "restarted {} time{} by systemd",
                    self.n_restarts,
                    if self.n_restarts == 1 { "" } else { "s" }
                ));
            }
            if !why.is_empty() {
                text.push_str(&format!(" ({})", why.join(", ")));
            }
        }
        text
    }
}

/// `SIGTERM` for 15, and so on for the signals a service usually dies of.
fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// Everything install asks of systemd and podman. Every method with a list does nothing for an
/// empty list.
pub trait Systemd {
    /// `systemctl daemon-reload`: runs the quadlet generator over the unit directory.
    fn daemon_reload(&mut self) -> Result<(), SystemdError>;
    /// `systemctl start UNITS…`.
    fn start(&mut self, units: &[String]) -> Result<(), SystemdError>;
    /// `systemctl restart UNITS…` (starts those not running).
    fn restart(&mut self, units: &[String]) -> Result<(), SystemdError>;
    /// `systemctl try-restart UNITS…` (restarts only those running).
    fn try_restart(&mut self, units: &[String]) -> Result<(), SystemdError>;
    /// `systemctl stop UNITS…`.
    fn stop(&mut self, units: &[String]) -> Result<(), SystemdError>;
    /// The state of each unit, in the order asked.
    fn show(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError>;
    /// [`Systemd::show`] for the settle watch after a start: polled, so a fake may count it
    /// apart from the calls that change something.
    fn watch(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        self.show(units)
    }
    /// Waits `duration` between two polls of the settle watch (a fake only moves its clock).
    fn pause(&mut self, duration: std::time::Duration);
    /// A monotonic clock for the settle watch (a fake's moves only by [`Systemd::pause`]).
    fn clock(&mut self) -> std::time::Duration;
    /// `podman network rm NAME`, so the network is created again from its new definition.
    fn podman_network_rm(&mut self, name: &str) -> Result<(), NetworkRmError>;
    /// Who owns podman secret `name` (quadgen marks its own with a label).
    fn podman_secret_owner(&mut self, name: &str) -> Result<SecretOwner, SystemdError>;
    /// Creates podman secret `name` with `value`, or replaces quadgen's own one of that name.
    fn podman_secret_create(&mut self, name: &str, value: &[u8]) -> Result<(), SystemdError>;
    /// `podman secret rm NAME`.
    fn podman_secret_rm(&mut self, name: &str) -> Result<(), SystemdError>;
    /// Whether this is [`Offline`]: calls do nothing, and the work is left owed.
    fn is_offline(&self) -> bool {
        false
    }
}

/// No systemd at all (`--no-systemd`, for chroots and image builders): every call does nothing
/// and runs nothing; apply records the systemd work as owed in the manifest instead.
#[derive(Debug, Default)]
pub struct Offline;

impl Systemd for Offline {
    fn daemon_reload(&mut self) -> Result<(), SystemdError> {
        Ok(())
    }
    fn start(&mut self, _: &[String]) -> Result<(), SystemdError> {
        Ok(())
    }
    fn restart(&mut self, _: &[String]) -> Result<(), SystemdError> {
        Ok(())
    }
    fn try_restart(&mut self, _: &[String]) -> Result<(), SystemdError> {
        Ok(())
    }
    fn stop(&mut self, _: &[String]) -> Result<(), SystemdError> {
        Ok(())
    }
    fn show(&mut self, _: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        Ok(Vec::new())
    }
    fn pause(&mut self, _: std::time::Duration) {}
    fn clock(&mut self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    fn podman_network_rm(&mut self, _: &str) -> Result<(), NetworkRmError> {
        Ok(())
    }
    fn podman_secret_owner(&mut self, _: &str) -> Result<SecretOwner, SystemdError> {
        Ok(SecretOwner::Unknown)
    }
    fn podman_secret_create(&mut self, _: &str, _: &[u8]) -> Result<(), SystemdError> {
        Ok(())
    }
    fn podman_secret_rm(&mut self, _: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn is_offline(&self) -> bool {
        true
    }
}

/// The real systemd: runs `systemctl` and `podman` from `PATH`.
#[derive(Debug, Default)]
pub struct Systemctl;

fn systemctl(verb: &str, units: &[String]) -> Result<(), SystemdError> {
    if units.is_empty() {
        return Ok(());
    }
    let mut args = vec![verb];
    args.extend(units.iter().map(String::as_str));
    run("systemctl", &args).map(|_| ())
}

impl Systemd for Systemctl {
    fn daemon_reload(&mut self) -> Result<(), SystemdError> {
        run("systemctl", &["daemon-reload"]).map(|_| ())
    }

    fn start(&mut self, units: &[String]) -> Result<(), SystemdError> {
        systemctl("start", units)
    }

    fn restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        systemctl("restart", units)
    }

    fn try_restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        systemctl("try-restart", units)
    }

    fn stop(&mut self, units: &[String]) -> Result<(), SystemdError> {
        systemctl("stop", units)
    }

    fn show(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["show", "-p", SHOW_PROPERTIES];
        args.extend(units.iter().map(String::as_str));
        let out = run("systemctl", &args)?;
        Ok(parse_show(&out, units))
    }

    fn pause(&mut self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }

    fn clock(&mut self) -> std::time::Duration {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed()
    }

    fn podman_network_rm(&mut self, name: &str) -> Result<(), NetworkRmError> {
        crate::host::podman::network_rm(name)
    }

    fn podman_secret_owner(&mut self, name: &str) -> Result<SecretOwner, SystemdError> {
        crate::host::secrets::owner(&Scope::System, name)
    }

    fn podman_secret_create(&mut self, name: &str, value: &[u8]) -> Result<(), SystemdError> {
        crate::host::secrets::create_or_replace(&Scope::System, name, value)
    }

    fn podman_secret_rm(&mut self, name: &str) -> Result<(), SystemdError> {
        crate::host::secrets::remove(&Scope::System, name)
    }
}

/// The real systemd of a [`Scope`]: the system manager, the calling user's (`systemctl --user`),
/// or another user's (`systemctl --user -M NAME@`); podman runs as that user. For
/// [`Scope::System`] it does what [`Systemctl`] does.
#[derive(Debug, Default)]
pub struct ScopedSystemctl {
    pub scope: Scope,
    /// Whether the user's podman has its user namespace (pause process) already.
    podman_ready: bool,
    /// Whether the user's manager was started ([`Scope::ForUser`]).
    manager_started: bool,
}

impl ScopedSystemctl {
    /// The systemd of `scope`.
    pub fn new(scope: Scope) -> Self {
        ScopedSystemctl {
            scope,
            podman_ready: false,
            manager_started: false,
        }
    }

    /// Readies a rootless scope before install writes anything: the user's manager runs
    /// ([`Scope::ForUser`]) and the user's podman has its pause process. Done before the files are
    /// written, because a manager started after that would start the new units itself, all at
    /// once, on a podman that never ran (the race described at `prepare_podman`). Best effort:
    /// a failure shows up in the calls that follow.
    pub fn prepare(&mut self) {
        let _ = self.start_user_manager();
        self.prepare_podman();
    }

    /// For [`Scope::ForUser`], once before the first call that changes something (never for
    /// `show`, so `status` starts nothing): `systemctl start user@UID.service` in the system
    /// manager, so the user's manager runs before `-M USER@` talks to it (at boot, logind starts it for a
    /// lingering user only asynchronously; a start of a running manager does nothing).
    fn start_user_manager(&mut self) -> Result<(), SystemdError> {
        if self.manager_started {
            return Ok(());
        }
        self.manager_started = true;
        if let Scope::ForUser(account) = &self.scope {
            run(
                "systemctl",
                &["start", &format!("user@{}.service", account.uid)],
            )?;
        }
        Ok(())
    }

    /// Before the first start of rootless units: `podman unshare true` as the user, so the user's
    /// podman has its pause process (the user namespace every rootless podman joins) and the
    /// user's D-Bus is up before several containers start at once. Without it, on a user whose
    /// podman never ran, two containers starting together each set up a pause process (seen on
    /// podman 5.4.2: two `podman-pause-*.scope`), and a `Notify=healthy` container's start job
    /// never finished although its health checks passed. Best effort: a failure here shows up
    /// in the start itself.
    fn prepare_podman(&mut self) {
        if self.podman_ready || !self.scope.is_rootless() {
            return;
        }
        self.podman_ready = true;
        let _ = crate::host::podman::run_as(&self.scope, &["unshare", "true"]);
    }

    fn call(&self, verb: &str, units: &[String]) -> Result<String, SystemdError> {
        let mut args = self.scope.manager_args();
        args.push(verb.to_string());
        args.extend(units.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("systemctl", &args)
    }

    fn each(&mut self, verb: &str, units: &[String]) -> Result<(), SystemdError> {
        if units.is_empty() {
            return Ok(());
        }
        self.start_user_manager()?;
        self.call(verb, units).map(|_| ())
    }
}

impl Systemd for ScopedSystemctl {
    fn daemon_reload(&mut self) -> Result<(), SystemdError> {
        self.start_user_manager()?;
        self.call("daemon-reload", &[]).map(|_| ())
    }

    fn start(&mut self, units: &[String]) -> Result<(), SystemdError> {
        if !units.is_empty() {
            self.prepare_podman();
        }
        self.each("start", units)
    }

    fn restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        if !units.is_empty() {
            self.prepare_podman();
        }
        self.each("restart", units)
    }

    fn try_restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        if !units.is_empty() {
            self.prepare_podman();
        }
        self.each("try-restart", units)
    }

    fn stop(&mut self, units: &[String]) -> Result<(), SystemdError> {
        self.each("stop", units)
    }

    fn show(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["-p".to_string(), SHOW_PROPERTIES.to_string()];
        args.extend(units.iter().cloned());
        let out = self.call("show", &args)?;
        Ok(parse_show(&out, units))
    }

    fn pause(&mut self, duration: std::time::Duration) {
        Systemctl.pause(duration);
    }

    fn clock(&mut self) -> std::time::Duration {
        Systemctl.clock()
    }

    fn podman_network_rm(&mut self, name: &str) -> Result<(), NetworkRmError> {
        crate::host::podman::network_rm_as(&self.scope, name)
    }

    fn podman_secret_owner(&mut self, name: &str) -> Result<SecretOwner, SystemdError> {
        crate::host::secrets::owner(&self.scope, name)
    }

    fn podman_secret_create(&mut self, name: &str, value: &[u8]) -> Result<(), SystemdError> {
        self.start_user_manager()?;
        crate::host::secrets::create_or_replace(&self.scope, name, value)
    }

    fn podman_secret_rm(&mut self, name: &str) -> Result<(), SystemdError> {
        crate::host::secrets::remove(&self.scope, name)
    }
}

/// The recording fake of [`Systemd`], for this crate's unit tests; the integration tests and
/// benchmarks include the same file. It is test code: the binary never contains it.
#[cfg(test)]
#[path = "../../tests/support/recording.rs"]
pub mod recording;

/// Parses `systemctl show` output for several units: blocks of `Key=value` lines separated by
/// blank lines, in the order asked. A unit systemd does not know still gets a block.
pub fn parse_show(out: &str, units: &[String]) -> Vec<UnitState> {
    let mut states: Vec<UnitState> = Vec::with_capacity(units.len());
    for block in out.split("\n\n") {
        if block.trim().is_empty() {
            continue;
        }
        let mut state = UnitState::default();
        for line in block.lines() {
            if let Some((k, v)) = line.split_once('=') {
                match k {
                    "Id" => state.unit = v.to_string(),
                    "ActiveState" => state.active_state = ActiveState::from(v),
                    "SubState" => state.sub_state = SubState::from(v),
                    "InvocationID" => state.invocation_id = v.to_string(),
                    "Result" => state.result = v.to_string(),
                    "NRestarts" => state.n_restarts = v.parse().unwrap_or_default(),
                    "ExecMainCode" => state.exec_main_code = v.parse().unwrap_or_default(),
                    "ExecMainStatus" => state.exec_main_status = v.parse().unwrap_or_default(),
                    _ => {}
                }
            }
        }
        states.push(state);
    }
    // systemd prints the blocks in the order asked; name them by that order, whatever `Id` says
    // (an alias can differ).
    units
        .iter()
        .enumerate()
        .map(|(i, unit)| {
            let mut s = states.get(i).cloned().unwrap_or_default();
            s.unit = unit.clone();
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_blocks_in_order() {
        let out = "Id=a.service\nActiveState=active\nSubState=running\nInvocationID=abc\n\n\
                   Id=b.service\nActiveState=inactive\nSubState=dead\nInvocationID=\n";
        let s = parse_show(out, &["a.service".into(), "b.service".into()]);
        assert_eq!(s.len(), 2);
        assert!(s[0].is_up());
        assert_eq!(s[0].invocation_id, "abc");
        assert_eq!(s[1].active_state, "inactive");
        assert!(!s[1].is_up());
    }

    #[test]
    fn a_unit_waiting_to_be_restarted_is_down_with_its_exit_status() {
        // What systemd 257 showed for a container killed right after its first start (issue 14).
        let out = "Id=c.service\nActiveState=activating\nSubState=auto-restart\nInvocationID=\n\
                   Result=exit-code\nNRestarts=0\nExecMainCode=1\nExecMainStatus=143\n\n\
                   Id=d.service\nActiveState=inactive\nSubState=dead\nInvocationID=\n\
                   Result=success\nNRestarts=0\nExecMainCode=1\nExecMainStatus=0\n";
        let s = parse_show(out, &["c.service".into(), "d.service".into()]);
        assert!(s[0].is_up(), "systemd counts it as activating");
        assert!(s[0].is_down() && s[0].is_auto_restarting());
        assert_eq!(
            s[0].describe(),
            "activating/auto-restart (exit status 143 (128+15: it got SIGTERM), result exit-code)"
        );
        assert!(!s[1].is_down(), "a clean exit is not a death: {:?}", s[1]);
        assert_eq!(s[1].describe(), "inactive/dead");
        let failed = UnitState {
            active_state: "failed".into(),
            sub_state: "failed".into(),
            result: "signal".into(),
            exec_main_code: 2,
            exec_main_status: 9,
            n_restarts: 3,
            ..UnitState::default()
        };
        assert_eq!(
            failed.describe(),
            "failed/failed (killed by signal 9 (SIGKILL), result signal, restarted 3 times by systemd)"
        );
    }
}
