//! The query a scanner runs for each package it finds in an image: given the package and the
//! advisories stored for its (ecosystem, name), which of them affect it, how badly, and
//! whether an upgrade fixes it.
//!
//! Fetching the advisories is the caller's business; this only reads them. They may mention
//! other packages and ecosystems too (an AlmaLinux 8 advisory lists AlmaLinux 9 packages as
//! well), so each affected entry is checked for the package's own ecosystem and name.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cvss::Cvss;
use crate::matching::{self, Match};
use crate::osv::{Affected, Record, Reference};
use crate::severity::{self, Severity, SeveritySource};
use crate::version::VersionScheme;

/// A package installed in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPackage {
    /// The OSV ecosystem, with the distribution's release where advisories are per release:
    /// `Debian:12`, `Alpine:v3.20`, `AlmaLinux:9`, `PyPI`, `Go`, …
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// The source package it was built from, for distributions whose advisories name source
    /// packages (Debian, Ubuntu; Alpine's origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    /// When it differs from the binary package's (a Debian binNMU adds `+bN` to the binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One advisory that affects an installed package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The advisory's id: `CVE-…`, `GHSA-…`, `PYSEC-…`, `ALSA-…`, `GO-…`, `RUSTSEC-…`.
    pub id: String,
    /// Other ids of the same advisory, including those of advisories merged into this one
    /// for being aliases of each other.
    pub aliases: Vec<String>,
    /// The CVEs it covers: among its id and aliases, and, for a distribution's advisory, the
    /// CVEs it names as related.
    pub cves: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub severity: Severity,
    pub severity_source: SeveritySource,
    pub cvss: Option<Cvss>,
    pub package_name: String,
    pub package_version: String,
    /// The version to upgrade to, when the advisory names one.
    pub fixed_in: Option<String>,
    pub references: Vec<Reference>,
    pub published: Option<String>,
    pub modified: Option<String>,
}

impl Finding {
    /// ECR's `fixAvailable`: whether upgrading the package fixes it.
    pub fn fix_available(&self) -> bool {
        self.fixed_in.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    #[error("no version order is known for ecosystem {0:?}")]
    UnsupportedEcosystem(String),
}

/// The advisories among `records` that affect `package`, one finding each, sorted by id.
/// Withdrawn advisories affect nothing, and advisories that are aliases of each other
/// (a `GHSA-…` and the `PYSEC-…` naming it) make one finding: the most severe of them.
pub fn match_package(package: &InstalledPackage, records: &[Record]) -> Result<Vec<Finding>, MatchError> {
    let scheme = VersionScheme::for_ecosystem(&package.ecosystem)
        .ok_or_else(|| MatchError::UnsupportedEcosystem(package.ecosystem.clone()))?;
    let mut findings: Vec<Finding> =
        records.iter().filter_map(|record| match_record(package, scheme, record)).collect();
    findings = merge_aliases(findings);
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(findings)
}

fn match_record(package: &InstalledPackage, scheme: VersionScheme, record: &Record) -> Option<Finding> {
    if record.withdrawn.is_some() {
        return None;
    }
    let matches: Vec<(&Affected, Match)> =
        record.affected.iter().filter_map(|entry| Some((entry, match_entry(package, scheme, entry)?))).collect();
    if matches.is_empty() {
        return None;
    }
    let entries: Vec<&Affected> = matches.iter().map(|(entry, _)| *entry).collect();
    let assessment = severity::assess(record, &entries);
    Some(Finding {
        id: record.id.clone(),
        aliases: record.aliases.clone(),
        cves: cves(record),
        summary: record.summary.clone(),
        details: record.details.clone(),
        severity: assessment.severity,
        severity_source: assessment.source,
        cvss: assessment.cvss,
        package_name: package.name.clone(),
        package_version: package.version.clone(),
        fixed_in: combined_fix(scheme, matches.into_iter().map(|(_, found)| found.fixed_in)),
        references: record.references.clone(),
        published: record.published.clone(),
        modified: record.modified.clone(),
    })
}

/// Evaluates an entry about the package itself or about its source package.
fn match_entry(package: &InstalledPackage, scheme: VersionScheme, entry: &Affected) -> Option<Match> {
    let named = entry.package.as_ref().filter(|named| named.ecosystem == package.ecosystem)?;
    if same_name(scheme, &named.name, &package.name) {
        return matching::affected(entry, &package.version, scheme);
    }
    let source = package.source.as_ref().filter(|source| same_name(scheme, &named.name, &source.name))?;
    matching::affected(entry, source.version.as_deref().unwrap_or(&package.version), scheme)
}

/// Python package names compare normalized (PEP 503: any case, `-`, `_` and `.` alike);
/// every other ecosystem's exactly.
fn same_name(scheme: VersionScheme, a: &str, b: &str) -> bool {
    if scheme != VersionScheme::Pep440 {
        return a == b;
    }
    pep503(a) == pep503(b)
}

/// The form of a package name under which a database indexes advisories, so that a lookup
/// finds every advisory [`match_package`] would accept for that name.
pub fn package_key(ecosystem: &str, name: &str) -> String {
    match VersionScheme::for_ecosystem(ecosystem) {
        Some(VersionScheme::Pep440) => pep503(name),
        _ => name.to_owned(),
    }
}

fn pep503(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '-' | '_' | '.' if normalized.ends_with('-') => {}
            '-' | '_' | '.' => normalized.push('-'),
            c => normalized.push(c.to_ascii_lowercase()),
        }
    }
    normalized
}

/// With several entries affecting the package, an upgrade fixes it only if it fixes every
/// one: no fix if one entry has none, otherwise the highest of the entries' fixes.
fn combined_fix(scheme: VersionScheme, fixes: impl Iterator<Item = Option<String>>) -> Option<String> {
    fixes.collect::<Option<Vec<String>>>()?.into_iter().max_by(|a, b| scheme.compare(a, b))
}

fn cves(record: &Record) -> Vec<String> {
    let cves: BTreeSet<&String> = std::iter::once(&record.id)
        .chain(&record.aliases)
        .chain(&record.related)
        .filter(|id| id.starts_with("CVE-"))
        .collect();
    cves.into_iter().cloned().collect()
}

/// Merges findings whose advisories share an id, keeping the most severe (then the one with
/// the lowest id) and the union of their aliases and CVEs.
fn merge_aliases(findings: Vec<Finding>) -> Vec<Finding> {
    let mut groups: Vec<Vec<Finding>> = Vec::new();
    for finding in findings {
        let ids = |f: &Finding| std::iter::once(f.id.clone()).chain(f.aliases.clone()).collect::<BTreeSet<String>>();
        let own = ids(&finding);
        let (joined, rest): (Vec<Vec<Finding>>, Vec<Vec<Finding>>) =
            groups.into_iter().partition(|group| group.iter().any(|member| !ids(member).is_disjoint(&own)));
        let mut group: Vec<Finding> = joined.into_iter().flatten().collect();
        group.push(finding);
        groups = rest;
        groups.push(group);
    }
    groups.into_iter().filter_map(merge_group).collect()
}

fn merge_group(mut group: Vec<Finding>) -> Option<Finding> {
    group.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
    let mut members = group.into_iter();
    let mut kept = members.next()?;
    for other in members {
        kept.aliases.push(other.id);
        kept.aliases.extend(other.aliases);
        kept.cves.extend(other.cves);
    }
    let id = kept.id.clone();
    kept.aliases = kept.aliases.into_iter().filter(|alias| *alias != id).collect::<BTreeSet<_>>().into_iter().collect();
    kept.cves = kept.cves.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    Some(kept)
}
