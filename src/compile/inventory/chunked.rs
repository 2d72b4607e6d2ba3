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
//!
//! [`split`] gives the rest and the [`Batches`] without parsing them, so a caller can take each
//! container as its batch is parsed ([`Batches::each_container`]) and never hold every container
//! table: the names of the containers, which checks need before the first container, come from
//! the table headers ([`Batches::names`]), and the batches are checked to give exactly those.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use toml_parser::lexer::TokenKind;

use super::{Container, Inventory, Str};
use crate::compile::parallel;

/// The size of one batch of container tables: about 20 containers. The parser's working memory
/// is about 30 times this, so small batches keep it in the same few pages, which are then reused
/// instead of faulted in fresh (1,000 containers: 64 KiB batches took 2,090 page faults and
/// 25.6 ms of CPU, 8 KiB batches 1,530 and 22.3 ms; smaller ones gain nothing more).
pub const BATCH_BYTES: usize = 8 * 1024;

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
    /// The span of a container table's name when it is written bare (`[containers.NAME]`).
    name: Option<Range<usize>>,
}

impl Segment {
    fn is_container(&self) -> bool {
        matches!(self.header, Some(Header::Container | Header::ContainerPart))
    }
}

/// The inventory parsed in batches of at most about `batch_bytes` of container tables, or `None`
/// when only a whole-file parse gives the right result or error (see the module docs).
pub fn parse(source: &str, batch_bytes: usize) -> Option<Inventory> {
    let (mut inventory, batches) = split(source, batch_bytes)?;
    let mut duplicate = false;
    let complete = batches.each_container(&|_, container| container, &mut |name, container| {
        duplicate = inventory.containers.insert(name, container).is_some();
        !duplicate
    });
    (complete && !duplicate).then_some(inventory)
}

/// A large inventory cut into the rest (every table but the containers, parsed) and the batches
/// of container tables, parsed one at a time by [`Batches::each_container`].
pub struct Batches<'s> {
    source: &'s str,
    ranges: Vec<Range<usize>>,
    /// The container names of the table headers (`None` when one is quoted), sorted.
    names: Option<Vec<Str>>,
}

impl Batches<'_> {
    /// The names of the containers with their spans, sorted, as the batches will give them;
    /// `None` when a header quotes its name (only parsing the batches then gives the names).
    /// [`Batches::each_container`] checks that the batches agree.
    pub fn names(&self) -> Option<&[Str]> {
        self.names.as_deref()
    }

    /// Parses the batches, applies `map` to each container on the thread that parsed it (two
    /// threads when there are two cores) and hands each result to `each` in file order (within
    /// a batch, sorted by name). `false` when a batch does not parse, holds anything but
    /// containers, or gives a container [`Batches::names`] does not list (or one twice), or when
    /// `each` returns `false`: only the whole-file parse then gives the right result or error.
    /// `map` may see a container of a batch whose result is dropped (a batch past the one that
    /// failed): it must not panic on any table.
    pub fn each_container<T: Send>(
        &self,
        map: &(dyn Fn(&Str, Box<Spanned<Container>>) -> T + Sync),
        each: &mut dyn FnMut(Str, T) -> bool,
    ) -> bool {
        let mut seen = vec![false; self.names.as_ref().map_or(0, Vec::len)];
        let complete = parallel::map_in_order(
            &self.ranges,
            |batch| {
                let containers = self.parse_batch(batch)?;
                let mapped = containers.into_iter().map(|(name, container)| {
                    let mapped = map(&name, container);
                    (name, mapped)
                });
                Some(mapped.collect::<Vec<_>>())
            },
            |batch| batch.is_some_and(|b| self.hand_over(b, &mut seen, each)),
        );
        complete && seen.iter().all(|s| *s)
    }

    /// The containers of one batch, or `None` when the batch could differ from the whole file.
    fn parse_batch(&self, batch: &Range<usize>) -> Option<ContainerTables> {
        let root = DeTable::parse(&self.source[batch.clone()]).ok()?;
        let part = deserialize(root, &|at| at + batch.start)?;
        let only_containers = part.defaults.is_none()
            && part.networks.is_empty()
            && part.volumes.is_empty()
            && part.secrets.is_empty()
            && part.pods.is_empty();
        only_containers.then_some(part.containers)
    }

    /// Hands the containers of one parsed batch to `each`, checking them against the names
    /// (`seen` marks the names given so far).
    fn hand_over<T>(
        &self,
        containers: Vec<(Str, T)>,
        seen: &mut [bool],
        each: &mut dyn FnMut(Str, T) -> bool,
    ) -> bool {
        for (name, container) in containers {
            if let Some(names) = &self.names {
                let found = names.binary_search_by(|n| n.get_ref().cmp(name.get_ref()));
                match found {
                    Ok(i) if names[i].span() == name.span() && !seen[i] => seen[i] = true,
                    _ => return false,
                }
            }
            if !each(name, container) {
                return false;
            }
        }
        true
    }
}

