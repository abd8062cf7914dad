//! Authentication: a SigV4-signed API request or a registry token names a principal.

use std::sync::Arc;

use wharf_iam::Principal;
use wharf_iam::policy::{Policy, PolicyKind};
use wharf_iam::sigv4::{self, HttpRequest, SigError};
use wharf_iam::token::{SessionClaims, TokenClaims, TokenError};
use wharf_meta::{AccessKey, MetaError, ROOT};

use super::{Access, IdentityPolicies, now_secs};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The access key that signed the request (or asked for the token).
    pub access_key_id: String,
    /// When temporary credentials stop working (epoch seconds); `None` for long-term keys.
    pub expires_at: Option<i64>,
}

/// Why a request is not authenticated. Each API words these in its own format.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    /// The signature does not match, is outside the time window, or has the wrong scope.
    #[error("{0}")]
    Signature(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("The security token included in the request is expired")]
    CredentialsExpired,
    #[error("Your authorization token has expired. Reauthenticate and try again.")]
    TokenExpired,
    #[error("Your authorization token is invalid.")]
    TokenInvalid,
    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),
}

impl From<SigError> for AuthError {
    fn from(e: SigError) -> AuthError {
        match e {
            SigError::Missing => AuthError::Missing,
            SigError::Incomplete(m) => AuthError::Incomplete(m),
            e @ (SigError::Expired(_) | SigError::Mismatch | SigError::PayloadHashMismatch) => {
                AuthError::Signature(e.to_string())
            }
        }
    }
}

