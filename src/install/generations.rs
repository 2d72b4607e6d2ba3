//! Generations, for hosts without NixOS's: each install that changes a file keeps the inventory
//! it installed and the manifest it wrote as a numbered generation, so `quadgen rollback`
//! can install an earlier one again through the same plan and apply.
//!
//! They live beside the manifest in [`GENERATIONS_DIR`] (quadlet reads files by extension and
//! ignores `.json`), one `N.json` each, written atomically. Only names of that form are ever
//! read or removed there; a generation is validated when read like the manifest (its number,
//! its manifest's entries, its label), so a tampered one is an error, not a path or a command.
//! The newest [`DEFAULT_KEEP`] (or `--keep-generations`) are kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::host::fs::{self, IoError};
use crate::install::manifest::{Manifest, parse_file_name};

/// The directory of generations in the unit directory.
pub const GENERATIONS_DIR: &str = ".quadgen-generations";
/// How many generations are kept by default.
pub const DEFAULT_KEEP: usize = 10;
/// The generation format; bumped when an older reader would misread it.
pub const FORMAT: u32 = 1;

/// One generation: what an install installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// [`FORMAT`].
    pub format: u32,
    /// Its number; the file is `NUMBER.json`.
    pub number: u64,
    /// When it was installed, Unix seconds.
    pub time: u64,
    /// The inventory as given to install (the manifest's label).
    pub inventory_label: String,
    /// The Podman version the units were compiled for (`--podman`).
    pub podman: String,
    /// The inventory text installed.
    pub inventory: String,
    /// The unit files that install wrote or removed.
    pub changed: Vec<String>,
    /// The manifest the install wrote.
    pub manifest: Manifest,
}

/// A generation that cannot be read, written or found.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("`{}` is not a generation quadgen wrote: {problem}; move it away", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error("cannot write generation {number} as JSON: {source}")]
    Serialize {
        number: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}", missing_text(*.wanted, .have))]
    Missing { wanted: Option<u64>, have: Vec<u64> },
    #[error("`{}` is a symlink or not a directory; quadgen does not follow it", path.display())]
    NotADirectory { path: PathBuf },
}

