//! A value written either as a string or as a table (`"web"` or `{ name = "web", ip = "…" }`).
//!
//! Not `#[serde(untagged)]`: that buffers the value and loses the TOML spans of the table's
//! fields. This visitor hands the table to `T` with TOML's own deserializer, so every `Spanned`
//! field inside keeps its place in the file.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// A string, or a table read as `T`.
#[derive(Debug, Clone)]
pub enum OrTable<T> {
    Text(String),
    Table(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrTable<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrTableVisitor(PhantomData))
    }
}

struct OrTableVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OrTableVisitor<T> {
    type Value = OrTable<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a table")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(OrTable::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(OrTable::Text(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OrTable::Table)
    }
}
