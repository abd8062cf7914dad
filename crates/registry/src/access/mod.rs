//! Who is calling and what they may do: authentication (SigV4 for the API, signed tokens
//! for the registry, presigned download URLs), authorisation (identity, repository and
//! registry policies), the policy operations, STS role sessions, and the management of
//! identities.
//!
//! Everything a request needs is cached (access keys, identity policies, resource
//! policies), so that authorising a registry request costs a token check and a policy
//! evaluation, not a database read. Writes through this process invalidate at once; the
//! cache TTL bounds how long a change made elsewhere takes to apply.

mod admin;
mod authn;
mod authz;
mod downloads;
mod policies;
mod settings;
mod sts;

use std::sync::Arc;
use std::time::Duration;

use wharf_iam::policy::{Policy, PolicyKind};
use wharf_iam::presign::Presigner;
use wharf_iam::secret::{MasterKey, Sealer};
use wharf_iam::token::{TokenClaims, TokenKeys};
use wharf_meta::{AccessKey, MetaStore};

pub use admin::{ADMINISTRATOR_POLICY, NewAccessKey, account_trust_policy};
pub use authn::{AuthError, Caller};
pub use authz::{RequestInfo, Target};
pub use settings::AccountSetting;
pub use sts::SessionCredentials;

use crate::cache::{ReadCache, Weight};

/// How many checked tokens are remembered (about 1 KiB each).
const VERIFIED_TOKENS: usize = 4096;

/// Settings of the access layer.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// How long a registry token (the docker login password) is valid: 12 hours in ECR.
    pub token_lifetime: Duration,
    pub cache_ttl: Duration,
    pub cache_bytes: u64,
}

pub struct Access {
    meta: MetaStore,
    sealer: Sealer,
    tokens: TokenKeys,
    presigner: Presigner,
    config: AccessConfig,
    keys: ReadCache<String, Arc<AccessKey>>,
    /// Registry tokens whose signature has been checked.
    verified_tokens: quick_cache::sync::Cache<String, Arc<TokenClaims>>,
    /// (account, `user/<name>` | `role/<name>`) → that identity's inline policies.
    identities: ReadCache<(String, String), Arc<IdentityPolicies>>,
    repository_policies: ReadCache<i64, Arc<StoredPolicy>>,
    registry_policies: ReadCache<(String, String), Arc<StoredPolicy>>,
    settings: ReadCache<(String, String, AccountSetting), Arc<settings::SettingValue>>,
}

/// The parsed inline policies of an existing user or role.
#[derive(Debug)]
struct IdentityPolicies(Vec<Arc<Policy>>);

/// A resource policy as stored (`None`: there is none), parsed once.
#[derive(Debug)]
struct StoredPolicy(Option<(String, Arc<Policy>)>);

impl Access {
    pub fn new(meta: MetaStore, master: &MasterKey, config: AccessConfig) -> Access {
        let part = (config.cache_bytes / 4).max(1024);
        Access {
            meta,
            sealer: Sealer::new(master),
            tokens: TokenKeys::new(master),
            presigner: Presigner::new(master),
            keys: ReadCache::new(part, config.cache_ttl),
            verified_tokens: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
            identities: ReadCache::new(part, config.cache_ttl),
            repository_policies: ReadCache::new(part, config.cache_ttl),
            registry_policies: ReadCache::new(part, config.cache_ttl),
            settings: ReadCache::new(part, config.cache_ttl),
            config,
        }
    }

    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }
}

impl StoredPolicy {
    fn load(document: Option<String>) -> StoredPolicy {
        StoredPolicy(document.and_then(|text| match Policy::parse(&text, PolicyKind::Resource) {
            Ok(policy) => Some((text, Arc::new(policy))),
            Err(e) => {
                // Validated when set; a document that no longer parses (written by another
                // version) must not grant anything.
                tracing::warn!(error = %e, "ignoring a stored resource policy that does not parse");
                None
            }
        }))
    }

    fn policy(&self) -> Option<&Arc<Policy>> {
        self.0.as_ref().map(|(_, p)| p)
    }
}

impl Weight for AccessKey {
    fn weight(&self) -> u64 {
        (128 + self.sealed_secret.len()) as u64
    }
}

impl Weight for IdentityPolicies {
    fn weight(&self) -> u64 {
        64 + 1024 * self.0.len() as u64
    }
}

impl Weight for StoredPolicy {
    fn weight(&self) -> u64 {
        64 + self.0.as_ref().map_or(0, |(text, _)| 2 * text.len() as u64)
    }
}

/// Whole seconds since the epoch: the unit of tokens and credentials.
fn now_secs() -> i64 {
    crate::now_ms() / 1000
}
