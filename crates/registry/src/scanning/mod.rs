//! Vulnerability scanning, as ECR does it: a registry scanning configuration (`BASIC` or
//! `ENHANCED`, rules that pick repositories for scan on push or continuous scanning), one
//! scan per image and scan type, findings matched against an offline vulnerability database.
//!
//! - [`vulndb`]: `wharf vulndb import`, osv.dev exports into a new database generation.
//! - `job`: the durable scan jobs (any node takes them) and the scan itself: the inventory
//!   read from the layers once and stored, then matched.
//! - `findings`: matching an inventory against the database; which findings appeared and
//!   which closed since the last match.
//! - [`report`]: scans in ECR's `DescribeImageScanFindings` shape (the API and `wharf scan`).
//!
//! `BASIC` reports the distribution's packages only (as ECR's basic scanning does), `ENHANCED`
//! every package the inventory found. When a new database is imported, `ENHANCED` scans of
//! repositories under `CONTINUOUS_SCAN` are matched again from their stored inventories.

mod findings;
mod job;
pub mod report;
pub mod vulndb;

use serde::{Deserialize, Serialize};
use wharf_meta::{Repository, RepositoryKey};
use wharf_oci::Digest;

use crate::{Registry, RegistryError, Result, now_ms};

pub use findings::{FindingStatus, StoredFinding};
pub use job::{SCAN_EVENT, ScanLimits};

/// ECR's scan statuses (`imageScanStatus.status`) that wharf uses.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETE: &str = "COMPLETE";
pub const FAILED: &str = "FAILED";
pub const UNSUPPORTED_IMAGE: &str = "UNSUPPORTED_IMAGE";

/// ECR's one scan per image per 24 hours.
const SCAN_INTERVAL_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanType {
    Basic,
    Enhanced,
}

impl ScanType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanType::Basic => "BASIC",
            ScanType::Enhanced => "ENHANCED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScanFrequency {
    ScanOnPush,
    ContinuousScan,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryFilter {
    pub filter: String,
    pub filter_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningRule {
    pub scan_frequency: ScanFrequency,
    pub repository_filters: Vec<RepositoryFilter>,
}

/// A registry's scanning configuration; without one, `BASIC` with no rules (manual scans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningConfiguration {
    pub scan_type: ScanType,
    pub rules: Vec<ScanningRule>,
}

/// How a repository is scanned under the registry's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryScanning {
    pub scan_type: ScanType,
    pub frequency: ScanFrequency,
    /// The filters that made it so.
    pub applied_filters: Vec<RepositoryFilter>,
}

impl ScanningConfiguration {
    /// ECR's constraints on `PutRegistryScanningConfiguration`.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(RegistryError::Validation(message));
        if self.rules.len() > 2 {
            return invalid("rules must have at most 2 entries".into());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.scan_frequency == ScanFrequency::ContinuousScan && self.scan_type == ScanType::Basic {
                return invalid("CONTINUOUS_SCAN is only supported for the ENHANCED scan type".into());
            }
            if self.rules[..i].iter().any(|earlier| earlier.scan_frequency == rule.scan_frequency) {
                return invalid("each scanFrequency may appear in one rule only".into());
            }
            if rule.repository_filters.is_empty() || rule.repository_filters.len() > 100 {
                return invalid("repositoryFilters must have between 1 and 100 entries".into());
            }
            for filter in &rule.repository_filters {
                if filter.filter_type != "WILDCARD" {
                    return invalid(format!("filterType '{}' is not supported; use WILDCARD", filter.filter_type));
                }
                if !valid_filter(&filter.filter) {
                    return invalid(format!(
                        "Invalid repository filter '{}': it must be 1 to 255 characters of a-z, 0-9, '.', '_', '-', '/' and '*'",
                        filter.filter
                    ));
                }
            }
        }
        Ok(())
    }

    /// How the repository named `name` is scanned. Under `BASIC` the deprecated per-
    /// repository `scanOnPush` still turns on scan on push; under `ENHANCED` continuous
    /// scanning wins when both frequencies match.
    pub fn for_repository(&self, name: &str, legacy_scan_on_push: bool) -> RepositoryScanning {
        let matching = |frequency: ScanFrequency| -> Vec<RepositoryFilter> {
            self.rules
                .iter()
                .filter(|rule| rule.scan_frequency == frequency)
                .flat_map(|rule| rule.repository_filters.iter().filter(|f| filter_matches(&f.filter, name)).cloned())
                .collect()
        };
        let mut order = vec![ScanFrequency::ScanOnPush];
        if self.scan_type == ScanType::Enhanced {
            order.insert(0, ScanFrequency::ContinuousScan);
        }
        for frequency in order {
            let applied = matching(frequency);
            if !applied.is_empty() {
                return RepositoryScanning { scan_type: self.scan_type, frequency, applied_filters: applied };
            }
        }
        let frequency = if legacy_scan_on_push && self.scan_type == ScanType::Basic {
            ScanFrequency::ScanOnPush
        } else {
            ScanFrequency::Manual
        };
        RepositoryScanning { scan_type: self.scan_type, frequency, applied_filters: Vec::new() }
    }
}

