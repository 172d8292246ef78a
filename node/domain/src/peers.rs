//! Peers and their sharing agreements.
//!
//! A peer is an identity card the admin imported plus a trust level and the
//! bilateral agreement in both directions. A member-only peer is an origin
//! whose keys we accept on relayed indicators but that we do not connect to.

use serde::{Deserialize, Serialize};

use crate::identity::IdentityCard;
use crate::model::{Category, Kind, Tlp, Trust, UnixMillis};

/// What this node sends to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundAgreement {
    /// Kinds shared; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// Highest TLP shared. RED is never shared, whatever this says.
    pub max_tlp: Tlp,
    /// Categories shared; empty means every category.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Forward other origins' `federation` indicators to this peer.
    #[serde(default)]
    pub relay: bool,
}

impl Default for OutboundAgreement {
    /// Nothing above GREEN, no relay.
    fn default() -> Self {
        OutboundAgreement { kinds: Vec::new(), max_tlp: Tlp::Green, categories: Vec::new(), relay: false }
    }
}

/// What this node takes from a peer without review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundAgreement {
    /// Kinds accepted; empty means every kind. Others go to review.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// Lower confidence goes to review.
    #[serde(default)]
    pub min_confidence: u8,
}

/// A peer as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The peer's identity card, verified at import.
    pub card: IdentityCard,
    /// The card as imported (signed form).
    pub card_text: String,
    /// Trust level.
    pub trust: Trust,
    /// Accept its keys on relayed indicators; never connect.
    #[serde(default)]
    pub member_only: bool,
    /// Dial this instead of the card's endpoint.
    #[serde(default)]
    pub endpoint_override: Option<String>,
    /// What we send it.
    #[serde(default)]
    pub outbound: OutboundAgreement,
    /// What we take from it without review.
    #[serde(default)]
    pub inbound: InboundAgreement,
    /// When it was added.
    pub added_at_ms: UnixMillis,
}

impl Peer {
    /// Its node id.
    pub fn node_id(&self) -> &str {
        &self.card.node_id
    }

    /// Where to dial it.
    pub fn endpoint(&self) -> &str {
        self.endpoint_override.as_deref().unwrap_or(&self.card.federation_endpoint)
    }

    /// Whether it may hold a federation connection (either direction).
    pub fn may_connect(&self) -> bool {
        !self.member_only && self.trust != Trust::Blocked
    }
}
