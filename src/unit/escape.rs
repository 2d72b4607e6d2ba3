//! Escaping of inventory strings into Quadlet values, so that the argument podman finally receives
//! (after quadlet's parser, quadlet's re-quoting into `ExecStart=`, systemd's unquoting, `%`
//! specifiers and `$` expansion) is exactly the inventory's string, or the string is refused.
//!
//! Observed with the real quadlet 5.4.2 and 5.8.6 (the oracle tests keep checking it):
//! - word-list keys (`Exec`, `Environment`, `Label`, `PodmanArgs`, …) are split like a systemd
//!   command line: double quotes with C escapes (`\\`, `\"`, `\n`, `\xHH`) give any word back, but an
//!   empty word (`""`) ends the list (quadlet drops it and everything after it);
//! - single-value keys (`HealthCmd`, `Entrypoint`, `User`, …) are taken raw with no unescaping,
//!   except that 5.4 strips every leading and trailing `"` (5.8 one pair), and a trailing `\`
//!   continues the line;
//! - quadlet passes `%` and `$` through untouched, and systemd then expands `%x` specifiers in every
//!   unit key and `$VAR`/`${VAR}` in `ExecStart=`: so `%` is written `%%` and, in values that reach
//!   `ExecStart=`, `$` is written `$$`;
//! - a lone `;` argument is written unquoted into `ExecStart=`, where systemd reads it as a command
//!   separator.

use std::fmt;

/// Why a string cannot be written so that it comes out unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrepresentable {
    /// NUL can never be part of a command-line argument.
    Nul,
    /// Quadlet stops reading a word list at an empty word.
    EmptyWord,
    /// An empty single value is the same as no key at all.
    Empty,
    /// A trailing `\` continues the line in a systemd setting, and systemd does not unquote it.
    TrailingBackslash,
    /// systemd reads a lone `;` in `ExecStart=` as a command separator.
    LoneSemicolon,
    /// Single-value keys are not unescaped: a control character cannot be written.
    ControlCharacter(char),
    /// Quadlet 5.4 strips leading and trailing `"` from single-value keys.
    EdgeQuote,
    /// Leading or trailing whitespace in a single-value key.
    EdgeWhitespace,
    /// Whitespace in a place where quadlet or systemd split on it (host paths).
    Whitespace,
    /// A character that means something different in each place a host path is written.
    PathCharacter(char),
}

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unrepresentable::Nul => write!(
                f,
                "contains a NUL character, which no command line can carry"
            ),
            Unrepresentable::EmptyWord => write!(
                f,
                "is empty: quadlet drops an empty argument and every argument after it"
            ),
            Unrepresentable::Empty => write!(f, "is empty, which quadlet reads as not set"),
            Unrepresentable::TrailingBackslash => {
                write!(f, "ends with `\\`, which would join the next line to it")
            }
            Unrepresentable::LoneSemicolon => write!(
                f,
                "is a lone `;`, which systemd reads as a command separator in `ExecStart=`"
            ),
            Unrepresentable::ControlCharacter(c) => write!(
                f,
                "contains the control character {:?}, which quadlet cannot read in this key",
                c
            ),
            Unrepresentable::EdgeQuote => write!(
                f,
                "starts or ends with `\"`, which quadlet 5.4 strips from this key"
            ),
            Unrepresentable::EdgeWhitespace => write!(
                f,
                "starts or ends with whitespace, which quadlet trims from this key"
            ),
            Unrepresentable::PathCharacter(c) => write!(
                f,
                "contains `{c}`: a host path reaches both `podman run` and `RequiresMountsFor=` (which quadlet copies as is), and they read `{c}` differently"
            ),
            Unrepresentable::Whitespace => write!(
                f,
                "contains whitespace, which quadlet 5.4 splits host paths on (for example in the `RequiresMountsFor=` it adds)"
            ),
        }
    }
}

/// Where a value ends up, which decides which of systemd's expansions apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Becomes part of `ExecStart=`: `%` specifiers and `$` variables both apply.
    ExecStart,
    /// A plain unit setting: only `%` specifiers apply.
    UnitSetting,
}

