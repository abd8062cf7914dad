//! Facts about the connection a request came on, for policy conditions
//! (`aws:SourceIp`, `aws:SecureTransport`) and for URLs the API hands out.

use std::net::SocketAddr;

use wharf_registry::access::RequestInfo;

/// Put into every request's extensions by the serve loop.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// The condition facts of a request.
pub fn request_info(parts: &http::request::Parts) -> RequestInfo {
    match parts.extensions.get::<Connection>() {
        Some(c) => RequestInfo { source_ip: Some(c.peer.ip().to_canonical()), secure_transport: c.tls },
        None => RequestInfo::default(),
    }
}

pub fn is_tls(parts: &http::request::Parts) -> bool {
    parts.extensions.get::<Connection>().is_some_and(|c| c.tls)
}

/// `scheme://host` as the client addressed this server, for URLs that lead back to it.
pub fn origin(parts: &http::request::Parts) -> String {
    let scheme = if is_tls(parts) { "https" } else { "http" };
    // HTTP/2 carries the host as `:authority`.
    let host = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok());
    let host = host.or_else(|| parts.uri.authority().map(|a| a.as_str())).unwrap_or("localhost");
    format!("{scheme}://{host}")
}
