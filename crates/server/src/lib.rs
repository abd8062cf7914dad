//! The HTTP side of wharf: configuration, the OCI routes, the ECR/STS API, TLS, and the
//! serve loop with graceful shutdown and background workers.

mod api;
mod bootstrap;
pub mod config;
mod connection;
mod host;
mod oci;
mod serve;

use std::sync::Arc;

use axum::Router;
use http::{HeaderValue, header::HeaderName};
use tower_http::set_header::SetResponseHeaderLayer;
use wharf_blobs::FsBlobStore;
use wharf_meta::{MetaStore, PoolConfig};
use wharf_registry::access::{Access, AccessConfig};
use wharf_registry::{Registry, RegistryConfig};

pub use bootstrap::load_master_key;
pub use config::{Config, LogFormat, Settings};
pub use host::Hosts;
pub use serve::serve;

/// What every request handler shares.
pub struct App {
    pub registry: Arc<Registry>,
    pub access: Arc<Access>,
    pub hosts: Hosts,
    pub max_page_size: i64,
    pub max_api_body_bytes: usize,
}

/// The domain services over one set of stores.
pub struct Services {
    pub registry: Registry,
    pub access: Access,
}

/// Opens the stores named by `config` (creating the data folder and applying migrations).
/// On the very first start it creates the default account with an administrator and
/// writes the administrator's access key to a file only the owner can read.
pub async fn open(config: &Config) -> anyhow::Result<Services> {
    std::fs::create_dir_all(&config.data_dir)?;
    let master = load_master_key(&config.master_key_file)?;
    let pool = PoolConfig { max_connections: config.database_max_connections, ..PoolConfig::default() };
    let meta = MetaStore::connect(&config.database_url, &pool).await?;
    let blobs = FsBlobStore::open(&config.data_dir, config.max_blob_bytes)?;
    let access = Access::new(
        meta.clone(),
        &master,
        AccessConfig {
            token_lifetime: config.token_lifetime,
            cache_ttl: config.cache_ttl,
            cache_bytes: config.cache_bytes / 4,
        },
    );
    bootstrap::first_start(&access, config).await?;
    let registry_config = RegistryConfig {
        max_manifest_bytes: config.max_manifest_bytes,
        cache_ttl: config.cache_ttl,
        cache_bytes: config.cache_bytes,
    };
    Ok(Services { registry: Registry::new(meta, Arc::new(blobs), registry_config), access })
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", axum::routing::post(api::dispatch))
        .route("/v2", axum::routing::any(oci::dispatch))
        .route("/v2/", axum::routing::any(oci::dispatch))
        .route("/v2/{*path}", axum::routing::any(oci::dispatch))
        .route(oci::presigned::ROUTE, axum::routing::get(oci::presigned::download))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("docker-distribution-api-version"),
            HeaderValue::from_static("registry/2.0"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(app)
}

/// A request's span names its path, but not the query (a SigV4 presigned URL carries its
/// signature there) nor a presigned download's token: no credential reaches the log.
fn request_span(request: &http::Request<axum::body::Body>) -> tracing::Span {
    let path = request.uri().path();
    let path = oci::presigned::redact(path).unwrap_or(path);
    tracing::debug_span!("request", method = %request.method(), path, version = ?request.version())
}
