//! Problems found in an inventory, with the place they were found and what to do about them.
//!
//! The core collects [`Diagnostic`]s instead of stopping at the first problem, so one run shows the
//! user everything that is wrong. Rendering (with a caret under the offending value) happens only at
//! the edge, in [`render`].

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// How serious a problem is: errors stop the build, warnings are printed and the build goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem: a message, the byte range in the inventory it is about, and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Option<Range<usize>>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error about the value at `span`.
    pub fn error(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    /// A warning about the value at `span`.
    pub fn warning(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(span, message)
        }
    }

    /// Adds a hint telling the user what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a short label printed next to the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics gathered while checking one inventory.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// Sorted by position so the output reads top to bottom like the file; a problem found more
    /// than once at the same place (a `[defaults]` value applied to several containers) is shown once.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.0
            .sort_by_key(|d| (d.span.as_ref().map_or(usize::MAX, |s| s.start), d.severity));
        self.0
            .dedup_by(|a, b| a.span == b.span && a.message == b.message);
        self.0
    }
}

/// Renders diagnostics as rustc-style reports (`path:line:column`, caret, help). Colour only when
/// `color` is set (the caller checks the terminal and `NO_COLOR`).
///
/// Each report is given only the lines its span covers, with their line number: handing the
/// renderer the whole file made it scan the file again for every problem (quadratic with
/// thousands of them). The output is the same (a property test compares the two).
pub fn render(diagnostics: &[Diagnostic], path: &str, source: &str, color: bool) -> String {
    let lines = LineStarts::new(source);
    render_with(diagnostics, path, color, |span| lines.excerpt(source, span))
}

/// Renders with `excerpt` choosing, for a span into the source, the text handed to the renderer,
/// the line number it starts at and the span within it.
fn render_with<'s>(
    diagnostics: &[Diagnostic],
    path: &str,
    color: bool,
    excerpt: impl Fn(Range<usize>) -> (&'s str, usize, Range<usize>),
) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut group = Group::with_title(level.primary_title(d.message.as_str()));
        match &d.span {
            Some(span) => {
                let (text, first_line, span) = excerpt(span.clone());
                let mut annotation = AnnotationKind::Primary.span(span);
                if let Some(label) = &d.label {
                    annotation = annotation.label(label.as_str());
                }
                group = group.element(
                    Snippet::source(text)
                        .line_start(first_line)
                        .path(path)
                        .fold(true)
                        .annotation(annotation),
                );
            }
            None => {
                group = group.element(annotate_snippets::Origin::path(path));
            }
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out
}

/// Where each line of a source starts, computed once for all its diagnostics.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(source: &str) -> Self {
        // Like the renderer, a final newline does not start another line: the end of the file
        // belongs to the last line.
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&start| start == 0 || start < source.len())
            .collect();
        Self(starts)
    }

    /// The whole lines `span` touches (with their newlines), the number of the first, and the
    /// span moved into them.
    fn excerpt<'s>(&self, source: &'s str, span: Range<usize>) -> (&'s str, usize, Range<usize>) {
        let span = clamp(span, source);
        // The index of the line holding byte `at`: the last line starting at or before it.
        let line_of = |at: usize| self.0.partition_point(|&start| start <= at) - 1;
        let first = line_of(span.start);
        let start = self.0[first];
        let end = self
            .0
            .get(line_of(span.end) + 1)
            .copied()
            .unwrap_or(source.len());
        (
            &source[start..end],
            first + 1,
            span.start - start..span.end - start,
        )
    }
}

fn clamp(span: Range<usize>, source: &str) -> Range<usize> {
    let start = span.start.min(source.len());
    let end = span.end.clamp(start, source.len());
    start..end
}

/// The candidate closest to `name`, if any is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Close by edits (typos, swapped letters) or by shared prefix (Jaro-Winkler).
    let close = |c: &str| {
        let edits = strsim::damerau_levenshtein(name, c);
        edits <= (name.chars().count().max(c.chars().count()) / 3).max(1)
            || strsim::jaro_winkler(name, c) > 0.85
    };
    candidates
        .into_iter()
        .filter(|c| close(c))
        .max_by(|a, b| strsim::jaro_winkler(name, a).total_cmp(&strsim::jaro_winkler(name, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        // "bé = " is 6 bytes but 5 characters: the value starts in column 6.
        let src = "a = 1\nbé = \"x\"\n";
        let text = render(
            &[Diagnostic::error(Some(12..15), "bad")],
            "inv.toml",
            src,
            false,
        );
        assert!(text.contains("inv.toml:2:6"), "{text}");
    }

    #[test]
    fn render_names_path_line_and_column() {
        let src = "[containers.web]\nimage = \"nginx\"\n";
        let d = Diagnostic::error(Some(25..32), "short image name")
            .with_help("write `docker.io/library/nginx`");
        let text = render(&[d], "inv.toml", src, false);
        assert!(text.contains("inv.toml:2:9"), "{text}");
        assert!(text.contains("error: short image name"), "{text}");
        assert!(
            text.contains("help: write `docker.io/library/nginx`"),
            "{text}"
        );
    }

    proptest::proptest! {
        /// Rendering from the lines of each span prints exactly what rendering from the whole
        /// source printed, for any source (several lines, CRLF, non-ASCII, no final newline) and
        /// any spans at character boundaries, including empty ones and ones past the end.
        #[test]
        fn excerpts_render_like_the_whole_source(
            source in "(?s)[a= \"\\[\\]é\t\r\n]{0,80}",
            spans in proptest::collection::vec((0usize..90, 0usize..12, proptest::bool::ANY), 1..4),
            color in proptest::bool::ANY,
        ) {
            let boundary = |i: usize| (0..=i).rev().find(|&j| source.is_char_boundary(j)).unwrap_or(0);
            let diagnostics: Vec<Diagnostic> = spans
                .iter()
                .map(|&(start, len, labelled)| {
                    let start = if start > source.len() { start } else { boundary(start) };
                    let end = if start + len > source.len() { start + len } else { boundary(start + len) };
                    let d = Diagnostic::error(Some(start..end.max(start)), "bad").with_help("fix it");
                    if labelled { d.with_label("here") } else { d }
                })
                .collect();
            let whole = render_with(&diagnostics, "inv.toml", color, |span| {
                (source.as_str(), 1, clamp(span, &source))
            });
            proptest::prop_assert_eq!(render(&diagnostics, "inv.toml", &source, color), whole);
        }
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        assert_eq!(
            did_you_mean("postgress", ["postgres", "web"]),
            Some("postgres")
        );
        assert_eq!(did_you_mean("zzz", ["postgres", "web"]), None);
    }
}
