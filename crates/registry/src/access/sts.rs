//! STS: role sessions (`AssumeRole`). Temporary credentials are stateless: the session
//! token carries the secret, sealed under the master key, so any node can check them and
//! nothing is stored per session.

use std::sync::Arc;

use wharf_iam::Principal;
use wharf_iam::policy::{Policy, PolicyKind};
use wharf_iam::principal::role_arn;
use wharf_iam::secret::{new_access_key_id, new_secret_access_key};
use wharf_iam::token::SessionClaims;

use super::{Access, Caller, RequestInfo, Target, now_secs};
use crate::{RegistryError, Result};

/// What `AssumeRole` hands out.
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: i64,
    pub principal: Principal,
    /// `<role id>:<session name>`, AWS's `AssumedRoleId`.
    pub assumed_role_id: String,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Access {
    /// Starts a session of the role `role_arn` for `caller`: the caller's identity policies
    /// must allow `sts:AssumeRole` on the role and the role's trust policy must trust the
    /// caller (both sides across accounts, either within one).
    pub async fn assume_role(
        &self,
        caller: &Caller,
        role_arn_text: &str,
        session_name: &str,
        duration_secs: Option<i64>,
        info: &RequestInfo,
    ) -> Result<SessionCredentials> {
        validate_session_name(session_name)?;
        let (account, name) = parse_role_arn(role_arn_text)?;
        let role = self.meta.role(account, name).await?;
        let Some(role) = role else {
            // Same answer as a trust policy that refuses: do not reveal which roles exist.
            return Err(not_authorized(caller, role_arn_text));
        };
        let duration = duration_secs.unwrap_or(3600);
        if !(900..=role.max_session_secs).contains(&duration) {
            return Err(RegistryError::InvalidParameter(format!(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role ({} s) or is below 900.",
                role.max_session_secs
            )));
        }
        let trust =
            Policy::parse(&role.trust_policy, PolicyKind::Trust).map_err(|_| not_authorized(caller, role_arn_text))?;
        let arn = role_arn(account, name);
        let target = Target::Arn { arn: &arn, account, policies: &[Arc::new(trust)] };
        self.authorize(caller, "sts:AssumeRole", target, info).await.map_err(|_| not_authorized(caller, &arn))?;

        let principal = Principal::assumed_role(account, name, session_name);
        let mut expires_at = now_secs() + duration;
        // A session started from a session cannot outlive it (role chaining).
        if let Some(limit) = caller.expires_at {
            expires_at = expires_at.min(limit);
        }
        let claims = SessionClaims {
            access_key_id: new_access_key_id("ASIA"),
            secret_access_key: new_secret_access_key(),
            principal: principal.clone(),
            source_access_key_id: caller.access_key_id.clone(),
            expires_at,
        };
        Ok(SessionCredentials {
            session_token: claims.seal(&self.sealer),
            access_key_id: claims.access_key_id,
            secret_access_key: claims.secret_access_key,
            expires_at,
            assumed_role_id: format!("{}:{session_name}", role.role_id),
            principal,
        })
    }
}

/// `arn:aws:iam::<account>:role/<name>` → (account, name).
fn parse_role_arn(arn: &str) -> Result<(&str, &str)> {
    let invalid = || RegistryError::InvalidParameter(format!("{arn} is not a valid role ARN"));
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(invalid)?;
    let (account, name) = rest.split_once(":role/").ok_or_else(invalid)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return Err(invalid());
    }
    // Roles may have a path (`role/team/ci`); the name is its last part.
    Ok((account, name.rsplit('/').next().unwrap_or(name)))
}

/// AWS: 2–64 characters of `[\w+=,.@-]`.
fn validate_session_name(name: &str) -> Result<()> {
    let ok =
        (2..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::InvalidParameter(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member \
             must satisfy regular expression pattern: [\\w+=,.@-]*"
        )))
    }
}

fn not_authorized(caller: &Caller, role: &str) -> RegistryError {
    RegistryError::AccessDenied(format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role}",
        caller.principal.arn()
    ))
}
