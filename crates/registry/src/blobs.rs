//! Reading, mounting and unlinking blobs in a repository.

use wharf_blobs::ByteStream;
use wharf_meta::{DeleteOutcome, RepositoryKey};
use wharf_oci::Digest;

use crate::{Registry, RegistryError, Result, now_ms};

impl Registry {
    /// The size of a blob readable in the repository.
    pub async fn blob_size(&self, key: &RepositoryKey, digest: &Digest) -> Result<u64> {
        let repo = self.repository(key).await?;
        self.linked_size(repo.id, digest).await?.ok_or(RegistryError::BlobNotFound)
    }

    /// The size of a blob if it is linked into the repository (cached).
    pub(crate) async fn linked_size(&self, repository_id: i64, digest: &Digest) -> Result<Option<u64>> {
        let link = (repository_id, digest.clone());
        let size = self
            .blob_links
            .get_or_load(&link, async {
                Ok::<_, RegistryError>(self.meta.blob_in_repository(repository_id, digest.as_str()).await?)
            })
            .await?;
        Ok(size.map(|s| s as u64))
    }

    /// Bytes `start..end` of a blob (`end` exclusive, already clamped to its size by the caller).
    pub async fn read_blob(&self, digest: &Digest, start: u64, end: u64) -> Result<ByteStream> {
        Ok(self.blobs.read(digest, start, end).await?)
    }

    /// Links a blob readable in `from` into `key`'s repository; its size, or `None` when
    /// `from` does not exist or cannot read the blob (the caller then opens an upload).
    pub async fn mount_blob(&self, key: &RepositoryKey, digest: &Digest, from: &RepositoryKey) -> Result<Option<u64>> {
        let target = self.repository_for_push(key).await?;
        let source = match self.repository(from).await {
            Ok(source) => source,
            Err(RegistryError::RepositoryNotFound { .. } | RegistryError::InvalidName(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mounted = self.meta.mount_blob(target.id, source.id, digest.as_str(), now_ms()).await;
        Ok(mounted.map_err(|e| self.write_failed(key, e))?.map(|s| s as u64))
    }

    /// Removes a blob from a repository (the bytes stay while other repositories use them).
    pub async fn delete_blob(&self, key: &RepositoryKey, digest: &Digest) -> Result<()> {
        let repo = self.repository(key).await?;
        let outcome = self.meta.unlink_blob(repo.id, digest.as_str()).await?;
        self.blob_links.invalidate(&(repo.id, digest.clone()));
        match outcome {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(RegistryError::BlobNotFound),
            DeleteOutcome::Referenced => Err(RegistryError::InUse(format!(
                "blob {digest} is referenced by manifests in this repository; delete them first"
            ))),
        }
    }
}
