//! IAM data: users, roles, their inline policies and access keys, the resource policies
//! of repositories and registries, and account settings. Policy documents are stored as
//! the text the caller sent (`GetRepositoryPolicy` answers with it); parsing is the
//! domain's job.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{MetaStore, Result};

/// `identity` values: how IAM names an identity inside its account.
pub const ROOT: &str = "root";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account: String,
    pub name: String,
    pub user_id: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub account: String,
    pub name: String,
    pub role_id: String,
    pub trust_policy: String,
    pub max_session_secs: i64,
    pub created_at: i64,
}

#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub account: String,
    /// `root` or `user/<name>`.
    pub identity: String,
    pub sealed_secret: Vec<u8>,
    pub active: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for AccessKey {
    // The sealed secret is useless without the master key, but it has no place in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("identity", &self.identity)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

fn status(active: bool) -> &'static str {
    if active { "Active" } else { "Inactive" }
}

fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        account: row.try_get("account_id")?,
        name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn role(row: &AnyRow) -> Result<Role> {
    Ok(Role {
        account: row.try_get("account_id")?,
        name: row.try_get("name")?,
        role_id: row.try_get("role_id")?,
        trust_policy: row.try_get("trust_policy")?,
        max_session_secs: row.try_get("max_session_secs")?,
        created_at: row.try_get("created_at")?,
    })
}

fn access_key(row: &AnyRow) -> Result<AccessKey> {
    Ok(AccessKey {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        identity: row.try_get("identity")?,
        sealed_secret: row.try_get("sealed_secret")?,
        active: row.try_get::<String, _>("status")? == "Active",
        created_at: row.try_get("created_at")?,
    })
}

impl MetaStore {
    pub async fn account_exists(&self, account: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM accounts WHERE id = $1").bind(account).fetch_optional(&self.read).await?;
        Ok(row.is_some())
    }

