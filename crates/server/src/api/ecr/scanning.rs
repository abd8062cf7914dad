//! Image scanning: `PutRegistryScanningConfiguration`, `GetRegistryScanningConfiguration`,
//! `BatchGetRepositoryScanningConfiguration`, `PutImageScanningConfiguration`,
//! `StartImageScan`, `DescribeImageScanFindings`.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wharf_meta::{ImageRecord, RepositoryKey};
use wharf_oci::Digest;
use wharf_registry::RegistryError;
use wharf_registry::scanning::{
    self, RepositoryFilter, ScanFrequency, ScanType, ScanningConfiguration, ScanningRule, report,
};

use super::images::{ImageId, named_images};
use super::{Call, check_length, output, paging};
use crate::api::error::{ApiError, Kind};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRegistryInput {
    scan_type: Option<ScanType>,
    #[serde(default)]
    rules: Vec<ScanningRule>,
}

pub async fn put_registry_scanning_configuration(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PutRegistryInput = call.input()?;
    let account = call.authorize_registry("ecr:PutRegistryScanningConfiguration").await?;
    let config = ScanningConfiguration { scan_type: input.scan_type.unwrap_or(ScanType::Basic), rules: input.rules };
    call.app.registry.put_scanning_configuration(&account, &call.region, &config).await?;
    output(&json!({ "registryScanningConfiguration": config }))
}

pub async fn get_registry_scanning_configuration(call: Call<'_>) -> Result<Response, ApiError> {
    let account = call.authorize_registry("ecr:GetRegistryScanningConfiguration").await?;
    let config = call.app.registry.scanning_configuration(&account, &call.region).await?;
    output(&json!({ "registryId": account, "scanningConfiguration": config }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchGetInput {
    repository_names: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryScanningOutput {
    repository_arn: String,
    repository_name: String,
    scan_on_push: bool,
    scan_frequency: ScanFrequency,
    applied_scan_filters: Vec<RepositoryFilter>,
}

pub async fn batch_get_repository_scanning_configuration(call: Call<'_>) -> Result<Response, ApiError> {
    let input: BatchGetInput = call.input()?;
    check_length("repositoryNames", input.repository_names.len(), 25)?;
    let mut configurations = Vec::new();
    let mut failures = Vec::new();
    for name in input.repository_names {
        let key = call.repository_key(None, name)?;
        call.authorize_repository("ecr:BatchGetRepositoryScanningConfiguration", &key).await?;
        match call.app.registry.repository(&key).await {
            Ok(repo) => {
                let applied = call.app.registry.repository_scanning(&repo).await?;
                configurations.push(RepositoryScanningOutput {
                    repository_arn: wharf_iam::principal::repository_arn(&key.region, &key.account, &key.name),
                    repository_name: key.name,
                    scan_on_push: applied.frequency == ScanFrequency::ScanOnPush,
                    scan_frequency: applied.frequency,
                    applied_scan_filters: applied.applied_filters,
                });
            }
            Err(e @ RegistryError::RepositoryNotFound { .. }) => failures.push(json!({
                "repositoryName": key.name,
                "failureCode": "REPOSITORY_NOT_FOUND",
                "failureReason": e.to_string(),
            })),
            Err(e) => return Err(e.into()),
        }
    }
    output(&json!({ "scanningConfigurations": configurations, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutImageScanningInput {
    registry_id: Option<String>,
    repository_name: String,
    image_scanning_configuration: ImageScanningConfiguration,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageScanningConfiguration {
    #[serde(default)]
    scan_on_push: bool,
}

pub async fn put_image_scanning_configuration(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PutImageScanningInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:PutImageScanningConfiguration", &key).await?;
    let scan_on_push = input.image_scanning_configuration.scan_on_push;
    call.app.registry.set_scan_on_push(&key, scan_on_push).await?;
    output(&json!({
        "registryId": key.account,
        "repositoryName": key.name,
        "imageScanningConfiguration": { "scanOnPush": scan_on_push },
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_id: ImageId,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The repository and image a scan operation names, after authorising `action`.
async fn image(
    call: &Call<'_>,
    input: &ImageInput,
    action: &str,
) -> Result<(RepositoryKey, ImageRecord, Digest), ApiError> {
    let key = call.repository_key(input.registry_id.clone(), input.repository_name.clone())?;
    call.authorize_repository(action, &key).await?;
    let image = named_images(call, &key, std::slice::from_ref(&input.image_id)).await?.pop().ok_or_else(|| {
        ApiError::new(Kind::ImageNotFound, format!("The image does not exist in the repository '{}'", key.name))
    })?;
    let digest = image.digest.parse().map_err(|_| ApiError::new(Kind::Server, "stored digest is invalid"))?;
    Ok((key, image, digest))
}

fn image_id(input: &ImageInput, image: &ImageRecord) -> serde_json::Value {
    let mut id = json!({ "imageDigest": image.digest });
    if let Some(tag) = &input.image_id.image_tag {
        id["imageTag"] = tag.clone().into();
    }
    id
}

pub async fn start_image_scan(call: Call<'_>) -> Result<Response, ApiError> {
    let input: ImageInput = call.input()?;
    let (key, image, digest) = image(&call, &input, "ecr:StartImageScan").await?;
    call.app.registry.start_image_scan(&key, &digest).await.map_err(|e| match e {
        RegistryError::UnsupportedImageType(message) => ApiError::new(Kind::UnsupportedImageType, message),
        e => e.into(),
    })?;
    output(&json!({
        "registryId": key.account,
        "repositoryName": key.name,
        "imageId": image_id(&input, &image),
        "imageScanStatus": report::scan_status(scanning::IN_PROGRESS, None),
    }))
}

pub async fn describe_image_scan_findings(call: Call<'_>) -> Result<Response, ApiError> {
    let input: ImageInput = call.input()?;
    let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 1000, 100)?;
    let (key, image, digest) = image(&call, &input, "ecr:DescribeImageScanFindings").await?;
    let scan = call.app.registry.image_scan(&key, &digest).await?;
    let start = match page.after.as_deref() {
        None => 0,
        Some(after) => after.parse::<usize>().map_err(|_| {
            ApiError::new(Kind::InvalidParameter, "Invalid parameter at 'nextToken': the token is not valid")
        })?,
    };
    let start = start.min(scan.findings.len());
    let end = (start + page.limit() as usize).min(scan.findings.len());
    let context =
        report::ImageContext { repository: &key, digest: &image.digest, tags: &image.tags, pushed_at: image.pushed_at };
    let mut out = report::describe_findings(&scan, &context, start..end);
    out["imageId"] = image_id(&input, &image);
    if end < scan.findings.len() {
        out["nextToken"] = paging::token(&end.to_string()).into();
    }
    output(&out)
}
