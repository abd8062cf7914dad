//! Images as ECR lists them: one per manifest with all its tags (`DescribeImages`), or
//! one entry per tag (`ListImages`).

use wharf_meta::{ImageRecord, RepositoryKey, TagStatus};

use crate::{Registry, Result};

impl Registry {
    /// Images in digest order after `after`, at most `limit`.
    pub async fn describe_images(
        &self,
        key: &RepositoryKey,
        status: TagStatus,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ImageRecord>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.images(repo.id, status, after, limit).await?)
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
        status: TagStatus,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, Option<String>)>> {
        let repo = self.repository(key).await?;
        Ok(self.meta.image_ids(repo.id, status, after, limit).await?)
    }
}
