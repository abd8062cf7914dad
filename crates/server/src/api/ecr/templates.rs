//! Repository creation templates: `Create/Update/Delete/DescribeRepositoryCreationTemplate(s)`.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_iam::policy::{Policy, PolicyKind};
use wharf_registry::CreationTemplate;

use super::repositories::{ExclusionFilter, Tag, exclusion_filters, mutability_filters};
use super::{Call, output, paging};
use crate::api::error::{ApiError, Kind};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateInput {
    prefix: String,
    description: Option<String>,
    encryption_configuration: Option<serde_json::Value>,
    resource_tags: Option<Vec<Tag>>,
    image_tag_mutability: Option<String>,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
    repository_policy: Option<String>,
    lifecycle_policy: Option<String>,
    applied_for: Option<Vec<String>>,
    custom_role_arn: Option<String>,
}

/// ECR's `RepositoryCreationTemplate`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateOut {
    prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    encryption_configuration: serde_json::Value,
    resource_tags: Vec<Tag>,
    image_tag_mutability: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tag_mutability_exclusion_filters: Vec<ExclusionFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle_policy: Option<String>,
    applied_for: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_role_arn: Option<String>,
    created_at: f64,
    updated_at: f64,
}

impl From<CreationTemplate> for TemplateOut {
    fn from(t: CreationTemplate) -> TemplateOut {
        TemplateOut {
            prefix: t.prefix,
            description: t.description,
            encryption_configuration: serde_json::json!({ "encryptionType": "AES256" }),
            resource_tags: t.resource_tags.into_iter().map(Tag::from).collect(),
            image_tag_mutability: t.tag_mutability,
            image_tag_mutability_exclusion_filters: exclusion_filters(&t.mutability_exclusions),
            repository_policy: t.repository_policy,
            lifecycle_policy: t.lifecycle_policy,
            applied_for: t.applied_for,
            custom_role_arn: t.custom_role_arn,
            created_at: t.created_at as f64 / 1000.0,
            updated_at: t.updated_at as f64 / 1000.0,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateOutput {
    registry_id: String,
    repository_creation_template: TemplateOut,
}

/// The template an input describes, checked where the domain cannot (policy grammar,
/// features that do not exist yet).
fn template(input: TemplateInput) -> Result<CreationTemplate, ApiError> {
    let validation = |m: String| ApiError::new(Kind::Validation, m);
    if let Some(encryption) = &input.encryption_configuration
        && encryption.get("encryptionType").and_then(|t| t.as_str()) != Some("AES256")
    {
        return Err(validation("encryptionType other than AES256 is not supported by wharf yet".into()));
    }
    if let Some(text) = &input.repository_policy {
        Policy::parse(text, PolicyKind::Resource).map_err(|e| validation(format!("Invalid repository policy: {e}")))?;
    }
    let (mode, filters) =
        mutability_filters(input.image_tag_mutability.as_deref(), input.image_tag_mutability_exclusion_filters)?;
    Ok(CreationTemplate {
        prefix: input.prefix,
        description: input.description,
        applied_for: input.applied_for.unwrap_or_default(),
        tag_mutability: mode.as_str().to_owned(),
        mutability_exclusions: filters,
        resource_tags: input.resource_tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect(),
        repository_policy: input.repository_policy,
        lifecycle_policy: input.lifecycle_policy,
        custom_role_arn: input.custom_role_arn,
        created_at: 0,
        updated_at: 0,
    })
}

pub async fn create(call: Call<'_>) -> Result<Response, ApiError> {
    let input: TemplateInput = call.input()?;
    let account = call.authorize_registry("ecr:CreateRepositoryCreationTemplate").await?;
    let created = call.app.registry.create_template(&account, &call.region, template(input)?).await?;
    output(&TemplateOutput { registry_id: account, repository_creation_template: created.into() })
}

pub async fn update(call: Call<'_>) -> Result<Response, ApiError> {
    let input: TemplateInput = call.input()?;
    let account = call.authorize_registry("ecr:UpdateRepositoryCreationTemplate").await?;
    let updated = call.app.registry.update_template(&account, &call.region, template(input)?).await?;
    output(&TemplateOutput { registry_id: account, repository_creation_template: updated.into() })
}

#[derive(Deserialize)]
struct PrefixInput {
    prefix: String,
}

pub async fn delete(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PrefixInput = call.input()?;
    let account = call.authorize_registry("ecr:DeleteRepositoryCreationTemplate").await?;
    let deleted = call.app.registry.delete_template(&account, &call.region, &input.prefix).await?;
    output(&TemplateOutput { registry_id: account, repository_creation_template: deleted.into() })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    prefixes: Option<Vec<String>>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeOutput {
    registry_id: String,
    repository_creation_templates: Vec<TemplateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn describe(call: Call<'_>) -> Result<Response, ApiError> {
    let input: DescribeInput = call.input()?;
    let account = call.authorize_registry("ecr:DescribeRepositoryCreationTemplates").await?;
    let registry = &call.app.registry;
    let (found, next_token) = match input.prefixes.filter(|p| !p.is_empty()) {
        Some(prefixes) => {
            let mut found = Vec::with_capacity(prefixes.len());
            for prefix in &prefixes {
                found.push(registry.template(&account, &call.region, prefix).await?);
            }
            (found, None)
        }
        None => {
            let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 1000, 100)?;
            let found = registry.templates(&account, &call.region, page.after.as_deref(), page.fetch()).await?;
            page.split(found, |t| t.prefix.clone())
        }
    };
    output(&DescribeOutput {
        registry_id: account,
        repository_creation_templates: found.into_iter().map(TemplateOut::from).collect(),
        next_token,
    })
}
