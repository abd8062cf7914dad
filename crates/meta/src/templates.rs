//! Repository creation templates, stored as documents the domain reads and writes.

use sqlx::Row;

use crate::{MetaStore, Result};

impl MetaStore {
    /// `false` when a template with that prefix exists.
    pub async fn create_template(&self, account: &str, region: &str, prefix: &str, document: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO creation_templates (account_id, region, prefix, document) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, region, prefix) DO NOTHING",
        )
        .bind(account)
        .bind(region)
        .bind(prefix)
        .bind(document)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `false` when there is no template with that prefix.
    pub async fn update_template(&self, account: &str, region: &str, prefix: &str, document: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE creation_templates SET document = $4 WHERE account_id = $1 AND region = $2 AND prefix = $3",
        )
        .bind(account)
        .bind(region)
        .bind(prefix)
        .bind(document)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The deleted template's document, if there was one.
    pub async fn delete_template(&self, account: &str, region: &str, prefix: &str) -> Result<Option<String>> {
        let document = sqlx::query_scalar(
            "DELETE FROM creation_templates WHERE account_id = $1 AND region = $2 AND prefix = $3 RETURNING document",
        )
        .bind(account)
        .bind(region)
        .bind(prefix)
        .fetch_optional(&self.write)
        .await?;
        Ok(document)
    }

    /// `(prefix, document)` in prefix order after `after`, at most `limit`.
    pub async fn templates(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT prefix, document FROM creation_templates WHERE account_id = $1 AND region = $2 AND prefix > $3
             ORDER BY prefix LIMIT $4",
        )
        .bind(account)
        .bind(region)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("prefix")?, r.try_get("document")?))).collect()
    }
}
