//! The podman commands install runs, with podman's documented exit codes turned into types.

use crate::host::process::{SystemdError, run};
use crate::host::scope::Scope;

/// Why `podman network rm` did not remove a network, from its exit status
/// (podman-network-rm(1): 1 no such network, 2 in use by a container or pod, 125 anything else).
#[derive(Debug, thiserror::Error)]
pub enum NetworkRmError {
    /// Exit 1: the network does not exist (an interrupted install already removed it).
    #[error("podman network `{name}` does not exist")]
    NotFound { name: String },
    /// Exit 2: a container or pod still uses it.
    #[error(transparent)]
    InUse(SystemdError),
    /// Podman could not run, or failed another way (exit 125).
    #[error(transparent)]
    Failed(SystemdError),
}

impl NetworkRmError {
    /// Classifies a failed `podman network rm NAME` by its exit code.
    pub fn from_failure(name: &str, error: SystemdError) -> Self {
        match &error {
            SystemdError::Failed { code: Some(1), .. } => NetworkRmError::NotFound {
                name: name.to_string(),
            },
            SystemdError::Failed { code: Some(2), .. } => NetworkRmError::InUse(error),
            _ => NetworkRmError::Failed(error),
        }
    }
}

/// `podman network rm NAME`.
pub fn network_rm(name: &str) -> Result<(), NetworkRmError> {
    run("podman", &["network", "rm", name])
        .map(|_| ())
        .map_err(|e| NetworkRmError::from_failure(name, e))
}

/// `podman network rm NAME` as the user of `scope` (root's podman for [`Scope::System`]).
pub fn network_rm_as(scope: &Scope, name: &str) -> Result<(), NetworkRmError> {
    run_as(scope, &["network", "rm", name])
        .map(|_| ())
        .map_err(|e| NetworkRmError::from_failure(name, e))
}

/// `podman ARGS…` as the user of `scope`; its stdout.
pub fn run_as(scope: &Scope, args: &[&str]) -> Result<String, SystemdError> {
    let (program, argv) = command_as(scope, args);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&program, &argv)
}

/// The program and arguments that run `podman ARGS` as the scope's user (see
/// [`Scope::podman_command`]).
pub fn command_as(scope: &Scope, args: &[&str]) -> (String, Vec<String>) {
    scope.podman_command(&absolute_podman(), args)
}

/// `podman` as found on this process's `PATH` (so a user's manager runs the same podman), or
/// plain `podman` when it is not there.
fn absolute_podman() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("podman"))
        .find(|p| p.is_file())
        .map_or_else(|| "podman".to_string(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: Option<i32>) -> SystemdError {
        SystemdError::Failed {
            command: "podman network rm web".into(),
            status: format!("exit status: {code:?}"),
            code,
            stderr: String::new(),
        }
    }

    #[test]
    fn exit_codes_decide_the_kind_of_failure() {
        assert!(matches!(
            NetworkRmError::from_failure("web", failed(Some(1))),
            NetworkRmError::NotFound { .. }
        ));
        assert!(matches!(
            NetworkRmError::from_failure("web", failed(Some(2))),
            NetworkRmError::InUse(_)
        ));
        assert!(matches!(
            NetworkRmError::from_failure("web", failed(Some(125))),
            NetworkRmError::Failed(_)
        ));
        assert!(matches!(
            NetworkRmError::from_failure("web", failed(None)),
            NetworkRmError::Failed(_)
        ));
    }
}
