//! Allowlist messages of the admin API to and from the node's types: lists
//! and their rule counts, index statistics, matches, imports.

use jaring_proto::pb;

use super::{FromPb, ToPb, WireEnum, WireError};
use crate::allowlist::ListAction;
use crate::node::{AllowCheck, ImportedList, ListImport, ListImportOutcome};
use crate::warninglist::{AllowMatch, DomainScope, IndexStats, ListFormat, ListInfo, ListMeta, RuleCounts};

impl ToPb for RuleCounts {
    type Pb = pb::AllowlistRuleCounts;
    fn to_pb(&self) -> pb::AllowlistRuleCounts {
        pb::AllowlistRuleCounts {
            domains: self.domains,
            exact: self.exact,
            addresses: self.addresses,
            networks: self.networks,
        }
    }
}

impl FromPb<pb::AllowlistRuleCounts> for RuleCounts {
    fn from_pb(c: pb::AllowlistRuleCounts) -> Result<RuleCounts, WireError> {
        Ok(RuleCounts { domains: c.domains, exact: c.exact, addresses: c.addresses, networks: c.networks })
    }
}

impl ToPb for IndexStats {
    type Pb = pb::AllowlistStats;
    fn to_pb(&self) -> pb::AllowlistStats {
        pb::AllowlistStats {
            lists: u64::try_from(self.lists).unwrap_or(u64::MAX),
            rules: Some(self.rules.to_pb()),
            memory_bytes: u64::try_from(self.memory_bytes).unwrap_or(u64::MAX),
        }
    }
}

impl FromPb<pb::AllowlistStats> for IndexStats {
    fn from_pb(s: pb::AllowlistStats) -> Result<IndexStats, WireError> {
        Ok(IndexStats {
            lists: usize::try_from(s.lists).unwrap_or(usize::MAX),
            rules: s.rules.map(RuleCounts::from_pb).transpose()?.unwrap_or_default(),
            memory_bytes: usize::try_from(s.memory_bytes).unwrap_or(usize::MAX),
        })
    }
}

fn format_from_str(s: &str) -> Result<ListFormat, WireError> {
    match s {
        "builtin" => Ok(ListFormat::Builtin),
        "admin" => Ok(ListFormat::Admin),
        "misp" => Ok(ListFormat::Misp),
        "ranked" => Ok(ListFormat::Ranked),
        other => Err(WireError::Invalid { field: "format", reason: format!("unknown list format {other:?}") }),
    }
}

fn action_from_str(s: &str) -> Result<ListAction, WireError> {
    s.parse().map_err(|reason| WireError::Invalid { field: "action", reason })
}

impl ToPb for ListInfo {
    type Pb = pb::AllowlistInfo;
    fn to_pb(&self) -> pb::AllowlistInfo {
        let m = &self.meta;
        pb::AllowlistInfo {
            name: m.name.clone(),
            format: m.format.as_str().into(),
            source: m.source.clone(),
            version: m.version.unwrap_or(0),
            title: m.title.clone(),
            description: m.description.clone(),
            // An admin list's entries each have their own.
            action: if m.format == ListFormat::Admin { String::new() } else { m.action.as_str().into() },
            rules: Some(self.rules.to_pb()),
            category: m.category.clone().unwrap_or_default(),
        }
    }
}

impl FromPb<pb::AllowlistInfo> for ListInfo {
    fn from_pb(i: pb::AllowlistInfo) -> Result<ListInfo, WireError> {
        let meta = ListMeta {
            format: format_from_str(&i.format)?,
            action: action_from_str(&i.action)?,
            name: i.name,
            source: i.source,
            version: (i.version != 0).then_some(i.version),
            title: i.title,
            description: i.description,
            category: (!i.category.is_empty()).then_some(i.category),
        };
        Ok(ListInfo { meta, rules: i.rules.map(RuleCounts::from_pb).transpose()?.unwrap_or_default() })
    }
}

impl ToPb for AllowMatch {
    type Pb = pb::AllowlistMatch;
    fn to_pb(&self) -> pb::AllowlistMatch {
        pb::AllowlistMatch { list: self.list.clone(), action: self.action.as_str().into(), rule: self.rule.clone() }
    }
}

impl FromPb<pb::AllowlistMatch> for AllowMatch {
    fn from_pb(m: pb::AllowlistMatch) -> Result<AllowMatch, WireError> {
        Ok(AllowMatch { action: action_from_str(&m.action)?, list: m.list, rule: m.rule })
    }
}

impl ToPb for AllowCheck {
    type Pb = pb::AllowlistCheckResult;
    fn to_pb(&self) -> pb::AllowlistCheckResult {
        pb::AllowlistCheckResult {
            kind: self.kind.to_wire(),
            value: self.canonical.clone(),
            matches: self.matches.iter().map(ToPb::to_pb).collect(),
        }
    }
}

