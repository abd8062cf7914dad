//! Lifecycle policies: `PutLifecyclePolicy`, `GetLifecyclePolicy`, `DeleteLifecyclePolicy`.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_meta::RepositoryKey;

use super::{Call, output};
use crate::api::error::{ApiError, Kind};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    registry_id: Option<String>,
    repository_name: String,
    lifecycle_policy_text: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_at: Option<f64>,
}

impl Output {
    fn new(key: RepositoryKey, text: String, evaluated_at: Option<i64>) -> Output {
        Output {
            registry_id: key.account,
            repository_name: key.name,
            lifecycle_policy_text: text,
            last_evaluated_at: evaluated_at.map(|t| t as f64 / 1000.0),
        }
    }
}

/// The repository a call names, after authorising `action` on it.
async fn repository(call: &Call<'_>, input: &Input, action: &str) -> Result<RepositoryKey, ApiError> {
    let key = call.repository_key(input.registry_id.clone(), input.repository_name.clone())?;
    call.authorize_repository(action, &key).await?;
    Ok(key)
}

pub async fn put(call: Call<'_>) -> Result<Response, ApiError> {
    let input: Input = call.input()?;
    let key = repository(&call, &input, "ecr:PutLifecyclePolicy").await?;
    let text = input
        .lifecycle_policy_text
        .ok_or_else(|| ApiError::new(Kind::InvalidParameter, "lifecyclePolicyText is required"))?;
    call.app.registry.put_lifecycle_policy(&key, &text).await?;
    output(&Output::new(key, text, None))
}

pub async fn get(call: Call<'_>) -> Result<Response, ApiError> {
    let input: Input = call.input()?;
    let key = repository(&call, &input, "ecr:GetLifecyclePolicy").await?;
    let stored = call.app.registry.lifecycle_policy(&key).await?;
    output(&Output::new(key, stored.text, stored.evaluated_at))
}

pub async fn delete(call: Call<'_>) -> Result<Response, ApiError> {
    let input: Input = call.input()?;
    let key = repository(&call, &input, "ecr:DeleteLifecyclePolicy").await?;
    let stored = call.app.registry.delete_lifecycle_policy(&key).await?;
    output(&Output::new(key, stored.text, stored.evaluated_at))
}
