//! Managing identities: accounts, users, roles, their inline policies and access keys.
//! The `wharf admin` commands call these; so does the first start, which creates an
//! administrator for the default account.

use wharf_iam::policy::{Policy, PolicyKind};
use wharf_iam::secret::{new_access_key_id, new_secret_access_key};
use wharf_meta::{AccessKey, ROOT, Role, User};

use super::Access;
use crate::{RegistryError, Result, now_ms};

/// A freshly created access key. The secret exists in clear only here: it is shown once.
pub struct NewAccessKey {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for NewAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The policy the first-start administrator gets: everything.
pub const ADMINISTRATOR_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// ECR's default trust for a new role: any principal of the role's own account whose
/// identity policies allow `sts:AssumeRole`.
pub fn account_trust_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

impl Access {
    /// Creates an account; `false` if it exists.
    pub async fn create_account(&self, account: &str) -> Result<bool> {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegistryError::InvalidParameter(format!("account id '{account}' must be 12 digits")));
        }
        Ok(self.meta.ensure_account(account, now_ms()).await?)
    }

    pub async fn create_user(&self, account: &str, name: &str) -> Result<User> {
        validate_name(name, "user")?;
        self.require_account(account).await?;
        let user = User {
            account: account.to_owned(),
            name: name.to_owned(),
            user_id: new_access_key_id("AIDA"),
            created_at: now_ms(),
        };
        if !self.meta.create_user(&user).await? {
            return Err(RegistryError::EntityExists(format!("User with name {name} already exists.")));
        }
        self.forget_identity(account, &format!("user/{name}"));
        Ok(user)
    }

    pub async fn create_role(
        &self,
        account: &str,
        name: &str,
        trust_policy: Option<&str>,
        max_session_secs: i64,
    ) -> Result<Role> {
        validate_name(name, "role")?;
        self.require_account(account).await?;
        if !(3600..=43200).contains(&max_session_secs) {
            return Err(RegistryError::InvalidParameter("MaxSessionDuration must be 3600..43200 seconds".into()));
        }
        let trust_policy = trust_policy.map_or_else(|| account_trust_policy(account), str::to_owned);
        Policy::parse(&trust_policy, PolicyKind::Trust)
            .map_err(|e| RegistryError::InvalidParameter(format!("invalid trust policy: {e}")))?;
        let role = Role {
            account: account.to_owned(),
            name: name.to_owned(),
            role_id: new_access_key_id("AROA"),
            trust_policy,
            max_session_secs,
            created_at: now_ms(),
        };
        if !self.meta.create_role(&role).await? {
            return Err(RegistryError::EntityExists(format!("Role with name {name} already exists.")));
        }
        self.forget_identity(account, &format!("role/{name}"));
        Ok(role)
    }

    /// Deletes a user or role (`user/<name>`, `role/<name>`) with its policies and keys.
    pub async fn delete_identity(&self, account: &str, identity: &str) -> Result<()> {
        let keys = self.meta.list_access_keys(account, identity).await?;
        if !self.meta.delete_identity(account, identity).await? {
            return Err(no_such_identity(identity));
        }
        for key in keys {
            self.forget_key(&key.id);
        }
        self.forget_identity(account, identity);
        Ok(())
    }

    /// Adds or replaces an inline identity policy of a user or role.
    pub async fn put_identity_policy(&self, account: &str, identity: &str, name: &str, document: &str) -> Result<()> {
        validate_name(name, "policy")?;
        Policy::parse(document, PolicyKind::Identity)
            .map_err(|e| RegistryError::InvalidParameter(format!("invalid policy document: {e}")))?;
        self.require_identity(account, identity).await?;
        self.meta.put_identity_policy(account, identity, name, document).await?;
        self.forget_identity(account, identity);
        Ok(())
    }

    pub async fn delete_identity_policy(&self, account: &str, identity: &str, name: &str) -> Result<()> {
        if !self.meta.delete_identity_policy(account, identity, name).await? {
            return Err(RegistryError::NoSuchEntity(format!("The policy {name} of {identity} does not exist.")));
        }
        self.forget_identity(account, identity);
        Ok(())
    }

    /// `(name, document)` of each inline policy of a user or role.
    pub async fn identity_policy_documents(&self, account: &str, identity: &str) -> Result<Vec<(String, String)>> {
        self.require_identity(account, identity).await?;
        Ok(self.meta.identity_policies(account, identity).await?)
    }

    /// A new active key for the root (`root`) or a user (`user/<name>`).
    pub async fn create_access_key(&self, account: &str, identity: &str) -> Result<NewAccessKey> {
        if identity != ROOT && !identity.starts_with("user/") {
            return Err(RegistryError::InvalidParameter("access keys belong to the root or a user".into()));
        }
        self.require_identity(account, identity).await?;
        let id = new_access_key_id("AKIA");
        let secret = new_secret_access_key();
        let key = AccessKey {
            sealed_secret: self.sealer.seal(secret.as_bytes(), id.as_bytes()),
            id: id.clone(),
            account: account.to_owned(),
            identity: identity.to_owned(),
            active: true,
            created_at: now_ms(),
        };
        self.meta.create_access_key(&key).await?;
        Ok(NewAccessKey { id, secret })
    }

    pub async fn set_access_key_active(&self, id: &str, active: bool) -> Result<()> {
        if !self.meta.set_access_key_active(id, active).await? {
            return Err(no_such_key(id));
        }
        self.forget_key(id);
        Ok(())
    }

    pub async fn delete_access_key(&self, id: &str) -> Result<()> {
        if !self.meta.delete_access_key(id).await? {
            return Err(no_such_key(id));
        }
        self.forget_key(id);
        Ok(())
    }

    async fn require_account(&self, account: &str) -> Result<()> {
        if self.meta.account_exists(account).await? {
            Ok(())
        } else {
            Err(RegistryError::NoSuchEntity(format!("The account {account} does not exist.")))
        }
    }

    async fn require_identity(&self, account: &str, identity: &str) -> Result<()> {
        if self.meta.identity_exists(account, identity).await? { Ok(()) } else { Err(no_such_identity(identity)) }
    }
}

/// IAM's name rule for users, roles and policies: 1–64 characters of `[\w+=,.@-]`.
fn validate_name(name: &str, what: &str) -> Result<()> {
    let ok =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::InvalidParameter(format!(
            "{what} name '{name}' must be 1-64 characters of letters, digits and _+=,.@-"
        )))
    }
}

fn no_such_identity(identity: &str) -> RegistryError {
    RegistryError::NoSuchEntity(format!("The {} cannot be found.", identity.replacen('/', " with name ", 1)))
}

fn no_such_key(id: &str) -> RegistryError {
    RegistryError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
}
