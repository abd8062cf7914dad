//! Lifecycle policy previews, what the lifecycle evaluator needs to know of images, and
//! what lifecycle execution changes: storage classes (archive, restore) and the manifests
//! an expired image takes with it.

use std::collections::HashSet;

use sqlx::{Any, Row, Transaction};

use crate::{ImageFilter, ImageRecord, ImageStatus, MetaStore, RepositoryKey, Result, placeholders};

/// A preview as stored: the policy it ran, its status and how many images its results expire
/// and transition (the results are rows, read a page at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreview {
    pub policy_text: String,
    pub status: String,
    pub expiring: i64,
    pub transitioning: i64,
}

/// One image a preview would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    pub digest: String,
    /// JSON list of the image's tags.
    pub tags: String,
    pub tagged: bool,
    pub pushed_at: i64,
    pub transition: bool,
    pub rule_priority: i64,
}

/// Which results a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewQuery<'a> {
    /// Only images with (`Some(true)`) or without (`Some(false)`) tags.
    pub tagged: Option<bool>,
    /// Only these images.
    pub digests: Option<&'a [String]>,
    /// Results after this position (`seq`).
    pub after: i64,
    pub limit: i64,
}

/// How long a preview may stay `IN_PROGRESS` before a new one may replace it (a process
/// that died mid-preview must not block previews for ever).
const STALE_PREVIEW_MS: i64 = 10 * 60 * 1000;

/// Result rows per multi-row INSERT (7 bound parameters each).
const RESULT_ROWS_PER_STATEMENT: usize = 500;

impl MetaStore {
    /// Starts a preview unless one is in progress; `false` when one is. The results of the
    /// previous preview go.
    pub async fn start_preview(&self, repository_id: i64, policy_text: &str, now: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO lifecycle_previews (repository_id, policy_text, status, started_at)
             VALUES ($1, $2, 'IN_PROGRESS', $3)
             ON CONFLICT (repository_id) DO UPDATE
                 SET policy_text = excluded.policy_text, status = 'IN_PROGRESS', expiring = 0, transitioning = 0,
                     started_at = excluded.started_at
                 WHERE lifecycle_previews.status <> 'IN_PROGRESS' OR lifecycle_previews.started_at < $4",
        )
        .bind(repository_id)
        .bind(policy_text)
        .bind(now)
        .bind(now - STALE_PREVIEW_MS)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM lifecycle_preview_results WHERE repository_id = $1")
            .bind(repository_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a preview's end and its results, in order.
    pub async fn finish_preview(&self, repository_id: i64, status: &str, results: &[PreviewRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let transitioning = results.iter().filter(|r| r.transition).count() as i64;
        sqlx::query(
            "UPDATE lifecycle_previews SET status = $2, expiring = $3, transitioning = $4 WHERE repository_id = $1",
        )
        .bind(repository_id)
        .bind(status)
        .bind(results.len() as i64 - transitioning)
        .bind(transitioning)
        .execute(&mut *tx)
        .await?;
        for (n, chunk) in results.chunks(RESULT_ROWS_PER_STATEMENT).enumerate() {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = 2 + 7 * i;
                    format!("($1, ${p}, ${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
                })
                .collect();
            let sql = format!(
                "INSERT INTO lifecycle_preview_results
                     (repository_id, seq, digest, tags, tagged, pushed_at, transition, rule_priority) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(repository_id);
            for (i, row) in chunk.iter().enumerate() {
                query = query
                    .bind((n * RESULT_ROWS_PER_STATEMENT + i + 1) as i64)
                    .bind(&row.digest)
                    .bind(&row.tags)
                    .bind(i64::from(row.tagged))
                    .bind(row.pushed_at)
                    .bind(i64::from(row.transition))
                    .bind(row.rule_priority);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn preview(&self, repository_id: i64) -> Result<Option<StoredPreview>> {
        let row = sqlx::query(
            "SELECT policy_text, status, expiring, transitioning FROM lifecycle_previews WHERE repository_id = $1",
        )
        .bind(repository_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredPreview {
                policy_text: r.try_get("policy_text")?,
                status: r.try_get("status")?,
                expiring: r.try_get("expiring")?,
                transitioning: r.try_get("transitioning")?,
            })
        })
        .transpose()
    }

    /// A page of a preview's results, with each one's position (for the next page).
    pub async fn preview_results(&self, repository_id: i64, query: PreviewQuery<'_>) -> Result<Vec<(i64, PreviewRow)>> {
        let mut sql = String::from(
            "SELECT seq, digest, tags, tagged, pushed_at, transition, rule_priority FROM lifecycle_preview_results
             WHERE repository_id = $1 AND seq > $2 AND ($3 < 0 OR tagged = $3)",
        );
        if let Some(digests) = query.digests {
            if digests.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND digest IN ({})", placeholders(5, digests.len())));
        }
        sql.push_str(" ORDER BY seq LIMIT $4");
        let tagged = query.tagged.map_or(-1, i64::from);
        let mut q = sqlx::query(&sql).bind(repository_id).bind(query.after).bind(tagged).bind(query.limit);
        for digest in query.digests.unwrap_or_default() {
            q = q.bind(digest);
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("seq")?,
                    PreviewRow {
                        digest: r.try_get("digest")?,
                        tags: r.try_get("tags")?,
                        tagged: r.try_get::<i64, _>("tagged")? != 0,
                        pushed_at: r.try_get("pushed_at")?,
                        transition: r.try_get::<i64, _>("transition")? != 0,
                        rule_priority: r.try_get("rule_priority")?,
                    },
                ))
            })
            .collect()
    }

