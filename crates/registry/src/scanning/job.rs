//! Scan jobs and the scan itself. A queued scan is a row `IN_PROGRESS`; a worker on any node
//! claims it with a lease, and if that worker dies another takes it over when the lease runs
//! out, up to [`MAX_ATTEMPTS`] times.
//!
//! A scan reads the image's layers once, as streams, into an inventory that is stored; every
//! later match (a rescan, a new database, the other scan type) starts from the stored
//! inventory. An index is scanned through its image children, each with its platform.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use futures_util::TryStreamExt;
use serde_json::Value;
use tokio_util::io::{StreamReader, SyncIoBridge};
use wharf_inventory::{Inventory, InventoryBuilder, Limits};
use wharf_meta::{ManifestRecord, ScanJob, ScanOutcome, VulnDbImport};
use wharf_oci::{Digest, Reference, media_type};

use super::findings::{self, PlatformInventory, StoredFinding};
use super::{COMPLETE, FAILED, ScanFrequency, ScanType, ScanningConfiguration, UNSUPPORTED_IMAGE};
use crate::{Registry, RegistryError, Result, now_ms};

/// How long a worker may hold a scan before another may take it over.
const LEASE_MS: i64 = 10 * 60 * 1000;
/// Claims of one scan before it is given up as failed (a layer that kills the process must
/// not be retried for ever).
const MAX_ATTEMPTS: i64 = 3;
/// Rematches per page of stale scans.
const REMATCH_PAGE: i64 = 100;

/// Bounds on what one scan may cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanLimits {
    pub inventory: Limits,
}

/// The event type scan completions are recorded under.
pub const SCAN_EVENT: &str = "ECR Image Scan";

/// Config media types of container images; anything else is an artifact.
const IMAGE_CONFIGS: [&str; 2] =
    ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"];

/// Whether a manifest is something a scan can read: an index (through its images) or an
/// image manifest whose config is an image configuration.
pub(super) fn is_scannable(media_type: &str, artifact_type: Option<&str>) -> bool {
    media_type::is_index(media_type) || artifact_type.is_some_and(|t| IMAGE_CONFIGS.contains(&t))
}

/// How a scan ended.
enum Scanned {
    Complete { db: VulnDbImport, findings: Vec<StoredFinding> },
    Failed(String),
    Unsupported(String),
}

/// Why no inventory could be had.
enum Unscannable {
    Failed(String),
    Unsupported(String),
}

impl From<Unscannable> for Scanned {
    fn from(u: Unscannable) -> Self {
        match u {
            Unscannable::Failed(reason) => Scanned::Failed(reason),
            Unscannable::Unsupported(reason) => Scanned::Unsupported(reason),
        }
    }
}

impl Registry {
    /// Runs the oldest queued scan, if any; whether there was one.
    pub async fn run_next_scan(&self, limits: &ScanLimits) -> Result<bool> {
        let Some(job) = self.meta.claim_scan(now_ms(), LEASE_MS).await? else { return Ok(false) };
        self.run_scan(&job, limits).await?;
        Ok(true)
    }

