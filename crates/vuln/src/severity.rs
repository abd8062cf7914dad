//! ECR's finding severities, and how an advisory's are decided.
//!
//! ECR's basic scanning reports the distribution's own rating where there is one, and
//! otherwise one derived from CVSS. An advisory may offer several; in order of preference:
//!
//! 1. a distribution's rating: Ubuntu's priority (an OSV severity of type `Ubuntu`), or the
//!    Red Hat-style prefix of an RPM distribution's summary (`Important: openssl security
//!    update`), which is where AlmaLinux and Rocky Linux put it;
//! 2. the CVSS v3 base score, computed from the vector;
//! 3. the advisory database's own rating (`database_specific.severity`, as GitHub's
//!    advisories have it: `LOW`, `MODERATE`, `HIGH`, `CRITICAL`), which is also what a
//!    CVSS v4-only advisory falls back to, v4 vectors not being scored here;
//! 4. the CVSS v2 base score;
//! 5. otherwise `UNDEFINED`.
//!
//! Severities that an affected package carries are preferred to the advisory's at each step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cvss::{Cvss, CvssVersion};
use crate::osv::{Affected, Record, SeverityKind};
use crate::version::VersionScheme;

/// ECR's `FindingSeverity`, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Undefined,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// CVSS v3's qualitative bands (a 0.0 score is `INFORMATIONAL`), applied to v2 scores too
    /// since ECR has one scale.
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s >= 9.0 => Self::Critical,
            s if s >= 7.0 => Self::High,
            s if s >= 4.0 => Self::Medium,
            s if s > 0.0 => Self::Low,
            0.0 => Self::Informational,
            _ => Self::Undefined,
        }
    }

    /// A rating in words, as distributions and advisory databases write them, in any case.
    pub fn from_rating(rating: &str) -> Option<Self> {
        Some(match rating.trim().to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" => Self::Low,
            "negligible" | "unimportant" | "informational" | "none" => Self::Informational,
            _ => return None,
        })
    }

    /// The name ECR uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undefined => "UNDEFINED",
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

/// Where a finding's severity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeveritySource {
    Distribution,
    CvssV3,
    Database,
    CvssV2,
    None,
}

/// An advisory's severity for some of its affected packages, and its CVSS vector: the v2 one
/// when that decided the severity, otherwise v3, else v4 (unscored), else v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub severity: Severity,
    pub source: SeveritySource,
    pub cvss: Option<Cvss>,
}

/// Decides the severity of `record` for the affected entries that matched (which may carry
/// severities of their own); see the module documentation for the order.
pub fn assess(record: &Record, matched: &[&Affected]) -> Assessment {
    let vectors: Vec<Cvss> = matched
        .iter()
        .flat_map(|entry| &entry.severity)
        .chain(&record.severity)
        .filter(|severity| matches!(severity.kind, SeverityKind::CvssV2 | SeverityKind::CvssV3 | SeverityKind::CvssV4))
        .filter_map(|severity| Cvss::parse(&severity.score).ok())
        .collect();
    let find = |versions: &[CvssVersion]| vectors.iter().find(|cvss| versions.contains(&cvss.version)).cloned();
    let v3 = find(&[CvssVersion::V3_1, CvssVersion::V3_0]);
    let v4 = find(&[CvssVersion::V4_0]);
    let v2 = find(&[CvssVersion::V2]);
    let scored = |cvss: Option<Cvss>| cvss.and_then(|cvss| cvss.base_score).map(Severity::from_score);
    let (severity, source) = if let Some(severity) = distribution_rating(record, matched) {
        (severity, SeveritySource::Distribution)
    } else if let Some(severity) = scored(v3.clone()) {
        (severity, SeveritySource::CvssV3)
    } else if let Some(severity) = database_rating(record, matched) {
        (severity, SeveritySource::Database)
    } else if let Some(severity) = scored(v2.clone()) {
        (severity, SeveritySource::CvssV2)
    } else {
        (Severity::Undefined, SeveritySource::None)
    };
    let cvss = if source == SeveritySource::CvssV2 { v2 } else { v3.or(v4).or(v2) };
    Assessment { severity, source, cvss }
}

fn distribution_rating(record: &Record, matched: &[&Affected]) -> Option<Severity> {
    let ubuntu = matched
        .iter()
        .flat_map(|entry| &entry.severity)
        .chain(&record.severity)
        .filter(|severity| severity.kind == SeverityKind::Ubuntu)
        .find_map(|severity| Severity::from_rating(&severity.score));
    ubuntu.or_else(|| {
        let rpm = matched.iter().any(|entry| {
            entry.package.as_ref().and_then(|package| VersionScheme::for_ecosystem(&package.ecosystem))
                == Some(VersionScheme::Rpm)
        });
        let (prefix, _) = record.summary.as_deref().filter(|_| rpm)?.split_once(':')?;
        Severity::from_rating(prefix)
    })
}

fn database_rating(record: &Record, matched: &[&Affected]) -> Option<Severity> {
    let rating = |value: &Option<Value>| {
        value.as_ref().and_then(|value| value.get("severity")).and_then(Value::as_str).and_then(Severity::from_rating)
    };
    matched
        .iter()
        .find_map(|entry| rating(&entry.database_specific).or_else(|| rating(&entry.ecosystem_specific)))
        .or_else(|| rating(&record.database_specific))
}
