//! Reading the STIX objects of a file one at a time, so a bundle of any
//! size is imported in bounded memory: a streaming serde visitor walks the
//! top-level object and hands each element of `objects` to a callback as
//! soon as it is parsed; only one object is held at a time.
//!
//! Three shapes are read:
//!
//! - a STIX 2.1 bundle: `{"type": "bundle", "id": ..., "objects": [...]}`;
//! - a TAXII 2.1 envelope: `{"objects": [...], "more": ...}` (no `type`);
//! - a single STIX object: `{"type": "indicator", ...}`.

use std::fmt;
use std::io::Read;
use std::ops::ControlFlow;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ImportError;

/// What the file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A STIX bundle.
    Bundle,
    /// A TAXII envelope (an `objects` array without `type`).
    Envelope,
    /// One STIX object.
    Object,
}

/// The message a visitor fails with when the callback asked to stop.
const STOPPED: &str = "jaring: stopped by the reader";

/// Calls `each(index, object)` for every object of the bundle, envelope or
/// single object `reader` holds, in file order, holding one object at a
/// time. `each` may stop the walk by returning [`ControlFlow::Break`].
///
/// # Errors
///
/// [`ImportError::Json`] for malformed JSON (with line and column; the
/// objects before it were handed over), [`ImportError::NotBundle`] for
/// JSON of another shape, [`ImportError::Stopped`] when `each` stopped.
pub fn for_each_object<R: Read>(
    reader: R,
    mut each: impl FnMut(usize, Value) -> ControlFlow<()>,
) -> Result<Shape, ImportError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let seed = Top { each: &mut each };
    let shape = match seed.deserialize(&mut de) {
        Ok(shape) => shape,
        Err(e) if e.to_string().starts_with(STOPPED) => return Err(ImportError::Stopped),
        Err(e) if e.is_data() && e.to_string().starts_with("jaring: ") => {
            return Err(ImportError::NotBundle(shape_error(&e.to_string())));
        }
        Err(e) => return Err(ImportError::Json(e)),
    };
    de.end()?;
    Ok(shape)
}

fn shape_error(message: &str) -> &'static str {
    if message.contains("duplicate key") {
        "a key of the top-level object appears twice (a second \"objects\" array, or a second \"type\", would be read differently by other parsers)"
    } else if message.contains("not a bundle") {
        "an \"objects\" array under a type other than \"bundle\""
    } else if message.contains("no type") {
        "neither an \"objects\" array nor a STIX object with a \"type\""
    } else {
        "not a JSON object"
    }
}

