//! Online garbage collection: deletes blobs that no manifest in any repository references
//! and upload sessions nobody has written to for a while, while pushes and pulls go on.
//! There is no read-only mode and no global lock; one collection runs at a time (a lease in
//! the metadata store), on whichever node takes it.
//!
//! Why it is safe against a push that is about to reference a blob being collected:
//!
//! 1. **Mark, wait, sweep.** A blob that has been unreferenced and idle (no upload or mount)
//!    for the grace period is marked. Any use clears the mark: an upload or mount of it, a
//!    lookup (`HEAD`, which a client does before deciding not to upload it), a manifest
//!    naming it. Only blobs still marked a whole grace period later, and still unreferenced,
//!    are swept, and the sweep re-checks both inside its own transaction, locking the blob
//!    rows in the order every writer locks them (crates/meta/src/gc.rs). A client therefore
//!    has at least the grace period between seeing a blob and pushing the manifest that
//!    names it.
//! 2. **Rows first, bytes after, and checked.** Rows are deleted first (a reader can no
//!    longer find the blob), then the bytes are moved aside, then the row is looked up
//!    again: a row written meanwhile by an upload of the same content means the bytes go
//!    back. An upload writes its row after installing the bytes and then settles them
//!    (`BlobStore::settle`), reinstalling them if they were moved aside before it wrote the
//!    row. So every recorded blob ends up with its bytes, whatever the interleaving.
//! 3. **Crash-safe.** Bytes moved aside by a collection that died are restored or deleted
//!    by the next one, by the same row check; files with no row at all (an upload that died
//!    between installing bytes and writing its row) are collected like any other garbage.

use std::time::Duration;

use wharf_meta::GcBlob;
use wharf_oci::Digest;

use crate::{Registry, Result, now_ms};

/// The lease that makes collections exclusive.
const LEASE: &str = "gc";
/// How long a lease lasts without renewal (renewed after every batch).
const LEASE_TTL_MS: i64 = 60_000;
/// Blobs handled per metadata round trip.
const BATCH: i64 = 500;

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// How long a blob must stay unreferenced and unused before it is marked, and marked
    /// before it is deleted.
    pub grace: Duration,
    /// Upload sessions not written to for this long are abandoned.
    pub upload_max_age: Duration,
    /// Count what would be reclaimed; change nothing.
    pub dry_run: bool,
}

/// What a collection did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    /// Unreferenced blobs marked in this run; they are deleted by a run at least a grace
    /// period later if still unused.
    pub blobs_marked: u64,
    /// Blobs deleted (rows and bytes), and their bytes.
    pub blobs_deleted: u64,
    pub bytes_deleted: u64,
    /// Stored files with no blob row (an upload that died half-way), deleted.
    pub orphan_files_deleted: u64,
    pub orphan_bytes_deleted: u64,
    /// Abandoned upload sessions deleted.
    pub uploads_deleted: u64,
    /// Blobs a collection that stopped half-way had moved aside, restored or deleted now.
    pub quarantine_resolved: u64,
}

