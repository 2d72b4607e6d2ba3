//! Parsing a large inventory in batches of `[containers.NAME]` tables, so the parser's token list
//! and intermediate tables exist for one batch at a time instead of for the whole file (about 30
//! bytes per input byte while parsing).
//!
//! The file is cut at its top-level table headers, found with the TOML lexer (so a `[` inside a
//! string or a multi-line array is never taken for a header). Contiguous `[containers.…]` tables
//! are parsed in batches, each a slice of the file; every other table (and the keys before the
//! first header) is parsed as one document, so `defaults`, `networks` and `volumes` follow the
//! TOML rules exactly. Each batch's spans are shifted back to file offsets before deserializing.
//!
//! Whenever the batches could mean something different from the whole file (a parse or type
//! error, a container in two batches, a `containers` key outside `[containers.NAME]` tables),
//! [`parse`] returns `None` and the caller parses the whole file: its result, and every error
//! message, are then exactly the whole-file ones.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use toml_parser::lexer::TokenKind;

use super::Inventory;

/// The size of one batch of container tables. Large enough that per-batch costs vanish, small
/// enough that the parser's working memory (about 30 times this) stays small.
pub const BATCH_BYTES: usize = 256 * 1024;

/// What a top-level table header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// `[containers.NAME]`: a batch may start here.
    Container,
    /// `[containers.NAME.more…]`: stays in the batch of the table before it.
    ContainerPart,
    /// Any other header, `[[…]]` included.
    Other,
}

/// A part of the file: from one top-level header (or the file's start) to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    range: Range<usize>,
    /// `None` for the text before the first header.
    header: Option<Header>,
}

impl Segment {
    fn is_container(&self) -> bool {
        matches!(self.header, Some(Header::Container | Header::ContainerPart))
    }
}

/// The inventory parsed in batches of at most about `batch_bytes` of container tables, or `None`
/// when only a whole-file parse gives the right result or error (see the module docs).
pub fn parse(source: &str, batch_bytes: usize) -> Option<Inventory> {
    let segments = segments(source)?;
    let mut rest_text = String::new();
    // (offset in `rest_text`, offset in `source`) at the start of each piece of the rest.
    let mut rest_pieces: Vec<(usize, usize)> = Vec::new();
    let mut batches: Vec<Range<usize>> = Vec::new();
    let mut previous_was_container = false;
    for segment in &segments {
        if segment.is_container() {
            let extend = previous_was_container
                && (segment.header == Some(Header::ContainerPart)
                    || batches
                        .last()
                        .is_some_and(|b| b.end - b.start < batch_bytes));
            match batches.last_mut() {
                Some(batch) if extend => batch.end = segment.range.end,
                _ => batches.push(segment.range.clone()),
            }
            previous_was_container = true;
        } else {
            rest_pieces.push((rest_text.len(), segment.range.start));
            rest_text.push_str(&source[segment.range.clone()]);
            previous_was_container = false;
        }
    }

    let rest_root = DeTable::parse(&rest_text).ok()?;
    if rest_root
        .get_ref()
        .iter()
        .any(|(key, _)| key.get_ref() == "containers")
    {
        return None;
    }
    let shift_rest = |at: usize| {
        // The last piece starting at or before `at`.
        let index = rest_pieces.partition_point(|&(start, _)| start <= at);
        let (start, original) = rest_pieces[index.saturating_sub(1)];
        original + (at - start)
    };
    let mut inventory = deserialize(rest_root, &shift_rest)?;

    for batch in batches {
        let root = DeTable::parse(&source[batch.clone()]).ok()?;
        let part = deserialize(root, &|at| at + batch.start)?;
        if part.defaults.is_some()
            || !part.networks.is_empty()
            || !part.volumes.is_empty()
            || !part.secrets.is_empty()
        {
            return None;
        }
        for (name, container) in part.containers {
            if inventory.containers.insert(name, container).is_some() {
                return None;
            }
        }
    }
    Some(inventory)
}

/// Shifts every span of a parsed document with `shift`, then deserializes it.
fn deserialize(root: Spanned<DeTable<'_>>, shift: &dyn Fn(usize) -> usize) -> Option<Inventory> {
    let span = shift_span(root.span(), shift);
    let table = shift_table(root.into_inner(), shift);
    Inventory::deserialize(toml::de::Deserializer::from(Spanned::new(span, table))).ok()
}

