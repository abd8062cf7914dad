//! The OCI Distribution API (`/v2/…`): one dispatcher that reads the path from its end
//! (repository names contain `/`), and one module per resource; and the presigned blob
//! downloads of the ECR API, which answer the same way.

mod auth;
mod blobs;
mod error;
mod headers;
mod listing;
mod manifests;
pub mod presigned;
mod route;
mod uploads;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Method, StatusCode, header};
use wharf_meta::RepositoryKey;
use wharf_oci::ErrorCode;

use crate::App;
use crate::host::HostError;
pub use error::OciError;
use route::Route;

/// Every `/v2` request lands here.
pub async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    match handle(&app, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn handle(app: &App, request: Request) -> Result<Response, OciError> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let rest = if path == "/v2" { "" } else { path.strip_prefix("/v2/").unwrap_or(path) };
    let route =
        route::parse(rest).ok_or_else(|| OciError::new(ErrorCode::Unsupported, "unknown endpoint").not_found())?;
    let (account, region) = registry(app, &parts)?;
    let caller = auth::authenticate(app, &parts, region).await?;
    auth::authorize(app, &caller, &parts, &route, account, region).await?;
    let key =
        |name: &str| RepositoryKey { account: account.to_owned(), region: region.to_owned(), name: name.to_owned() };
    let method = parts.method.clone();
    match (route, method) {
        (Route::Base, Method::GET | Method::HEAD) => {
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{}").into_response())
        }
        (Route::Catalog, Method::GET) => listing::catalog(app, account, region, &parts.uri).await,
        (Route::Tags { name }, Method::GET) => listing::tags(app, &key(name), &parts.uri).await,
        (Route::Referrers { name, digest }, Method::GET) => {
            listing::referrers(app, &key(name), digest, &parts.uri).await
        }
        (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
            manifests::get(app, &key(name), reference, &parts).await
        }
        (Route::Manifest { name, reference }, Method::PUT) => {
            manifests::put(app, &key(name), reference, &parts, body).await
        }
        (Route::Manifest { name, reference }, Method::DELETE) => manifests::delete(app, &key(name), reference).await,
        (Route::Blob { name, digest }, Method::GET | Method::HEAD) => blobs::get(app, &key(name), digest, &parts).await,
        (Route::Blob { name, digest }, Method::DELETE) => blobs::delete(app, &key(name), digest).await,
        (Route::Uploads { name }, Method::POST) => uploads::start(app, &caller, &key(name), &parts, body).await,
        (Route::Upload { name, id }, Method::GET) => uploads::status(app, &key(name), id).await,
        (Route::Upload { name, id }, Method::PATCH) => uploads::patch(app, &key(name), id, &parts, body).await,
        (Route::Upload { name, id }, Method::PUT) => uploads::finish_upload(app, &key(name), id, &parts, body).await,
        (Route::Upload { name, id }, Method::DELETE) => uploads::cancel(app, &key(name), id).await,
        (_, method) => Err(OciError::new(ErrorCode::Unsupported, format!("method {method} is not supported here"))),
    }
}

fn registry<'a>(app: &'a App, parts: &'a Parts) -> Result<(&'a str, &'a str), OciError> {
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| parts.uri.host());
    app.hosts.registry(host).map_err(|HostError::RegionNotServed(region)| {
        OciError::new(ErrorCode::NameUnknown, format!("region '{region}' is not served by this registry"))
    })
}

/// `/v2/<name>/…` for Location headers.
fn location(key: &RepositoryKey, tail: std::fmt::Arguments<'_>) -> String {
    format!("/v2/{}/{tail}", key.name)
}

/// The query string as `T`; absent parameters are `None`.
fn query_params<T: serde::de::DeserializeOwned>(uri: &http::Uri) -> Result<T, OciError> {
    axum::extract::Query::<T>::try_from_uri(uri).map(|q| q.0).map_err(|e| {
        OciError::new(ErrorCode::Unsupported, format!("malformed query string: {e}"))
            .with_status(StatusCode::BAD_REQUEST)
    })
}

fn empty(status: StatusCode) -> http::response::Builder {
    Response::builder().status(status).header(header::CONTENT_LENGTH, "0")
}

fn finish(builder: http::response::Builder, body: Body) -> Result<Response, OciError> {
    builder.body(body).map_err(|e| {
        tracing::error!(error = %e, "building a response failed");
        OciError::internal()
    })
}