    /// Every image of a repository, with whether an index lists it (lifecycle rules never
    /// act on those directly).
    pub async fn lifecycle_images(&self, repository_id: i64) -> Result<(Vec<ImageRecord>, HashSet<String>)> {
        // In pages: each page's tags are looked up with one bound parameter per image.
        const PAGE: i64 = 500;
        let mut images: Vec<ImageRecord> = Vec::new();
        loop {
            let after = images.last().map(|i| i.digest.clone());
            let page = self.images(repository_id, ImageFilter::ALL, after.as_deref(), PAGE).await?;
            let done = (page.len() as i64) < PAGE;
            images.extend(page);
            if done {
                break;
            }
        }
        let children = sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT child_digest FROM manifest_children WHERE repository_id = $1",
        )
        .bind(repository_id)
        .fetch_all(&self.read)
        .await?;
        Ok((images, children.into_iter().collect()))
    }
}

impl MetaStore {
    /// Moves an image to the archive storage class; its status afterwards, `None` if the
    /// image does not exist. An archived image stays as it is.
    pub async fn archive_image(&self, repository_id: i64, digest: &str, now: i64) -> Result<Option<ImageStatus>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE manifests SET image_status = 'ARCHIVED', last_archived_at = $3
             WHERE repository_id = $1 AND digest = $2 AND image_status <> 'ARCHIVED'",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let status = image_status(&mut tx, repository_id, digest).await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Starts restoring an archived image (`ACTIVATING`; `activate_images` finishes it); its
    /// status afterwards, `None` if the image does not exist.
    pub async fn restore_image(&self, repository_id: i64, digest: &str) -> Result<Option<ImageStatus>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE manifests SET image_status = 'ACTIVATING'
             WHERE repository_id = $1 AND digest = $2 AND image_status = 'ARCHIVED'",
        )
        .bind(repository_id)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
        let status = image_status(&mut tx, repository_id, digest).await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Finishes every restore under way: `ACTIVATING` images become `ACTIVE`. The images
    /// changed, as `(repository id, digest)`.
    pub async fn activate_images(&self, now: i64) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "UPDATE manifests SET image_status = 'ACTIVE', last_activated_at = $1
             WHERE image_status = 'ACTIVATING' RETURNING repository_id, digest",
        )
        .bind(now)
        .fetch_all(&self.write)
        .await?)
    }

    /// The manifests an index lists.
    pub async fn children(&self, repository_id: i64, digest: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT child_digest FROM manifest_children WHERE repository_id = $1 AND parent_digest = $2
             ORDER BY child_digest",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_all(&self.read)
        .await?)
    }

    /// The indexes that list a manifest.
    pub async fn parents(&self, repository_id: i64, digest: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT parent_digest FROM manifest_children WHERE repository_id = $1 AND child_digest = $2
             ORDER BY parent_digest",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_all(&self.read)
        .await?)
    }

    /// Claims a repository's lifecycle run if its policy was last evaluated before
    /// `due_before` (or never): sets `lastEvaluatedAt` to `now` in the same statement, so
    /// of several nodes only one runs it.
    pub async fn claim_lifecycle_run(&self, repository_id: i64, due_before: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE repositories SET lifecycle_evaluated_at = $3
             WHERE id = $1 AND lifecycle_policy IS NOT NULL
               AND (lifecycle_evaluated_at IS NULL OR lifecycle_evaluated_at <= $2)",
        )
        .bind(repository_id)
        .bind(due_before)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Repositories with a lifecycle policy last evaluated before `due_before` (or never),
    /// in id order after `after`, at most `limit`.
    pub async fn lifecycle_due(&self, due_before: i64, after: i64, limit: i64) -> Result<Vec<(i64, RepositoryKey)>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, account_id, region, name FROM repositories
             WHERE lifecycle_policy IS NOT NULL AND (lifecycle_evaluated_at IS NULL OR lifecycle_evaluated_at <= $1)
               AND id > $2
             ORDER BY id LIMIT $3",
        )
        .bind(due_before)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(id, account, region, name)| (id, RepositoryKey { account, region, name })).collect())
    }
}

async fn image_status(
    tx: &mut Transaction<'static, Any>,
    repository_id: i64,
    digest: &str,
) -> Result<Option<ImageStatus>> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT image_status FROM manifests WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(status.as_deref().and_then(ImageStatus::parse))
}
