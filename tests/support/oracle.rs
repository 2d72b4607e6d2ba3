//! The real quadlet generators as test oracles, and a model of how systemd turns the `ExecStart=`
//! line quadlet writes into the argv podman receives.
//!
//! The binaries come from `bash tests/provision.sh` (Debian's podman packages: trixie's 5.4.2 and
//! sid's newest). Missing binaries fail the test unless `QUADGEN_SKIP_ORACLE=1` is set, in which
//! case the test says loudly that it skipped (tests/support/skip.rs).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use quadgen::unit::parse::ParsedUnit;

/// One real quadlet binary.
#[derive(Debug, Clone)]
pub struct Oracle {
    pub suite: &'static str,
    pub bin: PathBuf,
    pub version: String,
}

/// Both oracles, or an empty list after a loud `SKIPPED` line when they are missing and
/// `QUADGEN_SKIP_ORACLE=1` (see tests/support/skip.rs).
pub fn oracles() -> Vec<Oracle> {
    let mut found = Vec::new();
    for suite in ["trixie", "sid"] {
        let bin = crate::skip::cache_dir()
            .join("quadlet")
            .join(suite)
            .join("usr/libexec/podman/quadlet");
        if !bin.is_file() {
            crate::skip::skip_or_fail(
                "QUADGEN_SKIP_ORACLE",
                &format!("the real quadlet ({suite}) is missing at {}", bin.display()),
                "Run `bash tests/provision.sh` first",
            );
            return Vec::new();
        }
        let out = Command::new(&bin)
            .arg("-version")
            .output()
            .expect("run quadlet -version");
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        found.push(Oracle {
            suite,
            bin,
            version,
        });
    }
    assert!(
        found[0].version.starts_with("5.4."),
        "trixie's quadlet must be 5.4.x, is {}",
        found[0].version
    );
    found
}

/// What `quadlet -dryrun` made of a directory.
#[derive(Debug)]
pub struct DryRun {
    pub ok: bool,
    pub stderr: String,
    /// Generated services by name (`web.service`).
    pub services: BTreeMap<String, ParsedUnit>,
}

impl DryRun {
    /// Problems quadlet reported: unsupported keys, conversion errors, anything but loading lines.
    pub fn problems(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.contains("Loading source unit file"))
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    pub fn service(&self, name: &str) -> &ParsedUnit {
        self.services.get(name).unwrap_or_else(|| {
            panic!(
                "quadlet made no {name}; it made {:?}\n{}",
                self.services.keys(),
                self.stderr
            )
        })
    }

    /// Asserts quadlet converted every file with no complaint at all.
    pub fn assert_clean(&self, oracle: &Oracle) {
        assert!(
            self.ok && self.problems().is_empty(),
            "quadlet {} complained:\n{}",
            oracle.version,
            self.problems().join("\n")
        );
    }
}

impl Oracle {
    /// Runs `QUADLET_UNIT_DIRS=dir quadlet -dryrun`.
    pub fn dryrun(&self, dir: &Path) -> DryRun {
        let out = Command::new(&self.bin)
            .arg("-dryrun")
            .env("QUADLET_UNIT_DIRS", dir)
            .output()
            .expect("run quadlet");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut services = BTreeMap::new();
        let mut current: Option<(String, String)> = None;
        for line in stdout.split_inclusive('\n') {
            let trimmed = line.trim_end();
            if let Some(name) = trimmed
                .strip_prefix("---")
                .and_then(|l| l.strip_suffix("---"))
            {
                if let Some((n, text)) = current.take() {
                    services.insert(n, ParsedUnit::parse(&text));
                }
                current = Some((name.to_string(), String::new()));
            } else if let Some((_, text)) = current.as_mut() {
                text.push_str(line);
            }
        }
        if let Some((n, text)) = current {
            services.insert(n, ParsedUnit::parse(&text));
        }
        DryRun {
            ok: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            services,
        }
    }
}

/// The argv systemd executes for an `ExecStart=` value: words split with quotes and C escapes,
/// then `%` specifiers (only `%%` is literal; any other specifier is shown as `<%x>`), then
/// environment expansion at exec time (`$$` is literal; `${X}` and a whole-word `$X` are shown as
/// `<$X>`), so a comparison with the intended string fails if anything was expanded.
pub fn systemd_argv(exec: &str) -> Vec<String> {
    split_words(exec)
        .into_iter()
        .map(|w| expand_env(&expand_specifiers(&w)))
        .collect()
}

