//! The HTTP side of wharf: configuration, the OCI routes, TLS, and the serve loop with
//! graceful shutdown and background workers.

pub mod config;
mod host;
mod oci;
mod serve;

use std::sync::Arc;

use axum::Router;
use http::{HeaderValue, header::HeaderName};
use tower_http::set_header::SetResponseHeaderLayer;
use wharf_blobs::FsBlobStore;
use wharf_meta::{MetaStore, PoolConfig};
use wharf_registry::{Registry, RegistryConfig};

pub use config::{Config, LogFormat, Settings};
pub use host::Hosts;
pub use serve::serve;

/// What every request handler shares.
pub struct App {
    pub registry: Arc<Registry>,
    pub hosts: Hosts,
    pub max_page_size: i64,
}

/// Opens the stores named by `config` (creating the data folder and applying migrations)
/// and makes sure the default account exists.
pub async fn open_registry(config: &Config) -> anyhow::Result<Registry> {
    std::fs::create_dir_all(&config.data_dir)?;
    let pool = PoolConfig { max_connections: config.database_max_connections, ..PoolConfig::default() };
    let meta = MetaStore::connect(&config.database_url, &pool).await?;
    meta.ensure_account(&config.account_id, wharf_registry::now_ms()).await?;
    let blobs = FsBlobStore::open(&config.data_dir, config.max_blob_bytes)?;
    let registry_config = RegistryConfig {
        auto_create_repositories: config.auto_create_repositories,
        max_manifest_bytes: config.max_manifest_bytes,
        cache_ttl: config.cache_ttl,
        cache_bytes: config.cache_bytes,
    };
    Ok(Registry::new(meta, Arc::new(blobs), registry_config))
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v2", axum::routing::any(oci::dispatch))
        .route("/v2/", axum::routing::any(oci::dispatch))
        .route("/v2/{*path}", axum::routing::any(oci::dispatch))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("docker-distribution-api-version"),
            HeaderValue::from_static("registry/2.0"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}
