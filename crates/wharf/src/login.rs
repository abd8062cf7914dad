//! `wharf get-login-password`: what `aws ecr get-login-password` does, for machines
//! without the AWS CLI. Reads AWS credentials the way the CLI does (environment, then the
//! shared credentials file), signs a `GetAuthorizationToken` call and prints the password.

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::net::TcpStream;
use wharf_iam::sigv4;

#[derive(Args)]
pub struct LoginArgs {
    /// The wharf API endpoint (default: $AWS_ENDPOINT_URL_ECR, $AWS_ENDPOINT_URL, or the
    /// configured listen address). Only http:// endpoints.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Region to sign for (default: $AWS_REGION, $AWS_DEFAULT_REGION, or the first
    /// configured region).
    #[arg(long)]
    region: Option<String>,
    /// Profile of the shared credentials file (default: $AWS_PROFILE or `default`).
    #[arg(long)]
    profile: Option<String>,
}

struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

pub async fn run(args: LoginArgs, listen: std::net::SocketAddr, default_region: &str) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let endpoint = args
        .endpoint_url
        .or_else(|| env("AWS_ENDPOINT_URL_ECR"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| format!("http://{listen}"));
    let region = args
        .region
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| default_region.to_owned());
    let profile = args.profile.or_else(|| env("AWS_PROFILE")).unwrap_or_else(|| "default".into());
    let credentials = credentials(&profile)?;
    let token = get_authorization_token(&endpoint, &region, &credentials).await?;
    println!("{token}");
    Ok(())
}

fn credentials(profile: &str) -> anyhow::Result<Credentials> {
    if let (Ok(id), Ok(secret)) = (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY")) {
        let session_token = std::env::var("AWS_SESSION_TOKEN").ok().filter(|t| !t.is_empty());
        return Ok(Credentials { access_key_id: id, secret_access_key: secret, session_token });
    }
    let path = match std::env::var("AWS_SHARED_CREDENTIALS_FILE") {
        Ok(path) => std::path::PathBuf::from(path),
        Err(_) => std::path::PathBuf::from(std::env::var("HOME").context("HOME is not set")?).join(".aws/credentials"),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no AWS_ACCESS_KEY_ID in the environment and cannot read {}", path.display()))?;
    let values = profile_values(&text, profile);
    let get = |key: &str| values.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    Ok(Credentials {
        access_key_id: get("aws_access_key_id")
            .ok_or_else(|| anyhow!("profile [{profile}] in {} has no aws_access_key_id", path.display()))?,
        secret_access_key: get("aws_secret_access_key")
            .ok_or_else(|| anyhow!("profile [{profile}] in {} has no aws_secret_access_key", path.display()))?,
        session_token: get("aws_session_token"),
    })
}

/// `key = value` lines of one `[profile]` section of an INI file. Written by hand: the
/// credentials file is a flat INI subset that needs no parser crate.
fn profile_values(text: &str, profile: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut values = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == profile;
        } else if inside
            && let Some((key, value)) = line.split_once('=')
            && !line.starts_with('#')
        {
            values.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    values
}

async fn get_authorization_token(endpoint: &str, region: &str, credentials: &Credentials) -> anyhow::Result<String> {
    let uri: http::Uri = endpoint.parse().with_context(|| format!("bad endpoint URL {endpoint}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("only http:// endpoints are supported; use `aws ecr get-login-password` for https");
    }
    let authority = uri.authority().ok_or_else(|| anyhow!("endpoint URL {endpoint} has no host"))?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let body = b"{}";
    let target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
    let mut headers = vec![
        ("host".to_owned(), authority.as_str().to_owned()),
        ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
        ("x-amz-target".to_owned(), target.to_owned()),
    ];
    let signed = {
        let view: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let request = sigv4::HttpRequest { method: "POST", path: "/", query: "", headers: &view };
        sigv4::sign(
            &request,
            &sigv4::sha256_hex(body),
            &credentials.access_key_id,
            &credentials.secret_access_key,
            credentials.session_token.as_deref(),
            region,
            "ecr",
            time::OffsetDateTime::now_utc(),
        )
    };
    headers.extend(signed);
    let mut builder = http::Request::post("/");
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(Full::new(Bytes::from_static(body)))?;

    let stream =
        TcpStream::connect((authority.host(), port)).await.with_context(|| format!("cannot connect to {endpoint}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).context("the endpoint did not answer JSON")?;
    if !status.is_success() {
        bail!("{}: {}", json["__type"].as_str().unwrap_or("error"), json["message"].as_str().unwrap_or(""));
    }
    let token = json["authorizationData"][0]["authorizationToken"]
        .as_str()
        .ok_or_else(|| anyhow!("the answer has no authorizationToken"))?;
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(token).context("authorizationToken is not base64")?;
    let decoded = String::from_utf8(decoded).context("authorizationToken is not text")?;
    decoded.strip_prefix("AWS:").map(str::to_owned).ok_or_else(|| anyhow!("authorizationToken is not AWS:<password>"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_one_profile() {
        let text =
            "[default]\naws_access_key_id = A\n# note = x\n[other]\naws_access_key_id=B\naws_secret_access_key = S\n";
        let values = super::profile_values(text, "other");
        assert_eq!(values, [("aws_access_key_id".into(), "B".into()), ("aws_secret_access_key".into(), "S".into())]);
    }
}