/// systemd's `extract_first_word(…, EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)` loop over `ExecStart=`.
/// Panics where systemd would not run the command as one command: a lone unquoted `;` (a command
/// separator), an unknown escape, NUL, a trailing backslash, an unterminated quote.
fn split_words(s: &str) -> Vec<String> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| is_space(*c)) {
            chars.next();
        }
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut literal_only = true; // no quote or escape seen: a lone `;` separates commands
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if is_space(c) => break,
                (None, '"' | '\'') => {
                    quote = Some(c);
                    literal_only = false;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    literal_only = false;
                    word.push_str(&unescape(&mut chars, s));
                }
                (_, c) => word.push(c),
            }
        }
        assert!(quote.is_none(), "unterminated quote in ExecStart: {s}");
        assert!(
            !(literal_only && word == ";"),
            "a lone `;` splits ExecStart into two commands: {s}"
        );
        words.push(word);
    }
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &str) -> String {
    let Some(c) = chars.next() else {
        panic!("trailing backslash in ExecStart: {line}")
    };
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let digits: String = (0..n).filter_map(|_| chars.next()).collect();
        let code = u32::from_str_radix(&digits, 16).expect("hex escape");
        assert!(code != 0, "NUL escape in ExecStart: {line}");
        char::from_u32(code).expect("valid char").to_string()
    };
    match c {
        'a' => "\u{7}".into(),
        'b' => "\u{8}".into(),
        'f' => "\u{c}".into(),
        'n' => "\n".into(),
        'r' => "\r".into(),
        't' => "\t".into(),
        'v' => "\u{b}".into(),
        's' => " ".into(),
        'x' => hex(chars, 2),
        'u' => hex(chars, 4),
        'U' => hex(chars, 8),
        '0'..='7' => {
            let mut digits = c.to_string();
            digits.push(chars.next().expect("octal"));
            digits.push(chars.next().expect("octal"));
            let code = u32::from_str_radix(&digits, 8).expect("octal");
            assert!(code != 0, "NUL escape in ExecStart: {line}");
            char::from_u32(code).expect("char").to_string()
        }
        '\\' | '"' | '\'' | ';' => c.to_string(),
        other => panic!("systemd rejects the escape `\\{other}` in ExecStart: {line}"),
    }
}

fn expand_specifiers(w: &str) -> String {
    let mut out = String::new();
    let mut chars = w.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                Some(x) => out.push_str(&format!("<%{x}>")),
                None => out.push_str("<%>"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn expand_env(w: &str) -> String {
    let is_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some(name) = w.strip_prefix('$').filter(|name| is_name(name)) {
        return format!("<${name}>");
    }
    let mut out = String::new();
    let mut rest = w;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some((a, end)) = after
            .strip_prefix('{')
            .and_then(|a| a.find('}').map(|end| (a, end)))
        {
            out.push_str(&format!("<${}>", &a[..end]));
            rest = &a[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The podman argv of a generated container service, after systemd's rules.
pub fn podman_argv(service: &ParsedUnit) -> Vec<String> {
    let exec = service.last("Service", "ExecStart").expect("ExecStart");
    systemd_argv(exec)
}

/// Values of an option in an argv, in both `--opt value` and `--opt=value` forms.
pub fn option_values<'a>(argv: &'a [String], option: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let prefix = format!("{option}=");
    let mut i = 0;
    while i < argv.len() {
        if argv[i] == option {
            if let Some(v) = argv.get(i + 1) {
                out.push(v.as_str());
            }
            i += 2;
            continue;
        }
        if let Some(v) = argv[i].strip_prefix(&prefix) {
            out.push(v);
        }
        i += 1;
    }
    out
}

/// The arguments after the image in a `podman run` argv (the container's command).
pub fn args_after_image<'a>(argv: &'a [String], image: &str) -> &'a [String] {
    let pos = argv
        .iter()
        .rposition(|a| a == image)
        .expect("image in argv");
    &argv[pos + 1..]
}

#[cfg(test)]
mod model_tests {
    use super::*;

    #[test]
    fn systemd_rules() {
        assert_eq!(
            systemd_argv(r#"a "b c" 'd e' f\x20g "h\"i" 100%% $$X ${Y} $Z %n"#),
            vec![
                "a", "b c", "d e", "f g", "h\"i", "100%", "$X", "<$Y>", "<$Z>", "<%n>"
            ]
        );
    }
}
