//! Blobs and their per-repository links.

use crate::gc::unmark;
use crate::{DeleteOutcome, Dialect, MetaStore, Result};

impl MetaStore {
    /// The size of `digest` if it is readable in the repository. A lookup is a use: a
    /// client that saw the blob may be about to push a manifest naming it, so a garbage
    /// collection mark on it is cleared.
    pub async fn blob_in_repository(&self, repository_id: i64, digest: &str) -> Result<Option<i64>> {
        let found: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT b.size, b.gc_marked_at FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&self.read)
        .await?;
        let Some((size, marked)) = found else { return Ok(None) };
        if marked.is_some() {
            self.unmark_blobs(&[digest.to_owned()]).await?;
        }
        Ok(Some(size))
    }

    /// Records a blob whose bytes are already durable in the blob store, links it to the
    /// repository and closes the upload session that produced it, in one transaction. An
    /// upload is a use: it clears a garbage collection mark on the blob.
    pub async fn commit_blob(
        &self,
        repository_id: i64,
        digest: &str,
        size: i64,
        upload_id: Option<&str>,
        now: i64,
    ) -> Result<()> {
        // The hottest write of a push, so it is one round trip on each database: SQLite
        // takes several statements in one text (its statements share the `$n` values);
        // PostgreSQL takes one statement with data-modifying CTEs. Foreign keys are
        // checked at the end of the statement, after the blob row exists.
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "BEGIN IMMEDIATE;
                 INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO UPDATE SET gc_marked_at = NULL WHERE blobs.gc_marked_at IS NOT NULL;
                 INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($4, $1, $3)
                     ON CONFLICT (repository_id, digest) DO NOTHING;
                 DELETE FROM uploads WHERE id = $5;
                 COMMIT"
            }
            Dialect::Postgres => {
                "WITH blob AS (
                     INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO UPDATE SET gc_marked_at = NULL WHERE blobs.gc_marked_at IS NOT NULL
                 ), link AS (
                     INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES ($4, $1, $3)
                     ON CONFLICT (repository_id, digest) DO NOTHING
                 )
                 DELETE FROM uploads WHERE id = $5"
            }
        };
        let mut conn = self.write.acquire().await?;
        let done = sqlx::query(sql)
            .bind(digest)
            .bind(size)
            .bind(now)
            .bind(repository_id)
            .bind(upload_id)
            .execute(&mut *conn)
            .await;
        if done.is_err() && self.dialect == Dialect::Sqlite {
            // A statement failed inside the text: end the transaction before the
            // connection goes back to the pool.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        done?;
        Ok(())
    }

    /// Links a blob readable in `source` into `target`; its size, or `None` when the source
    /// cannot read it. A mount is a use: it clears a garbage collection mark on the blob.
    pub async fn mount_blob(&self, target: i64, source: i64, digest: &str, now: i64) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        // The blob row before the link, the order garbage collection locks them in.
        unmark(&mut tx, &[digest.to_owned()]).await?;
        sqlx::query(
            "INSERT INTO repository_blobs (repository_id, digest, created_at)
             SELECT $1, digest, $2 FROM repository_blobs WHERE repository_id = $3 AND digest = $4
             ON CONFLICT (repository_id, digest) DO NOTHING",
        )
        .bind(target)
        .bind(now)
        .bind(source)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
        let size = sqlx::query_scalar(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .bind(target)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(size)
    }

    /// Removes a blob's link from a repository, unless a manifest there still references it.
    pub async fn unlink_blob(&self, repository_id: i64, digest: &str) -> Result<DeleteOutcome> {
        let mut tx = self.begin_write().await?;
        let referenced =
            sqlx::query("SELECT 1 FROM manifest_blobs WHERE repository_id = $1 AND blob_digest = $2 LIMIT 1")
                .bind(repository_id)
                .bind(digest)
                .fetch_optional(&mut *tx)
                .await?;
        if referenced.is_some() {
            return Ok(DeleteOutcome::Referenced);
        }
        let done = sqlx::query("DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() == 0 { DeleteOutcome::NotFound } else { DeleteOutcome::Deleted })
    }
}