/// The container tables of a batch, by name.
type ContainerTables = std::collections::BTreeMap<Str, Box<Spanned<Container>>>;

/// The inventory without its containers and the batches of container tables, or `None` when
/// only a whole-file parse gives the right result or error (see the module docs).
pub fn split(source: &str, batch_bytes: usize) -> Option<(Inventory, Batches<'_>)> {
    let segments = segments(source)?;
    let mut rest_text = String::new();
    // (offset in `rest_text`, offset in `source`) at the start of each piece of the rest.
    let mut rest_pieces: Vec<(usize, usize)> = Vec::new();
    let mut batches: Vec<Range<usize>> = Vec::new();
    let mut names: Option<Vec<Str>> = Some(Vec::new());
    let mut previous_was_container = false;
    for segment in &segments {
        if segment.is_container() {
            match (&mut names, &segment.name) {
                (Some(names), Some(at)) => {
                    names.push(Spanned::new(at.clone(), source[at.clone()].to_string()));
                }
                _ => names = None,
            }
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
    if let Some(names) = names.as_mut() {
        // A `[containers.NAME.more]` table after `[containers.NAME]` names the same container;
        // the first header gives the span.
        names.sort_by(|a, b| a.get_ref().cmp(b.get_ref()));
        names.dedup_by(|later, first| later.get_ref() == first.get_ref());
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
    let inventory = deserialize(rest_root, &shift_rest)?;
    let batches = Batches {
        source,
        ranges: batches,
        names,
    };
    Some((inventory, batches))
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

/// The file cut at its top-level table headers, or `None` when a header is not what the lexer
/// expects (the whole-file parse then reports it). A header is a line whose first character
/// (after spaces and tabs) is `[`; only those lines are lexed. Such a line inside a multi-line
/// string or array is no header: a cut there leaves a batch or the rest that does not parse, or
/// names no batch gives, and the caller then parses the whole file.
fn segments(source: &str) -> Option<Vec<Segment>> {
    let mut segments = vec![Segment {
        range: 0..0,
        header: None,
        name: None,
    }];
    let mut line_start = 0;
    while line_start < source.len() {
        let line = &source[line_start..];
        let line_end = line
            .find('\n')
            .map_or(source.len(), |at| line_start + at + 1);
        let at = line_start + (line.len() - line.trim_start_matches([' ', '\t']).len());
        if source[at..].starts_with('[') {
            let after = at + 1;
            let mut tokens = toml_parser::Source::new(&source[after..]).lex();
            let (header, name) = header(source, after, &mut tokens)?;
            segments.push(Segment {
                range: at..at,
                header: Some(header),
                name,
            });
        }
        line_start = line_end;
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

/// Reads a table header after its `[`, up to its closing `]`: which kind of table it opens,
/// and for a container's table the span of its name when it is a bare key.
/// `tokens` lexes `source` from `offset` on.
fn header(
    source: &str,
    offset: usize,
    tokens: &mut toml_parser::lexer::Lexer<'_>,
) -> Option<(Header, Option<Range<usize>>)> {
    // Each key's text and whether it is bare.
    let mut keys: Vec<(&str, Option<Range<usize>>)> = Vec::new();
    let mut array_of_tables = false;
    let mut first = true;
    loop {
        let token = tokens.next()?;
        let span = offset + token.span().start()..offset + token.span().end();
        let text = &source[span.clone()];
        match token.kind() {
            TokenKind::LeftSquareBracket if first => array_of_tables = true,
            TokenKind::Whitespace | TokenKind::Dot => {}
            TokenKind::Atom => keys.push((text, Some(span))),
            TokenKind::BasicString
            | TokenKind::LiteralString
            | TokenKind::MlBasicString
            | TokenKind::MlLiteralString => keys.push((text, None)),
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
        return Some((Header::Other, None));
    }
    Some(match keys.as_slice() {
        [("containers", _), (_, name)] => (Header::Container, name.clone()),
        [("containers", _), (_, name), _, ..] => (Header::ContainerPart, name.clone()),
        _ => (Header::Other, None),
    })
}

#[cfg(test)]
mod tests;
