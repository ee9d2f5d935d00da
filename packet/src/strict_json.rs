//! JSON objects that give a key twice.
//!
//! `serde_json` keeps the last of two equal keys, other JSON readers the first; a signed
//! manifest that says `"photo.jpg"` twice would mean one thing to the DC and another to an
//! auditor's tool. Packets therefore never repeat a key in any object: [`repeated_key`] finds
//! the first repetition so that `open` can reject it.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// The path (`members."photo.jpg"`) of the first key given twice in one object of `bytes`,
/// `None` when every object's keys are distinct. Errors are those of the JSON syntax.
pub fn repeated_key(bytes: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let found = Walk {
        path: String::new(),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// A printable, bounded rendering of a key (control and non-ASCII characters escaped).
fn shown_key(key: &str) -> String {
    let escaped: String = key
        .chars()
        .take(64)
        .flat_map(char::escape_default)
        .collect();
    format!("\"{escaped}\"")
}

/// Visits one JSON value, remembering where it is.
struct Walk {
    path: String,
}

impl Walk {
    fn child(&self, key: &str) -> Walk {
        let key = shown_key(key);
        Walk {
            path: if self.path.is_empty() {
                key
            } else {
                format!("{}.{key}", self.path)
            },
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = HashSet::new();
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            if !keys.insert(key) && found.is_none() {
                found = Some(child.path.clone());
            }
            let inner = map.next_value_seed(child)?;
            found = found.or(inner);
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0usize;
        while let Some(inner) = seq.next_element_seed(Walk {
            path: format!("{}[{i}]", self.path),
        })? {
            found = found.or(inner);
            i += 1;
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_repeated_key_at_any_depth() {
        assert_eq!(repeated_key(br#"{"a":1,"b":[{"c":2}]}"#).unwrap(), None);
        assert_eq!(
            repeated_key(br#"{"m":{"photo.jpg":"x","photo.jpg":"y"}}"#).unwrap(),
            Some(r#""m"."photo.jpg""#.to_string())
        );
        assert_eq!(
            repeated_key(br#"{"a":[1,{"k":1,"k":2}],"a":0}"#).unwrap(),
            Some(r#""a"[1]."k""#.to_string())
        );
        assert_eq!(
            repeated_key(b"{\"x\\u0007\":1,\"x\\u0007\":2}").unwrap(),
            Some("\"x\\u{7}\"".to_string())
        );
        assert!(repeated_key(b"{").is_err());
    }
}
