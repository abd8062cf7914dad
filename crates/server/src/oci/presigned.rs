//! `GET`/`HEAD /presigned/blobs/<token>`: the URLs `GetDownloadUrlForLayer` hands out, in
//! place of ECR's presigned S3 URLs. The token is the only credential. The blob is served
//! exactly as `GET /v2/<name>/blobs/<digest>` serves it, ranges included; a bad or expired
//! token answers 403 `DENIED`, a blob no longer in the repository 404 `BLOB_UNKNOWN`, with
//! the distribution API's error body.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, header};
use wharf_oci::ErrorCode;

use super::{OciError, blobs};
use crate::App;

const PREFIX: &str = "/presigned/blobs/";
/// The router's pattern for `PREFIX` + token.
pub const ROUTE: &str = "/presigned/blobs/{token}";

/// The download URL for `token` on the server reached at `origin` (`scheme://host`).
pub fn url(origin: &str, token: &str) -> String {
    format!("{origin}{PREFIX}{token}")
}

/// The path as it may be logged: without the token, which is a credential.
pub fn redact(path: &str) -> Option<&'static str> {
    path.starts_with(PREFIX).then_some("/presigned/blobs/<token>")
}

pub async fn download(State(app): State<Arc<App>>, Path(token): Path<String>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match send(&app, &token, &parts).await {
        Ok(mut response) => {
            // Whoever holds the URL may read the blob only until it expires: no shared cache
            // may go on serving it.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn send(app: &App, token: &str, parts: &Parts) -> Result<Response, OciError> {
    let (key, digest) =
        app.access.check_download(token).map_err(|e| OciError::new(ErrorCode::Denied, e.to_string()))?;
    blobs::send(app, &key, &digest, parts).await
}
