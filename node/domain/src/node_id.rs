//! [`NodeId`]: the short stable name of a node (`ID`, `VN`, `id-kominfo`).
//!
//! The rule is kept here once: 1-32 characters of ASCII letters, digits, `-`
//! and `_`. Node ids appear in keys of the store (separated by 0x00), in
//! TLS names (`id.jaring.local`) and in file names, so nothing else is
//! allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest node id, in bytes.
pub const MAX_NODE_ID: usize = 32;

/// A checked node id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

/// A string that is not a node id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidNodeId {
    /// Empty or longer than [`MAX_NODE_ID`].
    #[error("node id must be 1-{MAX_NODE_ID} characters")]
    Length,
    /// A character outside ASCII letters, digits, `-` and `_`.
    #[error("node id {0:?} may hold only ASCII letters, digits, '-' and '_'")]
    Character(String),
}

impl NodeId {
    /// Checks a node id without keeping it.
    ///
    /// # Errors
    ///
    /// [`InvalidNodeId`] saying which rule it breaks.
    pub fn check(id: &str) -> Result<(), InvalidNodeId> {
        if id.is_empty() || id.len() > MAX_NODE_ID {
            return Err(InvalidNodeId::Length);
        }
        if !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(InvalidNodeId::Character(id.to_string()));
        }
        Ok(())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for NodeId {
    type Err = InvalidNodeId;
    fn from_str(s: &str) -> Result<NodeId, InvalidNodeId> {
        NodeId::check(s)?;
        Ok(NodeId(s.to_string()))
    }
}

impl TryFrom<String> for NodeId {
    type Error = InvalidNodeId;
    fn try_from(s: String) -> Result<NodeId, InvalidNodeId> {
        NodeId::check(&s)?;
        Ok(NodeId(s))
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.0
    }
}

impl std::ops::Deref for NodeId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for NodeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for NodeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for NodeId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<NodeId> for String {
    fn eq(&self, other: &NodeId) -> bool {
        *self == other.0
    }
}

impl PartialEq<NodeId> for str {
    fn eq(&self, other: &NodeId) -> bool {
        self == other.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_holds_in_every_constructor() {
        assert_eq!("id-kominfo".parse::<NodeId>().unwrap().as_str(), "id-kominfo");
        assert_eq!("".parse::<NodeId>(), Err(InvalidNodeId::Length));
        assert_eq!("x".repeat(33).parse::<NodeId>(), Err(InvalidNodeId::Length));
        assert!(matches!("a b".parse::<NodeId>(), Err(InvalidNodeId::Character(_))));
        assert!(matches!(NodeId::try_from("ID\0".to_string()), Err(InvalidNodeId::Character(_))));
        assert!(serde_json::from_str::<NodeId>("\"V/N\"").is_err());
        assert_eq!(serde_json::from_str::<NodeId>("\"VN\"").unwrap(), "VN");
    }
}