    pub async fn list_accounts(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM accounts ORDER BY id").fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// `false` when a user of that name exists already.
    pub async fn create_user(&self, user: &User) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO iam_users (account_id, name, user_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, name) DO NOTHING",
        )
        .bind(&user.account)
        .bind(&user.name)
        .bind(&user.user_id)
        .bind(user.created_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn user(&self, account: &str, name: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT account_id, name, user_id, created_at FROM iam_users WHERE account_id = $1 AND name = $2",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn list_users(&self, account: &str) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT account_id, name, user_id, created_at FROM iam_users WHERE account_id = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(user).collect()
    }

    /// `false` when a role of that name exists already.
    pub async fn create_role(&self, role: &Role) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO iam_roles (account_id, name, role_id, trust_policy, max_session_secs, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, name) DO NOTHING",
        )
        .bind(&role.account)
        .bind(&role.name)
        .bind(&role.role_id)
        .bind(&role.trust_policy)
        .bind(role.max_session_secs)
        .bind(role.created_at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn role(&self, account: &str, name: &str) -> Result<Option<Role>> {
        let row = sqlx::query(
            "SELECT account_id, name, role_id, trust_policy, max_session_secs, created_at FROM iam_roles
             WHERE account_id = $1 AND name = $2",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(role).transpose()
    }

    pub async fn list_roles(&self, account: &str) -> Result<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT account_id, name, role_id, trust_policy, max_session_secs, created_at FROM iam_roles
             WHERE account_id = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(role).collect()
    }

    /// Deletes a user or role (`identity` = `user/<name>` or `role/<name>`) with its
    /// policies and access keys; `false` when there was none.
    pub async fn delete_identity(&self, account: &str, identity: &str) -> Result<bool> {
        let (table, name) = match identity.split_once('/') {
            Some(("user", name)) => ("iam_users", name),
            Some(("role", name)) => ("iam_roles", name),
            _ => return Ok(false),
        };
        let mut tx = self.begin_write().await?;
        for child in ["iam_policies", "access_keys"] {
            sqlx::query(&format!("DELETE FROM {child} WHERE account_id = $1 AND identity = $2"))
                .bind(account)
                .bind(identity)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1 AND name = $2"))
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether the user or role named by `identity` exists (`root` always does).
    pub async fn identity_exists(&self, account: &str, identity: &str) -> Result<bool> {
        Ok(match identity.split_once('/') {
            None => identity == ROOT && self.account_exists(account).await?,
            Some(("user", name)) => self.user(account, name).await?.is_some(),
            Some(("role", name)) => self.role(account, name).await?.is_some(),
            Some(_) => false,
        })
    }

    /// Adds or replaces an inline policy of a user or role.
    pub async fn put_identity_policy(&self, account: &str, identity: &str, name: &str, document: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO iam_policies (account_id, identity, name, document) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, identity, name) DO UPDATE SET document = excluded.document",
        )
        .bind(account)
        .bind(identity)
        .bind(name)
        .bind(document)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn delete_identity_policy(&self, account: &str, identity: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM iam_policies WHERE account_id = $1 AND identity = $2 AND name = $3")
            .bind(account)
            .bind(identity)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `(name, document)` of every inline policy of a user or role, by name.
    pub async fn identity_policies(&self, account: &str, identity: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT name, document FROM iam_policies WHERE account_id = $1 AND identity = $2 ORDER BY name",
        )
        .bind(account)
        .bind(identity)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("document")?))).collect()
    }

    pub async fn create_access_key(&self, key: &AccessKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_keys (id, account_id, identity, sealed_secret, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.account)
        .bind(&key.identity)
        .bind(&key.sealed_secret)
        .bind(status(key.active))
        .bind(key.created_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn access_key(&self, id: &str) -> Result<Option<AccessKey>> {
        let row = sqlx::query(
            "SELECT id, account_id, identity, sealed_secret, status, created_at FROM access_keys WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(access_key).transpose()
    }

    pub async fn list_access_keys(&self, account: &str, identity: &str) -> Result<Vec<AccessKey>> {
        let rows = sqlx::query(
            "SELECT id, account_id, identity, sealed_secret, status, created_at FROM access_keys
             WHERE account_id = $1 AND identity = $2 ORDER BY created_at, id",
        )
        .bind(account)
        .bind(identity)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(access_key).collect()
    }

    /// `false` when there is no such key.
    pub async fn set_access_key_active(&self, id: &str, active: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE access_keys SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status(active))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_access_key(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM access_keys WHERE id = $1").bind(id).execute(&self.write).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn repository_policy(&self, repository_id: i64) -> Result<Option<String>> {
        let doc = sqlx::query_scalar("SELECT document FROM repository_policies WHERE repository_id = $1")
            .bind(repository_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(doc)
    }

    pub async fn set_repository_policy(&self, repository_id: i64, document: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO repository_policies (repository_id, document) VALUES ($1, $2)
             ON CONFLICT (repository_id) DO UPDATE SET document = excluded.document",
        )
        .bind(repository_id)
        .bind(document)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The deleted document, if there was one.
    pub async fn delete_repository_policy(&self, repository_id: i64) -> Result<Option<String>> {
        let doc = sqlx::query_scalar("DELETE FROM repository_policies WHERE repository_id = $1 RETURNING document")
            .bind(repository_id)
            .fetch_optional(&self.write)
            .await?;
        Ok(doc)
    }

    pub async fn registry_policy(&self, account: &str, region: &str) -> Result<Option<String>> {
        let doc = sqlx::query_scalar("SELECT document FROM registry_policies WHERE account_id = $1 AND region = $2")
            .bind(account)
            .bind(region)
            .fetch_optional(&self.read)
            .await?;
        Ok(doc)
    }

    pub async fn put_registry_policy(&self, account: &str, region: &str, document: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_policies (account_id, region, document) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, region) DO UPDATE SET document = excluded.document",
        )
        .bind(account)
        .bind(region)
        .bind(document)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The deleted document, if there was one.
    pub async fn delete_registry_policy(&self, account: &str, region: &str) -> Result<Option<String>> {
        let doc = sqlx::query_scalar(
            "DELETE FROM registry_policies WHERE account_id = $1 AND region = $2 RETURNING document",
        )
        .bind(account)
        .bind(region)
        .fetch_optional(&self.write)
        .await?;
        Ok(doc)
    }
}

impl MetaStore {
    /// An account setting's stored value in a region, if one was set.
    pub async fn account_setting(&self, account: &str, region: &str, name: &str) -> Result<Option<String>> {
        let value = sqlx::query_scalar(
            "SELECT value FROM account_settings WHERE account_id = $1 AND region = $2 AND name = $3",
        )
        .bind(account)
        .bind(region)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        Ok(value)
    }

    pub async fn put_account_setting(&self, account: &str, region: &str, name: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO account_settings (account_id, region, name, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, region, name) DO UPDATE SET value = excluded.value",
        )
        .bind(account)
        .bind(region)
        .bind(name)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
