//! Accounts and repositories.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{
    DeleteRepositoryOutcome, MetaError, MetaStore, Repository, RepositoryKey, RepositorySettings, Result, TagMutability,
};

const REPOSITORY_COLUMNS: &str = "id, account_id, region, name, created_at, tag_mutability, mutability_exclusions, scan_on_push, encryption_type, kms_key";

fn repository(row: &AnyRow) -> Result<Repository> {
    let mutability: String = row.try_get("tag_mutability")?;
    let exclusions: String = row.try_get("mutability_exclusions")?;
    Ok(Repository {
        id: row.try_get("id")?,
        key: RepositoryKey {
            account: row.try_get("account_id")?,
            region: row.try_get("region")?,
            name: row.try_get("name")?,
        },
        created_at: row.try_get("created_at")?,
        settings: RepositorySettings {
            tag_mutability: TagMutability::parse(&mutability)
                .ok_or_else(|| MetaError::Corrupt(format!("unknown tag mutability '{mutability}'")))?,
            mutability_exclusions: exclusions.lines().map(str::to_owned).collect(),
            scan_on_push: row.try_get::<i64, _>("scan_on_push")? != 0,
            encryption_type: row.try_get("encryption_type")?,
            kms_key: row.try_get("kms_key")?,
        },
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

    /// Creates a repository with its resource tags; `None` when one with that key already
    /// exists.
    pub async fn create_repository(
        &self,
        key: &RepositoryKey,
        settings: &RepositorySettings,
        tags: &[(String, String)],
        now: i64,
    ) -> Result<Option<Repository>> {
        self.create_repository_with_policies(key, settings, tags, &InitialPolicies::default(), now).await
    }

    /// The same, with a repository policy and a lifecycle policy (a creation template's),
    /// all in one transaction: a repository is never seen without the policies it was
    /// created with.
    pub async fn create_repository_with_policies(
        &self,
        key: &RepositoryKey,
        settings: &RepositorySettings,
        tags: &[(String, String)],
        policies: &InitialPolicies<'_>,
        now: i64,
    ) -> Result<Option<Repository>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO repositories (account_id, region, name, created_at, tag_mutability, mutability_exclusions,
                                       scan_on_push, encryption_type, kms_key, lifecycle_policy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (account_id, region, name) DO NOTHING
             RETURNING {REPOSITORY_COLUMNS}"
        ))
        .bind(&key.account)
        .bind(&key.region)
        .bind(&key.name)
        .bind(now)
        .bind(settings.tag_mutability.as_str())
        .bind(settings.mutability_exclusions.join("\n"))
        .bind(i64::from(settings.scan_on_push))
        .bind(&settings.encryption_type)
        .bind(&settings.kms_key)
        .bind(policies.lifecycle)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(repo) = row.as_ref().map(repository).transpose()? else { return Ok(None) };
        put_tags(&mut tx, repo.id, tags).await?;
        if let Some(document) = policies.repository {
            sqlx::query("INSERT INTO repository_policies (repository_id, document) VALUES ($1, $2)")
                .bind(repo.id)
                .bind(document)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(repo))
    }

    /// Changes a repository's tag mutability; `false` when the repository is gone.
    pub async fn set_tag_mutability(&self, id: i64, mode: TagMutability, exclusions: &[String]) -> Result<bool> {
        let done = sqlx::query("UPDATE repositories SET tag_mutability = $2, mutability_exclusions = $3 WHERE id = $1")
            .bind(id)
            .bind(mode.as_str())
            .bind(exclusions.join("\n"))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Repositories of an account and region in name order, after `last`, at most `limit`.
    pub async fn repositories(
        &self,
        account: &str,
        region: &str,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Repository>> {
        let rows = sqlx::query(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE account_id = $1 AND region = $2 AND name > $3
             ORDER BY name LIMIT $4"
        ))
        .bind(account)
        .bind(region)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(repository).collect()
    }

    /// The resource tags of a repository, by key.
    pub async fn repository_tags(&self, id: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT key, value FROM repository_tags WHERE repository_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
    }

    /// Adds or overwrites tags, unless the repository would then hold more than
    /// `max_tags`; returns whether they were written.
    pub async fn tag_repository(&self, id: i64, tags: &[(String, String)], max_tags: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        put_tags(&mut tx, id, tags).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM repository_tags WHERE repository_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if count > max_tags {
            return Ok(false); // dropped: rolled back
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn untag_repository(&self, id: i64, keys: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for key in keys {
            sqlx::query("DELETE FROM repository_tags WHERE repository_id = $1 AND key = $2")
                .bind(id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn repository(&self, key: &RepositoryKey) -> Result<Option<Repository>> {
        let row = sqlx::query(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE account_id = $1 AND region = $2 AND name = $3"
        ))
        .bind(&key.account)
        .bind(&key.region)
        .bind(&key.name)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(repository).transpose()
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

async fn put_tags(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: i64, tags: &[(String, String)]) -> Result<()> {
    for (key, value) in tags {
        sqlx::query(
            "INSERT INTO repository_tags (repository_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (repository_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Policies a repository starts with.
#[derive(Debug, Clone, Copy, Default)]
pub struct InitialPolicies<'a> {
    pub repository: Option<&'a str>,
    pub lifecycle: Option<&'a str>,
}

/// A repository's lifecycle policy as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLifecyclePolicy {
    pub text: String,
    /// When a run last evaluated it (epoch ms), if ever.
    pub evaluated_at: Option<i64>,
}

impl MetaStore {
    pub async fn lifecycle_policy(&self, id: i64) -> Result<Option<StoredLifecyclePolicy>> {
        let row = sqlx::query(
            "SELECT lifecycle_policy, lifecycle_evaluated_at FROM repositories WHERE id = $1 AND lifecycle_policy IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredLifecyclePolicy {
                text: r.try_get("lifecycle_policy")?,
                evaluated_at: r.try_get("lifecycle_evaluated_at")?,
            })
        })
        .transpose()
    }

    /// Sets the policy (a new text has not been evaluated yet); `false` when the
    /// repository is gone.
    pub async fn set_lifecycle_policy(&self, id: i64, text: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE repositories SET lifecycle_policy = $2, lifecycle_evaluated_at = NULL WHERE id = $1")
                .bind(id)
                .bind(text)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the policy; returns what it was.
    pub async fn delete_lifecycle_policy(&self, id: i64) -> Result<Option<StoredLifecyclePolicy>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT lifecycle_policy, lifecycle_evaluated_at FROM repositories WHERE id = $1 AND lifecycle_policy IS NOT NULL{}",
            self.lock(" FOR UPDATE")
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let old = StoredLifecyclePolicy {
            text: row.try_get("lifecycle_policy")?,
            evaluated_at: row.try_get("lifecycle_evaluated_at")?,
        };
        sqlx::query("UPDATE repositories SET lifecycle_policy = NULL, lifecycle_evaluated_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(old))
    }
}
