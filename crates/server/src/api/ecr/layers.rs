//! Layers: `BatchCheckLayerAvailability`, `InitiateLayerUpload`, `UploadLayerPart`,
//! `CompleteLayerUpload` and `GetDownloadUrlForLayer`, over the same upload sessions and
//! blobs as `/v2`: a layer uploaded here is a blob `docker pull` fetches, an upload id is a
//! `/v2` session id, and the other way round.
//!
//! Where wharf differs from ECR: parts may be of any size up to 20 MiB (no
//! `LayerPartTooSmallException`); a layer's `mediaType` is not reported (wharf does not
//! record what a blob is); the download URL leads back to this server, not to S3; and
//! `LayerInaccessibleException` is never raised (any blob in the repository can be
//! downloaded, whether or not an image references it).

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wharf_blobs::{AppendCheck, Chunk};
use wharf_meta::RepositoryKey;
use wharf_oci::Digest;
use wharf_registry::RegistryError;

use super::{Call, check_length, output};
use crate::api::error::{ApiError, Kind};
use crate::connection;
use crate::oci::presigned;

/// The part size `InitiateLayerUpload` advises: ECR's documented quota for a part.
const PART_SIZE: u64 = 10 * 1024 * 1024;
/// The largest part accepted: ECR's model limit for `layerPartBlob`.
const MAX_PART_BYTES: usize = 20 * 1024 * 1024;
/// ECR's bound on `layerDigests` lists.
const MAX_DIGESTS: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckInput {
    registry_id: Option<String>,
    repository_name: String,
    layer_digests: Vec<String>,
}

