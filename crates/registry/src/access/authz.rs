//! Authorisation: may this caller perform this action on this resource? Identity
//! policies, the repository policy and the registry policy together decide (see
//! `wharf_iam::policy::evaluate` for the rules).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use wharf_iam::policy::{Context, Decision, Policy, Request, evaluate};
use wharf_iam::principal::repository_arn;
use wharf_meta::{MetaError, RepositoryKey};

use super::{Access, Caller, StoredPolicy};
use crate::{RegistryError, Result};

/// What an action is performed on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A repository; `id` when it exists (then its repository policy applies). The
    /// registry policy of its account and region applies either way.
    Repository { key: &'a RepositoryKey, id: Option<i64> },
    /// An action without a resource (`Resource: "*"`), in an account.
    Account(&'a str),
    /// Another ARN with the resource policies that guard it (a role and its trust policy).
    Arn { arn: &'a str, account: &'a str, policies: &'a [Arc<Policy>] },
}

/// Facts about the request that conditions may test.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestInfo {
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
}

impl Access {
    /// `Ok` when `caller` may perform `action` on `target`; `AccessDenied` otherwise.
    pub async fn authorize(&self, caller: &Caller, action: &str, target: Target<'_>, info: &RequestInfo) -> Result<()> {
        self.authorize_any(caller, &[action], target, info).await
    }

    /// `Ok` when `caller` may perform at least one of `actions` (a registry request that
    /// stands for several ECR operations, such as a blob HEAD).
    pub async fn authorize_any(
        &self,
        caller: &Caller,
        actions: &[&str],
        target: Target<'_>,
        info: &RequestInfo,
    ) -> Result<()> {
        let identity =
            self.identity_policies(&caller.principal).await?.ok_or_else(|| denied(caller, actions[0], "*"))?;
        let resource = self.resource_policies(target).await?;
        let context = Context {
            source_ip: info.source_ip,
            current_time: time::OffsetDateTime::now_utc(),
            secure_transport: info.secure_transport,
            resource_tags: self.resource_tags(target, &identity.0, &resource).await?,
        };
        let mut decision = Decision::ImplicitDeny;
        for action in actions {
            let policies = resource.for_action(self, action).await?;
            let request = Request {
                principal: &caller.principal,
                action,
                resource: &resource.arn,
                resource_account: resource.account,
                context: &context,
            };
            decision = evaluate(&request, &identity.0, &policies);
            if decision == Decision::Allow {
                return Ok(());
            }
        }
        let mut err = denied(caller, actions[0], &resource.arn);
        if decision == Decision::ExplicitDeny
            && let RegistryError::AccessDenied(message) = &mut err
        {
            message.push_str(" with an explicit deny");
        }
        Err(err)
    }

    /// The repository's tags, for `aws:ResourceTag` conditions. Read (uncached, so always
    /// current) only when a policy that takes part has such a condition, which keeps them
    /// off the hot path of every other request.
    async fn resource_tags(
        &self,
        target: Target<'_>,
        identity: &[Arc<Policy>],
        resource: &ResourcePolicies<'_>,
    ) -> Result<BTreeMap<String, String>> {
        let Target::Repository { id: Some(id), .. } = target else { return Ok(BTreeMap::new()) };
        let policies = identity.iter().chain(&resource.policies).chain(resource.registry.iter().map(|(p, _)| p));
        if !policies.into_iter().any(|p| p.reads_resource_tags()) {
            return Ok(BTreeMap::new());
        }
        Ok(self.meta.repository_tags(id).await?.into_iter().collect())
    }

    /// The resource's ARN, owning account and resource policies.
    async fn resource_policies<'t>(&self, target: Target<'t>) -> Result<ResourcePolicies<'t>> {
        Ok(match target {
            Target::Repository { key, id } => {
                let mut policies = Vec::with_capacity(2);
                if let Some(id) = id
                    && let Some(p) = self.repository_policy(id).await?.policy()
                {
                    policies.push(p.clone());
                }
                let registry = self.registry_policy(&key.account, &key.region).await?.policy().cloned();
                ResourcePolicies {
                    arn: repository_arn(&key.region, &key.account, &key.name),
                    account: key.account.as_str(),
                    policies,
                    registry: registry.map(|p| (p, key.region.as_str())),
                }
            }
            Target::Account(account) => {
                ResourcePolicies { arn: "*".to_owned(), account, policies: Vec::new(), registry: None }
            }
            Target::Arn { arn, account, policies } => {
                ResourcePolicies { arn: arn.to_owned(), account, policies: policies.to_vec(), registry: None }
            }
        })
    }

    pub(super) async fn repository_policy(&self, id: i64) -> Result<Arc<StoredPolicy>, MetaError> {
        let found = self
            .repository_policies
            .get_or_load(&id, async {
                Ok::<_, MetaError>(Some(Arc::new(StoredPolicy::load(self.meta.repository_policy(id).await?))))
            })
            .await?;
        Ok(found.unwrap_or_else(|| Arc::new(StoredPolicy(None))))
    }

    pub(super) async fn registry_policy(&self, account: &str, region: &str) -> Result<Arc<StoredPolicy>, MetaError> {
        let key = (account.to_owned(), region.to_owned());
        let found = self
            .registry_policies
            .get_or_load(&key, async {
                Ok::<_, MetaError>(Some(Arc::new(StoredPolicy::load(
                    self.meta.registry_policy(account, region).await?,
                ))))
            })
            .await?;
        Ok(found.unwrap_or_else(|| Arc::new(StoredPolicy(None))))
    }
}

/// What guards a resource: its own policies, and its registry's policy (with the region),
/// which the registry policy scope may leave out of some actions.
struct ResourcePolicies<'t> {
    arn: String,
    account: &'t str,
    policies: Vec<Arc<Policy>>,
    registry: Option<(Arc<Policy>, &'t str)>,
}

impl ResourcePolicies<'_> {
    async fn for_action(&self, access: &Access, action: &str) -> Result<Vec<Arc<Policy>>> {
        let mut policies = self.policies.clone();
        if let Some((registry, region)) = &self.registry
            && access.registry_policy_applies(self.account, region, action).await?
        {
            policies.push(registry.clone());
        }
        Ok(policies)
    }
}

/// AWS's wording, so that scripts matching on it keep working.
fn denied(caller: &Caller, action: &str, resource: &str) -> RegistryError {
    RegistryError::AccessDenied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource}",
        caller.principal.arn()
    ))
}
