//! The rootless edge of `plan` and `install` (`--user`, `--for-user`): the host checks of
//! [`crate::doctor::rootless`], printed before the plan; errors stop the command.

use std::path::Path;

use crate::cli::InstallArgs;
use crate::compile::Compiled;

/// Checks what the rootless containers of `compiled` need from the host and prints each problem
/// with its fix on stderr. `Ok(false)`: an error-level problem, so nothing may be installed.
pub fn preflight(
    inventory: &Path,
    compiled: &Compiled,
    args: &InstallArgs,
) -> anyhow::Result<bool> {
    if !args.scope.is_rootless() {
        return Ok(true);
    }
    let (model, _) =
        crate::compile::validate_source(inventory, &compiled.source, args.target.podman)
            .map_err(|r| anyhow::anyhow!("{}", r.render(false)))?;
    let findings = crate::doctor::rootless::check_scope(&args.scope, &model);
    if findings.is_empty() {
        return Ok(true);
    }
    eprint!("{}", crate::doctor::render_text(&findings));
    let ok = !crate::doctor::has_errors(&findings);
    if !ok {
        eprintln!(
            "error: the host is not ready for these rootless containers (above, each with its fix); nothing was changed"
        );
    }
    Ok(ok)
}
