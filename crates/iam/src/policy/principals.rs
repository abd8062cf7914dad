//! The `Principal` / `NotPrincipal` element of resource and trust policies: whom a
//! statement is about, and how far a match reaches.

use serde_json::Value;

use super::PolicyError;
use super::document::{Listed, string_list};
use crate::{Principal, PrincipalKind};

/// One entry of a `Principal` element, parsed so that matching a caller compares fields
/// instead of formatting the caller's ARN.
#[derive(Debug, Clone)]
pub(super) enum Grantee {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// A 12-digit account id or `arn:aws:iam::<account>:root`.
    Account(String),
    User {
        account: String,
        name: String,
    },
    /// Any session of the role.
    Role {
        account: String,
        name: String,
    },
    Session {
        account: String,
        role: String,
        session: String,
    },
    /// `Service`, `Federated` and `CanonicalUser` principals are valid in a document but are
    /// never the caller of this registry.
    Foreign,
}

/// How a statement's principal relates to the caller. Ordered weakest first so the best of
/// several entries is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Reach {
    NoMatch,
    /// The caller's account is named but not the caller: the account delegates, so its own
    /// identity policies must allow too.
    Account,
    /// The caller itself (or everyone) is named.
    Direct,
}

/// Parses a `Principal` element's value; `at` names it for error messages.
pub(super) fn parse(value: &Value, at: &str) -> Result<Vec<Grantee>, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![Grantee::Everyone]),
        Value::Object(map) if !map.is_empty() => {
            let mut grantees = Vec::new();
            for (kind, values) in map {
                let is_aws = match kind.as_str() {
                    "AWS" => true,
                    "Service" | "Federated" | "CanonicalUser" => false,
                    _ => {
                        return Err(PolicyError(format!(
                            "{at}: unknown principal type {kind:?} (expected AWS, Service, Federated or CanonicalUser)"
                        )));
                    }
                };
                let at = format!("{at}.{kind}");
                for value in string_list(values, &at)? {
                    grantees.push(if is_aws { aws(value, &at)? } else { Grantee::Foreign });
                }
            }
            Ok(grantees)
        }
        _ => Err(PolicyError(format!("{at}: must be \"*\" or an object such as {{\"AWS\": \"<account or ARN>\"}}"))),
    }
}

fn aws(value: &str, at: &str) -> Result<Grantee, PolicyError> {
    let invalid = || {
        PolicyError(format!(
            "{at}: invalid AWS principal {value:?} (expected \"*\", an account id, or a root, user, role or assumed-role ARN)"
        ))
    };
    if value == "*" {
        return Ok(Grantee::Everyone);
    }
    if is_account_id(value) {
        return Ok(Grantee::Account(value.to_owned()));
    }
    let (service, account, resource) = split_arn(value).ok_or_else(invalid)?;
    // IAM refuses wildcards inside principal ARNs; only a lone "*" means everyone.
    if !is_account_id(account) || resource.contains(['*', '?']) {
        return Err(invalid());
    }
    let account = account.to_owned();
    let grantee = match (service, resource.split_once('/')) {
        ("iam", None) if resource == "root" => Grantee::Account(account),
        ("iam", Some(("user", name))) if !name.is_empty() => Grantee::User { account, name: name.to_owned() },
        ("iam", Some(("role", name))) if !name.is_empty() => Grantee::Role { account, name: name.to_owned() },
        ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
            Some((role, session)) if !role.is_empty() && !session.is_empty() && !session.contains('/') => {
                Grantee::Session { account, role: role.to_owned(), session: session.to_owned() }
            }
            _ => return Err(invalid()),
        },
        _ => return Err(invalid()),
    };
    Ok(grantee)
}

/// `arn:aws:<service>::<account>:<resource>` (IAM and STS ARNs have no region) → its parts.
fn split_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:")?;
    let (service, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix(':')?;
    let (account, resource) = rest.split_once(':')?;
    Some((service, account, resource))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// How far a `Principal` (or, negated, `NotPrincipal`) element reaches `caller`.
pub(super) fn reach(principals: &Listed<Grantee>, caller: &Principal) -> Reach {
    let best = principals.items.iter().map(|g| g.reach(caller)).max().unwrap_or(Reach::NoMatch);
    match (principals.negated, best) {
        (false, best) => best,
        (true, Reach::NoMatch) => Reach::Direct,
        (true, _) => Reach::NoMatch,
    }
}

impl Grantee {
    fn reach(&self, caller: &Principal) -> Reach {
        let direct = |named: bool| if named { Reach::Direct } else { Reach::NoMatch };
        match (self, &caller.kind) {
            (Grantee::Everyone, _) => Reach::Direct,
            (Grantee::Account(account), _) if *account != caller.account => Reach::NoMatch,
            (Grantee::Account(_), PrincipalKind::Root) => Reach::Direct,
            (Grantee::Account(_), _) => Reach::Account,
            (Grantee::User { account, name }, PrincipalKind::User { name: caller_name }) => {
                direct(*account == caller.account && name == caller_name)
            }
            (Grantee::Role { account, name }, PrincipalKind::AssumedRole { role, .. }) => {
                direct(*account == caller.account && name == role)
            }
            (Grantee::Session { account, role, session }, PrincipalKind::AssumedRole { role: r, session: s }) => {
                direct(*account == caller.account && role == r && session == s)
            }
            _ => Reach::NoMatch,
        }
    }
}
