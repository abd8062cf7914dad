//! ECR account settings, per account and region: `BLOB_MOUNTING` (cross-repository mounts
//! on `/v2`, off by default as in ECR) and `REGISTRY_POLICY_SCOPE` (`V2`, the default: the
//! registry policy takes part in every decision; `V1`: only in the three actions ECR's
//! first registry policies covered).

use std::sync::Arc;

use wharf_meta::MetaError;

use super::Access;
use crate::cache::Weight;
use crate::{RegistryError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountSetting {
    BlobMounting,
    RegistryPolicyScope,
}

impl AccountSetting {
    pub fn parse(name: &str) -> Result<AccountSetting> {
        match name {
            "BLOB_MOUNTING" => Ok(AccountSetting::BlobMounting),
            "REGISTRY_POLICY_SCOPE" => Ok(AccountSetting::RegistryPolicyScope),
            other => Err(RegistryError::InvalidParameter(format!(
                "Invalid parameter at 'name' failed to satisfy constraint: 'the account setting {other} is not \
                 supported; use BLOB_MOUNTING or REGISTRY_POLICY_SCOPE'"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AccountSetting::BlobMounting => "BLOB_MOUNTING",
            AccountSetting::RegistryPolicyScope => "REGISTRY_POLICY_SCOPE",
        }
    }

    fn values(self) -> [&'static str; 2] {
        match self {
            AccountSetting::BlobMounting => ["DISABLED", "ENABLED"],
            AccountSetting::RegistryPolicyScope => ["V2", "V1"],
        }
    }

    /// ECR's default: the first of the values.
    fn default_value(self) -> &'static str {
        self.values()[0]
    }
}

/// A setting's value as cached.
#[derive(Debug)]
pub(super) struct SettingValue(String);

impl Weight for SettingValue {
    fn weight(&self) -> u64 {
        64 + self.0.len() as u64
    }
}

/// The only actions a `V1` registry policy decides.
const V1_ACTIONS: [&str; 3] = ["ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"];

impl Access {
    pub async fn account_setting(&self, account: &str, region: &str, setting: AccountSetting) -> Result<String> {
        Ok(self.setting(account, region, setting).await?.0.clone())
    }

    async fn setting(
        &self,
        account: &str,
        region: &str,
        setting: AccountSetting,
    ) -> Result<Arc<SettingValue>, MetaError> {
        let key = (account.to_owned(), region.to_owned(), setting);
        let found = self
            .settings
            .get_or_load(&key, async {
                let stored = self.meta.account_setting(account, region, setting.name()).await?;
                Ok::<_, MetaError>(Some(Arc::new(SettingValue(
                    stored.unwrap_or_else(|| setting.default_value().into()),
                ))))
            })
            .await?;
        Ok(found.unwrap_or_else(|| Arc::new(SettingValue(setting.default_value().into()))))
    }

    pub async fn put_account_setting(
        &self,
        account: &str,
        region: &str,
        setting: AccountSetting,
        value: &str,
    ) -> Result<()> {
        if !setting.values().contains(&value) {
            return Err(RegistryError::InvalidParameter(format!(
                "Invalid parameter at 'value' failed to satisfy constraint: '{} takes {}'",
                setting.name(),
                setting.values().join(" or ")
            )));
        }
        self.meta.put_account_setting(account, region, setting.name(), value).await?;
        self.settings.invalidate(&(account.to_owned(), region.to_owned(), setting));
        Ok(())
    }

    /// Whether `/v2` mounts across repositories are on in a registry.
    pub async fn blob_mounting(&self, account: &str, region: &str) -> Result<bool> {
        Ok(self.setting(account, region, AccountSetting::BlobMounting).await?.0 == "ENABLED")
    }

    /// Whether the registry policy takes part in deciding `action`.
    pub(super) async fn registry_policy_applies(&self, account: &str, region: &str, action: &str) -> Result<bool> {
        let scope = self.setting(account, region, AccountSetting::RegistryPolicyScope).await?;
        Ok(scope.0 == "V2" || V1_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)))
    }
}
