//! Repositories: `CreateRepository`, `DescribeRepositories`, `DeleteRepository`,
//! `PutImageTagMutability`, and resource tags (`TagResource`, `UntagResource`,
//! `ListTagsForResource`).

use axum::response::Response;
use serde::{Deserialize, Serialize};
use wharf_meta::{Repository, RepositoryKey, RepositorySettings, TagMutability};
use wharf_registry::access::Target;

use super::{Call, check_length, output, paging};
use crate::api::error::{ApiError, Kind};
use crate::connection;

#[derive(Deserialize, Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionFilter {
    filter_type: String,
    filter: String,
}

#[derive(Deserialize, Serialize, Clone)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

impl From<(String, String)> for Tag {
    fn from((key, value): (String, String)) -> Tag {
        Tag { key, value }
    }
}

#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScanningConfiguration {
    #[serde(default)]
    scan_on_push: bool,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionConfiguration {
    encryption_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key: Option<String>,
}

/// ECR's `Repository` shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryOut {
    repository_arn: String,
    registry_id: String,
    repository_name: String,
    repository_uri: String,
    created_at: f64,
    image_tag_mutability: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tag_mutability_exclusion_filters: Vec<ExclusionFilter>,
    image_scanning_configuration: ScanningConfiguration,
    encryption_configuration: EncryptionConfiguration,
}

impl Call<'_> {
    fn repository_out(&self, repo: &Repository) -> RepositoryOut {
        let s = &repo.settings;
        RepositoryOut {
            repository_arn: wharf_iam::principal::repository_arn(&repo.key.region, &repo.key.account, &repo.key.name),
            registry_id: repo.key.account.clone(),
            repository_name: repo.key.name.clone(),
            repository_uri: self.repository_uri(&repo.key),
            created_at: repo.created_at as f64 / 1000.0,
            image_tag_mutability: s.tag_mutability.as_str(),
            image_tag_mutability_exclusion_filters: exclusion_filters(&s.mutability_exclusions),
            image_scanning_configuration: ScanningConfiguration { scan_on_push: s.scan_on_push },
            encryption_configuration: EncryptionConfiguration {
                encryption_type: s.encryption_type.clone(),
                kms_key: s.kms_key.clone(),
            },
        }
    }

    /// `<account>.dkr.ecr.<region>.<domain>/<name>`, with the port the API was called on.
    fn repository_uri(&self, key: &RepositoryKey) -> String {
        let host = self.parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
        let endpoint = self.app.hosts.registry_host(host, &key.account, &key.region);
        format!("{endpoint}/{}", key.name)
    }
}

pub(super) fn exclusion_filters(filters: &[String]) -> Vec<ExclusionFilter> {
    filters.iter().map(|f| ExclusionFilter { filter_type: "WILDCARD".into(), filter: f.clone() }).collect()
}

pub(super) fn mutability_filters(
    mode: Option<&str>,
    filters: Option<Vec<ExclusionFilter>>,
) -> Result<(TagMutability, Vec<String>), ApiError> {
    let mode = match mode {
        None => TagMutability::Mutable,
        Some(text) => TagMutability::parse(text).ok_or_else(|| {
            ApiError::invalid_parameter(
                "imageTagMutability",
                &format!(
                    "Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, \
                     MUTABLE_WITH_EXCLUSION] ({text})"
                ),
            )
        })?,
    };
    let mut out = Vec::new();
    for f in filters.unwrap_or_default() {
        if f.filter_type != "WILDCARD" {
            return Err(ApiError::invalid_parameter(
                "imageTagMutabilityExclusionFilters.filterType",
                "Member must satisfy enum value set: [WILDCARD]",
            ));
        }
        out.push(f.filter);
    }
    Ok((mode, out))
}

fn tags(tags: Option<Vec<Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    registry_id: Option<String>,
    repository_name: String,
    tags: Option<Vec<Tag>>,
    image_tag_mutability: Option<String>,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
    image_scanning_configuration: Option<ScanningConfiguration>,
    encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Serialize)]
struct RepositoryOutput {
    repository: RepositoryOut,
}

