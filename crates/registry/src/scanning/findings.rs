//! Matching an inventory against a database generation, and keeping track of findings over
//! time: a finding seen again stays `ACTIVE` with its first sighting; one no longer seen
//! (the package was upgraded, the advisory withdrawn) becomes `CLOSED`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use wharf_inventory::{Inventory, Package, PackageKind};
use wharf_meta::VulnDbImport;
use wharf_vuln::{Finding, InstalledPackage, Record, Severity};

use super::ScanType;
use crate::{Registry, RegistryError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    Active,
    Closed,
}

/// A finding as stored with its scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFinding {
    pub finding: Finding,
    pub ecosystem: String,
    pub package_kind: PackageKind,
    /// Where the package was found in the image.
    pub file_path: String,
    /// The platform (`linux/arm64`) of an index's child it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// A CVE of the advisory is in CISA's known-exploited catalogue.
    pub exploit_available: bool,
    pub status: FindingStatus,
    pub first_observed_at: i64,
    pub last_observed_at: i64,
    pub updated_at: i64,
}

impl StoredFinding {
    /// What identifies a finding from one match to the next.
    fn key(&self) -> (String, String, String, String) {
        (
            self.finding.id.clone(),
            self.finding.package_name.clone(),
            self.finding.package_version.clone(),
            self.file_path.clone(),
        )
    }
}

/// The inventory of one image manifest, with the platform it is for when an index lists it.
#[derive(Debug, Clone)]
pub(super) struct PlatformInventory {
    pub platform: Option<String>,
    pub inventory: Inventory,
}

impl Registry {
    /// The findings of the packages a scan type looks at, against database `db`.
    pub(super) async fn match_inventories(
        &self,
        db: &VulnDbImport,
        scan_type: ScanType,
        inventories: &[PlatformInventory],
        now: i64,
    ) -> Result<Vec<StoredFinding>> {
        let scanned: Vec<(&Option<String>, &Package)> = inventories
            .iter()
            .flat_map(|i| i.inventory.packages.iter().map(move |p| (&i.platform, p)))
            .filter(|(_, p)| scan_type == ScanType::Enhanced || p.kind.is_distro())
            .collect();
        let mut keys: Vec<(String, String)> = scanned
            .iter()
            .flat_map(|(_, p)| {
                std::iter::once(&p.name).chain(p.source.as_ref().map(|s| &s.name)).map(|n| lookup_key(p, n))
            })
            .collect();
        keys.sort();
        keys.dedup();
        let lookup = self.meta.vulndb_lookup(db.id, &keys).await?;
        let mut records: HashMap<String, Record> = HashMap::with_capacity(lookup.records.len());
        for (id, body) in lookup.records {
            let record = Record::from_json(&body)
                .map_err(|e| RegistryError::Meta(wharf_meta::MetaError::Corrupt(format!("advisory {id}: {e}"))))?;
            records.insert(id, record);
        }
        let mut by_name: HashMap<(String, String), Vec<&str>> = HashMap::new();
        for (ecosystem, name, id) in &lookup.names {
            by_name.entry((ecosystem.clone(), name.clone())).or_default().push(id);
        }

        let mut found: BTreeMap<(String, String, String, String), StoredFinding> = BTreeMap::new();
        for (platform, package) in scanned {
            let mut candidates: Vec<Record> = Vec::new();
            for name in std::iter::once(&package.name).chain(package.source.as_ref().map(|s| &s.name)) {
                for id in by_name.get(&lookup_key(package, name)).into_iter().flatten() {
                    if let Some(record) = records.get(*id)
                        && !candidates.iter().any(|c| c.id == record.id)
                    {
                        candidates.push(record.clone());
                    }
                }
            }
            if candidates.is_empty() {
                continue;
            }
            // An ecosystem without a version order cannot be matched; it has no records
            // either in any database wharf imports, so there is nothing to report.
            let Ok(matched) = wharf_vuln::match_package(&installed(package), &candidates) else { continue };
            for finding in matched {
                let stored = StoredFinding {
                    exploit_available: false,
                    ecosystem: package.ecosystem.clone(),
                    package_kind: package.kind,
                    file_path: package.path.clone(),
                    platform: platform.clone(),
                    status: FindingStatus::Active,
                    first_observed_at: now,
                    last_observed_at: now,
                    updated_at: now,
                    finding,
                };
                found.entry(stored.key()).or_insert(stored);
            }
        }
        let mut findings: Vec<StoredFinding> = found.into_values().collect();
        let cves: Vec<String> = findings.iter().flat_map(|f| f.finding.cves.iter().cloned()).collect();
        let exploited = self.meta.vulndb_exploited(db.id, &cves).await?;
        for f in &mut findings {
            f.exploit_available = f.finding.cves.iter().any(|cve| exploited.contains(cve));
        }
        Ok(findings)
    }
}

