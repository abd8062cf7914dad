//! Scans as ECR reports them: `imageScanStatus`, `imageScanFindingsSummary` (DescribeImages)
//! and `imageScanFindings` (DescribeImageScanFindings), with basic `findings[]` or enhanced
//! (Amazon Inspector shaped) `enhancedFindings[]`. The ECR API and `wharf scan --json` both
//! answer with these, so the two can never disagree.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wharf_meta::{RepositoryKey, ScanSummary};
use wharf_oci::Digest;
use wharf_vuln::{CvssVersion, Finding};

use super::findings::{FindingStatus, StoredFinding};
use super::{COMPLETE, ScanType};
use crate::{Registry, RegistryError, Result};

/// An image's scan of one type.
#[derive(Debug, Clone)]
pub struct ImageScan {
    pub scan_type: ScanType,
    pub status: String,
    pub description: Option<String>,
    pub completed_at: Option<i64>,
    pub source_updated_at: Option<i64>,
    /// The findings ECR shows: the active ones for `BASIC`; active and closed for `ENHANCED`.
    pub findings: Vec<StoredFinding>,
    pub severity_counts: BTreeMap<String, u64>,
}

/// The image a report is about (enhanced findings name it as their resource).
#[derive(Debug, Clone)]
pub struct ImageContext<'a> {
    pub repository: &'a RepositoryKey,
    pub digest: &'a str,
    pub tags: &'a [String],
    pub pushed_at: i64,
}

impl Registry {
    /// An image's scan of the registry's current scan type; `ScanNotFound` when it has none
    /// (scans of the other type stay hidden, as in ECR).
    pub async fn image_scan(&self, key: &RepositoryKey, digest: &Digest) -> Result<ImageScan> {
        let repo = self.repository(key).await?;
        let scan_type = self.scanning_configuration(&key.account, &key.region).await?.scan_type;
        let not_found = || RegistryError::ScanNotFound { digest: digest.to_string(), name: key.name.clone() };
        let stored = self.meta.scan(repo.id, digest.as_str(), scan_type.as_str()).await?.ok_or_else(not_found)?;
        let corrupt = |e: serde_json::Error| RegistryError::Meta(wharf_meta::MetaError::Corrupt(e.to_string()));
        let mut findings: Vec<StoredFinding> = serde_json::from_str(&stored.findings).map_err(corrupt)?;
        if scan_type == ScanType::Basic {
            findings.retain(|f| f.status == FindingStatus::Active);
        }
        Ok(ImageScan {
            scan_type,
            status: stored.status,
            description: stored.description,
            completed_at: stored.completed_at,
            source_updated_at: stored.source_updated_at,
            findings,
            severity_counts: serde_json::from_str(&stored.severity_counts).map_err(corrupt)?,
        })
    }

    /// The scans (of the current scan type) of some images of a repository, for DescribeImages.
    pub async fn scan_summaries(
        &self,
        key: &RepositoryKey,
        digests: &[String],
    ) -> Result<HashMap<String, ScanSummary>> {
        let repo = self.repository(key).await?;
        let scan_type = self.scanning_configuration(&key.account, &key.region).await?.scan_type;
        Ok(self.meta.scan_summaries(repo.id, digests, scan_type.as_str()).await?)
    }
}

/// `imageScanStatus`.
pub fn scan_status(status: &str, description: Option<&str>) -> Value {
    let mut v = json!({ "status": status });
    if let Some(d) = description {
        v["description"] = d.into();
    }
    v
}

/// `imageScanFindingsSummary` of DescribeImages.
pub fn findings_summary(summary: &ScanSummary) -> Value {
    let counts: Value = serde_json::from_str(&summary.severity_counts).unwrap_or_else(|_| json!({}));
    let mut v = json!({ "findingSeverityCounts": counts });
    if let Some(at) = summary.completed_at {
        v["imageScanCompletedAt"] = seconds(at);
    }
    if let Some(at) = summary.source_updated_at {
        v["vulnerabilitySourceUpdatedAt"] = seconds(at);
    }
    v
}

/// `DescribeImageScanFindings`'s answer, with the findings `scan.findings[range]`.
pub fn describe_findings(scan: &ImageScan, image: &ImageContext<'_>, range: std::ops::Range<usize>) -> Value {
    let mut v = json!({
        "registryId": image.repository.account,
        "repositoryName": image.repository.name,
        "imageId": { "imageDigest": image.digest },
        "imageScanStatus": scan_status(&scan.status, scan.description.as_deref()),
    });
    if scan.status == COMPLETE {
        v["imageScanFindings"] = scan_findings(scan, image, range);
    }
    v
}

/// `imageScanFindings` with the findings `scan.findings[range]`.
fn scan_findings(scan: &ImageScan, image: &ImageContext<'_>, range: std::ops::Range<usize>) -> Value {
    let mut v = json!({ "findingSeverityCounts": scan.severity_counts });
    if let Some(at) = scan.completed_at {
        v["imageScanCompletedAt"] = seconds(at);
    }
    if let Some(at) = scan.source_updated_at {
        v["vulnerabilitySourceUpdatedAt"] = seconds(at);
    }
    let page = &scan.findings[range];
    match scan.scan_type {
        ScanType::Basic => v["findings"] = page.iter().map(basic_finding).collect(),
        ScanType::Enhanced => v["enhancedFindings"] = page.iter().map(|f| enhanced_finding(f, image)).collect(),
    }
    v
}

