//! The YAML text of a value, safe for every reader Kubernetes users meet.
//!
//! serde_norway gives the ordered value tree, but its own writer quotes only what YAML 1.2 would
//! misread: it writes the string `no` plain, which the YAML 1.1 readers of the Kubernetes world
//! (go-yaml v2 behind `kubectl`, PyYAML) read as `false` (kubernetes-validate caught this on
//! `redis-server --appendonly no`). So the text is written here, block style as `kubectl` writes
//! it, and a string is written plain only when no YAML 1.1 or 1.2 reader can take it for anything
//! but that string; everything else is double-quoted with JSON escapes (valid YAML).

use serde_norway::Value;

/// A value as a YAML document (block style, two-space indent, lists at their key's indent).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if !m.is_empty() => mapping(&mut out, m, 0),
        Value::Sequence(s) if !s.is_empty() => sequence(&mut out, s, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn mapping(out: &mut String, map: &serde_norway::Mapping, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first entry of a list item continues the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            push_indent(out, indent);
        }
        out.push_str(&scalar(key));
        out.push(':');
        nested(out, value, indent, indent + 2);
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        push_indent(out, indent);
        out.push_str("- ");
        match item {
            Value::Mapping(m) if !m.is_empty() => mapping(out, m, indent + 2),
            Value::Sequence(s) if !s.is_empty() => {
                out.push('\n');
                sequence(out, s, indent + 2);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`: inline when scalar or empty, else on the next lines.
fn nested(out: &mut String, value: &Value, seq_indent: usize, map_indent: usize) {
    match value {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            mapping(out, m, map_indent);
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            sequence(out, s, seq_indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Mapping(_) => "{}".into(),
        Value::Sequence(_) => "[]".into(),
        Value::Tagged(t) => scalar(&t.value),
    }
}

/// A string, plain when that is unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// Whether `s` may be written as a plain scalar: printable ASCII, no indicator at the start,
/// nothing that starts a comment or a mapping inside, and not a word or number that a YAML 1.1
/// or 1.2 reader resolves to a boolean, null or number.
fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let printable = bytes.iter().all(|b| (0x20..0x7f).contains(b));
    let starts_ok = !b"?:,[]{}#&*!|>'\"%@` ".contains(&first)
        && (first != b'-' || bytes.get(1).is_some_and(|b| *b != b' '));
    let inner_ok = !s.contains(": ") && !s.contains(" #") && last != b':' && last != b' ';
    printable && starts_ok && inner_ok && !is_yaml11_special(s) && !looks_numeric(s)
}

fn is_yaml11_special(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n"
            | "yes"
            | "no"
            | "true"
            | "false"
            | "on"
            | "off"
            | "null"
            | "~"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "="
            | "<<"
    )
}

/// Anything a reader could take for a number in some base or notation (`8080`, `0755`, `1:20`,
/// `1_000`, `0x1F`, `1e3`, `.5`): a digit after an optional sign or dot, then only digits, hex
/// letters, `x o b _ : . e + -`.
fn looks_numeric(s: &str) -> bool {
    let body = s.trim_start_matches(['+', '-']).trim_start_matches('.');
    body.starts_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(c, 'x' | 'X' | 'o' | 'O' | '_' | ':' | '.' | '+' | '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_yaml_1_1_reader_would_change_are_quoted() {
        for s in [
            "no",
            "Yes",
            "ON",
            "off",
            "y",
            "n",
            "true",
            "null",
            "~",
            "",
            "8080",
            "0755",
            "1:20",
            "1_000",
            "0x1F",
            "1e3",
            ".5",
            "-1",
            "10.0.0.53",
            " x",
            "x ",
            "a: b",
            "a #b",
            "-",
            "- x",
            "*ref",
            "&a",
            "!tag",
            "%x",
            "@x",
            "`x",
            "'x",
            "\"x",
            "{a}",
            "[a]",
            "x:",
            "é",
            "a\nb",
            "?x",
            "#x",
            "|",
            ">",
        ] {
            assert_ne!(string(s), s, "{s:?} must be quoted");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "app",
            "--listen",
            "/bin/sh",
            "wget -q -O /dev/null http://127.0.0.1:8080/",
            "--address=0.0.0.0:51515",
            "postgres://app@db:5432/app?sslmode=disable",
            "1Gi",
            "ghcr.io/example/app:1",
            "app.kubernetes.io/name",
            "2.1-beta",
        ] {
            assert_eq!(string(s), s, "{s:?} should stay plain");
        }
    }

    #[test]
    fn quoted_strings_read_back_as_written() {
        for s in [
            "no",
            "it's \"quoted\"",
            "a\nb\tc\\",
            "100%",
            "$$(X)",
            "\u{1}",
            "é",
        ] {
            let text = to_string(&Value::String(s.to_string()));
            let back: String = serde_norway::from_str(&text).expect("valid YAML");
            assert_eq!(back, s);
        }
    }
}
