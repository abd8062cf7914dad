//! Upload sessions. Their bytes live in the blob store; the row says which repository a
//! session belongs to, so any node (and a restarted one) can continue it.

use sqlx::Row;

use crate::{MetaStore, Result, Upload};

impl MetaStore {
    pub async fn create_upload(&self, id: &str, repository_id: i64, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO uploads (id, repository_id, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(repository_id)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<Upload>> {
        let row = sqlx::query("SELECT id, repository_id, created_at FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(Upload {
                id: r.try_get("id")?,
                repository_id: r.try_get("repository_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Forgets a session; whether it existed.
    pub async fn delete_upload(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() > 0)
    }
}
