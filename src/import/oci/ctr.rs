//! One container being imported ([`Ctr`]), where each of its words came from ([`Origin`]), and
//! the ways a word is carried other than as a field: kept in `podman_args`, noted, not carried.

use super::Notes;
use super::fields::{Fields, comment_line};
use crate::import::Warning;
use crate::import::yaml::{Loc, Node};

/// Where a word came from: its place in the file and the option (`extraOptions`, `hostname`).
#[derive(Debug, Clone)]
pub struct Origin {
    pub loc: Loc,
    pub option: String,
}

/// One container being imported.
pub struct Ctr<'a> {
    pub name: &'a str,
    pub node: &'a Node,
    /// Every container of the JSON (what `dependsOn` and `--network=container:X` may name).
    pub all: &'a [String],
    pub fields: Fields,
    /// Named volumes and networks it uses (they get their own tables).
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
    /// `--ip`, `--network-alias`, … until every flag is read.
    pub pending_keys: Vec<PendingKey>,
    /// Where `network_mode` was set.
    pub mode_at: Option<Origin>,
}

impl<'a> Ctr<'a> {
    /// A container with nothing imported yet.
    pub fn new(name: &'a str, node: &'a Node, all: &'a [String]) -> Self {
        Ctr {
            name,
            node,
            all,
            fields: Fields::default(),
            volumes: Vec::new(),
            networks: Vec::new(),
            pending_keys: Vec::new(),
            mode_at: None,
        }
    }
}

impl Ctr<'_> {
    /// A warning and a `# not carried:` comment.
    pub fn not_carried(&mut self, notes: &mut Notes, at: &Origin, why: &str) {
        self.fields
            .comments
            .push_str(&comment_line(&format!("not carried: {}: {why}", at.option)));
        self.warn(notes, at, &format!("not carried: {why}"));
    }

    /// A warning and a comment (something carried differently, or dropped on purpose).
    pub fn note(&mut self, notes: &mut Notes, at: &Origin, why: &str) {
        self.fields
            .comments
            .push_str(&comment_line(&format!("{}: {why}", at.option)));
        self.warn(notes, at, why);
    }

    pub(super) fn warn(&self, notes: &mut Notes, at: &Origin, message: &str) {
        notes.warnings.push(Warning {
            loc: at.loc.clone(),
            service: Some(self.name.to_string()),
            key: at.option.clone(),
            message: message.to_string(),
        });
    }

    pub(super) fn origin(&self, option: &str) -> Origin {
        Origin {
            loc: self
                .node
                .get(option)
                .map_or(self.node.loc.clone(), |n| n.loc.clone()),
            option: option.to_string(),
        }
    }
}

/// A key of the one network the container joins, waiting for all flags to be read (the
/// `--network` may come after it).
#[derive(Debug, Clone)]
pub struct PendingKey {
    /// `ip`, `ip6`, `aliases`, `mac`.
    pub key: &'static str,
    pub value: String,
    /// The flag's long name, for `podman_args`.
    pub flag: String,
    pub at: Origin,
}

/// `word` kept in `podman_args`, with why.
pub(super) fn keep(ctr: &mut Ctr<'_>, notes: &mut Notes, at: &Origin, word: String, why: &str) {
    ctr.fields.podman_args.push(word);
    ctr.note(notes, at, why);
}
