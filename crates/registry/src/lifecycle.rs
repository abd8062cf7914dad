//! Lifecycle policies as stored settings of a repository: `PutLifecyclePolicy`,
//! `GetLifecyclePolicy`, `DeleteLifecyclePolicy`. The grammar lives in `wharf_lifecycle`.

use wharf_lifecycle::LifecyclePolicy;
use wharf_meta::{RepositoryKey, StoredLifecyclePolicy};

use crate::{Registry, RegistryError, Result};

/// ECR's bounds on the policy text.
const TEXT_LENGTH: std::ops::RangeInclusive<usize> = 100..=30720;

/// Checks a policy text as `PutLifecyclePolicy` does.
pub fn validate_lifecycle_policy(text: &str) -> Result<()> {
    if !TEXT_LENGTH.contains(&text.len()) {
        return Err(RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length \
             between {} and {}'",
            TEXT_LENGTH.start(),
            TEXT_LENGTH.end()
        )));
    }
    LifecyclePolicy::parse(text).map(|_| ()).map_err(|e| {
        RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation \
             failure: {e}'"
        ))
    })
}

impl Registry {
    pub async fn put_lifecycle_policy(&self, key: &RepositoryKey, text: &str) -> Result<()> {
        validate_lifecycle_policy(text)?;
        let repo = self.repository(key).await?;
        if !self.meta.set_lifecycle_policy(repo.id, text).await? {
            return Err(RegistryError::RepositoryNotFound { name: key.name.clone(), registry: key.account.clone() });
        }
        Ok(())
    }

    pub async fn lifecycle_policy(&self, key: &RepositoryKey) -> Result<StoredLifecyclePolicy> {
        let repo = self.repository(key).await?;
        self.meta.lifecycle_policy(repo.id).await?.ok_or_else(|| no_policy(key))
    }

    pub async fn delete_lifecycle_policy(&self, key: &RepositoryKey) -> Result<StoredLifecyclePolicy> {
        let repo = self.repository(key).await?;
        self.meta.delete_lifecycle_policy(repo.id).await?.ok_or_else(|| no_policy(key))
    }
}

fn no_policy(key: &RepositoryKey) -> RegistryError {
    RegistryError::LifecyclePolicyNotFound { name: key.name.clone(), registry: key.account.clone() }
}