    /// Waits until a scan may have been queued by this process, or `timeout` passes (other
    /// nodes queue scans too).
    pub async fn wait_for_scans(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.scan_wakeup.notified()).await;
    }

    /// Scans an image now, with the registry's current scan type, whatever its last scan
    /// (`wharf scan`); the digest scanned.
    pub async fn scan_now(
        &self,
        key: &wharf_meta::RepositoryKey,
        reference: &Reference,
        limits: &ScanLimits,
    ) -> Result<Digest> {
        let repo = self.repository(key).await?;
        let manifest = self.lookup_manifest(key, reference).await?;
        let scan_type = self.repository_scanning(&repo).await?.scan_type;
        let job = self
            .meta
            .claim_scan_now(repo.id, &manifest.digest, scan_type.as_str(), now_ms(), LEASE_MS)
            .await?
            .ok_or(RegistryError::ManifestNotFound)?;
        self.run_scan(&job, limits).await?;
        manifest.digest.parse().map_err(|_| RegistryError::InvalidDigest(manifest.digest.clone()))
    }

    async fn run_scan(&self, job: &ScanJob, limits: &ScanLimits) -> Result<()> {
        let scan_type = parse_scan_type(&job.scan_type)?;
        let scanned = if job.attempts > MAX_ATTEMPTS {
            Scanned::Failed(format!("the scan did not finish in {MAX_ATTEMPTS} attempts"))
        } else {
            self.scan(job, scan_type, limits).await?
        };
        let now = now_ms();
        let (status, description, db, findings) = match scanned {
            Scanned::Complete { db, findings } => {
                let previous = self.stored_findings(job.repository_id, &job.digest, scan_type).await?;
                let merged = findings::merge(previous, findings, now);
                (COMPLETE, "The scan was completed successfully.".to_owned(), Some(db), merged)
            }
            Scanned::Failed(reason) => (FAILED, reason, None, Vec::new()),
            Scanned::Unsupported(reason) => (UNSUPPORTED_IMAGE, reason, None, Vec::new()),
        };
        if status != COMPLETE {
            tracing::info!(repository = %job.repository.name, digest = %job.digest, status, %description, "scan ended");
        }
        let findings_json = serde_json::to_string(&findings).expect("findings serialise");
        let severity_counts = findings::severity_counts(&findings);
        let counts = serde_json::to_string(&severity_counts).expect("counts serialise");
        let outcome = ScanOutcome {
            status,
            description: Some(&description),
            completed_at: now,
            vulndb_import_id: db.as_ref().map(|db| db.id),
            source_updated_at: db.as_ref().and_then(|db| db.source_updated_at),
            findings: &findings_json,
            severity_counts: &counts,
        };
        if self.meta.finish_scan(job, &outcome).await? {
            self.record_scan_event(job, status, &severity_counts, now).await?;
        }
        Ok(())
    }

    /// Records the end of a scan as ECR's EventBridge event `ECR Image Scan` (`wharf events`).
    async fn record_scan_event(
        &self,
        job: &ScanJob,
        status: &str,
        counts: &std::collections::BTreeMap<wharf_vuln::Severity, u64>,
        now: i64,
    ) -> Result<()> {
        let tags = self.meta.images_by_digest(job.repository_id, std::slice::from_ref(&job.digest)).await?;
        let detail = serde_json::json!({
            "scan-status": status,
            "repository-name": job.repository.name,
            "image-digest": job.digest,
            "image-tags": tags.first().map(|i| i.tags.clone()).unwrap_or_default(),
            "finding-severity-counts": counts,
        });
        self.meta.record_events(&[(now, &job.repository, SCAN_EVENT, detail.to_string())]).await?;
        Ok(())
    }

    async fn scan(&self, job: &ScanJob, scan_type: ScanType, limits: &ScanLimits) -> Result<Scanned> {
        let Some(manifest) = self.meta.manifest_by_digest(job.repository_id, &job.digest).await? else {
            return Ok(Scanned::Failed("the image was deleted".into()));
        };
        let inventories = match self.image_inventories(job.repository_id, &manifest, limits).await? {
            Ok(inventories) => inventories,
            Err(unscannable) => return Ok(unscannable.into()),
        };
        let Some(db) = self.meta.current_vulndb().await? else {
            return Ok(Scanned::Failed(
                "no vulnerability database has been imported; run `wharf vulndb import`".into(),
            ));
        };
        let findings = self.match_inventories(&db, scan_type, &inventories, now_ms()).await?;
        Ok(Scanned::Complete { db, findings })
    }

    /// The findings of an image's last completed scan of a type. A scan in progress still
    /// holds them (a new request leaves them in place); a failed one holds none.
    async fn stored_findings(
        &self,
        repository_id: i64,
        digest: &str,
        scan_type: ScanType,
    ) -> Result<Vec<StoredFinding>> {
        match self.meta.scan(repository_id, digest, scan_type.as_str()).await? {
            Some(scan) => serde_json::from_str(&scan.findings)
                .map_err(|e| RegistryError::Meta(wharf_meta::MetaError::Corrupt(e.to_string()))),
            None => Ok(Vec::new()),
        }
    }

    /// The inventories of an image manifest (one) or of an index's image children (one per
    /// platform).
    async fn image_inventories(
        &self,
        repository_id: i64,
        manifest: &ManifestRecord,
        limits: &ScanLimits,
    ) -> Result<Result<Vec<PlatformInventory>, Unscannable>> {
        if !media_type::is_index(&manifest.media_type) {
            return Ok(self
                .inventory(repository_id, manifest, limits)
                .await?
                .map(|inventory| vec![PlatformInventory { platform: None, inventory }]));
        }
        let mut inventories = Vec::new();
        for (digest, platform) in index_children(&manifest.content) {
            let Some(child) = self.meta.manifest_by_digest(repository_id, &digest).await? else { continue };
            if media_type::is_index(&child.media_type) {
                continue;
            }
            match self.inventory(repository_id, &child, limits).await? {
                Ok(inventory) => inventories.push(PlatformInventory { platform, inventory }),
                // Attestations and other artifacts an index lists are not platforms.
                Err(Unscannable::Unsupported(_)) => {}
                Err(failed) => return Ok(Err(failed)),
            }
        }
        if inventories.is_empty() {
            return Ok(Err(Unscannable::Unsupported("the index lists no container image".into())));
        }
        Ok(Ok(inventories))
    }

    /// The inventory of an image manifest: stored, or read from its layers and stored.
    async fn inventory(
        &self,
        repository_id: i64,
        manifest: &ManifestRecord,
        limits: &ScanLimits,
    ) -> Result<Result<Inventory, Unscannable>> {
        let parsed = wharf_oci::manifest::parse(&manifest.content, Some(&manifest.media_type))
            .map_err(RegistryError::ManifestInvalid)?;
        if !parsed.config.as_ref().is_some_and(|c| IMAGE_CONFIGS.contains(&c.media_type.as_str())) {
            let kind = parsed.artifact_type.as_deref().unwrap_or("unknown");
            return Ok(Err(Unscannable::Unsupported(format!("artifacts of type {kind} are not container images"))));
        }
        if let Some(stored) = self.meta.inventory(repository_id, &manifest.digest).await? {
            let inventory = serde_json::from_str(&stored)
                .map_err(|e| RegistryError::Meta(wharf_meta::MetaError::Corrupt(e.to_string())))?;
            return Ok(Ok(inventory));
        }
        // `blobs` lists the config first, then the layers stored here (foreign layers, which
        // live elsewhere, are not among them).
        let layers: Vec<&wharf_oci::Descriptor> = parsed.blobs.iter().skip(1).collect();
        if let Some(layer) = layers.iter().find(|l| wharf_inventory::media_type_compression(&l.media_type).is_err()) {
            return Ok(Err(Unscannable::Unsupported(format!("unsupported layer media type {}", layer.media_type))));
        }
        let mut builder = InventoryBuilder::new(limits.inventory);
        for layer in layers {
            let stream = match self.blobs.read(&layer.digest, 0, layer.size as u64).await {
                Ok(stream) => stream,
                Err(e) => return Ok(Err(Unscannable::Failed(format!("layer {}: {e}", layer.digest)))),
            };
            let reader = SyncIoBridge::new(StreamReader::new(stream.map_err(std::io::Error::other)));
            let media_type = layer.media_type.clone();
            let added = tokio::task::spawn_blocking(move || builder.add_layer(&media_type, reader).map(|()| builder))
                .await
                .map_err(|e| RegistryError::Validation(format!("scan thread failed: {e}")))?;
            builder = match added {
                Ok(builder) => builder,
                Err(e) => return Ok(Err(Unscannable::Failed(format!("layer {}: {e}", layer.digest)))),
            };
        }
        let inventory = builder.finish();
        let json = serde_json::to_string(&inventory).expect("inventories serialise");
        self.meta.put_inventory(repository_id, &manifest.digest, &json, now_ms()).await?;
        Ok(Ok(inventory))
    }

    /// Matches again, from their stored inventories, the `ENHANCED` scans of repositories
    /// under continuous scanning that were matched against another database than the
    /// current one, unless `done` is the current one's id (the caller did it already).
    /// Returns the current database's id and how many scans changed.
    pub async fn rematch_continuous_scans(
        &self,
        done: Option<i64>,
        limits: &ScanLimits,
    ) -> Result<(Option<i64>, usize)> {
        let Some(db) = self.meta.current_vulndb().await? else { return Ok((None, 0)) };
        if done == Some(db.id) {
            return Ok((done, 0));
        }
        let scan_type = ScanType::Enhanced;
        let mut rematched = 0;
        let mut after = (0i64, String::new());
        // The registry configurations met in this pass, read once each.
        let mut configs: HashMap<(String, String), ScanningConfiguration> = HashMap::new();
        loop {
            let page = self.meta.stale_scans(scan_type.as_str(), db.id, (after.0, &after.1), REMATCH_PAGE).await?;
            for stale in &page {
                let key = &stale.repository;
                let config = match configs.entry((key.account.clone(), key.region.clone())) {
                    Entry::Occupied(found) => found.into_mut(),
                    Entry::Vacant(slot) => slot.insert(self.scanning_configuration(&key.account, &key.region).await?),
                };
                let repo = self.repository(key).await?;
                if config.for_repository(&key.name, repo.settings.scan_on_push).frequency
                    != ScanFrequency::ContinuousScan
                {
                    continue;
                }
                let Some(manifest) = self.meta.manifest_by_digest(stale.repository_id, &stale.digest).await? else {
                    continue;
                };
                // Inventories are stored, so no layer is read here.
                let Ok(inventories) = self.image_inventories(stale.repository_id, &manifest, limits).await? else {
                    continue;
                };
                let now = now_ms();
                let current = self.match_inventories(&db, scan_type, &inventories, now).await?;
                let previous = self.stored_findings(stale.repository_id, &stale.digest, scan_type).await?;
                let merged = findings::merge(previous, current, now);
                let findings_json = serde_json::to_string(&merged).expect("findings serialise");
                let counts = serde_json::to_string(&findings::severity_counts(&merged)).expect("counts serialise");
                let outcome = ScanOutcome {
                    status: COMPLETE,
                    description: None,
                    completed_at: now,
                    vulndb_import_id: Some(db.id),
                    source_updated_at: db.source_updated_at,
                    findings: &findings_json,
                    severity_counts: &counts,
                };
                if self.meta.rematch_scan(stale, scan_type.as_str(), &outcome).await? {
                    rematched += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == REMATCH_PAGE => after = (last.repository_id, last.digest.clone()),
                _ => return Ok((Some(db.id), rematched)),
            }
        }
    }
}

pub(super) fn parse_scan_type(text: &str) -> Result<ScanType> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| RegistryError::Meta(wharf_meta::MetaError::Corrupt(format!("scan type {text:?}"))))
}

/// The children an index lists: (digest, `os/architecture[/variant]`).
fn index_children(content: &[u8]) -> Vec<(String, Option<String>)> {
    let Ok(index) = serde_json::from_slice::<Value>(content) else { return Vec::new() };
    let Some(manifests) = index.get("manifests").and_then(Value::as_array) else { return Vec::new() };
    manifests
        .iter()
        .filter_map(|m| {
            let digest = m.get("digest")?.as_str()?.to_owned();
            let platform = m.get("platform").map(|p| {
                let part = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
                let mut text = format!("{}/{}", part("os"), part("architecture"));
                if !part("variant").is_empty() {
                    text = format!("{text}/{}", part("variant"));
                }
                text
            });
            Some((digest, platform))
        })
        .collect()
}
