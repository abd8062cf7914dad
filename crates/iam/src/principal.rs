//! Who is calling: the root of an account, an IAM user, or a session of an assumed role.

use serde::{Deserialize, Serialize};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The 12-digit account the principal belongs to.
    pub account: String,
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalKind {
    /// `arn:aws:iam::<account>:root`: every permission within its own account.
    Root,
    /// `arn:aws:iam::<account>:user/<name>`.
    User { name: String },
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`, acting with the role's policies.
    AssumedRole { role: String, session: String },
}

impl Principal {
    pub fn root(account: &str) -> Principal {
        Principal { account: account.to_owned(), kind: PrincipalKind::Root }
    }

    pub fn user(account: &str, name: &str) -> Principal {
        Principal { account: account.to_owned(), kind: PrincipalKind::User { name: name.to_owned() } }
    }

    pub fn assumed_role(account: &str, role: &str, session: &str) -> Principal {
        Principal {
            account: account.to_owned(),
            kind: PrincipalKind::AssumedRole { role: role.to_owned(), session: session.to_owned() },
        }
    }

    /// The caller's own ARN, as `GetCallerIdentity` reports it.
    pub fn arn(&self) -> String {
        match &self.kind {
            PrincipalKind::Root => format!("arn:aws:iam::{}:root", self.account),
            PrincipalKind::User { name } => format!("arn:aws:iam::{}:user/{name}", self.account),
            PrincipalKind::AssumedRole { role, session } => {
                format!("arn:aws:sts::{}:assumed-role/{role}/{session}", self.account)
            }
        }
    }

    /// The ARN policies name this principal by (`aws:PrincipalArn`): for a role session,
    /// the role's ARN.
    pub fn policy_arn(&self) -> String {
        match &self.kind {
            PrincipalKind::AssumedRole { role, .. } => role_arn(&self.account, role),
            _ => self.arn(),
        }
    }

    /// The IAM identity whose policies apply: a user or a role (none for root).
    pub fn identity_arn(&self) -> Option<String> {
        match &self.kind {
            PrincipalKind::Root => None,
            PrincipalKind::User { .. } | PrincipalKind::AssumedRole { .. } => Some(self.policy_arn()),
        }
    }

    pub fn is_root(&self) -> bool {
        self.kind == PrincipalKind::Root
    }
}

pub fn user_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

pub fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// `arn:aws:ecr:<region>:<account>:repository/<name>`.
pub fn repository_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:ecr:{region}:{account}:repository/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(Principal::root("111111111111").arn(), "arn:aws:iam::111111111111:root");
        let s = Principal::assumed_role("111111111111", "ci", "build-7");
        assert_eq!(s.arn(), "arn:aws:sts::111111111111:assumed-role/ci/build-7");
        assert_eq!(s.policy_arn(), "arn:aws:iam::111111111111:role/ci");
        assert_eq!(
            Principal::user("111111111111", "alice").identity_arn().unwrap(),
            "arn:aws:iam::111111111111:user/alice"
        );
        assert_eq!(
            repository_arn("us-east-1", "111111111111", "a/b"),
            "arn:aws:ecr:us-east-1:111111111111:repository/a/b"
        );
    }
}
