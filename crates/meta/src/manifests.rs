//! Manifests, tags and the references between them.
use bytes::Bytes;

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{
    DeleteOutcome, ImageFilter, ImageRecord, ImageStatus, ManifestRecord, MetaError, MetaStore, NewManifest,
    PutManifestOutcome, Result, TagStatus, placeholders,
};

/// Digests checked per statement.
const CHECK_BATCH: usize = 500;

const IMAGE_COLUMNS: &str = "m.digest, m.media_type, m.artifact_type, m.image_size, m.pushed_at, m.last_pulled_at, \
                             m.subject_digest, m.image_status, m.last_archived_at, m.last_activated_at";

fn status(row: &AnyRow) -> Result<ImageStatus> {
    let text: String = row.try_get("image_status")?;
    ImageStatus::parse(&text).ok_or_else(|| MetaError::Corrupt(format!("image status '{text}'")))
}

/// `AND …` limiting a listing to images of one status (`None`: any).
fn status_filter(only: Option<ImageStatus>) -> String {
    only.map(|s| format!("AND m.image_status = '{}'", s.as_str())).unwrap_or_default()
}

fn image(row: &AnyRow) -> Result<ImageRecord> {
    Ok(ImageRecord {
        digest: row.try_get("digest")?,
        media_type: row.try_get("media_type")?,
        artifact_type: row.try_get("artifact_type")?,
        image_size: row.try_get("image_size")?,
        pushed_at: row.try_get("pushed_at")?,
        last_pulled_at: row.try_get("last_pulled_at")?,
        subject_digest: row.try_get("subject_digest")?,
        tags: Vec::new(),
        status: status(row)?,
        last_archived_at: row.try_get("last_archived_at")?,
        last_activated_at: row.try_get("last_activated_at")?,
    })
}