impl FromPb<pb::AllowlistCheckResult> for AllowCheck {
    fn from_pb(r: pb::AllowlistCheckResult) -> Result<AllowCheck, WireError> {
        Ok(AllowCheck {
            kind: crate::model::Kind::require_wire(r.kind)?,
            canonical: r.value,
            matches: r.matches.into_iter().map(AllowMatch::from_pb).collect::<Result<_, _>>()?,
        })
    }
}

impl ToPb for ListImport {
    type Pb = pb::AllowlistImportHeader;
    fn to_pb(&self) -> pb::AllowlistImportHeader {
        pb::AllowlistImportHeader {
            format: match self.format {
                ListFormat::Misp => pb::AllowlistFormat::Misp as i32,
                ListFormat::Ranked => pb::AllowlistFormat::Ranked as i32,
                ListFormat::Builtin | ListFormat::Admin => pb::AllowlistFormat::Unspecified as i32,
            },
            name: self.name.clone(),
            source: self.source.clone(),
            action: self.action.as_str().into(),
            scope: self.scope.as_str().into(),
            top: self.top.unwrap_or(0),
            size: 0,
        }
    }
}

impl FromPb<pb::AllowlistImportHeader> for ListImport {
    fn from_pb(h: pb::AllowlistImportHeader) -> Result<ListImport, WireError> {
        let format = match pb::AllowlistFormat::try_from(h.format) {
            Ok(pb::AllowlistFormat::Misp) => ListFormat::Misp,
            Ok(pb::AllowlistFormat::Ranked) => ListFormat::Ranked,
            Ok(pb::AllowlistFormat::Unspecified) => return Err(WireError::Missing("format")),
            Err(_) => return Err(WireError::UnknownEnum { field: "format", value: h.format }),
        };
        if h.name.is_empty() {
            return Err(WireError::Missing("name"));
        }
        let scope = if h.scope.is_empty() {
            DomainScope::Site
        } else {
            h.scope.parse().map_err(|e: crate::warninglist::RuleError| WireError::Invalid {
                field: "scope",
                reason: e.to_string(),
            })?
        };
        Ok(ListImport {
            format,
            name: h.name,
            source: h.source,
            action: action_from_str(&h.action)?,
            scope,
            top: (h.top != 0).then_some(h.top),
        })
    }
}

impl ToPb for ListImportOutcome {
    type Pb = pb::AllowlistImportResponse;
    fn to_pb(&self) -> pb::AllowlistImportResponse {
        match self {
            ListImportOutcome::Skipped { name, reason, up_to_date } => pb::AllowlistImportResponse {
                imported: false,
                skipped_reason: reason.clone(),
                name: name.clone(),
                up_to_date: *up_to_date,
                ..Default::default()
            },
            ListImportOutcome::Imported(done) => {
                let ImportedList { info, report, replaced } = &**done;
                pb::AllowlistImportResponse {
                    imported: true,
                    skipped_reason: String::new(),
                    name: info.meta.name.clone(),
                    list: Some(info.to_pb()),
                    read: report.read,
                    refused: report.refused,
                    refused_samples: report
                        .refused_samples
                        .iter()
                        .map(|r| pb::AllowlistRefusedValue { value: r.value.clone(), reason: r.reason.clone() })
                        .collect(),
                    ignored_attributes: report.ignored_attributes.clone(),
                    leading_dot_rules: report.leading_dot_rules,
                    past_top: report.past_top,
                    replaced_version: replaced.as_ref().and_then(|m| m.version).unwrap_or(0),
                    replaced: replaced.is_some(),
                    up_to_date: false,
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_imports_round_trip() {
        let info = ListInfo {
            meta: ListMeta {
                name: "misp-x".into(),
                format: ListFormat::Misp,
                source: "lists/x/list.json".into(),
                version: Some(9),
                title: "X".into(),
                description: "d".into(),
                category: Some("known".into()),
                action: ListAction::Review,
            },
            rules: RuleCounts { domains: 3, exact: 1, addresses: 2, networks: 4 },
        };
        assert_eq!(ListInfo::from_pb(info.to_pb()).unwrap(), info);
        let import = ListImport {
            format: ListFormat::Ranked,
            name: "tranco".into(),
            source: "top-1m.csv".into(),
            action: ListAction::Refuse,
            scope: DomainScope::Subtree,
            top: Some(100_000),
        };
        let back = ListImport::from_pb(import.to_pb()).unwrap();
        assert_eq!(
            (back.format, back.name.as_str(), back.scope, back.top),
            (ListFormat::Ranked, "tranco", DomainScope::Subtree, Some(100_000))
        );
        let mut bad = import.to_pb();
        bad.format = 0;
        assert!(matches!(ListImport::from_pb(bad), Err(WireError::Missing("format"))));
        let mut bad = import.to_pb();
        bad.scope = "everything".into();
        assert!(matches!(ListImport::from_pb(bad), Err(WireError::Invalid { field: "scope", .. })));
        let mut bad = import.to_pb();
        bad.format = 9;
        assert!(matches!(ListImport::from_pb(bad), Err(WireError::UnknownEnum { field: "format", value: 9 })));
    }
}
