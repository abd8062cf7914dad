//! Authentication and authorisation on `/v2`: HTTP Basic with user `AWS` and a token
//! from `GetAuthorizationToken`, then the `ecr:` actions each request stands for
//! (shared/ecr-api.md §6.1), on the repository's ARN.

use base64::Engine;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode, header};
use wharf_meta::RepositoryKey;
use wharf_oci::ErrorCode;
use wharf_registry::RegistryError;
use wharf_registry::access::{AuthError, Caller, RequestInfo, Target};

use super::OciError;
use super::route::Route;
use crate::{App, connection};

/// The authenticated caller of a `/v2` request addressed to `region`.
pub async fn authenticate(app: &App, parts: &Parts, region: &str) -> Result<Caller, OciError> {
    let challenge = || {
        unauthorized(parts, "authentication required: docker login with user AWS and a token from get-login-password")
    };
    let password = basic_password(parts).ok_or_else(challenge)?;
    app.access.authenticate_token(&password, region).await.map_err(|e| match e {
        AuthError::TokenExpired => OciError::new(ErrorCode::Denied, e.to_string()),
        AuthError::Meta(e) => {
            tracing::error!(error = %e, "authenticating a registry request failed");
            OciError::internal()
        }
        e => unauthorized(parts, &e.to_string()),
    })
}

/// The password of `Authorization: Basic base64(AWS:<password>)`.
fn basic_password(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (user == "AWS").then(|| password.to_owned())
}

/// 401 with the challenge that makes docker send its stored credentials.
fn unauthorized(parts: &Parts, message: &str) -> OciError {
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if connection::is_tls(parts) { "https" } else { "http" };
    let challenge = format!("Basic realm=\"{scheme}://{host}/\",service=\"ecr.amazonaws.com\"");
    let mut err = OciError::new(ErrorCode::Unauthorized, message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        err = err.with_challenge(value);
    }
    err
}

/// Checks that `caller` may do what `route` + `method` stand for.
pub async fn authorize(
    app: &App,
    caller: &Caller,
    parts: &Parts,
    route: &Route<'_>,
    account: &str,
    region: &str,
) -> Result<(), OciError> {
    let info = connection::request_info(parts);
    let (name, actions): (&str, &[&str]) = match (route, &parts.method) {
        (Route::Base, _) => return Ok(()),
        (Route::Catalog, &Method::GET) => ("*", &["ecr:DescribeRepositories"]),
        (Route::Tags { name }, &Method::GET) => (name, &["ecr:ListImages"]),
        (Route::Referrers { name, .. }, &Method::GET) => (name, &["ecr:BatchGetImage"]),
        (Route::Manifest { name, .. }, &Method::GET | &Method::HEAD) => (name, &["ecr:BatchGetImage"]),
        (Route::Manifest { name, .. }, &Method::PUT) => (name, &["ecr:PutImage"]),
        (Route::Manifest { name, .. } | Route::Blob { name, .. }, &Method::DELETE) => (name, &["ecr:BatchDeleteImage"]),
        (Route::Blob { name, .. }, &Method::GET) => (name, &["ecr:GetDownloadUrlForLayer"]),
        // A HEAD is a pull's look before download or a push's check for what exists.
        (Route::Blob { name, .. }, &Method::HEAD) => {
            (name, &["ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"])
        }
        (Route::Uploads { name }, &Method::POST) => (name, &["ecr:InitiateLayerUpload"]),
        (Route::Upload { name, .. }, &Method::PUT) => (name, &["ecr:CompleteLayerUpload"]),
        (Route::Upload { name, .. }, _) => (name, &["ecr:UploadLayerPart"]),
        // Anything else is answered UNSUPPORTED without touching data.
        _ => return Ok(()),
    };
    let key = RepositoryKey { account: account.to_owned(), region: region.to_owned(), name: name.to_owned() };
    let id = repository_id(app, &key).await?;
    let target = Target::Repository { key: &key, id };
    app.access.authorize_any(caller, actions, target, &info).await.map_err(denied)?;
    // A push that would create the repository from a CREATE_ON_PUSH template needs the
    // right to create it.
    let pushes = matches!(
        (route, &parts.method),
        (Route::Uploads { .. }, &Method::POST) | (Route::Manifest { .. }, &Method::PUT)
    );
    if id.is_none() && pushes && app.registry.creates_on_push(&key).await? {
        app.access.authorize(caller, "ecr:CreateRepository", target, &info).await.map_err(denied)?;
    }
    // Requests that also carry bytes need the upload-part action as well, the way a
    // monolithic push is InitiateLayerUpload + UploadLayerPart + CompleteLayerUpload.
    let carries_bytes = match route {
        Route::Uploads { .. } => parts.uri.query().is_some_and(|q| q.contains("digest=")),
        Route::Upload { .. } => parts.method == Method::PUT && super::headers::has_body(&parts.headers),
        _ => false,
    };
    if carries_bytes {
        app.access.authorize(caller, "ecr:UploadLayerPart", target, &info).await.map_err(denied)?;
        if matches!(route, Route::Uploads { .. }) {
            app.access.authorize(caller, "ecr:CompleteLayerUpload", target, &info).await.map_err(denied)?;
        }
    }
    Ok(())
}

/// Whether `caller` may read blobs of `source` (the condition for a cross-repository mount).
pub async fn may_read(
    app: &App,
    caller: &Caller,
    source: &RepositoryKey,
    info: &RequestInfo,
) -> Result<bool, OciError> {
    let id = repository_id(app, source).await?;
    let target = Target::Repository { key: source, id };
    match app.access.authorize(caller, "ecr:GetDownloadUrlForLayer", target, info).await {
        Ok(()) => Ok(true),
        Err(RegistryError::AccessDenied(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The id of the repository if it exists: its repository policy takes part.
async fn repository_id(app: &App, key: &RepositoryKey) -> Result<Option<i64>, OciError> {
    match app.registry.repository(key).await {
        Ok(repo) => Ok(Some(repo.id)),
        Err(RegistryError::RepositoryNotFound { .. } | RegistryError::InvalidName(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn denied(e: RegistryError) -> OciError {
    match e {
        RegistryError::AccessDenied(message) => {
            OciError::new(ErrorCode::Denied, message).with_status(StatusCode::FORBIDDEN)
        }
        e => e.into(),
    }
}