impl Default for ScanningConfiguration {
    fn default() -> Self {
        ScanningConfiguration { scan_type: ScanType::Basic, rules: Vec::new() }
    }
}

fn valid_filter(filter: &str) -> bool {
    (1..=255).contains(&filter.len())
        && filter.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/*".contains(&b))
}

/// ECR's scan filters: without `*` a filter matches any name containing it; with `*` it is a
/// glob over the whole name (`prod*` matches `prod-api`, not `api-prod`).
pub fn filter_matches(filter: &str, name: &str) -> bool {
    if filter.contains('*') { wharf_iam::wildcard::matches(filter, name) } else { name.contains(filter) }
}

impl Registry {
    /// The scanning configuration of an account's registry in a region.
    pub async fn scanning_configuration(&self, account: &str, region: &str) -> Result<ScanningConfiguration> {
        match self.meta.registry_scanning(account, region).await? {
            None => Ok(ScanningConfiguration::default()),
            Some((scan_type, rules)) => {
                let corrupt = |e: serde_json::Error| RegistryError::Meta(wharf_meta::MetaError::Corrupt(e.to_string()));
                Ok(ScanningConfiguration {
                    scan_type: serde_json::from_value(serde_json::Value::String(scan_type)).map_err(corrupt)?,
                    rules: serde_json::from_str(&rules).map_err(corrupt)?,
                })
            }
        }
    }

    pub async fn put_scanning_configuration(
        &self,
        account: &str,
        region: &str,
        config: &ScanningConfiguration,
    ) -> Result<()> {
        config.validate()?;
        let rules = serde_json::to_string(&config.rules).expect("rules serialise");
        self.meta.set_registry_scanning(account, region, config.scan_type.as_str(), &rules).await?;
        Ok(())
    }

    /// How a repository is scanned.
    pub async fn repository_scanning(&self, repo: &Repository) -> Result<RepositoryScanning> {
        let config = self.scanning_configuration(&repo.key.account, &repo.key.region).await?;
        Ok(config.for_repository(&repo.key.name, repo.settings.scan_on_push))
    }

    /// The deprecated `PutImageScanningConfiguration`.
    pub async fn set_scan_on_push(&self, key: &RepositoryKey, scan_on_push: bool) -> Result<()> {
        let repo = self.repository(key).await?;
        self.meta.set_scan_on_push(repo.id, scan_on_push).await?;
        self.repositories.invalidate(key);
        Ok(())
    }

    /// Queues a scan of a manifest just pushed, when the repository is scanned on push. The
    /// push does not wait for the scan, nor fail when it cannot be queued.
    pub(crate) async fn queue_scan_on_push(&self, repo: &Repository, digest: &Digest) {
        let queued = async {
            let scanning = self.repository_scanning(repo).await?;
            if scanning.frequency == ScanFrequency::Manual {
                return Ok::<_, RegistryError>(false);
            }
            let now = now_ms();
            let type_ = scanning.scan_type.as_str();
            Ok(self.meta.request_scan(repo.id, digest.as_str(), type_, now, now - SCAN_INTERVAL_MS).await?)
        };
        match queued.await {
            Ok(true) => self.scan_wakeup.notify_one(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(repository = %repo.key.name, %digest, error = %e, "could not queue a scan on push")
            }
        }
    }

    /// `StartImageScan`: queues a basic scan of an image, at most once per 24 hours.
    pub async fn start_image_scan(&self, key: &RepositoryKey, digest: &Digest) -> Result<()> {
        let repo = self.repository(key).await?;
        let image = self.meta.images_by_digest(repo.id, &[digest.to_string()]).await?;
        let image = image.first().ok_or(RegistryError::ManifestNotFound)?;
        if image.status != wharf_meta::ImageStatus::Active {
            return Err(RegistryError::ImageArchived(digest.to_string()));
        }
        if !job::is_scannable(&image.media_type, image.artifact_type.as_deref()) {
            return Err(RegistryError::UnsupportedImageType(format!(
                "The image with digest '{digest}' is an artifact of type '{}', not a container image",
                image.artifact_type.as_deref().unwrap_or("unknown")
            )));
        }
        let config = self.scanning_configuration(&key.account, &key.region).await?;
        if config.scan_type != ScanType::Basic {
            return Err(RegistryError::Validation(
                "This feature is disabled. Manual scans are only supported with the BASIC scan type".into(),
            ));
        }
        let now = now_ms();
        if !self
            .meta
            .request_scan(repo.id, digest.as_str(), ScanType::Basic.as_str(), now, now - SCAN_INTERVAL_MS)
            .await?
        {
            return Err(RegistryError::ScanLimitExceeded);
        }
        self.scan_wakeup.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(frequency: ScanFrequency, filters: &[&str]) -> ScanningRule {
        ScanningRule {
            scan_frequency: frequency,
            repository_filters: filters
                .iter()
                .map(|f| RepositoryFilter { filter: f.to_string(), filter_type: "WILDCARD".into() })
                .collect(),
        }
    }

    #[test]
    fn filters_without_a_star_match_substrings_and_with_one_the_whole_name() {
        assert!(filter_matches("prod", "team/prod-api"));
        assert!(filter_matches("prod*", "prod"));
        assert!(filter_matches("prod*", "prod-repo"));
        assert!(!filter_matches("prod*", "repo-prod"));
        assert!(filter_matches("*", "anything"));
    }

    #[test]
    fn continuous_scanning_wins_over_scan_on_push_under_enhanced() {
        let config = ScanningConfiguration {
            scan_type: ScanType::Enhanced,
            rules: vec![rule(ScanFrequency::ScanOnPush, &["*"]), rule(ScanFrequency::ContinuousScan, &["prod*"])],
        };
        assert_eq!(config.for_repository("prod-api", false).frequency, ScanFrequency::ContinuousScan);
        assert_eq!(config.for_repository("dev", false).frequency, ScanFrequency::ScanOnPush);
        let none = ScanningConfiguration { scan_type: ScanType::Enhanced, rules: vec![] };
        assert_eq!(none.for_repository("dev", true).frequency, ScanFrequency::Manual);
    }

    #[test]
    fn basic_honours_the_deprecated_repository_setting() {
        let config = ScanningConfiguration::default();
        assert_eq!(config.for_repository("a", true).frequency, ScanFrequency::ScanOnPush);
        assert_eq!(config.for_repository("a", false).frequency, ScanFrequency::Manual);
    }

    #[test]
    fn validation() {
        let basic_continuous = ScanningConfiguration {
            scan_type: ScanType::Basic,
            rules: vec![rule(ScanFrequency::ContinuousScan, &["*"])],
        };
        assert!(basic_continuous.validate().is_err());
        let bad_filter = ScanningConfiguration {
            scan_type: ScanType::Basic,
            rules: vec![rule(ScanFrequency::ScanOnPush, &["Prod"])],
        };
        assert!(bad_filter.validate().is_err());
        let ok =
            ScanningConfiguration { scan_type: ScanType::Basic, rules: vec![rule(ScanFrequency::ScanOnPush, &["p*"])] };
        assert!(ok.validate().is_ok());
    }
}
