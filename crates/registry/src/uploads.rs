//! Upload sessions: open, append, status, finish (the distribution API's way and ECR's layer
//! API's way), cancel, and the one-shot monolithic push.

use wharf_blobs::{BlobError, Chunk};
use wharf_meta::{Repository, RepositoryKey};
use wharf_oci::Digest;

use crate::{Registry, RegistryError, Result, now_ms};

impl Registry {
    /// Opens a session; its id.
    pub async fn start_upload(&self, key: &RepositoryKey) -> Result<String> {
        let repo = self.repository_for_push(key).await?;
        let id = uuid::Uuid::new_v4().to_string();
        // Bytes side first: the metadata row never names a session the store lacks.
        self.blobs.create_upload(&id).await?;
        if let Err(e) = self.meta.create_upload(&id, repo.id, now_ms()).await {
            let _ = self.blobs.abort(&id).await;
            return Err(self.write_failed(key, e));
        }
        self.uploads.insert(id.clone(), repo.id);
        Ok(id)
    }

    /// How many bytes a session holds.
    pub async fn upload_status(&self, key: &RepositoryKey, id: &str) -> Result<u64> {
        self.session(key, id).await?;
        self.blobs.upload_len(id).await?.ok_or(RegistryError::UploadNotFound)
    }

    /// Appends a chunk; the session's new length.
    pub async fn append_upload(&self, key: &RepositoryKey, id: &str, chunk: Chunk) -> Result<u64> {
        self.session(key, id).await?;
        Ok(self.blobs.append(id, chunk).await?)
    }

    /// Closes a session, with an optional last chunk, as blob `digest`; the blob's size.
    /// A digest mismatch ends the session and stores nothing.
    pub async fn finish_upload(
        &self,
        key: &RepositoryKey,
        id: &str,
        digest: &Digest,
        last: Option<Chunk>,
    ) -> Result<u64> {
        let repo = self.session(key, id).await?;
        self.commit(&repo, id, digest, last, true).await
    }

    /// Closes a session the way ECR's `CompleteLayerUpload` does, where `finish_upload` is
    /// the distribution API's way: an empty session is refused (and kept), and content the
    /// repository already has is verified, then reported as `BlobExists`, the session gone.
    pub async fn complete_layer_upload(&self, key: &RepositoryKey, id: &str, digest: &Digest) -> Result<u64> {
        let repo = self.session(key, id).await?;
        if self.blobs.upload_len(id).await?.ok_or(RegistryError::UploadNotFound)? == 0 {
            return Err(RegistryError::EmptyUpload);
        }
        // Two layer uploads of the same content racing each other may both succeed.
        let present = self.linked_size(repo.id, digest).await?.is_some();
        let size = self.commit(&repo, id, digest, None, true).await?;
        if present {
            let (name, registry) = (key.name.clone(), key.account.clone());
            return Err(RegistryError::BlobExists { digest: digest.clone(), name, registry });
        }
        Ok(size)
    }

    pub async fn cancel_upload(&self, key: &RepositoryKey, id: &str) -> Result<()> {
        self.session(key, id).await?;
        self.blobs.abort(id).await?;
        self.meta.delete_upload(id).await?;
        self.uploads.invalidate(&id.to_owned());
        Ok(())
    }

    /// A whole blob in one request (`POST …/uploads/?digest=`). No session row is written:
    /// if the process dies mid-way the partial file has no owner and is swept later.
    pub async fn push_blob(&self, key: &RepositoryKey, digest: &Digest, chunk: Chunk) -> Result<u64> {
        let repo = self.repository_for_push(key).await?;
        let id = uuid::Uuid::new_v4().to_string();
        self.blobs.create_upload(&id).await?;
        let committed = self.commit(&repo, &id, digest, Some(chunk), false).await;
        if committed.is_err() {
            // A failed last chunk leaves the session in place; nobody can continue it.
            let _ = self.blobs.abort(&id).await;
        }
        committed
    }

    /// Verifies and installs the bytes, records and links the blob, then settles the bytes.
    async fn commit(
        &self,
        repo: &Repository,
        id: &str,
        digest: &Digest,
        last: Option<Chunk>,
        has_row: bool,
    ) -> Result<u64> {
        let size = match self.blobs.commit(id, digest, last).await {
            Ok(size) => size,
            Err(e @ BlobError::DigestMismatch { .. }) => {
                if has_row {
                    self.meta.delete_upload(id).await?;
                    self.uploads.invalidate(&id.to_owned());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let upload_row = has_row.then_some(id);
        let recorded = self.meta.commit_blob(repo.id, digest.as_str(), size as i64, upload_row, now_ms()).await;
        recorded.map_err(|e| self.write_failed(&repo.key, e))?;
        // Only now may the session's bytes go: see `BlobStore::settle`.
        self.blobs.settle(id, digest).await?;
        self.uploads.invalidate(&id.to_owned());
        self.blob_links.invalidate(&(repo.id, digest.clone()));
        Ok(size)
    }

    /// The session's repository, checking that the session belongs to `key`'s repository.
    /// Ids are UUIDs; anything else is unknown without touching storage.
    async fn session(&self, key: &RepositoryKey, id: &str) -> Result<std::sync::Arc<Repository>> {
        if uuid::Uuid::try_parse(id).is_err() {
            return Err(RegistryError::UploadNotFound);
        }
        let repo = self.repository(key).await?;
        // A session never changes repository, so the mapping can be cached; once the
        // session is closed the blob store no longer knows it, whatever the cache says.
        let load = async { Ok::<_, RegistryError>(self.meta.upload(id).await?.map(|u| u.repository_id)) };
        match self.uploads.get_or_load(&id.to_owned(), load).await? {
            Some(repository_id) if repository_id == repo.id => Ok(repo),
            _ => Err(RegistryError::UploadNotFound),
        }
    }
}