/// The largest image size among an index's children (all present: checked before).
async fn largest_child(tx: &mut Transaction<'static, Any>, repository_id: i64, children: &[String]) -> Result<i64> {
    let mut largest = 0;
    for batch in children.chunks(CHECK_BATCH) {
        let sql = format!(
            "SELECT COALESCE(MAX(image_size), 0) FROM manifests WHERE repository_id = $1 AND digest IN ({})",
            placeholders(2, batch.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(repository_id);
        for d in batch {
            query = query.bind(d);
        }
        largest = largest.max(query.fetch_one(&mut **tx).await?);
    }
    Ok(largest)
}

const MANIFEST_COLUMNS: &str = "m.digest, m.media_type, m.artifact_type, m.size, m.subject_digest, m.config_digest, \
                                m.content, m.pushed_at, m.image_status";

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
        status: status(row)?,
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
        // Naming a blob is a use: its garbage collection mark goes, before its link is
        // checked (blob rows before links, the order garbage collection locks them in).
        crate::gc::unmark(&mut tx, new.blobs).await?;
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
        let image_size = if new.children.is_empty() {
            new.layers_size
        } else {
            largest_child(&mut tx, repository_id, new.children).await?
        };
        // On a conflict the update locks the existing row, so a concurrent delete of this
        // manifest waits for this transaction instead of removing the row under the tag and
        // references written below. Pushing an archived image again restores it (ECR).
        sqlx::query(
            "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, size, subject_digest,
                                    config_digest, content, pushed_at, image_size)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (repository_id, digest) DO UPDATE SET image_status = 'ACTIVE',
                 last_activated_at = CASE WHEN manifests.image_status = 'ACTIVE' THEN manifests.last_activated_at
                                          ELSE excluded.pushed_at END",
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
        .bind(image_size)
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
        artifact_types: &[&str],
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ManifestRecord>> {
        let filter = if artifact_types.is_empty() {
            String::new()
        } else {
            format!("AND m.artifact_type IN ({})", placeholders(5, artifact_types.len()))
        };
        let sql = format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m
             WHERE m.repository_id = $1 AND m.subject_digest = $2 AND m.digest > $3 {filter}
             ORDER BY m.digest LIMIT $4"
        );
        let mut query = sqlx::query(&sql).bind(repository_id).bind(digest).bind(after.unwrap_or("")).bind(limit);
        for t in artifact_types {
            query = query.bind(*t);
        }
        query.fetch_all(&self.read).await?.iter().map(manifest).collect()
    }

    /// Images (one per manifest, with all its tags) in digest order after `after`, at most
    /// `limit`, filtered by whether they are tagged.
    pub async fn images(
        &self,
        repository_id: i64,
        filter: ImageFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ImageRecord>> {
        let only = status_filter(filter.status);
        let filter = match filter.tags {
            TagStatus::Any => "",
            TagStatus::Tagged => {
                "AND EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)"
            }
            TagStatus::Untagged => {
                "AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)"
            }
        };
        let sql = format!(
            "SELECT {IMAGE_COLUMNS} FROM manifests m WHERE m.repository_id = $1 AND m.digest > $2 {filter} {only}
             ORDER BY m.digest LIMIT $3"
        );
        let rows =
            sqlx::query(&sql).bind(repository_id).bind(after.unwrap_or("")).bind(limit).fetch_all(&self.read).await?;
        self.with_tags(repository_id, rows).await
    }

    /// The images with these digests (those that exist), in digest order.
    pub async fn images_by_digest(&self, repository_id: i64, digests: &[String]) -> Result<Vec<ImageRecord>> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {IMAGE_COLUMNS} FROM manifests m WHERE m.repository_id = $1 AND m.digest IN ({}) ORDER BY m.digest",
            placeholders(2, digests.len())
        );
        let mut query = sqlx::query(&sql).bind(repository_id);
        for d in digests {
            query = query.bind(d);
        }
        let rows = query.fetch_all(&self.read).await?;
        self.with_tags(repository_id, rows).await
    }

    async fn with_tags(&self, repository_id: i64, rows: Vec<AnyRow>) -> Result<Vec<ImageRecord>> {
        let mut images = rows.iter().map(image).collect::<Result<Vec<_>>>()?;
        if images.is_empty() {
            return Ok(images);
        }
        let sql = format!(
            "SELECT digest, name FROM tags WHERE repository_id = $1 AND digest IN ({}) ORDER BY name",
            placeholders(2, images.len())
        );
        let mut query = sqlx::query(&sql).bind(repository_id);
        for i in &images {
            query = query.bind(&i.digest);
        }
        for row in query.fetch_all(&self.read).await? {
            let digest: String = row.try_get("digest")?;
            if let Some(i) = images.iter_mut().find(|i| i.digest == digest) {
                i.tags.push(row.try_get("name")?);
            }
        }
        Ok(images)
    }

    /// ECR's `ListImages`: one `(digest, tag)` per tag, and `(digest, None)` for an untagged
    /// manifest, in (digest, tag) order after `after`, at most `limit`.
    pub async fn image_ids(
        &self,
        repository_id: i64,
        filter: ImageFilter,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, Option<String>)>> {
        let only = status_filter(filter.status);
        let filter = match filter.tags {
            TagStatus::Any => "",
            TagStatus::Tagged => "AND t.name IS NOT NULL",
            TagStatus::Untagged => "AND t.name IS NULL",
        };
        let (after_digest, after_tag) = after.unwrap_or(("", ""));
        // An untagged manifest sorts as tag '', before its (absent) tags.
        let sql = format!(
            "SELECT m.digest, t.name FROM manifests m
             LEFT JOIN tags t ON t.repository_id = m.repository_id AND t.digest = m.digest
             WHERE m.repository_id = $1 AND (m.digest > $2 OR (m.digest = $2 AND COALESCE(t.name, '') > $3)) {filter} {only}
             ORDER BY m.digest, COALESCE(t.name, '') LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(repository_id)
            .bind(after_digest)
            .bind(after_tag)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("digest")?, r.try_get("name")?))).collect()
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
