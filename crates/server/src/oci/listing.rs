//! Lists: `/v2/_catalog`, `/v2/<name>/tags/list` (both paged with `n`/`last` and a
//! `Link` header) and `/v2/<name>/referrers/<digest>`.

use axum::body::Body;
use axum::response::Response;
use http::{StatusCode, Uri, header};
use serde::{Deserialize, Serialize};
use wharf_meta::RepositoryKey;
use wharf_oci::{ErrorCode, media_type};

use super::blobs::parse_digest;
use super::{OciError, finish, query_params};
use crate::App;

#[derive(Deserialize)]
struct Page {
    n: Option<String>,
    last: Option<String>,
}

impl Page {
    /// The page size asked for, capped at the configured maximum.
    fn limit(&self, max: i64) -> Result<i64, OciError> {
        match &self.n {
            None => Ok(max),
            Some(n) => n.parse::<i64>().ok().filter(|&n| n >= 0).map(|n| n.min(max)).ok_or_else(|| {
                OciError::new(ErrorCode::Unsupported, format!("n must be a non-negative integer, not '{n}'"))
                    .with_status(StatusCode::BAD_REQUEST)
            }),
        }
    }
}

/// A JSON page with `Link: <path?n=&last=>; rel="next"` when more follow.
fn page_response(
    body: serde_json::Value,
    path: &str,
    limit: i64,
    next_after: Option<&str>,
) -> Result<Response, OciError> {
    let mut builder = Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "application/json");
    if let Some(last) = next_after {
        builder = builder.header(header::LINK, format!("<{path}?n={limit}&last={last}>; rel=\"next\""));
    }
    finish(builder, Body::from(body.to_string()))
}

pub async fn tags(app: &App, key: &RepositoryKey, uri: &Uri) -> Result<Response, OciError> {
    let page: Page = query_params(uri)?;
    let limit = page.limit(app.max_page_size)?;
    let (tags, more) = app.registry.list_tags(key, page.last.as_deref(), limit).await?;
    let next = if more { tags.last().map(String::as_str) } else { None };
    let body = serde_json::json!({ "name": key.name, "tags": tags });
    page_response(body, &format!("/v2/{}/tags/list", key.name), limit, next)
}

pub async fn catalog(app: &App, account: &str, region: &str, uri: &Uri) -> Result<Response, OciError> {
    let page: Page = query_params(uri)?;
    let limit = page.limit(app.max_page_size)?;
    let found = app.registry.describe_repositories(account, region, page.last.as_deref(), limit + 1).await?;
    let mut names: Vec<String> = found.into_iter().map(|r| r.key.name).collect();
    let more = names.len() as i64 > limit;
    names.truncate(limit as usize);
    let next = if more { names.last().map(String::as_str) } else { None };
    page_response(serde_json::json!({ "repositories": names }), "/v2/_catalog", limit, next)
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReferrersQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    /// Where a page starts (ours: the `Link` of the previous page sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
}

/// The referrers index, a page of at most `max_page_size` descriptors; `Link` leads on.
pub async fn referrers(app: &App, key: &RepositoryKey, digest: &str, uri: &Uri) -> Result<Response, OciError> {
    let digest = parse_digest(digest)?;
    let mut q: ReferrersQuery = query_params(uri)?;
    let types: Vec<&str> = q.artifact_type.as_deref().into_iter().collect();
    let found = app.registry.referrers(key, &digest, &types, q.last.as_deref(), app.max_page_size).await?;
    let mut builder = Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, media_type::OCI_INDEX);
    if !types.is_empty() {
        builder = builder.header("OCI-Filters-Applied", "artifactType");
    }
    if let Some(after) = found.next_after.clone() {
        q.last = Some(after);
        let query = serde_urlencoded::to_string(&q).map_err(|_| OciError::internal())?;
        builder = builder.header(header::LINK, format!("</v2/{}/referrers/{digest}?{query}>; rel=\"next\"", key.name));
    }
    finish(builder, Body::from(found.index()))
}
