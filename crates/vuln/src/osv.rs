//! The part of the OSV schema (<https://ossf.github.io/osv-schema/>) that matching and
//! findings need, as it is read from osv.dev's exports and stored again as JSON.
//!
//! Reading is lenient, because feeds are: unknown fields are ignored, `null` stands for an
//! empty list, and unknown range or severity types are kept as they are written rather than
//! failing the record. What is dropped on reading (credits, schema version, …) is not
//! written back.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Advisories about the same problem that are not aliases; distributions list the CVEs
    /// they fix here.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// RFC 3339 timestamps, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the advisory was retracted; such a record affects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Record {
    /// Parses one OSV JSON document.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// The versions of one package that an advisory affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Absent in advisories about a repository rather than a package (GIT ranges only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Severities that apply to this package only.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Affected versions listed one by one, as the ecosystem writes them.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// `Debian:12`, `PyPI`, `Go`, … (case-sensitive).
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    /// The repository of a GIT range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// How a range's versions are to be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// By the ecosystem's own order.
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    /// By Semantic Versioning 2.0, whatever the ecosystem.
    #[serde(rename = "SEMVER")]
    Semver,
    /// Commits, which need the repository's history: never evaluated here.
    #[serde(rename = "GIT")]
    Git,
    /// A type this crate does not know, kept as written.
    #[serde(untagged)]
    Other(String),
}

/// A point where a range changes: OSV writes each as an object with a single key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EventFields", into = "EventFields")]
pub enum Event {
    /// The first affected version; `"0"` means since the beginning.
    Introduced(String),
    /// The first version no longer affected.
    Fixed(String),
    /// The last affected version, when no fixed one is known.
    LastAffected(String),
    /// A version at or after which the range no longer applies, whatever came before;
    /// `"*"` means none.
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }
}

/// The wire form of [`Event`].
#[derive(Default, Serialize, Deserialize)]
struct EventFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("an OSV event needs exactly one of introduced, fixed, last_affected and limit")]
struct EventError;

impl TryFrom<EventFields> for Event {
    type Error = EventError;

    fn try_from(fields: EventFields) -> Result<Self, EventError> {
        match fields {
            EventFields { introduced: Some(v), fixed: None, last_affected: None, limit: None } => {
                Ok(Self::Introduced(v))
            }
            EventFields { introduced: None, fixed: Some(v), last_affected: None, limit: None } => Ok(Self::Fixed(v)),
            EventFields { introduced: None, fixed: None, last_affected: Some(v), limit: None } => {
                Ok(Self::LastAffected(v))
            }
            EventFields { introduced: None, fixed: None, last_affected: None, limit: Some(v) } => Ok(Self::Limit(v)),
            _ => Err(EventError),
        }
    }
}

impl From<Event> for EventFields {
    fn from(event: Event) -> Self {
        match event {
            Event::Introduced(v) => Self { introduced: Some(v), ..Self::default() },
            Event::Fixed(v) => Self { fixed: Some(v), ..Self::default() },
            Event::LastAffected(v) => Self { last_affected: Some(v), ..Self::default() },
            Event::Limit(v) => Self { limit: Some(v), ..Self::default() },
        }
    }
}

/// A severity as the advisory states it: a CVSS vector, or a distribution's own rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: SeverityKind,
    /// A CVSS vector string, or the rating itself for the other kinds.
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeverityKind {
    #[serde(rename = "CVSS_V2")]
    CvssV2,
    #[serde(rename = "CVSS_V3")]
    CvssV3,
    #[serde(rename = "CVSS_V4")]
    CvssV4,
    /// Ubuntu's priority: `negligible`, `low`, `medium`, `high` or `critical`.
    #[serde(rename = "Ubuntu")]
    Ubuntu,
    #[serde(untagged)]
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `REPORT`, `PACKAGE`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
}

/// Reads a list that feeds sometimes write as `null`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}
