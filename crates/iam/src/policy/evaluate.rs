//! The decision: explicit deny first, then the identity and resource sides combined by
//! the AWS same-account / cross-account rules.

use std::sync::Arc;

use super::document::{Effect, Policy, Statement};
use super::principals::{self, Reach};
use super::{Decision, PolicyKind, Request};
use crate::wildcard;

/// Decides `request` given the caller's identity policies (none for root) and the
/// resource-based policies of the target (repository and registry policies, or a role's
/// trust policy for `sts:AssumeRole`).
pub fn evaluate(request: &Request<'_>, identity: &[Arc<Policy>], resource: &[Arc<Policy>]) -> Decision {
    // Root holds every permission of its account on the identity side.
    let mut identity_allow = request.principal.is_root();
    for statement in identity.iter().flat_map(|p| &p.statements) {
        // Once allowed, only a Deny can still change the answer, so skip the work.
        if identity_allow && statement.effect == Effect::Allow {
            continue;
        }
        if statement.reach(request) != Reach::NoMatch {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => identity_allow = true,
            }
        }
    }

    let (mut resource_direct, mut resource_account) = (false, false);
    for statement in resource.iter().flat_map(|p| &p.statements) {
        if resource_direct && statement.effect == Effect::Allow {
            continue;
        }
        match (statement.effect, statement.reach(request)) {
            (_, Reach::NoMatch) => {}
            // A Deny naming the caller's account covers the caller: no delegation needed.
            (Effect::Deny, _) => return Decision::ExplicitDeny,
            (Effect::Allow, Reach::Direct) => resource_direct = true,
            (Effect::Allow, Reach::Account) => resource_account = true,
        }
    }

    let same_account = request.principal.account == request.resource_account;
    let allowed = if resource.iter().any(|p| p.kind() == PolicyKind::Trust) {
        // A role's trust policy must always admit the caller: unlike other resource
        // policies, identity policies alone never suffice, even within the account.
        (same_account && resource_direct) || (identity_allow && (resource_direct || resource_account))
    } else if same_account {
        // Within an account either side suffices; a grant to the account itself is only a
        // delegation to its identity policies, which `identity_allow` already covers.
        identity_allow || resource_direct
    } else {
        identity_allow && (resource_direct || resource_account)
    };
    if allowed { Decision::Allow } else { Decision::ImplicitDeny }
}

impl Statement {
    /// Whether the statement applies to `request`, and how far its principal reaches the
    /// caller. The cheap string tests run first; conditions last.
    fn reach(&self, request: &Request<'_>) -> Reach {
        if !self.actions.admits(|pattern| wildcard::matches_ignore_case(pattern, request.action)) {
            return Reach::NoMatch;
        }
        if let Some(resources) = &self.resources
            && !resources.admits(|pattern| resource_matches(pattern, request.resource))
        {
            return Reach::NoMatch;
        }
        let reach = match &self.principals {
            None => Reach::Direct,
            Some(principals) => principals::reach(principals, request.principal),
        };
        if reach == Reach::NoMatch || !self.conditions.iter().all(|c| c.holds(request)) {
            return Reach::NoMatch;
        }
        reach
    }
}

/// `"*"` matches every resource, including the `*` of resource-less actions; an ARN
/// pattern never matches that `*`.
fn resource_matches(pattern: &str, resource: &str) -> bool {
    pattern == "*" || (resource != "*" && wildcard::matches(pattern, resource))
}
