//! `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>`.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::{Method, StatusCode, header};
use wharf_meta::RepositoryKey;
use wharf_oci::{Digest, ErrorCode};

use super::headers::{RangeRequest, blob_range};
use super::{OciError, empty, finish};
use crate::App;

pub fn parse_digest(text: &str) -> Result<Digest, OciError> {
    text.parse().map_err(|e| OciError::new(ErrorCode::DigestInvalid, format!("invalid digest '{text}': {e}")))
}

pub async fn get(app: &App, key: &RepositoryKey, digest: &str, parts: &Parts) -> Result<Response, OciError> {
    send(app, key, &parse_digest(digest)?, parts).await
}

/// A blob of `key`'s repository, or the part `Range` asks for (`HEAD`: the headers only).
/// Also how presigned download URLs answer.
pub async fn send(app: &App, key: &RepositoryKey, digest: &Digest, parts: &Parts) -> Result<Response, OciError> {
    let size = app.registry.blob_size(key, digest).await?;
    let (status, start, end) = match blob_range(&parts.headers, size) {
        RangeRequest::Whole => (StatusCode::OK, 0, size),
        RangeRequest::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeRequest::Unsatisfiable => {
            let builder =
                empty(StatusCode::RANGE_NOT_SATISFIABLE).header(header::CONTENT_RANGE, format!("bytes */{size}"));
            return finish(builder, Body::empty());
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header("Docker-Content-Digest", digest.as_str())
        .header(header::ETAG, format!("\"{digest}\""))
        // Content-addressed: the bytes behind a digest never change.
        .header(header::CACHE_CONTROL, "max-age=31536000");
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", end - 1));
    }
    if parts.method == Method::HEAD || start == end {
        return finish(builder, Body::empty());
    }
    let stream = app.registry.read_blob(digest, start, end).await?;
    finish(builder, Body::from_stream(stream))
}

pub async fn delete(app: &App, key: &RepositoryKey, digest: &str) -> Result<Response, OciError> {
    let digest = parse_digest(digest)?;
    app.registry.delete_blob(key, &digest).await?;
    finish(empty(StatusCode::ACCEPTED).header("Docker-Content-Digest", digest.as_str()), Body::empty())
}
