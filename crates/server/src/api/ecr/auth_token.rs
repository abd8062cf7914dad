//! `GetAuthorizationToken`: the docker login password.

use axum::response::Response;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{Call, output};
use crate::api::error::ApiError;
use crate::connection;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    /// Deprecated in ECR: the token works for every registry the caller may use. Each id
    /// still gets its own entry, with the endpoint of that registry (see
    /// `Hosts::proxy_endpoint`).
    registry_ids: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationData {
    authorization_token: String,
    expires_at: i64,
    proxy_endpoint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    authorization_data: Vec<AuthorizationData>,
}

pub async fn get_authorization_token(call: Call<'_>) -> Result<Response, ApiError> {
    let input: Input = call.input()?;
    let account = call.authorize_registry("ecr:GetAuthorizationToken").await?;
    let registries = match input.registry_ids {
        Some(ids) if !ids.is_empty() => {
            ids.into_iter().map(|id| call.registry_id(Some(id))).collect::<Result<Vec<_>, _>>()?
        }
        _ => vec![account],
    };
    let (token, expires_at) = call.app.access.issue_token(&call.caller, &call.region);
    let authorization_token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{token}"));
    let host = call.parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
    let tls = connection::is_tls(call.parts);
    let authorization_data = registries
        .iter()
        .map(|registry| AuthorizationData {
            authorization_token: authorization_token.clone(),
            expires_at,
            proxy_endpoint: call.app.hosts.proxy_endpoint(host, registry, &call.region, tls),
        })
        .collect();
    output(&Output { authorization_data })
}
