//! Lifecycle policies: `PutLifecyclePolicy`, `GetLifecyclePolicy`, `DeleteLifecyclePolicy`.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_meta::{PreviewQuery, RepositoryKey};

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartOutput {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    status: &'static str,
}

/// Starts a preview and evaluates it in the background; `GetLifecyclePolicyPreview` shows
/// `IN_PROGRESS` until it completes.
pub async fn start_preview(call: Call<'_>) -> Result<Response, ApiError> {
    let input: Input = call.input()?;
    let key = repository(&call, &input, "ecr:StartLifecyclePolicyPreview").await?;
    let registry = call.app.registry.clone();
    let (id, text) = registry.start_lifecycle_preview(&key, input.lifecycle_policy_text.as_deref()).await?;
    let policy = text.clone();
    tokio::spawn(async move { registry.run_lifecycle_preview(id, &policy).await });
    output(&StartOutput {
        registry_id: key.account,
        repository_name: key.name,
        lifecycle_policy_text: text,
        status: wharf_registry::PREVIEW_IN_PROGRESS,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Option<Vec<ImageDigest>>,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<PreviewFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageDigest {
    image_digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewFilter {
    tag_status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewAction {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_storage_class: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewResultOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tags: Vec<String>,
    image_digest: String,
    image_pushed_at: f64,
    action: PreviewAction,
    applied_rule_priority: u32,
    storage_class: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    expiring_image_total_count: u64,
    transitioning_image_total_counts: Vec<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewOutput {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    status: String,
    preview_results: Vec<PreviewResultOut>,
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn get_preview(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PreviewInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:GetLifecyclePolicyPreview", &key).await?;
    if input.image_ids.is_some() && (input.next_token.is_some() || input.max_results.is_some()) {
        return Err(super::paging::not_with_ids("imageIds"));
    }
    let preview = call.app.registry.lifecycle_preview(&key).await?;
    let wanted: Option<Vec<String>> =
        input.image_ids.map(|ids| ids.into_iter().filter_map(|i| i.image_digest).collect());
    let tagged = match input.filter.and_then(|f| f.tag_status).as_deref() {
        Some("TAGGED") => Some(true),
        Some("UNTAGGED") => Some(false),
        _ => None,
    };
    let page = super::paging::Page::new(input.next_token.as_deref(), input.max_results, 100, 100)?;
    // Results are in (rule priority, digest) order; the token carries the last position shown.
    let after = page.after.as_deref().and_then(|a| a.parse::<i64>().ok()).unwrap_or(0);
    let query = PreviewQuery { tagged, digests: wanted.as_deref(), after, limit: page.fetch() };
    let found = call.app.registry.lifecycle_preview_results(&key, query).await?;
    let (found, next_token) = page.split(found, |(seq, _)| seq.to_string());
    let preview_results = found
        .into_iter()
        .map(|(_, r)| PreviewResultOut {
            image_tags: r.tags,
            image_digest: r.digest,
            image_pushed_at: r.pushed_at as f64 / 1000.0,
            action: if r.transition {
                PreviewAction { kind: "TRANSITION", target_storage_class: Some("ARCHIVE") }
            } else {
                PreviewAction { kind: "EXPIRE", target_storage_class: None }
            },
            applied_rule_priority: r.rule_priority,
            storage_class: "STANDARD",
        })
        .collect();
    let transitioning = preview.transitioning;
    let transitioning_image_total_counts = if transitioning > 0 {
        vec![serde_json::json!({ "targetStorageClass": "ARCHIVE", "imageTotalCount": transitioning })]
    } else {
        Vec::new()
    };
    output(&PreviewOutput {
        registry_id: key.account,
        repository_name: key.name,
        lifecycle_policy_text: preview.policy_text,
        status: preview.status,
        preview_results,
        summary: Summary { expiring_image_total_count: preview.expiring, transitioning_image_total_counts },
        next_token,
    })
}
