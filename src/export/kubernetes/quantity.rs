//! podman's sizes and CPU counts as Kubernetes quantities, exactly.
//!
//! podman reads a size (`--memory`, `--shm-size`) with go-units' `RAMInBytes`: a decimal number
//! times a binary unit (`k` is 1024, `m` 1024², `g` 1024³, …, with or without a trailing `b` or
//! `ib`), as a 64-bit float truncated to whole bytes. The same arithmetic here gives the same
//! bytes, written with the largest binary suffix (`Ki`, `Mi`, `Gi`, …) that divides them.

/// The bytes podman reads from a checked size like `2g`, `1.5g` or `512m`.
pub fn size_bytes(size: &str) -> Option<u64> {
    let lower = size.to_ascii_lowercase();
    let end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(end);
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let number: f64 = number.parse().ok()?;
    // As go-units: float64(size) * float64(multiplier), converted to int64 (truncated).
    let bytes = number * 1024f64.powi(power);
    (bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// A Kubernetes quantity for `bytes`: `2Gi`, `1536Mi`, or plain bytes.
pub fn bytes_quantity(bytes: u64) -> String {
    const SUFFIXES: [&str; 6] = ["", "Ki", "Mi", "Gi", "Ti", "Pi"];
    let mut value = bytes;
    let mut index = 0;
    while value > 0 && value % 1024 == 0 && index + 1 < SUFFIXES.len() {
        value /= 1024;
        index += 1;
    }
    format!(
        "{value}{}",
        SUFFIXES.get(index).copied().unwrap_or_default()
    )
}

/// The quantity for a checked podman size, when it is one.
pub fn size_quantity(size: &str) -> Option<String> {
    size_bytes(size).map(bytes_quantity)
}

/// A checked decimal number of CPUs as a quantity: whole CPUs as written, a fraction in
/// millicores (`1.5` → `1500m`), rounded up to the next millicore (Kubernetes' precision).
pub fn cpu_quantity(cpus: &str) -> String {
    let (whole, fraction) = cpus.split_once('.').unwrap_or((cpus, ""));
    let whole = whole.trim_start_matches('0');
    if fraction.trim_end_matches('0').is_empty() {
        return if whole.is_empty() { "0" } else { whole }.to_string();
    }
    let mut milli_digits: String = fraction.chars().take(3).collect();
    while milli_digits.len() < 3 {
        milli_digits.push('0');
    }
    let rest_nonzero = fraction.chars().skip(3).any(|c| c != '0');
    let whole: u64 = whole.parse().unwrap_or(0);
    let milli: u64 = milli_digits.parse().unwrap_or(0);
    let total = whole
        .saturating_mul(1000)
        .saturating_add(milli)
        .saturating_add(u64::from(rest_nonzero));
    format!("{total}m")
}

/// Whether [`cpu_quantity`] rounded `cpus` (more than three decimals).
pub fn cpu_rounded(cpus: &str) -> bool {
    cpus.split_once('.')
        .is_some_and(|(_, f)| f.chars().skip(3).any(|c| c != '0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_sizes_are_binary_and_exact() {
        assert_eq!(size_quantity("2g").as_deref(), Some("2Gi"));
        assert_eq!(size_quantity("2G").as_deref(), Some("2Gi"));
        assert_eq!(size_quantity("2gb").as_deref(), Some("2Gi"));
        assert_eq!(size_quantity("2GiB").as_deref(), Some("2Gi"));
        assert_eq!(size_quantity("512m").as_deref(), Some("512Mi"));
        assert_eq!(size_quantity("1536m").as_deref(), Some("1536Mi"));
        assert_eq!(size_quantity("1.5g").as_deref(), Some("1536Mi"));
        assert_eq!(size_quantity("64k").as_deref(), Some("64Ki"));
        assert_eq!(size_quantity("1024").as_deref(), Some("1Ki"));
        assert_eq!(size_quantity("1000").as_deref(), Some("1000"));
        assert_eq!(size_quantity("100b").as_deref(), Some("100"));
        assert_eq!(size_quantity("1t").as_deref(), Some("1Ti"));
        // 0.1k is 102.4 bytes: podman truncates to 102.
        assert_eq!(size_quantity("0.1k").as_deref(), Some("102"));
        assert_eq!(size_bytes("1.5g"), Some(1_610_612_736));
    }

    #[test]
    fn cpus_in_millicores() {
        assert_eq!(cpu_quantity("2"), "2");
        assert_eq!(cpu_quantity("2.0"), "2");
        assert_eq!(cpu_quantity("1.5"), "1500m");
        assert_eq!(cpu_quantity("0.25"), "250m");
        assert_eq!(cpu_quantity("0.0005"), "1m");
        assert_eq!(cpu_quantity("1.2345"), "1235m");
        assert!(cpu_rounded("1.2345") && !cpu_rounded("1.234") && !cpu_rounded("2"));
    }
}