pub async fn create_repository(call: Call<'_>) -> Result<Response, ApiError> {
    let input: CreateInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    let tags = tags(input.tags);
    call.authorize_repository("ecr:CreateRepository", &key).await?;
    if !tags.is_empty() {
        call.authorize_repository("ecr:TagResource", &key).await?;
    }
    let (tag_mutability, mutability_exclusions) =
        mutability_filters(input.image_tag_mutability.as_deref(), input.image_tag_mutability_exclusion_filters)?;
    let encryption = input
        .encryption_configuration
        .unwrap_or(EncryptionConfiguration { encryption_type: "AES256".into(), kms_key: None });
    if encryption.encryption_type != "AES256" {
        // Encryption with managed keys is a later capability: refuse rather than pretend.
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!(
                "encryptionType {} is not supported by wharf yet; repositories are stored with AES256",
                encryption.encryption_type
            ),
        ));
    }
    let settings = RepositorySettings {
        tag_mutability,
        mutability_exclusions,
        scan_on_push: input.image_scanning_configuration.unwrap_or_default().scan_on_push,
        encryption_type: encryption.encryption_type,
        kms_key: None,
    };
    let repo = call.app.registry.create_repository(&key, &settings, &tags).await?;
    output(&RepositoryOutput { repository: call.repository_out(&repo) })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    registry_id: Option<String>,
    repository_names: Option<Vec<String>>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeOutput {
    repositories: Vec<RepositoryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn describe_repositories(call: Call<'_>) -> Result<Response, ApiError> {
    let input: DescribeInput = call.input()?;
    let account = call.registry_id(input.registry_id)?;
    if let Some(names) = input.repository_names {
        if input.next_token.is_some() || input.max_results.is_some() {
            return Err(paging::not_with_ids("repositoryNames"));
        }
        check_length("repositoryNames", names.len(), 100)?;
        let mut repositories = Vec::with_capacity(names.len());
        for name in names {
            let key = call.repository_key(Some(account.clone()), name)?;
            call.authorize_repository("ecr:DescribeRepositories", &key).await?;
            let repo = call.app.registry.repository(&key).await?;
            repositories.push(call.repository_out(&repo));
        }
        return output(&DescribeOutput { repositories, next_token: None });
    }
    let all = RepositoryKey { account: account.clone(), region: call.region.clone(), name: "*".into() };
    let info = connection::request_info(call.parts);
    let target = Target::Repository { key: &all, id: None };
    call.app.access.authorize(&call.caller, "ecr:DescribeRepositories", target, &info).await?;
    let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 1000, 100)?;
    let found =
        call.app.registry.describe_repositories(&account, &call.region, page.after.as_deref(), page.fetch()).await?;
    let (found, next_token) = page.split(found, |r| r.key.name.clone());
    output(&DescribeOutput { repositories: found.iter().map(|r| call.repository_out(r)).collect(), next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    registry_id: Option<String>,
    repository_name: String,
    #[serde(default)]
    force: bool,
}

pub async fn delete_repository(call: Call<'_>) -> Result<Response, ApiError> {
    let input: DeleteInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:DeleteRepository", &key).await?;
    let repo = call.app.registry.repository(&key).await?;
    call.app.registry.delete_repository(&key, input.force).await?;
    output(&RepositoryOutput { repository: call.repository_out(&repo) })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MutabilityInput {
    registry_id: Option<String>,
    repository_name: String,
    image_tag_mutability: String,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MutabilityOutput {
    registry_id: String,
    repository_name: String,
    image_tag_mutability: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tag_mutability_exclusion_filters: Vec<ExclusionFilter>,
}

pub async fn put_image_tag_mutability(call: Call<'_>) -> Result<Response, ApiError> {
    let input: MutabilityInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:PutImageTagMutability", &key).await?;
    let (mode, filters) =
        mutability_filters(Some(&input.image_tag_mutability), input.image_tag_mutability_exclusion_filters)?;
    let repo = call.app.registry.set_tag_mutability(&key, mode, &filters).await?;
    output(&MutabilityOutput {
        registry_id: repo.key.account.clone(),
        repository_name: repo.key.name.clone(),
        image_tag_mutability: repo.settings.tag_mutability.as_str(),
        image_tag_mutability_exclusion_filters: exclusion_filters(&repo.settings.mutability_exclusions),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagInput {
    resource_arn: String,
    tags: Option<Vec<Tag>>,
    tag_keys: Option<Vec<String>>,
}

#[derive(Serialize)]
struct TagsOutput {
    tags: Vec<Tag>,
}

/// The repository an ARN names; only repositories are taggable, in the call's region.
fn resource_key(call: &Call<'_>, arn: &str) -> Result<RepositoryKey, ApiError> {
    let invalid = || {
        ApiError::new(
            Kind::InvalidParameter,
            format!("Invalid parameter at 'resourceArn': {arn} is not a repository ARN of this region"),
        )
    };
    let rest = arn.strip_prefix("arn:aws:ecr:").ok_or_else(invalid)?;
    let (region, rest) = rest.split_once(':').ok_or_else(invalid)?;
    let (account, name) = rest.split_once(":repository/").ok_or_else(invalid)?;
    if region != call.region {
        return Err(invalid());
    }
    call.repository_key(Some(account.to_owned()), name.to_owned())
}

pub async fn tag_resource(call: Call<'_>) -> Result<Response, ApiError> {
    let input: TagInput = call.input()?;
    let key = resource_key(&call, &input.resource_arn)?;
    call.authorize_repository("ecr:TagResource", &key).await?;
    call.app.registry.tag_repository(&key, &tags(input.tags)).await?;
    output(&serde_json::json!({}))
}

pub async fn untag_resource(call: Call<'_>) -> Result<Response, ApiError> {
    let input: TagInput = call.input()?;
    let key = resource_key(&call, &input.resource_arn)?;
    call.authorize_repository("ecr:UntagResource", &key).await?;
    call.app.registry.untag_repository(&key, &input.tag_keys.unwrap_or_default()).await?;
    output(&serde_json::json!({}))
}

pub async fn list_tags_for_resource(call: Call<'_>) -> Result<Response, ApiError> {
    let input: TagInput = call.input()?;
    let key = resource_key(&call, &input.resource_arn)?;
    call.authorize_repository("ecr:ListTagsForResource", &key).await?;
    let tags = call.app.registry.repository_tags(&key).await?;
    output(&TagsOutput { tags: tags.into_iter().map(Tag::from).collect() })
}
