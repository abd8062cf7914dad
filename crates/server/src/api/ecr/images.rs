//! Images: `PutImage`, `BatchGetImage`, `BatchDeleteImage`, `DescribeImages`, `ListImages`,
//! `ListImageReferrers`. They run on the same domain functions as `/v2` manifest requests,
//! so an image pushed through one door is pulled through the other.

use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wharf_meta::{ImageFilter, ImageRecord, ImageStatus, RepositoryKey, ScanSummary, TagStatus};
use wharf_oci::{Algorithm, Digest, Reference, validate_tag};
use wharf_registry::scanning::{self, report};
use wharf_registry::{RegistryError, StorageClass};

use super::{Call, check_length, output, paging};
use crate::api::error::{ApiError, Kind};

/// ECR's `ImageIdentifier`.
#[derive(Deserialize, Serialize, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ImageId {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) image_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) image_tag: Option<String>,
}

/// A per-image problem of a batch operation: reported, not thrown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageFailure {
    image_id: ImageId,
    failure_code: &'static str,
    failure_reason: String,
}

impl ImageFailure {
    fn new(image_id: &ImageId, failure_code: &'static str, failure_reason: impl Into<String>) -> ImageFailure {
        ImageFailure { image_id: image_id.clone(), failure_code, failure_reason: failure_reason.into() }
    }
}

/// ECR's `Image`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    registry_id: String,
    repository_name: String,
    image_id: ImageId,
    image_manifest: String,
    image_manifest_media_type: String,
}

/// What an `ImageIdentifier` names, once checked.
enum Named {
    Digest(Digest),
    Tag(String),
    Both(Digest, String),
}

impl Named {
    fn parse(id: &ImageId) -> Result<Named, ImageFailure> {
        let digest = id
            .image_digest
            .as_deref()
            .map(|d| {
                d.parse::<Digest>().map_err(|_| ImageFailure::new(id, "InvalidImageDigest", "Invalid image digest"))
            })
            .transpose()?;
        let tag = id
            .image_tag
            .as_deref()
            .map(|t| {
                validate_tag(t)
                    .map(|()| t.to_owned())
                    .map_err(|_| ImageFailure::new(id, "InvalidImageTag", "Invalid image tag"))
            })
            .transpose()?;
        match (digest, tag) {
            (Some(d), Some(t)) => Ok(Named::Both(d, t)),
            (Some(d), None) => Ok(Named::Digest(d)),
            (None, Some(t)) => Ok(Named::Tag(t)),
            (None, None) => Err(ImageFailure::new(id, "MissingDigestAndTag", "Missing image digest and tag")),
        }
    }

