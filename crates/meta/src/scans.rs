//! Image scanning: the registry's scanning configuration, image inventories, and one scan
//! per image and scan type. A scan `IN_PROGRESS` is also the durable job that produces it:
//! any node claims it with a lease, and another takes it over when the lease runs out.

use std::collections::HashMap;

use sqlx::Row;

use crate::{MetaStore, RepositoryKey, Result, placeholders};

/// A scan as stored. `findings` and `severity_counts` are JSON written by the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScan {
    pub status: String,
    pub description: Option<String>,
    pub completed_at: Option<i64>,
    pub vulndb_import_id: Option<i64>,
    pub source_updated_at: Option<i64>,
    pub findings: String,
    pub severity_counts: String,
}

/// A scan a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanJob {
    pub repository_id: i64,
    pub repository: RepositoryKey,
    pub digest: String,
    pub scan_type: String,
    /// How many times a worker has claimed it, this time included.
    pub attempts: i64,
}

/// What a finished scan (or a rematch) records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome<'a> {
    pub status: &'a str,
    pub description: Option<&'a str>,
    pub completed_at: i64,
    pub vulndb_import_id: Option<i64>,
    pub source_updated_at: Option<i64>,
    pub findings: &'a str,
    pub severity_counts: &'a str,
}

/// A completed scan matched against another database generation than the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleScan {
    pub repository_id: i64,
    pub repository: RepositoryKey,
    pub digest: String,
    pub vulndb_import_id: Option<i64>,
}

/// The summary DescribeImages shows of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    pub status: String,
    pub description: Option<String>,
    pub completed_at: Option<i64>,
    pub source_updated_at: Option<i64>,
    pub severity_counts: String,
}

const SCAN_COLUMNS: &str =
    "status, description, completed_at, vulndb_import_id, source_updated_at, findings, severity_counts";

impl MetaStore {
    /// The registry scanning configuration of an account in a region: (scan type, rules JSON).
    pub async fn registry_scanning(&self, account: &str, region: &str) -> Result<Option<(String, String)>> {
        let row =
            sqlx::query_as("SELECT scan_type, rules FROM registry_scanning WHERE account_id = $1 AND region = $2")
                .bind(account)
                .bind(region)
                .fetch_optional(&self.read)
                .await?;
        Ok(row)
    }

