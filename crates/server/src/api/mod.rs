//! The AWS API front door, `POST /`: the ECR API (AWS JSON 1.1, chosen by
//! `X-Amz-Target`) and the parts of STS that credentials need (AWS Query protocol, a form
//! body with `Action=`). Both authenticate with SigV4 and share one error type that each
//! renders in its own wire format.

mod ecr;
mod error;
mod sts;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::header;
use http::request::Parts;
use wharf_iam::sigv4::{self, HttpRequest};
use wharf_registry::access::Caller;

use crate::App;
pub use error::{ApiError, Protocol};

const ECR_TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";

/// Every `POST /` lands here.
pub async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let protocol = protocol(&parts);
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = match read_body(body, app.max_api_body_bytes).await {
        Ok(body) => match protocol {
            Protocol::Json => ecr::handle(&app, &parts, &body).await,
            Protocol::Query => sts::handle(&app, &parts, &body, &request_id).await,
        },
        Err(e) => Err(e),
    };
    let response = result.unwrap_or_else(|e| e.into_response(protocol, &request_id));
    with_request_id(response, &request_id)
}

/// ECR calls carry `X-Amz-Target`; STS calls are forms.
fn protocol(parts: &Parts) -> Protocol {
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form && !parts.headers.contains_key("x-amz-target") { Protocol::Query } else { Protocol::Json }
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            error::Kind::InvalidParameter,
            format!("request body too large or unreadable (limit {limit} bytes)"),
        )
    })
}

/// Checks the SigV4 signature for `service`; returns the caller and the region it signed for.
async fn authenticate(app: &App, parts: &Parts, body: &[u8], service: &str) -> Result<(Caller, String), ApiError> {
    let mut headers: Vec<(&str, &str)> =
        parts.headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect();
    // HTTP/2 carries the host as `:authority`, which SigV4 signs as `host`.
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        headers.push(("host", authority.as_str()));
    }
    let request = HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
    };
    let payload = sigv4::sha256_hex(body);
    Ok(app.access.authenticate_request(&request, &payload, service, app.hosts.regions()).await?)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = http::HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}
