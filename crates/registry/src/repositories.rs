//! Repositories: lookup (cached), creation, listing and deletion.

use std::sync::Arc;

use wharf_meta::{
    DeleteRepositoryOutcome, InitialPolicies, MetaError, Repository, RepositoryKey, RepositorySettings, TagMutability,
};
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

    /// The repository a push is addressed to, created on the spot from a `CREATE_ON_PUSH`
    /// creation template when one covers the name.
    pub async fn repository_for_push(&self, key: &RepositoryKey) -> Result<Arc<Repository>> {
        match self.repository(key).await {
            Err(RegistryError::RepositoryNotFound { .. }) => {
                let Some(template) = self.push_template(key).await? else { return Err(not_found(key)) };
                let policies = InitialPolicies {
                    repository: template.repository_policy.as_deref(),
                    lifecycle: template.lifecycle_policy.as_deref(),
                };
                let created = self
                    .meta
                    .create_repository_with_policies(
                        key,
                        &template.settings(),
                        &template.resource_tags,
                        &policies,
                        now_ms(),
                    )
                    .await?;
                match created {
                    Some(repo) => {
                        self.repositories.invalidate(key);
                        Ok(Arc::new(repo))
                    }
                    // Created by a concurrent push in the meantime.
                    None => self.meta.repository(key).await?.map(Arc::new).ok_or_else(|| not_found(key)),
                }
            }
            other => other,
        }
    }

    pub async fn create_repository(
        &self,
        key: &RepositoryKey,
        settings: &RepositorySettings,
        tags: &[(String, String)],
    ) -> Result<Repository> {
        validate_repository_name(&key.name).map_err(RegistryError::InvalidName)?;
        validate_mutability(settings.tag_mutability, &settings.mutability_exclusions)?;
        validate_tags(tags)?;
        self.meta.ensure_account(&key.account, now_ms()).await?;
        let repo =
            self.meta.create_repository(key, settings, tags, now_ms()).await?.ok_or_else(|| {
                RegistryError::RepositoryExists { name: key.name.clone(), registry: key.account.clone() }
            })?;
        self.repositories.invalidate(key);
        Ok(repo)
    }

    /// Repositories of an account and region in name order, after `last`.
    pub async fn describe_repositories(
        &self,
        account: &str,
        region: &str,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Repository>> {
        Ok(self.meta.repositories(account, region, last, limit).await?)
    }

    /// ECR's `PutImageTagMutability`: applies to later pushes.
    pub async fn set_tag_mutability(
        &self,
        key: &RepositoryKey,
        mode: TagMutability,
        exclusions: &[String],
    ) -> Result<Arc<Repository>> {
        validate_mutability(mode, exclusions)?;
        let repo = self.repository(key).await?;
        let changed = self.meta.set_tag_mutability(repo.id, mode, exclusions).await?;
        self.repositories.invalidate(key);
        if !changed {
            return Err(not_found(key));
        }
        self.repository(key).await
    }

    pub async fn repository_tags(&self, key: &RepositoryKey) -> Result<Vec<(String, String)>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.repository_tags(repo.id).await?)
    }

    /// Adds or overwrites resource tags (ECR: at most 50 per repository).
    pub async fn tag_repository(&self, key: &RepositoryKey, tags: &[(String, String)]) -> Result<()> {
        validate_tags(tags)?;
        let repo = self.repository(key).await?;
        if !self.meta.tag_repository(repo.id, tags, MAX_TAGS as i64).await? {
            return Err(RegistryError::TooManyTags);
        }
        Ok(())
    }

    pub async fn untag_repository(&self, key: &RepositoryKey, keys: &[String]) -> Result<()> {
        let repo = self.repository(key).await?;
        Ok(self.meta.untag_repository(repo.id, keys).await?)
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

/// ECR's limit on resource tags per repository.
pub const MAX_TAGS: usize = 50;

/// ECR: filters go with the `*_WITH_EXCLUSION` modes only, 1 to 5 of them, each
/// `[0-9a-zA-Z._*-]{1,128}`.
pub(crate) fn validate_mutability(mode: TagMutability, exclusions: &[String]) -> Result<()> {
    let invalid = |m: String| Err(RegistryError::InvalidParameter(m));
    match (mode.has_exclusions(), exclusions.len()) {
        (true, 1..=5) | (false, 0) => {}
        (true, 0) => {
            return invalid(format!(
                "ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as {}",
                mode.as_str()
            ));
        }
        (true, _) => return invalid("Between 1 and 5 image tag mutability exclusion filters are allowed".into()),
        (false, _) => {
            return invalid(format!(
                "ImageTagMutabilityExclusionFilters can only be set when imageTagMutability is set as \
                 IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not {}",
                mode.as_str()
            ));
        }
    }
    for filter in exclusions {
        let ok = (1..=128).contains(&filter.len())
            && filter.bytes().all(|b| b.is_ascii_alphanumeric() || b"._*-".contains(&b));
        if !ok {
            return invalid(format!(
                "Invalid parameter at 'imageTagMutabilityExclusionFilters.filter' failed to satisfy constraint: \
                 'must satisfy regular expression '^[0-9a-zA-Z._*-]{{1,128}}$'' ({filter})"
            ));
        }
    }
    Ok(())
}

/// ECR's tag constraints: keys 1–128 characters, values up to 256, at most 50.
pub(crate) fn validate_tags(tags: &[(String, String)]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(RegistryError::TooManyTags);
    }
    for (key, value) in tags {
        if !(1..=128).contains(&key.chars().count()) || value.chars().count() > 256 || key.starts_with("aws:") {
            return Err(RegistryError::InvalidTagParameter(format!(
                "The tag '{key}' is invalid: keys have 1 to 128 characters and do not start with 'aws:'; values \
                 have at most 256"
            )));
        }
    }
    Ok(())
}

/// Whether a tag of a repository with these settings may not move once it exists.
pub fn tag_is_immutable(settings: &RepositorySettings, tag: &str) -> bool {
    let excluded = || settings.mutability_exclusions.iter().any(|f| wharf_iam::wildcard::matches(f, tag));
    match settings.tag_mutability {
        TagMutability::Mutable => false,
        TagMutability::Immutable => true,
        TagMutability::ImmutableWithExclusion => !excluded(),
        TagMutability::MutableWithExclusion => excluded(),
    }
}
