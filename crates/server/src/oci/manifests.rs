//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use wharf_meta::RepositoryKey;
use wharf_oci::{ErrorCode, NameError, Reference};
use wharf_registry::RegistryError;

use super::headers::accepted;
use super::{OciError, empty, finish, location};
use crate::App;

fn parse_reference(text: &str) -> Result<Reference, OciError> {
    Reference::parse(text).map_err(|e| match e {
        NameError::InvalidDigest(d) => RegistryError::InvalidDigest(format!("invalid digest '{text}': {d}")).into(),
        e => RegistryError::InvalidTag(e).into(),
    })
}

pub async fn get(app: &App, key: &RepositoryKey, reference: &str, parts: &Parts) -> Result<Response, OciError> {
    let reference = parse_reference(reference)?;
    let accept = accepted(&parts.headers);
    let manifest = if parts.method == Method::HEAD {
        app.registry.stat_manifest(key, &reference, &accept).await?
    } else {
        app.registry.pull_manifest(key, &reference, &accept).await?
    };
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, manifest.media_type.as_str())
        .header(header::CONTENT_LENGTH, manifest.content.len())
        .header("Docker-Content-Digest", manifest.digest.as_str())
        .header(header::ETAG, format!("\"{}\"", manifest.digest));
    let body = if parts.method == Method::HEAD { Body::empty() } else { Body::from(manifest.content.clone()) };
    finish(builder, body)
}

pub async fn put(
    app: &App,
    key: &RepositoryKey,
    reference: &str,
    parts: &Parts,
    body: Body,
) -> Result<Response, OciError> {
    let reference = parse_reference(reference)?;
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let limit = app.registry.config().max_manifest_bytes;
    let body = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.downcast_ref::<LengthLimitError>().is_some() {
            RegistryError::TooLarge(format!("manifest exceeds the limit of {limit} bytes")).into()
        } else {
            OciError::new(ErrorCode::ManifestInvalid, format!("reading the manifest failed: {e}"))
        }
    })?;
    let pushed = app.registry.put_manifest(key, &reference, content_type.as_deref(), body.to_bytes()).await?;
    let mut builder = empty(StatusCode::CREATED)
        .header(header::LOCATION, location(key, format_args!("manifests/{}", pushed.digest)))
        .header("Docker-Content-Digest", pushed.digest.as_str());
    if let Some(subject) = &pushed.subject {
        builder = builder.header("OCI-Subject", subject.as_str());
    }
    finish(builder, Body::empty())
}

pub async fn delete(app: &App, key: &RepositoryKey, reference: &str) -> Result<Response, OciError> {
    let reference = parse_reference(reference)?;
    app.registry.delete_manifest(key, &reference).await?;
    finish(empty(StatusCode::ACCEPTED), Body::empty())
}
