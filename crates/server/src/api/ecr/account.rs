//! Registry-wide operations: `GetAccountSetting`, `PutAccountSetting`, `DescribeRegistry`.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_registry::access::AccountSetting;

use super::{Call, output};
use crate::api::error::ApiError;

#[derive(Deserialize)]
struct SettingInput {
    name: String,
    value: Option<String>,
}

#[derive(Serialize)]
struct SettingOutput {
    name: String,
    value: String,
}

pub async fn get_account_setting(call: Call<'_>) -> Result<Response, ApiError> {
    let input: SettingInput = call.input()?;
    let account = call.authorize_registry("ecr:GetAccountSetting").await?;
    let setting = AccountSetting::parse(&input.name)?;
    let value = call.app.access.account_setting(&account, &call.region, setting).await?;
    output(&SettingOutput { name: setting.name().into(), value })
}

pub async fn put_account_setting(call: Call<'_>) -> Result<Response, ApiError> {
    let input: SettingInput = call.input()?;
    let account = call.authorize_registry("ecr:PutAccountSetting").await?;
    let setting = AccountSetting::parse(&input.name)?;
    let value = input.value.unwrap_or_default();
    call.app.access.put_account_setting(&account, &call.region, setting, &value).await?;
    output(&SettingOutput { name: setting.name().into(), value })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryOutput {
    registry_id: String,
    replication_configuration: serde_json::Value,
}

/// Replication does not exist yet: its configuration is empty, as for a new ECR registry.
pub async fn describe_registry(call: Call<'_>) -> Result<Response, ApiError> {
    let account = call.authorize_registry("ecr:DescribeRegistry").await?;
    output(&RegistryOutput { registry_id: account, replication_configuration: serde_json::json!({ "rules": [] }) })
}
