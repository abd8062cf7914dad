//! What garbage collection needs of the metadata: which blobs no manifest references,
//! their marks, their deletion, and leases that keep exclusive background work to one
//! holder across every node.
//!
//! The protocol (crates/registry/src/gc.rs) is mark, wait, sweep. Every statement that
//! deletes re-checks its conditions itself, so what a reader saw a moment earlier never
//! decides a deletion. On PostgreSQL every writer that touches both a blob row and its links
//! locks the blob row first (uploads, mounts, manifest pushes, the sweep), so none of them
//! can deadlock with another.

use std::collections::HashSet;

use sqlx::{Any, Transaction};

use crate::{MetaStore, Result, placeholders};

/// Digests per statement.
const BATCH: usize = 500;

/// A blob as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcBlob {
    pub digest: String,
    pub size: i64,
}

/// "No manifest in any repository references blob `b`."
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = b.digest)";

/// Clears the marks of `digests` inside a write transaction.
pub(crate) async fn unmark(tx: &mut Transaction<'static, Any>, digests: &[String]) -> Result<()> {
    for batch in digests.chunks(BATCH) {
        let sql = format!(
            "UPDATE blobs SET gc_marked_at = NULL WHERE gc_marked_at IS NOT NULL AND digest IN ({})",
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query(&sql);
        for d in batch {
            query = query.bind(d);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl MetaStore {
    /// Clears garbage collection marks: the blobs are in use again.
    pub async fn unmark_blobs(&self, digests: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        unmark(&mut tx, digests).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Blobs no manifest references and nothing has uploaded or mounted since `idle_before`,
    /// in digest order after `after`, at most `limit`; with `unmarked_only`, those not marked
    /// yet.
    pub async fn unreferenced_blobs(
        &self,
        idle_before: i64,
        unmarked_only: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<GcBlob>> {
        let unmarked = if unmarked_only { "AND b.gc_marked_at IS NULL" } else { "" };
        let sql = format!(
            "SELECT b.digest, b.size FROM blobs b
             WHERE b.digest > $1 AND b.created_at <= $2 {unmarked} AND {UNREFERENCED}
               AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest AND rb.created_at > $2)
             ORDER BY b.digest LIMIT $3"
        );
        let rows: Vec<(String, i64)> =
            sqlx::query_as(&sql).bind(after).bind(idle_before).bind(limit).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|(digest, size)| GcBlob { digest, size }).collect())
    }

    /// Marks those of `digests` that are still unreferenced and unmarked; how many.
    pub async fn mark_blobs(&self, digests: &[String], now: i64) -> Result<u64> {
        let mut marked = 0;
        for batch in digests.chunks(BATCH) {
            let sql = format!(
                "UPDATE blobs SET gc_marked_at = $1
                 WHERE gc_marked_at IS NULL AND digest IN ({}) AND NOT EXISTS
                     (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = blobs.digest)",
                placeholders(2, batch.len())
            );
            let mut query = sqlx::query(&sql).bind(now);
            for d in batch {
                query = query.bind(d);
            }
            marked += query.execute(&self.write).await?.rows_affected();
        }
        Ok(marked)
    }

    /// Clears the marks of blobs a manifest references again (one pushed while the blob was
    /// being marked); how many. Otherwise such a blob, once unreferenced again, could be
    /// swept without waiting for the grace period.
    pub async fn clear_stale_marks(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE blobs SET gc_marked_at = NULL WHERE gc_marked_at IS NOT NULL AND EXISTS
                 (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = blobs.digest)",
        )
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Blobs marked at or before `marked_before`, in digest order after `after`, at most
    /// `limit`.
    pub async fn marked_blobs(&self, marked_before: i64, after: &str, limit: i64) -> Result<Vec<GcBlob>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT digest, size FROM blobs WHERE gc_marked_at <= $1 AND digest > $2 ORDER BY digest LIMIT $3",
        )
        .bind(marked_before)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(digest, size)| GcBlob { digest, size }).collect())
    }

    /// Deletes the rows and links of those of `digests` that are still marked at or before
    /// `marked_before` and unreferenced, in one transaction; the blobs deleted. The caller
    /// deletes their bytes afterwards.
    pub async fn sweep_blobs(&self, digests: &[String], marked_before: i64) -> Result<Vec<GcBlob>> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT b.digest, b.size FROM blobs b
             WHERE b.digest IN ({}) AND b.gc_marked_at <= $1 AND {UNREFERENCED}{}",
            placeholders(2, digests.len()),
            self.lock(" FOR UPDATE OF b")
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(marked_before);
        for d in digests {
            query = query.bind(d);
        }
        let doomed: Vec<GcBlob> =
            query.fetch_all(&mut *tx).await?.into_iter().map(|(digest, size)| GcBlob { digest, size }).collect();
        if doomed.is_empty() {
            return Ok(doomed);
        }
        // A manifest that was about to reference one of these had to clear its mark first,
        // which the row lock above waits for; a foreign key failure here still means one
        // raced in, and the whole batch is left alone.
        for table in ["repository_blobs", "blobs"] {
            let sql = format!("DELETE FROM {table} WHERE digest IN ({})", placeholders(1, doomed.len()));
            let mut query = sqlx::query(&sql);
            for b in &doomed {
                query = query.bind(&b.digest);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(doomed)
    }

    /// Which of `digests` have a blob row.
    pub async fn known_blobs(&self, digests: &[String]) -> Result<HashSet<String>> {
        let mut known = HashSet::new();
        for batch in digests.chunks(BATCH) {
            let sql = format!("SELECT digest FROM blobs WHERE digest IN ({})", placeholders(1, batch.len()));
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for d in batch {
                query = query.bind(d);
            }
            known.extend(query.fetch_all(&self.read).await?);
        }
        Ok(known)
    }

    /// Takes (or renews) lease `name` for `holder` until `now + ttl_ms`, unless another
    /// holder has it and it has not expired; whether `holder` has it now.
    pub async fn take_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
