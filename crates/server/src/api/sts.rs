//! The STS operations that credentials need, in the AWS Query protocol (form in, XML
//! out): `GetCallerIdentity` and `AssumeRole`.

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use http::header;
use http::request::Parts;
use wharf_iam::PrincipalKind;
use wharf_registry::RegistryError;
use wharf_registry::access::Caller;

use super::authenticate;
use super::error::{ApiError, Kind};
use crate::{App, connection};

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub async fn handle(app: &App, parts: &Parts, body: &[u8], request_id: &str) -> Result<Response, ApiError> {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::new(Kind::Serialization, format!("malformed form body: {e}")))?;
    let action = form.get("Action").map(String::as_str).unwrap_or("");
    let (caller, _region) = authenticate(app, parts, body, "sts").await?;
    let result = match action {
        "GetCallerIdentity" => get_caller_identity(app, &caller).await?,
        "AssumeRole" => assume_role(app, parts, &caller, &form).await?,
        other => {
            return Err(ApiError::new(
                Kind::UnknownOperation,
                format!("Could not find operation {other} for version 2011-06-15"),
            ));
        }
    };
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    );
    Ok(([(header::CONTENT_TYPE, "text/xml")], body).into_response())
}

async fn get_caller_identity(app: &App, caller: &Caller) -> Result<String, ApiError> {
    let principal = &caller.principal;
    let meta = app.access.meta();
    // A lookup that fails is the server's fault, not an empty id.
    let user_id = match &principal.kind {
        PrincipalKind::Root => principal.account.clone(),
        PrincipalKind::User { name } => meta
            .user(&principal.account, name)
            .await
            .map_err(RegistryError::from)?
            .map(|u| u.user_id)
            .unwrap_or_default(),
        PrincipalKind::AssumedRole { role, session } => {
            let role = meta.role(&principal.account, role).await.map_err(RegistryError::from)?;
            format!("{}:{session}", role.map(|r| r.role_id).unwrap_or_default())
        }
    };
    Ok(format!(
        "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
        xml_escape(&principal.arn()),
        xml_escape(&user_id),
        principal.account
    ))
}

async fn assume_role(
    app: &App,
    parts: &Parts,
    caller: &Caller,
    form: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let field = |name: &str| {
        form.get(name).ok_or_else(|| ApiError::new(Kind::InvalidParameter, format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null")))
    };
    let role_arn = field("RoleArn")?;
    let session = field("RoleSessionName")?;
    let duration = match form.get("DurationSeconds") {
        None => None,
        Some(d) => Some(
            d.parse::<i64>().map_err(|_| ApiError::new(Kind::InvalidParameter, "DurationSeconds must be a number"))?,
        ),
    };
    let info = connection::request_info(parts);
    let creds = app.access.assume_role(caller, role_arn, session, duration, &info).await?;
    let expiration = time::OffsetDateTime::from_unix_timestamp(creds.expires_at)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    Ok(format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>",
        creds.access_key_id,
        xml_escape(&creds.secret_access_key),
        xml_escape(&creds.session_token),
        xml_escape(&creds.assumed_role_id),
        xml_escape(&creds.principal.arn()),
    ))
}

/// Text content for XML. Written by hand: five replacements do not justify an XML crate.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