struct Top<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(usize, Value) -> ControlFlow<()>> DeserializeSeed<'de> for Top<'_, F> {
    type Value = Shape;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(usize, Value) -> ControlFlow<()>> Visitor<'de> for Top<'_, F> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle, a TAXII envelope or a STIX object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut rest = Map::new();
        let mut saw_objects = false;
        while let Some(key) = map.next_key::<String>()? {
            // JSON leaves a repeated name's meaning open: one parser reads
            // the first, another the last. Refused rather than guessed.
            if rest.contains_key(&key) || (key == "objects" && saw_objects) {
                return Err(de::Error::custom("jaring: duplicate key"));
            }
            if key == "objects" {
                if rest.get("type").is_some_and(|t| t != "bundle") {
                    return Err(de::Error::custom("jaring: not a bundle"));
                }
                saw_objects = true;
                map.next_value_seed(Objects { each: &mut *self.each })?;
            } else {
                let v: Value = map.next_value()?;
                rest.insert(key, v);
            }
        }
        match (saw_objects, rest.get("type").and_then(Value::as_str)) {
            (true, None) => Ok(Shape::Envelope),
            (true, Some("bundle")) => Ok(Shape::Bundle),
            (true, Some(_)) => Err(de::Error::custom("jaring: not a bundle")),
            // A bundle may have no objects at all.
            (false, Some("bundle")) => Ok(Shape::Bundle),
            (false, Some(_)) => match (self.each)(0, Value::Object(rest)) {
                ControlFlow::Continue(()) => Ok(Shape::Object),
                ControlFlow::Break(()) => Err(de::Error::custom(STOPPED)),
            },
            (false, None) => Err(de::Error::custom("jaring: no type")),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Shape, A::Error> {
        Err(de::Error::custom("jaring: not an object"))
    }
}

struct Objects<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(usize, Value) -> ControlFlow<()>> DeserializeSeed<'de> for Objects<'_, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Value) -> ControlFlow<()>> Visitor<'de> for Objects<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(object) = seq.next_element::<Value>()? {
            if (self.each)(index, object).is_break() {
                return Err(de::Error::custom(STOPPED));
            }
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ids(text: &str) -> (Result<Shape, ImportError>, Vec<(usize, String)>) {
        let mut seen = Vec::new();
        let r = for_each_object(text.as_bytes(), |i, o| {
            seen.push((i, o["id"].as_str().unwrap_or("").to_string()));
            ControlFlow::Continue(())
        });
        (r, seen)
    }

    #[test]
    fn bundles_envelopes_and_single_objects() {
        let (r, seen) = ids(r#"{"type":"bundle","id":"bundle--1","objects":[{"id":"a"},{"id":"b"}]}"#);
        assert_eq!(r.unwrap(), Shape::Bundle);
        assert_eq!(seen, vec![(0, "a".to_string()), (1, "b".to_string())]);
        let (r, seen) = ids(r#"{"more":false,"objects":[{"id":"a"}]}"#);
        assert_eq!(r.unwrap(), Shape::Envelope);
        assert_eq!(seen.len(), 1);
        let (r, seen) = ids(r#"{"type":"indicator","id":"indicator--1","pattern":"[url:value = 'x']"}"#);
        assert_eq!(r.unwrap(), Shape::Object);
        assert_eq!(seen, vec![(0, "indicator--1".to_string())]);
        let (r, seen) = ids(r#"{"type":"bundle","id":"bundle--1"}"#);
        assert_eq!((r.unwrap(), seen.len()), (Shape::Bundle, 0));
    }

    #[test]
    fn other_shapes_and_broken_json_are_refused_after_what_came_before() {
        assert!(matches!(ids(r#"{"id":"x"}"#).0, Err(ImportError::NotBundle(_))));
        assert!(matches!(ids("[1,2]").0, Err(ImportError::NotBundle(_))));
        assert!(matches!(ids(r#"{"type":"report","objects":[{"id":"a"}]}"#).0, Err(ImportError::NotBundle(_))));
        let (r, seen) = ids("{\"type\":\"bundle\",\"objects\":[{\"id\":\"a\"},\n{\"id\":");
        let Err(ImportError::Json(e)) = r else { panic!("{r:?}") };
        assert_eq!(e.line(), 2);
        assert_eq!(seen.len(), 1, "the object before the break was handed over");
        let (r, seen) = ids(r#"{"objects":[],"type":"bundle","objects":[{"id":"a"}]}"#);
        assert!(matches!(r, Err(ImportError::NotBundle(m)) if m.contains("twice")), "{r:?}");
        assert!(seen.is_empty());
        assert!(matches!(ids(r#"{"type":"bundle","type":"indicator"}"#).0, Err(ImportError::NotBundle(_))));
        assert!(matches!(ids("{} trailing").0, Err(ImportError::NotBundle(_) | ImportError::Json(_))));
    }

    #[test]
    fn the_callback_can_stop_the_walk() {
        let mut n = 0;
        let r = for_each_object(r#"{"objects":[{},{},{}]}"#.as_bytes(), |_, _| {
            n += 1;
            if n == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        assert!(matches!(r, Err(ImportError::Stopped)));
        assert_eq!(n, 2);
    }
}
