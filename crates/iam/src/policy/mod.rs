//! IAM policy documents: parsed and validated once ([`Policy::parse`]), then evaluated on
//! every request ([`evaluate`]) without touching JSON.
//!
//! The subset of IAM implemented is the one an ECR-compatible registry needs: identity
//! policies of users and roles, repository and registry policies, and role trust policies,
//! with the AWS rules for explicit deny, same-account and cross-account access.

mod condition;
mod document;
mod evaluate;
mod principals;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::Principal;

pub use document::Policy;
pub use evaluate::evaluate;

/// Where a policy is attached, which decides what its statements may and must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user or role: no `Principal`, `Resource` required, any action.
    Identity,
    /// A repository or registry policy: `Principal` required, `ecr:` actions only.
    Resource,
    /// A role's trust policy: `Principal` required, `sts:` actions only.
    Trust,
}

/// Why a policy document was refused; the message names the offending part.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// The values of the request's condition keys that are not derived from the principal.
#[derive(Debug, Clone)]
pub struct Context {
    pub source_ip: Option<IpAddr>,
    pub current_time: OffsetDateTime,
    pub secure_transport: bool,
    /// The tags of the target resource (`aws:ResourceTag/<key>`).
    pub resource_tags: BTreeMap<String, String>,
}

/// One authorisation question: may `principal` perform `action` on `resource`?
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// E.g. `ecr:BatchGetImage`, `sts:AssumeRole`.
    pub action: &'a str,
    /// An ARN, or `*` for actions that take no resource.
    pub resource: &'a str,
    /// The 12-digit account that owns the resource.
    pub resource_account: &'a str,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement applied: nothing can override it.
    ExplicitDeny,
    /// Nothing allowed the request.
    ImplicitDeny,
}
