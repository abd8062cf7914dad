//! Repository and registry policies: ECR's `Set/Get/DeleteRepositoryPolicy` and
//! `Put/Get/DeleteRegistryPolicy`.

use std::sync::Arc;

use wharf_iam::policy::{Policy, PolicyKind};
use wharf_meta::Repository;

use super::{Access, Caller, RequestInfo, StoredPolicy, Target};
use crate::{RegistryError, Result};

/// ECR's limit on repository and registry policy text.
pub const MAX_POLICY_BYTES: usize = 10240;

impl Access {
    pub async fn get_repository_policy(&self, repo: &Repository) -> Result<String> {
        match &self.repository_policy(repo.id).await?.0 {
            Some((text, _)) => Ok(text.clone()),
            None => Err(no_repository_policy(repo)),
        }
    }

    /// Sets a repository's policy. Unless `force`, refuses a policy that would stop the
    /// caller from setting the policy again (ECR's lock-out guard).
    pub async fn set_repository_policy(
        &self,
        caller: &Caller,
        repo: &Repository,
        text: &str,
        force: bool,
        info: &RequestInfo,
    ) -> Result<()> {
        let policy = Arc::new(parse(text, "repository")?);
        if !force && !self.could_set_again(caller, repo, &policy, info).await? {
            return Err(RegistryError::InvalidParameter(
                "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The repository policy would prevent \
                 you from setting another policy in the future; set force to set it anyway'"
                    .into(),
            ));
        }
        self.meta.set_repository_policy(repo.id, text).await?;
        self.repository_policies.insert(repo.id, Arc::new(StoredPolicy(Some((text.to_owned(), policy)))));
        Ok(())
    }

    async fn could_set_again(
        &self,
        caller: &Caller,
        repo: &Repository,
        policy: &Arc<Policy>,
        info: &RequestInfo,
    ) -> Result<bool> {
        let mut policies = vec![policy.clone()];
        if let Some(p) = self.registry_policy(&repo.key.account, &repo.key.region).await?.policy() {
            policies.push(p.clone());
        }
        let arn = wharf_iam::principal::repository_arn(&repo.key.region, &repo.key.account, &repo.key.name);
        let target = Target::Arn { arn: &arn, account: &repo.key.account, policies: &policies };
        match self.authorize(caller, "ecr:SetRepositoryPolicy", target, info).await {
            Ok(()) => Ok(true),
            Err(RegistryError::AccessDenied(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes a repository's policy; returns the deleted text.
    pub async fn delete_repository_policy(&self, repo: &Repository) -> Result<String> {
        let deleted = self.meta.delete_repository_policy(repo.id).await?;
        self.repository_policies.invalidate(&repo.id);
        deleted.ok_or_else(|| no_repository_policy(repo))
    }

    pub async fn get_registry_policy(&self, account: &str, region: &str) -> Result<String> {
        match &self.registry_policy(account, region).await?.0 {
            Some((text, _)) => Ok(text.clone()),
            None => Err(RegistryError::RegistryPolicyNotFound { registry: account.to_owned() }),
        }
    }

    pub async fn put_registry_policy(&self, account: &str, region: &str, text: &str) -> Result<()> {
        let policy = Arc::new(parse(text, "registry")?);
        self.meta.put_registry_policy(account, region, text).await?;
        let key = (account.to_owned(), region.to_owned());
        self.registry_policies.insert(key, Arc::new(StoredPolicy(Some((text.to_owned(), policy)))));
        Ok(())
    }

    /// Deletes a registry's policy; returns the deleted text.
    pub async fn delete_registry_policy(&self, account: &str, region: &str) -> Result<String> {
        let deleted = self.meta.delete_registry_policy(account, region).await?;
        self.registry_policies.invalidate(&(account.to_owned(), region.to_owned()));
        deleted.ok_or_else(|| RegistryError::RegistryPolicyNotFound { registry: account.to_owned() })
    }
}

/// A resource policy as ECR validates it: size, then grammar.
fn parse(text: &str, what: &str) -> Result<Policy> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Member must have length less than or \
             equal to {MAX_POLICY_BYTES}'"
        )));
    }
    Policy::parse(text, PolicyKind::Resource).map_err(|e| {
        RegistryError::InvalidParameter(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid {what} policy provided: {e}'"
        ))
    })
}

fn no_repository_policy(repo: &Repository) -> RegistryError {
    RegistryError::RepositoryPolicyNotFound { name: repo.key.name.clone(), registry: repo.key.account.clone() }
}