/// Where a collection is, for a progress bar.
pub trait GcProgress: Send + Sync {
    /// A phase begins; `total` items if known.
    fn phase(&self, name: &'static str, total: Option<u64>);
    fn advance(&self, items: u64);
}

/// Progress nobody watches (the background worker).
pub struct Quiet;

impl GcProgress for Quiet {
    fn phase(&self, _: &'static str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

impl Registry {
    /// Runs one collection; `None` when another one holds the lease.
    pub async fn collect_garbage(&self, options: &GcOptions, progress: &dyn GcProgress) -> Result<Option<GcReport>> {
        if options.dry_run {
            return self.gc_dry_run(options, progress).await.map(Some);
        }
        let holder = uuid::Uuid::new_v4().to_string();
        if !self.meta.take_lease(LEASE, &holder, now_ms(), LEASE_TTL_MS).await? {
            return Ok(None);
        }
        let run = Collection { registry: self, holder: &holder, progress, options };
        let report = run.all().await;
        if let Err(e) = self.meta.release_lease(LEASE, &holder).await {
            tracing::warn!(error = %e, "releasing the garbage collection lease failed");
        }
        report.map(Some)
    }

    async fn gc_dry_run(&self, options: &GcOptions, progress: &dyn GcProgress) -> Result<GcReport> {
        let now = now_ms();
        let idle_before = now - options.grace.as_millis() as i64;
        let mut report = GcReport { dry_run: true, ..GcReport::default() };
        progress.phase("finding unreferenced blobs", None);
        let mut after = String::new();
        loop {
            let page = self.meta.unreferenced_blobs(idle_before, false, &after, BATCH).await?;
            report.blobs_deleted += page.len() as u64;
            report.bytes_deleted += page.iter().map(|b| b.size as u64).sum::<u64>();
            progress.advance(page.len() as u64);
            match page.last() {
                Some(last) if page.len() as i64 == BATCH => after = last.digest.clone(),
                _ => break,
            }
        }
        let orphans = self.orphan_files(idle_before, progress).await?;
        report.orphan_files_deleted = orphans.len() as u64;
        report.orphan_bytes_deleted = orphans.iter().map(|(_, size)| size).sum();
        report.uploads_deleted = self.abandoned_uploads(now, options).await?.len() as u64;
        Ok(report)
    }

    /// Stored files older than `before` that have no blob row, with their sizes.
    async fn orphan_files(&self, before: i64, progress: &dyn GcProgress) -> Result<Vec<(Digest, u64)>> {
        let stored: Vec<_> = self.blobs.stored_blobs().await?.into_iter().filter(|b| b.modified_at <= before).collect();
        progress.phase("checking stored files", Some(stored.len() as u64));
        let mut orphans = Vec::new();
        for batch in stored.chunks(BATCH as usize) {
            let digests: Vec<String> = batch.iter().map(|b| b.digest.to_string()).collect();
            let known = self.meta.known_blobs(&digests).await?;
            orphans.extend(
                batch.iter().filter(|b| !known.contains(b.digest.as_str())).map(|b| (b.digest.clone(), b.size)),
            );
            progress.advance(batch.len() as u64);
        }
        Ok(orphans)
    }

    async fn abandoned_uploads(&self, now: i64, options: &GcOptions) -> Result<Vec<String>> {
        let before = now - options.upload_max_age.as_millis() as i64;
        let uploads = self.blobs.stored_uploads().await?;
        Ok(uploads.into_iter().filter(|u| u.modified_at <= before).map(|u| u.id).collect())
    }

    /// Deletes the bytes of a blob whose row is gone, unless a row came back meanwhile.
    /// Whether they were deleted.
    async fn delete_bytes(&self, digest: &Digest) -> Result<bool> {
        if !self.blobs.quarantine(digest).await? {
            return Ok(false);
        }
        self.resolve_quarantined(digest).await
    }

    /// Restores a quarantined blob if it has a row, deletes it otherwise; whether deleted.
    async fn resolve_quarantined(&self, digest: &Digest) -> Result<bool> {
        let recorded = !self.meta.known_blobs(&[digest.to_string()]).await?.is_empty();
        if recorded {
            self.blobs.restore(digest).await?;
        } else {
            self.blobs.discard(digest).await?;
        }
        Ok(!recorded)
    }
}

/// One collection holding the lease.
struct Collection<'a> {
    registry: &'a Registry,
    holder: &'a str,
    progress: &'a dyn GcProgress,
    options: &'a GcOptions,
}

impl Collection<'_> {
    async fn all(&self) -> Result<GcReport> {
        let mut report = GcReport::default();
        let now = now_ms();
        let grace = self.options.grace.as_millis() as i64;
        self.resolve_quarantine(&mut report).await?;
        self.registry.meta.clear_stale_marks().await?;
        self.mark(now - grace, now, &mut report).await?;
        self.sweep(now - grace, &mut report).await?;
        self.orphans(now - grace, &mut report).await?;
        self.uploads(now, &mut report).await?;
        Ok(report)
    }