fn missing_text(wanted: Option<u64>, have: &[u64]) -> String {
    let list = if have.is_empty() {
        "there are none yet (each install that changes something records one)".to_string()
    } else {
        format!(
            "there are: {}",
            have.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match wanted {
        Some(n) => format!("no generation {n}; {list} (`quadgen generations` lists them)"),
        None => format!("no generation before the current one; {list}"),
    }
}

/// The file name of generation `number`.
pub fn file_name(number: u64) -> String {
    format!("{number}.json")
}

/// The number of a generation file name: digits without a leading zero, then `.json`.
pub fn parse_number(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    plain.then(|| digits.parse().ok()).flatten()
}

/// The generations to remove so that only the newest `keep` of `numbers` stay (at least one).
pub fn to_prune(numbers: &[u64], keep: usize) -> Vec<u64> {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    let drop = sorted.len().saturating_sub(keep.max(1));
    sorted.truncate(drop);
    sorted
}

/// The generation a rollback installs: `wanted`, or the one before the newest.
pub fn rollback_target(numbers: &[u64], wanted: Option<u64>) -> Result<u64, GenerationError> {
    let missing = || GenerationError::Missing {
        wanted,
        have: numbers.to_vec(),
    };
    match wanted {
        Some(n) if numbers.contains(&n) => Ok(n),
        Some(_) => Err(missing()),
        None => {
            let newest = numbers.iter().max().ok_or_else(missing)?;
            numbers
                .iter()
                .filter(|n| *n < newest)
                .max()
                .copied()
                .ok_or_else(missing)
        }
    }
}

impl Generation {
    /// Parses and validates a generation read from `path`, expected to be `number`.
    pub fn parse(path: &Path, number: u64, text: &str) -> Result<Self, GenerationError> {
        let invalid = |problem: String| GenerationError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        let g: Generation = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if g.format != FORMAT {
            return Err(invalid(format!(
                "format {}, this quadgen reads {FORMAT}",
                g.format
            )));
        }
        if g.number != number {
            return Err(invalid(format!("it says it is generation {}", g.number)));
        }
        if g.inventory_label.chars().any(char::is_control) || g.podman.chars().any(char::is_control)
        {
            return Err(invalid("its labels contain control characters".into()));
        }
        if let Some(bad) = g.changed.iter().find(|f| parse_file_name(f).is_err()) {
            return Err(invalid(format!(
                "changed file `{}` is not a unit file name",
                bad.escape_debug()
            )));
        }
        g.manifest.validate().map_err(|e| {
            invalid(format!(
                "its manifest's {} `{}` {}",
                e.what, e.entry, e.problem
            ))
        })?;
        Ok(g)
    }
}

fn dir(root: &Path) -> PathBuf {
    root.join(GENERATIONS_DIR)
}

/// The numbers of the generations in `root`, ascending (none when the directory is missing).
pub fn list(root: &Path) -> Result<Vec<u64>, GenerationError> {
    let d = dir(root);
    match std::fs::symlink_metadata(&d) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Ok(m) if !m.is_dir() => return Err(GenerationError::NotADirectory { path: d }),
        _ => {}
    }
    let mut numbers: Vec<u64> = fs::list_dir(&d)?
        .iter()
        .filter_map(|n| parse_number(n))
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// Reads generation `number` of `root` (never through a symlink) and validates it.
pub fn load(root: &Path, number: u64) -> Result<Generation, GenerationError> {
    let path = dir(root).join(file_name(number));
    let bytes = fs::read_regular(&path).map_err(|source| IoError {
        action: "read",
        path: path.clone(),
        source,
    })?;
    Generation::parse(&path, number, &String::from_utf8_lossy(&bytes))
}

/// Writes `generation` (atomically), then removes all but the newest `keep`.
pub fn record(root: &Path, generation: &Generation, keep: usize) -> Result<(), GenerationError> {
    let d = dir(root);
    match std::fs::symlink_metadata(&d) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::create_root(&d)?,
        Ok(m) if !m.is_dir() => return Err(GenerationError::NotADirectory { path: d }),
        _ => {}
    }
    let mut json =
        serde_json::to_string_pretty(generation).map_err(|source| GenerationError::Serialize {
            number: generation.number,
            source,
        })?;
    json.push('\n');
    fs::write_atomic(&d, &file_name(generation.number), json.as_bytes())?;
    for old in to_prune(&list(root)?, keep) {
        fs::remove(&d, &file_name(old))?;
    }
    fs::sync_dir(&d)?;
    Ok(())
}

/// Removes every generation and then the directory if it is empty (`quadgen uninstall`).
pub fn remove_all(root: &Path) -> Result<(), GenerationError> {
    let d = dir(root);
    for n in list(root)? {
        fs::remove(&d, &file_name(n))?;
    }
    match std::fs::remove_dir(&d) {
        // Missing, or something not ours is left in it: keep it.
        Err(_) => Ok(()),
        Ok(()) => Ok(()),
    }
}

/// `time` (Unix seconds) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(time: u64) -> String {
    let days = (time / 86_400) as i64;
    let secs = time % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_pruning_and_rollback_targets() {
        assert_eq!(parse_number("12.json"), Some(12));
        for bad in ["012.json", "a.json", ".json", "12.json.tmp", "-1.json", "1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(to_prune(&[3, 1, 2, 5, 4], 2), vec![1, 2, 3]);
        assert_eq!(to_prune(&[1, 2], 10), Vec::<u64>::new());
        assert_eq!(to_prune(&[1, 2], 0), vec![1], "the newest always stays");
        assert_eq!(rollback_target(&[3, 4, 5], None).ok(), Some(4));
        assert_eq!(rollback_target(&[3, 4, 5], Some(3)).ok(), Some(3));
        let err = rollback_target(&[3, 4, 5], Some(9)).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "no generation 9; there are: 3, 4, 5 (`quadgen generations` lists them)"
        );
        let err = rollback_target(&[5], None).expect_err("only one");
        assert_eq!(
            err.to_string(),
            "no generation before the current one; there are: 5"
        );
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_796_000_000), "2026-11-30 00:53:20 UTC");
    }

    #[test]
    fn a_tampered_generation_is_invalid() {
        let g = Generation {
            format: FORMAT,
            number: 2,
            time: 0,
            inventory_label: "/inv.toml".into(),
            podman: "5.4".into(),
            inventory: String::new(),
            changed: vec!["web.container".into()],
            manifest: Manifest::new("/inv.toml"),
        };
        let json = serde_json::to_string(&g).expect("json");
        assert_eq!(
            Generation::parse(Path::new("2.json"), 2, &json).ok(),
            Some(g.clone())
        );
        let err = Generation::parse(Path::new("/g/3.json"), 3, &json).expect_err("number");
        assert!(err.to_string().contains("generation 2"), "{err}");
        let bad = json.replace("web.container", "../x.container");
        let err = Generation::parse(Path::new("2.json"), 2, &bad).expect_err("path");
        assert!(err.to_string().contains("../x.container"), "{err}");
    }
}
