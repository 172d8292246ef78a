//! A list as a whole: what it is ([`ListMeta`]), its rules, and what its
//! import refused ([`ImportReport`]).

use serde::{Deserialize, Serialize};

use super::rule::{RuleCounts, RuleSet};
use crate::allowlist::ListAction;

/// Where a list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// Shipped with the node.
    Builtin,
    /// Entries an admin added one by one.
    Admin,
    /// A MISP warninglist (`list.json`).
    Misp,
    /// A one-domain-per-line or `rank,domain` (Tranco) file.
    Ranked,
}

impl ListFormat {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            ListFormat::Builtin => "builtin",
            ListFormat::Admin => "admin",
            ListFormat::Misp => "misp",
            ListFormat::Ranked => "ranked",
        }
    }
}

/// What a list is, apart from its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMeta {
    /// Jaring list name (`validate_list_name` rules), e.g. `misp-url-shortener`.
    pub name: String,
    /// Where it came from.
    pub format: ListFormat,
    /// The file, directory or URL it was read from, as the admin gave it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The list's own version (MISP `version`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Human title (MISP `name`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// What it holds (MISP `description`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// MISP `category`: `false_positive` (the default) or `known`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What a match does, for the rules the import made.
    pub action: ListAction,
}

impl ListMeta {
    /// Whether an import described by `self` should replace the list
    /// `current` describes: a newer version does; the same or an older
    /// one does not (re-importing MISP's folder changes only what changed);
    /// a list without versions (rankings, admin lists) always does.
    pub fn supersedes(&self, current: &ListMeta) -> bool {
        match (self.version, current.version) {
            (Some(new), Some(old)) => new > old,
            _ => true,
        }
    }

    /// An admin's list built entry by entry.
    pub fn admin(name: &str) -> Self {
        ListMeta {
            name: name.to_string(),
            format: ListFormat::Admin,
            source: String::new(),
            version: None,
            title: String::new(),
            description: String::new(),
            category: None,
            action: ListAction::Refuse,
        }
    }
}

/// A value an import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedValue {
    /// The value as written in the list.
    pub value: String,
    /// Why.
    pub reason: String,
}

/// What an import took and left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Values read.
    pub read: u64,
    /// Rules made, by shape.
    pub rules: RuleCounts,
    /// Values that made no rule (not fatal).
    pub refused: u64,
    /// The first few refused values with their reasons.
    pub refused_samples: Vec<RefusedValue>,
    /// MISP `matching_attributes` that name no Jaring kind (ignored).
    pub ignored_attributes: Vec<String>,
    /// Values of a MISP `string` list written with a leading dot
    /// (`.google.com`), read as domain rules.
    pub leading_dot_rules: u64,
    /// Lines past the `--top` cut (ranked files stop reading there).
    pub past_top: bool,
}

/// How many refused values an [`ImportReport`] keeps as samples.
pub const REFUSED_SAMPLES: usize = 10;

impl ImportReport {
    /// Counts a refused value, keeping the first few.
    pub fn refuse(&mut self, value: &str, reason: impl std::fmt::Display) {
        self.refused += 1;
        if self.refused_samples.len() < REFUSED_SAMPLES {
            let value: String = value.chars().take(200).collect();
            self.refused_samples.push(RefusedValue { value, reason: reason.to_string() });
        }
    }
}

/// A parsed list, ready for the index and the store.
#[derive(Debug, Clone)]
pub struct Warninglist {
    /// What it is.
    pub meta: ListMeta,
    /// Its rules.
    pub rules: RuleSet,
    /// What the import refused.
    pub report: ImportReport,
}

impl Warninglist {
    /// One line for an import's progress, e.g. `misp-url-shortener v27
    /// (review): 255 domain rules; 1 refused ("x y": invalid domain: ...)`.
    pub fn summary(&self) -> String {
        let r = &self.report.rules;
        let mut parts = Vec::new();
        for (n, what) in [
            (r.domains, "domain rules"),
            (r.exact, "exact values"),
            (r.addresses, "addresses"),
            (r.networks, "networks"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut line = format!(
            "{}{} ({}): {}",
            self.meta.name,
            self.meta.version.map(|v| format!(" v{v}")).unwrap_or_default(),
            self.meta.action.as_str(),
            parts.join(", ")
        );
        if self.report.refused > 0 {
            line.push_str(&format!("; {} refused", self.report.refused));
            if let Some(first) = self.report.refused_samples.first() {
                line.push_str(&format!(" ({:?}: {})", first.value, first.reason));
            }
        }
        if !self.report.ignored_attributes.is_empty() {
            line.push_str(&format!("; ignored attributes: {}", self.report.ignored_attributes.join(", ")));
        }
        line
    }
}
