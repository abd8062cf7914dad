//! The ECR API (AWS JSON 1.1): one module per area of operations. Each operation parses
//! its input, authorises its `ecr:` action, calls the domain and encodes the output.

mod account;
mod auth_token;
mod images;
mod layers;
mod lifecycle;
mod paging;
mod policies;
mod repositories;
mod scanning;
mod templates;

use axum::response::{IntoResponse, Response};
use http::header;
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wharf_meta::RepositoryKey;
use wharf_registry::RegistryError;
use wharf_registry::access::{Caller, Target};

use super::error::{ApiError, Kind};
use super::{ECR_TARGET_PREFIX, authenticate};
use crate::{App, connection};

/// What every operation gets.
struct Call<'a> {
    app: &'a App,
    parts: &'a Parts,
    caller: Caller,
    /// The region the request was signed for: the registry it addresses.
    region: String,
    body: &'a [u8],
}

pub async fn handle(app: &App, parts: &Parts, body: &[u8]) -> Result<Response, ApiError> {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(operation) = target.strip_prefix(ECR_TARGET_PREFIX) else {
        return Err(ApiError::new(Kind::UnknownOperation, format!("unknown operation target '{target}'")));
    };
    let (caller, region) = authenticate(app, parts, body, "ecr").await?;
    let call = Call { app, parts, caller, region, body };
    match operation {
        "GetAuthorizationToken" => auth_token::get_authorization_token(call).await,
        "GetAccountSetting" => account::get_account_setting(call).await,
        "PutAccountSetting" => account::put_account_setting(call).await,
        "DescribeRegistry" => account::describe_registry(call).await,
        "PutImage" => images::put_image(call).await,
        "BatchGetImage" => images::batch_get_image(call).await,
        "BatchDeleteImage" => images::batch_delete_image(call).await,
        "DescribeImages" => images::describe_images(call).await,
        "ListImages" => images::list_images(call).await,
        "ListImageReferrers" => images::list_image_referrers(call).await,
        "UpdateImageStorageClass" => images::update_image_storage_class(call).await,
        "CreateRepository" => repositories::create_repository(call).await,
        "PutLifecyclePolicy" => lifecycle::put(call).await,
        "GetLifecyclePolicy" => lifecycle::get(call).await,
        "DeleteLifecyclePolicy" => lifecycle::delete(call).await,
        "StartLifecyclePolicyPreview" => lifecycle::start_preview(call).await,
        "GetLifecyclePolicyPreview" => lifecycle::get_preview(call).await,
        "CreateRepositoryCreationTemplate" => templates::create(call).await,
        "UpdateRepositoryCreationTemplate" => templates::update(call).await,
        "DeleteRepositoryCreationTemplate" => templates::delete(call).await,
        "DescribeRepositoryCreationTemplates" => templates::describe(call).await,
        "DescribeRepositories" => repositories::describe_repositories(call).await,
        "DeleteRepository" => repositories::delete_repository(call).await,
        "PutImageTagMutability" => repositories::put_image_tag_mutability(call).await,
        "TagResource" => repositories::tag_resource(call).await,
        "UntagResource" => repositories::untag_resource(call).await,
        "ListTagsForResource" => repositories::list_tags_for_resource(call).await,
        "SetRepositoryPolicy" => policies::set_repository_policy(call).await,
        "GetRepositoryPolicy" => policies::get_repository_policy(call).await,
        "DeleteRepositoryPolicy" => policies::delete_repository_policy(call).await,
        "PutRegistryPolicy" => policies::put_registry_policy(call).await,
        "GetRegistryPolicy" => policies::get_registry_policy(call).await,
        "DeleteRegistryPolicy" => policies::delete_registry_policy(call).await,
        "BatchCheckLayerAvailability" => layers::batch_check_layer_availability(call).await,
        "InitiateLayerUpload" => layers::initiate_layer_upload(call).await,
        "UploadLayerPart" => layers::upload_layer_part(call).await,
        "CompleteLayerUpload" => layers::complete_layer_upload(call).await,
        "GetDownloadUrlForLayer" => layers::get_download_url_for_layer(call).await,
        "PutRegistryScanningConfiguration" => scanning::put_registry_scanning_configuration(call).await,
        "GetRegistryScanningConfiguration" => scanning::get_registry_scanning_configuration(call).await,
        "BatchGetRepositoryScanningConfiguration" => scanning::batch_get_repository_scanning_configuration(call).await,
        "PutImageScanningConfiguration" => scanning::put_image_scanning_configuration(call).await,
        "StartImageScan" => scanning::start_image_scan(call).await,
        "DescribeImageScanFindings" => scanning::describe_image_scan_findings(call).await,
        other => {
            Err(ApiError::new(Kind::UnknownOperation, format!("wharf does not implement the operation '{other}' yet")))
        }
    }
}

impl Call<'_> {
    /// The JSON input; `{}` when the body is empty.
    fn input<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body = if self.body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { self.body };
        serde_json::from_slice(body)
            .map_err(|e| ApiError::new(Kind::Serialization, format!("malformed request body: {e}")))
    }

    /// The registry (account) a request member names, or the caller's own.
    fn registry_id(&self, registry_id: Option<String>) -> Result<String, ApiError> {
        match registry_id {
            None => Ok(self.caller.principal.account.clone()),
            Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
            Some(id) => Err(ApiError::new(
                Kind::InvalidParameter,
                format!(
                    "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression '[0-9]{{12}}'' ({id})"
                ),
            )),
        }
    }

    /// Authorises `action` on a repository before anything reveals whether it exists;
    /// returns its id when it does.
    async fn authorize_repository(&self, action: &str, key: &RepositoryKey) -> Result<Option<i64>, ApiError> {
        let id = match self.app.registry.repository(key).await {
            Ok(repo) => Some(repo.id),
            Err(RegistryError::RepositoryNotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let info = connection::request_info(self.parts);
        self.app.access.authorize(&self.caller, action, Target::Repository { key, id }, &info).await?;
        Ok(id)
    }

    /// The caller's own registry, after authorising `action` on it (`Resource: "*"`).
    async fn authorize_registry(&self, action: &str) -> Result<String, ApiError> {
        let account = self.caller.principal.account.clone();
        let info = connection::request_info(self.parts);
        self.app.access.authorize(&self.caller, action, Target::Account(&account), &info).await?;
        Ok(account)
    }

    fn repository_key(&self, registry_id: Option<String>, name: String) -> Result<RepositoryKey, ApiError> {
        let account = self.registry_id(registry_id)?;
        if wharf_oci::validate_repository_name(&name).is_err() {
            return Err(ApiError::new(
                Kind::InvalidParameter,
                "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression \
                 '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''",
            ));
        }
        Ok(RepositoryKey { account, region: self.region.clone(), name })
    }
}

/// ECR's bounds on a list member: 1 to `max` entries.
fn check_length(member: &str, len: usize, max: usize) -> Result<(), ApiError> {
    if (1..=max).contains(&len) {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(member, &format!("Member must have length between 1 and {max}")))
    }
}

fn output<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::new(Kind::Server, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/x-amz-json-1.1")], body).into_response())
}