    /// The reference that finds the manifest.
    fn reference(&self) -> Reference {
        match self {
            Named::Digest(d) | Named::Both(d, _) => Reference::Digest(d.clone()),
            Named::Tag(t) => Reference::Tag(t.clone()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutInput {
    registry_id: Option<String>,
    repository_name: String,
    image_manifest: String,
    image_manifest_media_type: Option<String>,
    image_tag: Option<String>,
    image_digest: Option<String>,
}

#[derive(Serialize)]
struct PutOutput {
    image: Image,
}

pub async fn put_image(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PutInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:PutImage", &key).await?;
    let body = Bytes::from(input.image_manifest);
    let digest = Digest::of(Algorithm::Sha256, &body);
    if let Some(claimed) = &input.image_digest {
        let claimed = claimed
            .parse::<Digest>()
            .map_err(|_| ApiError::invalid_parameter("imageDigest", "must be a digest such as sha256:<hex>"))?;
        if claimed != digest {
            return Err(ApiError::new(
                Kind::ImageDigestDoesNotMatch,
                format!("The image digest {claimed} does not match the digest of the manifest, {digest}"),
            ));
        }
    }
    if let Some(t) = &input.image_tag {
        validate_tag(t).map_err(|e| ApiError::invalid_parameter("imageTag", &e.to_string()))?;
    }
    let tag = input.image_tag.clone();
    if already_pushed(&call, &key, &digest, tag.as_deref()).await? {
        return Err(ApiError::new(
            Kind::ImageAlreadyExists,
            format!(
                "Image with digest '{digest}' and tag '{}' already exists in the repository with name '{}' in \
                 registry with id '{}'",
                input.image_tag.as_deref().unwrap_or("null"),
                key.name,
                key.account
            ),
        ));
    }
    let reference = match &tag {
        Some(t) => Reference::Tag(t.clone()),
        None => Reference::Digest(digest.clone()),
    };
    let media_type = input.image_manifest_media_type.as_deref();
    let pushed = call.app.registry.put_manifest(&key, &reference, media_type, body.clone()).await.map_err(put_error)?;
    let stored = call.app.registry.stat_manifest(&key, &Reference::Digest(pushed.digest.clone()), &[]).await?;
    output(&PutOutput {
        image: Image {
            registry_id: key.account.clone(),
            repository_name: key.name.clone(),
            image_id: ImageId { image_digest: Some(pushed.digest.to_string()), image_tag: input.image_tag },
            image_manifest: String::from_utf8_lossy(&body).into_owned(),
            image_manifest_media_type: stored.media_type.clone(),
        },
    })
}

/// ECR refuses a push that changes nothing: the manifest is there, and so is the tag on it.
/// An immutable tag is left to the push itself, which refuses it with its own exception
/// (even for the same manifest).
async fn already_pushed(
    call: &Call<'_>,
    key: &RepositoryKey,
    digest: &Digest,
    tag: Option<&str>,
) -> Result<bool, ApiError> {
    let found = call.app.registry.images_by_digest(key, &[digest.to_string()]).await;
    let image = match found {
        Ok(mut images) => images.pop(),
        Err(RegistryError::RepositoryNotFound { .. }) => None, // the push reports it
        Err(e) => return Err(e.into()),
    };
    let Some(image) = image else { return Ok(false) };
    let Some(tag) = tag else { return Ok(true) };
    let repo = call.app.registry.repository(key).await?;
    Ok(!wharf_registry::tag_is_immutable(&repo.settings, tag) && image.tags.iter().any(|t| t == tag))
}

/// PutImage's names for what a push can run into.
fn put_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::ManifestBlobUnknown(d) => {
            ApiError::new(Kind::LayersNotFound, format!("The following layers were not found in the repository: {d}"))
        }
        RegistryError::ManifestChildUnknown(d) => ApiError::new(
            Kind::ReferencedImagesNotFound,
            format!("The following images referenced in the manifest list were not found: {d}"),
        ),
        RegistryError::ManifestInvalid(e) => ApiError::invalid_parameter("imageManifest", &e.to_string()),
        RegistryError::TooLarge(m) => ApiError::invalid_parameter("imageManifest", &m),
        e => e.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Vec<ImageId>,
    accepted_media_types: Option<Vec<String>>,
}

#[derive(Serialize)]
struct BatchGetOutput {
    images: Vec<Image>,
    failures: Vec<ImageFailure>,
}

pub async fn batch_get_image(call: Call<'_>) -> Result<Response, ApiError> {
    let input: BatchInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:BatchGetImage", &key).await?;
    check_length("imageIds", input.image_ids.len(), 100)?;
    if let Some(types) = &input.accepted_media_types {
        check_length("acceptedMediaTypes", types.len(), 100)?;
    }
    call.app.registry.repository(&key).await?;
    let accepted: Vec<&str> = input.accepted_media_types.iter().flatten().map(String::as_str).collect();
    let (mut images, mut failures) = (Vec::new(), Vec::new());
    for id in &input.image_ids {
        match get_one(&call, &key, id, &accepted).await? {
            Ok(image) => images.push(image),
            Err(failure) => failures.push(failure),
        }
    }
    output(&BatchGetOutput { images, failures })
}

/// One image of a BatchGetImage, recorded as a pull.
async fn get_one(
    call: &Call<'_>,
    key: &RepositoryKey,
    id: &ImageId,
    accepted: &[&str],
) -> Result<Result<Image, ImageFailure>, ApiError> {
    let named = match Named::parse(id) {
        Ok(n) => n,
        Err(failure) => return Ok(Err(failure)),
    };
    let not_found = || ImageFailure::new(id, "ImageNotFound", "Requested image not found");
    let manifest = match call.app.registry.pull_manifest(key, &named.reference(), accepted).await {
        Ok(m) => m,
        Err(RegistryError::ManifestNotFound) => return Ok(Err(not_found())),
        Err(RegistryError::ManifestNotAcceptable(t)) => {
            return Ok(Err(ImageFailure::new(
                id,
                "UnsupportedImageType",
                format!("The image's media type {t} is not among the accepted media types"),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if let Named::Both(_, tag) = &named
        && !tag_points_at(call, key, tag, &manifest.digest).await?
    {
        return Ok(Err(ImageFailure::new(id, "ImageTagDoesNotMatchDigest", "Invalid image tag for the digest")));
    }
    Ok(Ok(Image {
        registry_id: key.account.clone(),
        repository_name: key.name.clone(),
        image_id: ImageId { image_digest: Some(manifest.digest.clone()), image_tag: id.image_tag.clone() },
        image_manifest: String::from_utf8_lossy(&manifest.content).into_owned(),
        image_manifest_media_type: manifest.media_type.clone(),
    }))
}

async fn tag_points_at(call: &Call<'_>, key: &RepositoryKey, tag: &str, digest: &str) -> Result<bool, ApiError> {
    match call.app.registry.lookup_manifest(key, &Reference::Tag(tag.to_owned())).await {
        Ok(m) => Ok(m.digest == digest),
        Err(RegistryError::ManifestNotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchDeleteOutput {
    image_ids: Vec<ImageId>,
    failures: Vec<ImageFailure>,
}

pub async fn batch_delete_image(call: Call<'_>) -> Result<Response, ApiError> {
    let input: BatchInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:BatchDeleteImage", &key).await?;
    check_length("imageIds", input.image_ids.len(), 100)?;
    call.app.registry.repository(&key).await?;
    let (mut image_ids, mut failures) = (Vec::new(), Vec::new());
    for id in &input.image_ids {
        match delete_one(&call, &key, id).await? {
            Ok(deleted) => image_ids.push(deleted),
            Err(failure) => failures.push(failure),
        }
    }
    output(&BatchDeleteOutput { image_ids, failures })
}

/// ECR's rules: by digest, the image goes with all its tags; by tag, only the tag, and
/// the image too when that was its last tag (unless an index still lists it).
async fn delete_one(
    call: &Call<'_>,
    key: &RepositoryKey,
    id: &ImageId,
) -> Result<Result<ImageId, ImageFailure>, ApiError> {
    let named = match Named::parse(id) {
        Ok(n) => n,
        Err(failure) => return Ok(Err(failure)),
    };
    let registry = &call.app.registry;
    let found = match registry.lookup_manifest(key, &named.reference()).await {
        Ok(m) => m,
        Err(RegistryError::ManifestNotFound) => {
            return Ok(Err(ImageFailure::new(id, "ImageNotFound", "Requested image not found")));
        }
        Err(e) => return Err(e.into()),
    };
    let digest = found.digest.parse::<Digest>().map_err(|_| ApiError::new(Kind::Server, "stored digest unreadable"))?;
    let deleted = ImageId { image_digest: Some(found.digest.clone()), image_tag: id.image_tag.clone() };
    let tag = match named {
        Named::Digest(_) => None,
        Named::Tag(t) => Some(t),
        Named::Both(_, t) if tag_points_at(call, key, &t, &found.digest).await? => Some(t),
        Named::Both(..) => {
            return Ok(Err(ImageFailure::new(id, "ImageTagDoesNotMatchDigest", "Invalid image tag for the digest")));
        }
    };
    if let Some(tag) = tag {
        registry.delete_manifest(key, &Reference::Tag(tag)).await?;
        let left = registry.images_by_digest(key, std::slice::from_ref(&found.digest)).await?;
        if !left.first().is_some_and(|image| image.tags.is_empty()) {
            return Ok(Ok(deleted));
        }
    }
    match registry.delete_manifest(key, &Reference::Digest(digest)).await {
        Ok(()) | Err(RegistryError::ManifestNotFound) => Ok(Ok(deleted)),
        // The last tag is gone, but an index still lists the image: it stays, untagged.
        Err(RegistryError::InUse(_)) if id.image_tag.is_some() => Ok(Ok(deleted)),
        Err(RegistryError::InUse(reason)) => Ok(Err(ImageFailure::new(id, "ImageReferencedByManifestList", reason))),
        Err(e) => Err(e.into()),
    }
}

/// ECR's `ImageDetail`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageDetail {
    registry_id: String,
    repository_name: String,
    image_digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tags: Vec<String>,
    image_size_in_bytes: i64,
    image_pushed_at: f64,
    image_manifest_media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_recorded_pull_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_manifest_digest: Option<String>,
    image_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_archived_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_activated_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_scan_status: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_scan_findings_summary: Option<serde_json::Value>,
}

/// The details of images, with their scans.
async fn details(call: &Call<'_>, key: &RepositoryKey, images: Vec<ImageRecord>) -> Result<Vec<ImageDetail>, ApiError> {
    let digests: Vec<String> = images.iter().map(|i| i.digest.clone()).collect();
    let scans = call.app.registry.scan_summaries(key, &digests).await?;
    Ok(images
        .into_iter()
        .map(|i| {
            let scan = scans.get(&i.digest);
            detail(key, i, scan)
        })
        .collect())
}

fn detail(key: &RepositoryKey, image: ImageRecord, scan: Option<&ScanSummary>) -> ImageDetail {
    ImageDetail {
        image_scan_status: scan.map(|s| report::scan_status(&s.status, s.description.as_deref())),
        image_scan_findings_summary: scan.filter(|s| s.status == scanning::COMPLETE).map(report::findings_summary),
        registry_id: key.account.clone(),
        repository_name: key.name.clone(),
        image_digest: image.digest,
        image_tags: image.tags,
        image_size_in_bytes: image.image_size,
        image_pushed_at: image.pushed_at as f64 / 1000.0,
        image_manifest_media_type: image.media_type,
        artifact_media_type: image.artifact_type,
        last_recorded_pull_time: image.last_pulled_at.map(|t| t as f64 / 1000.0),
        subject_manifest_digest: image.subject_digest,
        image_status: image.status.as_str(),
        last_archived_at: image.last_archived_at.map(|t| t as f64 / 1000.0),
        last_activated_at: image.last_activated_at.map(|t| t as f64 / 1000.0),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    tag_status: Option<String>,
    image_status: Option<String>,
}

/// The listing filter; `imageStatus` defaults to ACTIVE, as in ECR.
fn image_filter(filter: Option<Filter>) -> Result<ImageFilter, ApiError> {
    let filter = filter.unwrap_or_default();
    let tags = match filter.tag_status.as_deref() {
        None | Some("ANY") => TagStatus::Any,
        Some("TAGGED") => TagStatus::Tagged,
        Some("UNTAGGED") => TagStatus::Untagged,
        Some(other) => {
            return Err(ApiError::invalid_parameter(
                "filter.tagStatus",
                &format!("Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY] ({other})"),
            ));
        }
    };
    let status = match filter.image_status.as_deref() {
        None => Some(ImageStatus::Active),
        Some("ANY") => None,
        Some(other) => Some(ImageStatus::parse(other).ok_or_else(|| {
            ApiError::invalid_parameter(
                "filter.imageStatus",
                &format!("Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY] ({other})"),
            )
        })?),
    };
    Ok(ImageFilter { tags, status })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Option<Vec<ImageId>>,
    filter: Option<Filter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeOutput {
    image_details: Vec<ImageDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn describe_images(call: Call<'_>) -> Result<Response, ApiError> {
    let input: ListInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:DescribeImages", &key).await?;
    let filter = image_filter(input.filter)?;
    if let Some(ids) = input.image_ids {
        if input.next_token.is_some() || input.max_results.is_some() {
            return Err(paging::not_with_ids("imageIds"));
        }
        check_length("imageIds", ids.len(), 100)?;
        let image_details = details(&call, &key, named_images(&call, &key, &ids).await?).await?;
        return output(&DescribeOutput { image_details, next_token: None });
    }
    let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 1000, 100)?;
    let found = call.app.registry.describe_images(&key, filter, page.after.as_deref(), page.fetch()).await?;
    let (found, next_token) = page.split(found, |i| i.digest.clone());
    output(&DescribeOutput { image_details: details(&call, &key, found).await?, next_token })
}

/// ECR's `ImageNotFoundException` for an image id.
fn image_not_found(id: &ImageId, key: &RepositoryKey) -> ApiError {
    ApiError::new(
        Kind::ImageNotFound,
        format!(
            "The image with imageId {{imageDigest:'{}', imageTag:'{}'}} does not exist within the repository with \
             name '{}' in the registry with id '{}'",
            id.image_digest.as_deref().unwrap_or("null"),
            id.image_tag.as_deref().unwrap_or("null"),
            key.name,
            key.account
        ),
    )
}

/// The images named by ids; ECR throws `ImageNotFoundException` for any one missing.
pub(super) async fn named_images(
    call: &Call<'_>,
    key: &RepositoryKey,
    ids: &[ImageId],
) -> Result<Vec<ImageRecord>, ApiError> {
    let mut digests = Vec::with_capacity(ids.len());
    for id in ids {
        let named = Named::parse(id).map_err(|f| ApiError::invalid_parameter("imageIds", &f.failure_reason))?;
        let found = match call.app.registry.lookup_manifest(key, &named.reference()).await {
            Ok(m) => match &named {
                Named::Both(_, tag) if !tag_points_at(call, key, tag, &m.digest).await? => None,
                _ => Some(m),
            },
            Err(RegistryError::ManifestNotFound) => None,
            Err(e) => return Err(e.into()),
        };
        match found {
            Some(m) if !digests.contains(&m.digest) => digests.push(m.digest.clone()),
            Some(_) => {}
            None => return Err(image_not_found(id, key)),
        }
    }
    Ok(call.app.registry.images_by_digest(key, &digests).await?)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListOutput {
    image_ids: Vec<ImageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn list_images(call: Call<'_>) -> Result<Response, ApiError> {
    let input: ListInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:ListImages", &key).await?;
    let filter = image_filter(input.filter)?;
    let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 1000, 100)?;
    // The sort key is "<digest> <tag>"; neither contains a space.
    let after = page.after.as_deref().map(|a| a.split_once(' ').unwrap_or((a, "")));
    let found = call.app.registry.list_image_ids(&key, filter, after, page.fetch()).await?;
    let (found, next_token) = page.split(found, |(d, t)| format!("{d} {}", t.as_deref().unwrap_or("")));
    let image_ids = found.into_iter().map(|(d, t)| ImageId { image_digest: Some(d), image_tag: t }).collect();
    output(&ListOutput { image_ids, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrersInput {
    registry_id: Option<String>,
    repository_name: String,
    subject_id: SubjectId,
    filter: Option<ReferrersFilter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectId {
    image_digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrersFilter {
    artifact_types: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReferrersOutput {
    referrers: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn list_image_referrers(call: Call<'_>) -> Result<Response, ApiError> {
    let input: ReferrersInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    // ECR has no own action for it: reading referrers is reading images.
    call.authorize_repository("ecr:BatchGetImage", &key).await?;
    let subject = (input.subject_id.image_digest.parse::<Digest>())
        .map_err(|_| ApiError::invalid_parameter("subjectId.imageDigest", "must be a digest such as sha256:<hex>"))?;
    let types = input.filter.and_then(|f| f.artifact_types).unwrap_or_default();
    if types.len() > 5 {
        return Err(ApiError::invalid_parameter(
            "filter.artifactTypes",
            "Member must have length less than or equal to 5",
        ));
    }
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let page = paging::Page::new(input.next_token.as_deref(), input.max_results, 50, 20)?;
    let found = call.app.registry.referrers(&key, &subject, &types, page.after.as_deref(), page.limit()).await?;
    let next_token = found.next_after.as_deref().map(paging::token);
    let referrers = found.descriptors.into_iter().map(with_status).collect();
    output(&ReferrersOutput { referrers, next_token })
}

/// ECR's referrer shape is the OCI descriptor plus `artifactStatus`.
fn with_status(mut descriptor: serde_json::Value) -> serde_json::Value {
    descriptor["artifactStatus"] = "ACTIVE".into();
    descriptor
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageClassInput {
    registry_id: Option<String>,
    repository_name: String,
    image_id: ImageId,
    target_storage_class: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StorageClassOutput {
    registry_id: String,
    repository_name: String,
    image_id: ImageId,
    image_status: &'static str,
}

/// Archives an image or restores an archived one (§5.8): archived images cannot be pulled.
pub async fn update_image_storage_class(call: Call<'_>) -> Result<Response, ApiError> {
    let input: StorageClassInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:UpdateImageStorageClass", &key).await?;
    let target = match input.target_storage_class.as_str() {
        "STANDARD" => StorageClass::Standard,
        "ARCHIVE" => StorageClass::Archive,
        other => {
            return Err(ApiError::invalid_parameter(
                "targetStorageClass",
                &format!("Member must satisfy enum value set: [STANDARD, ARCHIVE] ({other})"),
            ));
        }
    };
    let named = Named::parse(&input.image_id).map_err(|f| ApiError::invalid_parameter("imageId", &f.failure_reason))?;
    let not_found = || image_not_found(&input.image_id, &key);
    if let Named::Both(digest, tag) = &named
        && !tag_points_at(&call, &key, tag, digest.as_str()).await?
    {
        return Err(not_found());
    }
    let (digest, status) = match call.app.registry.update_image_storage_class(&key, &named.reference(), target).await {
        Err(RegistryError::ManifestNotFound) => return Err(not_found()),
        other => other?,
    };
    output(&StorageClassOutput {
        registry_id: key.account.clone(),
        repository_name: key.name.clone(),
        image_id: ImageId { image_digest: Some(digest), image_tag: input.image_id.image_tag },
        image_status: status.as_str(),
    })
}