#[derive(Serialize, Default)]
struct CheckOutput {
    layers: Vec<Layer>,
    failures: Vec<LayerFailure>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Layer {
    layer_digest: String,
    layer_availability: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_size: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayerFailure {
    layer_digest: String,
    failure_code: &'static str,
    failure_reason: String,
}

/// A digest not in the repository is `UNAVAILABLE`; one that is missing or malformed is a
/// failure, not an exception, so one bad item does not spoil the batch.
pub async fn batch_check_layer_availability(call: Call<'_>) -> Result<Response, ApiError> {
    let input: CheckInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    check_length("layerDigests", input.layer_digests.len(), MAX_DIGESTS)?;
    call.authorize_repository("ecr:BatchCheckLayerAvailability", &key).await?;
    let registry = &call.app.registry;
    registry.repository(&key).await?;
    let mut out = CheckOutput::default();
    for text in input.layer_digests {
        let digest = match check_digest(&text) {
            Ok(digest) => digest,
            Err(failure) => {
                out.failures.push(failure);
                continue;
            }
        };
        let layer_size = match registry.blob_size(&key, &digest).await {
            Ok(size) => Some(size),
            Err(RegistryError::BlobNotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let layer_availability = if layer_size.is_some() { "AVAILABLE" } else { "UNAVAILABLE" };
        out.layers.push(Layer { layer_digest: text, layer_availability, layer_size });
    }
    output(&out)
}

fn check_digest(text: &str) -> Result<Digest, LayerFailure> {
    let failure =
        |failure_code, failure_reason| LayerFailure { layer_digest: text.to_owned(), failure_code, failure_reason };
    if text.is_empty() {
        return Err(failure("MissingLayerDigest", "The layer digest is missing".into()));
    }
    text.parse().map_err(|e| failure("InvalidLayerDigest", format!("Invalid layer digest: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitiateOutput {
    upload_id: String,
    part_size: u64,
}

pub async fn initiate_layer_upload(call: Call<'_>) -> Result<Response, ApiError> {
    let input: RepositoryInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    call.authorize_repository("ecr:InitiateLayerUpload", &key).await?;
    let upload_id = call.app.registry.start_upload(&key).await?;
    output(&InitiateOutput { upload_id, part_size: PART_SIZE })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartInput {
    registry_id: Option<String>,
    repository_name: String,
    upload_id: String,
    part_first_byte: i64,
    part_last_byte: i64,
    /// Base64, as AWS JSON carries blobs.
    layer_part_blob: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartOutput {
    registry_id: String,
    repository_name: String,
    upload_id: String,
    last_byte_received: i64,
}

pub async fn upload_layer_part(call: Call<'_>) -> Result<Response, ApiError> {
    let input: PartInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    let upload = Upload::new(&key, input.upload_id)?;
    let first = non_negative("partFirstByte", input.part_first_byte)?;
    let last = non_negative("partLastByte", input.part_last_byte)?;
    let part = decode_part(&input.layer_part_blob)?;
    call.authorize_repository("ecr:UploadLayerPart", &key).await?;
    let registry = &call.app.registry;
    let declared = (last + 1).checked_sub(first);
    if declared != Some(part.len() as u64) {
        let received = registry.upload_status(&key, &upload.id).await.map_err(|e| upload.error(e))?;
        let message = format!(
            "The part from byte {first} to byte {last} does not match the {} bytes of layerPartBlob",
            part.len()
        );
        return Err(upload.invalid_part(received, message));
    }
    let check = AppendCheck { offset: Some(first), length: Some(part.len() as u64) };
    let body = Box::pin(futures_util::stream::once(async move { Ok::<_, std::io::Error>(part) }));
    let received = registry.append_upload(&key, &upload.id, Chunk::new(check, body)).await;
    let received = received.map_err(|e| upload.error(e))?;
    output(&PartOutput {
        registry_id: key.account.clone(),
        repository_name: key.name.clone(),
        last_byte_received: last_byte(received),
        upload_id: upload.id,
    })
}

fn decode_part(blob: &str) -> Result<Bytes, ApiError> {
    let bytes = STANDARD
        .decode(blob)
        .map_err(|e| ApiError::new(Kind::Serialization, format!("layerPartBlob is not valid base64: {e}")))?;
    if bytes.len() > MAX_PART_BYTES {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!(
                "Invalid parameter at 'layerPartBlob' failed to satisfy constraint: 'Member must have length less \
                 than or equal to {MAX_PART_BYTES}'"
            ),
        ));
    }
    Ok(Bytes::from(bytes))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteInput {
    registry_id: Option<String>,
    repository_name: String,
    upload_id: String,
    layer_digests: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompleteOutput {
    registry_id: String,
    repository_name: String,
    upload_id: String,
    layer_digest: String,
}

pub async fn complete_layer_upload(call: Call<'_>) -> Result<Response, ApiError> {
    let input: CompleteInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    let upload = Upload::new(&key, input.upload_id)?;
    check_length("layerDigests", input.layer_digests.len(), MAX_DIGESTS)?;
    // ECR takes a list but stores one layer per upload.
    let [digest] = input.layer_digests.as_slice() else {
        return Err(ApiError::new(
            Kind::InvalidParameter,
            format!(
                "Invalid parameter at 'layerDigests': wharf takes one digest per upload, not {}",
                input.layer_digests.len()
            ),
        ));
    };
    let digest = layer_digest("layerDigests", digest)?;
    call.authorize_repository("ecr:CompleteLayerUpload", &key).await?;
    let completed = call.app.registry.complete_layer_upload(&key, &upload.id, &digest).await;
    completed.map_err(|e| upload.error(e))?;
    output(&CompleteOutput {
        registry_id: key.account.clone(),
        repository_name: key.name.clone(),
        upload_id: upload.id,
        layer_digest: digest.to_string(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadInput {
    registry_id: Option<String>,
    repository_name: String,
    layer_digest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadOutput {
    download_url: String,
    layer_digest: String,
}

/// The URL is on the host the caller used, valid for 15 minutes, for whoever holds it.
pub async fn get_download_url_for_layer(call: Call<'_>) -> Result<Response, ApiError> {
    let input: DownloadInput = call.input()?;
    let key = call.repository_key(input.registry_id, input.repository_name)?;
    let digest = layer_digest("layerDigest", &input.layer_digest)?;
    call.authorize_repository("ecr:GetDownloadUrlForLayer", &key).await?;
    call.app.registry.blob_size(&key, &digest).await.map_err(|e| match e {
        RegistryError::BlobNotFound => ApiError::new(
            Kind::LayersNotFound,
            format!(
                "The layer with digest '{digest}' does not exist in the repository with name '{}' in the registry \
                 with id '{}'",
                key.name, key.account
            ),
        ),
        e => e.into(),
    })?;
    let token = call.app.access.presign_download(&key, &digest);
    let download_url = presigned::url(&connection::origin(call.parts), &token);
    output(&DownloadOutput { download_url, layer_digest: digest.to_string() })
}

/// The upload a call continues, for the errors that name it.
struct Upload<'a> {
    key: &'a RepositoryKey,
    id: String,
}

impl Upload<'_> {
    /// ECR's `UploadId` is a hyphenated UUID; any other form is an invalid parameter.
    fn new(key: &RepositoryKey, id: String) -> Result<Upload<'_>, ApiError> {
        // The hyphenated form is the only one of 36 characters `try_parse` accepts.
        if id.len() != 36 || uuid::Uuid::try_parse(&id).is_err() {
            return Err(ApiError::new(
                Kind::InvalidParameter,
                "Invalid parameter at 'uploadId' failed to satisfy constraint: 'must satisfy regular expression \
                 '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}''",
            ));
        }
        Ok(Upload { key, id })
    }

    fn error(&self, e: RegistryError) -> ApiError {
        match e {
            RegistryError::UploadNotFound => ApiError::new(
                Kind::UploadNotFound,
                format!(
                    "The upload with id '{}' does not exist in the repository with name '{}' in the registry with \
                     id '{}'",
                    self.id, self.key.name, self.key.account
                ),
            ),
            RegistryError::UploadOutOfOrder { current } => self.invalid_part(
                current,
                format!("The part does not start at byte {current}, where the upload ends: parts must be contiguous"),
            ),
            e => e.into(),
        }
    }

    /// ECR's `InvalidLayerPartException` says where the upload stands.
    fn invalid_part(&self, received: u64, message: String) -> ApiError {
        ApiError::new(Kind::InvalidLayerPart, message)
            .with_member("registryId", self.key.account.as_str())
            .with_member("repositoryName", self.key.name.as_str())
            .with_member("uploadId", self.id.as_str())
            .with_member("lastValidByteReceived", last_byte(received))
    }
}

/// The offset of the last of `len` bytes; -1 when there are none, so that it plus one is
/// always where the next part starts.
fn last_byte(len: u64) -> i64 {
    len as i64 - 1
}

fn non_negative(member: &str, value: i64) -> Result<u64, ApiError> {
    u64::try_from(value)
        .map_err(|_| ApiError::invalid_parameter(member, "Member must have value greater than or equal to 0"))
}

fn layer_digest(member: &str, text: &str) -> Result<Digest, ApiError> {
    text.parse().map_err(|e| {
        ApiError::invalid_parameter(
            member,
            &format!("must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'' ({e})"),
        )
    })
}
