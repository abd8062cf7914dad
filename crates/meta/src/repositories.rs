//! Accounts and repositories.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{DeleteRepositoryOutcome, MetaStore, Repository, RepositoryKey, Result};

fn repository(row: &AnyRow) -> Result<Repository> {
    Ok(Repository {
        id: row.try_get("id")?,
        key: RepositoryKey {
            account: row.try_get("account_id")?,
            region: row.try_get("region")?,
            name: row.try_get("name")?,
        },
        created_at: row.try_get("created_at")?,
    })
}

impl MetaStore {
    /// Creates the account if it does not exist yet; `true` when this call created it.
    pub async fn ensure_account(&self, account: &str, now: i64) -> Result<bool> {
        let done = sqlx::query("INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(account)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates a repository; `None` when one with that key already exists.
    pub async fn create_repository(&self, key: &RepositoryKey, now: i64) -> Result<Option<Repository>> {
        let row = sqlx::query(
            "INSERT INTO repositories (account_id, region, name, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, region, name) DO NOTHING
             RETURNING id, account_id, region, name, created_at",
        )
        .bind(&key.account)
        .bind(&key.region)
        .bind(&key.name)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(repository).transpose()
    }

    pub async fn repository(&self, key: &RepositoryKey) -> Result<Option<Repository>> {
        let row = sqlx::query(
            "SELECT id, account_id, region, name, created_at FROM repositories
             WHERE account_id = $1 AND region = $2 AND name = $3",
        )
        .bind(&key.account)
        .bind(&key.region)
        .bind(&key.name)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(repository).transpose()
    }

    /// Repository names of an account and region in byte order, after `last`, at most `limit`.
    pub async fn list_repositories(
        &self,
        account: &str,
        region: &str,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT name FROM repositories WHERE account_id = $1 AND region = $2 AND name > $3
             ORDER BY name LIMIT $4",
        )
        .bind(account)
        .bind(region)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    /// Deletes a repository with everything in it; without `force` only an empty one.
    pub async fn delete_repository(&self, key: &RepositoryKey, force: bool) -> Result<DeleteRepositoryOutcome> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM repositories WHERE account_id = $1 AND region = $2 AND name = $3")
                .bind(&key.account)
                .bind(&key.region)
                .bind(&key.name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else { return Ok(DeleteRepositoryOutcome::NotFound) };
        if !force {
            let any = sqlx::query("SELECT 1 FROM manifests WHERE repository_id = $1 LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if any.is_some() {
                return Ok(DeleteRepositoryOutcome::NotEmpty);
            }
        }
        // Children first: the cascade order inside one DELETE is not something to rely on
        // for the restricting references between manifests and blob links.
        for table in [
            "repository_policies",
            "tags",
            "manifest_children",
            "manifest_blobs",
            "manifests",
            "repository_blobs",
            "uploads",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE repository_id = $1")).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM repositories WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(DeleteRepositoryOutcome::Deleted)
    }
}