    pub async fn set_registry_scanning(&self, account: &str, region: &str, scan_type: &str, rules: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_scanning (account_id, region, scan_type, rules) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, region) DO UPDATE SET scan_type = excluded.scan_type, rules = excluded.rules",
        )
        .bind(account)
        .bind(region)
        .bind(scan_type)
        .bind(rules)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The deprecated per-repository `scanOnPush`.
    pub async fn set_scan_on_push(&self, repository_id: i64, scan_on_push: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE repositories SET scan_on_push = $2 WHERE id = $1")
            .bind(repository_id)
            .bind(i64::from(scan_on_push))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a scan of an image, unless one is in progress or one that did not fail was
    /// requested at or after `not_since` (ECR allows one scan per image per 24 hours);
    /// whether it was queued.
    pub async fn request_scan(
        &self,
        repository_id: i64,
        digest: &str,
        scan_type: &str,
        now: i64,
        not_since: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO image_scans (repository_id, digest, scan_type, status, requested_at)
             VALUES ($1, $2, $3, 'IN_PROGRESS', $4)
             ON CONFLICT (repository_id, digest, scan_type) DO UPDATE
                 SET status = 'IN_PROGRESS', description = NULL, requested_at = excluded.requested_at,
                     lease_until = NULL, attempts = 0
                 WHERE image_scans.status <> 'IN_PROGRESS'
                     AND (image_scans.status = 'FAILED' OR image_scans.requested_at < $5)",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(scan_type)
        .bind(now)
        .bind(not_since)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims the oldest queued scan whose lease is free, for `lease_ms`.
    pub async fn claim_scan(&self, now: i64, lease_ms: i64) -> Result<Option<ScanJob>> {
        // Two nodes may pick the same candidate; the conditional UPDATE lets one of them
        // have it, and the other tries the next.
        for _ in 0..4 {
            let candidate: Option<(i64, String, String)> = sqlx::query_as(
                "SELECT repository_id, digest, scan_type FROM image_scans
                 WHERE status = 'IN_PROGRESS' AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY requested_at LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&self.read)
            .await?;
            let Some((repository_id, digest, scan_type)) = candidate else { return Ok(None) };
            if let Some(job) = self.lease_scan(repository_id, &digest, &scan_type, now, lease_ms, true).await? {
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    /// Puts an image's scan in progress and claims it at once, whatever it was (an operator's
    /// `wharf scan`).
    pub async fn claim_scan_now(
        &self,
        repository_id: i64,
        digest: &str,
        scan_type: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<ScanJob>> {
        sqlx::query(
            "INSERT INTO image_scans (repository_id, digest, scan_type, status, requested_at)
             VALUES ($1, $2, $3, 'IN_PROGRESS', $4)
             ON CONFLICT (repository_id, digest, scan_type) DO UPDATE
                 SET status = 'IN_PROGRESS', description = NULL, requested_at = excluded.requested_at,
                     lease_until = NULL, attempts = 0",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(scan_type)
        .bind(now)
        .execute(&self.write)
        .await?;
        self.lease_scan(repository_id, digest, scan_type, now, lease_ms, false).await
    }

    async fn lease_scan(
        &self,
        repository_id: i64,
        digest: &str,
        scan_type: &str,
        now: i64,
        lease_ms: i64,
        only_if_free: bool,
    ) -> Result<Option<ScanJob>> {
        let row = sqlx::query(
            "UPDATE image_scans SET lease_until = $4, attempts = attempts + 1
             WHERE repository_id = $1 AND digest = $2 AND scan_type = $3 AND status = 'IN_PROGRESS'
                 AND ($6 = 0 OR lease_until IS NULL OR lease_until < $5)
             RETURNING attempts",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(scan_type)
        .bind(now + lease_ms)
        .bind(now)
        .bind(i64::from(only_if_free))
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let attempts: i64 = row.try_get("attempts")?;
        let key: Option<(String, String, String)> =
            sqlx::query_as("SELECT account_id, region, name FROM repositories WHERE id = $1")
                .bind(repository_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(key.map(|(account, region, name)| ScanJob {
            repository_id,
            repository: RepositoryKey { account, region, name },
            digest: digest.to_owned(),
            scan_type: scan_type.to_owned(),
            attempts,
        }))
    }

    /// Records the end of a claimed scan; `false` if the scan was requested again or the
    /// image deleted meanwhile (the new request stands).
    pub async fn finish_scan(&self, job: &ScanJob, outcome: &ScanOutcome<'_>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE image_scans SET status = $4, description = $5, completed_at = $6, vulndb_import_id = $7,
                 source_updated_at = $8, findings = $9, severity_counts = $10, lease_until = NULL
             WHERE repository_id = $1 AND digest = $2 AND scan_type = $3 AND status = 'IN_PROGRESS' AND attempts = $11",
        )
        .bind(job.repository_id)
        .bind(&job.digest)
        .bind(&job.scan_type)
        .bind(outcome.status)
        .bind(outcome.description)
        .bind(outcome.completed_at)
        .bind(outcome.vulndb_import_id)
        .bind(outcome.source_updated_at)
        .bind(outcome.findings)
        .bind(outcome.severity_counts)
        .bind(job.attempts)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn scan(&self, repository_id: i64, digest: &str, scan_type: &str) -> Result<Option<StoredScan>> {
        let row = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM image_scans WHERE repository_id = $1 AND digest = $2 AND scan_type = $3"
        ))
        .bind(repository_id)
        .bind(digest)
        .bind(scan_type)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredScan {
                status: r.try_get("status")?,
                description: r.try_get("description")?,
                completed_at: r.try_get("completed_at")?,
                vulndb_import_id: r.try_get("vulndb_import_id")?,
                source_updated_at: r.try_get("source_updated_at")?,
                findings: r.try_get("findings")?,
                severity_counts: r.try_get("severity_counts")?,
            })
        })
        .transpose()
    }

    /// The scans of some images of a repository (by digest), without their findings.
    pub async fn scan_summaries(
        &self,
        repository_id: i64,
        digests: &[String],
        scan_type: &str,
    ) -> Result<HashMap<String, ScanSummary>> {
        if digests.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT digest, status, description, completed_at, source_updated_at, severity_counts FROM image_scans
             WHERE repository_id = $1 AND scan_type = $2 AND digest IN ({})",
            placeholders(3, digests.len())
        );
        let mut query = sqlx::query(&sql).bind(repository_id).bind(scan_type);
        for digest in digests {
            query = query.bind(digest);
        }
        let mut summaries = HashMap::new();
        for r in query.fetch_all(&self.read).await? {
            summaries.insert(
                r.try_get("digest")?,
                ScanSummary {
                    status: r.try_get("status")?,
                    description: r.try_get("description")?,
                    completed_at: r.try_get("completed_at")?,
                    source_updated_at: r.try_get("source_updated_at")?,
                    severity_counts: r.try_get("severity_counts")?,
                },
            );
        }
        Ok(summaries)
    }

    /// Completed scans of a type matched against a generation other than `import_id`, in
    /// (repository, digest) order after `after`.
    pub async fn stale_scans(
        &self,
        scan_type: &str,
        import_id: i64,
        after: (i64, &str),
        limit: i64,
    ) -> Result<Vec<StaleScan>> {
        let rows = sqlx::query(
            "SELECT s.repository_id, s.digest, s.vulndb_import_id, r.account_id, r.region, r.name
             FROM image_scans s JOIN repositories r ON r.id = s.repository_id
             WHERE s.scan_type = $1 AND s.status = 'COMPLETE'
                 AND (s.vulndb_import_id IS NULL OR s.vulndb_import_id <> $2)
                 AND (s.repository_id > $3 OR (s.repository_id = $3 AND s.digest > $4))
             ORDER BY s.repository_id, s.digest LIMIT $5",
        )
        .bind(scan_type)
        .bind(import_id)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StaleScan {
                    repository_id: r.try_get("repository_id")?,
                    repository: RepositoryKey {
                        account: r.try_get("account_id")?,
                        region: r.try_get("region")?,
                        name: r.try_get("name")?,
                    },
                    digest: r.try_get("digest")?,
                    vulndb_import_id: r.try_get("vulndb_import_id")?,
                })
            })
            .collect()
    }

    /// Records a rematch of a completed scan, unless something else changed it since it
    /// was read (a new scan, another node's rematch).
    pub async fn rematch_scan(&self, stale: &StaleScan, scan_type: &str, outcome: &ScanOutcome<'_>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE image_scans SET completed_at = $4, vulndb_import_id = $5, source_updated_at = $6,
                 findings = $7, severity_counts = $8
             WHERE repository_id = $1 AND digest = $2 AND scan_type = $3 AND status = 'COMPLETE'
                 AND COALESCE(vulndb_import_id, 0) = $9",
        )
        .bind(stale.repository_id)
        .bind(&stale.digest)
        .bind(scan_type)
        .bind(outcome.completed_at)
        .bind(outcome.vulndb_import_id)
        .bind(outcome.source_updated_at)
        .bind(outcome.findings)
        .bind(outcome.severity_counts)
        .bind(stale.vulndb_import_id.unwrap_or(0))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An image's stored inventory (JSON).
    pub async fn inventory(&self, repository_id: i64, digest: &str) -> Result<Option<String>> {
        let inventory =
            sqlx::query_scalar("SELECT inventory FROM image_inventories WHERE repository_id = $1 AND digest = $2")
                .bind(repository_id)
                .bind(digest)
                .fetch_optional(&self.read)
                .await?;
        Ok(inventory)
    }

    /// Stores an image's inventory; `false` if the image is gone.
    pub async fn put_inventory(&self, repository_id: i64, digest: &str, inventory: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO image_inventories (repository_id, digest, inventory, created_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2)
             ON CONFLICT (repository_id, digest) DO UPDATE SET inventory = excluded.inventory, created_at = excluded.created_at",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(inventory)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
