//! Running a host program (`systemctl`, `podman`) and what its failure says.

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
        /// The exit code, when it exited (not killed by a signal).
        code: Option<i32>,
        stderr: String,
    },
}

/// Runs `program` with `args`; its stdout, or how it failed.
pub fn run(program: &str, args: &[&str]) -> Result<String, SystemdError> {
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
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// [`run`] with `input` on the program's stdin (a secret's value, never in its argv).
pub fn run_with_input(program: &str, args: &[&str], input: &[u8]) -> Result<String, SystemdError> {
    use std::io::Write;
    use std::process::Stdio;
    let spawn_error = |source| SystemdError::Spawn {
        program: program.to_string(),
        source,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits early closes the pipe: its exit status says why.
        let _ = stdin.write_all(input);
    }
    let output = child.wait_with_output().map_err(spawn_error)?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(SystemdError::Failed {
        command: format!("{program} {}", args.join(" ")),
        status: output.status.to_string(),
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}