fn shift_span(span: Range<usize>, shift: &dyn Fn(usize) -> usize) -> Range<usize> {
    if span.is_empty() {
        let at = shift(span.start);
        at..at
    } else {
        // The end is mapped from the last byte inside the span, so a span ending where a piece
        // of the rest ends stays in that piece.
        shift(span.start)..shift(span.end - 1) + 1
    }
}

fn shift_table<'i>(table: DeTable<'i>, shift: &dyn Fn(usize) -> usize) -> DeTable<'i> {
    table
        .into_iter()
        .map(|(key, value)| {
            let key_span = shift_span(key.span(), shift);
            (
                Spanned::new(key_span, key.into_inner()),
                shift_value(value, shift),
            )
        })
        .collect()
}

fn shift_value<'i>(
    value: Spanned<DeValue<'i>>,
    shift: &dyn Fn(usize) -> usize,
) -> Spanned<DeValue<'i>> {
    let span = shift_span(value.span(), shift);
    let inner = match value.into_inner() {
        DeValue::Table(table) => DeValue::Table(shift_table(table, shift)),
        DeValue::Array(mut array) => {
            for item in array.iter_mut() {
                let taken = std::mem::replace(item, Spanned::new(0..0, DeValue::Boolean(false)));
                *item = shift_value(taken, shift);
            }
            DeValue::Array(array)
        }
        other => other,
    };
    Spanned::new(span, inner)
}

/// The file cut at its top-level table headers, or `None` when the lexer sees something it does
/// not expect (the whole-file parse then reports it).
fn segments(source: &str) -> Option<Vec<Segment>> {
    let mut tokens = toml_parser::Source::new(source).lex();
    let mut segments = vec![Segment {
        range: 0..0,
        header: None,
    }];
    // Open `[` and `{` of values; a header is a `[` first on its line outside any value.
    let mut depth = 0usize;
    let mut line_start = true;
    while let Some(token) = tokens.next() {
        match token.kind() {
            TokenKind::Whitespace | TokenKind::Comment => continue,
            TokenKind::Newline => {
                line_start = true;
                continue;
            }
            TokenKind::Eof => break,
            TokenKind::LeftSquareBracket if depth == 0 && line_start => {
                let start = token.span().start();
                let header = header(source, &mut tokens)?;
                segments.push(Segment {
                    range: start..start,
                    header: Some(header),
                });
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.checked_sub(1)?;
            }
            _ => {}
        }
        line_start = false;
    }
    if depth != 0 {
        return None;
    }
    for i in 1..segments.len() {
        let end = segments[i].range.start;
        segments[i - 1].range.end = end;
    }
    if let Some(last) = segments.last_mut() {
        last.range.end = source.len();
    }
    Some(segments)
}

/// Reads a table header after its `[`, up to its closing `]`: which kind of table it opens.
fn header(source: &str, tokens: &mut toml_parser::lexer::Lexer<'_>) -> Option<Header> {
    let mut keys: Vec<&str> = Vec::new();
    let mut array_of_tables = false;
    let mut first = true;
    loop {
        let token = tokens.next()?;
        let text = &source[token.span().start()..token.span().end()];
        match token.kind() {
            TokenKind::LeftSquareBracket if first => array_of_tables = true,
            TokenKind::Whitespace | TokenKind::Dot => {}
            TokenKind::Atom
            | TokenKind::BasicString
            | TokenKind::LiteralString
            | TokenKind::MlBasicString
            | TokenKind::MlLiteralString => keys.push(text),
            TokenKind::RightSquareBracket => break,
            _ => return None,
        }
        first = false;
    }
    if array_of_tables {
        // The second `]`; anything else is the whole-file parse's error to report.
        if tokens.next()?.kind() != TokenKind::RightSquareBracket {
            return None;
        }
        return Some(Header::Other);
    }
    Some(match keys.as_slice() {
        ["containers", _] => Header::Container,
        ["containers", _, _, ..] => Header::ContainerPart,
        _ => Header::Other,
    })
}

#[cfg(test)]
mod tests;
