//! A recording [`Systemd`] fake, shared by the crate's unit tests (`src/host/systemd.rs` includes
//! it under `cfg(test)`), `tests/install_cli.rs` and `benches/install.rs` (each with `#[path]`).
//! Its parent module brings the `quadgen::host::systemd` types into scope.

use super::{NetworkRmError, SecretOwner, Systemd, SystemdError, UnitState};

/// A recording [`Systemd`] for tests and benchmarks: does nothing, remembers every call as a
/// line (`restart a.service b.service`), and fails starts and restarts of the units in `failing`.
/// Test code only: included by the crate's unit tests (`cfg(test)`), the integration tests
/// and the benchmarks, never compiled into the binary.
#[derive(Debug, Default)]
pub struct Recording {
    /// Every call, in order (the settle watch's polls and pauses are counted apart:
    /// [`Recording::watches`], [`Recording::clock`]).
    pub calls: Vec<String>,
    /// Units whose process dies (exit status 143, SIGTERM) as soon as any time passes after
    /// their start or restart succeeded; systemd then waits to restart them (`auto-restart`).
    pub dying: std::collections::BTreeSet<String>,
    /// How many times the settle watch polled.
    pub watches: usize,
    /// The time the pauses added up to.
    pub clock: std::time::Duration,
    /// When each unit was last started or restarted, on [`Recording::clock`].
    pub started_at: std::collections::BTreeMap<String, std::time::Duration>,
    /// Units whose start or restart fails, and podman networks whose removal fails.
    pub failing: std::collections::BTreeSet<String>,
    /// Units that cannot be stopped (they stay up).
    pub stubborn: std::collections::BTreeSet<String>,
    /// Units stopped and not started since, as `show` reports them.
    pub stopped: std::collections::BTreeSet<String>,
    /// `show` fails (systemd not answering).
    pub show_fails: bool,
    /// Podman secrets: owner and value (`podman secret create` records only the name in
    /// [`Recording::calls`]).
    pub podman_secrets: std::collections::BTreeMap<String, (SecretOwner, Vec<u8>)>,
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
            self.started_at.insert(u.clone(), self.clock);
        }
        if units.iter().any(|u| self.failing.contains(u)) {
            return Err(SystemdError::Failed {
                command: format!("systemctl {verb}"),
                status: "exit status: 1".into(),
                code: Some(1),
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
                code: Some(1),
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
                code: Some(1),
                stderr: "Failed to connect to bus".into(),
            });
        }
        Ok(self.states(units))
    }

    fn watch(&mut self, units: &[String]) -> Result<Vec<UnitState>, SystemdError> {
        self.watches += 1;
        Ok(self.states(units))
    }

    fn pause(&mut self, duration: std::time::Duration) {
        self.clock += duration;
    }

    fn clock(&mut self) -> std::time::Duration {
        self.clock
    }

    fn podman_network_rm(&mut self, name: &str) -> Result<(), NetworkRmError> {
        self.calls.push(format!("podman network rm {name}"));
        if self.failing.contains(name) {
            return Err(NetworkRmError::InUse(SystemdError::Failed {
                command: format!("podman network rm {name}"),
                status: "exit status: 2".into(),
                code: Some(2),
                stderr: format!("Error: \"{name}\" has associated containers with it"),
            }));
        }
        Ok(())
    }

    fn podman_secret_owner(&mut self, name: &str) -> Result<SecretOwner, SystemdError> {
        Ok(self
            .podman_secrets
            .get(name)
            .map_or(SecretOwner::Absent, |(owner, _)| *owner))
    }

    fn podman_secret_create(&mut self, name: &str, value: &[u8]) -> Result<(), SystemdError> {
        self.calls.push(format!("podman secret create {name}"));
        self.podman_secrets
            .insert(name.to_string(), (SecretOwner::Quadgen, value.to_vec()));
        Ok(())
    }

    fn podman_secret_rm(&mut self, name: &str) -> Result<(), SystemdError> {
        self.calls.push(format!("podman secret rm {name}"));
        self.podman_secrets.remove(name);
        Ok(())
    }
}

impl Recording {
    fn states(&self, units: &[String]) -> Vec<UnitState> {
        units
            .iter()
            .map(|u| {
                let failed = self.failing.contains(u) && !self.stubborn.contains(u);
                let died = self.dying.contains(u)
                    && self.started_at.get(u).is_some_and(|at| self.clock > *at);
                let mut state = UnitState {
                    unit: u.clone(),
                    active_state: "active".into(),
                    sub_state: "running".into(),
                    invocation_id: format!("{u}-1"),
                    result: "success".into(),
                    ..UnitState::default()
                };
                if self.stopped.contains(u) {
                    state.active_state = "inactive".into();
                    state.sub_state = "dead".into();
                } else if failed {
                    state.active_state = "failed".into();
                    state.sub_state = "failed".into();
                    state.result = "exit-code".into();
                } else if died {
                    state.active_state = "activating".into();
                    state.sub_state = "auto-restart".into();
                    state.result = "exit-code".into();
                    state.exec_main_code = 1;
                    state.exec_main_status = 143;
                }
                state
            })
            .collect()
    }
}