impl Access {
    /// Checks a SigV4-signed request for `service` in one of `regions`; returns the caller
    /// and the region the request was signed for. `payload_sha256` is the hex SHA-256 of
    /// the body received.
    pub async fn authenticate_request(
        &self,
        request: &HttpRequest<'_>,
        payload_sha256: &str,
        service: &str,
        regions: &[String],
    ) -> Result<(Caller, String), AuthError> {
        let signature = sigv4::parse(request)?;
        let scope = &signature.scope;
        if scope.service != service {
            return Err(AuthError::Signature(format!("Credential should be scoped to correct service: '{service}'. ")));
        }
        if !regions.contains(&scope.region) {
            return Err(AuthError::Signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                scope.region
            )));
        }
        let (caller, secret) = match (scope.access_key_id.starts_with("ASIA"), signature.session_token.as_deref()) {
            (true, token) => self.session_credentials(&scope.access_key_id, token)?,
            (false, None) => self.long_term_credentials(&scope.access_key_id).await?,
            // A session token only ever goes with the temporary key it was issued with.
            (false, Some(_)) => return Err(AuthError::UnknownKey),
        };
        let now = time::OffsetDateTime::now_utc();
        signature.verify(request, payload_sha256, &secret, now)?;
        self.ensure_identity_exists(&caller.principal).await?;
        Ok((caller, signature.scope.region))
    }

    async fn long_term_credentials(&self, access_key_id: &str) -> Result<(Caller, String), AuthError> {
        let key = self.access_key(access_key_id).await?.filter(|k| k.active).ok_or(AuthError::UnknownKey)?;
        let secret = self.sealer.open(&key.sealed_secret, key.id.as_bytes()).map_err(|e| {
            tracing::error!(access_key_id, error = %e, "a stored secret does not open: is the master key right?");
            AuthError::UnknownKey
        })?;
        let secret = String::from_utf8(secret).map_err(|_| AuthError::UnknownKey)?;
        let principal = principal_of(&key).ok_or(AuthError::UnknownKey)?;
        let caller = Caller { principal, access_key_id: key.id.clone(), expires_at: None };
        Ok((caller, secret))
    }

    fn session_credentials(&self, access_key_id: &str, token: Option<&str>) -> Result<(Caller, String), AuthError> {
        let claims = SessionClaims::open(token.ok_or(AuthError::UnknownKey)?, &self.sealer)
            .map_err(|_| AuthError::UnknownKey)?;
        if claims.access_key_id != access_key_id {
            return Err(AuthError::UnknownKey);
        }
        if claims.expires_at <= now_secs() {
            return Err(AuthError::CredentialsExpired);
        }
        let caller = Caller {
            principal: claims.principal,
            access_key_id: claims.access_key_id,
            expires_at: Some(claims.expires_at),
        };
        Ok((caller, claims.secret_access_key))
    }

    /// Issues a registry token for `caller`, valid in `region`; returns it with its expiry
    /// (epoch seconds). Temporary credentials cap the token's life.
    pub fn issue_token(&self, caller: &Caller, region: &str) -> (String, i64) {
        let issued_at = now_secs();
        let mut expires_at = issued_at + self.config.token_lifetime.as_secs() as i64;
        if let Some(limit) = caller.expires_at {
            expires_at = expires_at.min(limit);
        }
        let claims = TokenClaims {
            principal: caller.principal.clone(),
            access_key_id: caller.access_key_id.clone(),
            region: region.to_owned(),
            issued_at,
            expires_at,
        };
        (self.tokens.issue(&claims), expires_at)
    }

    /// Checks the password of a registry request (`AWS:<token>`) addressed to `region`.
    /// A token stops working when its access key is deactivated or deleted or its user or
    /// role is deleted.
    pub async fn authenticate_token(&self, password: &str, region: &str) -> Result<Caller, AuthError> {
        let claims = self.verify_token(password)?;
        if claims.region != region {
            return Err(AuthError::TokenInvalid);
        }
        if !claims.access_key_id.starts_with("ASIA") {
            let active = self.access_key(&claims.access_key_id).await?.is_some_and(|k| k.active);
            if !active {
                return Err(AuthError::TokenInvalid);
            }
        }
        self.ensure_identity_exists(&claims.principal).await.map_err(|e| match e {
            AuthError::UnknownKey => AuthError::TokenInvalid,
            e => e,
        })?;
        Ok(Caller {
            principal: claims.principal.clone(),
            access_key_id: claims.access_key_id.clone(),
            expires_at: None,
        })
    }

    /// A token's claims once its signature holds. Checking a signature is pure, so the
    /// answer is remembered per token: a client sends the same one with every request.
    /// Expiry is checked on every use.
    fn verify_token(&self, password: &str) -> Result<Arc<TokenClaims>, AuthError> {
        let now = now_secs();
        if let Some(claims) = self.verified_tokens.get(password)
            && claims.expires_at > now
        {
            return Ok(claims);
        }
        let claims = self.tokens.verify(password, now).map_err(|e| match e {
            TokenError::Expired => AuthError::TokenExpired,
            _ => AuthError::TokenInvalid,
        })?;
        let claims = Arc::new(claims);
        self.verified_tokens.insert(password.to_owned(), claims.clone());
        Ok(claims)
    }

    async fn access_key(&self, id: &str) -> Result<Option<Arc<AccessKey>>, MetaError> {
        self.keys.get_or_load(&id.to_owned(), async { Ok(self.meta.access_key(id).await?.map(Arc::new)) }).await
    }

    async fn ensure_identity_exists(&self, principal: &Principal) -> Result<(), AuthError> {
        if principal.is_root() {
            return Ok(());
        }
        match self.identity_policies(principal).await? {
            Some(_) => Ok(()),
            None => Err(AuthError::UnknownKey),
        }
    }

    /// The inline policies of a user's or role's principal; `None` when the identity no
    /// longer exists. Root has none (it needs none in its own account).
    pub(super) async fn identity_policies(
        &self,
        principal: &Principal,
    ) -> Result<Option<Arc<IdentityPolicies>>, MetaError> {
        let Some(identity) = identity_name(principal) else { return Ok(Some(Arc::new(IdentityPolicies(Vec::new())))) };
        let key = (principal.account.clone(), identity);
        self.identities.get_or_load(&key, async { self.load_identity(&key.0, &key.1).await }).await
    }

    async fn load_identity(&self, account: &str, identity: &str) -> Result<Option<Arc<IdentityPolicies>>, MetaError> {
        if !self.meta.identity_exists(account, identity).await? {
            return Ok(None);
        }
        let documents = self.meta.identity_policies(account, identity).await?;
        let policies = documents
            .into_iter()
            .filter_map(|(name, text)| match Policy::parse(&text, PolicyKind::Identity) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    tracing::warn!(account, identity, policy = name, error = %e, "ignoring a stored policy that does not parse");
                    None
                }
            })
            .collect();
        Ok(Some(Arc::new(IdentityPolicies(policies))))
    }

    pub(super) fn forget_identity(&self, account: &str, identity: &str) {
        self.identities.invalidate(&(account.to_owned(), identity.to_owned()));
    }

    pub(super) fn forget_key(&self, id: &str) {
        self.keys.invalidate(&id.to_owned());
    }
}

/// `user/<name>` or `role/<name>`: how the store names the identity whose policies apply.
pub(super) fn identity_name(principal: &Principal) -> Option<String> {
    use wharf_iam::PrincipalKind;
    match &principal.kind {
        PrincipalKind::Root => None,
        PrincipalKind::User { name } => Some(format!("user/{name}")),
        PrincipalKind::AssumedRole { role, .. } => Some(format!("role/{role}")),
    }
}

/// Long-term keys belong to the root or a user.
fn principal_of(key: &AccessKey) -> Option<Principal> {
    match key.identity.strip_prefix("user/") {
        Some(name) => Some(Principal::user(&key.account, name)),
        None => (key.identity == ROOT).then(|| Principal::root(&key.account)),
    }
}
