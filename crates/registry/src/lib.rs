//! The domain: what a push, a pull and a delete mean, whichever API asked for it.
//! The OCI routes (and later the ECR API) parse, call these functions and encode the
//! answer in their own wire format.

pub mod access;
mod blobs;
mod cache;
mod error;
mod gc;
mod images;
mod lifecycle;
mod manifests;
mod pulls;
mod repositories;
pub mod scanning;
mod templates;
mod uploads;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wharf_blobs::BlobStore;
use wharf_meta::{ManifestRecord, MetaStore, Repository, RepositoryKey};
use wharf_oci::{Digest, Reference};

pub use error::RegistryError;
pub use gc::{GcOptions, GcProgress, GcReport, Quiet};
pub use images::StorageClass;
pub use lifecycle::{
    LIFECYCLE_EVENT, LifecycleAction, LifecycleCause, PREVIEW_IN_PROGRESS, Preview, PreviewResult,
    validate_lifecycle_policy,
};
pub use manifests::{PushedManifest, Referrers};
pub use repositories::tag_is_immutable;
pub use templates::{CREATE_ON_PUSH, CreationTemplate, ROOT};

use cache::ReadCache;
use pulls::PullRecorder;

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Settings of the domain layer.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub max_manifest_bytes: usize,
    /// How long a cached read may be served before it is looked up again. Writes through
    /// this process invalidate at once; the TTL bounds staleness after writes made by other
    /// processes (the `wharf repo` commands, other nodes).
    pub cache_ttl: Duration,
    /// Memory for cached manifests, repository and blob-link lookups.
    pub cache_bytes: u64,
}

pub struct Registry {
    meta: MetaStore,
    blobs: Arc<dyn BlobStore>,
    config: RegistryConfig,
    repositories: ReadCache<RepositoryKey, Arc<Repository>>,
    manifests: ReadCache<(i64, Reference), Arc<ManifestRecord>>,
    blob_links: ReadCache<(i64, Digest), i64>,
    /// Upload session → repository id.
    uploads: ReadCache<String, i64>,
    pulls: PullRecorder,
    /// Wakes this process's scan workers when it queues a scan.
    scan_wakeup: tokio::sync::Notify,
}

impl Registry {
    pub fn new(meta: MetaStore, blobs: Arc<dyn BlobStore>, config: RegistryConfig) -> Registry {
        // Manifests dominate the weight; lookups of repositories and links are small.
        let small = (config.cache_bytes / 8).max(1024);
        Registry {
            repositories: ReadCache::new(small, config.cache_ttl),
            manifests: ReadCache::new(config.cache_bytes.saturating_sub(3 * small).max(1024), config.cache_ttl),
            blob_links: ReadCache::new(small, config.cache_ttl),
            uploads: ReadCache::new(small, config.cache_ttl),
            pulls: PullRecorder::default(),
            scan_wakeup: tokio::sync::Notify::new(),
            meta,
            blobs,
            config,
        }
    }

    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Writes the pulls seen since the last call (run periodically and at shutdown).
    pub async fn flush_pulls(&self) -> Result<()> {
        self.pulls.flush(&self.meta).await
    }
}

/// Now, in epoch milliseconds: the unit of every time the store keeps.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
