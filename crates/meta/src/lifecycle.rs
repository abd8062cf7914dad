//! Lifecycle policy previews, and what the lifecycle evaluator needs to know of images.

use std::collections::HashSet;

use sqlx::Row;

use crate::{ImageRecord, MetaStore, Result, TagStatus};

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
            let page = self.images(repository_id, TagStatus::Any, after.as_deref(), PAGE).await?;
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
