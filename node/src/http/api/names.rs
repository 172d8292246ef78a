//! The domain's named values (kinds, categories, TLP, ...) as the API
//! carries them: JSON strings, documented as enumerations built from the
//! domain's own lists (`Kind::ALL`, ...), so the document cannot drift from
//! what the node accepts. Each is a transparent newtype: serde goes through
//! the domain type (which also takes the documented aliases, e.g. `white`
//! for `clear`), and the schema is written here once.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::access::Role;
use crate::feedback::FeedbackType;
use crate::model::{Action, Category, Distribution, Kind, Tlp};
use crate::takedown::CaseState;
use crate::view::ValueStatus;

macro_rules! api_name {
    ($(#[$meta:meta])* $api:ident($domain:ty), $name:literal, $description:literal, $values:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $api(pub $domain);

        impl utoipa::PartialSchema for $api {
            fn schema() -> RefOr<Schema> {
                let values: Vec<&'static str> = $values;
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(values))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $api {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }

        impl From<$domain> for $api {
            fn from(v: $domain) -> $api {
                $api(v)
            }
        }
    };
}

api_name!(
    /// A kind of indicator.
    ApiKind(Kind), "Kind", "What real-world thing a value names.",
    Kind::ALL.iter().map(|k| k.as_str()).collect()
);
api_name!(
    /// A category.
    ApiCategory(Category), "Category", "What the scam or abuse behind an indicator is.",
    Category::ALL.iter().map(|c| c.as_str()).collect()
);
api_name!(
    /// A TLP 2.0 marking.
    ApiTlp(Tlp), "Tlp", "Traffic Light Protocol 2.0 marking, least to most restricted.",
    Tlp::ALL.iter().map(|t| t.as_str()).collect()
);
api_name!(
    /// How far an indicator may travel.
    ApiDistribution(Distribution), "Distribution",
    "local: never leaves the node; direct: only to the origin's direct peers; federation: may be relayed.",
    Distribution::ALL.iter().map(|d| d.as_str()).collect()
);
api_name!(
    /// Upsert or revoke.
    ApiAction(Action), "Action", "Whether a version asserts (upsert) or withdraws (revoke) the indicator.",
    Action::ALL.iter().map(|a| a.as_str()).collect()
);
api_name!(
    /// Whether an assertion is in force.
    ApiStatus(ValueStatus), "ValueStatus", "active: asserted and not expired; expired; revoked by its origin.",
    vec!["active", "expired", "revoked"]
);
api_name!(
    /// A kind of feedback.
    ApiFeedbackType(FeedbackType), "FeedbackType",
    "sighting, false_positive (reason required), takedown_requested (opened by POST /api/v1/takedowns, not as plain \
     feedback), acknowledged, expired and withdrawn (events of a case), actioned, no_action (reason required), referred.",
    FeedbackType::ALL.iter().map(|t| t.as_str()).collect()
);
api_name!(
    /// Where a takedown case stands.
    ApiCaseState(CaseState), "CaseState",
    "requested -> acknowledged -> actioned | refused; expired: no outcome by the due time; withdrawn by the requester.",
    CaseState::ALL.iter().map(|s| s.as_str()).collect()
);
api_name!(
    /// A token's role.
    ApiRole(Role), "Role", "What a token is for: the permission table in the README says what each may do.",
    Role::ALL.iter().map(|r| r.as_str()).collect()
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_are_the_domains() {
        for (s, name) in
            [(ValueStatus::Active, "active"), (ValueStatus::Expired, "expired"), (ValueStatus::Revoked, "revoked")]
        {
            assert_eq!(serde_json::to_value(ApiStatus(s)).unwrap(), name);
        }
        assert_eq!(serde_json::from_str::<ApiTlp>("\"amber+strict\"").unwrap().0, Tlp::AmberStrict);
        assert!(serde_json::from_str::<ApiKind>("\"nope\"").is_err());
    }
}
