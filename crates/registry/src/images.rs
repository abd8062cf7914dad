//! Images as ECR lists them: one per manifest with all its tags (`DescribeImages`), or
//! one entry per tag (`ListImages`).

use wharf_meta::{ImageFilter, ImageRecord, ImageStatus, RepositoryKey};
use wharf_oci::{Digest, Reference};

use crate::{Registry, RegistryError, Result, now_ms};

/// ECR's `TargetStorageClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageClass {
    Standard,
    Archive,
}

impl Registry {
    /// Images in digest order after `after`, at most `limit`.
    pub async fn describe_images(
        &self,
        key: &RepositoryKey,
        filter: ImageFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ImageRecord>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.images(repo.id, filter, after, limit).await?)
    }

    /// The images with these digests that exist, in digest order.
    pub async fn images_by_digest(&self, key: &RepositoryKey, digests: &[String]) -> Result<Vec<ImageRecord>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.images_by_digest(repo.id, digests).await?)
    }

    /// `(digest, tag)` pairs in (digest, tag) order after `after`, at most `limit`; an
    /// untagged image is one pair without a tag.
    pub async fn list_image_ids(
        &self,
        key: &RepositoryKey,
        filter: ImageFilter,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, Option<String>)>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.image_ids(repo.id, filter, after, limit).await?)
    }

    /// ECR's `UpdateImageStorageClass`: archives an image, or starts restoring an archived
    /// one (`ACTIVATING` until the next background pass makes it `ACTIVE`). The image's
    /// digest and status afterwards.
    pub async fn update_image_storage_class(
        &self,
        key: &RepositoryKey,
        reference: &Reference,
        target: StorageClass,
    ) -> Result<(String, ImageStatus)> {
        let manifest = self.lookup_manifest(key, reference).await?;
        let repo = self.repository(key).await?;
        let digest = manifest.digest.as_str();
        let status = match target {
            StorageClass::Archive => {
                // An index's children are archived with their index, never on their own:
                // the index would no longer pull.
                if !self.meta.parents(repo.id, digest).await?.is_empty() {
                    return Err(RegistryError::StorageClassUpdateNotSupported(format!(
                        "The image '{digest}' is referenced by an image index and is archived with it"
                    )));
                }
                self.meta.archive_image(repo.id, digest, now_ms()).await?
            }
            StorageClass::Standard => self.meta.restore_image(repo.id, digest).await?,
        };
        let status = status.ok_or(RegistryError::ManifestNotFound)?;
        self.forget_manifest(repo.id, digest, reference);
        Ok((manifest.digest.clone(), status))
    }

    /// Completes every restore under way (run by a background task on every node); how
    /// many images became pullable again.
    pub async fn finish_restores(&self) -> Result<usize> {
        let activated = self.meta.activate_images(now_ms()).await?;
        for (repository_id, digest) in &activated {
            if let Ok(d) = digest.parse::<Digest>() {
                self.manifests.invalidate(&(*repository_id, Reference::Digest(d)));
            }
        }
        Ok(activated.len())
    }

    /// Drops cached lookups of a manifest whose status changed. Lookups by its other tags
    /// expire with the cache TTL.
    fn forget_manifest(&self, repository_id: i64, digest: &str, reference: &Reference) {
        if let Ok(d) = digest.parse::<Digest>() {
            self.manifests.invalidate(&(repository_id, Reference::Digest(d)));
        }
        self.manifests.invalidate(&(repository_id, reference.clone()));
    }
}
