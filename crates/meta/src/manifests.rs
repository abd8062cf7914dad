//! Manifests, tags and the references between them.
use bytes::Bytes;

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{DeleteOutcome, ManifestRecord, MetaStore, NewManifest, PutManifestOutcome, Result, placeholders};

/// Digests checked per statement.
const CHECK_BATCH: usize = 500;

const MANIFEST_COLUMNS: &str =
    "m.digest, m.media_type, m.artifact_type, m.size, m.subject_digest, m.config_digest, m.content, m.pushed_at";

fn manifest(row: &AnyRow) -> Result<ManifestRecord> {
    Ok(ManifestRecord {
        digest: row.try_get("digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        size: row.try_get("size")?,
        subject_digest: row.try_get("subject_digest")?,
        config_digest: row.try_get("config_digest")?,
        content: Bytes::from(row.try_get::<Vec<u8>, _>("content")?),
        pushed_at: row.try_get("pushed_at")?,
    })
}

/// Which of `wanted` are absent from `table.column` in the repository. The rows found are
/// locked against deletion until the transaction ends (`lock`), so what was checked is
/// still there when the references to it are written.
async fn missing(
    tx: &mut Transaction<'static, Any>,
    lock: &str,
    table: &str,
    column: &str,
    repository_id: i64,
    wanted: &[String],
) -> Result<Vec<String>> {
    let mut present = HashSet::new();
    // Databases cap the number of bound values per statement (SQLite: 32,766), and a
    // 4 MiB manifest can name more blobs than that.
    for batch in wanted.chunks(CHECK_BATCH) {
        let sql = format!(
            "SELECT {column} FROM {table} WHERE repository_id = $1 AND {column} IN ({}){lock}",
            placeholders(2, batch.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(repository_id);
        for w in batch {
            query = query.bind(w);
        }
        present.extend(query.fetch_all(&mut **tx).await?);
    }
    let mut absent: Vec<String> = wanted.iter().filter(|w| !present.contains(*w)).cloned().collect();
    absent.dedup();
    Ok(absent)
}

impl MetaStore {
    /// Stores a manifest with its references and moves `tag` to it, atomically, after
    /// checking inside the transaction that everything it references is in the repository.
    pub async fn put_manifest(&self, repository_id: i64, new: &NewManifest<'_>) -> Result<PutManifestOutcome> {
        let mut tx = self.begin_write().await?;
        // What is checked here stays until the references to it are written.
        let lock = self.lock(" FOR KEY SHARE");
        let absent = missing(&mut tx, lock, "repository_blobs", "digest", repository_id, new.blobs).await?;
        if !absent.is_empty() {
            return Ok(PutManifestOutcome::MissingBlobs(absent));
        }
        let absent = missing(&mut tx, lock, "manifests", "digest", repository_id, new.children).await?;
        if !absent.is_empty() {
            return Ok(PutManifestOutcome::MissingChildren(absent));
        }
        let m = new.record;
        // On a conflict the no-op update still locks the existing row, so a concurrent
        // delete of this manifest waits for this transaction instead of removing the row
        // under the tag and references written below.
        sqlx::query(
            "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, size, subject_digest,
                                    config_digest, content, pushed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (repository_id, digest) DO UPDATE SET digest = excluded.digest",
        )
        .bind(repository_id)
        .bind(&m.digest)
        .bind(&m.media_type)
        .bind(&m.artifact_type)
        .bind(m.size)
        .bind(&m.subject_digest)
        .bind(&m.config_digest)
        .bind(&m.content[..])
        .bind(m.pushed_at)
        .execute(&mut *tx)
        .await?;
        for (table, columns, targets) in [
            ("manifest_blobs", "manifest_digest, blob_digest", new.blobs),
            ("manifest_children", "parent_digest, child_digest", new.children),
        ] {
            let sql =
                format!("INSERT INTO {table} (repository_id, {columns}) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
            for target in targets {
                sqlx::query(&sql).bind(repository_id).bind(&m.digest).bind(target).execute(&mut *tx).await?;
            }
        }
        if let Some(tag) = new.tag {
            let on_conflict = if new.tag_immutable {
                "DO NOTHING"
            } else {
                "DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at"
            };
            let done = sqlx::query(&format!(
                "INSERT INTO tags (repository_id, name, digest, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository_id, name) {on_conflict}"
            ))
            .bind(repository_id)
            .bind(tag)
            .bind(&m.digest)
            .bind(m.pushed_at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(PutManifestOutcome::TagImmutable); // rolled back: nothing stored
            }
        }
        tx.commit().await?;
        Ok(PutManifestOutcome::Stored)
    }

    pub async fn manifest_by_digest(&self, repository_id: i64, digest: &str) -> Result<Option<ManifestRecord>> {
        let sql = format!("SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository_id = $1 AND m.digest = $2");
        let row = sqlx::query(&sql).bind(repository_id).bind(digest).fetch_optional(&self.read).await?;
        row.as_ref().map(manifest).transpose()
    }

    pub async fn manifest_by_tag(&self, repository_id: i64, tag: &str) -> Result<Option<ManifestRecord>> {
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
             WHERE t.repository_id = $1 AND t.name = $2"
        );
        let row = sqlx::query(&sql).bind(repository_id).bind(tag).fetch_optional(&self.read).await?;
        row.as_ref().map(manifest).transpose()
    }

    /// Deletes a manifest and every tag on it, unless an index in the repository lists it.
    /// Also returns the tags that pointed at it.
    pub async fn delete_manifest(&self, repository_id: i64, digest: &str) -> Result<(DeleteOutcome, Vec<String>)> {
        let mut tx = self.begin_write().await?;
        // Lock order: the manifest row before its tags, as in `put_manifest`, so a delete
        // racing a push of the same manifest waits instead of deadlocking.
        let sql =
            format!("SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2{}", self.lock(" FOR UPDATE"));
        if sqlx::query(&sql).bind(repository_id).bind(digest).fetch_optional(&mut *tx).await?.is_none() {
            return Ok((DeleteOutcome::NotFound, Vec::new()));
        }
        let referenced =
            sqlx::query("SELECT 1 FROM manifest_children WHERE repository_id = $1 AND child_digest = $2 LIMIT 1")
                .bind(repository_id)
                .bind(digest)
                .fetch_optional(&mut *tx)
                .await?;
        if referenced.is_some() {
            return Ok((DeleteOutcome::Referenced, Vec::new()));
        }
        let tags: Vec<String> =
            sqlx::query_scalar("DELETE FROM tags WHERE repository_id = $1 AND digest = $2 RETURNING name")
                .bind(repository_id)
                .bind(digest)
                .fetch_all(&mut *tx)
                .await?;
        for sql in [
            "DELETE FROM manifest_blobs WHERE repository_id = $1 AND manifest_digest = $2",
            "DELETE FROM manifest_children WHERE repository_id = $1 AND parent_digest = $2",
            "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2",
        ] {
            sqlx::query(sql).bind(repository_id).bind(digest).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok((DeleteOutcome::Deleted, tags))
    }

    /// Removes one tag; the manifest stays. Whether the tag existed.
    pub async fn delete_tag(&self, repository_id: i64, tag: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM tags WHERE repository_id = $1 AND name = $2")
            .bind(repository_id)
            .bind(tag)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Tag names in byte order after `last`, at most `limit`.
    pub async fn list_tags(&self, repository_id: i64, last: Option<&str>, limit: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM tags WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3")
            .bind(repository_id)
            .bind(last.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.read)
            .await?)
    }

    /// Manifests whose `subject` is `digest`, optionally of one artifact type, in digest
    /// order after `after`, at most `limit`.
    pub async fn referrers(
        &self,
        repository_id: i64,
        digest: &str,
        artifact_type: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ManifestRecord>> {
        let filter = if artifact_type.is_some() { "AND m.artifact_type = $5" } else { "" };
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m
             WHERE m.repository_id = $1 AND m.subject_digest = $2 AND m.digest > $3 {filter}
             ORDER BY m.digest LIMIT $4"
        );
        let mut query = sqlx::query(&sql).bind(repository_id).bind(digest).bind(after.unwrap_or("")).bind(limit);
        if let Some(t) = artifact_type {
            query = query.bind(t);
        }
        query.fetch_all(&self.read).await?.iter().map(manifest).collect()
    }

    /// Records pulls in one transaction: `(repository_id, digest, pulled_at)`.
    pub async fn record_pulls(&self, pulls: &[(i64, String, i64)]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (repository_id, digest, at) in pulls {
            sqlx::query(
                "UPDATE manifests SET last_pulled_at = $3
                 WHERE repository_id = $1 AND digest = $2 AND (last_pulled_at IS NULL OR last_pulled_at < $3)",
            )
            .bind(repository_id)
            .bind(digest)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// When a manifest was last pulled, if ever.
    pub async fn last_pulled_at(&self, repository_id: i64, digest: &str) -> Result<Option<i64>> {
        let value: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_pulled_at FROM manifests WHERE repository_id = $1 AND digest = $2")
                .bind(repository_id)
                .bind(digest)
                .fetch_optional(&self.read)
                .await?;
        Ok(value.flatten())
    }
}
