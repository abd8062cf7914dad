//! Lifecycle policy previews, what the lifecycle evaluator needs to know of images, and
//! what lifecycle execution changes: storage classes (archive, restore) and the manifests
//! an expired image takes with it.

use std::collections::HashSet;

use sqlx::{Any, Row, Transaction};

use crate::{ImageFilter, ImageRecord, ImageStatus, MetaStore, RepositoryKey, Result};

/// A preview as stored: the policy it ran, its status and its results (JSON, written by
/// the domain when it completes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreview {
    pub policy_text: String,
    pub status: String,
    pub results: String,
}

/// How long a preview may stay `IN_PROGRESS` before a new one may replace it (a process
/// that died mid-preview must not block previews for ever).
const STALE_PREVIEW_MS: i64 = 10 * 60 * 1000;

impl MetaStore {
    /// Starts a preview unless one is in progress; `false` when one is.
    pub async fn start_preview(&self, repository_id: i64, policy_text: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO lifecycle_previews (repository_id, policy_text, status, results, started_at)
             VALUES ($1, $2, 'IN_PROGRESS', '[]', $3)
             ON CONFLICT (repository_id) DO UPDATE
                 SET policy_text = excluded.policy_text, status = 'IN_PROGRESS', results = '[]',
                     started_at = excluded.started_at
                 WHERE lifecycle_previews.status <> 'IN_PROGRESS' OR lifecycle_previews.started_at < $4",
        )
        .bind(repository_id)
        .bind(policy_text)
        .bind(now)
        .bind(now - STALE_PREVIEW_MS)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn finish_preview(&self, repository_id: i64, status: &str, results: &str) -> Result<()> {
        sqlx::query("UPDATE lifecycle_previews SET status = $2, results = $3 WHERE repository_id = $1")
            .bind(repository_id)
            .bind(status)
            .bind(results)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn preview(&self, repository_id: i64) -> Result<Option<StoredPreview>> {
        let row = sqlx::query("SELECT policy_text, status, results FROM lifecycle_previews WHERE repository_id = $1")
            .bind(repository_id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(StoredPreview {
                policy_text: r.try_get("policy_text")?,
                status: r.try_get("status")?,
                results: r.try_get("results")?,
            })
        })
        .transpose()
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
