//! `/v2/<name>/blobs/uploads/…`: open (or push in one request, or mount), append, status,
//! close and cancel.

use axum::body::Body;
use axum::response::Response;
use futures_util::TryStreamExt;
use http::request::Parts;
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use wharf_blobs::{AppendCheck, Chunk};
use wharf_meta::RepositoryKey;
use wharf_oci::{Digest, ErrorCode};

use wharf_registry::access::Caller;

use super::auth;
use super::blobs::parse_digest;
use super::error::upload_range;
use super::headers::{chunk_range, content_length, has_body};
use super::{OciError, empty, finish, location, query_params};
use crate::{App, connection};

#[derive(Deserialize, Default)]
struct UploadQuery {
    digest: Option<String>,
    mount: Option<String>,
    from: Option<String>,
}

/// The request body as an upload chunk, with what its headers declare about it.
fn upload_body(headers: &HeaderMap, body: Body) -> Result<Chunk, OciError> {
    let declared = content_length(headers);
    let range = chunk_range(headers)
        .map_err(|()| OciError::new(ErrorCode::BlobUploadInvalid, "malformed Content-Range; expected <start>-<end>"))?;
    let check = match (range, declared) {
        (Some((_, range_len)), Some(len)) if range_len != len => {
            return Err(OciError::new(
                ErrorCode::SizeInvalid,
                format!("Content-Range covers {range_len} bytes but Content-Length is {len}"),
            ));
        }
        (Some((offset, len)), _) => AppendCheck { offset: Some(offset), length: Some(len) },
        (None, declared) => AppendCheck { offset: None, length: declared },
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    Ok(Chunk::new(check, Box::pin(stream)))
}

fn required_digest(q: &UploadQuery) -> Result<Digest, OciError> {
    let text = q
        .digest
        .as_deref()
        .ok_or_else(|| OciError::new(ErrorCode::DigestInvalid, "the digest query parameter is required"))?;
    parse_digest(text)
}

fn blob_created(key: &RepositoryKey, digest: &Digest) -> Result<Response, OciError> {
    let builder = empty(StatusCode::CREATED)
        .header(header::LOCATION, location(key, format_args!("blobs/{digest}")))
        .header("Docker-Content-Digest", digest.as_str());
    finish(builder, Body::empty())
}

fn session_response(status: StatusCode, key: &RepositoryKey, id: &str, len: u64) -> Result<Response, OciError> {
    let builder = empty(status)
        .header(header::LOCATION, location(key, format_args!("blobs/uploads/{id}")))
        .header(header::RANGE, upload_range(len))
        .header("Docker-Upload-UUID", id);
    finish(builder, Body::empty())
}

pub async fn start(
    app: &App,
    caller: &Caller,
    key: &RepositoryKey,
    parts: &Parts,
    body: Body,
) -> Result<Response, OciError> {
    let q: UploadQuery = query_params(&parts.uri)?;
    if let (Some(mount), Some(from)) = (&q.mount, &q.from) {
        let digest = parse_digest(mount)?;
        let from = RepositoryKey { name: from.clone(), ..key.clone() };
        // Mounts are an account setting (off by default, as in ECR). Without it, or without
        // read access to the source, a mount quietly becomes a normal upload, as when the
        // blob is not there: the answer reveals nothing about the source.
        let enabled = app.access.blob_mounting(&key.account, &key.region).await?;
        if enabled
            && auth::may_read(app, caller, &from, &connection::request_info(parts)).await?
            && app.registry.mount_blob(key, &digest, &from).await?.is_some()
        {
            return blob_created(key, &digest);
        }
    } else if q.digest.is_some() {
        let digest = required_digest(&q)?;
        app.registry.push_blob(key, &digest, upload_body(&parts.headers, body)?).await?;
        return blob_created(key, &digest);
    }
    let id = app.registry.start_upload(key).await?;
    session_response(StatusCode::ACCEPTED, key, &id, 0)
}

pub async fn status(app: &App, key: &RepositoryKey, id: &str) -> Result<Response, OciError> {
    let len = app.registry.upload_status(key, id).await?;
    session_response(StatusCode::NO_CONTENT, key, id, len)
}

pub async fn patch(app: &App, key: &RepositoryKey, id: &str, parts: &Parts, body: Body) -> Result<Response, OciError> {
    let len = app.registry.append_upload(key, id, upload_body(&parts.headers, body)?).await?;
    session_response(StatusCode::ACCEPTED, key, id, len)
}

pub async fn finish_upload(
    app: &App,
    key: &RepositoryKey,
    id: &str,
    parts: &Parts,
    body: Body,
) -> Result<Response, OciError> {
    let q: UploadQuery = query_params(&parts.uri)?;
    let digest = required_digest(&q)?;
    let last = if carries_chunk(&parts.headers) { Some(upload_body(&parts.headers, body)?) } else { None };
    app.registry.finish_upload(key, id, &digest, last).await?;
    blob_created(key, &digest)
}

fn carries_chunk(headers: &HeaderMap) -> bool {
    has_body(headers) || headers.contains_key(header::CONTENT_RANGE)
}

pub async fn cancel(app: &App, key: &RepositoryKey, id: &str) -> Result<Response, OciError> {
    app.registry.cancel_upload(key, id).await?;
    finish(empty(StatusCode::NO_CONTENT), Body::empty())
}