fn basic_finding(f: &StoredFinding) -> Value {
    let finding = &f.finding;
    let mut attributes = vec![
        json!({ "key": "package_version", "value": finding.package_version }),
        json!({ "key": "package_name", "value": finding.package_name }),
    ];
    if let Some(cvss) = &finding.cvss {
        let prefix = match cvss.version {
            CvssVersion::V2 => "CVSS2",
            CvssVersion::V3_0 | CvssVersion::V3_1 => "CVSS3",
            CvssVersion::V4_0 => "CVSS4",
        };
        attributes.push(json!({ "key": format!("{prefix}_VECTOR"), "value": cvss.vector }));
        if let Some(score) = cvss.base_score {
            attributes.push(json!({ "key": format!("{prefix}_SCORE"), "value": score.to_string() }));
        }
    }
    let mut v = json!({
        "name": finding.id,
        "uri": uri(finding),
        "severity": finding.severity.as_str(),
        "attributes": attributes,
    });
    if let Some(d) = description(finding) {
        v["description"] = d.into();
    }
    v
}

fn enhanced_finding(f: &StoredFinding, image: &ImageContext<'_>) -> Value {
    let finding = &f.finding;
    let key = image.repository;
    let yes_no = |b: bool| if b { "YES" } else { "NO" };
    let mut package = json!({
        "name": finding.package_name,
        "version": finding.package_version,
        "packageManager": package_manager(f),
        "filePath": f.file_path,
    });
    if let Some(fixed) = &finding.fixed_in {
        package["fixedInVersion"] = fixed.clone().into();
    }
    let mut details = json!({
        "vulnerabilityId": finding.id,
        "source": "OSV",
        "sourceUrl": uri(finding),
        "referenceUrls": finding.references.iter().map(|r| r.url.clone()).collect::<Vec<_>>(),
        "relatedVulnerabilities": finding.aliases,
        "vendorSeverity": finding.severity.as_str(),
        "vulnerablePackages": [package],
    });
    if let Some(cvss) = &finding.cvss {
        details["cvss"] = json!([{
            "baseScore": cvss.base_score.unwrap_or(0.0),
            "scoringVector": cvss.vector,
            "source": "OSV",
            "version": cvss_version(cvss.version),
        }]);
    }
    let arn_hash = hex::encode(
        &Sha256::digest(
            format!(
                "{}\n{}\n{}\n{}\n{}",
                image.digest, finding.id, finding.package_name, finding.package_version, f.file_path
            )
            .as_bytes(),
        )[..16],
    );
    let mut container = json!({
        "imageHash": image.digest,
        "imageTags": image.tags,
        "pushedAt": seconds(image.pushed_at),
        "registry": key.account,
        "repositoryName": key.name,
    });
    if let Some(platform) = &f.platform {
        container["platform"] = platform.clone().into();
    }
    let mut v = json!({
        "awsAccountId": key.account,
        "findingArn": format!("arn:aws:inspector2:{}:{}:finding/{arn_hash}", key.region, key.account),
        "type": "PACKAGE_VULNERABILITY",
        "title": match &finding.summary { Some(s) => format!("{} - {}", finding.id, s), None => finding.id.clone() },
        "severity": finding.severity.as_str(),
        "status": match f.status { FindingStatus::Active => "ACTIVE", FindingStatus::Closed => "CLOSED" },
        "firstObservedAt": seconds(f.first_observed_at),
        "lastObservedAt": seconds(f.last_observed_at),
        "updatedAt": seconds(f.updated_at),
        "fixAvailable": yes_no(finding.fix_available()),
        "exploitAvailable": yes_no(f.exploit_available),
        "packageVulnerabilityDetails": details,
        "remediation": { "recommendation": { "text": remediation(finding) } },
        "resources": [{
            "id": format!("arn:aws:ecr:{}:{}:repository/{}/{}", key.region, key.account, key.name, image.digest),
            "type": "AWS_ECR_CONTAINER_IMAGE",
            "details": { "awsEcrContainerImage": container },
        }],
    });
    if let Some(score) = finding.cvss.as_ref().and_then(|c| c.base_score) {
        v["score"] = score.into();
    }
    if let Some(d) = description(finding) {
        v["description"] = d.into();
    }
    v
}

fn description(finding: &Finding) -> Option<String> {
    finding.details.clone().or_else(|| finding.summary.clone())
}

/// The advisory's own page when it lists one, else osv.dev's.
fn uri(finding: &Finding) -> String {
    finding
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .map(|r| r.url.clone())
        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", finding.id))
}

fn remediation(finding: &Finding) -> String {
    match &finding.fixed_in {
        Some(v) => format!("Upgrade {} to version {v} or later.", finding.package_name),
        None => format!("No fixed version of {} is known.", finding.package_name),
    }
}

/// Inspector's `packageManager` names.
fn package_manager(f: &StoredFinding) -> &'static str {
    use wharf_inventory::PackageKind::*;
    match f.package_kind {
        Dpkg => "OS",
        Apk => "OS",
        Rpm => "OS",
        Python => "PYTHONPKG",
        Npm => "NODEPKG",
        Cargo => "CARGO",
        Go => {
            if f.finding.package_name == "stdlib" {
                "GOBINARY"
            } else {
                "GOMOD"
            }
        }
        Java => "JAR",
    }
}

fn cvss_version(version: CvssVersion) -> &'static str {
    match version {
        CvssVersion::V2 => "2.0",
        CvssVersion::V3_0 => "3.0",
        CvssVersion::V3_1 => "3.1",
        CvssVersion::V4_0 => "4.0",
    }
}

/// Epoch milliseconds as the epoch seconds AWS JSON timestamps are.
fn seconds(ms: i64) -> Value {
    (ms as f64 / 1000.0).into()
}