fn lookup_key(package: &Package, name: &str) -> (String, String) {
    (package.ecosystem.clone(), wharf_vuln::package_key(&package.ecosystem, name))
}

fn installed(package: &Package) -> InstalledPackage {
    InstalledPackage {
        ecosystem: package.ecosystem.clone(),
        name: package.name.clone(),
        version: package.version.clone(),
        source: package.source.as_ref().map(|s| wharf_vuln::SourcePackage {
            name: s.name.clone(),
            version: (s.version != package.version).then(|| s.version.clone()),
        }),
    }
}

/// The findings after a new match: what is found again keeps its first sighting, what is
/// found no more is closed, what was closed stays closed unless found again.
pub(super) fn merge(previous: Vec<StoredFinding>, current: Vec<StoredFinding>, now: i64) -> Vec<StoredFinding> {
    let mut before: HashMap<_, StoredFinding> = previous.into_iter().map(|f| (f.key(), f)).collect();
    let mut merged: Vec<StoredFinding> = current
        .into_iter()
        .map(|mut f| {
            if let Some(old) = before.remove(&f.key()) {
                f.first_observed_at = old.first_observed_at;
                if old.status == FindingStatus::Active && old.finding == f.finding {
                    f.updated_at = old.updated_at;
                }
            }
            f
        })
        .collect();
    for (_, mut gone) in before {
        if gone.status == FindingStatus::Active {
            gone.status = FindingStatus::Closed;
            gone.updated_at = now;
        }
        merged.push(gone);
    }
    merged.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then_with(|| a.key().cmp(&b.key())));
    merged
}

/// ECR's `findingSeverityCounts`: active findings per severity, only severities that occur.
pub(super) fn severity_counts(findings: &[StoredFinding]) -> BTreeMap<Severity, u64> {
    let mut counts = BTreeMap::new();
    for f in findings.iter().filter(|f| f.status == FindingStatus::Active) {
        *counts.entry(f.finding.severity).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, status: FindingStatus, first: i64) -> StoredFinding {
        StoredFinding {
            finding: Finding {
                id: id.into(),
                aliases: vec![],
                cves: vec![],
                summary: None,
                details: None,
                severity: Severity::High,
                severity_source: wharf_vuln::SeveritySource::None,
                cvss: None,
                package_name: "p".into(),
                package_version: "1".into(),
                fixed_in: None,
                references: vec![],
                published: None,
                modified: None,
            },
            ecosystem: "PyPI".into(),
            package_kind: PackageKind::Python,
            file_path: "x".into(),
            platform: None,
            exploit_available: false,
            status,
            first_observed_at: first,
            last_observed_at: first,
            updated_at: first,
        }
    }

    #[test]
    fn a_finding_seen_again_keeps_its_first_sighting_and_one_gone_closes() {
        let before = vec![finding("A", FindingStatus::Active, 1), finding("B", FindingStatus::Active, 1)];
        let now = vec![finding("A", FindingStatus::Active, 5), finding("C", FindingStatus::Active, 5)];
        let merged = merge(before, now, 5);
        let get = |id: &str| merged.iter().find(|f| f.finding.id == id).unwrap();
        assert_eq!((get("A").status, get("A").first_observed_at), (FindingStatus::Active, 1));
        assert_eq!((get("B").status, get("B").updated_at), (FindingStatus::Closed, 5));
        assert_eq!((get("C").status, get("C").first_observed_at), (FindingStatus::Active, 5));
        assert_eq!(severity_counts(&merged).get(&Severity::High), Some(&2));
    }

    #[test]
    fn a_closed_finding_found_again_is_active() {
        let merged =
            merge(vec![finding("A", FindingStatus::Closed, 1)], vec![finding("A", FindingStatus::Active, 9)], 9);
        assert_eq!(
            (merged[0].status, merged[0].first_observed_at, merged[0].updated_at),
            (FindingStatus::Active, 1, 9)
        );
    }
}
