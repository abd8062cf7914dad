//! Repository and registry policies.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_registry::access::Target;

use super::{Call, output};
use crate::api::error::{ApiError, Kind};
use crate::connection;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
    policy_text: Option<String>,
    #[serde(default)]
    force: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryOutput {
    registry_id: String,
    repository_name: String,
    policy_text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistryInput {
    policy_text: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryOutput {
    registry_id: String,
    policy_text: String,
}

/// The repository a call names, after authorising `action` on it.
async fn authorized_repository(
    call: &Call<'_>,
    input: &RepositoryInput,
    action: &str,
) -> Result<std::sync::Arc<wharf_meta::Repository>, ApiError> {
    let key = call.repository_key(input.registry_id.clone(), input.repository_name.clone())?;
    let registry = &call.app.registry;
    let repo = match registry.repository(&key).await {
        Ok(repo) => Some(repo),
        Err(wharf_registry::RegistryError::RepositoryNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let target = Target::Repository { key: &key, id: repo.as_ref().map(|r| r.id) };
    call.app.access.authorize(&call.caller, action, target, &connection::request_info(call.parts)).await?;
    repo.ok_or_else(|| {
        wharf_registry::RegistryError::RepositoryNotFound { name: key.name, registry: key.account }.into()
    })
}

fn repository_output(repo: &wharf_meta::Repository, policy_text: String) -> Result<Response, ApiError> {
    output(&RepositoryOutput {
        registry_id: repo.key.account.clone(),
        repository_name: repo.key.name.clone(),
        policy_text,
    })
}

fn required(text: Option<String>) -> Result<String, ApiError> {
    text.ok_or_else(|| ApiError::new(Kind::InvalidParameter, "policyText is required"))
}

pub async fn set_repository_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let input: RepositoryInput = call.input()?;
    let repo = authorized_repository(&call, &input, "ecr:SetRepositoryPolicy").await?;
    let text = required(input.policy_text)?;
    let info = connection::request_info(call.parts);
    call.app.access.set_repository_policy(&call.caller, &repo, &text, input.force, &info).await?;
    repository_output(&repo, text)
}

pub async fn get_repository_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let input: RepositoryInput = call.input()?;
    let repo = authorized_repository(&call, &input, "ecr:GetRepositoryPolicy").await?;
    let text = call.app.access.get_repository_policy(&repo).await?;
    repository_output(&repo, text)
}

pub async fn delete_repository_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let input: RepositoryInput = call.input()?;
    let repo = authorized_repository(&call, &input, "ecr:DeleteRepositoryPolicy").await?;
    let text = call.app.access.delete_repository_policy(&repo).await?;
    repository_output(&repo, text)
}

pub async fn put_registry_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let input: RegistryInput = call.input()?;
    let account = call.authorize_registry("ecr:PutRegistryPolicy").await?;
    let text = required(input.policy_text)?;
    call.app.access.put_registry_policy(&account, &call.region, &text).await?;
    output(&RegistryOutput { registry_id: account, policy_text: text })
}

pub async fn get_registry_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let account = call.authorize_registry("ecr:GetRegistryPolicy").await?;
    let text = call.app.access.get_registry_policy(&account, &call.region).await?;
    output(&RegistryOutput { registry_id: account, policy_text: text })
}

pub async fn delete_registry_policy(call: Call<'_>) -> Result<Response, ApiError> {
    let account = call.authorize_registry("ecr:DeleteRegistryPolicy").await?;
    let text = call.app.access.delete_registry_policy(&account, &call.region).await?;
    output(&RegistryOutput { registry_id: account, policy_text: text })
}