    /// Keeps the lease; a collection that lost it (stalled past its expiry while another
    /// took over) stops.
    async fn renew(&self) -> Result<()> {
        if self.registry.meta.take_lease(LEASE, self.holder, now_ms(), LEASE_TTL_MS).await? {
            Ok(())
        } else {
            Err(crate::RegistryError::GcLeaseLost)
        }
    }

    async fn resolve_quarantine(&self, report: &mut GcReport) -> Result<()> {
        for digest in self.registry.blobs.quarantined().await? {
            self.registry.resolve_quarantined(&digest).await?;
            report.quarantine_resolved += 1;
        }
        Ok(())
    }

    async fn mark(&self, idle_before: i64, now: i64, report: &mut GcReport) -> Result<()> {
        self.progress.phase("marking unreferenced blobs", None);
        let mut after = String::new();
        loop {
            let page = self.registry.meta.unreferenced_blobs(idle_before, true, &after, BATCH).await?;
            let digests: Vec<String> = page.iter().map(|b| b.digest.clone()).collect();
            report.blobs_marked += self.registry.meta.mark_blobs(&digests, now).await?;
            self.progress.advance(page.len() as u64);
            self.renew().await?;
            match page.last() {
                Some(last) if page.len() as i64 == BATCH => after = last.digest.clone(),
                _ => return Ok(()),
            }
        }
    }

    async fn sweep(&self, marked_before: i64, report: &mut GcReport) -> Result<()> {
        self.progress.phase("deleting marked blobs", None);
        let mut after = String::new();
        loop {
            let page = self.registry.meta.marked_blobs(marked_before, &after, BATCH).await?;
            for blob in self.sweep_rows(&page, marked_before).await? {
                let Ok(digest) = blob.digest.parse::<Digest>() else { continue };
                self.registry.delete_bytes(&digest).await?;
                report.blobs_deleted += 1;
                report.bytes_deleted += blob.size as u64;
            }
            self.progress.advance(page.len() as u64);
            self.renew().await?;
            match page.last() {
                Some(last) if page.len() as i64 == BATCH => after = last.digest.clone(),
                _ => return Ok(()),
            }
        }
    }

    /// Deletes the rows of a page of marked blobs. A batch that fails (on PostgreSQL, a
    /// manifest that referenced one of them at that very moment) is retried blob by blob,
    /// so one busy blob does not hold back the rest.
    async fn sweep_rows(&self, page: &[GcBlob], marked_before: i64) -> Result<Vec<GcBlob>> {
        let digests: Vec<String> = page.iter().map(|b| b.digest.clone()).collect();
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        match self.registry.meta.sweep_blobs(&digests, marked_before).await {
            Ok(swept) => Ok(swept),
            Err(_) => {
                let mut swept = Vec::new();
                for digest in digests {
                    match self.registry.meta.sweep_blobs(std::slice::from_ref(&digest), marked_before).await {
                        Ok(one) => swept.extend(one),
                        Err(e) => tracing::info!(%digest, error = %e, "blob in use again; kept"),
                    }
                }
                Ok(swept)
            }
        }
    }

    async fn orphans(&self, before: i64, report: &mut GcReport) -> Result<()> {
        let orphans = self.registry.orphan_files(before, self.progress).await?;
        self.progress.phase("deleting orphaned files", Some(orphans.len() as u64));
        for (digest, size) in orphans {
            if self.registry.delete_bytes(&digest).await? {
                report.orphan_files_deleted += 1;
                report.orphan_bytes_deleted += size;
            }
            self.progress.advance(1);
        }
        Ok(())
    }

    async fn uploads(&self, now: i64, report: &mut GcReport) -> Result<()> {
        let abandoned = self.registry.abandoned_uploads(now, self.options).await?;
        self.progress.phase("deleting abandoned uploads", Some(abandoned.len() as u64));
        for id in abandoned {
            // A session that vanished meanwhile was finished or cancelled by its client.
            if self.registry.blobs.abort(&id).await.is_ok() {
                report.uploads_deleted += 1;
            }
            self.registry.meta.delete_upload(&id).await?;
            self.registry.uploads.invalidate(&id);
            self.progress.advance(1);
        }
        Ok(())
    }
}
