//! The systemd side of an install, behind one small trait: [`Systemd`]. [`Systemctl`] is the real
//! one (it runs `systemctl` and `podman`); tests and benchmarks use recording fakes.
//!
//! Calls take several units at once: one `systemctl restart a b c` enqueues a job per unit in one
//! go, and systemd merges the restart a dependant gets through `Requires=` with its own pending
//! one, so it is restarted once, not twice (observed on systemd 257; the end-to-end tests check
//! that a changed dependant and its dependency both restart).

use std::process::Command;

/// A systemd or podman command that failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    /// The program could not be run at all.
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The program ran and exited non-zero.
    #[error("`{command}` failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// What `systemctl show -p Id,ActiveState,SubState,InvocationID` says about a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnitState {
    /// The unit name.
    pub unit: String,
    /// `active`, `inactive`, `failed`, `activating`…
    pub active_state: String,
    /// `running`, `dead`, `exited`…
    pub sub_state: String,
    /// Changes every time the unit is started: tells a restart happened.
    pub invocation_id: String,
}

impl UnitState {
    /// Whether the unit is up, or on its way up.
    pub fn is_up(&self) -> bool {
        matches!(
            self.active_state.as_str(),
            "active" | "activating" | "reloading" | "refreshing"
        )
    }
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
    /// `podman network rm NAME`, so the network is created again from its new definition.
    fn podman_network_rm(&mut self, name: &str) -> Result<(), SystemdError>;
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
    fn podman_network_rm(&mut self, _: &str) -> Result<(), SystemdError> {
        Ok(())
    }
    fn is_offline(&self) -> bool {
        true
    }
}

/// The real systemd: runs `systemctl` and `podman` from `PATH`.
#[derive(Debug, Default)]
pub struct Systemctl;

fn run(program: &str, args: &[&str]) -> Result<String, SystemdError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SystemdError::Spawn {
            program: program.to_string(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut command = program.to_string();
        for a in args.iter().take(6) {
            command.push(' ');
            command.push_str(a);
        }
        if args.len() > 6 {
            command.push_str(" …");
        }
        Err(SystemdError::Failed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

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
        let mut args = vec!["show", "-p", "Id,ActiveState,SubState,InvocationID"];
        args.extend(units.iter().map(String::as_str));
        let out = run("systemctl", &args)?;
        Ok(parse_show(&out, units))
    }

    fn podman_network_rm(&mut self, name: &str) -> Result<(), SystemdError> {
        run("podman", &["network", "rm", name]).map(|_| ())
    }
}

/// A recording [`Systemd`] for tests and benchmarks: does nothing, remembers every call as a
/// line (`restart a.service b.service`), and fails starts and restarts of the units in `failing`.
/// Nothing in the binary can select it.
#[derive(Debug, Default)]
pub struct Recording {
    /// Every call, in order.
    pub calls: Vec<String>,
    /// Units whose start or restart fails, and podman networks whose removal fails.
    pub failing: std::collections::BTreeSet<String>,
    /// Units that cannot be stopped (they stay up).
    pub stubborn: std::collections::BTreeSet<String>,
    /// Units stopped and not started since, as `show` reports them.
    pub stopped: std::collections::BTreeSet<String>,
    /// `show` fails (systemd not answering).
    pub show_fails: bool,
}

impl Recording {
    fn record(&mut self, verb: &str, units: &[String]) {
        if !units.is_empty() {
            self.calls.push(format!("{verb} {}", units.join(" ")));
        }
    }

    fn up(&mut self, verb: &str, units: &[String]) -> Result<(), SystemdError> {
        self.record(verb, units);
        for u in units {
            self.stopped.remove(u);
        }
        if units.iter().any(|u| self.failing.contains(u)) {
            return Err(SystemdError::Failed {
                command: format!("systemctl {verb}"),
                status: "exit status: 1".into(),
                stderr: "Job failed".into(),
            });
        }
        Ok(())
    }
}

impl Systemd for Recording {
    fn daemon_reload(&mut self) -> Result<(), SystemdError> {
        self.calls.push("daemon-reload".into());
        Ok(())
    }

    fn start(&mut self, units: &[String]) -> Result<(), SystemdError> {
        self.up("start", units)
    }

    fn restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        self.up("restart", units)
    }

    fn try_restart(&mut self, units: &[String]) -> Result<(), SystemdError> {
        self.up("try-restart", units)
    }

    fn stop(&mut self, units: &[String]) -> Result<(), SystemdError> {
        self.record("stop", units);
        self.stopped.extend(
            units
                .iter()
                .filter(|u| !self.stubborn.contains(*u))
                .cloned(),
        );
        if let Some(u) = units.iter().find(|u| self.stubborn.contains(*u)) {
            return Err(SystemdError::Failed {
                command: "systemctl stop".into(),
                status: "exit status: 1".into(),
                stderr: format!("Job for {u} failed"),
            });
        }
        Ok(())
    }

    fn show(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        self.record("show", units);
        if self.show_fails {
            return Err(SystemdError::Failed {
                command: "systemctl show".into(),
                status: "exit status: 1".into(),
                stderr: "Failed to connect to bus".into(),
            });
        }
        Ok(units
            .iter()
            .map(|u| {
                let failed = self.failing.contains(u) && !self.stubborn.contains(u);
                let (active, sub) = if self.stopped.contains(u) {
                    ("inactive", "dead")
                } else if failed {
                    ("failed", "failed")
                } else {
                    ("active", "running")
                };
                UnitState {
                    unit: u.clone(),
                    active_state: active.into(),
                    sub_state: sub.into(),
                    invocation_id: String::new(),
                }
            })
            .collect())
    }

    fn podman_network_rm(&mut self, name: &str) -> Result<(), SystemdError> {
        self.calls.push(format!("podman network rm {name}"));
        if self.failing.contains(name) {
            return Err(SystemdError::Failed {
                command: format!("podman network rm {name}"),
                status: "exit status: 2".into(),
                stderr: format!("Error: \"{name}\" has associated containers with it"),
            });
        }
        Ok(())
    }
}

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
                    "ActiveState" => state.active_state = v.to_string(),
                    "SubState" => state.sub_state = v.to_string(),
                    "InvocationID" => state.invocation_id = v.to_string(),
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
}
