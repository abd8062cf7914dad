//! Repositories: lookup (cached), creation, listing and deletion.

use std::sync::Arc;

use wharf_meta::{DeleteRepositoryOutcome, MetaError, Repository, RepositoryKey};
use wharf_oci::validate_repository_name;

use crate::{Registry, RegistryError, Result, now_ms};

impl Registry {
    /// The repository a read is addressed to.
    pub async fn repository(&self, key: &RepositoryKey) -> Result<Arc<Repository>> {
        validate_repository_name(&key.name).map_err(RegistryError::InvalidName)?;
        let found = self
            .repositories
            .get_or_load(key, async { Ok::<_, RegistryError>(self.meta.repository(key).await?.map(Arc::new)) })
            .await?;
        found.ok_or_else(|| not_found(key))
    }

    /// The repository a push is addressed to, created on the spot when configured so.
    pub async fn repository_for_push(&self, key: &RepositoryKey) -> Result<Arc<Repository>> {
        match self.repository(key).await {
            Err(RegistryError::RepositoryNotFound { .. }) if self.config.auto_create_repositories => {
                match self.meta.create_repository(key, now_ms()).await? {
                    Some(repo) => Ok(Arc::new(repo)),
                    // Created by a concurrent push in the meantime.
                    None => self.meta.repository(key).await?.map(Arc::new).ok_or_else(|| not_found(key)),
                }
            }
            other => other,
        }
    }

    pub async fn create_repository(&self, key: &RepositoryKey) -> Result<Repository> {
        validate_repository_name(&key.name).map_err(RegistryError::InvalidName)?;
        self.meta.ensure_account(&key.account, now_ms()).await?;
        self.meta
            .create_repository(key, now_ms())
            .await?
            .ok_or_else(|| RegistryError::RepositoryExists { name: key.name.clone(), registry: key.account.clone() })
    }

    pub async fn delete_repository(&self, key: &RepositoryKey, force: bool) -> Result<()> {
        let outcome = self.meta.delete_repository(key, force).await?;
        self.repositories.invalidate(key);
        match outcome {
            DeleteRepositoryOutcome::Deleted => Ok(()),
            DeleteRepositoryOutcome::NotFound => Err(not_found(key)),
            DeleteRepositoryOutcome::NotEmpty => {
                Err(RegistryError::RepositoryNotEmpty { name: key.name.clone(), registry: key.account.clone() })
            }
        }
    }

    /// Repository names of an account and region, in byte order, after `last`.
    pub async fn list_repositories(
        &self,
        account: &str,
        region: &str,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        Ok(self.meta.list_repositories(account, region, last, limit).await?)
    }
}

impl Registry {
    /// Maps the failure of a write on a repository found through the cache. If another
    /// process deleted the repository meanwhile (within the cache TTL), the write fails on
    /// its foreign key: the repository is unknown, the server is not broken.
    pub(crate) fn write_failed(&self, key: &RepositoryKey, e: MetaError) -> RegistryError {
        if e.is_missing_reference() {
            self.repositories.invalidate(key);
            not_found(key)
        } else {
            e.into()
        }
    }
}

fn not_found(key: &RepositoryKey) -> RegistryError {
    RegistryError::RepositoryNotFound { name: key.name.clone(), registry: key.account.clone() }
}