/// Doubles `%` (and `$` for [`Target::ExecStart`]) so systemd leaves them literal.
pub fn protect(value: &str, target: Target) -> String {
    // Most values hold neither: one scan of the bytes (`%` and `$` are ASCII) and a copy.
    let special = |b: u8| b == b'%' || (b == b'$' && target == Target::ExecStart);
    if !value.bytes().any(special) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if target == Target::ExecStart => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// One word of a word-list key (`Exec=`, `Environment=`, `Label=`, `PodmanArgs=`…), quoted only when
/// needed. The word reaches podman as one argument, unchanged.
pub fn word(value: &str) -> Result<String, Unrepresentable> {
    if value.is_empty() {
        return Err(Unrepresentable::EmptyWord);
    }
    if value == ";" {
        return Err(Unrepresentable::LoneSemicolon);
    }
    if value.contains('\0') {
        return Err(Unrepresentable::Nul);
    }
    let protected = protect(value, Target::ExecStart);
    let unquoted =
        |c: char| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '\'' | '\\');
    // ASCII-only words, the usual case, are checked byte by byte (a visible ASCII character is
    // neither whitespace nor control); any other goes through every character.
    let plain = protected
        .bytes()
        .all(|b| b.is_ascii_graphic() && unquoted(char::from(b)))
        || protected.chars().all(unquoted);
    if plain {
        return Ok(protected);
    }
    let mut out = String::with_capacity(protected.len() + 2);
    out.push('"');
    for c in protected.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                // Every control character is below U+00A0, so two hex digits or `\u` suffice.
                let code = u32::from(c);
                if code < 0x80 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{code:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// A single-value key (`HealthCmd=`, `Entrypoint=`, `User=`, `Description=`…): written raw, so it
/// must not need any escape quadlet would not undo.
pub fn single(value: &str, target: Target) -> Result<String, Unrepresentable> {
    if value.is_empty() {
        return Err(Unrepresentable::Empty);
    }
    if value == ";" && target == Target::ExecStart {
        return Err(Unrepresentable::LoneSemicolon);
    }
    if value.contains('\0') {
        return Err(Unrepresentable::Nul);
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Unrepresentable::ControlCharacter(c));
    }
    if value.starts_with('"') || value.ends_with('"') {
        return Err(Unrepresentable::EdgeQuote);
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(Unrepresentable::EdgeWhitespace);
    }
    let protected = protect(value, target);
    if protected.ends_with('\\') && target == Target::UnitSetting {
        return Err(Unrepresentable::TrailingBackslash);
    }
    // A trailing backslash would continue the line: quadlet strips one pair of outer quotes.
    Ok(if protected.ends_with('\\') {
        format!("\"{protected}\"")
    } else {
        protected
    })
}

/// A host path written into a unit (bind-mount source, env file, device, `RequiresMountsFor=`).
///
/// The same text must mean the same path in `ExecStart=` (where `$` expands) and in
/// `RequiresMountsFor=` (which unquotes but does not expand `$`), including the copy quadlet makes
/// of bind sources. Only `%` can be escaped the same way in both, so whitespace, quotes, `$` and
/// `\` are refused.
pub fn host_path(value: &str) -> Result<String, Unrepresentable> {
    if value.chars().any(char::is_whitespace) {
        return Err(Unrepresentable::Whitespace);
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '$' | '"' | '\'' | '\\')) {
        return Err(Unrepresentable::PathCharacter(c));
    }
    single(value, Target::UnitSetting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(word("--flag").as_deref(), Ok("--flag"));
        assert_eq!(word("TZ=Europe/Berlin").as_deref(), Ok("TZ=Europe/Berlin"));
        assert_eq!(word("ünïcode").as_deref(), Ok("ünïcode"));
    }

    #[test]
    fn words_with_specials_are_quoted_and_escaped() {
        assert_eq!(word("a b").as_deref(), Ok("\"a b\""));
        assert_eq!(word("say \"hi\"").as_deref(), Ok("\"say \\\"hi\\\"\""));
        assert_eq!(word("c:\\dir").as_deref(), Ok("\"c:\\\\dir\""));
        assert_eq!(word("l1\nl2\t\u{1}").as_deref(), Ok("\"l1\\nl2\\t\\x01\""));
        assert_eq!(word("it's").as_deref(), Ok("\"it's\""));
    }

    #[test]
    fn specifiers_and_variables_are_doubled() {
        assert_eq!(word("100%").as_deref(), Ok("100%%"));
        assert_eq!(word("$HOME").as_deref(), Ok("$$HOME"));
        assert_eq!(word("a ${X}").as_deref(), Ok("\"a $${X}\""));
        assert_eq!(
            single("%n $X", Target::UnitSetting).as_deref(),
            Ok("%%n $X")
        );
        assert_eq!(single("%n $X", Target::ExecStart).as_deref(), Ok("%%n $$X"));
    }

    #[test]
    fn refuses_what_quadlet_cannot_carry() {
        assert_eq!(word(""), Err(Unrepresentable::EmptyWord));
        assert_eq!(word(";"), Err(Unrepresentable::LoneSemicolon));
        assert_eq!(
            single(";", Target::ExecStart),
            Err(Unrepresentable::LoneSemicolon)
        );
        assert_eq!(word("a\0"), Err(Unrepresentable::Nul));
        assert_eq!(
            single("\"quoted\"", Target::ExecStart),
            Err(Unrepresentable::EdgeQuote)
        );
        assert_eq!(
            single(" x", Target::ExecStart),
            Err(Unrepresentable::EdgeWhitespace)
        );
        assert_eq!(
            single("a\nb", Target::ExecStart),
            Err(Unrepresentable::ControlCharacter('\n'))
        );
        assert_eq!(host_path("/mnt/my media"), Err(Unrepresentable::Whitespace));
        assert_eq!(
            host_path("/srv/a$b"),
            Err(Unrepresentable::PathCharacter('$'))
        );
        assert_eq!(
            host_path("/srv/it's"),
            Err(Unrepresentable::PathCharacter('\''))
        );
        assert_eq!(
            host_path("/srv/b\\s"),
            Err(Unrepresentable::PathCharacter('\\'))
        );
        assert_eq!(host_path("/srv/100%").as_deref(), Ok("/srv/100%%"));
    }

    #[test]
    fn trailing_backslash_cannot_continue_the_line() {
        assert_eq!(single("a\\", Target::ExecStart).as_deref(), Ok("\"a\\\""));
    }
}
