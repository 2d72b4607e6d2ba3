//! The shared corpus of real files (`../shared/corpus`, read-only).

use std::path::{Path, PathBuf};

/// The Compose corpus: `QUADGEN_CORPUS/compose`, or `shared/corpus/compose` beside the repository
/// (CI lays it there), or beside the directory holding a git worktree. Missing, the test fails.
pub fn compose() -> PathBuf {
    if let Some(dir) = std::env::var_os("QUADGEN_CORPUS") {
        return PathBuf::from(dir).join("compose");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        repo.join("../shared/corpus"),
        repo.join("../../shared/corpus"),
    ];
    candidates
        .iter()
        .find(|c| c.join("compose").is_dir())
        .map(|c| c.join("compose"))
        .unwrap_or_else(|| {
            panic!(
                "the compose corpus is missing (looked in {candidates:?}); set QUADGEN_CORPUS to \
                 the shared corpus directory"
            )
        })
}
